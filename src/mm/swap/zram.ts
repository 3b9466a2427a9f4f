/**
 * `zram`: a compressed RAM block device used as swap
 * (drivers/block/zram/zram_drv.c, Documentation/admin-guide/blockdev/zram.rst).
 *
 * Write path (zram_write_page):
 * 1. page_same_filled(): a page repeating one 8-byte word is stored as the
 *    word (ZRAM_SAME), same_pages++, no allocation.
 * 2. Else compress with the codec. comp_len >= huge_class_size (3625 for
 *    4 KiB pages and chain size 8, derived by zsmalloc.ts for any page and
 *    chain size) makes comp_len = PAGE_SIZE: the page is stored whole
 *    (ZRAM_HUGE), huge_pages++ and huge_pages_since++.
 * 3. zs_malloc(comp_len); mem_used_max follows zs_get_total_pages(); over
 *    mem_limit the object is freed and the write fails (failed_writes++,
 *    the swap layer keeps the page).
 * Every stored page counts in pages_stored, same-filled ones included.
 *
 * compr_data_size is the sum of comp_len over stored objects: the codec's
 * compressed length for compressed pages, PAGE_SIZE for huge pages, 0 for
 * same-filled ones (zram adds comp_len on write and subtracts the slot's
 * obj_size in zram_free_page). The handle header is not in it; it is in
 * mem_used_total, which is zsmalloc's page count.
 *
 * Not modelled: writeback to a backing device, recompression, idle
 * tracking, compaction (pages_compacted stays 0), partial I/O.
 */
import { InternalError } from '../../errors.js';
import { CostOp } from '../cost.js';
import { fillPage } from './same-filled.js';
import { SwapLayer, type SwapLayerOptions, type SwapLayerStats } from './swap-layer.js';
import { growInt32, growUint32, growUint8 } from './swap-map.js';
import { compressBound, type PageCodec } from '../../codec/index.js';
import { ZS_NO_HANDLE, ZsPool } from './zsmalloc.js';

export interface ZramOptions extends SwapLayerOptions {
  codec: PageCodec;
  /** CONFIG_ZSMALLOC_CHAIN_SIZE, 4..16 in Kconfig. Default 8. */
  chainSize?: number;
  /** mem_limit in bytes (rounded up to pages as zram does); 0 = none. Default 0. */
  memLimitBytes?: number;
}

/** zram's mm_stat, field for field (/sys/block/zramN/mm_stat). */
export type ZramMmStat = {
  orig_data_size: number;
  compr_data_size: number;
  mem_used_total: number;
  mem_limit: number;
  mem_used_max: number;
  same_pages: number;
  pages_compacted: number;
  huge_pages: number;
  huge_pages_since: number;
};

export type ZramStats = ZramMmStat &
  SwapLayerStats & {
    num_reads: number;
    num_writes: number;
    failed_reads: number;
    failed_writes: number;
    notify_free: number;
    pages_stored: number;
  };

const ZRAM_SAME = 1;
const ZRAM_HUGE = 2;

export class ZramSwap extends SwapLayer {
  readonly name = 'zram';
  readonly codec: PageCodec;
  readonly pool: ZsPool;
  readonly limitPages: number;

  // Per slot (the zram table).
  private handle: Int32Array;
  private objSize: Int32Array;
  private flags: Uint8Array;
  private elementLo: Uint32Array;
  private elementHi: Uint32Array;

  private pagesStored = 0;
  private comprDataSize = 0;
  private samePages = 0;
  private hugePages = 0;
  private hugePagesSince = 0;
  private maxUsedPages = 0;
  private numReads = 0;
  private numWrites = 0;
  private failedWrites = 0;
  private notifyFree = 0;

  private readonly compressed: Uint8Array;

  constructor(options: ZramOptions) {
    super(options);
    this.codec = options.codec;
    this.pool = new ZsPool(this.pageSize, options.chainSize ?? 8);
    const limit = options.memLimitBytes ?? 0;
    this.limitPages = Math.ceil(limit / this.pageSize);
    this.compressed = new Uint8Array(compressBound(this.pageSize));
    const n = this.map.length;
    this.handle = new Int32Array(n).fill(ZS_NO_HANDLE);
    this.objSize = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.elementLo = new Uint32Array(n);
    this.elementHi = new Uint32Array(n);
  }

  /** zs_huge_class_size() of this device's pool. */
  get hugeClassSize(): number {
    return this.pool.hugeClassSize;
  }

  ramPages(): number {
    return this.pool.totalPages;
  }

  mmStat(): ZramMmStat {
    return {
      orig_data_size: this.pagesStored * this.pageSize,
      compr_data_size: this.comprDataSize,
      mem_used_total: this.pool.totalPages * this.pageSize,
      mem_limit: this.limitPages * this.pageSize,
      mem_used_max: this.maxUsedPages * this.pageSize,
      same_pages: this.samePages,
      pages_compacted: 0,
      huge_pages: this.hugePages,
      huge_pages_since: this.hugePagesSince,
    };
  }

  /** mm_stat as the kernel prints it: nine fields, each %8 wide, one space apart. */
  mmStatLine(): string {
    const s = this.mmStat();
    return `${[
      s.orig_data_size,
      s.compr_data_size,
      s.mem_used_total,
      s.mem_limit,
      s.mem_used_max,
      s.same_pages,
      s.pages_compacted,
      s.huge_pages,
      s.huge_pages_since,
    ]
      .map((v) => String(v).padStart(8))
      .join(' ')}\n`;
  }

  /** io_stat as 6.x kernels print it: failed_reads failed_writes, a literal 0 (invalid_io), notify_free. */
  ioStatLine(): string {
    return `${pad8(0)} ${pad8(this.failedWrites)} 0 ${pad8(this.notifyFree)}\n`;
  }

  /**
   * /sys/block/zramN/stat (Documentation/block/stat.rst, 17 fields): read
   * I/Os, merges, sectors, ticks; the same for writes; in_flight, io_ticks,
   * time_in_queue; discards; flushes. Each page is one I/O of
   * PAGE_SIZE / 512 sectors; times are 0 (the model has no clock here), and
   * swap frees reach zram as slot_free_notify, not as discards.
   */
  blockStatLine(): string {
    const sectors = this.pageSize / 512;
    const fields = [
      this.numReads,
      0,
      this.numReads * sectors,
      0,
      this.numWrites,
      0,
      this.numWrites * sectors,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ];
    return `${fields.map(pad8).join(' ')}\n`;
  }

  stats(): ZramStats {
    return {
      ...this.mmStat(),
      num_reads: this.numReads,
      num_writes: this.numWrites,
      failed_reads: 0,
      failed_writes: this.failedWrites,
      notify_free: this.notifyFree,
      pages_stored: this.pagesStored,
      ...this.layerStats(),
    };
  }

  protected writePage(slot: number, page: Uint8Array): boolean {
    this.numWrites++;
    const same = this.scanner.check(page);
    this.cost.charge(CostOp.sameFilledCheck, this.scanner.scannedBytes);
    if (same) {
      this.flags[slot] = ZRAM_SAME;
      this.elementLo[slot] = this.scanner.lo;
      this.elementHi[slot] = this.scanner.hi;
      this.samePages++;
      this.pagesStored++;
      return true;
    }
    let compLen = this.codec.compress(page, this.compressed);
    this.cost.charge(CostOp.compress, this.pageSize);
    const huge = compLen >= this.pool.hugeClassSize;
    if (huge) compLen = this.pageSize;
    const handle = this.pool.malloc(compLen);
    if (handle === ZS_NO_HANDLE) throw new InternalError(`zs_malloc refused ${compLen} bytes`);
    const allocated = this.pool.totalPages;
    if (allocated > this.maxUsedPages) this.maxUsedPages = allocated;
    if (this.limitPages > 0 && allocated > this.limitPages) {
      this.pool.free(handle);
      this.failedWrites++;
      return false;
    }
    if (huge) {
      this.pool.write(handle, page);
      this.cost.charge(CostOp.pageCopy, this.pageSize);
      this.flags[slot] = ZRAM_HUGE;
      this.hugePages++;
      this.hugePagesSince++;
    } else {
      this.pool.write(handle, this.compressed.subarray(0, compLen));
      this.flags[slot] = 0;
    }
    this.handle[slot] = handle;
    this.objSize[slot] = compLen;
    this.comprDataSize += compLen;
    this.pagesStored++;
    return true;
  }

  protected readPage(slot: number, into: Uint8Array): void {
    this.numReads++;
    const flags = this.flags[slot]!;
    if (flags === ZRAM_SAME) {
      fillPage(into, this.elementLo[slot]!, this.elementHi[slot]!);
      return;
    }
    const object = this.pool.view(this.handle[slot]!, this.objSize[slot]!);
    if (flags === ZRAM_HUGE) {
      into.set(object);
      this.cost.charge(CostOp.pageCopy, this.pageSize);
    } else {
      this.codec.decompress(object, into);
      this.cost.charge(CostOp.decompress, this.pageSize);
    }
  }

  /** zram_free_page, reached through swap_slot_free_notify (notify_free++). */
  protected discardPage(slot: number): void {
    this.notifyFree++;
    const flags = this.flags[slot]!;
    this.flags[slot] = 0;
    this.pagesStored--;
    if (flags === ZRAM_SAME) {
      this.samePages--;
      return;
    }
    if (flags === ZRAM_HUGE) this.hugePages--;
    this.pool.free(this.handle[slot]!);
    this.handle[slot] = ZS_NO_HANDLE;
    this.comprDataSize -= this.objSize[slot]!;
    this.objSize[slot] = 0;
  }

  protected growSlots(length: number): void {
    this.handle = growInt32(this.handle, length, ZS_NO_HANDLE);
    this.objSize = growInt32(this.objSize, length);
    this.flags = growUint8(this.flags, length);
    this.elementLo = growUint32(this.elementLo, length);
    this.elementHi = growUint32(this.elementHi, length);
  }
}

function pad8(v: number): string {
  return String(v).padStart(8);
}
