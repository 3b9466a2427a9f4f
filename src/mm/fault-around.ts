/**
 * Fault-around (mm/memory.c do_fault_around + mm/filemap.c
 * filemap_map_pages): a read fault on a file or shmem page first maps the
 * pages around it that are already in the page cache, fault_around_bytes
 * (64 KiB, 16 pages, by default) aligned, clipped to the VMA, to the
 * page-table page and to the end of the file. A large folio met by the
 * window is mapped whole when it lies inside the VMA and the page table and
 * ends before the file's last page (filemap_map_folio_range; folio.ts).
 * Where the page table does not exist yet (pmd_none) 6.18 allocates it only
 * when the first cached folio in the window ends before the file's last
 * page (the i_size check in front of filemap_map_pmd, which installs the
 * table); otherwise nothing is mapped around and the fault maps its page,
 * or folio, itself. shmem is exempt from that check.
 * Those extra PTEs cost no fault and are young (x86 does not want old
 * prefaulted PTEs). This is why a process's file Rss is larger than the
 * pages it touched; checked against the running kernel in
 * test/mm-kernel.test.ts and test/mm-folio-kernel.test.ts.
 *
 * finishFault is the other way a file page gets mapped (finish_fault): the
 * page the fault found or read, with the rest of its large folio when the
 * folio lies inside the VMA and the page table, ends by the end of the file
 * and none of its PTEs is set.
 */
import type { MmCore } from './core.js';
import { lookupFilePage } from './file-pages.js';
import { folioMappableAt, folioOf } from './folio.js';
import { PTRS_PER_PTE } from './page-table.js';
import { PTE_YOUNG } from './pte.js';
import { raHasMarks, raMarked } from './readahead-cache.js';
import type { Vma } from './vma.js';

/**
 * Maps the cached pages around `vpn` (whose PTE is `slot`); true if `vpn` itself was mapped.
 * `freshTable`: the page table has no entries, i.e. the kernel would have none allocated.
 */
export function faultAround(core: MmCore, vma: Vma, slot: number, vpn: number, freshTable = false): boolean {
  const space = vma.space!;
  const ps = core.pageSize;
  const nr = core.faultAround;
  const pteOff = vpn - Math.floor(vpn / PTRS_PER_PTE) * PTRS_PER_PTE;
  const vmaStart = vma.start / ps;
  const vmaOff = vpn - vmaStart;
  const vmaPages = (vma.end - vma.start) / ps;
  const from = Math.max(Math.floor(pteOff / nr) * nr, pteOff - Math.min(pteOff, vmaOff));
  const to = Math.min(from + nr, PTRS_PER_PTE, pteOff + vmaPages - vmaOff) - 1;
  const base = slot - pteOff;
  const file = space.kind === 'file';
  const pageCount = file ? space.backing!.pageCount : Infinity;
  const folios = file && core.cacheOf(space, !vma.shared) === space && space.folioPages.size !== 0;
  // next_uptodate_folio skips PG_readahead folios, so that a fault reaches them and reads ahead.
  const marked = file && raHasMarks(space);
  if (freshTable && file && !core.faultAroundFreshTable) {
    for (let i = from; i <= to; i++) {
      const index = vma.pgoff + (vpn - pteOff + i - vmaStart);
      if (index >= pageCount) break;
      if (lookupFilePage(core, space, index, !vma.shared) < 0) continue;
      if (marked && raMarked(core, space, index, !vma.shared)) continue;
      const [head, pages] = folios ? folioOf(space, index) : [index, 1];
      // file_end (the last page's index) < folio_next_index: no page table, nothing mapped around
      if (pageCount - 1 < head + pages) return false;
      break;
    }
  }
  const pte = core.pt.pte;
  let hit = false;
  for (let i = from; i <= to; i++) {
    const index = vma.pgoff + (vpn - pteOff + i - vmaStart);
    if (index >= pageCount) break;
    if (marked && raMarked(core, space, index, !vma.shared)) continue;
    if (folios) {
      const [head, pages] = folioOf(space, index);
      // file_end (last page index) >= folio_next_index: the folio ends before the file's last page
      const first =
        pages > 1 && pageCount - 1 >= head + pages ? folioMappableAt(head, pages, vmaStart, vma.pgoff, vmaPages) : -1;
      if (first >= 0) {
        if (mapRange(core, vma, space, base - (vpn - pteOff), first, head, pages, vpn)) hit = true;
        i = Math.max(i, first + pages - 1 - (vpn - pteOff));
        continue;
      }
    }
    if (pte[base + i] !== 0) continue;
    const frame = file ? lookupFilePage(core, space, index, !vma.shared) : (space.pages.get(index) ?? -1);
    if (frame < 0) continue;
    core.mapPte(base + i, frame, PTE_YOUNG);
    if (i === pteOff) hit = true;
  }
  return hit;
}

/**
 * Maps the cached pages [head, head + pages) of `space` at vpn `first`
 * onwards; `slot0` is the PTE slot of vpn 0 of this page table minus its
 * first vpn (slot of vpn v = slot0 + v). True if `vpn` was mapped.
 */
function mapRange(
  core: MmCore,
  vma: Vma,
  space: NonNullable<Vma['space']>,
  slot0: number,
  first: number,
  head: number,
  pages: number,
  vpn: number,
): boolean {
  const pte = core.pt.pte;
  let hit = false;
  for (let k = 0; k < pages; k++) {
    const s = slot0 + first + k;
    if (pte[s] !== 0) continue;
    const frame = lookupFilePage(core, space, head + k, !vma.shared);
    if (frame < 0) continue;
    core.mapPte(s, frame, PTE_YOUNG);
    if (first + k === vpn) hit = true;
  }
  return hit;
}

/**
 * finish_fault for file page `index` (frame `frame`, at `slot` / `vpn`):
 * maps its whole large folio when that is allowed and every PTE of it is
 * none, else the one page. `bits` are the PTE bits (young; dirty and write
 * for a shared write fault).
 */
export function finishFault(
  core: MmCore,
  vma: Vma,
  slot: number,
  vpn: number,
  index: number,
  frame: number,
  bits: number,
): void {
  const space = vma.space!;
  if (space.kind === 'file' && space.folioPages.size !== 0 && core.cacheOf(space, !vma.shared) === space) {
    const [head, pages] = folioOf(space, index);
    const vmaStart = vma.start / core.pageSize;
    const first =
      pages > 1 && head + pages <= space.backing!.pageCount
        ? folioMappableAt(head, pages, vmaStart, vma.pgoff, (vma.end - vma.start) / core.pageSize)
        : -1;
    if (first >= 0) {
      const slot0 = slot - vpn;
      const frames: number[] = [];
      let none = true;
      for (let k = 0; k < pages && none; k++) {
        none = core.pt.pte[slot0 + first + k] === 0;
        const f = k === index - head ? frame : lookupFilePage(core, space, head + k, !vma.shared);
        if (f < 0) none = false;
        frames.push(f);
      }
      if (none) {
        for (let k = 0; k < pages; k++) core.mapPte(slot0 + first + k, frames[k]!, bits);
        return;
      }
    }
  }
  core.mapPte(slot, frame, bits);
}
