// The example of docs/notes/policies.md, run as written: two processes with
// the same data under memory pressure, compared under three policy sets.
import { describe, expect, it } from 'vitest';
import { Machine, PROT_READ, PROT_WRITE, type MachineOptions } from '../src/mm/index.js';

const PAGE = 4096;

/** Two processes write the same 256 pages of text-like data, then read them back, with 96 pages of RAM. */
function workload(options: Omit<MachineOptions, 'frames'>) {
  const m = new Machine({ frames: 1024, frameLimit: 96, ...options });
  const pids = [0, 1].map(() =>
    m.exec({ path: 'app', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 }),
  );
  const at = pids.map((pid) => m.mmap(pid, { length: 256 * PAGE, prot: PROT_READ | PROT_WRITE }));
  const data = (i: number) => new TextEncoder().encode(`record ${i % 64} `.repeat(PAGE / 16).slice(0, PAGE));
  pids.forEach((pid, p) => {
    m.madvise(pid, at[p]!, 256 * PAGE, 'mergeable'); // used only when KSM runs
    for (let i = 0; i < 256; i++) m.write(pid, at[p]! + i * PAGE, data(i));
  });
  m.tick(1000); // one simulated second: ksmd batches, kswapd
  pids.forEach((pid, p) => {
    for (let i = 0; i < 256; i++) m.read(pid, at[p]! + i * PAGE, 16);
  });
  m.checkInvariants();
  return m.stats();
}

describe('policies example', () => {
  it('compares zram, zram+dedup-first+merge-on-restore, and KSM on the same workload', () => {
    const zram = workload({ swap: { backend: 'zram' } });
    const seed = workload({ swap: { backend: 'zram', dedupFirst: true }, mergeOnRestore: true });
    const ksm = workload({ swap: { backend: 'zram' }, ksm: { pagesToScan: 1000, sleepMillisecs: 20 } });

    // 512 pages of data, 64 distinct: every policy set swaps, and dedup-first stores each content once.
    expect(zram.swap!.pageouts).toBeGreaterThan(0);
    expect(seed.swap!.device.dedup_unique_pages).toBeLessThanOrEqual(64);
    expect(seed.swap!.restoreMerges).toBeGreaterThan(0);
    expect(seed.swap!.swapInReads).toBeLessThanOrEqual(zram.swap!.swapInReads);
    expect(ksm.ksm.pages_sharing).toBeGreaterThan(0);
    expect(ksm.vmstat.pswpout).toBeLessThan(zram.vmstat.pswpout);
    for (const s of [zram, seed, ksm]) expect(s.memory.peak).toBeLessThanOrEqual(96 + 8);
    console.log(
      ['zram', 'seed', 'ksm']
        .map((name, i) => {
          const s = [zram, seed, ksm][i]!;
          return `${name}: frames ${s.frames.used}, swap RAM ${s.memory.swapRam}, pswpout ${s.vmstat.pswpout}, swap-ins ${s.faults.swapIn}, merges ${s.swap!.restoreMerges}, ksm sharing ${s.ksm.pages_sharing}, CPU ${(s.cost.cpuNs / 1e6).toFixed(2)} ms`;
        })
        .join('\n'),
    );
  });
});
