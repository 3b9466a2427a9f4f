/**
 * The page-fault path (mm/memory.c handle_pte_fault), the hot path of the
 * model. Called only when the fast path in access.ts cannot complete an
 * access: the PTE is none, a swap entry, or lacks PTE_WRITE for a write.
 * The caller has checked the VMA's protection.
 *
 *   none, private anon, read    → zero page (do_anonymous_page)        zeroFill
 *   none, private anon, write   → new zeroed anon frame                zeroFill
 *   none, shmem                 → shmem page, new ones zeroed          minor | zeroFill
 *   none, file or shmem, read   → first fault-around (fault-around.ts): cached
 *                                 pages around are mapped; if the page itself
 *                                 was, that is the whole fault              minor
 *   none, file, read            → page-cache frame (do_read_fault)     minor | major
 *   none, file private, write   → page cache + anon copy (do_cow_fault) minor | major, cow
 *   none, file shared, write    → page-cache frame, dirtied (do_shared_fault)
 *   present, no PTE_WRITE, write (do_wp_page):
 *     shared mapping            → PTE made writable, frame dirtied (wp_page_shared)
 *     zero page                 → new zeroed anon frame                zeroFill
 *     exclusive anon frame      → PTE made writable (wp_page_reuse)    reuse
 *     anything else             → copy (wp_page_copy)                  cow
 *   swap entry                  → the swap back end (do_swap_page): swap
 *                                 cache hit (minor), or a read from swap
 *                                 (major, swapIn), then as a write fault
 *                                 above when writing
 *
 * "Exclusive" is mapcount 1 and refcount 1 on an anonymous frame that is
 * neither KSM nor in the swap cache. Pages taken on a write fault are
 * mapped writable and dirty; pages mapped on a read fault never writable, so
 * every first write to a page goes through here.
 *
 * Every fault is charged to core.cost (cost.ts): faultMinor, faultZeroFill,
 * cowBreak, or faultMajor plus the I/O (fileRead; swap reads are charged
 * by the back end).
 */
import { CostOp } from './cost.js';
import type { MmCore } from './core.js';
import { faultAround, finishFault } from './fault-around.js';
import { folioMarkDirty } from './folio.js';
import { PTRS_PER_PTE } from './page-table.js';
import { checkFileIndex } from './file-pages.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_KSM, FRAME_SWAPCACHE, ZERO_FRAME } from './frames.js';
import type { Process } from './process.js';
import { faultAroundHits, faultFilePage } from './readahead-cache.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG, mkPte, pteFrame, pteSwapSlot } from './pte.js';
import type { Vma } from './vma.js';

const WRITTEN = PTE_YOUNG | PTE_DIRTY | PTE_WRITE;

export function handleFault(core: MmCore, proc: Process, vma: Vma, slot: number, vpn: number, write: boolean): void {
  const pte = core.pt.pte[slot]!;
  if (pte === 0) doNoPage(core, proc, vma, slot, vpn, write);
  else if (pte < 0) doSwapPage(core, proc, vma, slot, pte, write);
  else if (write && (pte & PTE_WRITE) === 0) doWpPage(core, proc, vma, slot, pte);
  else core.pt.pte[slot] = pte | PTE_YOUNG | (write ? PTE_DIRTY : 0);
}

function doNoPage(core: MmCore, proc: Process, vma: Vma, slot: number, vpn: number, write: boolean): void {
  const space = vma.space;
  if (space === null) {
    core.counters.zeroFill++;
    proc.minorFaults++;
    // Linux 6.18 gives the VMA its anon_vma on a read fault too (observed: a read-faulted anonymous VMA no longer
    // merges with a neighbour that has another anon_vma), though the read maps the shared zero page.
    anonVmaPrepare(core, vma);
    if (!write) {
      core.mapPte(slot, ZERO_FRAME, PTE_YOUNG);
      core.cost.charge(CostOp.faultMinor, 0);
      return;
    }
    core.mapPte(slot, core.allocFrame(FRAME_ANON | FRAME_DIRTY), WRITTEN);
    core.cost.charge(CostOp.faultZeroFill, 0);
    return;
  }
  // A page table with no entry yet stands for one the kernel has not allocated (pmd_none); see faultAround.
  const ptPage = (slot / PTRS_PER_PTE) | 0;
  const freshTable = core.pt.usedEntries[ptPage] === 0;
  const around = !write && core.faultAround > 1;
  if (around && mapAround(core, proc, vma, slot, vpn, ptPage, freshTable)) {
    core.counters.minor++;
    proc.minorFaults++;
    core.cost.charge(CostOp.faultMinor, 0);
    return;
  }
  const index = vma.pgoff + (vpn - vma.start / core.pageSize);
  if (space.kind === 'shmem') {
    const frame = core.shmemPage(space, index);
    proc.minorFaults++;
    if (write) core.frames.flags[frame]! |= FRAME_DIRTY;
    core.mapPte(slot, frame, write ? WRITTEN : PTE_YOUNG);
    return;
  }
  checkFileIndex(core, space, index);
  const frame = faultFilePage(core, proc, vma, index);
  const major = core.lastFaultMajor;
  if (major) proc.majorFaults++;
  else proc.minorFaults++;
  if (!write || vma.shared) core.cost.charge(major ? CostOp.faultMajor : CostOp.faultMinor, 0);
  if (!write) {
    // After a read the kernel retries the fault (VM_FAULT_RETRY), and the retry maps around.
    if (major && around && mapAround(core, proc, vma, slot, vpn, ptPage, freshTable)) return;
    finishFault(core, vma, slot, vpn, index, frame, PTE_YOUNG);
    return;
  }
  if (vma.shared) {
    core.frames.flags[frame]! |= FRAME_DIRTY;
    folioMarkDirty(core.frames.flags, space, index, FRAME_DIRTY);
    finishFault(core, vma, slot, vpn, index, frame, WRITTEN);
    return;
  }
  // A minor COW fault costs cowBreak (fault, allocation, copy); a major one the read fault plus a page copy.
  if (major) core.cost.charge(CostOp.faultMajor, 0);
  core.cost.charge(major ? CostOp.pageCopy : CostOp.cowBreak, major ? core.pageSize : 0);
  // do_cow_fault: the page-cache page is read, copied, and left unmapped.
  core.get(frame);
  anonVmaPrepare(core, vma);
  const copy = allocForCopy(core, frame);
  core.contents.copy(frame, copy);
  core.mapPte(slot, copy, WRITTEN);
  core.counters.cow++;
  unpin(core, frame);
}

/** faultAround, and the mmap_miss credit filemap_map_pages gives a file for the pages it mapped (only read ahead with keepPageCache). */
function mapAround(
  core: MmCore,
  proc: Process,
  vma: Vma,
  slot: number,
  vpn: number,
  ptPage: number,
  freshTable: boolean,
): boolean {
  const before = core.pt.usedEntries[ptPage]!;
  const hit = faultAround(core, vma, slot, vpn, freshTable);
  const mapped = core.pt.usedEntries[ptPage]! - before;
  if (mapped > 0 && core.keepPageCache && vma.space!.kind === 'file') faultAroundHits(core, proc, vma.space!, mapped);
  return hit;
}

/** do_wp_page. `inFault`: called from do_swap_page, which has counted the fault already. */
function doWpPage(core: MmCore, proc: Process, vma: Vma, slot: number, pte: number, inFault = false): void {
  const f = core.frames;
  const frame = pteFrame(pte);
  if (!inFault) proc.minorFaults++;
  if (vma.shared) {
    f.flags[frame]! |= FRAME_DIRTY;
    const space = vma.space;
    if (space !== null && space.kind === 'file') folioMarkDirty(f.flags, space, f.mappingIndex[frame]!, FRAME_DIRTY);
    core.pt.pte[slot] = pte | WRITTEN;
    core.cost.charge(CostOp.faultMinor, 0);
    return;
  }
  if (frame === ZERO_FRAME) {
    anonVmaPrepare(core, vma);
    core.replacePte(slot, core.allocFrame(FRAME_ANON | FRAME_DIRTY), WRITTEN);
    core.counters.zeroFill++;
    core.cost.charge(CostOp.faultZeroFill, 0);
    return;
  }
  if (
    (f.flags[frame]! & (FRAME_ANON | FRAME_KSM | FRAME_SWAPCACHE)) === FRAME_ANON &&
    f.mapcount[frame] === 1 &&
    f.refcount[frame] === 1
  ) {
    core.pt.pte[slot] = pte | WRITTEN;
    if (inFault) return; // do_swap_page maps an exclusive page writable itself
    core.counters.reuse++;
    core.cost.charge(CostOp.faultMinor, 0);
    return;
  }
  core.get(frame);
  anonVmaPrepare(core, vma);
  const copy = allocForCopy(core, frame);
  core.contents.copy(frame, copy);
  core.replacePte(slot, copy, WRITTEN);
  core.counters.cow++;
  if ((f.flags[frame]! & FRAME_KSM) !== 0) core.counters.cowKsm++;
  core.cost.charge(CostOp.cowBreak, 0);
  unpin(core, frame);
}

/**
 * do_swap_page: the swap layer returns a pinned frame holding the page
 * (from the swap cache, a read from the back end, or a resident frame with
 * the same bytes under merge-on-restore). It is mapped read-only; the
 * PTE's swap reference is dropped; a write then takes the write-protect
 * path (reuse when the page is now exclusive, else a copy).
 */
function doSwapPage(core: MmCore, proc: Process, vma: Vma, slot: number, pte: number, write: boolean): void {
  const swap = core.swapHooks();
  const swapSlot = pteSwapSlot(pte);
  const frame = swap.swapIn(swapSlot, write);
  const major = core.lastFaultMajor;
  core.pt.pte[slot] = mkPte(frame, PTE_YOUNG);
  core.addMapping(slot, frame);
  swap.free(swapSlot);
  unpin(core, frame);
  if (major) {
    proc.majorFaults++;
    core.counters.major++;
    core.counters.swapIn++;
    core.cost.charge(CostOp.faultMajor, 0);
  } else {
    proc.minorFaults++;
    core.counters.minor++;
    core.cost.charge(CostOp.faultMinor, 0);
  }
  if (write) doWpPage(core, proc, vma, slot, core.pt.pte[slot]!, true);
}

/** Allocates the frame a copy of pinned `frame` goes to; if that fails (E_OOM), the pin is dropped first. */
function allocForCopy(core: MmCore, frame: number): number {
  try {
    return core.allocFrame(FRAME_ANON | FRAME_DIRTY);
  } catch (e) {
    unpin(core, frame);
    throw e;
  }
}

/** Drops a pin taken around an allocation; an unmapped clean file page may leave the cache. */
function unpin(core: MmCore, frame: number): void {
  core.put(frame);
  if (core.frames.refcount[frame]! > 0) core.maybeDropCached(frame);
}

function anonVmaPrepare(core: MmCore, vma: Vma): void {
  if (vma.anonVmaId === 0) vma.anonVmaId = core.nextAnonVmaId++;
}
