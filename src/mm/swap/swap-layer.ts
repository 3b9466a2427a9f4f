/**
 * The part of swap every back end shares: the swap map (slot counts) and,
 * since Linux 6.12, the zeromap.
 *
 * swap_writepage (mm/page_io.c) checks is_folio_zero_filled() before any
 * device sees the page: a zero page only sets its zeromap bit (vmstat
 * swpout_zero), and swap-in fills zeros (swpin_zero). This happens for
 * every swap device, zram included, so with the zeromap on, zram's
 * same_pages counts only non-zero patterns. `zeromap: false` gives the
 * behaviour before 6.12, where zero pages reach the device.
 *
 * Subclasses implement the device: writePage / readPage / discardPage.
 */
import { InternalError } from '../../errors.js';
import { CostAccumulator, CostOp } from '../cost.js';
import { SameFilledScanner } from './same-filled.js';
import { SwapMap } from './swap-map.js';
import { checkPageSize } from '../../abi/page-size.js';
import { NO_SLOT, type SwapBackend, type SwapBackendName, type SwapStats } from './types.js';

/** The swap layer's counters, in every back end's stats. */
export type SwapLayerStats = {
  /** Swap entries in use. */
  swap_entries: number;
  /** vmstat swpout_zero / swpin_zero: zero pages kept in the zeromap, and read back from it. */
  swpout_zero: number;
  swpin_zero: number;
};

export interface SwapLayerOptions {
  /** Page size in bytes, a power of two 4096..65536. Default 4096. */
  pageSize?: number;
  /** Swap device size in pages. Default Infinity (grows). */
  capacityPages?: number;
  /** The swap layer's zero-page bitmap (Linux 6.12+). Default true. */
  zeromap?: boolean;
  /** Where operations are charged. Default: a private accumulator. */
  cost?: CostAccumulator;
}

export abstract class SwapLayer implements SwapBackend {
  abstract readonly name: SwapBackendName;
  readonly pageSize: number;
  readonly zeromap: boolean;
  readonly cost: CostAccumulator;
  protected readonly map: SwapMap;
  protected readonly scanner = new SameFilledScanner();
  /** Zero pages recorded in the zeromap instead of written (vmstat swpout_zero). */
  protected swpoutZero = 0;
  /** Swap-ins served from the zeromap (vmstat swpin_zero). */
  protected swpinZero = 0;

  constructor(options: SwapLayerOptions) {
    this.pageSize = checkPageSize(options.pageSize ?? 4096);
    this.zeromap = options.zeromap ?? true;
    this.cost = options.cost ?? new CostAccumulator();
    this.map = new SwapMap(options.capacityPages ?? Infinity);
    this.map.onGrow = (n) => this.growSlots(n);
  }

  store(page: Uint8Array): number {
    if (page.length !== this.pageSize) {
      throw new InternalError(`page of ${page.length} bytes stored on a swap device of ${this.pageSize}-byte pages`);
    }
    const slot = this.map.allocate();
    if (slot === NO_SLOT) return NO_SLOT;
    if (this.zeromap) {
      const zero = this.scanner.isZero(page);
      this.cost.charge(CostOp.sameFilledCheck, this.scanner.scannedBytes);
      if (zero) {
        this.map.setZero(slot);
        this.swpoutZero++;
        return slot;
      }
    }
    if (!this.writePage(slot, page)) {
      this.map.put(slot);
      this.map.release(slot);
      return NO_SLOT;
    }
    return slot;
  }

  load(slot: number, into: Uint8Array): void {
    this.map.check(slot);
    if (into.length !== this.pageSize) {
      throw new InternalError(`page buffer of ${into.length} bytes for a swap device of ${this.pageSize}-byte pages`);
    }
    if (this.map.isZero(slot)) {
      into.fill(0);
      this.swpinZero++;
      return;
    }
    this.readPage(slot, into);
  }

  duplicate(slot: number): void {
    this.map.duplicate(slot);
  }

  free(slot: number): boolean {
    if (this.map.put(slot) > 0) return false;
    if (!this.map.isZero(slot)) this.discardPage(slot);
    this.map.release(slot);
    return true;
  }

  slotsInUse(): number {
    return this.map.inUse;
  }

  /** Swap count of `slot` (0 when free). */
  swapCount(slot: number): number {
    return this.map.count(slot);
  }

  abstract ramPages(): number;
  abstract stats(): SwapStats;

  /** The swap layer's own counters, merged into each back end's stats. */
  protected layerStats(): SwapLayerStats {
    return { swap_entries: this.map.inUse, swpout_zero: this.swpoutZero, swpin_zero: this.swpinZero };
  }

  /** Stores a non-zeromap page in `slot`; false when the device refuses it. */
  protected abstract writePage(slot: number, page: Uint8Array): boolean;
  protected abstract readPage(slot: number, into: Uint8Array): void;
  /** The slot's last reference is gone: drop its data (swap_slot_free_notify, zswap_invalidate). */
  protected abstract discardPage(slot: number): void;
  /** Per-slot arrays must hold at least `length` entries. */
  protected abstract growSlots(length: number): void;
}
