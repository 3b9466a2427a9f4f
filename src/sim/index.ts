/**
 * The simulator: scenarios run under several policy sets, and loads of
 * programs compared under the two page caches. See docs/SCENARIOS.md and
 * docs/notes/sim.md.
 *
 *   const result = await runScenario('samples/scenarios/sharing.json');
 *   const load = await loadPrograms(['samples/bin/tables', 'samples/bin/tables2'], { procs: 4 });
 */
export { runScenario, runLoaded, type RunScenarioOptions } from './run-scenario.js';
export { loadScenario, type LoadScenarioOptions, type LoadedScenario } from './scenario/parse.js';
export {
  loadPrograms,
  startupPages,
  LOAD_SCHEMA,
  type LoadOptions,
  type LoadResult,
  type LoadProcess,
  type LoadSystem,
  type TouchMode,
} from './load.js';
export {
  RUN_SCHEMA,
  MAX_SAMPLES,
  type RunResult,
  type PolicyResult,
  type PolicySummary,
  type ProcessResult,
  type Series,
  type Outcome,
} from './result.js';
export {
  defaultPolicy,
  describePolicy,
  KSM_DEFAULTS,
  type PolicySet,
  type SwapPolicy,
  type KsmPolicy,
  type CallocMode,
  type PageCachePolicy,
} from './policy.js';
export { missingMechanisms, type KsmCounters, type SwapCounters, type PolicyRuntime } from './mechanisms.js';
export {
  SCENARIO_VERSION,
  STEP_OPS,
  type Scenario,
  type Step,
  type Target,
  type DataSpec,
  type ProgramSpec,
  type MachineSpec,
} from './scenario/types.js';
export { ProgramSet, type Program, type ElfLayout } from './programs.js';
export { ContainerFileSource, type ContainerReader, type ContainerMember } from './container-source.js';
export { MachineHeapHost, type HeapHost } from './heap-host.js';
export type { HeapModel, HeapAllocator } from './heap-model.js';
export { DOCUMENTED_COSTS, CostAccumulator, withOverrides, type CostTable, type CostOverrides } from '../mm/cost.js';
