// Reclaim (src/mm/reclaim.ts): the frame limit, active and inactive LRU
// lists with referenced bits, clean file pages dropped and read again on a
// major fault, anonymous pages to swap, E_OOM without swap, kswapd on tick,
// and the counters.
import { describe, expect, it } from 'vitest';
import { SimulationError } from '../src/errors.js';
import { Machine, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { inactiveIsLow } from '../src/mm/reclaim-limits.js';
import { PAGE, fileOf } from './mm-helpers.js';
import { seededRandom } from '../src/util/prng.js';

const RW = PROT_READ | PROT_WRITE;
const bare = (m: Machine): number =>
  m.exec({ path: 'bare', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
const code = (fn: () => void): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (e instanceof SimulationError) return e.code;
    throw e;
  }
  return undefined;
};

describe('reclaim of page-cache pages', () => {
  it('drops clean file pages at the limit; reading one again is a major fault that reads the file', () => {
    const m = new Machine({ frames: 64, frameLimit: 8, faultAround: 1 });
    const f = fileOf(
      '/data',
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const pid = bare(m);
    const at = m.mmap(pid, { length: 16 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    for (let i = 0; i < 16; i++) expect(m.read(pid, at + i * PAGE, 1)[0]).toBe(i + 1);
    let s = m.stats();
    expect(s.frames.used).toBeLessThanOrEqual(8);
    expect(s.faults.major).toBe(16);
    expect(s.vmstat.pgsteal_direct).toBeGreaterThanOrEqual(8);
    expect(s.vmstat.pgscan_direct).toBeGreaterThanOrEqual(s.vmstat.pgsteal_direct);
    expect(s.vmstat.allocstall).toBeGreaterThan(0);
    const dropped = Array.from({ length: 16 }, (_, i) => i).filter(
      (i) => m.pageInfo(pid, at + i * PAGE).state === 'none',
    );
    expect(dropped.length).toBeGreaterThanOrEqual(8);
    const before = { major: s.faults.major, bytes: s.bytesRead, proc: m.processFaults(pid).major };
    const i = dropped[0]!;
    expect(m.read(pid, at + i * PAGE, 1)[0]).toBe(i + 1);
    s = m.stats();
    expect(s.faults.major).toBe(before.major + 1);
    expect(s.vmstat.pgmajfault).toBe(s.faults.major);
    expect(s.bytesRead).toBe(before.bytes + PAGE);
    expect(m.processFaults(pid).major).toBe(before.proc + 1);
    expect(s.cost.fileReadBytes).toBe(s.bytesRead);
    m.checkInvariants();
  });

  it('gives referenced pages a second chance: pages used again stay active while a stream of pages passes through', () => {
    const m = new Machine({ frames: 4096, frameLimit: 512, faultAround: 1 });
    const hot = fileOf('/hot', [7, 8, 9, 10]);
    const stream = fileOf(
      '/stream',
      Array.from({ length: 3000 }, (_, i) => (i % 250) + 1),
    );
    const pid = bare(m);
    const h = m.mmap(pid, { length: 4 * PAGE, prot: PROT_READ, file: { backing: hot, offset: 0 } });
    const st = m.mmap(pid, { length: 3000 * PAGE, prot: PROT_READ, file: { backing: stream, offset: 0 } });
    let hotMajors = 0;
    for (let i = 0; i < 3000; i++) {
      m.read(pid, st + i * PAGE, 1); // use-once pages
      const before = m.stats().faults.major;
      m.read(pid, h + (i % 4) * PAGE, 1); // used all the time
      hotMajors += m.stats().faults.major - before;
    }
    const s = m.stats();
    // Each hot page was read from the file at most 3 times (the first fill of memory reclaims in bulk), the stream once per page.
    expect(hotMajors).toBeLessThanOrEqual(12);
    expect(s.faults.major).toBe(3000 + hotMajors);
    for (let i = 0; i < 4; i++) expect(m.pageInfo(pid, h + i * PAGE).flags).toContain('active');
    expect(s.vmstat.pgactivate).toBeGreaterThanOrEqual(4);
    expect(s.vmstat.pgsteal_direct).toBeGreaterThan(2400);
    m.checkInvariants();
  });

  it('activates executable page-cache pages on their first reference', () => {
    const m = new Machine({ frames: 64, frameLimit: 6, faultAround: 1 });
    const text = fileOf('/bin/text', [1, 2]);
    const data = fileOf(
      '/data',
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const pid = bare(m);
    const x = m.mmap(pid, { length: 2 * PAGE, prot: PROT_READ | PROT_EXEC, file: { backing: text, offset: 0 } });
    const d = m.mmap(pid, { length: 20 * PAGE, prot: PROT_READ, file: { backing: data, offset: 0 } });
    m.read(pid, x, 1);
    m.read(pid, x + PAGE, 1);
    for (let i = 0; i < 20; i++) m.read(pid, d + i * PAGE, 1);
    expect(m.pageInfo(pid, x).flags).toContain('active');
    expect(m.pageInfo(pid, x + PAGE).flags).toContain('active');
    expect(m.stats().faults.major).toBe(22);
    m.checkInvariants();
  });

  it('never drops dirty pages of a MAP_SHARED file mapping (no writeback) nor shmem pages', () => {
    const m = new Machine({ frames: 64, frameLimit: 10, faultAround: 1 });
    const f = fileOf('/shared', [1, 2, 3, 4]);
    const other = fileOf(
      '/other',
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    const pid = bare(m);
    const sh = m.mmap(pid, { length: 4 * PAGE, prot: RW, shared: true, file: { backing: f, offset: 0 } });
    const anonShared = m.mmap(pid, { length: 2 * PAGE, prot: RW, shared: true });
    for (let i = 0; i < 4; i++) m.write(pid, sh + i * PAGE, Uint8Array.of(100 + i));
    m.write(pid, anonShared, Uint8Array.of(9));
    m.write(pid, anonShared + PAGE, Uint8Array.of(10));
    const o = m.mmap(pid, { length: 30 * PAGE, prot: PROT_READ, file: { backing: other, offset: 0 } });
    for (let round = 0; round < 2; round++) for (let i = 0; i < 30; i++) m.read(pid, o + i * PAGE, 1);
    for (let i = 0; i < 4; i++) expect(m.read(pid, sh + i * PAGE, 1)[0]).toBe(100 + i);
    expect(m.read(pid, anonShared, 1)[0]).toBe(9);
    expect(m.read(pid, anonShared + PAGE, 1)[0]).toBe(10);
    // The dirty shared pages were written once (4 majors) and never read from the file again.
    expect(m.stats().faults.major).toBe(4 + 60);
    m.checkInvariants();
  });
});

describe('anonymous memory without swap', () => {
  it('cannot reclaim anonymous pages: the clean page cache goes first, then the allocation fails with E_OOM', () => {
    const m = new Machine({ frames: 64, frameLimit: 8, keepPageCache: true });
    const f = fileOf('/f', [1, 2, 3, 4]);
    const pid = bare(m);
    const at = m.mmap(pid, { length: 4 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.touch(pid, at, 4 * PAGE, 'read');
    const anon = m.mmap(pid, { length: 16 * PAGE, prot: RW });
    for (let i = 0; i < 8; i++) m.write(pid, anon + i * PAGE, Uint8Array.of(i + 1));
    expect(m.stats()).toMatchObject({ pageCache: 0, anonymous: 8 });
    expect(code(() => m.write(pid, anon + 8 * PAGE, Uint8Array.of(9)))).toBe('E_OOM');
    expect(m.stats().vmstat.oom_kill).toBe(1);
    for (let i = 0; i < 8; i++) expect(m.read(pid, anon + i * PAGE, 1)[0]).toBe(i + 1);
    m.checkInvariants();
  });
});

describe('anonymous memory with swap', () => {
  it('swaps the least recently used pages out and back in, counting pswpout, pswpin and major faults', () => {
    const m = new Machine({ frames: 64, frameLimit: 8, swap: { backend: 'disk' } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 32 * PAGE, prot: RW });
    for (let i = 0; i < 32; i++) m.write(pid, a + i * PAGE, new Uint8Array(64).fill(i + 1));
    let s = m.stats();
    expect(s.frames.used).toBeLessThanOrEqual(8);
    expect(s.vmstat.pswpout).toBe(s.swap!.pageouts);
    expect(s.vmstat.pswpout).toBeGreaterThanOrEqual(24);
    expect(m.pageInfo(pid, a).state).toBe('swap');
    expect(m.smapsRollup(pid).swap).toBe(s.swap!.usedPages * PAGE);
    const majors = s.faults.major;
    for (let i = 0; i < 32; i++) expect(m.read(pid, a + i * PAGE, 64)).toEqual(new Uint8Array(64).fill(i + 1));
    s = m.stats();
    expect(s.faults.swapIn).toBe(s.vmstat.pswpin);
    expect(s.faults.major - majors).toBe(s.faults.swapIn);
    expect(s.cost.swapWriteBytes).toBe(s.vmstat.pswpout * PAGE);
    expect(s.cost.swapReadBytes).toBe(s.vmstat.pswpin * PAGE);
    expect(s.cost.ioNs).toBeGreaterThan(0);
    m.checkInvariants();
    m.exit(pid);
    expect(m.stats().swap!.usedPages).toBe(0);
  });

  it('keeps a page shared by fork shared through swap: Swap and SwapPss, the swap cache, one copy back', () => {
    const m = new Machine({ frames: 64, frameLimit: 64, swap: { backend: 'zram' } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    for (let i = 0; i < 4; i++) m.write(pid, a + i * PAGE, new Uint8Array(100).fill(i + 1));
    const child = m.fork(pid);
    m.setFrameLimit(1); // reclaims everything it can now
    expect(m.stats().frames.used + m.stats().memory.swapRam).toBeLessThanOrEqual(4);
    expect(m.pageInfo(pid, a).state).toBe('swap');
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 0, swap: 4 * PAGE, swapPss: 2 * PAGE });
    m.setFrameLimit(64);
    expect(m.read(pid, a, 1)[0]).toBe(1); // read from zram into the swap cache
    expect(m.read(child, a, 1)[0]).toBe(1); // found in the swap cache: a minor fault
    const s = m.stats();
    expect(s.swap).toMatchObject({ swapInReads: 1, swapCacheHits: 1, swapCacheAdds: 1 });
    expect(m.pageInfo(child, a).frame).toBe(m.pageInfo(pid, a).frame);
    expect(m.pageInfo(pid, a).mapcount).toBe(2);
    expect(s.swap!.usedPages).toBe(3); // the slot went with its last swap PTE
    m.write(child, a, Uint8Array.of(42)); // COW, not a write into the shared page
    expect(m.read(pid, a, 1)[0]).toBe(1);
    m.checkInvariants();
  });

  it('counts a RAM-backed back end against the limit: compressible pages fit, incompressible ones gain nothing', () => {
    const r = seededRandom(5);
    const text = (i: number): Uint8Array =>
      new Uint8Array(PAGE).map((_, j) => 'abcdefgh'.charCodeAt((i + j * 7) % 8) + (j % 64 === 0 ? i : 0));
    const noise = (): Uint8Array => new Uint8Array(PAGE).map(() => Math.floor(r() * 256));
    for (const [kind, page] of [
      ['text', text],
      ['noise', noise],
    ] as const) {
      const m = new Machine({ frames: 256, frameLimit: 32, swap: { backend: 'zram' } });
      const pid = bare(m);
      const a = m.mmap(pid, { length: 128 * PAGE, prot: RW });
      let written = 0;
      for (let i = 0; i < 128; i++) {
        if (code(() => m.write(pid, a + i * PAGE, page(i))) === 'E_OOM') break;
        written++;
      }
      const s = m.stats();
      expect(s.memory.used).toBe(s.frames.used + s.memory.swapRam);
      expect(s.memory.swapRam).toBe(s.swap!.device.mem_used_total! / PAGE);
      if (kind === 'text') {
        expect(written, kind).toBe(128); // 4 times the limit, compressed in RAM
        expect(s.swap!.device.huge_pages).toBe(0);
      } else {
        expect(written, kind).toBeLessThan(40); // a huge page takes a whole page of zsmalloc: no gain
        expect(s.swap!.device.huge_pages).toBeGreaterThan(0);
        expect(s.vmstat.oom_kill).toBe(1);
      }
      m.checkInvariants();
    }
  });

  it('stops swapping when the swap device is full; the allocation then fails with E_OOM', () => {
    const m = new Machine({ frames: 64, frameLimit: 8, swap: { backend: 'disk', capacityPages: 8 } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 40 * PAGE, prot: RW });
    let failed = -1;
    for (let i = 0; i < 40 && failed < 0; i++)
      if (code(() => m.write(pid, a + i * PAGE, Uint8Array.of(i + 1))) === 'E_OOM') failed = i;
    expect(failed).toBe(16);
    expect(m.stats().swap!.usedPages).toBe(8);
    // A swapped-out page cannot even come back: swap-in needs a frame first.
    expect(code(() => m.read(pid, a, 1))).toBe('E_OOM');
    m.setFrameLimit(64);
    for (let i = 0; i < failed; i++) expect(m.read(pid, a + i * PAGE, 1)[0]).toBe(i + 1);
    m.checkInvariants();
  });
});

describe('background reclaim and limits', () => {
  it('kswapd runs on tick when free memory is under the low watermark and stops at the high one', () => {
    const m = new Machine({ frames: 8192, frameLimit: 4096, swap: { backend: 'disk' } });
    const wm = m.policies.reclaim.watermarks();
    // 4096 pages = 16 MiB: min_free_kbytes = int_sqrt(16384 * 16) = 512 KiB = 128 pages; gap = 32.
    expect(wm).toEqual({ low: 160, high: 192 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4096 * PAGE, prot: RW });
    m.touch(pid, a, 4000 * PAGE, 'write');
    expect(m.stats().vmstat.pgscan_kswapd).toBe(0);
    m.tick(10);
    const s = m.stats();
    expect(s.vmstat.pageoutrun).toBe(1);
    expect(s.vmstat.pgsteal_kswapd).toBeGreaterThan(0);
    expect(s.frames.limit - s.memory.used).toBeGreaterThanOrEqual(192);
    expect(s.clockMs).toBe(10);
    m.tick(10); // balanced: nothing to do
    expect(m.stats().vmstat.pageoutrun).toBe(1);
    m.checkInvariants();
  });

  it('a lower frame limit reclaims at once; what cannot be freed stays and later allocations fail', () => {
    const m = new Machine({ frames: 64, keepPageCache: true });
    const f = fileOf('/f', [1, 2, 3, 4, 5, 6]);
    const pid = bare(m);
    const at = m.mmap(pid, { length: 6 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.touch(pid, at, 6 * PAGE, 'read');
    const anon = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    m.touch(pid, anon, 4 * PAGE, 'write');
    expect(m.stats().frames.used).toBe(10);
    m.setFrameLimit(2);
    expect(m.stats()).toMatchObject({ pageCache: 0, anonymous: 4, frames: { limit: 2 } });
    expect(code(() => m.touch(pid, at, 1, 'read'))).toBe('E_OOM');
    m.frameLimit = 64;
    expect(m.read(pid, at, 1)[0]).toBe(1);
    m.checkInvariants();
  });

  it('inactive_is_low follows the kernel: ratio 1 below 1 GiB, int_sqrt(10 × GiB) above', () => {
    expect(inactiveIsLow(10, 10, PAGE)).toBe(false);
    expect(inactiveIsLow(9, 10, PAGE)).toBe(true);
    const gib = 2 ** 18; // pages of 4 KiB in 1 GiB
    // 1 GiB in total: ratio int_sqrt(10) = 3, so inactive 1/4 of the total is not low.
    expect(inactiveIsLow(gib / 4, (3 * gib) / 4, PAGE)).toBe(false);
    expect(inactiveIsLow(gib / 4 - 1000, (3 * gib) / 4 + 1000, PAGE)).toBe(true);
  });

  it('rejects a swappiness outside 0 … 200', () => {
    expect(code(() => new Machine({ frames: 8, reclaim: { swappiness: 201 } }))).toBe('E_INVAL');
  });
});
