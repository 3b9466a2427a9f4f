/**
 * The figures of one policy's run, read from the Machine at the end (or at
 * the step that ran out of frames) into the plain PolicyResult document.
 */
import type { Machine } from '../mm/machine.js';
import type { CostAccumulator } from '../mm/cost.js';
import type { PolicyRuntime } from './mechanisms.js';
import type { PolicySet } from './policy.js';
import type { HeapSummary, Outcome, PolicyResult, ProcessResult } from './result.js';
import type { PolicyRun } from './runner.js';

export interface SummaryInput {
  machine: Machine;
  policy: PolicySet;
  outcome: Outcome;
  run: PolicyRun;
  cost: CostAccumulator;
  runtime: PolicyRuntime;
}

export function summarize({ machine, policy, outcome, run, cost, runtime }: SummaryInput): PolicyResult {
  const stats = machine.stats();
  const processes: ProcessResult[] = [...run.procs.values()]
    .sort((a, b) => a.pid - b.pid)
    .map((p) => ({
      name: p.name,
      pid: p.pid,
      program: p.program.name,
      smapsRollup: machine.smapsRollup(p.pid),
      faults: machine.processFaults(p.pid),
    }));
  const swap = runtime.swap();
  const estimate = cost.estimate();
  const hasSwap = policy.swap !== null;
  return {
    name: policy.name,
    settings: {
      pageCache: policy.pageCache,
      callocMode: policy.callocMode,
      malloc: policy.malloc ?? null,
      frameLimit: policy.frameLimit ?? run.scenario.machine.frameLimit,
      keepPageCache: machine.keepPageCache,
      swap: policy.swap,
      dedupFirst: policy.dedupFirst,
      mergeOnRestore: policy.mergeOnRestore,
      ksm: policy.ksm,
    },
    outcome,
    stepsRun: run.stepsRun,
    timeMs: run.timeMs,
    summary: {
      framesPeak: Math.max(run.framesPeak, stats.frames.used),
      framesFinal: stats.frames.used,
      frameLimit: stats.frames.limit,
      pageCacheFrames: stats.pageCache,
      anonFrames: stats.anonymous,
      shmemFrames: stats.shmem,
      rssTotal: sum(processes, (p) => p.smapsRollup.rss),
      pssTotal: sum(processes, (p) => p.smapsRollup.pss),
      swapTotal: sum(processes, (p) => p.smapsRollup.swap),
      swapOuts: swap?.swapOuts ?? (hasSwap ? 0 : null),
      swapIns: swap?.swapIns ?? (hasSwap ? 0 : null),
      faults: { ...stats.faults },
      cowBreaks: stats.faults.cow,
      fileReadBytes: stats.bytesRead,
      ksm: runtime.ksm(),
      swap,
      heap: heapSummary(run),
      cpuNs: estimate.cpuNs,
      swapReadBytes: hasSwap ? estimate.swapReadBytes : null,
      swapWriteBytes: hasSwap ? estimate.swapWriteBytes : null,
      bytesVerified: run.access.bytesVerified,
    },
    cost: { cpuNs: estimate.cpuNs, ioNs: estimate.ioNs, ops: estimate.ops },
    processes,
    series: run.series,
  };
}

function heapSummary(run: PolicyRun): HeapSummary | null {
  const h: HeapSummary = { ...run.retiredHeap, arenaBytes: 0, mmappedBytes: 0 };
  for (const p of run.procs.values()) {
    const s = p.heap?.stats?.();
    if (s === undefined) continue;
    h.allocators++;
    h.arenaBytes += s.arenaBytes;
    h.mmappedBytes += s.mmappedBytes;
    h.brkCalls += s.brkCalls;
    h.mmapCalls += s.mmapCalls;
    h.callocBytesZeroed += s.callocBytesZeroed;
    h.callocBytesDiscarded += s.callocBytesDiscarded;
  }
  return h.allocators === 0 ? null : h;
}

function sum<T>(items: T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
