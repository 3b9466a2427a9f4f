/**
 * Runs a scenario's steps under one policy set on a fresh Machine and
 * gathers the figures of the comparison: frames (peak and final), Rss and
 * Pss, faults, COW breaks, swap and KSM counters, the cost model's
 * estimate, per-process smaps_rollup and a time series.
 *
 * Errors: running out of frames (E_OOM) ends this policy's run and is its
 * outcome; anything else the model refuses (an access outside every
 * mapping, a bad range) means the scenario is wrong and becomes a
 * ScenarioError naming the step by its JSON path.
 */
import { PagestackError, ScenarioError, SimulationError } from '../errors.js';
import type { ExecPlan } from '../abi/exec-plan.js';
import { fillFileCache } from '../loader/file-cache.js';
import { Machine } from '../mm/machine.js';
import { AccessContext } from './access-steps.js';
import type { CostTable } from '../mm/cost.js';
import { MachineHeapHost } from './heap-host.js';
import { heapModel, type HeapAllocator } from './heap-model.js';
import { attachPolicy, machinePolicyOptions, type PolicyRuntime } from './mechanisms.js';
import type { PolicySet } from './policy.js';
import type { Program, ProgramSet } from './programs.js';
import { RegionError, targetSpan, type Range, type RegionSource } from './regions.js';
import { MAX_SAMPLES, type PolicyResult, type Series } from './result.js';
import type { Scenario, Step, Target } from './scenario/types.js';
import { summarize } from './summary.js';
import { checkMemoryNow, type Budget } from './budget.js';

export interface RunPolicyOptions {
  /** Prices for the cost model. */
  costTable: CostTable;
  /** Check the memory model's invariants after every step (slow; for tests). */
  checkInvariants?: boolean;
  /** Real memory is checked against budget.maxMemory every few steps (budget.ts). */
  budget?: Budget;
}

interface ProcState extends RegionSource {
  name: string;
  /** This process's allocator, created by its first heap step. */
  heap: HeapAllocator | null;
  /** The parent had an allocator the heap model cannot copy: heap steps are refused. */
  heapInherited: boolean;
  /** prctl(PR_SET_MEMORY_MERGE, 1): every private VMA is VM_MERGEABLE. */
  mergeAny: boolean;
}

export function runPolicy(
  scenario: Scenario,
  programs: ProgramSet,
  opened: ReadonlyMap<string, Program>,
  policy: PolicySet,
  options: RunPolicyOptions,
): PolicyResult {
  const spec = scenario.machine;
  const machine = new Machine({
    frames: spec.frames,
    pageSize: spec.pageSize,
    pageCache: policy.pageCache,
    keepPageCache: policy.keepPageCache ?? spec.keepPageCache,
    frameLimit: policy.frameLimit ?? spec.frameLimit,
    ...(spec.faultAround === undefined ? {} : { faultAround: spec.faultAround }),
    ...(spec.readAround === undefined ? {} : { readAround: spec.readAround }),
    ...machinePolicyOptions(policy),
    costs: options.costTable,
  });
  // The Machine charges every fault, copy, hash, compression and disk transfer to its own ledger.
  const cost = machine.cost;
  const runtime = attachPolicy(machine, policy);
  const run = new PolicyRun(scenario, programs, opened, policy, machine, runtime);

  let outcome: PolicyResult['outcome'] = { status: 'ok' };
  const every = Math.max(1, Math.ceil(scenario.steps.length / MAX_SAMPLES));
  for (let i = 0; i < scenario.steps.length; i++) {
    const step = scenario.steps[i]!;
    try {
      run.step(step);
    } catch (err) {
      if (err instanceof SimulationError && err.code === 'E_OOM') {
        outcome = { status: 'oom', step: step.at.toString(), message: err.message };
        run.sample(i, true);
        break;
      }
      throw stepError(scenario, step, err);
    }
    run.stepsRun = i + 1;
    if (options.budget && (i & 63) === 63) checkMemoryNow(options.budget, step.at.toString(), scenario.file);
    if (options.checkInvariants) run.checkInvariants();
    run.sample(i + 1, (i + 1) % every === 0 || i + 1 === scenario.steps.length);
  }
  return summarize({ machine, policy, outcome, run, cost, runtime });
}

/** The state of one policy's run, kept for summarize(). */
export class PolicyRun {
  readonly procs = new Map<string, ProcState>();
  readonly access: AccessContext;
  readonly series: Series;
  stepsRun = 0;
  timeMs = 0;
  framesPeak = 0;
  /** Cumulative allocator counters of processes that exited or exec'd (their allocators are gone). */
  readonly retiredHeap = { allocators: 0, brkCalls: 0, mmapCalls: 0, callocBytesZeroed: 0, callocBytesDiscarded: 0 };

  constructor(
    readonly scenario: Scenario,
    private readonly programs: ProgramSet,
    private readonly opened: ReadonlyMap<string, Program>,
    private readonly policy: PolicySet,
    readonly machine: Machine,
    private readonly runtime: PolicyRuntime,
  ) {
    this.access = new AccessContext(machine, (name) => this.proc(name));
    const swap = runtime.swap() !== null;
    this.series = { step: [], timeMs: [], framesUsed: [], swapUsed: swap ? [] : null, poolPages: swap ? [] : null };
  }

  proc(name: string): ProcState {
    const p = this.procs.get(name);
    // Validation followed every name, so this is a bug, not a scenario error.
    if (p === undefined) throw new Error(`internal: no process "${name}" at run time`);
    return p;
  }

  /** Records frames (and swap) after a step; every step updates the peak, `keep` adds a sample. */
  sample(stepsDone: number, keep: boolean): void {
    const used = this.machine.framesUsed;
    if (used > this.framesPeak) this.framesPeak = used;
    if (!keep) return;
    const s = this.series;
    s.step.push(stepsDone);
    s.timeMs.push(this.timeMs);
    s.framesUsed.push(used);
    const swap = this.runtime.swap();
    if (s.swapUsed !== null) s.swapUsed.push(swap?.slotsInUse ?? 0);
    if (s.poolPages !== null) s.poolPages.push(swap?.poolPages ?? 0);
  }

  step(step: Step): void {
    const m = this.machine;
    switch (step.op) {
      case 'exec': {
        const program = this.opened.get(step.program)!;
        const plan: ExecPlan = this.programs.plan(program, step.argv, step.env);
        const existing = this.procs.get(step.proc);
        if (existing) this.retire(existing);
        fillFileCache(
          m,
          plan.vmas.flatMap((v) => (v.file ? [v.file.backing] : [])),
          this.scenario.machine.fileCache,
        );
        const pid = m.exec(plan, existing?.pid);
        const state: ProcState = {
          name: step.proc,
          pid,
          program,
          plan,
          regions: new Map(),
          heap: null,
          heapInherited: false,
          mergeAny: existing?.mergeAny ?? false,
        };
        this.procs.set(step.proc, state);
        return;
      }
      case 'fork': {
        const parent = this.proc(step.proc);
        const pid = m.fork(parent.pid);
        let heap: HeapAllocator | null = null;
        if (parent.heap?.fork !== undefined) heap = parent.heap.fork(new MachineHeapHost(m, pid));
        this.procs.set(step.child, {
          ...parent,
          name: step.child,
          pid,
          regions: new Map(parent.regions),
          heap,
          heapInherited: parent.heap !== null && heap === null,
        });
        return;
      }
      case 'exit':
        this.retire(this.proc(step.proc));
        m.exit(this.proc(step.proc).pid);
        this.procs.delete(step.proc);
        return;
      case 'read':
        this.access.read(step.target, step.expect);
        return;
      case 'write':
        this.access.write(step.target, step.data);
        return;
      case 'touch':
        this.access.touch(step.target, step.access);
        return;
      case 'mmap': {
        const p = this.proc(step.proc);
        const file =
          step.file === undefined
            ? undefined
            : { backing: this.opened.get(step.file.program)!.backing, offset: step.file.offset };
        if (file) fillFileCache(m, [file.backing], this.scenario.machine.fileCache);
        const addr = m.mmap(p.pid, {
          length: step.length,
          prot: step.prot,
          shared: step.shared,
          ...(step.addr === undefined ? {} : { addr: step.addr }),
          ...(file ? { file } : {}),
        });
        if (step.name !== undefined) p.regions.set(step.name, { addr, length: step.length });
        return;
      }
      case 'munmap': {
        const p = this.proc(step.target.proc);
        const span = this.span(step.target);
        m.munmap(p.pid, span.addr, span.length);
        const t = step.target;
        if (t.region !== undefined && t.offset === 0 && t.length === undefined && t.fraction === undefined)
          p.regions.delete(t.region);
        return;
      }
      case 'mprotect': {
        const span = this.span(step.target);
        m.mprotect(this.proc(step.target.proc).pid, span.addr, span.length, step.prot);
        return;
      }
      case 'madvise': {
        const p = this.proc(step.target.proc);
        const span = this.span(step.target);
        const advice =
          step.advice === 'MADV_DONTNEED' ? 'dontneed' : step.advice === 'MADV_MERGEABLE' ? 'mergeable' : 'unmergeable';
        m.madvise(p.pid, span.addr, span.length, advice);
        return;
      }
      case 'prctl': {
        const p = this.proc(step.proc);
        p.mergeAny = step.value === 1;
        m.prctlMemoryMerge(p.pid, p.mergeAny);
        return;
      }
      case 'malloc':
      case 'calloc':
      case 'realloc':
      case 'free':
      case 'mallopt':
      case 'malloc_trim':
        this.heapStep(step);
        return;
      case 'tick':
        this.timeMs += step.ms;
        this.runtime.tick(step.ms);
        return;
      case 'memory-limit':
        m.setFrameLimit(step.frames);
        return;
      case 'drop-caches':
        m.dropCaches();
        return;
      default:
        throw new Error(`internal: unknown step ${(step as Step).op}`);
    }
  }

  /** The memory model's and every allocator's invariants (tests). */
  checkInvariants(): void {
    this.machine.checkInvariants();
    for (const p of this.procs.values()) p.heap?.check?.();
  }

  /** Keeps the cumulative counters of a process's allocator that is going away. */
  private retire(p: ProcState): void {
    const stats = p.heap?.stats?.();
    if (stats === undefined) return;
    const r = this.retiredHeap;
    r.allocators++;
    r.brkCalls += stats.brkCalls;
    r.mmapCalls += stats.mmapCalls;
    r.callocBytesZeroed += stats.callocBytesZeroed;
    r.callocBytesDiscarded += stats.callocBytesDiscarded;
  }

  private span(target: Target): Range {
    return targetSpan(this.machine, this.proc(target.proc), target);
  }

  private heapStep(
    step: Extract<Step, { op: 'malloc' | 'calloc' | 'realloc' | 'free' | 'mallopt' | 'malloc_trim' }>,
  ): void {
    const p = this.proc(step.proc);
    if (p.heap === null) {
      if (p.heapInherited)
        throw new RegionError(
          `the heap model (${heapModel.name}) cannot copy an allocator across fork, so "${p.name}" cannot use its heap`,
        );
      // A fresh allocator in a process whose break has moved would not know the heap: exec'd processes only.
      p.heap = heapModel.create(
        new MachineHeapHost(this.machine, p.pid),
        this.policy.callocMode,
        this.policy.malloc ?? {},
      );
    }
    const heap = p.heap;
    const nullResult = (call: string, mayFail: boolean, as: string) => {
      if (!mayFail) throw new RegionError(`${call} returned NULL (add "mayFail": true to allow it)`);
      p.regions.set(as, { addr: 0, length: 0 });
    };
    switch (step.op) {
      case 'malloc': {
        const ptr = heap.malloc(step.size);
        if (ptr === 0) nullResult(`malloc(${step.size})`, step.mayFail, step.as);
        else p.regions.set(step.as, { addr: ptr, length: step.size });
        break;
      }
      case 'calloc': {
        const ptr = heap.calloc(step.count, step.size);
        if (ptr === 0) nullResult(`calloc(${step.count}, ${step.size})`, step.mayFail, step.as);
        else p.regions.set(step.as, { addr: ptr, length: step.count * step.size });
        break;
      }
      case 'realloc': {
        const old = p.regions.get(step.ptr)!;
        const ptr = heap.realloc(old.addr, step.size);
        if (step.size === 0) p.regions.delete(step.ptr);
        else if (ptr === 0) {
          // realloc failing leaves the old block as it was.
          if (!step.mayFail)
            throw new RegionError(`realloc(${step.ptr}, ${step.size}) returned NULL (add "mayFail": true to allow it)`);
        } else p.regions.set(step.ptr, { addr: ptr, length: step.size });
        break;
      }
      case 'free':
        heap.free(p.regions.get(step.ptr)!.addr);
        p.regions.delete(step.ptr);
        break;
      case 'mallopt':
        if (heap.mallopt === undefined)
          throw new RegionError(`mallopt is not available in the heap model (${heapModel.name})`);
        if (!heap.mallopt(step.param, step.value))
          throw new RegionError(`mallopt(${step.param}, ${step.value}) was refused`);
        break;
      case 'malloc_trim':
        if (heap.mallocTrim === undefined)
          throw new RegionError(`malloc_trim is not available in the heap model (${heapModel.name})`);
        heap.mallocTrim(step.pad);
        break;
    }
  }
}

/** A step the model refused: one line naming the step. */
function stepError(scenario: Scenario, step: Step, err: unknown): Error {
  if (!(err instanceof RegionError) && !(err instanceof PagestackError)) return err as Error;
  if (err instanceof ScenarioError) return err;
  const prefix = scenario.file === undefined ? '' : `${scenario.file}: `;
  const code = err instanceof PagestackError ? err.code : 'E_SCENARIO';
  return new ScenarioError(`${prefix}${step.at.toString()}: ${step.op}: ${err.message}`, {
    file: scenario.file,
    field: step.at.toString(),
    actual: code,
  });
}
