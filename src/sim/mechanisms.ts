/**
 * How a policy set becomes a Machine: its swap back end (disk, zram, zswap,
 * ± dedup-first), merge-on-restore and KSM are Machine options
 * (src/mm/policies.ts). missingMechanisms() lists the combinations the model
 * refuses (merge-on-restore or dedup-first without a swap device); they are
 * refused before a run starts, with the policy, the field and the reason.
 *
 * PolicyRuntime is the whole contract with the runner: tick() when
 * simulated time passes, and the KSM and swap figures for the report and
 * the time series, read from machine.stats().
 */
import type { Machine } from '../mm/machine.js';
import type { SwapOptions } from '../mm/policies.js';
import type { KsmOptions, MachineOptions } from '../mm/types.js';
import type { PolicySet } from './policy.js';

export interface Unavailable {
  /** The policy field (`swap`, `ksm`, ...). */
  field: string;
  /** What the policy asks for, e.g. "merge-on-restore". */
  feature: string;
  /** What is missing for it, e.g. "a swap device". */
  missing: string;
  /** One sentence: `merge-on-restore is not available: ...`. */
  reason: string;
}

/** What `policy` asks for that needs a setting it lacks (empty: it can run). */
export function missingMechanisms(policy: PolicySet): Unavailable[] {
  const missing: Unavailable[] = [];
  if (policy.mergeOnRestore && policy.swap === null) {
    missing.push({
      field: 'mergeOnRestore',
      feature: 'merge-on-restore',
      missing: 'a swap device',
      reason: 'merge-on-restore is not available without a swap device (set "swap")',
    });
  }
  if (policy.dedupFirst && policy.swap === null) {
    missing.push({
      field: 'dedupFirst',
      feature: 'dedup-first',
      missing: 'a swap device',
      reason: 'dedup-first is not available without a swap device (set "swap")',
    });
  }
  return missing;
}

/** The Machine options that carry out `policy`'s swap, merge-on-restore and KSM settings. */
export function machinePolicyOptions(policy: PolicySet): Pick<MachineOptions, 'swap' | 'mergeOnRestore' | 'ksm'> {
  const options: Pick<MachineOptions, 'swap' | 'mergeOnRestore' | 'ksm'> = {};
  const s = policy.swap;
  if (s !== null) {
    const swap: SwapOptions = { backend: s.backend, dedupFirst: policy.dedupFirst };
    if (s.capacityPages !== undefined) swap.capacityPages = s.capacityPages;
    if (s.zeromap !== undefined) swap.zeromap = s.zeromap;
    if (s.zramChainSize !== undefined || s.zramMemLimitBytes !== undefined) {
      swap.zram = {
        ...(s.zramChainSize === undefined ? {} : { chainSize: s.zramChainSize }),
        ...(s.zramMemLimitBytes === undefined ? {} : { memLimitBytes: s.zramMemLimitBytes }),
      };
    }
    if (
      s.zswapMaxPoolPercent !== undefined ||
      s.zswapAcceptThresholdPercent !== undefined ||
      s.zswapWriteback !== undefined
    ) {
      swap.zswap = {
        ...(s.zswapMaxPoolPercent === undefined ? {} : { maxPoolPercent: s.zswapMaxPoolPercent }),
        ...(s.zswapAcceptThresholdPercent === undefined
          ? {}
          : { acceptThresholdPercent: s.zswapAcceptThresholdPercent }),
        ...(s.zswapWriteback === undefined ? {} : { writeback: s.zswapWriteback }),
      };
    }
    options.swap = swap;
    options.mergeOnRestore = policy.mergeOnRestore;
  }
  if (policy.ksm !== null) {
    const ksm: KsmOptions = {
      run: 1,
      pagesToScan: policy.ksm.pagesToScan,
      sleepMillisecs: policy.ksm.sleepMillisecs,
      useZeroPages: policy.ksm.useZeroPages,
    };
    options.ksm = ksm;
  }
  return options;
}

/** KSM's counters (Documentation/admin-guide/mm/ksm.rst names). */
export interface KsmCounters {
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
  pages_volatile: number;
  full_scans: number;
  ksm_zero_pages: number;
  /** Pages ksmd looked at, and COW breaks of KSM pages (vmstat cow_ksm). */
  pages_scanned: number;
  cow_ksm: number;
}

/** The swap side of a run, in the back end's own names (zram mm_stat, zswap debugfs, vmstat). */
export interface SwapCounters {
  backend: 'disk' | 'zram' | 'zswap';
  dedupFirst: boolean;
  mergeOnRestore: boolean;
  /** Anonymous pages reclaim wrote to swap (a swap-cache page reclaimed again without a write is not counted). */
  swapOuts: number;
  /** Swap-ins that read the back end (swap-cache hits are not counted). */
  swapIns: number;
  /** Swap entries in use now, and pages of RAM the back end holds (zsmalloc pages; 0 for disk). */
  slotsInUse: number;
  poolPages: number;
  /** merge-on-restore: swap-ins mapped onto a resident frame with the same bytes, and onto the zero page. */
  restoreMerges: number;
  restoreZeroMerges: number;
  /** The back end's stats (zram mm_stat and I/O counts, zswap debugfs, disk pswpin/pswpout, dedup_*). */
  stats: Record<string, number>;
}

/** The mechanisms of one policy on one Machine. */
export interface PolicyRuntime {
  /** Simulated time passes: ksmd scans, kswapd reclaims. */
  tick(ms: number): void;
  ksm(): KsmCounters | null;
  swap(): SwapCounters | null;
}

/**
 * The runtime of `policy` on `machine`, which was built with
 * machinePolicyOptions(policy). Throws if the policy cannot run, so a
 * missing mechanism can never be skipped silently.
 */
export function attachPolicy(machine: Machine, policy: PolicySet): PolicyRuntime {
  const missing = missingMechanisms(policy);
  if (missing.length > 0) throw new Error(`policy "${policy.name}": ${missing[0]!.reason}`);
  return {
    tick: (ms) => {
      machine.tick(ms);
    },
    ksm: () => (policy.ksm === null ? null : ksmCounters(machine)),
    swap: () => swapCounters(machine),
  };
}

function ksmCounters(machine: Machine): KsmCounters {
  const stats = machine.stats();
  const k = stats.ksm;
  return {
    pages_shared: k.pages_shared,
    pages_sharing: k.pages_sharing,
    pages_unshared: k.pages_unshared,
    pages_volatile: k.pages_volatile,
    full_scans: k.full_scans,
    ksm_zero_pages: k.ksm_zero_pages,
    pages_scanned: k.pages_scanned,
    cow_ksm: stats.vmstat.cow_ksm,
  };
}

function swapCounters(machine: Machine): SwapCounters | null {
  const s = machine.stats().swap;
  if (s === null) return null;
  const stats: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.device)) if (typeof v === 'number') stats[k] = v;
  return {
    backend: s.backend,
    dedupFirst: s.dedupFirst,
    mergeOnRestore: s.mergeOnRestore,
    swapOuts: s.pageouts,
    swapIns: s.swapInReads,
    slotsInUse: s.usedPages,
    poolPages: s.ramPages,
    restoreMerges: s.restoreMerges,
    restoreZeroMerges: s.restoreZeroMerges,
    stats,
  };
}
