/**
 * The pressure scenario under its nine policies: swap, dedup-first,
 * merge-on-restore and KSM really run, and each shows the property it is
 * there to show. Every read step checks its bytes against what was written
 * (a difference fails the run), so `bytesVerified` counts checked bytes.
 */
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyResult, RunResult } from '../src/sim/result.js';
import { runScenario } from '../src/sim/run-scenario.js';

const FILE = path.resolve(__dirname, '../samples/scenarios/pressure.json');
const MiB = 1024 * 1024;
/** 4 workers × 16 MiB read back, plus the parent's first 2 MiB after the fork. */
const VERIFIED = 4 * 16 * MiB + 2 * MiB;

let r: RunResult;
beforeAll(async () => {
  r = await runScenario(FILE);
}, 120_000);

function policy(name: string): PolicyResult {
  const p = r.policies.find((q) => q.name === name);
  if (!p) throw new Error(`policy ${name} did not run`);
  return p;
}

describe('pressure scenario', () => {
  it('runs every policy; those that finish read back every page equal to what was written', () => {
    expect(r.skipped).toEqual([]);
    expect(r.policies).toHaveLength(9);
    for (const name of ['disk', 'zswap', 'zram+dedup', 'zram+dedup+mor', 'ksm', 'ksm+zram', 'ksm+zram+dedup+mor']) {
      const p = policy(name);
      expect(p.outcome, name).toEqual({ status: 'ok' });
      expect(p.summary.bytesVerified, name).toBe(VERIFIED);
    }
  });

  it('disk and zram+dedup swap pages out and read them back (major faults), and stay within the limit', () => {
    for (const name of ['disk', 'zswap', 'zram+dedup']) {
      const s = policy(name).summary;
      expect(s.swapOuts, name).toBeGreaterThan(1000);
      expect(s.swapIns, name).toBeGreaterThan(1000);
      expect(s.faults.major, name).toBeGreaterThanOrEqual(s.swapIns!);
      expect(s.framesPeak, name).toBeLessThanOrEqual(6144);
    }
    // Disk swap moves real bytes; zram moves none to a disk.
    expect(policy('disk').summary.swapWriteBytes).toBeGreaterThan(0);
    expect(policy('disk').summary.swapReadBytes).toBeGreaterThan(0);
    expect(policy('zram+dedup').summary.swapWriteBytes).toBe(0);
    // zswap writes back to its disk when the pool is full.
    expect(policy('zswap').summary.swap!.stats.written_back_pages).toBeGreaterThan(0);
  });

  it('the time series has swap used and pool size for swap policies, null without swap', () => {
    expect(policy('no-swap').series.swapUsed).toBeNull();
    const p = policy('zram+dedup');
    expect(p.series.swapUsed!.length).toBe(p.series.step.length);
    expect(Math.max(...p.series.swapUsed!)).toBeGreaterThan(0);
    expect(Math.max(...p.series.poolPages!)).toBeGreaterThan(0);
    expect(Math.max(...policy('disk').series.poolPages!)).toBe(0);
  });

  it('plain zram stores every incompressible duplicate whole and runs out; dedup-first stores them once and finishes', () => {
    const zram = policy('zram');
    const dedup = policy('zram+dedup');
    expect(zram.outcome.status).toBe('oom');
    expect(zram.summary.swap!.stats.huge_pages).toBeGreaterThan(dedup.summary.swap!.stats.huge_pages!);
    expect(dedup.summary.swap!.stats.dedup_hits).toBeGreaterThan(0);
    expect(dedup.summary.swap!.stats.dedup_saved_bytes).toBeGreaterThan(0);
    expect(dedup.summary.swap!.stats.mem_used_total).toBeLessThan(zram.summary.swap!.stats.mem_used_total!);
  });

  it('merge-on-restore maps swapped-in duplicates onto resident pages: more Rss per frame, less swap traffic', () => {
    const dedup = policy('zram+dedup').summary;
    const mor = policy('zram+dedup+mor').summary;
    expect(mor.swap!.restoreMerges).toBeGreaterThan(0);
    expect(mor.rssTotal / mor.framesFinal).toBeGreaterThan(dedup.rssTotal / dedup.framesFinal);
    expect(mor.swapOuts!).toBeLessThan(dedup.swapOuts!);
    expect(mor.swapIns!).toBeLessThan(dedup.swapIns!);
  });

  it('KSM merges the mergeable duplicates and zero pages, so the workload fits without swapping', () => {
    const ksm = policy('ksm').summary;
    expect(ksm.ksm!.pages_sharing).toBeGreaterThan(0);
    expect(ksm.ksm!.pages_shared).toBeGreaterThan(0);
    expect(ksm.ksm!.pages_sharing).toBeGreaterThan(ksm.ksm!.pages_shared);
    expect(ksm.ksm!.ksm_zero_pages).toBeGreaterThan(0);
    expect(ksm.ksm!.full_scans).toBeGreaterThan(0);
    // More data mapped than frames used.
    expect(ksm.rssTotal).toBeGreaterThan(ksm.framesFinal * 4096);
    expect(policy('ksm+zram').summary.swapOuts).toBeLessThan(policy('zram+dedup').summary.swapOuts!);
    expect(policy('no-swap').summary.ksm).toBeNull();
  });

  it('estimates CPU time for every policy, more with swap traffic than without', () => {
    for (const p of r.policies) expect(p.summary.cpuNs, p.name).toBeGreaterThan(0);
    expect(policy('disk').summary.cpuNs).toBeGreaterThan(policy('no-swap').summary.cpuNs);
  });
});

describe('merge-on-restore on a small workload', () => {
  const BIN = path.resolve(__dirname, '../samples/bin');
  const doc = {
    version: 1,
    machine: { frames: 4096, frameLimit: 48 },
    programs: { hello: path.join(BIN, 'hello') },
    policies: [
      { name: 'zram', swap: 'zram' },
      { name: 'zram+mor', swap: 'zram', mergeOnRestore: true },
    ],
    steps: [
      { op: 'exec', proc: 'a', program: 'hello' },
      { op: 'mmap', proc: 'a', name: 'm', length: '64 pages' },
      // 64 copies of one same-filled page (zram stores each as its word, so the pool stays small): most go to swap under the limit.
      { op: 'write', proc: 'a', region: 'm', data: { word: '0x0123456789abcdef' } },
      { op: 'memory-limit', frames: 4096 },
      { op: 'read', proc: 'a', region: 'm', expect: { word: '0x0123456789abcdef' } },
    ],
  };

  it('maps swapped-in duplicates onto the resident copy instead of a new frame each', async () => {
    const r = await runScenario(doc as never, { baseDir: BIN, checkInvariants: true });
    const [plain, mor] = r.policies as [PolicyResult, PolicyResult];
    for (const p of [plain, mor]) {
      expect(p.outcome.status, p.name).toBe('ok');
      expect(p.summary.swapIns, p.name).toBeGreaterThan(10);
      expect(p.summary.bytesVerified, p.name).toBe(64 * 4096);
      // Every page of m is mapped again after the read.
      expect(p.summary.rssTotal, p.name).toBe(plain.summary.rssTotal);
    }
    expect(mor.summary.swap!.restoreMerges).toBeGreaterThan(10);
    expect(mor.summary.anonFrames).toBeLessThanOrEqual(plain.summary.anonFrames - mor.summary.swap!.restoreMerges);
  });
});
