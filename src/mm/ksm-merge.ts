/**
 * What KSM does to one page (mm/ksm.c try_to_merge_one_page,
 * write_protect_page, replace_page, break_ksm): the page-table side of a
 * merge and of an unmerge.
 *
 * - makeKsmPage: write_protect_page, then the frame becomes a KSM page
 *   (FRAME_KSM, dirty). Refused when the frame is pinned (refcount above
 *   mapcount + swap cache: write_protect_page's check) or not anonymous.
 * - replaceWithKsmPage: write_protect_page, pages_identical, replace_page:
 *   the one PTE at `slot` now maps the KSM frame read-only and young; the
 *   old frame loses that mapping (and is freed if it was the last).
 * - replaceWithZeroPage: the same onto the shared zero page, with the PTE
 *   marked dirty: that dirty bit is how Linux tells a KSM-placed zero page
 *   (is_ksm_zero_pte) and counts it in ksm_zero_pages; it is not in Rss.
 * - unsharePte: break_ksm's FAULT_FLAG_UNSHARE fault: a KSM page or a KSM
 *   zero page at `slot` is replaced by a private copy, mapped read-only
 *   and clean (smaps: Private_Clean; the next write reuses it), as
 *   wp_page_copy does for an unshare.
 */
import type { MmCore } from './core.js';
import { CostOp } from './cost.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_KSM, FRAME_SWAPCACHE, FRAME_USED, ZERO_FRAME } from './frames.js';
import { PTE_DIRTY, PTE_YOUNG, pteFrame } from './pte.js';
import { writeProtect } from './rmap-walk.js';
import { equalPages } from './swap/same-filled.js';

/** Whether `frame` is an anonymous frame nobody pins (write_protect_page's refcount check). */
export function mergeable(core: MmCore, frame: number): boolean {
  const f = core.frames;
  if (frame === ZERO_FRAME || (f.flags[frame]! & (FRAME_USED | FRAME_ANON)) !== (FRAME_USED | FRAME_ANON)) return false;
  const swapCache = (f.flags[frame]! & FRAME_SWAPCACHE) !== 0 ? 1 : 0;
  return f.refcount[frame] === f.mapcount[frame]! + swapCache;
}

/** try_to_merge_one_page(page, NULL): `frame` becomes a KSM page. */
export function makeKsmPage(core: MmCore, frame: number): boolean {
  if (!mergeable(core, frame)) return false;
  writeProtect(core, frame);
  core.frames.flags[frame]! |= FRAME_KSM | FRAME_DIRTY;
  return true;
}

/** Compares two frames' bytes (pages_identical), charging a compare. */
export function framesIdentical(core: MmCore, a: number, b: number, bufA: Uint8Array, bufB: Uint8Array): boolean {
  core.cost.charge(CostOp.compare, core.pageSize);
  return equalPages(core.contents.bytes(a, bufA), core.contents.bytes(b, bufB));
}

/** try_to_merge_one_page(page, kpage): maps KSM frame `kframe` at `slot` instead of `frame`. */
export function replaceWithKsmPage(
  core: MmCore,
  slot: number,
  frame: number,
  kframe: number,
  bufA: Uint8Array,
  bufB: Uint8Array,
): boolean {
  if (frame === kframe) return true;
  if (!mergeable(core, frame)) return false;
  writeProtect(core, frame);
  if (!framesIdentical(core, frame, kframe, bufA, bufB)) return false;
  core.replacePte(slot, kframe, PTE_YOUNG);
  return true;
}

/** try_to_merge_one_page(page, ZERO_PAGE): maps the zero page at `slot`, marked as KSM's (dirty). */
export function replaceWithZeroPage(
  core: MmCore,
  slot: number,
  frame: number,
  page: Uint8Array,
  zeroes: Uint8Array,
): boolean {
  if (!mergeable(core, frame)) return false;
  writeProtect(core, frame);
  core.cost.charge(CostOp.compare, core.pageSize);
  if (!equalPages(core.contents.bytes(frame, page), zeroes)) return false;
  core.replacePte(slot, ZERO_FRAME, PTE_YOUNG | PTE_DIRTY);
  if (core.ksmZeroHook !== null) core.ksmZeroHook(slot, +1);
  return true;
}

/** break_ksm at `slot`: a KSM page or KSM zero page there gets a private copy. Returns whether it did. */
export function unsharePte(core: MmCore, slot: number): boolean {
  const pte = core.pt.pte[slot]!;
  if (pte <= 0) return false;
  const frame = pteFrame(pte);
  const f = core.frames;
  const ksmZero = frame === ZERO_FRAME && (pte & PTE_DIRTY) !== 0;
  if (!ksmZero && (frame === ZERO_FRAME || (f.flags[frame]! & FRAME_KSM) === 0)) return false;
  if (!ksmZero) core.get(frame);
  let copy: number;
  try {
    copy = core.allocFrame(FRAME_ANON); // an unshare copy is clean (wp_page_copy: no pte_mkdirty)
  } catch (e) {
    if (!ksmZero) core.put(frame);
    throw e;
  }
  if (!ksmZero) core.contents.copy(frame, copy);
  core.replacePte(slot, copy, PTE_YOUNG);
  if (!ksmZero) {
    core.counters.cowKsm++;
    core.put(frame);
  }
  core.cost.charge(ksmZero ? CostOp.faultZeroFill : CostOp.cowBreak, 0);
  return true;
}
