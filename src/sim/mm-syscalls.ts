/**
 * System calls the simulator needs that Machine (src/mm) does not offer
 * yet: brk(2), mremap(2) with MREMAP_MAYMOVE, and madvise(2) with
 * MADV_DONTNEED, MADV_MERGEABLE and MADV_UNMERGEABLE. They are built from the memory model's own VMA and
 * page-table operations (src/mm/vma-ops.ts), so they obey its invariants;
 * they belong in Machine and should move there when issue 5 adds them.
 *
 * The one reach into Machine's internals is processOf(): Machine keeps its
 * Process objects private, and these calls need a process's VMA list.
 */
import { SimulationError } from '../errors.js';
import { PROT_READ, PROT_WRITE } from '../loader/plan.js';
import type { Machine } from '../mm/machine.js';
import type { Process } from '../mm/process.js';
import { PTE_FRAME_MASK, pteFrame } from '../mm/pte.js';
import { forEachPtPage, mergeAround, splitAt, unmapRange, zapRange } from '../mm/vma-ops.js';
import { findVmaIndex, firstEndingAfter } from '../mm/vma.js';

/** The Process behind `pid` (Machine keeps them private; this is the only place that reaches in). */
export function processOf(machine: Machine, pid: number): Process {
  const procs = (machine as unknown as { procs: Map<number, Process> }).procs;
  const proc = procs.get(pid);
  if (proc === undefined) throw new SimulationError('E_NOPID', `no process ${pid}`, { pid });
  return proc;
}

/**
 * brk(2) (mm/mmap.c SYSCALL_DEFINE1(brk)): moves the program break of `pid`
 * to `newBrk`. Growing maps anonymous read-write memory named [heap] from
 * the old page-aligned end (refused, returning false, if it would come
 * within a page of another mapping, as `find_vma_intersection(mm, oldbrk,
 * newbrk + PAGE_SIZE)`); shrinking unmaps the pages above the new end.
 * Below start_brk it is refused. Returns whether the break moved.
 */
export function brk(machine: Machine, pid: number, newBrk: number): boolean {
  const proc = processOf(machine, pid);
  const ps = machine.pageSize;
  if (!Number.isSafeInteger(newBrk) || newBrk < proc.startBrk) return false;
  const oldEnd = pageUp(proc.brk, ps);
  const newEnd = pageUp(newBrk, ps);
  if (newEnd > oldEnd) {
    const i = firstEndingAfter(proc.vmas, oldEnd);
    const next = proc.vmas[i];
    if (next !== undefined && next.start < newEnd + ps) return false;
    machine.mmap(pid, { addr: oldEnd, length: newEnd - oldEnd, prot: PROT_READ | PROT_WRITE, name: '[heap]' });
  } else if (newEnd < oldEnd) {
    machine.munmap(pid, newEnd, oldEnd - newEnd);
  }
  proc.brk = newBrk;
  return true;
}

/** The current break and start_brk of `pid`. */
export function brkOf(machine: Machine, pid: number): { startBrk: number; brk: number } {
  const proc = processOf(machine, pid);
  return { startBrk: proc.startBrk, brk: proc.brk };
}

/**
 * mremap(addr, oldLength, newLength, MREMAP_MAYMOVE) (mm/mremap.c) on
 * private anonymous memory: shrinking unmaps the tail; growing extends in
 * place when the pages above are free, and otherwise moves the mapping to a
 * new top-down address by moving its page-table entries
 * (move_page_tables): frames, dirty and young bits go with them, nothing is
 * copied or faulted. The old range must lie inside one VMA. Returns the new
 * address, or null if refused (EFAULT-like: not one VMA; ENOMEM: no room).
 */
export function mremap(machine: Machine, pid: number, addr: number, oldLength: number, newLength: number): number | null {
  const proc = processOf(machine, pid);
  const ps = machine.pageSize;
  if (addr % ps !== 0 || oldLength <= 0 || newLength <= 0) return null;
  const oldLen = pageUp(oldLength, ps);
  const newLen = pageUp(newLength, ps);
  const i = findVmaIndex(proc.vmas, addr);
  const vma = proc.vmas[i];
  if (vma === undefined || addr + oldLen > vma.end || vma.space !== null) return null;
  if (newLen === oldLen) return addr;
  if (newLen < oldLen) {
    machine.munmap(pid, addr + newLen, oldLen - newLen);
    return addr;
  }
  const next = proc.vmas[firstEndingAfter(proc.vmas, addr + oldLen)];
  if (addr + oldLen === vma.end && (next === undefined || next.start >= addr + newLen)) {
    machine.mmap(pid, { addr: addr + oldLen, length: newLen - oldLen, prot: vma.prot });
    return addr;
  }
  let to: number;
  try {
    to = machine.mmap(pid, { length: newLen, prot: vma.prot });
  } catch (err) {
    if (err instanceof SimulationError && err.code === 'E_NOMEM') return null;
    throw err;
  }
  const target = proc.vmas[findVmaIndex(proc.vmas, to)]!;
  if (target.anonVmaId === 0) target.anonVmaId = vma.anonVmaId;
  if (vma.mergeable) madviseMergeable(machine, pid, to, newLen, true);
  movePageTables(machine, pid, addr, to, oldLen);
  unmapRange(machine.core, proc, addr, addr + oldLen);
  return to;
}

/** Moves the PTEs of [from, from + length) to [to, to + length) (mm/mremap.c move_ptes). */
function movePageTables(machine: Machine, pid: number, from: number, to: number, length: number): void {
  const core = machine.core;
  const proc = processOf(machine, pid);
  const pt = core.pt;
  const ps = machine.pageSize;
  const moves: Array<[number, number]> = [];
  forEachPtPage(core, proc, from / ps, (from + length) / ps, (_page, first, lo, hi) => {
    for (let vpn = lo; vpn < hi; vpn++) if (pt.pte[first + vpn] !== 0) moves.push([vpn, first + vpn]);
  });
  const shift = (to - from) / ps;
  for (const [vpn, oldSlot] of moves) {
    const pte = pt.pte[oldSlot]!;
    const newSlot = pt.ensureSlot(proc.dir, pid, vpn + shift);
    if (pte > 0) {
      core.mapPte(newSlot, pteFrame(pte), pte & ~PTE_FRAME_MASK);
      core.zapPte(oldSlot);
    } else {
      // A swap entry moves as it is: its swap count does not change.
      pt.pte[newSlot] = pte;
      pt.usedEntries[Math.floor(newSlot / 512)]!++;
      pt.pte[oldSlot] = 0;
      pt.usedEntries[Math.floor(oldSlot / 512)]!--;
    }
  }
}

/**
 * madvise(MADV_DONTNEED) (mm/madvise.c madvise_dontneed_single_vma): zaps
 * the PTEs of [addr, addr + length). Private anonymous pages read back as
 * zero (the zero page), private file pages as the file's bytes again,
 * shared pages from their cache. The VMAs stay. Page-aligned.
 */
export function madviseDontneed(machine: Machine, pid: number, addr: number, length: number): void {
  const proc = processOf(machine, pid);
  const { start, end } = pageRange(machine, addr, length);
  for (let i = firstEndingAfter(proc.vmas, start); i < proc.vmas.length && proc.vmas[i]!.start < end; i++) {
    const vma = proc.vmas[i]!;
    zapRange(machine.core, proc, Math.max(start, vma.start), Math.min(end, vma.end));
  }
}

/**
 * madvise(MADV_MERGEABLE / MADV_UNMERGEABLE) (mm/ksm.c ksm_madvise): sets or
 * clears VM_MERGEABLE on the private VMAs in the range, splitting at its
 * ends; shared mappings are left alone, as ksm_compatible() refuses them
 * (the call still succeeds). Unmerging already merged pages is the KSM
 * mechanism's job (issue 5); without it there are none.
 */
export function madviseMergeable(machine: Machine, pid: number, addr: number, length: number, mergeable: boolean): void {
  const proc = processOf(machine, pid);
  const { start, end } = pageRange(machine, addr, length);
  splitAt(machine.core, proc, start);
  splitAt(machine.core, proc, end);
  const lo = firstEndingAfter(proc.vmas, start);
  let hi = lo;
  for (; hi < proc.vmas.length && proc.vmas[hi]!.start < end; hi++) {
    const vma = proc.vmas[hi]!;
    if (!vma.shared) vma.mergeable = mergeable;
  }
  mergeAround(machine.core, proc, lo, hi - 1);
}

/** prctl(PR_SET_MEMORY_MERGE, 1) applied now: every private VMA of `pid` becomes VM_MERGEABLE (MMF_VM_MERGE_ANY). */
export function markAllMergeable(machine: Machine, pid: number, mergeable: boolean): void {
  const proc = processOf(machine, pid);
  for (const vma of proc.vmas) if (!vma.shared) vma.mergeable = mergeable;
  mergeAround(machine.core, proc, 0, proc.vmas.length - 1);
}

function pageRange(machine: Machine, addr: number, length: number): { start: number; end: number } {
  const ps = machine.pageSize;
  if (!Number.isSafeInteger(addr) || addr % ps !== 0 || !Number.isSafeInteger(length) || length <= 0) {
    throw new SimulationError('E_INVAL', `madvise: 0x${addr.toString(16)}+${length} is not a page-aligned range`, { addr, length });
  }
  return { start: addr, end: addr + pageUp(length, ps) };
}

function pageUp(n: number, ps: number): number {
  return Math.ceil(n / ps) * ps;
}
