/**
 * Changes to a process's VMA list: split, merge, insert, unmap, change
 * protection, and the top-down search for free address space
 * (mm/vma.c, mm/mmap.c, mm/mprotect.c).
 */
import { InternalError, SimulationError } from '../errors.js';
import { PROT_WRITE } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import { PTRS_PER_PTE } from './page-table.js';
import type { Process } from './process.js';
import { PTE_WRITE } from './pte.js';
import { type Vma, canMerge, findVmaIndex, firstEndingAfter } from './vma.js';
import { getUnmappedArea as getUnmappedAreaIn } from './vma-rules.js';

/** x86-64 TASK_SIZE (DEFAULT_MAP_WINDOW): user space ends here. */
export const TASK_SIZE = 0x7ffffffff000;
/** Top of the mmap area without ASLR and with an 8 MiB stack limit (LINUX.md §1.7). */
export const MMAP_BASE = 0x7ffff7fff000;
/** vm.mmap_min_addr default. */
export const MMAP_MIN_ADDR = 0x10000;
/** stack_guard_gap: 256 pages below a VM_GROWSDOWN VMA stay free. */
export const STACK_GUARD_PAGES = 256;

/**
 * Calls `fn(page, first, vpnLo, vpnHi)` for every existing PT page of
 * `proc` covering part of [vpnStart, vpnEnd); slot of vpn v is first + v.
 */
export function forEachPtPage(
  _core: MmCore,
  proc: Process,
  vpnStart: number,
  vpnEnd: number,
  fn: (page: number, first: number, vpnLo: number, vpnHi: number, d: number) => void,
): void {
  if (vpnEnd <= vpnStart) return;
  const d0 = Math.floor(vpnStart / PTRS_PER_PTE);
  const d1 = Math.floor((vpnEnd - 1) / PTRS_PER_PTE);
  const visit = (d: number, page: number): void => {
    const lo = Math.max(vpnStart, d * PTRS_PER_PTE);
    const hi = Math.min(vpnEnd, (d + 1) * PTRS_PER_PTE);
    fn(page, page * PTRS_PER_PTE - d * PTRS_PER_PTE, lo, hi, d);
  };
  if (d1 - d0 + 1 <= proc.dir.size) {
    for (let d = d0; d <= d1; d++) {
      const page = proc.dir.get(d);
      if (page !== undefined) visit(d, page);
    }
  } else {
    const hits = [...proc.dir.entries()].filter(([d]) => d >= d0 && d <= d1).sort((x, y) => x[0] - y[0]);
    for (const [d, page] of hits) visit(d, page);
  }
}

/** Clears every PTE of [start, end) and frees PT pages left empty (zap_page_range + free_pgtables). */
export function zapRange(core: MmCore, proc: Process, start: number, end: number): void {
  const ps = core.pageSize;
  const pt = core.pt;
  forEachPtPage(core, proc, start / ps, end / ps, (page, first, lo, hi, d) => {
    for (let vpn = lo; vpn < hi; vpn++) {
      if (pt.pte[first + vpn] !== 0) core.zapPte(first + vpn);
    }
    if (pt.usedEntries[page] === 0) pt.freePage(proc.dir, d, page);
  });
}

/** Splits the VMA at `index` so that a VMA starts at `addr` (start < addr < end) (__split_vma). */
export function splitVma(core: MmCore, proc: Process, index: number, addr: number): void {
  const vma = proc.vmas[index]!;
  if (addr <= vma.start || addr >= vma.end)
    throw new InternalError('split outside the VMA', { addr, start: vma.start, end: vma.end });
  const tail = vma.clone();
  tail.start = addr;
  if (vma.space !== null) {
    tail.pgoff = vma.pgoff + (addr - vma.start) / core.pageSize;
    vma.space.vmaRefs++;
  }
  vma.end = addr;
  proc.vmas.splice(index + 1, 0, tail);
}

/** Splits VMAs so that `addr` is a VMA boundary, if it falls inside one. */
export function splitAt(core: MmCore, proc: Process, addr: number): void {
  const i = findVmaIndex(proc.vmas, addr);
  if (i >= 0 && proc.vmas[i]!.start !== addr) splitVma(core, proc, i, addr);
}

/** Merges neighbouring VMAs between indices lo-1 and hi+1 where they are compatible (vma_merge). */
export function mergeAround(core: MmCore, proc: Process, lo: number, hi: number): void {
  const vmas = proc.vmas;
  // One VMA between two that can each take it but hold different anon_vmas: it joins the left one only
  // (mm/vma.c can_vma_merge_right refuses to join prev and next with two anon_vmas).
  const prev = vmas[lo - 1];
  const next = vmas[hi + 1];
  if (
    lo === hi &&
    prev !== undefined &&
    next !== undefined &&
    prev.anonVmaId !== 0 &&
    next.anonVmaId !== 0 &&
    prev.anonVmaId !== next.anonVmaId &&
    canMerge(prev, vmas[lo]!, core.pageSize) &&
    canMerge(vmas[lo]!, next, core.pageSize)
  ) {
    hi = lo - 1;
  }
  for (let i = Math.min(hi + 1, vmas.length - 1); i >= Math.max(lo, 1); i--) {
    const a = vmas[i - 1]!;
    const b = vmas[i]!;
    if (!canMerge(a, b, core.pageSize)) continue;
    a.end = b.end;
    if (a.anonVmaId === 0) a.anonVmaId = b.anonVmaId;
    if (b.space !== null) core.releaseSpace(b.space);
    vmas.splice(i, 1);
  }
}

/** Inserts a new VMA into a free range of the list (the caller unmapped the range). Returns its index. */
export function insertVma(proc: Process, vma: Vma): number {
  const i = firstEndingAfter(proc.vmas, vma.start);
  const next = proc.vmas[i];
  if (next !== undefined && next.start < vma.end) {
    throw new InternalError('VMA overlaps an existing one', { start: vma.start, end: vma.end, next: next.start });
  }
  proc.vmas.splice(i, 0, vma);
  if (vma.space !== null) vma.space.vmaRefs++;
  return i;
}

/** munmap: removes every VMA part inside [start, end) and its PTEs. Holes are fine. */
export function unmapRange(core: MmCore, proc: Process, start: number, end: number): void {
  splitAt(core, proc, start);
  splitAt(core, proc, end);
  const vmas = proc.vmas;
  const i = firstEndingAfter(vmas, start);
  let j = i;
  while (j < vmas.length && vmas[j]!.start < end) j++;
  const removed = vmas.splice(i, j - i);
  for (const vma of removed) {
    zapRange(core, proc, vma.start, vma.end);
    if (vma.space !== null) core.releaseSpace(vma.space);
  }
}

/** mprotect: [start, end) must be fully mapped (else ENOMEM, nothing changes). */
export function protectRange(core: MmCore, proc: Process, start: number, end: number, prot: number): void {
  const vmas = proc.vmas;
  let expect = start;
  for (let i = firstEndingAfter(vmas, start); i < vmas.length && expect < end; i++) {
    if (vmas[i]!.start > expect) break;
    expect = vmas[i]!.end;
  }
  if (expect < end) {
    throw new SimulationError(
      'E_NOMEM',
      `pid ${proc.pid}: mprotect range has unmapped pages at 0x${expect.toString(16)}`,
      {
        pid: proc.pid,
        addr: expect,
      },
    );
  }
  splitAt(core, proc, start);
  splitAt(core, proc, end);
  const lo = firstEndingAfter(vmas, start);
  let hi = lo;
  const ps = core.pageSize;
  for (; hi < vmas.length && vmas[hi]!.start < end; hi++) {
    const vma = vmas[hi]!;
    const removesWrite = (vma.prot & PROT_WRITE) !== 0 && (prot & PROT_WRITE) === 0;
    vma.prot = prot;
    if (!vma.shared && (prot & PROT_WRITE) !== 0) vma.account = true;
    if (removesWrite) {
      const pt = core.pt;
      forEachPtPage(core, proc, vma.start / ps, vma.end / ps, (_page, first, vlo, vhi) => {
        for (let vpn = vlo; vpn < vhi; vpn++) {
          const pte = pt.pte[first + vpn]!;
          if (pte > 0) pt.pte[first + vpn] = pte & ~PTE_WRITE;
        }
      });
    }
  }
  mergeAround(core, proc, lo, hi - 1);
}

/** A free range of `len` bytes for a mapping without an address (vma-rules.ts getUnmappedArea); E_NOMEM when none. */
export function getUnmappedArea(proc: Process, len: number, pageSize: number): number {
  const limits = {
    mmapBase: MMAP_BASE,
    taskSize: TASK_SIZE,
    mmapMinAddr: MMAP_MIN_ADDR,
    stackGuardGap: STACK_GUARD_PAGES * pageSize,
    pageSize,
  };
  const addr = getUnmappedAreaIn(proc.vmas, len, limits);
  if (addr === undefined)
    throw new SimulationError('E_NOMEM', `pid ${proc.pid}: no free address range of ${len} bytes`, {
      pid: proc.pid,
      len,
    });
  return addr;
}
