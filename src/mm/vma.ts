/**
 * Virtual memory areas (struct vm_area_struct) and the per-process list of
 * them, sorted by start address. One object per VMA (there are few); page
 * state lives in page tables, never here.
 */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import type { AddressSpace } from './page-cache.js';
import { canMergeVmas, type MergeView } from './vma-rules.js';

export class Vma implements MergeView {
  start: number;
  end: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC. */
  prot: number;
  /** MAP_SHARED (true) or MAP_PRIVATE. */
  shared: boolean;
  /** The file or shmem object mapped; null for private anonymous memory. */
  space: AddressSpace | null;
  /** Page index in `space` that `start` maps (vm_pgoff). 0 for anonymous. */
  pgoff: number;
  /** '[heap]', '[stack]' or undefined. */
  name: string | undefined;
  /** Non-zero once the VMA has an anon_vma (a private anonymous page was mapped); fork copies PTEs only then. */
  anonVmaId: number;
  /** VM_ACCOUNT: private writable at some point (smaps VmFlags "ac"). */
  account: boolean;
  /** VM_GROWSDOWN ([stack], VmFlags "gd"). */
  growsDown: boolean;
  /** VM_MERGEABLE (madvise MADV_MERGEABLE), for issue 5's KSM. */
  mergeable: boolean;

  constructor(init: {
    start: number;
    end: number;
    prot: number;
    shared: boolean;
    space: AddressSpace | null;
    pgoff: number;
    name?: string | undefined;
    anonVmaId?: number;
    account?: boolean;
    growsDown?: boolean;
    mergeable?: boolean;
  }) {
    this.start = init.start;
    this.end = init.end;
    this.prot = init.prot;
    this.shared = init.shared;
    this.space = init.space;
    this.pgoff = init.pgoff;
    this.name = init.name;
    this.anonVmaId = init.anonVmaId ?? 0;
    this.account = init.account ?? (!init.shared && (init.prot & PROT_WRITE) !== 0);
    this.growsDown = init.growsDown ?? false;
    this.mergeable = init.mergeable ?? false;
  }

  /** Never a kernel special mapping: those are not user memory and the model does not map them. */
  get special(): boolean {
    return false;
  }

  /** The merge rule's names for `space` and `anonVmaId`. */
  get object(): AddressSpace | null {
    return this.space;
  }

  get anonVma(): number {
    return this.anonVmaId;
  }

  clone(): Vma {
    return new Vma(this);
  }

  /** Anonymous: no file behind it (private anonymous or shmem). */
  get isFile(): boolean {
    return this.space !== null && this.space.kind === 'file';
  }

  /** rwxp / rwxs as /proc/PID/maps prints it. */
  get perms(): string {
    return (
      (this.prot & PROT_READ ? 'r' : '-') +
      (this.prot & PROT_WRITE ? 'w' : '-') +
      (this.prot & PROT_EXEC ? 'x' : '-') +
      (this.shared ? 's' : 'p')
    );
  }
}

/** Index of the VMA containing `addr`, or -1. */
export function findVmaIndex(vmas: readonly Vma[], addr: number): number {
  let lo = 0;
  let hi = vmas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = vmas[mid]!;
    if (addr < v.start) hi = mid - 1;
    else if (addr >= v.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Index of the first VMA with end > addr (vmas.length if none). */
export function firstEndingAfter(vmas: readonly Vma[], addr: number): number {
  let lo = 0;
  let hi = vmas.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (vmas[mid]!.end <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether `a` (ending where `b` starts) and `b` could be one VMA (vma-rules.ts). */
export function canMerge(a: Vma, b: Vma, pageSize: number): boolean {
  return canMergeVmas(a, b, pageSize);
}
