/**
 * Which policy settings this build can honour, and the per-run objects that
 * carry them out. A setting whose mechanism is missing is refused before a
 * run starts, with the policy, the field and the reason, never ignored.
 *
 * Each mechanism of issue 5 plugs in here when it lands in src/mm:
 * - reclaim (LRU, dropping clean file pages, swap-out through a back end and
 *   swap-in): set RECLAIM_MISSING to undefined and build the back end in
 *   attachSwap() with createSwapBackend() (src/mm/swap), hooked to the
 *   Machine's reclaim seam (core.reclaimHook, core.swap);
 * - dedup-first: createSwapBackend's `dedupFirst` option (the back end exists);
 * - merge-on-restore: the swap-in path;
 * - KSM: a scanner object whose tick() scans pagesToScan pages per
 *   sleepMillisecs of simulated time and whose counters() gives
 *   pages_shared, pages_sharing, ... (LINUX.md §3.3).
 * PolicyRuntime is the whole contract with the runner: tick() when
 * simulated time passes, and stats for the report and the time series.
 */
import type { Machine } from '../mm/machine.js';
import type { CostAccumulator } from './cost.js';
import { HEAP_MODEL_MISSING, heapModel } from './heap-model.js';
import type { PolicySet } from './policy.js';

/** Why reclaim (and so swap) is not available; undefined once src/mm has it. */
const RECLAIM_MISSING: string | undefined = 'the memory model has no reclaim yet (issue 5: LRU reclaim, swap-out and swap-in in src/mm)';
/** Why merge-on-restore is not available; undefined once the swap-in path has it. */
const MERGE_ON_RESTORE_MISSING: string | undefined = 'the memory model has no swap-in yet (issue 5)';
/** Why KSM is not available; undefined once src/mm has a scanner. */
const KSM_MISSING: string | undefined = 'the memory model has no KSM scanner yet (issue 5)';

export interface Unavailable {
  /** The policy field (`swap`, `ksm`, ...), or `steps` for heap steps. */
  field: string;
  reason: string;
}

/** What `policy` asks for that this build lacks (empty: it can run). */
export function missingMechanisms(policy: PolicySet): Unavailable[] {
  const missing: Unavailable[] = [];
  if (policy.swap !== null && RECLAIM_MISSING !== undefined) missing.push({ field: 'swap', reason: `swap to ${policy.swap.backend} is not available: ${RECLAIM_MISSING}` });
  if (policy.dedupFirst && RECLAIM_MISSING !== undefined) missing.push({ field: 'dedupFirst', reason: `dedup-first is not available: ${RECLAIM_MISSING}` });
  if (policy.mergeOnRestore && MERGE_ON_RESTORE_MISSING !== undefined) {
    missing.push({ field: 'mergeOnRestore', reason: `merge-on-restore is not available: ${MERGE_ON_RESTORE_MISSING}` });
  }
  if (policy.ksm !== null && KSM_MISSING !== undefined) missing.push({ field: 'ksm', reason: `KSM is not available: ${KSM_MISSING}` });
  return missing;
}

/** Why heap steps (malloc, calloc, realloc, free) cannot run here, or undefined when they can. */
export function heapMissing(): string | undefined {
  return heapModel === undefined ? `heap steps are not available: ${HEAP_MODEL_MISSING}` : undefined;
}

/** KSM's counters (Documentation/admin-guide/mm/ksm.rst names). */
export interface KsmCounters {
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
  pages_volatile: number;
  full_scans: number;
  ksm_zero_pages: number;
}

/** The swap side of a run, in the back end's own names (zram mm_stat, zswap debugfs, vmstat). */
export interface SwapCounters {
  backend: 'disk' | 'zram' | 'zswap';
  swapOuts: number;
  swapIns: number;
  /** Swap entries in use now, and pages of RAM the back end holds (zsmalloc pages; 0 for disk). */
  slotsInUse: number;
  poolPages: number;
  /** The back end's stats (createSwapBackend's stats()). */
  stats: Record<string, number>;
}

/** The mechanisms of one policy on one Machine. */
export interface PolicyRuntime {
  /** Simulated time passes: background scanners and reclaim run. */
  tick(ms: number): void;
  ksm(): KsmCounters | null;
  swap(): SwapCounters | null;
}

/**
 * Sets `machine` up for `policy` and returns its runtime. The caller has
 * checked missingMechanisms(policy) is empty; this throws if not, so a
 * missing mechanism can never be skipped silently.
 */
export function attachPolicy(machine: Machine, policy: PolicySet, _cost: CostAccumulator): PolicyRuntime {
  const missing = missingMechanisms(policy);
  if (missing.length > 0) throw new Error(`policy "${policy.name}": ${missing[0]!.reason}`);
  void machine;
  return {
    tick: () => {},
    ksm: () => null,
    swap: () => null,
  };
}
