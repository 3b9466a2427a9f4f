// mmap placement, VMA split and merge, munmap, mprotect, exec over a
// running process, and the errors the API raises.
import { describe, expect, it } from 'vitest';
import { MMAP_BASE, Machine, MemoryBacking, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { SimulationError } from '../src/errors.js';
import { BASE, PAGE, fileOf, programPlan } from './mm-helpers.js';

const RW = PROT_READ | PROT_WRITE;
const bare = (m: Machine): number =>
  m.exec({ path: 'bare', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SimulationError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('VMAs', () => {
  it('places mmaps top-down below the mmap base and merges compatible neighbours', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    const b = m.mmap(pid, { length: PAGE, prot: RW });
    expect(a).toBe(MMAP_BASE - 2 * PAGE);
    expect(b).toBe(a - PAGE);
    expect(m.maps(pid)).toHaveLength(1); // one anonymous VMA, as vma_merge makes it
    const c = m.mmap(pid, { length: PAGE, prot: PROT_READ });
    expect(c).toBe(b - PAGE);
    expect(m.maps(pid)).toHaveLength(2);
  });

  it('mprotect splits a VMA and merges it back', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    m.write(pid, a, new Uint8Array(4 * PAGE).fill(1));
    m.mprotect(pid, a + PAGE, 2 * PAGE, PROT_READ);
    expect(m.maps(pid).map((v) => v.perms)).toEqual(['rw-p', 'r--p', 'rw-p']);
    expect(code(() => m.write(pid, a + PAGE, Uint8Array.of(2)))).toBe('E_SEGV');
    expect(m.read(pid, a + PAGE, 1)[0]).toBe(1);
    m.mprotect(pid, a + PAGE, 2 * PAGE, RW);
    expect(m.maps(pid)).toHaveLength(1);
    m.write(pid, a + PAGE, Uint8Array.of(2));
    expect(m.stats().faults.reuse).toBe(1); // the write bit was taken away; the page is still exclusive
    expect(code(() => m.mprotect(pid, a - PAGE, 2 * PAGE, PROT_READ))).toBe('E_NOMEM'); // a hole: nothing changes
    expect(m.maps(pid)).toHaveLength(1);
    m.checkInvariants();
  });

  it('munmap in the middle splits the VMA, frees its frames and leaves a hole', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 5 * PAGE, prot: RW });
    m.touch(pid, a, 5 * PAGE, 'write');
    expect(m.stats().frames.used).toBe(5);
    m.munmap(pid, a + PAGE, 3 * PAGE);
    expect(m.stats().frames.used).toBe(2);
    expect(m.maps(pid).map((v) => [v.start, v.end])).toEqual([
      [a, a + PAGE],
      [a + 4 * PAGE, a + 5 * PAGE],
    ]);
    expect(code(() => m.read(pid, a + 2 * PAGE, 1))).toBe('E_SEGV');
    m.munmap(pid, a, 10 * PAGE); // holes are fine
    expect(m.maps(pid)).toHaveLength(0);
    expect(m.stats().frames.used).toBe(0);
    m.checkInvariants();
  });

  it('MAP_FIXED replaces what was mapped', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 3 * PAGE, prot: RW });
    m.write(pid, a + PAGE, Uint8Array.of(9));
    const f = fileOf('/f', [4]);
    expect(m.mmap(pid, { addr: a + PAGE, length: PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } })).toBe(
      a + PAGE,
    );
    expect(m.read(pid, a + PAGE, 1)[0]).toBe(4);
    expect(m.maps(pid).map((v) => v.path)).toEqual(['', '/f', '']);
    m.checkInvariants();
  });

  it('exec over a running process replaces its image and frees the old one', () => {
    const m = new Machine({ frames: 64 });
    const pid = m.exec(programPlan(fileOf('/bin/a', [1, 2, 3]), 2));
    const child = m.fork(pid);
    m.write(child, BASE + 3 * PAGE, Uint8Array.of(1));
    const used = m.stats().frames.used;
    expect(m.exec(programPlan(fileOf('/bin/b', [5, 6]), 1, 0x400000), child)).toBe(child);
    expect(m.maps(child)[0]).toMatchObject({ start: 0x400000, path: '/bin/b' });
    expect(m.read(child, 0x400000, 1)[0]).toBe(5);
    expect(m.read(pid, BASE, 1)[0]).toBe(1);
    expect(m.stats().frames.used).toBeLessThan(used + 4);
    m.checkInvariants();
  });

  it('works with 16 KiB pages', () => {
    const m = new Machine({ frames: 16, pageSize: 16384 });
    const f = new MemoryBacking('/f16', new Uint8Array(3 * 16384).fill(8), { pageSize: 16384 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 16384, prot: RW, file: { backing: f, offset: 16384 } });
    m.write(pid, a + 16383, Uint8Array.of(1));
    expect(m.read(pid, a + 16382, 2)).toEqual(Uint8Array.of(8, 1));
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 16384, privateDirty: 16384 });
    expect(code(() => m.mmap(pid, { length: 4096, prot: RW, file: { backing: fileOf('/f4', [1]), offset: 0 } }))).toBe(
      'E_INVAL',
    );
  });
});

describe('errors', () => {
  it('rejects bad machine options with E_INVAL', () => {
    expect(code(() => new Machine({ frames: 0 }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 1.5 }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, pageSize: 3000 }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, frameLimit: 9 }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, pageCache: 'other' as 'file' }))).toBe('E_INVAL');
  });

  it('names the fault: E_SEGV, E_SIGBUS, E_OOM, E_NOPID, E_INVAL', () => {
    const m = new Machine({ frames: 4 });
    const pid = bare(m);
    expect(code(() => m.read(pid, 0x1000, 1))).toBe('E_SEGV');
    const text = m.mmap(pid, { length: PAGE, prot: PROT_READ | PROT_EXEC });
    expect(code(() => m.write(pid, text, Uint8Array.of(1)))).toBe('E_SEGV');
    const f = fileOf('/short', [1]);
    const past = m.mmap(pid, { length: 2 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    expect(code(() => m.read(pid, past + PAGE, 1))).toBe('E_SIGBUS');
    const big = m.mmap(pid, { length: 8 * PAGE, prot: RW });
    expect(code(() => m.touch(pid, big, 8 * PAGE, 'write'))).toBe('E_OOM');
    expect(code(() => m.fork(99))).toBe('E_NOPID');
    expect(code(() => m.munmap(pid, 0x1001, PAGE))).toBe('E_INVAL');
    expect(code(() => m.mmap(pid, { length: 0, prot: RW }))).toBe('E_INVAL');
    expect(code(() => m.mprotect(pid, big, PAGE, 8))).toBe('E_INVAL');
    m.checkInvariants();
  });

  it('frameLimit below the pool makes E_OOM come earlier and can be raised again', () => {
    const m = new Machine({ frames: 8, frameLimit: 2 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    expect(code(() => m.touch(pid, a, 3 * PAGE, 'write'))).toBe('E_OOM');
    expect(m.stats().frames).toMatchObject({ used: 2, limit: 2, total: 8 });
    m.frameLimit = 8;
    m.touch(pid, a, 4 * PAGE, 'write');
    expect(m.stats().frames.used).toBe(4);
  });

  it('rejects an ExecPlan with overlapping or unaligned VMAs', () => {
    const m = new Machine({ frames: 8 });
    const plan = programPlan(fileOf('/bin/p', [1, 2, 3]), 2);
    const overlapping = { ...plan, vmas: [plan.vmas[1]!, plan.vmas[0]!] };
    expect(code(() => m.exec(overlapping))).toBe('E_INVAL');
    const unaligned = { ...plan, vmas: [{ ...plan.vmas[0]!, end: plan.vmas[0]!.end - 1 }] };
    expect(code(() => m.exec(unaligned))).toBe('E_INVAL');
    expect(m.pids()).toEqual([]);
  });
});
