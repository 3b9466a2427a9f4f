/**
 * Reverse-map walks, the primitives reclaim is built from (mm/rmap.c).
 * Reclaim (reclaim.ts) calls these; test/reclaim.test.ts tests them.
 *
 * - folioReferenced: how many PTEs mapping a frame were accessed since the
 *   last check, clearing their young bits (folio_referenced with
 *   ptep_clear_flush_young); PG_referenced counts and is cleared too.
 * - tryToUnmap: removes every PTE of a frame (try_to_unmap), putting a
 *   replacement in its place: 0 for a clean file page (the next access is
 *   a page-cache lookup, minor or major), a swap PTE (pte.ts mkSwapPte) for
 *   an anonymous page whose bytes went to a swap back end.
 *
 * - writeProtect: clears PTE_WRITE in every PTE of a frame, so that the
 *   frame can be shared (KSM's write_protect_page; merge-on-restore mapping
 *   a resident frame into another process): the next write by anyone COWs.
 *
 * Zero-page PTEs are not on any rmap list and are never unmapped here.
 */
import type { MmCore } from './core.js';
import { FRAME_DIRTY, FRAME_REFERENCED, ZERO_FRAME } from './frames.js';
import { PTRS_PER_PTE } from './page-table.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG } from './pte.js';

export function folioReferenced(core: MmCore, frame: number): number {
  const pt = core.pt;
  const f = core.frames;
  let young = 0;
  for (let s = f.rmapHead[frame]!; s !== -1; s = pt.rmapNext[s]!) {
    const pte = pt.pte[s]!;
    if ((pte & PTE_YOUNG) !== 0) {
      young++;
      pt.pte[s] = pte & ~PTE_YOUNG;
    }
  }
  if ((f.flags[frame]! & FRAME_REFERENCED) !== 0) {
    young++;
    f.flags[frame]! &= ~FRAME_REFERENCED;
  }
  return young;
}

/**
 * Unmaps `frame` from every PTE, writing `replacement` there. A dirty PTE
 * marks the frame dirty first (its bytes must not be dropped). Returns the
 * number of PTEs unmapped. The caller should hold a pin (core.get) if it
 * still needs the frame: with no page cache or pin left, the frame is
 * freed by the last unmap.
 */
export function tryToUnmap(core: MmCore, frame: number, replacement: number): number {
  if (frame === ZERO_FRAME) return 0;
  const pt = core.pt;
  const f = core.frames;
  let n = 0;
  while (f.rmapHead[frame] !== -1) {
    const s = f.rmapHead[frame]!;
    if ((pt.pte[s]! & PTE_DIRTY) !== 0) f.flags[frame]! |= FRAME_DIRTY;
    pt.rmapUnlink(f, frame, s);
    pt.pte[s] = replacement;
    if (replacement === 0) pt.usedEntries[(s / PTRS_PER_PTE) | 0]!--;
    f.mapcount[frame]!--;
    n++;
    core.put(frame);
    if (f.refcount[frame] === 0) break;
  }
  return n;
}

/** Makes every PTE of `frame` read-only (keeping the dirty state in the frame). Returns PTEs changed. */
export function writeProtect(core: MmCore, frame: number): number {
  const pt = core.pt;
  const f = core.frames;
  let n = 0;
  for (let s = f.rmapHead[frame]!; s !== -1; s = pt.rmapNext[s]!) {
    const pte = pt.pte[s]!;
    if ((pte & PTE_DIRTY) !== 0) f.flags[frame]! |= FRAME_DIRTY;
    if ((pte & PTE_WRITE) !== 0) {
      pt.pte[s] = pte & ~PTE_WRITE;
      n++;
    }
  }
  return n;
}
