/**
 * pagestack's public API. See README.md, section "API".
 */
export * from './errors.js';
export * from './elf/index.js';
export * from './scan/index.js';
export * from './mm/index.js';
export * from './container/index.js';
// The loader's formatMaps prints an ExecPlan; the memory model's prints a live process.
export * from './abi/exec-plan.js';
export { planExec, planExecWith, type ExecOptions } from './loader/execve.js';
export { FileTable, PlainFileBacking, type ExecFileSource } from './loader/file-backing.js';
export { formatMaps as formatPlanMaps, mapsLines, type MapsLine, type MapsOptions } from './loader/maps.js';
export * from './report/index.js';
export * from './sim/index.js';
