/**
 * The swap back end interface the memory model's reclaim path calls.
 *
 * A swap entry is a slot number on one swap device, as in Linux (a swap
 * offset). The back end keeps the swap count of every slot (swap_map in
 * mm/swapfile.c): store() returns a slot with count 1, duplicate() adds a
 * reference (a forked PTE, swap_duplicate), free() drops one (swap_free)
 * and releases the slot and its data when the count reaches 0. A caller
 * that never duplicates can read free() as "this entry's count went to 0".
 *
 * Loads do not consume the entry: zswap's exclusive loads (invalidate the
 * entry when the page enters the swap cache) are not modelled, because the
 * memory model has no swap cache. The memory model frees the slot when its
 * last reference goes away, as do_swap_page does after a swap-in.
 */
import type { CostAccumulator } from '../cost.js';

export type { PageCodec } from '../../codec/index.js';

export type SwapBackendName = 'disk' | 'zram' | 'zswap';

/** What store() returns when the device refuses the page (full, or zram's mem_limit). */
export const NO_SLOT = -1;

/** Counters in the kernel's own names (mm_stat, debugfs, vmstat), all plain numbers. */
export type SwapStats = { [name: string]: number };

export interface SwapBackend {
  readonly name: SwapBackendName;
  /** Page size in bytes; every page given or asked for has this length. */
  readonly pageSize: number;
  /** The ledger this back end charges its operations to (src/mm/cost.ts). */
  readonly cost: CostAccumulator;
  /** Stores one page; returns its slot with swap count 1, or NO_SLOT. May write back or evict internally. */
  store(page: Uint8Array): number;
  /** Copies the page in `slot` into `into`. */
  load(slot: number, into: Uint8Array): void;
  /** Adds a reference to `slot` (swap_duplicate). */
  duplicate(slot: number): void;
  /** Drops a reference to `slot`; returns true when that released the slot. */
  free(slot: number): boolean;
  /** Swap count of `slot` (swap_map: references held), 0 when free. */
  swapCount(slot: number): number;
  /** Swap entries in use (slots with a count > 0). */
  slotsInUse(): number;
  /** Pages of RAM the back end holds now (zsmalloc pages for zram and zswap, 0 for disk). */
  ramPages(): number;
  stats(): SwapStats;
}
