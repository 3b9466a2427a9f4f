/**
 * Fault-around (mm/memory.c do_fault_around + mm/filemap.c
 * filemap_map_pages): a read fault on a file or shmem page first maps the
 * pages around it that are already in the page cache, fault_around_bytes
 * (64 KiB, 16 pages, by default) aligned, clipped to the VMA, to the
 * page-table page and to the end of the file. Those extra PTEs cost no
 * fault and are young (x86 does not want old prefaulted PTEs). This is why
 * a process's file Rss is larger than the pages it touched; checked
 * against the running kernel in test/mm-kernel.test.ts.
 */
import type { MmCore } from './core.js';
import { lookupFilePage } from './file-pages.js';
import { PTRS_PER_PTE } from './page-table.js';
import { PTE_YOUNG } from './pte.js';
import type { Vma } from './vma.js';

/** Maps the cached pages around `vpn` (whose PTE is `slot`); true if `vpn` itself was mapped. */
export function faultAround(core: MmCore, vma: Vma, slot: number, vpn: number): boolean {
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
  const pte = core.pt.pte;
  let hit = false;
  for (let i = from; i <= to; i++) {
    if (pte[base + i] !== 0) continue;
    const index = vma.pgoff + (vpn - pteOff + i - vmaStart);
    if (index >= pageCount) break;
    const frame = file ? lookupFilePage(core, space, index, !vma.shared) : (space.pages.get(index) ?? -1);
    if (frame < 0) continue;
    core.mapPte(base + i, frame, PTE_YOUNG);
    if (i === pteOff) hit = true;
  }
  return hit;
}
