/**
 * The swap layer between the memory model and a swap back end (disk, zram,
 * zswap, with or without dedup-first): swap entries in PTEs, their swap
 * counts, the swap cache, swap-out of a page and swap-in on a fault
 * (mm/swapfile.c, mm/swap_state.c, mm/page_io.c, mm/memory.c do_swap_page).
 *
 * Swap counts. A slot's count in the back end (swap_map) is the number of
 * swap PTEs that hold it plus one while a frame for it sits in the swap
 * cache. `ptes[slot]` keeps the PTE part; it is what SwapPss divides by
 * (swp_swapcount). checkInvariants recounts it from the page tables.
 *
 * Swap-out (pageout, called by reclaim for an unpinned anonymous frame):
 * - a frame in the swap cache is clean (its bytes are still in the slot):
 *   each PTE becomes a swap PTE for that slot, the frame leaves the cache
 *   and is freed; nothing is written;
 * - otherwise the page is stored (store() may refuse: device full, zram
 *   mem_limit, zswap without writeback; the page then stays and reclaim
 *   activates it), the slot's count is raised to the frame's mapcount
 *   (a page shared by fork needs one reference per PTE), and every PTE
 *   becomes a swap PTE (try_to_unmap); the frame is freed.
 *
 * Swap-in (do_swap_page):
 * - a slot whose frame is in the swap cache: that frame, a minor fault;
 * - otherwise the page is read from the back end (a major fault). If other
 *   PTEs still hold the slot (a page shared by fork), the new frame goes
 *   into the swap cache, clean, so they find it and the page stays shared;
 *   else it is an ordinary dirty anonymous frame and the slot is freed when
 *   the faulting PTE drops it (as zram's SWP_SYNCHRONOUS_IO path skips the
 *   swap cache).
 * - merge-on-restore (restore-index.ts), on a read fault: a restored page
 *   equal to the zero page maps the zero page; one equal to a resident
 *   anonymous frame maps that frame, write-protected first, so either side's
 *   next write copies it. Otherwise the new frame is indexed.
 * When the last swap PTE of a slot goes (a swap-in or a zap) while its frame
 * is in the swap cache, the frame leaves the cache, becomes dirty, and the
 * slot is freed (free_swap_and_cache, folio_free_swap). Linux keeps such
 * frames cached until swap is half full; the model frees at once.
 *
 * Memory: a RAM-backed back end's pages (ramPages(): zram's and zswap's
 * zsmalloc pool) are copied into core.swapRamPages after every operation,
 * so they count against the frame limit like any other memory.
 */
import { InternalError } from '../errors.js';
import type { MmCore, SwapHooks } from './core.js';
import { CostOp } from './cost.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_SWAPCACHE, ZERO_FRAME } from './frames.js';
import { xxh32Page, zeroPageChecksum } from './page-hash.js';
import { mkSwapPte } from './pte.js';
import type { RestoreIndex } from './restore-index.js';
import { tryToUnmap, writeProtect } from './rmap-walk.js';
import { equalPages } from './swap/same-filled.js';
import { NO_SLOT, type SwapBackend } from './swap/types.js';

export interface SwapSpaceCounters {
  /** Anonymous pages reclaim sent to swap (each stored once, whatever its mapcount). */
  pageouts: number;
  /** Swap-cache pages reclaimed without a write (their slot still held the bytes). */
  pageoutsClean: number;
  /** Stores the back end refused (the page stayed in memory). */
  pageoutsRefused: number;
  /** Swap-ins that read the back end. */
  swapInReads: number;
  /** Swap-ins served by the swap cache. */
  swapCacheHits: number;
  /** Frames added to the swap cache (a page read for one of several PTEs holding its slot). */
  swapCacheAdds: number;
  /** merge-on-restore: swap-ins mapped onto a resident frame with the same bytes. */
  restoreMerges: number;
  /** merge-on-restore: swap-ins of an all-zero page mapped to the zero page. */
  restoreZeroMerges: number;
}

export class SwapSpace implements SwapHooks {
  readonly backend: SwapBackend;
  readonly restore: RestoreIndex | null;
  readonly counters: SwapSpaceCounters = {
    pageouts: 0,
    pageoutsClean: 0,
    pageoutsRefused: 0,
    swapInReads: 0,
    swapCacheHits: 0,
    swapCacheAdds: 0,
    restoreMerges: 0,
    restoreZeroMerges: 0,
  };
  /** Swap device size in pages (Infinity: unlimited). */
  readonly capacity: number;
  /** Swap PTEs per slot. */
  private ptes = new Int32Array(1024);
  /** Frame in the swap cache per slot, -1 for none. */
  private cacheFrame = new Int32Array(1024).fill(-1);
  private cached = 0;
  /** The page being swapped in (kept apart from outPage: swap-in allocates, and reclaim may swap out meanwhile). */
  private readonly page: Uint8Array;
  private readonly outPage: Uint8Array;
  private readonly zeroes: Uint8Array;
  private readonly zeroHash: number;

  constructor(
    private readonly core: MmCore,
    backend: SwapBackend,
    restore: RestoreIndex | null,
    capacity = Infinity,
  ) {
    if (backend.pageSize !== core.pageSize) {
      throw new InternalError(
        `swap back end page size ${backend.pageSize} differs from the machine's ${core.pageSize}`,
      );
    }
    this.backend = backend;
    this.restore = restore;
    this.capacity = capacity;
    this.page = new Uint8Array(core.pageSize);
    this.outPage = new Uint8Array(core.pageSize);
    this.zeroes = new Uint8Array(core.pageSize);
    this.zeroHash = zeroPageChecksum(core.pageSize);
  }

  // ---- SwapHooks ------------------------------------------------------------

  dup(slot: number): void {
    this.ptes[slot]!++;
    this.backend.duplicate(slot);
  }

  free(slot: number): void {
    if (--this.ptes[slot]! < 0) throw new InternalError(`swap slot ${slot}: more frees than swap PTEs`);
    if (this.backend.free(slot)) {
      this.syncRam();
      return;
    }
    const frame = this.cacheFrame[slot]!;
    if (this.ptes[slot] === 0 && frame !== -1) {
      this.deleteFromSwapCache(frame, slot);
      this.core.frames.flags[frame]! |= FRAME_DIRTY;
      this.core.put(frame);
    }
    this.syncRam();
  }

  count(slot: number): number {
    return this.ptes[slot] ?? 0;
  }

  swapIn(slot: number, write: boolean): number {
    const core = this.core;
    const cached = this.cacheFrame[slot]!;
    if (cached !== -1) {
      core.get(cached);
      core.lastFaultMajor = false;
      this.counters.swapCacheHits++;
      return cached;
    }
    core.lastFaultMajor = true;
    this.counters.swapInReads++;
    const page = this.page;
    this.backend.load(slot, page);
    this.syncRam();
    let hash = 0;
    if (this.restore !== null) {
      hash = xxh32Page(page);
      core.cost.charge(CostOp.hash, core.pageSize);
      if (!write) {
        const resident = this.findResident(page, hash);
        if (resident !== -1) return resident;
      }
    }
    const shared = this.ptes[slot]! > 1;
    // The new frame is allocated after the read: reclaim may run here, and may
    // even write this slot's data back from zswap to disk; `page` holds the bytes.
    const frame = core.allocFrame(shared ? FRAME_ANON : FRAME_ANON | FRAME_DIRTY);
    core.contents.write(frame, 0, page, 0, core.pageSize);
    core.get(frame);
    if (shared) {
      this.ensure(slot);
      this.cacheFrame[slot] = frame;
      core.frames.flags[frame]! |= FRAME_SWAPCACHE;
      core.frames.swapSlot[frame] = slot;
      core.get(frame);
      this.backend.duplicate(slot);
      this.cached++;
      this.counters.swapCacheAdds++;
    }
    if (this.restore !== null) this.restore.insert(frame, hash);
    return frame;
  }

  // ---- swap-out -------------------------------------------------------------

  /** Whether a store could still find a free slot. */
  hasSpace(): boolean {
    return this.backend.slotsInUse() < this.capacity;
  }

  /**
   * Swaps out anonymous `frame` (unpinned: refcount = mapcount + swap cache).
   * Returns false when the back end refused the page; it is then untouched.
   */
  pageout(frame: number): boolean {
    const core = this.core;
    const f = core.frames;
    if ((f.flags[frame]! & FRAME_SWAPCACHE) !== 0) {
      const slot = f.swapSlot[frame]!;
      const n = f.mapcount[frame]!;
      for (let i = 0; i < n; i++) this.backend.duplicate(slot);
      this.ptes[slot]! += n;
      core.get(frame);
      tryToUnmap(core, frame, mkSwapPte(slot));
      this.deleteFromSwapCache(frame, slot);
      core.put(frame);
      core.put(frame);
      this.counters.pageoutsClean++;
      this.syncRam();
      return true;
    }
    const page = core.contents.bytes(frame, this.outPage);
    const slot = this.backend.store(page);
    this.syncRam();
    if (slot === NO_SLOT) {
      this.counters.pageoutsRefused++;
      return false;
    }
    this.ensure(slot);
    const n = f.mapcount[frame]!;
    for (let i = 1; i < n; i++) this.backend.duplicate(slot);
    this.ptes[slot] = n;
    tryToUnmap(core, frame, mkSwapPte(slot));
    if (f.refcount[frame] !== 0) throw new InternalError(`frame ${frame} still referenced after swap-out`, { frame });
    this.counters.pageouts++;
    return true;
  }

  // ---- accounting -----------------------------------------------------------

  /** Frames in the swap cache now. */
  swapCachePages(): number {
    return this.cached;
  }

  /** The swap cache's frame for `slot`, or -1 (for invariants). */
  swapCacheFrame(slot: number): number {
    return slot < this.cacheFrame.length ? this.cacheFrame[slot]! : -1;
  }

  /** Highest slot number this layer has seen, plus one (for invariants). */
  get slotRange(): number {
    return this.ptes.length;
  }

  /** Copies the back end's RAM use into the core (it counts against the frame limit). */
  syncRam(): void {
    const core = this.core;
    core.swapRamPages = this.backend.ramPages();
    if (core.frames.used + core.swapRamPages > core.peakUsed) core.peakUsed = core.frames.used + core.swapRamPages;
  }

  private findResident(page: Uint8Array, hash: number): number {
    const core = this.core;
    if (hash === this.zeroHash) {
      core.cost.charge(CostOp.compare, core.pageSize);
      if (equalPages(page, this.zeroes)) {
        this.counters.restoreZeroMerges++;
        core.get(ZERO_FRAME);
        return ZERO_FRAME;
      }
    }
    const resident = this.restore!.find(page, hash);
    if (resident === -1) return -1;
    writeProtect(core, resident);
    core.get(resident);
    this.counters.restoreMerges++;
    return resident;
  }

  private deleteFromSwapCache(frame: number, slot: number): void {
    const f = this.core.frames;
    f.flags[frame]! &= ~FRAME_SWAPCACHE;
    f.swapSlot[frame] = -1;
    this.cacheFrame[slot] = -1;
    this.cached--;
    this.backend.free(slot);
    // The cache's reference on the frame is dropped by the caller (core.put).
  }

  private ensure(slot: number): void {
    if (slot < this.ptes.length) return;
    let n = this.ptes.length * 2;
    while (n <= slot) n *= 2;
    const p = new Int32Array(n);
    p.set(this.ptes);
    this.ptes = p;
    const c = new Int32Array(n).fill(-1);
    c.set(this.cacheFrame);
    this.cacheFrame = c;
  }
}
