/**
 * Properties of the allocator model that need no real glibc: after every
 * call of long random sequences the arena's invariants hold (checkArena),
 * live blocks never overlap and lie in mapped memory, and freeing
 * everything gives the memory back. Also the operation language's errors and
 * the fake host's own rules.
 */
import { describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import { type CallocMode, FakeHeapHost, GlibcMalloc, parseMallocOps, runMallocOps } from '../src/malloc/index.js';
import { seededRandom } from '../src/util/prng.js';

const SIZES = [0, 8, 24, 100, 1000, 1032, 1040, 5000, 70_000, 130_000, 300_000, 3_000_000];

function randomRun(seed: number, steps: number, mode: CallocMode, host: FakeHeapHost) {
  const rand = seededRandom(seed);
  const heap = new GlibcMalloc(host, { callocMode: mode });
  const live = new Map<number, number>(); // mem -> usable size
  for (let i = 0; i < steps; i++) {
    const r = rand();
    const size = Math.floor(SIZES[Math.floor(rand() * SIZES.length)]! * (0.5 + rand()));
    const mems = [...live.keys()];
    const victim = mems[Math.floor(rand() * mems.length)];
    if (victim !== undefined && r < 0.4) {
      heap.free(victim);
      live.delete(victim);
    } else if (victim !== undefined && r < 0.5) {
      const moved = heap.realloc(victim, size);
      live.delete(victim);
      if (moved !== 0) live.set(moved, heap.usableSize(moved));
    } else if (r < 0.52) {
      heap.mallocTrim(Math.floor(rand() * 200_000));
    } else {
      const mem = r < 0.8 ? heap.malloc(size) : heap.calloc(1, size);
      expect(mem).not.toBe(0);
      live.set(mem, heap.usableSize(mem));
    }
    heap.check();
    if (i % 25 === 0) {
      const blocks = [...live].sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < blocks.length; k++) {
        const [prev, prevSize] = blocks[k - 1]!;
        expect(prev + prevSize).toBeLessThanOrEqual(blocks[k]![0] + 8); // the next chunk's prev_size word is shared
      }
    }
  }
  return { heap, live };
}

describe('allocator model invariants', () => {
  for (const [seed, mode] of [
    [1, 'glibc'],
    [2, 'eager'],
    [3, 'on-commit'],
    [4, 'glibc'],
  ] as const) {
    it(`random sequence ${seed} (${mode}): arena invariants after every call`, () => {
      const host = new FakeHeapHost();
      const { heap, live } = randomRun(seed, 3000, mode, host);
      for (const mem of live.keys()) heap.free(mem);
      heap.check();
      const stats = heap.stats();
      expect(stats.mmappedChunks).toBe(0);
      expect(stats.inUseChunks).toBe(0);
      expect(stats.inUseBytes).toBe(0);
      expect(heap.mallinfo2().hblkhd).toBe(0);
      // What mallinfo calls in use is then only what glibc keeps: the tcache
      // struct and the chunks cached in the tcache.
      expect(heap.mallinfo2().uordblks).toBeLessThanOrEqual(0x290 + 64 * 7 * 1040);
    });
  }

  it('a brk heap that cannot grow keeps working on mmapped arena memory', () => {
    const host = new FakeHeapHost({ brkLimit: 0x555555559000 + 0x80000 });
    const { heap } = randomRun(9, 1500, 'glibc', host);
    expect(host.brk - host.startBrk).toBeLessThanOrEqual(0x80000);
    heap.check();
  });
});

describe('fork', () => {
  it('the child allocator continues exactly like the parent, on its own memory', () => {
    const host = new FakeHeapHost();
    const { heap: parent } = randomRun(21, 500, 'glibc', host);
    const child = parent.fork(host.fork());
    child.check();
    const rand = seededRandom(5);
    for (let i = 0; i < 300; i++) {
      const size = Math.floor(rand() * 200_000);
      const p = parent.malloc(size);
      expect(child.malloc(size)).toBe(p);
      if (i % 3 === 0) {
        parent.free(p);
        child.free(p);
      }
    }
    parent.check();
    child.check();
    expect(child.mallinfo2()).toEqual(parent.mallinfo2());
    expect(child.stats().brkCalls).toBeLessThan(parent.stats().brkCalls);
  });
});

describe('the operation language', () => {
  it('parses every operation and numbers ids by m and c only', () => {
    const ops = parseMallocOps('m:10 c:5 c:3:0x10 f:0 r:1:99 t:0 o:mmap_threshold:65536 b:0x100000 p:0');
    expect(ops.map((o) => o.op)).toEqual([
      'malloc',
      'calloc',
      'calloc',
      'free',
      'realloc',
      'trim',
      'mallopt',
      'block',
      'pages',
    ]);
    expect(ops[2]).toEqual({ op: 'calloc', count: 3, size: 16 });
    expect(() => parseMallocOps(['f:0'])).toThrow(/no such id/);
    expect(() => parseMallocOps(['m:ten'])).toThrow(/bad number/);
    expect(() => parseMallocOps(['x:1'])).toThrow(/unknown operation/);
    expect(() => parseMallocOps(['o:arena_max:1'])).toThrow(/unknown mallopt parameter/);
    expect(() => parseMallocOps(['r:0'])).toThrow(PagestackError);
  });

  it('prints what mallocs.c prints', () => {
    const host = new FakeHeapHost();
    const lines = runMallocOps(new GlibcMalloc(host), parseMallocOps('m:1000 m:200000 f:1 r:0:0'), {
      committedIn: (a, l) => host.committedIn(a, l),
    });
    expect(lines).toEqual([
      '0 heap+0x2a0 0x3f0',
      '1 mmap 0x31000',
      '0 null',
      'brk +0x21000',
      'mallinfo arena=135168 ordblks=1 smblks=0 hblks=0 hblkhd=0 uordblks=1664 fordblks=133504 fsmblks=0 keepcost=133504',
      'committed heap=1 mmap=0',
    ]);
  });
});

describe('FakeHeapHost', () => {
  it('commits on writes, uncommits on discard, munmap and a shrinking break', () => {
    const host = new FakeHeapHost();
    expect(host.setBrk(host.startBrk + 3 * 4096)).toBe(true);
    host.touch(host.startBrk + 100, 5000);
    expect(host.committedPages()).toBe(2);
    host.discard(host.startBrk, 4096);
    expect(host.committedPages()).toBe(1);
    expect(host.setBrk(host.startBrk + 4096)).toBe(true);
    expect(host.committedPages()).toBe(0);
    const m = host.mmapAnon(8192)!;
    host.writeZero(m, 8192);
    expect(host.committedIn(m, 8192)).toBe(2);
    host.munmap(m, 8192);
    expect(host.committedPages()).toBe(0);
  });

  it('keeps a page between the heap and the next mapping, and refuses stray writes', () => {
    const host = new FakeHeapHost();
    expect(host.mapFixed(host.startBrk + 0x10000, 4096)).toBe(true);
    expect(host.setBrk(host.startBrk + 0xf000)).toBe(true);
    expect(host.setBrk(host.startBrk + 0xf001)).toBe(false);
    expect(() => host.touch(host.startBrk + 0xf000, 1)).toThrow(/outside any mapping/);
    expect(() => host.discard(host.startBrk + 1, 4096)).toThrow(/whole pages/);
  });

  it('mremap grows in place when it can and moves committed pages when it cannot', () => {
    const host = new FakeHeapHost();
    const a = host.mmapAnon(8192)!;
    const b = host.mmapAnon(4096)!; // placed right below a
    host.touch(b, 1);
    const b2 = host.mremap(b, 4096, 3 * 4096)!;
    expect(b2).not.toBe(b); // a is right above b
    expect(host.committedIn(b2, 4096)).toBe(1);
    expect(host.committedIn(b, 4096)).toBe(0);
    expect(host.mremap(a, 8192, 4096)).toBe(a);
  });
});
