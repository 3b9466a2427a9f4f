/**
 * The result of `pagestack run` (runScenario), as plain data: the document
 * `run --json` prints. Its shape is versioned by `schema`; fields are only
 * ever added within one schema version. docs/SCENARIOS.md, "Result
 * document", describes every field.
 *
 * Conventions: sizes in bytes, times in nanoseconds (costs) or simulated
 * milliseconds (timeMs), counts as plain numbers; `null` where a figure does
 * not apply to a policy (no swap device, no KSM).
 */
import type { SmapsRollup } from '../mm/types.js';
import type { CostOpName } from '../mm/cost.js';
import type { KsmCounters, SwapCounters } from './mechanisms.js';
import type { KsmPolicy, SwapPolicy } from './policy.js';
import type { HeapOptions } from './heap-model.js';

export const RUN_SCHEMA = 'pagestack.run/1';

export interface RunResult {
  schema: typeof RUN_SCHEMA;
  scenario: {
    name: string;
    description: string;
    /** The scenario file as given, or null for a scenario passed as data. */
    file: string | null;
    version: number;
    /** Steps after repeat blocks were expanded. */
    steps: number;
  };
  machine: { frames: number; pageSize: number; frameLimit: number; keepPageCache: boolean; fileCache: string };
  /** The cost table used: DOCUMENTED_COSTS (src/mm/cost.ts) with these entries overridden by the scenario. */
  costs: { table: 'documented'; overridden: CostOpName[] };
  policies: PolicyResult[];
  /** Policies not run because this build lacks a mechanism they need (run with skipUnavailable), one entry per missing setting. */
  skipped: Array<{ name: string; field: string; feature: string; missing: string; reason: string }>;
}

export type Outcome =
  | { status: 'ok' }
  /** Out of frames at `step` (no reclaim could free one); the figures are those of that moment. */
  | { status: 'oom'; step: string; message: string };

export interface PolicyResult {
  name: string;
  settings: {
    pageCache: 'file' | 'content';
    callocMode: 'eager' | 'glibc' | 'on-commit';
    /** Allocator tunables the policy set (mmapThreshold, trimThreshold, topPad, mmapMax, maxFast, tcacheCount), or null. */
    malloc: HeapOptions | null;
    frameLimit: number;
    keepPageCache: boolean;
    swap: SwapPolicy | null;
    dedupFirst: boolean;
    mergeOnRestore: boolean;
    ksm: KsmPolicy | null;
  };
  outcome: Outcome;
  /** Steps completed. */
  stepsRun: number;
  /** Simulated time at the end (the sum of tick steps), milliseconds. */
  timeMs: number;
  summary: PolicySummary;
  /** Priced events (the cost model): per operation count, bytes and nanoseconds. */
  cost: { cpuNs: number; ioNs: number; ops: Record<CostOpName, { count: number; bytes: number; ns: number }> };
  /** Processes alive at the end, in creation order, with /proc/PID/smaps_rollup (bytes). */
  processes: ProcessResult[];
  series: Series;
}

export interface PolicySummary {
  /** Frames in use: the most seen after any step, and at the end. */
  framesPeak: number;
  framesFinal: number;
  /** The frame limit in force at the end (memory-limit steps change it). */
  frameLimit: number;
  pageCacheFrames: number;
  anonFrames: number;
  shmemFrames: number;
  /** Sums over the processes alive at the end. */
  rssTotal: number;
  pssTotal: number;
  swapTotal: number;
  /** Pages written to and read back from swap; null without a swap device. */
  swapOuts: number | null;
  swapIns: number | null;
  faults: {
    minor: number;
    major: number;
    swapIn: number;
    zeroFill: number;
    cow: number;
    reuse: number;
    cowKsm: number;
  };
  /** COW breaks (= faults.cow). */
  cowBreaks: number;
  /** Bytes read from program files by major faults. */
  fileReadBytes: number;
  ksm: KsmCounters | null;
  swap: SwapCounters | null;
  /** The allocators of every process that used the heap (alive or gone); null if none did. */
  heap: HeapSummary | null;
  /** Estimated CPU time of the workload's memory management (cost model), nanoseconds. */
  cpuNs: number;
  /** Bytes read from and written to a swap disk; null without a swap device. */
  swapReadBytes: number | null;
  swapWriteBytes: number | null;
  /** Bytes checked by read steps with `expect` (all equal, or the run would have failed). */
  bytesVerified: number;
}

export interface HeapSummary {
  /** Processes that had an allocator. */
  allocators: number;
  /** Held now by the live processes: brk heap bytes and mmapped-block bytes. */
  arenaBytes: number;
  mmappedBytes: number;
  /** Cumulative over all allocators. */
  brkCalls: number;
  mmapCalls: number;
  callocBytesZeroed: number;
  callocBytesDiscarded: number;
}

export interface ProcessResult {
  name: string;
  pid: number;
  program: string;
  smapsRollup: SmapsRollup;
  /** /proc/PID/stat minflt and majflt. */
  faults: { minor: number; major: number };
}

/**
 * Samples after each step (at most MAX_SAMPLES; a longer run keeps every
 * n-th step and the last), as parallel arrays for charts.
 */
export interface Series {
  /** Steps completed at the sample. */
  step: number[];
  timeMs: number[];
  framesUsed: number[];
  /** Swap entries in use; null without a swap device. */
  swapUsed: number[] | null;
  /** RAM pages held by the swap back end (zram/zswap pool); null without one. */
  poolPages: number[] | null;
}

export const MAX_SAMPLES = 10_000;
