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

/** What src/mm lacks for each mechanism; undefined once it has it. */
const RECLAIM_MISSING: string | undefined = 'reclaim (LRU, swap-out)';
const SWAP_IN_MISSING: string | undefined = 'swap-in';
const KSM_MISSING: string | undefined = 'KSM scanner';

export interface Unavailable {
  /** The policy field (`swap`, `ksm`, ...). */
  field: string;
  /** What the policy asks for, e.g. "swap to zram". */
  feature: string;
  /** What the memory model lacks for it, e.g. "reclaim (LRU, swap-out)". */
  missing: string;
  /** One sentence: `swap to zram is not available: src/mm has no reclaim (LRU, swap-out) yet (issue 5)`. */
  reason: string;
}

function unavailable(field: string, feature: string, missing: string): Unavailable {
  return { field, feature, missing, reason: `${feature} is not available: src/mm has no ${missing} yet (issue 5)` };
}

/** What `policy` asks for that this build lacks (empty: it can run). */
export function missingMechanisms(policy: PolicySet): Unavailable[] {
  const missing: Unavailable[] = [];
  if (policy.swap !== null && RECLAIM_MISSING !== undefined) missing.push(unavailable('swap', `swap to ${policy.swap.backend}`, RECLAIM_MISSING));
  if (policy.dedupFirst && RECLAIM_MISSING !== undefined) missing.push(unavailable('dedupFirst', 'dedup-first', RECLAIM_MISSING));
  if (policy.mergeOnRestore && SWAP_IN_MISSING !== undefined) missing.push(unavailable('mergeOnRestore', 'merge-on-restore', SWAP_IN_MISSING));
  if (policy.ksm !== null && KSM_MISSING !== undefined) missing.push(unavailable('ksm', 'KSM', KSM_MISSING));
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
export function attachPolicy(_machine: Machine, policy: PolicySet, _cost: CostAccumulator): PolicyRuntime {
  const missing = missingMechanisms(policy);
  if (missing.length > 0) throw new Error(`policy "${policy.name}": ${missing[0]!.reason}`);
  return {
    tick: () => {},
    ksm: () => null,
    swap: () => null,
  };
}
