// KSM (src/mm/ksm*.ts): registration by madvise and prctl, the scanner's
// two-visit rule, stable and unstable trees, use_zero_pages,
// max_page_sharing, COW of KSM pages, unmerging, smart scan, the tunables,
// and the counters exactly as mm/ksm.c defines them (LINUX.md §3.3).
import { describe, expect, it } from 'vitest';
import { SimulationError } from '../src/errors.js';
import { Machine, PROT_READ, PROT_WRITE, type KsmOptions } from '../src/mm/index.js';
import { PAGE, fileOf } from './mm-helpers.js';

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
/** Page i of a test area: 100 bytes of (i + 1), then zeros; distinct for every i < 255. */
const content = (i: number): Uint8Array => new Uint8Array(100).fill(i + 1);

/** `procs` processes with `n` identical anonymous pages each (page i has content(i)), marked mergeable. */
function setup(procs: number, n: number, ksm: KsmOptions): { m: Machine; pids: number[]; at: number[] } {
  const m = new Machine({ frames: 1024, ksm });
  const pids: number[] = [];
  const at: number[] = [];
  for (let p = 0; p < procs; p++) {
    const pid = bare(m);
    const a = m.mmap(pid, { length: n * PAGE, prot: RW });
    for (let i = 0; i < n; i++) m.write(pid, a + i * PAGE, content(i));
    m.madvise(pid, a, n * PAGE, 'mergeable');
    pids.push(pid);
    at.push(a);
  }
  return { m, pids, at };
}

describe('KSM scanning and merging', () => {
  it('merges only after a page looked the same on two visits, with counters as mm/ksm.c keeps them', () => {
    const n = 10;
    const { m, pids, at } = setup(3, n, { pagesToScan: 1000, sleepMillisecs: 20 });
    expect(m.stats().frames.used).toBe(3 * n);
    m.tick(20); // pass 1: every page's checksum is stored; nothing can merge yet
    expect(m.stats().ksm).toMatchObject({
      full_scans: 1,
      pages_scanned: 3 * n,
      rmap_items: 3 * n,
      pages_shared: 0,
      pages_sharing: 0,
      pages_unshared: 0,
      pages_volatile: 3 * n,
    });
    m.tick(20); // pass 2: the first process's pages enter the unstable tree, the second's merge with them, the third's join the stable nodes
    const k = m.stats().ksm;
    expect(k).toMatchObject({
      full_scans: 2,
      pages_scanned: 6 * n,
      pages_shared: n,
      pages_sharing: 2 * n,
      pages_unshared: 0,
      pages_volatile: 0,
    });
    expect(k.general_profit).toBe(2 * n * PAGE - 3 * n * 64);
    expect(m.stats().frames.used).toBe(n);
    for (const pid of pids) {
      expect(m.ksmStat(pid)).toEqual({
        ksm_rmap_items: n,
        ksm_zero_pages: 0,
        ksm_merging_pages: n,
        ksm_process_profit: n * PAGE - n * 64,
        ksm_merge_any: false,
        ksm_mergeable: true,
      });
      const r = m.smapsRollup(pid);
      expect(r).toMatchObject({
        rss: n * PAGE,
        ksm: n * PAGE,
        anonymous: n * PAGE,
        sharedDirty: n * PAGE,
        privateDirty: 0,
      });
      expect(r.pss).toBe(Math.floor((n * PAGE) / 3));
      expect(m.smaps(pid).find((v) => v.start === at[0])!.vmFlags).toContain('mg');
    }
    expect(m.pageInfo(pids[0]!, at[0]!)).toMatchObject({ writable: false, mapcount: 3 });
    expect(m.pageInfo(pids[0]!, at[0]!).flags).toContain('ksm');
    for (let i = 0; i < n; i++) expect(m.read(pids[2]!, at[2]! + i * PAGE, 100)).toEqual(content(i));
    m.checkInvariants();
  });

  it('counts a page that changes between visits as volatile and never merges it', () => {
    const { m, pids, at } = setup(2, 2, { pagesToScan: 1000 });
    for (let pass = 0; pass < 6; pass++) {
      m.write(pids[0]!, at[0]! + PAGE, Uint8Array.of(pass + 50)); // page 1 of the first process keeps changing
      m.write(pids[1]!, at[1]! + PAGE, Uint8Array.of(pass + 50));
      m.tick(20);
    }
    const k = m.stats().ksm;
    expect(k).toMatchObject({ pages_shared: 1, pages_sharing: 1, pages_volatile: 2 });
    expect(m.pageInfo(pids[0]!, at[0]! + PAGE).flags).not.toContain('ksm');
    m.checkInvariants();
  });

  it('copies a KSM page on write (cow_ksm); the writer leaves the stable node at its next visit', () => {
    const { m, pids, at } = setup(2, 1, { pagesToScan: 1000 });
    m.tick(40);
    expect(m.stats().ksm).toMatchObject({ pages_shared: 1, pages_sharing: 1 });
    m.write(pids[0]!, at[0]!, Uint8Array.of(99));
    expect(m.read(pids[1]!, at[1]!, 1)[0]).toBe(1);
    expect(m.read(pids[0]!, at[0]!, 1)[0]).toBe(99);
    let s = m.stats();
    expect(s.vmstat.cow_ksm).toBe(1);
    expect(s.faults.cowKsm).toBe(1);
    expect(s.ksm).toMatchObject({ pages_shared: 1, pages_sharing: 1 }); // not noticed yet, as in Linux
    m.tick(20);
    s = m.stats();
    expect(s.ksm).toMatchObject({ pages_shared: 1, pages_sharing: 0 });
    expect(m.smapsRollup(pids[1]!).ksm).toBe(PAGE);
    m.checkInvariants();
  });

  it('merges zero-filled pages with the zero page under use_zero_pages: ksm_zero_pages, not in Rss', () => {
    const m = new Machine({ frames: 64, ksm: { pagesToScan: 100, useZeroPages: true } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    m.write(pid, a, new Uint8Array(4 * PAGE)); // four pages of written zeros: real frames
    m.madvise(pid, a, 4 * PAGE, 'mergeable');
    expect(m.smapsRollup(pid).rss).toBe(4 * PAGE);
    m.tick(40);
    let s = m.stats();
    expect(s.ksm).toMatchObject({ ksm_zero_pages: 4, pages_shared: 0, pages_sharing: 0 });
    expect(s.ksm.general_profit).toBe(4 * PAGE - s.ksm.rmap_items * 64);
    expect(s.frames.used).toBe(0);
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 0, ksm: 0, anonymous: 0 });
    expect(m.ksmStat(pid).ksm_zero_pages).toBe(4);
    expect(m.pageInfo(pid, a)).toMatchObject({ zeroPage: true, dirty: true, writable: false });
    m.tick(20); // the zero-page PTEs are not normal pages: their rmap_items are freed as the cursor passes
    expect(m.stats().ksm.rmap_items).toBe(0);
    const child = m.fork(pid); // the dirty zero-page PTE is copied, and counted for the child
    expect(m.ksmStat(child).ksm_zero_pages).toBe(4);
    m.write(pid, a, Uint8Array.of(1)); // a write replaces the zero page
    s = m.stats();
    expect(s.ksm.ksm_zero_pages).toBe(7);
    expect(m.ksmStat(pid).ksm_zero_pages).toBe(3);
    m.checkInvariants();
    m.exit(child);
    m.exit(pid);
    expect(m.stats().ksm.ksm_zero_pages).toBe(0);
  });

  it('keeps at most max_page_sharing rmap_items per KSM page, making more KSM pages for the same bytes', () => {
    const { m } = setup(7, 1, { pagesToScan: 1000, maxPageSharing: 3 });
    for (let t = 0; t < 6; t++) m.tick(20);
    const k = m.stats().ksm;
    // 7 identical pages, at most 3 rmap_items per KSM page: two full KSM pages, and a seventh page left
    // alone in the unstable tree (it has no partner to make a third KSM page with).
    expect(k).toMatchObject({ pages_shared: 2, pages_sharing: 4, pages_unshared: 1, pages_volatile: 0 });
    expect(m.stats().frames.used).toBe(3);
    m.checkInvariants();
    expect(code(() => m.ksmTune({ maxPageSharing: 10 }))).toBe('E_BUSY');
  });

  it('appends a forked child that maps a KSM page to its node when the child is scanned', () => {
    const { m, pids } = setup(2, 3, { pagesToScan: 1000 });
    m.tick(40);
    expect(m.stats().ksm).toMatchObject({ pages_shared: 3, pages_sharing: 3 });
    const child = m.fork(pids[0]!);
    expect(m.ksmStat(child)).toMatchObject({ ksm_mergeable: true, ksm_merging_pages: 0 });
    m.tick(20);
    expect(m.stats().ksm).toMatchObject({ pages_shared: 3, pages_sharing: 6 });
    expect(m.ksmStat(child).ksm_merging_pages).toBe(3);
    expect(m.stats().frames.used).toBe(3);
    m.checkInvariants();
  });
});

describe('KSM registration and unmerging', () => {
  it('ignores MADV_MERGEABLE on shared mappings (ksm_compatible) and merges private file COW pages', () => {
    const m = new Machine({ frames: 64, ksm: { pagesToScan: 100 } });
    const f = fileOf('/f', [3, 3]);
    const pid = bare(m);
    const shm = m.mmap(pid, { length: 2 * PAGE, prot: RW, shared: true });
    m.write(pid, shm, Uint8Array.of(1));
    m.write(pid, shm + PAGE, Uint8Array.of(1));
    const priv = m.mmap(pid, { length: 2 * PAGE, prot: RW, file: { backing: f, offset: 0 } });
    m.write(pid, priv, Uint8Array.of(5));
    m.write(pid, priv + PAGE, Uint8Array.of(5)); // two equal anonymous COW copies
    m.madvise(pid, shm, 2 * PAGE, 'mergeable');
    m.madvise(pid, priv, 2 * PAGE, 'mergeable');
    expect(m.smaps(pid).find((v) => v.start === shm)!.vmFlags).not.toContain('mg');
    expect(m.smaps(pid).find((v) => v.start === priv)!.vmFlags).toContain('mg');
    m.tick(60);
    expect(m.stats().ksm).toMatchObject({ pages_shared: 1, pages_sharing: 1 });
    expect(m.pageInfo(pid, shm).flags).not.toContain('ksm');
    m.checkInvariants();
  });

  it('MADV_UNMERGEABLE gives every KSM page of the range a private copy and clears VM_MERGEABLE', () => {
    const { m, pids, at } = setup(2, 4, { pagesToScan: 1000 });
    m.tick(40);
    expect(m.stats().frames.used).toBe(4);
    m.madvise(pids[0]!, at[0]!, 4 * PAGE, 'unmergeable');
    const s = m.stats();
    expect(s.frames.used).toBe(8);
    expect(s.vmstat.cow_ksm).toBe(4);
    // the copies are clean (break_ksm's unshare fault), and the rmap_items stay until ksmd passes
    expect(m.smapsRollup(pids[0]!)).toMatchObject({ privateClean: 4 * PAGE, privateDirty: 0, ksm: 0 });
    expect(m.ksmStat(pids[0]!)).toMatchObject({ ksm_rmap_items: 4, ksm_merging_pages: 4 });
    expect(s.ksm).toMatchObject({ pages_shared: 4, pages_sharing: 4, rmap_items: 8 });
    m.tick(20);
    expect(m.ksmStat(pids[0]!)).toMatchObject({ ksm_rmap_items: 0, ksm_merging_pages: 0 });
    expect(m.stats().ksm).toMatchObject({ pages_shared: 4, pages_sharing: 0, rmap_items: 4 });
    expect(m.smaps(pids[0]!).find((v) => v.start === at[0])!.vmFlags).not.toContain('mg');
    for (let i = 0; i < 4; i++) expect(m.read(pids[0]!, at[0]! + i * PAGE, 100)).toEqual(content(i));
    m.write(pids[0]!, at[0]!, Uint8Array.of(9)); // the private copy is exclusive: reused, not copied
    expect(m.stats().faults.reuse).toBeGreaterThan(0);
    m.checkInvariants();
  });

  it('prctl(PR_SET_MEMORY_MERGE) covers every compatible VMA, later mmaps, fork and exec; 0 unmerges', () => {
    const m = new Machine({ frames: 256, ksm: { pagesToScan: 1000 } });
    const pid = bare(m);
    m.prctlMemoryMerge(pid, true);
    expect(m.prctlGetMemoryMerge(pid)).toBe(true);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    const b = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    const shared = m.mmap(pid, { length: PAGE, prot: RW, shared: true });
    for (const at of [a, b]) for (let i = 0; i < 2; i++) m.write(pid, at + i * PAGE, content(i));
    for (const v of m.smaps(pid)) expect(v.vmFlags.includes('mg')).toBe(v.start !== shared);
    m.tick(40);
    expect(m.stats().ksm).toMatchObject({ pages_shared: 2, pages_sharing: 2 });
    const child = m.fork(pid);
    expect(m.ksmStat(child)).toMatchObject({ ksm_merge_any: true, ksm_mergeable: true });
    m.exec(
      {
        path: 'again',
        vmas: [{ start: 0x400000, end: 0x402000, prot: RW, shared: false }],
        writes: [],
        entry: 0,
        loadBias: 0,
        startBrk: 0,
        stackTop: 0,
      },
      child,
    );
    expect(m.ksmStat(child).ksm_merge_any).toBe(true);
    expect(m.smaps(child)[0]!.vmFlags).toContain('mg');
    m.prctlMemoryMerge(pid, false);
    expect(m.prctlGetMemoryMerge(pid)).toBe(false);
    // the KSM pages are gone, their stable nodes stale; the items go when ksmd passes
    expect(m.ksmStat(pid)).toMatchObject({ ksm_merge_any: false, ksm_merging_pages: 4, ksm_rmap_items: 4 });
    expect(m.stats().ksm).toMatchObject({ pages_shared: 2, pages_sharing: 2 });
    expect(m.stats().frames.used).toBe(4);
    m.tick(20);
    expect(m.ksmStat(pid)).toMatchObject({ ksm_merging_pages: 0, ksm_rmap_items: 0 });
    expect(m.stats().ksm).toMatchObject({ pages_shared: 0, pages_sharing: 0 });
    for (const v of m.smaps(pid)) expect(v.vmFlags).not.toContain('mg');
    m.checkInvariants();
  });

  it('run = 2 unmerges everything and keeps registrations; run = 0 keeps merged pages and stops scanning', () => {
    const { m, pids } = setup(2, 3, { pagesToScan: 1000 });
    m.tick(40);
    m.ksmTune({ run: 0 });
    const scanned = m.stats().ksm.pages_scanned;
    m.tick(100);
    expect(m.stats().ksm.pages_scanned).toBe(scanned);
    expect(m.stats().frames.used).toBe(3);
    expect(m.stats().ksm.full_scans).toBeGreaterThan(0);
    m.ksmTune({ run: 2 });
    expect(m.stats().frames.used).toBe(6);
    // unmerge_and_remove_all_rmap_items ends with the scan sequence reset
    expect(m.stats().ksm).toMatchObject({ run: 2, pages_shared: 0, pages_sharing: 0, rmap_items: 0, full_scans: 0 });
    // the unmerged copies are clean: 3 pages were merged into one per content, 2 processes
    expect(m.smapsRollup(pids[0]!).privateClean + m.smapsRollup(pids[1]!).privateClean).toBe(6 * PAGE);
    expect(m.ksmStat(pids[0]!).ksm_mergeable).toBe(true);
    m.checkInvariants();
  });
});

describe('KSM tunables', () => {
  it('runs one batch of pages_to_scan pages per sleep_millisecs of simulated time', () => {
    const m = new Machine({ frames: 512, ksm: { pagesToScan: 10, sleepMillisecs: 20 } });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 300 * PAGE, prot: RW });
    for (let i = 0; i < 300; i++) m.write(pid, a + i * PAGE, Uint8Array.of(i & 0xff, i >> 8, 1));
    m.madvise(pid, a, 300 * PAGE, 'mergeable');
    expect(m.tick(19)).toBe(0);
    expect(m.tick(1)).toBe(10);
    expect(m.tick(100)).toBe(50);
    expect(m.stats().ksm).toMatchObject({ pages_scanned: 60, full_scans: 0 });
    m.ksmTune({ pagesToScan: 1000 });
    expect(m.tick(20)).toBe(240); // the batch ends where the full scan ends
    expect(m.stats().ksm.full_scans).toBe(1);
  });

  it('smart scan skips pages that keep failing to merge (pages_skipped); without it every page is scanned', () => {
    for (const smartScan of [true, false]) {
      const m = new Machine({ frames: 64, ksm: { pagesToScan: 1000, smartScan } });
      const pid = bare(m);
      const a = m.mmap(pid, { length: 8 * PAGE, prot: RW });
      for (let i = 0; i < 8; i++) m.write(pid, a + i * PAGE, content(i)); // all different: never merge
      m.madvise(pid, a, 8 * PAGE, 'mergeable');
      for (let t = 0; t < 20; t++) m.tick(20);
      const k = m.stats().ksm;
      expect(k.full_scans).toBe(20);
      if (smartScan) {
        expect(k.pages_skipped).toBeGreaterThan(0);
        expect(k.pages_scanned + k.pages_skipped).toBe(160);
      } else {
        expect(k).toMatchObject({ pages_skipped: 0, pages_scanned: 160 });
      }
    }
  });

  it('rejects tunables out of range and starts stopped (run = 0) without the ksm option', () => {
    expect(code(() => new Machine({ frames: 8, ksm: { pagesToScan: 0 } }))).toBe('E_INVAL');
    expect(code(() => new Machine({ frames: 8, ksm: { maxPageSharing: 1 } }))).toBe('E_INVAL');
    const m = new Machine({ frames: 64 });
    expect(m.stats().ksm.run).toBe(0);
    const pid = bare(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    m.write(pid, a, Uint8Array.of(1));
    m.write(pid, a + PAGE, Uint8Array.of(1));
    m.madvise(pid, a, 2 * PAGE, 'mergeable');
    m.tick(1000);
    expect(m.stats().ksm.pages_scanned).toBe(0);
    expect(code(() => m.madvise(pid, a, 8 * PAGE, 'mergeable'))).toBe('E_NOMEM');
  });
});
