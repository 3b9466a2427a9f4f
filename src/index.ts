/**
 * pagestack's public API: the whole job of each command, its options and
 * its result, and the typed errors. Each layer has its own entry point for
 * the rest (package.json "exports"): pagestack/elf, /scan, /codec,
 * /container, /mm, /loader, /sim, /report. See README.md, section "API".
 */
export {
  PagestackError,
  UsageError,
  InputError,
  ElfError,
  ContainerError,
  ScenarioError,
  SimulationError,
  InternalError,
  type ErrorCode,
  type ErrorData,
} from './errors.js';
export { scan, type ScanOptions } from './scan/scan.js';
export type { ScanResult, ScanTotals } from './scan/result.js';
export { pack, type PackOptions, type PackSummary } from './container/pack.js';
export { unpack, type UnpackOptions, type UnpackSummary } from './container/unpack.js';
export { verify, type VerifyOptions, type VerifyResult } from './container/verify.js';
export { openContainer, type Container } from './container/reader.js';
export { Machine } from './mm/machine.js';
export type { MachineOptions } from './mm/types.js';
export { planExec, type ExecOptions } from './loader/execve.js';
export type { ExecPlan } from './abi/exec-plan.js';
export { runScenario, type RunScenarioOptions } from './sim/run-scenario.js';
export type { RunResult } from './sim/result.js';
export { loadPrograms, type LoadOptions, type LoadResult } from './sim/load.js';
export { report, type ReportOptions, type ReportSummary } from './report/report.js';
