/**
 * Page table entry encoding: one Int32 per virtual page.
 *
 * Like an x86-64 PTE, one word says whether the page is present, where it
 * is, and the hardware bits the accounting reads:
 *
 *   0                    pte_none: never touched (or unmapped)
 *   > 0  (bit 30 set)    present: frame number in bits 0..26, plus
 *                        PTE_WRITE (27), PTE_DIRTY (28), PTE_YOUNG (29)
 *   < 0                  swap entry: slot = ~pte (slot 0 is -1), written
 *                        by reclaim when it swaps a page out (swap-space.ts)
 *
 * PTE_WRITE is the hardware RW bit: a write through a PTE without it is a
 * write-protect fault (COW break, reuse, or dirty tracking of a shared
 * file page). fork clears it on both sides of a private mapping.
 * PTE_YOUNG is the accessed bit (smaps Referenced; reclaim's referenced
 * check clears it through the rmap). PTE_DIRTY is the hardware dirty bit.
 */

export const PTE_NONE = 0;
export const PTE_FRAME_MASK = (1 << 27) - 1;
export const PTE_WRITE = 1 << 27;
export const PTE_DIRTY = 1 << 28;
export const PTE_YOUNG = 1 << 29;
export const PTE_PRESENT = 1 << 30;

/** Largest frame number a PTE can hold. */
export const MAX_FRAME = PTE_FRAME_MASK;

export function ptePresent(pte: number): boolean {
  return pte > 0;
}

export function pteIsSwap(pte: number): boolean {
  return pte < 0;
}

export function pteFrame(pte: number): number {
  return pte & PTE_FRAME_MASK;
}

export function mkPte(frame: number, bits: number): number {
  return PTE_PRESENT | bits | frame;
}

/** A swap PTE for swap slot `slot` (0 ≤ slot < 2^31). */
export function mkSwapPte(slot: number): number {
  return ~slot;
}

export function pteSwapSlot(pte: number): number {
  return ~pte;
}
