/**
 * brk(2) and mremap(2) with MREMAP_MAYMOVE, built from the memory model's
 * own VMA and page-table operations (vma-ops.ts), so they obey its
 * invariants. Machine.brk and Machine.mremap call these.
 */
import { PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import { SimulationError } from '../errors.js';
import type { MmCore } from './core.js';
import type { Machine } from './machine.js';
import type { Policies } from './policies.js';
import type { Process } from './process.js';
import { PTE_FRAME_MASK, pteFrame } from './pte.js';
import { forEachPtPage, unmapRange } from './vma-ops.js';
import { findVmaIndex, firstEndingAfter } from './vma.js';

/**
 * brk(2) (mm/mmap.c SYSCALL_DEFINE1(brk)): moves the program break of `proc`
 * to `newBrk`. Growing maps anonymous read-write memory named [heap] from
 * the old page-aligned end (refused, returning false, if it would come
 * within a page of another mapping, as `find_vma_intersection(mm, oldbrk,
 * newbrk + PAGE_SIZE)`); shrinking unmaps the pages above the new end.
 * Below start_brk it is refused. Returns whether the break moved.
 */
export function brk(machine: Machine, proc: Process, newBrk: number): boolean {
  const ps = machine.pageSize;
  if (!Number.isSafeInteger(newBrk) || newBrk < proc.startBrk) return false;
  const oldEnd = pageUp(proc.brk, ps);
  const newEnd = pageUp(newBrk, ps);
  if (newEnd > oldEnd) {
    const i = firstEndingAfter(proc.vmas, oldEnd);
    const next = proc.vmas[i];
    if (next !== undefined && next.start < newEnd + ps) return false;
    machine.mmap(proc.pid, { addr: oldEnd, length: newEnd - oldEnd, prot: PROT_READ | PROT_WRITE, name: '[heap]' });
  } else if (newEnd < oldEnd) {
    machine.munmap(proc.pid, newEnd, oldEnd - newEnd);
  }
  proc.brk = newBrk;
  return true;
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
export function mremap(
  machine: Machine,
  core: MmCore,
  policies: Policies,
  proc: Process,
  addr: number,
  oldLength: number,
  newLength: number,
): number | null {
  const ps = machine.pageSize;
  const pid = proc.pid;
  if (!Number.isSafeInteger(addr) || addr % ps !== 0 || !(oldLength > 0) || !(newLength > 0)) return null;
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
  if (vma.mergeable) policies.ksm.madviseMergeable(proc, to, to + newLen);
  movePageTables(core, proc, addr, to, oldLen);
  unmapRange(core, proc, addr, addr + oldLen);
  policies.ksm.forgetRange(pid, addr, addr + oldLen);
  return to;
}

/** Moves the PTEs of [from, from + length) to [to, to + length) (mm/mremap.c move_ptes). */
function movePageTables(core: MmCore, proc: Process, from: number, to: number, length: number): void {
  const pt = core.pt;
  const ps = core.pageSize;
  const moves: Array<[number, number]> = [];
  forEachPtPage(core, proc, from / ps, (from + length) / ps, (_page, first, lo, hi) => {
    for (let vpn = lo; vpn < hi; vpn++) if (pt.pte[first + vpn] !== 0) moves.push([vpn, first + vpn]);
  });
  const shift = (to - from) / ps;
  for (const [vpn, oldSlot] of moves) {
    const pte = pt.pte[oldSlot]!;
    const newSlot = pt.ensureSlot(proc.dir, proc.pid, vpn + shift);
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

function pageUp(n: number, ps: number): number {
  return Math.ceil(n / ps) * ps;
}
