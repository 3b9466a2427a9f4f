// Model-based test of the memory policies: the random sequences of
// test/mm-model-run.ts (exec, fork, read, write, mmap, munmap, exit, ...,
// plus madvise, prctl(PR_SET_MEMORY_MERGE), tick and frame-limit changes)
// under every swap back end (disk, zram, zswap, each with and without
// dedup-first), merge-on-restore, and KSM with a small pages_to_scan and
// ticks interleaved, with a frame limit a few pages above what cannot be
// reclaimed, so that reclaim and swapping never stop. No read may differ
// from the reference; checkInvariants (mapcounts, refcounts, swap counts
// against swap PTEs, the swap cache, KSM's trees and counters) runs after
// every step; after the last exit no frame, swap slot or back end page is
// left. For zram, compr_data_size is recomputed independently every 10
// steps: the bytes of every swapped-out page come from the reference model
// (not the Machine), are compressed by a second codec instance, and their
// lengths summed with zram's rules. Rerun a failure with MM_SEED=<seed>
// MM_SEQUENCES=1 (the config is chosen by the seed).
import { describe, expect, it } from 'vitest';
import type { Machine, MachineOptions } from '../src/index.js';
import { defaultPageCodec } from '../src/mm/swap/index.js';
import { compressBound } from '../src/codec/index.js';
import { PAGE } from './mm-helpers.js';
import { runSequence, type RunConfig } from './mm-model-run.js';
import type { RefProcess } from './mm-reference.js';
import { isAllZero, repeatsOneWord } from './swap-helpers.js';

const SEQUENCES = Number(process.env.MM_SEQUENCES ?? 1500);
const FIRST_SEED = Number(process.env.MM_SEED ?? 1);
const STEPS = 40;
/** zs_huge_class_size for 4 KiB pages and CONFIG_ZSMALLOC_CHAIN_SIZE 8 (LINUX.md §4.2). */
const HUGE_CLASS_SIZE = 3625;

type Named = { name: string; machine: Omit<MachineOptions, 'frames'>; pressure: boolean };
const ksm = { pagesToScan: 7, sleepMillisecs: 20, useZeroPages: true, maxPageSharing: 3 };
const CONFIGS: Named[] = [];
for (const backend of ['disk', 'zram', 'zswap'] as const) {
  for (const dedupFirst of [false, true]) {
    CONFIGS.push({
      name: `${backend}${dedupFirst ? '+dedup-first' : ''}`,
      machine: { swap: { backend, dedupFirst } },
      pressure: true,
    });
  }
  CONFIGS.push({
    name: `${backend}+merge-on-restore`,
    machine: { swap: { backend }, mergeOnRestore: true },
    pressure: true,
  });
}
CONFIGS.push(
  { name: 'ksm', machine: { ksm }, pressure: false },
  {
    name: 'ksm, no swap, limit',
    machine: { ksm: { ...ksm, useZeroPages: false }, keepPageCache: true },
    pressure: false,
  },
  { name: 'zram+ksm', machine: { swap: { backend: 'zram' }, ksm }, pressure: true },
  {
    name: 'zram+dedup-first+merge-on-restore+ksm',
    machine: { swap: { backend: 'zram', dedupFirst: true }, mergeOnRestore: true, ksm },
    pressure: true,
  },
  {
    name: 'zswap+dedup-first+merge-on-restore+ksm, file cache',
    machine: {
      swap: { backend: 'zswap', dedupFirst: true, zswap: { maxPoolPercent: 50 } },
      mergeOnRestore: true,
      ksm,
      pageCache: 'file',
      keepPageCache: true,
    },
    pressure: true,
  },
  {
    name: 'disk+ksm, content cache',
    machine: {
      swap: { backend: 'disk' },
      ksm: { ...ksm, smartScan: false },
      pageCache: 'content',
      keepPageCache: true,
    },
    pressure: true,
  },
);

/** compr_data_size recomputed from the reference's bytes of every swapped-out page. */
function comprDataSizeCheck(dedupFirst: boolean): (m: Machine, ref: Map<number, RefProcess>) => void {
  const codec = defaultPageCodec();
  const out = new Uint8Array(compressBound(PAGE));
  return (m, ref) => {
    const bySlot = new Map<number, Uint8Array>();
    for (const [pid, p] of ref) {
      for (const v of p.vmas) {
        for (let a = v.start; a < v.end; a += PAGE) {
          const info = m.pageInfo(pid, a);
          if (info.state !== 'swap') continue;
          const bytes = p.pageBytes(a);
          const seen = bySlot.get(info.swapSlot);
          if (seen !== undefined)
            expect(Buffer.compare(seen, bytes), `slot ${info.swapSlot} holds two contents`).toBe(0);
          bySlot.set(info.swapSlot, bytes);
        }
      }
    }
    const counted = new Set<string>();
    let expected = 0;
    for (const page of bySlot.values()) {
      if (isAllZero(page)) continue; // the zeromap: never reaches zram
      if (repeatsOneWord(page)) continue; // same-filled: comp_len 0
      if (dedupFirst) {
        const key = Buffer.from(page).toString('base64');
        if (counted.has(key)) continue;
        counted.add(key);
      }
      const len = codec.compress(page, out);
      expected += len >= HUGE_CLASS_SIZE ? PAGE : len;
    }
    const device = m.stats().swap!.device;
    expect(device.compr_data_size, 'zram compr_data_size').toBe(expected);
  };
}

describe('model-based: every swap back end, dedup-first, merge-on-restore and KSM under a tiny frame limit', () => {
  it(`${SEQUENCES} sequences of ${STEPS} steps over ${CONFIGS.length} policy sets read back what the reference holds`, () => {
    const ooms = new Map<string, number>();
    const swapped = new Map<string, number>();
    const merged = new Map<string, number>();
    for (let i = 0; i < SEQUENCES; i++) {
      const seed = FIRST_SEED + i;
      const c = CONFIGS[seed % CONFIGS.length]!;
      const zram = c.machine.swap?.backend === 'zram';
      const config: RunConfig = {
        name: c.name,
        machine: c.name === 'ksm, no swap, limit' ? { ...c.machine, frames: 4096, frameLimit: 4096 } : c.machine,
        steps: STEPS,
        policyOps: true,
        // zsmalloc takes whole zspages (up to 8 pages) per size class: a RAM-backed device needs room to grow within a step.
        ...(c.pressure ? { pressure: { base: c.machine.swap?.backend === 'disk' ? 6 : 14 } } : {}),
        ...(zram ? { check: comprDataSizeCheck(c.machine.swap?.dedupFirst === true) } : {}),
      };
      const log: string[] = [];
      if (process.env.MM_TRACE) process.stderr.write(`seed ${seed} ${c.name}\n`);
      try {
        const { oomAt, machine, before } = runSequence(seed, config, log);
        if (oomAt !== -1) ooms.set(c.name, (ooms.get(c.name) ?? 0) + 1);
        const s = machine.stats();
        swapped.set(c.name, (swapped.get(c.name) ?? 0) + (s.swap?.pageouts ?? 0) + (s.swap?.swapInReads ?? 0));
        const add = (what: string, n: number): void => {
          const k = `${c.name}: ${what}`;
          merged.set(k, (merged.get(k) ?? 0) + n);
        };
        if (c.machine.ksm)
          add('pages_sharing + ksm_zero_pages (before exit)', before.ksm.pages_sharing + before.ksm.ksm_zero_pages);
        if (c.machine.mergeOnRestore)
          add('merge-on-restore merges', (s.swap?.restoreMerges ?? 0) + (s.swap?.restoreZeroMerges ?? 0));
        if (c.machine.swap?.dedupFirst) add('dedup_hits', s.swap?.device.dedup_hits ?? 0);
      } catch (e) {
        console.error(
          `mm policies model test failed: MM_SEED=${seed} MM_SEQUENCES=1 (config ${c.name})\nlast steps:\n  ${log.slice(-14).join('\n  ')}`,
        );
        throw e;
      }
    }
    console.log(`sequences stopped by E_OOM, per policy set: ${JSON.stringify(Object.fromEntries(ooms))}`);
    console.log(`pages swapped out and in, per policy set: ${JSON.stringify(Object.fromEntries(swapped))}`);
    // Pressure really was on: every swap configuration swapped a lot.
    for (const c of CONFIGS)
      if (c.pressure && SEQUENCES >= CONFIGS.length) expect(swapped.get(c.name) ?? 0, c.name).toBeGreaterThan(50);
    // Out-of-memory must stay the exception (only unreclaimable shmem and zsmalloc growth can cause it).
    const totalOom = [...ooms.values()].reduce((a, b) => a + b, 0);
    expect(totalOom).toBeLessThan(SEQUENCES * 0.1 + 1);
    // Every policy did its work somewhere.
    console.log(`merges, per policy set: ${JSON.stringify(Object.fromEntries(merged))}`);
    if (SEQUENCES >= CONFIGS.length) for (const [what, n] of merged) expect(n, what).toBeGreaterThan(0);
  });
});
