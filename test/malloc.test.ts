/**
 * The allocator model on the fake host: what each calloc mode commits, the
 * mmap and trim thresholds, realloc, options and errors. Page counts are
 * derived in the comments from glibc's rules; test/malloc-glibc.test.ts
 * checks the same rules against the real glibc.
 */
import { describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import {
  type CallocMode,
  FakeHeapHost,
  GlibcMalloc,
  type HeapHost,
  parseMallocOps,
  runMallocOps,
} from '../src/malloc/index.js';
import { CALLOC_WORKLOADS } from './malloc-workloads.js';

const PAGE = 4096;
const KiB = 1024;
const MiB = 1024 * KiB;

function setup(mode: CallocMode, options: ConstructorParameters<typeof GlibcMalloc>[1] = {}) {
  const host = new FakeHeapHost();
  const heap = new GlibcMalloc(host, { callocMode: mode, ...options });
  return { host, heap };
}

/** The program writes one byte in every 16th page of a block (the samples/src/callocs.c pattern). */
function touchOneIn16(host: FakeHeapHost, mem: number, length: number): void {
  for (let off = 0; off < length; off += 16 * PAGE) host.touch(mem + off, 1);
}

describe('calloc modes: committed pages', () => {
  it('1 MiB from mmap, one page in 16 written: eager 257, glibc 16, on-commit 16', () => {
    const committed: Record<string, number> = {};
    for (const mode of ['eager', 'glibc', 'on-commit'] as const) {
      const { host, heap } = setup(mode);
      const p = heap.calloc(1, MiB);
      const chunk = heap.chunkAt(p)!;
      expect(chunk.mmapped).toBe(true);
      // The mapping: 1 MiB + 16 bytes of header, rounded up to pages = 257 pages.
      expect(chunk.size).toBe(257 * PAGE);
      touchOneIn16(host, p, MiB);
      committed[mode] = host.committedIn(p - 16, chunk.size);
    }
    // eager writes every byte; glibc and on-commit write only the header
    // (page 0, also the first touched page) and the 16 touched pages.
    expect(committed).toEqual({ eager: 257, glibc: 16, 'on-commit': 16 });
  });

  it('1 MiB from a grown brk heap: glibc clears only the old top; on-commit maps it to the zero page', () => {
    const committed: Record<string, number> = {};
    const zeroed: Record<string, number> = {};
    for (const mode of ['eager', 'glibc', 'on-commit'] as const) {
      const { host, heap } = setup(mode, { mmapThreshold: 32 * MiB });
      const p = heap.calloc(1, MiB);
      expect(heap.chunkAt(p)!.mmapped).toBe(false);
      // tcache_perthread_struct took 0x290 bytes of a 132 KiB heap; the block is the old top, grown.
      expect(p - host.startBrk).toBe(0x2a0);
      touchOneIn16(host, p, MiB);
      committed[mode] = host.committedIn(host.startBrk, host.brk - host.startBrk);
      zeroed[mode] = heap.stats().callocBytesZeroed;
    }
    // glibc: the old top was 0x21000 - 0x290 bytes; it clears that minus 8, from
    // 0x2a0 to 0x21008: pages 0..0x21 (34). Touches at 0x2a0 + k * 64 KiB land in
    // pages 0, 0x10, 0x20 (already cleared) and 13 fresh pages; the new top's
    // header adds one page after the block: 34 + 13 + 1 = 48.
    expect(zeroed.glibc).toBe(0x21000 - 0x290 - 8);
    expect(committed.glibc).toBe(48);
    // on-commit: the cleared range's whole pages stay on the zero page; only
    // its partial ends (pages 0 and 0x21) are written: 2 + 15 touched pages
    // besides page 0 + the top header page = 18.
    expect(committed['on-commit']).toBe(18);
    expect(zeroed['on-commit']).toBe(0x1000 - 0x2a0 + 8);
    // eager: all 1 MiB from 0x2a0: pages 0..0x100 (257); the new top's header
    // (at 0x1002a8) is in page 0x100 too.
    expect(committed.eager).toBe(257);
  });

  it('1 MiB reused from a bin: glibc and eager rewrite every page, on-commit frees them', () => {
    const committed: Record<string, number> = {};
    for (const mode of ['eager', 'glibc', 'on-commit'] as const) {
      const { host, heap } = setup(mode, { mmapThreshold: 32 * MiB });
      const a = heap.malloc(MiB);
      host.touch(a, MiB); // the program fills it
      heap.malloc(16); // a guard, so `a` does not merge into top when freed
      heap.free(a); // too large for tcache and fastbins: to the unsorted bin
      const b = heap.calloc(1, MiB);
      expect(b).toBe(a); // exact fit
      touchOneIn16(host, b, MiB);
      committed[mode] = host.committedIn(b - 16, MiB + 16);
    }
    // The chunk spans 0x290..0x100290 + 16: 257 pages all written by the fill.
    expect(committed.eager).toBe(257);
    expect(committed.glibc).toBe(257);
    // on-commit discards the 255 whole pages inside; the first and last pages
    // are partial (kept, zeroed by writes); the touches add 15 pages.
    expect(committed['on-commit']).toBe(2 + 15);
  });

  it('calloc-heavy workloads: committed pages per mode', () => {
    const table: Record<string, Record<CallocMode, number>> = {};
    for (const [name, ops] of Object.entries(CALLOC_WORKLOADS)) {
      const row = {} as Record<CallocMode, number>;
      for (const mode of ['eager', 'glibc', 'on-commit'] as const) {
        const { host, heap } = setup(mode);
        runMallocOps(heap, parseMallocOps(ops), { write: (a, l) => host.touch(a, l) });
        row[mode] = host.committedPages();
      }
      table[name] = row;
    }
    // glibc's numbers equal the real glibc's (test/malloc-glibc.test.ts).
    expect(Object.values(table)).toEqual([
      // mmap: 17 touched pages per block (one in 16 of 1 MiB + 4 KiB usable), the heap's 5.
      { eager: 4117, glibc: 277, 'on-commit': 277 },
      // brk, growing: glibc clears each old top (~128 KiB); on-commit writes only partial pages.
      { eager: 4101, glibc: 753, 'on-commit': 273 },
      // brk, reused: glibc clears every reused byte; on-commit gives the pages back to the zero page.
      { eager: 4097, glibc: 4097, 'on-commit': 257 },
    ]);
  });

  it('the three modes place every block at the same address', () => {
    const outputs = (['eager', 'glibc', 'on-commit'] as const).map((mode) => {
      const { heap } = setup(mode);
      const ptrs: number[] = [];
      for (let i = 0; i < 300; i++) {
        const size = (i * 7919) % 300000;
        ptrs.push(i % 3 === 0 ? heap.calloc(1, size) : heap.malloc(size));
        if (i % 4 === 1) heap.free(ptrs[i - 1]!);
      }
      return ptrs;
    });
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });
});

describe('mmap threshold and trimming', () => {
  it('freeing a large mmapped block raises the mmap threshold and doubles the trim threshold', () => {
    const { heap } = setup('glibc');
    const a = heap.malloc(200_000);
    expect(heap.chunkAt(a)!.mmapped).toBe(true);
    heap.free(a);
    // The chunk was ALIGN_UP(200000 + 16 + 8, 4096) = 0x31000 bytes.
    expect(heap.stats().mmapThreshold).toBe(0x31000);
    expect(heap.stats().trimThreshold).toBe(2 * 0x31000);
    expect(heap.chunkAt(heap.malloc(200_000))!.mmapped).toBe(false);
  });

  it('does not raise it past 32 MiB, nor once a threshold was set', () => {
    const big = setup('glibc');
    big.heap.free(big.heap.malloc(40 * MiB));
    expect(big.heap.stats().mmapThreshold).toBe(128 * KiB);
    const fixed = setup('glibc', { mmapThreshold: 128 * KiB });
    fixed.heap.free(fixed.heap.malloc(200_000));
    expect(fixed.heap.stats().mmapThreshold).toBe(128 * KiB);
    expect(fixed.heap.params.noDynThreshold).toBe(true);
  });

  it('trims the top chunk back to top_pad when it exceeds the trim threshold', () => {
    const { host, heap } = setup('glibc');
    const blocks = [heap.malloc(100_000), heap.malloc(100_000), heap.malloc(100_000)];
    expect(host.brk - host.startBrk).toBeGreaterThan(300_000);
    for (const b of blocks) heap.free(b);
    // top = everything after the tcache struct; systrim keeps 128 KiB + MINSIZE,
    // rounded to whole pages: the break is back at 132 KiB.
    expect(host.brk - host.startBrk).toBe(132 * KiB);
    expect(heap.stats().trims).toBe(1);
    heap.check();
  });

  it('after a raised threshold, frees below twice it do not trim', () => {
    const { host, heap } = setup('glibc');
    heap.free(heap.malloc(MiB)); // mmap threshold 1 MiB + 4 KiB, trim threshold twice that
    const a = heap.malloc(600_000);
    const b = heap.malloc(600_000);
    const brk = host.brk;
    heap.free(b);
    heap.free(a);
    expect(heap.stats().trims).toBe(0);
    expect(host.brk).toBe(brk);
    expect(heap.mallinfo2().keepcost).toBeGreaterThan(MiB);
  });

  it('top_pad and mmap_max options', () => {
    const noPad = setup('glibc', { topPad: 0 });
    noPad.heap.malloc(1000);
    // The tcache struct's sysmalloc asks for 0x290 + 0 + 32 bytes: one page, which also fits the block.
    expect(noPad.host.brk - noPad.host.startBrk).toBe(PAGE);
    const noMmap = setup('glibc', { mmapMax: 0 });
    expect(noMmap.heap.chunkAt(noMmap.heap.malloc(MiB))!.mmapped).toBe(false);
  });

  it('malloc_trim discards whole free pages inside chunks', () => {
    const { host, heap } = setup('glibc', { mmapThreshold: 32 * MiB });
    const a = heap.malloc(MiB);
    host.touch(a, MiB);
    heap.malloc(16);
    heap.free(a);
    const before = host.committedPages();
    expect(heap.mallocTrim(0)).toBe(true);
    // The free chunk keeps its first page (header and links) and its last partial page.
    expect(before - host.committedPages()).toBe(255);
  });
});

describe('realloc', () => {
  it('grows into top and shrinks in place', () => {
    const { heap } = setup('glibc');
    const p = heap.malloc(100);
    expect(heap.realloc(p, 5000)).toBe(p);
    expect(heap.usableSize(p)).toBe(5000); // chunk 5008 = request2size(5000), minus SIZE_SZ
    expect(heap.realloc(p, 100)).toBe(p);
    expect(heap.chunkAt(p)!.size).toBe(112);
    heap.check();
  });

  it('moves a block that cannot grow, copying its old usable size', () => {
    const { host, heap } = setup('glibc');
    const p = heap.malloc(1000);
    heap.malloc(10); // blocks growth into top
    const q = heap.realloc(p, 10_000);
    expect(q).not.toBe(p);
    expect(host.counters.bytesCopied).toBe(0x3f0 - 8);
    expect(heap.chunkAt(p)).toBeUndefined();
    heap.check();
  });

  it('resizes mmapped blocks with mremap, or copies when the host has none', () => {
    const { host, heap } = setup('glibc');
    const p = heap.malloc(300_000);
    const q = heap.realloc(p, 600_000);
    expect(heap.chunkAt(q)).toEqual({ size: Math.ceil((600_016 + 8) / PAGE) * PAGE, mmapped: true });
    expect(heap.stats().mremapCalls).toBe(1);
    expect(host.counters.bytesCopied).toBe(0);

    const plain = new FakeHeapHost();
    const noMremap: HeapHost = {
      get pageSize() {
        return plain.pageSize;
      },
      get startBrk() {
        return plain.startBrk;
      },
      get brk() {
        return plain.brk;
      },
      setBrk: (b) => plain.setBrk(b),
      mmapAnon: (l) => plain.mmapAnon(l),
      munmap: (a, l) => plain.munmap(a, l),
      storeWord: (a, v) => plain.storeWord(a, v),
      writeZero: (a, l) => plain.writeZero(a, l),
      copy: (d, s, l) => plain.copy(d, s, l),
      discard: (a, l) => plain.discard(a, l),
    };
    const heap2 = new GlibcMalloc(noMremap);
    const r = heap2.malloc(300_000);
    const oldSize = heap2.chunkAt(r)!.size;
    heap2.realloc(r, 600_000);
    expect(plain.counters.bytesCopied).toBe(oldSize - 16);
    expect(heap2.stats().mremapCalls).toBe(0);
  });

  it('realloc(p, 0) frees and realloc(0, n) allocates', () => {
    const { heap } = setup('glibc');
    const p = heap.realloc(0, 50);
    expect(heap.chunkAt(p)).toBeDefined();
    expect(heap.realloc(p, 0)).toBe(0);
    expect(heap.chunkAt(p)).toBeUndefined();
  });
});

describe('errors and limits', () => {
  it('refuses to free what it did not allocate, and double frees', () => {
    const { heap } = setup('glibc');
    expect(() => heap.free(12345)).toThrow(PagestackError);
    const p = heap.malloc(40);
    heap.free(p);
    expect(() => heap.free(p)).toThrow(/double free/);
    try {
      heap.free(p);
    } catch (e) {
      expect((e as PagestackError).code).toBe('E_MALLOC_BAD_POINTER');
    }
  });

  it('returns 0 for requests too large for any memory', () => {
    const { heap } = setup('glibc');
    expect(heap.malloc(2 ** 60)).toBe(0);
    expect(heap.malloc(2 ** 50)).toBe(0); // more than the address space below the mmap base
    expect(heap.calloc(2 ** 25, 2 ** 25)).toBe(0);
    heap.check();
    expect(heap.calloc(2 ** 30, 2 ** 30)).toBe(0);
    expect(heap.malloc(-1)).toBe(0);
  });

  it('falls back to mmap for the arena when brk is refused', () => {
    const host = new FakeHeapHost({ brkLimit: 0x555555559000 + 0x30000 });
    const heap = new GlibcMalloc(host);
    const a = heap.malloc(100_000);
    const b = heap.malloc(100_000);
    expect(a - host.startBrk).toBe(0x2a0);
    expect(b < host.startBrk || b >= host.brk).toBe(true); // in the fallback mapping
    expect(heap.chunkAt(b)!.mmapped).toBe(false);
    // A whole MiB: glibc 2.36 rounds the fallback up to MMAP_AS_MORECORE_SIZE.
    expect(heap.stats().arenaBytes).toBe(0x21000 + MiB);
    heap.free(a);
    heap.free(b);
    heap.check();
  });

  it('rejects bad options', () => {
    const host = new FakeHeapHost();
    expect(() => new GlibcMalloc(host, { mmapThreshold: 64 * MiB })).toThrow(/M_MMAP_THRESHOLD/);
    expect(() => new GlibcMalloc(host, { callocMode: 'lazy' as CallocMode })).toThrow(/calloc mode/);
    expect(() => new GlibcMalloc(host, { tcacheCount: -1 })).toThrow(/tcacheCount/);
  });
});
