/**
 * The memory model: frames, page caches, processes, faults and /proc
 * accounting. See docs/notes/mm.md.
 */
export { Machine, type MadviseAdvice } from './machine.js';
export type {
  FaultCounters,
  KsmOptions,
  KsmProcessStat,
  KsmStats,
  MachineSwapStats,
  ReclaimCounters,
  ReclaimOptions,
  SwapOptions,
  MachineOptions,
  MachineStats,
  MmapOptions,
  PageCacheMode,
  PageInfo,
  SmapsCounters,
  SmapsEntry,
  SmapsRollup,
  VmaInfo,
} from './types.js';
export type { AccessKind } from './access.js';
export type { FileBacking } from '../abi/file-backing.js';
export { ContentIndex, MemoryBacking } from './memory-backing.js';
export { OpenFile } from './readahead-cache.js';
export { FileRaState } from './readahead.js';
export { PSS_SHIFT } from './smaps.js';
export { MMAP_BASE, TASK_SIZE } from './vma-ops.js';
export { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
export type { ExecPlan, KernelWrite, VmaPlan } from '../abi/exec-plan.js';
