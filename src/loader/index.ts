/**
 * The simulated execve: ELF programs planned as Linux's fs/binfmt_elf.c maps
 * them (x86-64, ASLR off), and /proc/PID/maps of the result.
 */
export * from '../abi/exec-plan.js';
export { planExec, planExecWith, type ExecOptions } from './execve.js';
export { FileTable, PlainFileBacking, type ExecFileSource } from './file-backing.js';
export { formatMaps, mapsLines, type MapsLine, type MapsOptions } from './maps.js';
export { resolveInRoot } from './resolve.js';
export { DEFAULT_AUXV_MACHINE, type AuxvMachine } from './stack.js';
export { VDSO_6_18, type VdsoLayout } from './x86-64.js';
