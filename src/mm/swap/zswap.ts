/**
 * `zswap`: a compressed cache in front of a swap disk (mm/zswap.c,
 * Documentation/admin-guide/mm/zswap.rst). Slots are the disk's swap
 * offsets; a slot's page is in the zswap pool, or on the disk.
 *
 * Store (zswap_store, Linux 6.x):
 * 1. zswap_check_limits(): pool pages >= max_pages (totalram *
 *    max_pool_percent / 100) counts pool_limit_hit and marks the pool full;
 *    the mark is cleared once pool pages <= max_pages *
 *    accept_threshold_percent / 100. While full every store is refused:
 *    the page goes straight to the disk, and the shrink worker is queued.
 * 2. Same-filled pages, per `sameFilled`:
 *    - 'zeromap' (Linux 6.12+, default): zero pages never reach zswap (the
 *      swap layer's zeromap takes them); other same-filled pages are
 *      compressed like any page.
 *    - 'same-filled' (before 6.12, same_filled_pages_enabled=Y): any page
 *      repeating one word is kept as the word, length 0, no pool memory,
 *      same_filled_pages++; it is never written back.
 *    - 'none': no same-filled handling at all (zero pages are compressed).
 * 3. Compress. A result >= PAGE_SIZE is, per `incompressible`:
 *    - 'store' (6.18+, "store <PAGE_SIZE compression failed page as-is"):
 *      the page is kept uncompressed in the pool (length PAGE_SIZE,
 *      stored_incompressible_pages); with writeback disabled it is refused
 *      instead (reject_compress_fail) and stays in memory;
 *    - 'reject' (before 6.18): refused, reject_compress_poor++ (with LZ4
 *      some kernels count this as reject_compress_fail), page to disk.
 * 4. zs_malloc, then the entry joins the tail of the LRU, referenced.
 *
 * Shrink worker (shrink_worker): writes back from the LRU head (oldest)
 * until pool pages <= the accept threshold. With `secondChance` (6.9+) a
 * referenced entry is rotated to the tail once instead, and each walk that
 * writes nothing back is a failure; the worker stops after
 * MAX_RECLAIM_RETRIES (16) failures. Writeback decompresses the entry, frees
 * it and writes the page to the disk (written_back_pages, zswpwb). The
 * kernel runs the worker asynchronously; here it runs right after the
 * refused store (`shrinkOnReject`, default), or when shrink() is called.
 *
 * memory.zswap.writeback = 0 (`writeback: false`): nothing is written back,
 * and a refused page is not written to disk either; store() then returns
 * NO_SLOT and the page stays in memory (AOP_WRITEPAGE_ACTIVATE).
 *
 * reject_reclaim_fail counts writebacks that fail (the page raced into the
 * swap cache); that cannot happen here, so it stays 0, as do
 * reject_alloc_fail, reject_kmemcache_fail and decompress_fail. reject_pool_full is this model's own counter of stores
 * refused because the pool was full (the kernel has no such counter).
 * Not modelled: the zswap shrinker (shrinker_enabled), exclusive loads.
 */
import { CostOp } from '../cost.js';
import { fillPage } from './same-filled.js';
import { SwapDisk } from './swap-disk.js';
import { SwapLayer, type SwapLayerOptions, type SwapLayerStats } from './swap-layer.js';
import { growInt32, growUint32, growUint8 } from './swap-map.js';
import { compressBound, type PageCodec } from '../../codec/index.js';
import { ZsPool } from './zsmalloc.js';

export type ZswapSameFilled = 'zeromap' | 'same-filled' | 'none';
export type ZswapIncompressible = 'store' | 'reject';

/** debugfs /sys/kernel/debug/zswap/ names, vmstat's zswpout/zswpin/zswpwb/pswpin/pswpout, and reject_pool_full (this model's). */
export type ZswapStats = SwapLayerStats & {
  pool_limit_hit: number;
  reject_reclaim_fail: number;
  reject_alloc_fail: number;
  reject_kmemcache_fail: number;
  reject_compress_fail: number;
  reject_compress_poor: number;
  decompress_fail: number;
  written_back_pages: number;
  pool_total_size: number;
  stored_pages: number;
  stored_incompressible_pages: number;
  same_filled_pages: number;
  reject_pool_full: number;
  zswpout: number;
  zswpin: number;
  zswpwb: number;
  pswpin: number;
  pswpout: number;
};

export interface ZswapOptions extends Omit<SwapLayerOptions, 'zeromap'> {
  codec: PageCodec;
  /** totalram_pages(): the machine's RAM in pages (frames). */
  totalRamPages: number;
  /** max_pool_percent, 0..100. Default 20. */
  maxPoolPercent?: number;
  /** accept_threshold_percent, 0..100 (100 disables the hysteresis). Default 90. */
  acceptThresholdPercent?: number;
  /** CONFIG_ZSMALLOC_CHAIN_SIZE. Default 8. */
  chainSize?: number;
  /** Default 'zeromap' (Linux 6.12+). */
  sameFilled?: ZswapSameFilled;
  /** Default 'store' (Linux 6.18+). */
  incompressible?: ZswapIncompressible;
  /** memory.zswap.writeback. Default true. */
  writeback?: boolean;
  /** Run the shrink worker right after a store refused because the pool is full. Default true. */
  shrinkOnReject?: boolean;
  /** The referenced bit that gives each entry a second chance before writeback (6.9+). Default true. */
  secondChance?: boolean;
}

/** MAX_RECLAIM_RETRIES in mm/zswap.c. */
const MAX_RECLAIM_RETRIES = 16;
const NOT_STORED = -2;
const SAME_FILLED = -3;

export class ZswapSwap extends SwapLayer {
  readonly name = 'zswap';
  readonly codec: PageCodec;
  readonly pool: ZsPool;
  readonly sameFilled: ZswapSameFilled;
  readonly incompressible: ZswapIncompressible;
  readonly writeback: boolean;
  readonly shrinkOnReject: boolean;
  readonly secondChance: boolean;
  totalRamPages: number;
  maxPoolPercent: number;
  acceptThresholdPercent: number;

  private readonly disk: SwapDisk;
  /** Pool full mark (zswap_pool_reached_full). */
  private full = false;
  // Per slot: the entry's zsmalloc handle, or NOT_STORED (on disk) / SAME_FILLED.
  private entry: Int32Array;
  private length: Int32Array;
  private elementLo: Uint32Array;
  private elementHi: Uint32Array;
  private referenced: Uint8Array;
  private lruPrev: Int32Array;
  private lruNext: Int32Array;
  private lruHead = -1;
  private lruTail = -1;

  private poolLimitHit = 0;
  private rejectCompressPoor = 0;
  private rejectCompressFail = 0;
  private rejectPoolFull = 0;
  private writtenBackPages = 0;
  private storedPages = 0;
  private storedIncompressible = 0;
  private sameFilledPages = 0;
  private zswpout = 0;
  private zswpin = 0;

  private readonly compressed: Uint8Array;
  private readonly bounce: Uint8Array;

  constructor(options: ZswapOptions) {
    super({ ...options, zeromap: (options.sameFilled ?? 'zeromap') === 'zeromap' });
    this.codec = options.codec;
    this.pool = new ZsPool(this.pageSize, options.chainSize ?? 8);
    this.sameFilled = options.sameFilled ?? 'zeromap';
    this.incompressible = options.incompressible ?? 'store';
    this.writeback = options.writeback ?? true;
    this.shrinkOnReject = options.shrinkOnReject ?? true;
    this.secondChance = options.secondChance ?? true;
    this.totalRamPages = options.totalRamPages;
    this.maxPoolPercent = percent('max_pool_percent', options.maxPoolPercent ?? 20);
    this.acceptThresholdPercent = percent('accept_threshold_percent', options.acceptThresholdPercent ?? 90);
    if (!(this.totalRamPages >= 0)) throw new RangeError(`totalRamPages must be >= 0, not ${this.totalRamPages}`);
    this.disk = new SwapDisk(this.pageSize, this.cost);
    this.compressed = new Uint8Array(compressBound(this.pageSize));
    this.bounce = new Uint8Array(this.pageSize);
    const n = this.map.length;
    this.entry = new Int32Array(n).fill(NOT_STORED);
    this.length = new Int32Array(n);
    this.elementLo = new Uint32Array(n);
    this.elementHi = new Uint32Array(n);
    this.referenced = new Uint8Array(n);
    this.lruPrev = new Int32Array(n);
    this.lruNext = new Int32Array(n);
  }

  /** zswap_max_pages(). */
  maxPages(): number {
    return Math.floor((this.totalRamPages * this.maxPoolPercent) / 100);
  }

  /** zswap_accept_thr_pages(). */
  acceptThresholdPages(): number {
    return Math.floor((this.maxPages() * this.acceptThresholdPercent) / 100);
  }

  /** Whether the pool is marked full (stores refused until it shrinks to the accept threshold). */
  get poolFull(): boolean {
    return this.full;
  }

  /** True when `slot`'s page is in the zswap pool (or kept as a same-filled word). */
  inPool(slot: number): boolean {
    this.map.check(slot);
    return this.entry[slot] !== NOT_STORED;
  }

  ramPages(): number {
    return this.pool.totalPages;
  }

  stats(): ZswapStats {
    return {
      pool_limit_hit: this.poolLimitHit,
      reject_reclaim_fail: 0,
      reject_alloc_fail: 0,
      reject_kmemcache_fail: 0,
      reject_compress_fail: this.rejectCompressFail,
      reject_compress_poor: this.rejectCompressPoor,
      decompress_fail: 0,
      written_back_pages: this.writtenBackPages,
      pool_total_size: this.pool.totalPages * this.pageSize,
      stored_pages: this.storedPages,
      stored_incompressible_pages: this.storedIncompressible,
      same_filled_pages: this.sameFilledPages,
      reject_pool_full: this.rejectPoolFull,
      zswpout: this.zswpout,
      zswpin: this.zswpin,
      zswpwb: this.writtenBackPages,
      pswpin: this.disk.pswpin,
      pswpout: this.disk.pswpout,
      ...this.layerStats(),
    };
  }

  /** The shrink worker: writes back oldest entries until the pool is at the accept threshold. */
  shrink(): void {
    if (!this.writeback) return;
    const threshold = this.acceptThresholdPages();
    let failures = 0;
    do {
      const slot = this.lruHead;
      if (slot < 0) return;
      if (this.secondChance && this.referenced[slot] === 1) {
        this.referenced[slot] = 0;
        this.lruRemove(slot);
        this.lruAddTail(slot);
        if (++failures === MAX_RECLAIM_RETRIES) return;
        continue;
      }
      this.writebackEntry(slot);
    } while (this.pool.totalPages > threshold);
  }

  /** zswap_check_limits(): true while the pool is marked full. */
  private checkLimits(): boolean {
    const current = this.pool.totalPages;
    if (current >= this.maxPages()) {
      this.poolLimitHit++;
      this.full = true;
    } else if (this.full && current <= this.acceptThresholdPages()) {
      this.full = false;
    }
    return this.full;
  }

  protected writePage(slot: number, page: Uint8Array): boolean {
    if (this.checkLimits()) {
      this.rejectPoolFull++;
      const written = this.writeRejected(slot, page);
      if (this.shrinkOnReject) this.shrink();
      return written;
    }
    if (this.sameFilled === 'same-filled') {
      const same = this.scanner.check(page);
      this.cost.charge(CostOp.sameFilledCheck, this.scanner.scannedBytes);
      if (same) {
        this.entry[slot] = SAME_FILLED;
        this.length[slot] = 0;
        this.elementLo[slot] = this.scanner.lo;
        this.elementHi[slot] = this.scanner.hi;
        this.sameFilledPages++;
        this.storedPages++;
        this.zswpout++;
        return true;
      }
    }
    let length = this.codec.compress(page, this.compressed);
    this.cost.charge(CostOp.compress, this.pageSize);
    let source = this.compressed.subarray(0, length);
    if (length >= this.pageSize) {
      if (this.incompressible === 'reject') {
        this.rejectCompressPoor++;
        return this.writeRejected(slot, page);
      }
      if (!this.writeback) {
        // 6.18 keeps incompressible pages only when they can be written back later.
        this.rejectCompressFail++;
        return false;
      }
      length = this.pageSize;
      source = page;
      this.storedIncompressible++;
    }
    const handle = this.pool.malloc(length);
    this.pool.write(handle, source);
    if (source === page) this.cost.charge(CostOp.pageCopy, this.pageSize);
    this.entry[slot] = handle;
    this.length[slot] = length;
    this.referenced[slot] = 1;
    this.lruAddTail(slot);
    this.storedPages++;
    this.zswpout++;
    return true;
  }

  protected readPage(slot: number, into: Uint8Array): void {
    const handle = this.entry[slot]!;
    if (handle === NOT_STORED) {
      this.disk.read(slot, into);
      return;
    }
    this.zswpin++;
    this.decode(slot, handle, into);
  }

  /** zswap_invalidate: the slot's last reference went away. */
  protected discardPage(slot: number): void {
    if (this.entry[slot] !== NOT_STORED) this.freeEntry(slot);
  }

  protected growSlots(length: number): void {
    this.entry = growInt32(this.entry, length, NOT_STORED);
    this.length = growInt32(this.length, length);
    this.elementLo = growUint32(this.elementLo, length);
    this.elementHi = growUint32(this.elementHi, length);
    this.referenced = growUint8(this.referenced, length);
    this.lruPrev = growInt32(this.lruPrev, length);
    this.lruNext = growInt32(this.lruNext, length);
  }

  /** A refused store: the swap layer writes the page to the disk, unless writeback is disabled. */
  private writeRejected(slot: number, page: Uint8Array): boolean {
    if (!this.writeback) return false;
    this.disk.write(slot, page);
    return true;
  }

  private decode(slot: number, handle: number, into: Uint8Array): void {
    if (handle === SAME_FILLED) {
      fillPage(into, this.elementLo[slot]!, this.elementHi[slot]!);
      return;
    }
    const length = this.length[slot]!;
    const object = this.pool.view(handle, length);
    if (length === this.pageSize) {
      into.set(object);
      this.cost.charge(CostOp.pageCopy, this.pageSize);
    } else {
      this.codec.decompress(object, into);
      this.cost.charge(CostOp.decompress, this.pageSize);
    }
  }

  /** zswap_writeback_entry: decompress into a page, free the entry, write the page to the disk. */
  private writebackEntry(slot: number): void {
    this.decode(slot, this.entry[slot]!, this.bounce);
    this.freeEntry(slot);
    this.disk.write(slot, this.bounce);
    this.writtenBackPages++;
  }

  private freeEntry(slot: number): void {
    const handle = this.entry[slot]!;
    this.entry[slot] = NOT_STORED;
    this.storedPages--;
    if (handle === SAME_FILLED) {
      this.sameFilledPages--;
      return;
    }
    if (this.length[slot] === this.pageSize) this.storedIncompressible--;
    this.lruRemove(slot);
    this.pool.free(handle);
  }

  private lruAddTail(slot: number): void {
    this.lruPrev[slot] = this.lruTail;
    this.lruNext[slot] = -1;
    if (this.lruTail >= 0) this.lruNext[this.lruTail] = slot;
    else this.lruHead = slot;
    this.lruTail = slot;
  }

  private lruRemove(slot: number): void {
    const prev = this.lruPrev[slot]!;
    const next = this.lruNext[slot]!;
    if (prev >= 0) this.lruNext[prev] = next;
    else this.lruHead = next;
    if (next >= 0) this.lruPrev[next] = prev;
    else this.lruTail = prev;
  }
}

function percent(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 100)
    throw new RangeError(`${name} must be an integer 0..100, not ${value}`);
  return value;
}
