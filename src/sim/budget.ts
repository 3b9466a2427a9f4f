/**
 * What a run may cost, told before it starts (docs/SCENARIOS.md, "Budgets").
 *
 * A scenario can ask for more than any machine gives: 10^9 ms of KSM ticks,
 * an mmap of 2^46 bytes then touched, 10^6 processes, 10^4 policy sets. The
 * estimate walks the expanded steps once, without running anything, and
 * counts
 * - work: page operations (a page faulted, read, written, copied at fork,
 *   scanned by KSM; one per byte accessed with a stride; a fixed amount per
 *   exec and per policy set's machine), summed over the policy sets;
 * - memory: the largest of the policy sets' peaks of frames filled (written
 *   pages, at most what the machine and its swap can hold) times the page
 *   size, plus a fixed amount per live process.
 * Beyond the budget (--max-work, --max-memory raise it) the run is refused
 * with one line naming the step (or field) that asks the most. Sizes of
 * ELF sections are not known here; every exec counts EXEC_PAGES pages, and
 * a target without a length counts the whole of what its process maps.
 * While running, the runner also checks the process's real memory between
 * steps against the memory budget, so an estimate that was too low still
 * ends in a one-line error rather than an out-of-memory kill.
 */
import { ScenarioError } from '../errors.js';
import type { PolicySet } from './policy.js';
import type { Scenario, Target } from './scenario/types.js';

export interface Budget {
  /** Page operations over all policy sets. */
  maxWork: number;
  /** Bytes of simulated memory (and per-process state) at the peak. */
  maxMemory: number;
}

export const DEFAULT_BUDGET: Budget = { maxWork: 50_000_000, maxMemory: 2 * 1024 ** 3 };

/** Pages counted for an exec (its image, stack and heap as far as a run usually touches them). */
export const EXEC_PAGES = 1024;
/** Work counted for each policy set's fresh machine. */
export const POLICY_WORK = 20_000;
/** Bytes counted for each live process (its page tables, VMAs, allocator). */
export const PROCESS_BYTES = 256 * 1024;

const PAGE = 4096;

export interface Estimate {
  work: number;
  memory: number;
  /** The step (or field) that adds the most work, and how much. */
  heaviest: { at: string; work: number };
  /** The step at which memory peaks. */
  peakAt: string;
}

/** Estimates one policy set's run of the steps. */
function estimatePolicy(scenario: Scenario, policy: PolicySet): Estimate {
  const vm = new Map<string, number>(); // proc -> pages mapped (upper bound)
  const regions = new Map<string, number>(); // "proc\0name" -> bytes
  let work = POLICY_WORK;
  let filled = 0; // pages written (upper bound)
  let heaviest = { at: 'policies', work: POLICY_WORK };
  const byOp = new Map<string, { steps: number; work: number }>();
  let memory = 0;
  let peakAt = 'steps';
  const frameLimit = policy.frameLimit ?? scenario.machine.frameLimit;
  // With swap, pages past the frame limit go on living (compressed or on the device): no cap from the frames.
  const fillCap = policy.swap === null ? Math.max(frameLimit, scenario.machine.frames) : Number.POSITIVE_INFINITY;

  const targetBytes = (t: Target): number => {
    if (t.length !== undefined) return t.length;
    const region = t.region === undefined ? undefined : regions.get(`${t.proc}\0${t.region}`);
    const whole = region ?? (vm.get(t.proc) ?? EXEC_PAGES) * PAGE;
    const rest = Math.max(0, whole - t.offset);
    return t.fraction === undefined ? rest : Math.ceil(rest * t.fraction);
  };
  const accessWork = (t: Target): number => {
    const bytes = targetBytes(t);
    const pages = Math.ceil(bytes / PAGE) + 1;
    // A stride accesses chunk bytes every stride bytes: one operation per access, then per page.
    return t.stride === undefined ? pages : Math.ceil(bytes / t.stride) + pages;
  };

  for (const step of scenario.steps) {
    let w = 1;
    switch (step.op) {
      case 'exec':
        w = EXEC_PAGES;
        vm.set(step.proc, EXEC_PAGES);
        break;
      case 'fork': {
        const pages = vm.get(step.proc) ?? EXEC_PAGES;
        w = pages; // the page tables are copied
        vm.set(step.child, pages);
        for (const [key, bytes] of [...regions])
          if (key.startsWith(`${step.proc}\0`)) regions.set(`${step.child}\0${key.slice(step.proc.length + 1)}`, bytes);
        break;
      }
      case 'exit':
        vm.delete(step.proc);
        break;
      case 'read':
        w = accessWork(step.target);
        break;
      case 'write':
        w = accessWork(step.target);
        filled += Math.ceil(targetBytes(step.target) / PAGE);
        break;
      case 'touch':
        w = accessWork(step.target);
        if (step.access === 'write') filled += Math.ceil(targetBytes(step.target) / PAGE);
        break;
      case 'mmap': {
        const pages = Math.ceil(step.length / PAGE);
        vm.set(step.proc, (vm.get(step.proc) ?? 0) + pages);
        if (step.name !== undefined) regions.set(`${step.proc}\0${step.name}`, step.length);
        break;
      }
      case 'munmap':
      case 'mprotect':
      case 'madvise':
        w = Math.ceil(targetBytes(step.target) / PAGE) + 1;
        break;
      case 'malloc':
      case 'calloc': {
        const bytes = step.op === 'malloc' ? step.size : step.count * step.size;
        const pages = Math.ceil(bytes / PAGE);
        vm.set(step.proc, (vm.get(step.proc) ?? 0) + pages);
        // An allocation allowed to fail (mayFail) that is larger than the machine's memory most likely does (NULL,
        // an empty region): count at most the machine's memory for it.
        regions.set(`${step.proc}\0${step.as}`, step.mayFail ? Math.min(bytes, scenario.machine.frames * PAGE) : bytes);
        // Only an eager calloc writes every byte; an allocation by itself touches no page.
        if (step.op === 'calloc' && policy.callocMode === 'eager') {
          w = pages + 1;
          filled += pages;
        }
        break;
      }
      case 'realloc': {
        const pages = Math.ceil(step.size / PAGE);
        vm.set(step.proc, (vm.get(step.proc) ?? 0) + pages);
        break;
      }
      case 'tick':
        // ksmd wakes every sleepMillisecs and scans pagesToScan pages each time.
        if (policy.ksm !== null)
          w = Math.ceil(step.ms / Math.max(1, policy.ksm.sleepMillisecs)) * (policy.ksm.pagesToScan + 1);
        break;
      default:
        break;
    }
    work += w;
    if (w > heaviest.work) heaviest = { at: step.at.toString(), work: w };
    const op = byOp.get(step.op) ?? { steps: 0, work: 0 };
    op.steps++;
    op.work += w;
    byOp.set(step.op, op);
    const now = Math.min(filled, fillCap) * PAGE + vm.size * PROCESS_BYTES;
    if (now > memory) {
      memory = now;
      peakAt = step.at.toString();
    }
  }
  // Many small steps of one kind can ask more than the biggest single step: name them together.
  for (const [op, o] of byOp)
    if (o.work > 2 * heaviest.work) heaviest = { at: `steps (${o.steps} ${op} steps)`, work: o.work };
  return { work, memory, heaviest, peakAt };
}

/** The estimate of running `scenario` under each of `policies`. */
export function estimateRun(scenario: Scenario, policies: readonly PolicySet[]): Estimate {
  let work = 0;
  let memory = 0;
  let heaviest = { at: 'policies', work: 0 };
  let peakAt = 'steps';
  const byStep = new Map<string, number>();
  for (const policy of policies) {
    const e = estimatePolicy(scenario, policy);
    work += e.work;
    byStep.set(e.heaviest.at, (byStep.get(e.heaviest.at) ?? 0) + e.heaviest.work);
    if (e.memory > memory) {
      memory = e.memory;
      peakAt = e.peakAt;
    }
  }
  for (const [at, w] of byStep) if (w > heaviest.work) heaviest = { at, work: w };
  // Many small policy sets: the list itself is what asks too much.
  if (policies.length * POLICY_WORK > heaviest.work) heaviest = { at: 'policies', work: policies.length * POLICY_WORK };
  return { work, memory, heaviest, peakAt };
}

const fmt = (n: number): string => (n >= 1e6 ? n.toExponential(2).replace('e+', 'e') : String(Math.round(n)));
const mib = (n: number): string => `${fmt(n / 1024 ** 2)} MiB`;

/** Throws a one-line ScenarioError when the estimate is over the budget. */
export function checkBudget(
  scenario: Scenario,
  policies: readonly PolicySet[],
  budget: Budget = DEFAULT_BUDGET,
): Estimate {
  const e = estimateRun(scenario, policies);
  const prefix = scenario.file === undefined ? '' : `${scenario.file}: `;
  if (e.work > budget.maxWork) {
    throw new ScenarioError(
      `${prefix}${e.heaviest.at}: the run would take about ${fmt(e.work)} page operations over ${policies.length} policy set(s), more than the budget of ${fmt(budget.maxWork)} (--max-work raises it)`,
      { file: scenario.file, field: e.heaviest.at, actual: e.work, expected: budget.maxWork },
    );
  }
  if (e.memory > budget.maxMemory) {
    throw new ScenarioError(
      `${prefix}${e.peakAt}: the run would need about ${mib(e.memory)} of memory, more than the budget of ${mib(budget.maxMemory)} (--max-memory raises it)`,
      { file: scenario.file, field: e.peakAt, actual: e.memory, expected: budget.maxMemory },
    );
  }
  return e;
}

/**
 * Between steps: fails when the process's real memory (RSS) is over the
 * budget plus what Node itself needs, so a run the estimate let through
 * still stops with one line instead of being killed.
 */
export function checkMemoryNow(budget: Budget, at: string, file: string | undefined): void {
  const rss = process.memoryUsage.rss();
  if (rss > budget.maxMemory + RUNTIME_BYTES) {
    const prefix = file === undefined ? '' : `${file}: `;
    throw new ScenarioError(
      `${prefix}${at}: the run uses ${mib(rss)} of memory, more than the budget of ${mib(budget.maxMemory)} (--max-memory raises it)`,
      {
        file,
        field: at,
        actual: rss,
        expected: budget.maxMemory,
      },
    );
  }
}

/** Memory Node.js and the loaded programs take whatever the scenario does. */
const RUNTIME_BYTES = 512 * 1024 ** 2;
