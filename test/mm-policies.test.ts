// The memory policies through the Machine's API: each swap back end,
// dedup-first, merge-on-restore, the stats they report, the cost model, and
// option checking.
import { describe, expect, it } from 'vitest';
import { SimulationError } from '../src/errors.js';
import { Machine, PROT_READ, PROT_WRITE, type MachineOptions } from '../src/mm/index.js';
import { PAGE } from './mm-helpers.js';

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
/** A compressible, not same-filled page: text-like bytes, distinct per `i`. */
const textPage = (i: number): Uint8Array => new Uint8Array(PAGE).map((_, j) => 97 + ((i * 7 + j * 3 + (j >> 5)) % 26));

/** `n` pages written in one process, then the limit dropped to `limit`: most pages end up in swap. */
function swappedOut(
  options: Omit<MachineOptions, 'frames'>,
  pages: (i: number) => Uint8Array,
  n: number,
  limit: number,
): { m: Machine; pid: number; a: number } {
  const m = new Machine({ frames: 512, ...options });
  const pid = bare(m);
  const a = m.mmap(pid, { length: n * PAGE, prot: RW });
  for (let i = 0; i < n; i++) m.write(pid, a + i * PAGE, pages(i));
  m.setFrameLimit(limit);
  return { m, pid, a };
}

describe('swap back ends selected by Machine option', () => {
  for (const backend of ['disk', 'zram', 'zswap'] as const) {
    it(`${backend}: pages go out and come back bit-exact; the device reports in the kernel's names`, () => {
      const { m, pid, a } = swappedOut({ swap: { backend } }, textPage, 64, 24);
      let s = m.stats();
      expect(s.swap).toMatchObject({ backend, dedupFirst: false, mergeOnRestore: false });
      expect(s.swap!.usedPages).toBeGreaterThanOrEqual(40);
      expect(s.swap!.usedBytes).toBe(s.swap!.usedPages * PAGE);
      expect(s.memory.used).toBeLessThanOrEqual(24);
      const names =
        backend === 'zram'
          ? ['orig_data_size', 'compr_data_size', 'mem_used_total', 'same_pages', 'huge_pages', 'num_writes']
          : backend === 'zswap'
            ? ['pool_total_size', 'stored_pages', 'written_back_pages', 'zswpout', 'pool_limit_hit']
            : ['pswpin', 'pswpout'];
      for (const name of names) expect(s.swap!.device, name).toHaveProperty(name);
      if (backend === 'zram') expect(s.swap!.device.orig_data_size).toBe((s.swap!.device.pages_stored ?? 0) * PAGE);
      for (let i = 0; i < 64; i++)
        expect(Buffer.compare(m.read(pid, a + i * PAGE, PAGE), textPage(i)), `page ${i}`).toBe(0);
      s = m.stats();
      expect(s.faults.swapIn).toBeGreaterThanOrEqual(40);
      expect(s.cost.cpuNs).toBeGreaterThan(0);
      if (backend === 'disk') expect(s.cost.swapWriteBytes).toBe(s.vmstat.pswpout * PAGE);
      if (backend === 'zram') expect(s.cost.ops.compress.count).toBe(s.swap!.device.num_writes);
      m.checkInvariants();
      m.exit(pid);
      expect(m.stats().swap!.usedPages).toBe(0);
      expect(m.stats().memory.swapRam).toBe(0);
    });
  }

  it('zero pages never reach the device (the zeromap): swpout_zero, and they read back as zeros', () => {
    const { m, pid, a } = swappedOut({ swap: { backend: 'zram' } }, () => new Uint8Array(PAGE), 32, 4);
    const s = m.stats();
    expect(s.vmstat.swpout_zero).toBeGreaterThanOrEqual(28);
    expect(s.swap!.device.pages_stored).toBe(0);
    expect(m.read(pid, a, PAGE).every((b) => b === 0)).toBe(true);
    expect(m.stats().vmstat.swpin_zero).toBe(1);
  });
});

describe('dedup-first', () => {
  it('stores identical pages going to swap once, refcounted, before compression', () => {
    const same = (i: number): Uint8Array => textPage(i % 4); // 64 pages, 4 contents
    const plain = swappedOut({ swap: { backend: 'zram' } }, same, 64, 8).m.stats();
    const { m, pid, a } = swappedOut({ swap: { backend: 'zram', dedupFirst: true } }, same, 64, 8);
    const s = m.stats();
    expect(s.swap!.dedupFirst).toBe(true);
    expect(s.swap!.device.dedup_entries).toBe(s.swap!.usedPages); // swap entries: one per page
    expect(s.swap!.device.dedup_unique_pages).toBe(4);
    expect(s.swap!.device.pages_stored).toBe(4); // zram holds each content once
    expect(plain.swap!.device.pages_stored).toBe(plain.swap!.usedPages);
    expect(s.swap!.device.dedup_hits).toBe(s.swap!.usedPages - 4);
    expect(s.memory.swapRam).toBeLessThan(plain.memory.swapRam);
    expect(s.cost.ops.compress.count).toBe(4);
    for (let i = 0; i < 64; i++) expect(Buffer.compare(m.read(pid, a + i * PAGE, PAGE), same(i))).toBe(0);
    m.checkInvariants();
  });
});

describe('merge-on-restore', () => {
  it('maps a page read back from swap onto a resident page with the same bytes, write-protected', () => {
    const m = new Machine({ frames: 256, swap: { backend: 'zram' }, mergeOnRestore: true });
    const [p1, p2] = [bare(m), bare(m)];
    const a1 = m.mmap(p1, { length: 8 * PAGE, prot: RW });
    const a2 = m.mmap(p2, { length: 8 * PAGE, prot: RW });
    for (let i = 0; i < 8; i++) {
      m.write(p1, a1 + i * PAGE, textPage(i));
      m.write(p2, a2 + i * PAGE, textPage(i));
    }
    m.setFrameLimit(1);
    m.setFrameLimit(256);
    for (let i = 0; i < 8; i++) expect(Buffer.compare(m.read(p1, a1 + i * PAGE, PAGE), textPage(i))).toBe(0); // restored, indexed
    const before = m.stats().frames.used;
    for (let i = 0; i < 8; i++) expect(Buffer.compare(m.read(p2, a2 + i * PAGE, PAGE), textPage(i))).toBe(0); // merged
    let s = m.stats();
    expect(s.swap!.restoreMerges).toBe(8);
    expect(s.frames.used).toBe(before);
    expect(m.pageInfo(p2, a2)).toMatchObject({ frame: m.pageInfo(p1, a1).frame, mapcount: 2, writable: false });
    expect(m.smapsRollup(p1)).toMatchObject({ sharedDirty: 8 * PAGE, ksm: 0 });
    m.write(p1, a1, Uint8Array.of(0)); // COW: p2 keeps its page
    expect(Buffer.compare(m.read(p2, a2, PAGE), textPage(0))).toBe(0);
    expect(m.read(p1, a1, 1)[0]).toBe(0);
    s = m.stats();
    expect(s.swap!.restoreIndex!.lookups).toBe(16);
    expect(s.cost.ops.hash.count).toBeGreaterThanOrEqual(16);
    m.checkInvariants();
  });

  it('finds resident pages that were never swapped out: reclaim notes the pages it keeps in the index', () => {
    const m = new Machine({ frames: 256, frameLimit: 24, swap: { backend: 'disk' }, mergeOnRestore: true });
    const [p1, p2] = [bare(m), bare(m)];
    const x = m.mmap(p1, { length: PAGE, prot: RW });
    m.write(p1, x, textPage(1000));
    const y = m.mmap(p2, { length: 64 * PAGE, prot: RW });
    m.write(p2, y, textPage(1000)); // the same bytes as p1's page
    for (let i = 1; i < 64; i++) {
      m.write(p2, y + i * PAGE, textPage(i)); // pressure: p2's pages go to swap
      m.read(p1, x, 1); // p1's page stays hot, and resident
    }
    expect(m.pageInfo(p1, x).state).toBe('present');
    expect(m.pageInfo(p2, y).state).toBe('swap');
    expect(m.stats().swap!.restoreIndex!.noted).toBeGreaterThan(0);
    expect(Buffer.compare(m.read(p2, y, PAGE), textPage(1000))).toBe(0);
    expect(m.stats().swap!.restoreMerges).toBe(1);
    expect(m.pageInfo(p2, y).frame).toBe(m.pageInfo(p1, x).frame);
    m.checkInvariants();
  });

  it('maps restored all-zero pages to the zero page, and does not merge on a write fault', () => {
    const m = new Machine({ frames: 64, swap: { backend: 'disk', zeromap: false }, mergeOnRestore: true });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    for (let i = 0; i < 4; i++) m.write(pid, a + i * PAGE, new Uint8Array(PAGE));
    m.setFrameLimit(1);
    m.setFrameLimit(64);
    expect(m.read(pid, a, 8)).toEqual(new Uint8Array(8));
    expect(m.pageInfo(pid, a)).toMatchObject({ zeroPage: true, dirty: false });
    expect(m.stats().swap!.restoreZeroMerges).toBe(1);
    m.write(pid, a + PAGE, Uint8Array.of(5)); // a write fault swaps in to a private frame
    expect(m.pageInfo(pid, a + PAGE)).toMatchObject({ writable: true, mapcount: 1 });
    expect(m.stats().swap!.restoreZeroMerges).toBe(1);
    expect(m.stats().ksm.ksm_zero_pages).toBe(0);
    m.checkInvariants();
  });
});

describe('options', () => {
  it('refuses bad policy options with E_INVAL', () => {
    expect(code(() => new Machine({ frames: 8, swap: { backend: 'tape' as 'disk' } }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, mergeOnRestore: true }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, swap: { backend: 'zram', zram: { chainSize: 99 } } }))).toBe('E_INVAL');
    const m = new Machine({ frames: 8 });
    expect(code(() => m.tick(-1))).toBe('E_INVAL');
    expect(code(() => m.madvise(bare(m), 0x10000, PAGE, 'willneed' as 'dontneed'))).toBe('E_INVAL');
    expect(m.stats().swap).toBeNull();
  });

  it('MADV_DONTNEED drops private pages (zeros or the file again) and keeps nothing in swap', () => {
    const m = new Machine({ frames: 64, swap: { backend: 'disk' } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    for (let i = 0; i < 4; i++) m.write(pid, a + i * PAGE, Uint8Array.of(i + 1));
    m.setFrameLimit(1);
    m.madvise(pid, a, 4 * PAGE, 'dontneed');
    expect(m.stats().swap!.usedPages).toBe(0);
    m.setFrameLimit(64);
    expect(m.read(pid, a + PAGE, 1)[0]).toBe(0);
    m.checkInvariants();
  });
});
