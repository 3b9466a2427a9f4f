/**
 * fork's copy of an address space (kernel/fork.c dup_mmap, mm/memory.c
 * copy_page_range / copy_present_pte).
 *
 * Every VMA is duplicated. Page tables are copied only for VMAs that have
 * an anon_vma (vma_needs_copy): file and shared mappings that never had a
 * private anonymous page are left empty in the child, which faults them in
 * from the page cache later. That is why a child's Rss right after fork is
 * smaller than its parent's (checked against a real kernel).
 *
 * For each copied present PTE: in a private mapping, both parent and child
 * lose PTE_WRITE, so the next write by either is a COW fault; the child's
 * PTE is old (not young), and clean if the mapping is shared. The frame
 * gains a mapcount, a reference and an rmap entry. Swap PTEs are
 * duplicated through the swap layer (swap_duplicate).
 */
import type { MmCore } from './core.js';
import { ZERO_FRAME } from './frames.js';
import { PTRS_PER_PTE } from './page-table.js';
import type { Process } from './process.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG, pteFrame, pteSwapSlot } from './pte.js';
import { forEachPtPage } from './vma-ops.js';

export function copyMm(core: MmCore, parent: Process, child: Process): void {
  const anonVmaIds = new Map<number, number>();
  for (const vma of parent.vmas) {
    const copy = vma.clone();
    if (vma.anonVmaId !== 0) {
      let id = anonVmaIds.get(vma.anonVmaId);
      if (id === undefined) {
        id = core.nextAnonVmaId++;
        anonVmaIds.set(vma.anonVmaId, id);
      }
      copy.anonVmaId = id;
    }
    if (copy.space !== null) copy.space.vmaRefs++;
    child.vmas.push(copy);
    if (vma.anonVmaId !== 0) copyPtes(core, parent, child, vma.start, vma.end, vma.shared);
  }
  child.startBrk = parent.startBrk;
  child.brk = parent.brk;
  child.stackTop = parent.stackTop;
  child.entry = parent.entry;
}

function copyPtes(core: MmCore, parent: Process, child: Process, start: number, end: number, shared: boolean): void {
  const ps = core.pageSize;
  const pt = core.pt;
  const clear = shared ? PTE_YOUNG | PTE_DIRTY : PTE_YOUNG | PTE_WRITE;
  forEachPtPage(core, parent, start / ps, end / ps, (page, first, lo, hi, d) => {
    if (pt.usedEntries[page] === 0) return;
    let childFirst = -1;
    for (let vpn = lo; vpn < hi; vpn++) {
      const pte = pt.pte[first + vpn]!;
      if (pte === 0) continue;
      if (childFirst === -1) childFirst = pt.ensurePage(child.dir, child.pid, d) * PTRS_PER_PTE - d * PTRS_PER_PTE;
      const slot = childFirst + vpn;
      pt.usedEntries[(slot / PTRS_PER_PTE) | 0]!++;
      if (pte < 0) {
        core.swapHooks().dup(pteSwapSlot(pte));
        pt.pte[slot] = pte;
        continue;
      }
      if (!shared && (pte & PTE_WRITE) !== 0) pt.pte[first + vpn] = pte & ~PTE_WRITE;
      pt.pte[slot] = pte & ~clear;
      const frame = pteFrame(pte);
      core.addMapping(slot, frame);
      // A KSM zero-page PTE keeps its dirty bit in the child (copy_present_pte), so it counts there too.
      if (frame === ZERO_FRAME && (pt.pte[slot]! & PTE_DIRTY) !== 0 && core.ksmZeroHook !== null)
        core.ksmZeroHook(slot, +1);
    }
  });
}
