// The readahead model (src/mm/readahead.ts) on its own, without a kernel: what read() and faults
// leave in the page cache, the limits (ra_pages 0, the frame limit, mmap_miss), PG_readahead and
// fault-around, argument errors. test/mm-readahead-kernel.test.ts compares it with the kernel.
import { describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_READ } from '../src/mm/index.js';
import { machineCore } from '../src/mm/machine.js';
import { raMarked } from '../src/mm/readahead-cache.js';

const PAGE = 4096;

function file(pages: number, extra = 0): MemoryBacking {
  const bytes = new Uint8Array(pages * PAGE + extra);
  for (let i = 0; i < bytes.length; i += 256) bytes[i] = (i / 256) & 0xff;
  return new MemoryBacking(`/f${pages}`, bytes);
}

function sizes(m: Machine, f: MemoryBacking): number[] {
  return m.cachedFolios(f).map((c) => c.pages);
}

function readAll(m: Machine, f: MemoryBacking | ReturnType<Machine['openFile']>, step: number): number {
  let total = 0;
  for (let pos = 0; ; pos += step) {
    const n = m.readFile(f, pos, step);
    if (n === 0) return total;
    total += n;
  }
}

function process(m: Machine): number {
  return m.exec({ path: 'p', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
}

describe('read() readahead', () => {
  it('reads a cold 2 MiB file 4 KiB at a time in the folios 6.18 left (/proc/kpageflags)', () => {
    const m = new Machine({ frames: 1024, keepPageCache: true, readAround: 2048 });
    const f = file(512);
    expect(readAll(m, f, PAGE)).toBe(512 * PAGE);
    // 4 order-0 pages, then windows of 16, 60, 240, 448 pages in folios of order 2, 4, 6, 8 (capped by alignment)
    expect(sizes(m, f)).toEqual([1, 1, 1, 1, 4, 4, 4, 4, 4, 8, 16, 16, 16, 16, 32, 64, 64, 64, 64, 128]);
    m.checkInvariants();
  });

  it('a warm read reads nothing and returns the same bytes; a read at or past the end returns 0', () => {
    const m = new Machine({ frames: 1024, keepPageCache: true });
    const f = file(100, 123);
    expect(readAll(m, f, 10000)).toBe(f.size);
    const read = m.stats().bytesRead;
    expect(read).toBe(101 * PAGE);
    expect(readAll(m, f, 10000)).toBe(f.size);
    expect(m.stats().bytesRead).toBe(read);
    expect(m.readFile(f, f.size, 100)).toBe(0);
    expect(m.readFile(f, f.size - 10, 100)).toBe(10);
  });

  it('with ra_pages 0 reads only the pages asked for, one page at a time', () => {
    const m = new Machine({ frames: 256, keepPageCache: true, readAround: 0 });
    const f = file(64);
    const open = m.openFile(f);
    m.readFile(open, 10 * PAGE, 3 * PAGE);
    expect(m.cachedFolios(f)).toEqual([
      { index: 10, pages: 1 },
      { index: 11, pages: 1 },
      { index: 12, pages: 1 },
    ]);
  });

  it('POSIX_FADV_RANDOM reads just the request; SEQUENTIAL doubles ra_pages', () => {
    const m = new Machine({ frames: 256, keepPageCache: true, readAround: 32 });
    const a = file(64);
    const ra = m.openFile(a);
    m.fadvise(ra, 'random');
    m.readFile(ra, 0, 2 * PAGE);
    expect(sizes(m, a)).toEqual([1, 1]);
    // get_init_ra_size(2 pages): ×4 up to ra_pages/32, ×2 up to ra_pages/4
    const b = file(65);
    m.readFile(m.openFile(b), 0, 2 * PAGE);
    expect(sizes(m, b).length).toBe(4);
    const c = file(66);
    const seq = m.openFile(c);
    m.fadvise(seq, 'sequential');
    m.readFile(seq, 0, 2 * PAGE);
    expect(sizes(m, c).length).toBe(8);
  });

  it('WILLNEED reads at most max(ioPages, ra_pages) pages', () => {
    const m = new Machine({ frames: 512, keepPageCache: true, readAround: 32, ioPages: 100 });
    const f = file(300);
    m.fadvise(m.openFile(f), 'willneed');
    expect(m.cachedFolios(f).reduce((n, c) => n + c.pages, 0)).toBe(100);
  });

  it('stops reading ahead at the frame limit instead of failing', () => {
    const m = new Machine({ frames: 64, keepPageCache: true, readAround: 2048 });
    const f = file(256);
    expect(readAll(m, f, PAGE)).toBe(256 * PAGE);
    expect(m.stats().frames.used).toBeLessThanOrEqual(64);
    m.checkInvariants();
  });

  it('refuses a bad range with E_INVAL', () => {
    const m = new Machine({ frames: 16, keepPageCache: true });
    const f = file(4);
    expect(() => m.readFile(f, -1, 10)).toThrow(expect.objectContaining({ code: 'E_INVAL' }));
    expect(() => m.readFile(f, 0, Number.NaN)).toThrow(expect.objectContaining({ code: 'E_INVAL' }));
    expect(() => m.fadvise(m.openFile(f), 'willneed', 0, -4)).toThrow(expect.objectContaining({ code: 'E_INVAL' }));
    expect(() => new Machine({ frames: 16, ioPages: 0 })).toThrow(expect.objectContaining({ code: 'E_INVAL' }));
  });
});

describe('mmap readahead', () => {
  it('read-around centres the window on the fault and marks the page 3/4 into it', () => {
    const m = new Machine({ frames: 512, keepPageCache: true, readAround: 32 });
    const f = file(128);
    const pid = process(m);
    const at = m.mmap(pid, { length: 128 * PAGE, prot: PROT_READ, shared: false, file: { backing: f, offset: 0 } });
    m.touch(pid, at + 60 * PAGE, 1, 'read');
    const cached = m.cachedFolios(f);
    expect(cached[0]).toEqual({ index: 44, pages: 1 });
    expect(cached.length).toBe(32);
    const core = machineCore(m);
    const space = core.fileSpace(f);
    expect(cached.filter((c) => raMarked(core, space, c.index, false)).map((c) => c.index)).toEqual([68]);
  });

  it('fault-around leaves the marked page unmapped; the fault on it reads the next window in order-2 folios', () => {
    const m = new Machine({ frames: 512, keepPageCache: true, readAround: 32 });
    const f = file(128);
    const pid = process(m);
    const at = m.mmap(pid, { length: 128 * PAGE, prot: PROT_READ, shared: true, file: { backing: f, offset: 0 } });
    m.touch(pid, at, 1, 'read'); // window 0..31, mark at 24
    m.touch(pid, at + 17 * PAGE, 1, 'read'); // fault-around maps 16..31 but 24
    expect(m.pageInfo(pid, at + 23 * PAGE).frame).not.toBe(-1);
    expect(m.pageInfo(pid, at + 24 * PAGE).frame).toBe(-1);
    m.touch(pid, at + 24 * PAGE, 1, 'read');
    expect(m.cachedFolios(f).filter((c) => c.index >= 32)).toEqual(
      Array.from({ length: 8 }, (_, k) => ({ index: 32 + 4 * k, pages: 4 })),
    );
    m.checkInvariants();
  });

  it('a PROT_EXEC mapping reads from the fault to ra_pages later, within the VMA', () => {
    const m = new Machine({ frames: 512, keepPageCache: true, readAround: 32 });
    const f = file(128);
    const pid = process(m);
    const at = m.mmap(pid, { length: 40 * PAGE, prot: PROT_READ | 4, shared: false, file: { backing: f, offset: 0 } });
    m.touch(pid, at + 20 * PAGE, 1, 'read');
    expect(m.cachedFolios(f).map((c) => c.index)).toEqual(Array.from({ length: 20 }, (_, k) => 20 + k));
  });

  it('after 100 misses more than hits (mmap_miss), a fault reads only its page', () => {
    const m = new Machine({ frames: 2048, keepPageCache: true, readAround: 4, faultAround: 1 });
    const f = file(101 * 16);
    const pid = process(m);
    const at = m.mmap(pid, {
      length: f.pageCount * PAGE,
      prot: PROT_READ,
      shared: false,
      file: { backing: f, offset: 0 },
    });
    let before = 0;
    for (let i = 0; i < 101; i++) {
      before = m.stats().bytesRead;
      m.touch(pid, at + (i * 16 + 8) * PAGE, 1, 'read');
      if (i === 99) expect(m.stats().bytesRead - before).toBe(4 * PAGE);
    }
    expect(m.stats().bytesRead - before).toBe(PAGE);
  });
});
