/**
 * What execve sets up, as plain data: the VMAs that fs/binfmt_elf.c's
 * load_elf_binary creates and the writes the kernel itself makes (padzero of
 * the partial bss page, argv/envp/auxv on the stack). The memory model
 * (src/mm) turns a plan into page tables; `pagestack maps` prints it.
 *
 * Addresses are numbers: x86-64 user space ends at 2^47, well inside
 * Number.MAX_SAFE_INTEGER.
 */
import type { FileBacking } from './file-backing.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export interface VmaPlan {
  /** Page-aligned start and end (exclusive). */
  start: number;
  end: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC. */
  prot: number;
  /** MAP_SHARED (false for everything execve maps). */
  shared: boolean;
  /** File-backed mapping: the file and the page-aligned file offset of `start`. */
  file?: { backing: FileBacking; offset: number };
  /** Pseudo-path for anonymous mappings: '[heap]', '[stack]', or undefined for plain anonymous memory. */
  name?: string;
}

/** Bytes the kernel writes during exec (padzero, the stack's argv/envp/auxv). */
export interface KernelWrite {
  addr: number;
  bytes: Uint8Array;
}

export interface ExecPlan {
  /** The program's path, as given. */
  path: string;
  vmas: VmaPlan[];
  writes: KernelWrite[];
  /** Program entry (interpreter entry when there is one). */
  entry: number;
  /** Load bias of the main program (0 for ET_EXEC). */
  loadBias: number;
  /** Interpreter load address (AT_BASE), when there is one. */
  interpBase?: number;
  /** mm->start_brk == mm->brk after exec. */
  startBrk: number;
  /** Top of the stack VMA. */
  stackTop: number;

  // Fields below were added by the loader (src/loader/execve.ts); they are
  // optional so that hand-written plans stay valid.

  /** Initial stack pointer: rsp at the first user instruction (mm->start_stack). */
  stackPointer?: number;
  /** The interpreter's real path, when the program has PT_INTERP. */
  interpreter?: string;
  /** mm->mmap_base: the top of the top-down mmap region. */
  mmapBase?: number;
  /**
   * Kernel special mappings ([vvar], [vvar_vclock], [vdso]) as /proc/PID/maps
   * lists them. They hold kernel pages, not user memory: the memory model does
   * not map them. Empty when the vDSO is off.
   */
  specialMappings?: VmaPlan[];
  /** The mm_struct fields execve sets, as /proc/PID/stat shows them (unsigned long, hence bigint). */
  mm?: ExecMm;
  /** The auxiliary vector create_elf_tables wrote, in order, without the AT_NULL terminator. */
  auxv?: AuxvEntry[];
}

/** mm_struct fields after execve (fs/binfmt_elf.c load_elf_binary, create_elf_tables). */
export interface ExecMm {
  startCode: bigint;
  endCode: bigint;
  startData: bigint;
  endData: bigint;
  startBrk: bigint;
  brk: bigint;
  startStack: bigint;
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
}

/** One auxiliary vector entry (include/uapi/linux/auxvec.h). */
export interface AuxvEntry {
  /** AT_* number. */
  type: number;
  /** AT_* name, e.g. 'AT_PHDR'. */
  name: string;
  value: bigint;
}
