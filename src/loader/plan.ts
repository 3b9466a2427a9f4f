/**
 * What execve sets up, as plain data: the VMAs that fs/binfmt_elf.c's
 * load_elf_binary creates and the writes the kernel itself makes (padzero of
 * the partial bss page, argv/envp/auxv on the stack). The memory model
 * (src/mm) turns a plan into page tables; `pagestack maps` prints it.
 *
 * Addresses are numbers: x86-64 user space ends at 2^47, well inside
 * Number.MAX_SAFE_INTEGER.
 */
import type { FileBacking } from '../mm/backing.js';

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
}
