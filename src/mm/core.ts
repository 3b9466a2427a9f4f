/**
 * The machine's physical side: frames, page caches, page tables, page
 * contents and the counters, with the primitive operations the fault path,
 * fork and munmap are built from (allocate a frame, map or zap a PTE, find
 * or read a page-cache page, copy a page).
 *
 * Reference counting follows Linux: a PTE of a normal frame holds one
 * reference and one mapcount, a page cache holds one reference, a caller
 * that must keep a frame alive across an allocation pins it (get/put). The
 * zero page is never counted in refcount; its mapcount counts its PTEs.
 *
 * The memory policies plug in here: `frameLimit` with `reclaimHook` (called
 * at the single allocation point; memory in use is frames plus the pages a
 * RAM-backed swap back end holds, `swapRamPages`), `swap` (swap PTEs: dup on
 * fork, free on zap, swapIn on fault, count for SwapPss), the LRU lists,
 * FRAME_SWAPCACHE/FRAME_KSM, `frameReleaseHook` (KSM and the merge-on-restore
 * index forget a freed frame), `ksmZeroHook` (a KSM zero-page PTE is
 * unmapped), and `cost`, the ledger every fault is charged to.
 */
import { dissolveFolio } from './folio.js';
import { InternalError, SimulationError } from '../errors.js';
import { AddressSpace, contentKey } from './page-cache.js';
import type { FileBacking } from '../abi/file-backing.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_FILE, FRAME_SHMEM, FrameTable, ZERO_FRAME } from './frames.js';
import { LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LruLists } from './lru.js';
import { PageContents } from './page-content.js';
import { PageSlab } from './page-data.js';
import { CostAccumulator, CostOp } from './cost.js';
import { PTRS_PER_PTE, PageTablePool } from './page-table.js';
import type { Process } from './process.js';
import { PTE_DIRTY, mkPte, pteFrame, pteSwapSlot } from './pte.js';

export type PageCacheMode = 'content' | 'file';

/** Where a swap back end plugs in. */
export interface SwapHooks {
  /** fork copied a swap PTE (swap_duplicate). */
  dup(slot: number): void;
  /** A swap PTE was zapped (swap_free). */
  free(slot: number): void;
  /**
   * A fault hit a swap PTE: return a frame holding the page, pinned once
   * for the caller (do_swap_page). Sets core.lastFaultMajor (false when the
   * page was found in memory, e.g. in the swap cache).
   */
  swapIn(slot: number, write: boolean): number;
  /** Swap PTEs referring to the slot (for SwapPss). */
  count(slot: number): number;
}

export interface FaultCounters {
  /** Page-cache hits (file or shmem pages found in a cache), and swap-cache hits. */
  minor: number;
  /** Faults that read a page: from a FileBacking, or from swap (pgmajfault). */
  major: number;
  /** The part of `major` that read a page from swap (do_swap_page with I/O, or the zeromap). */
  swapIn: number;
  /** Anonymous faults served by the zero page or a new zeroed frame (and new shmem pages). */
  zeroFill: number;
  /** Write faults that copied a page (COW break). */
  cow: number;
  /** Write faults on an exclusive anonymous page that made it writable without a copy (wp_page_reuse). */
  reuse: number;
  /** The part of `cow` that copied a KSM page (vmstat cow_ksm). */
  cowKsm: number;
}

const DEFAULT_CONTENT_SPACE = Symbol('default content space');

export class MmCore {
  readonly pageSize: number;
  readonly cacheMode: PageCacheMode;
  readonly keepPageCache: boolean;
  readonly verifyContent: boolean;
  /** Frames the workload may use before reclaim must run; at most frames.total. */
  frameLimit: number;
  /** Called when an allocation finds frameLimit reached; returns frames freed. */
  reclaimHook: ((core: MmCore, wanted: number) => number) | null = null;
  /** The swap back end. While null, no swap PTE can exist. */
  swap: SwapHooks | null = null;
  /** Pages of RAM a swap back end holds (zram's or zswap's zsmalloc pool); they count against frameLimit. */
  swapRamPages = 0;
  /** Called with a frame's number and flags just before it is freed. */
  frameReleaseHook: ((frame: number, flags: number) => void) | null = null;
  /** Called when a KSM zero-page PTE (the zero page with PTE_DIRTY) at `slot` appears (+1) or goes (-1). */
  ksmZeroHook: ((slot: number, delta: number) => void) | null = null;
  /** The ledger faults, swap and KSM are charged to (cost.ts). */
  readonly cost: CostAccumulator;
  /** Live processes by pid (the Machine's), for rmap walks that need a PTE's VMA. */
  procs: ReadonlyMap<number, Process> = new Map();

  readonly frames: FrameTable;
  readonly lru: LruLists;
  readonly slab: PageSlab;
  /** Reading, writing and copying page bytes. */
  readonly contents: PageContents;
  readonly pt = new PageTablePool();
  /** Address spaces by id; id 0 is the content-shared cache. */
  readonly spaces: (AddressSpace | undefined)[] = [];
  readonly content: AddressSpace;
  readonly counters: FaultCounters = { minor: 0, major: 0, swapIn: 0, zeroFill: 0, cow: 0, reuse: 0, cowKsm: 0 };
  bytesRead = 0;
  /** Whether the last filePage() call read from the backing (a major fault). */
  lastFaultMajor = false;
  /** fault_around_bytes / PAGE_SIZE: pages a read fault on a file or shmem page may map around it (1 = off). */
  readonly faultAround: number;
  /**
   * Whether the first read fault in a page-table page with no entries always
   * faults around (kernels before 6.18). Default false: as 6.18, only when
   * the first cached folio in the window ends before the file's last page.
   */
  faultAroundFreshTable = false;
  /** ra_pages (read_ahead_kb / 4): the readahead window of read() and of mmap read-around (only with keepPageCache). */
  readonly readAround: number;
  /** bdi->io_pages (max_sectors_kb / 4): how far a read() larger than ra_pages may read ahead. */
  raIoPages = 1024;
  /** Allocations refused with E_OOM. */
  oomEvents = 0;
  /** Highest memory in use seen (frames + swapRamPages), updated on allocation and by the swap layer. */
  peakUsed = 0;
  nrAnon = 0;
  nrFile = 0;
  nrShmem = 0;
  nextAnonVmaId = 1;

  private readonly fileSpaces = new Map<FileBacking, AddressSpace>();
  private readonly namespaces = new Map<unknown, number>();

  constructor(opts: {
    frames: number;
    pageSize: number;
    pageCache: PageCacheMode;
    keepPageCache: boolean;
    verifyContent: boolean;
    frameLimit: number;
    faultAround: number;
    readAround: number;
    cost?: CostAccumulator;
  }) {
    this.cost = opts.cost ?? new CostAccumulator();
    this.pageSize = opts.pageSize;
    this.faultAround = opts.faultAround;
    this.readAround = opts.readAround;
    this.cacheMode = opts.pageCache;
    this.keepPageCache = opts.keepPageCache;
    this.verifyContent = opts.verifyContent;
    this.frameLimit = opts.frameLimit;
    this.frames = new FrameTable(opts.frames);
    this.lru = new LruLists(this.frames);
    this.slab = new PageSlab(opts.pageSize);
    this.content = new AddressSpace(0, 'content');
    this.spaces.push(this.content);
    this.contents = new PageContents(this.frames, this.slab, this.spaces, opts.pageSize);
  }

  // ---- address spaces -------------------------------------------------------

  fileSpace(backing: FileBacking): AddressSpace {
    let space = this.fileSpaces.get(backing);
    if (space === undefined) {
      if (backing.pageSize !== this.pageSize) {
        throw new SimulationError(
          'E_INVAL',
          `${backing.path}: backing page size ${backing.pageSize} differs from the machine's ${this.pageSize}`,
          {
            file: backing.path,
            field: 'pageSize',
            expected: this.pageSize,
            actual: backing.pageSize,
          },
        );
      }
      space = new AddressSpace(this.spaces.length, 'file', backing);
      this.spaces.push(space);
      this.fileSpaces.set(backing, space);
    }
    return space;
  }

  newShmemSpace(): AddressSpace {
    const space = new AddressSpace(this.spaces.length, 'shmem');
    this.spaces.push(space);
    return space;
  }

  /** Drops a VMA's reference on `space`; a shmem space frees its pages at 0. */
  releaseSpace(space: AddressSpace): void {
    space.vmaRefs--;
    if (space.kind !== 'shmem' || space.vmaRefs > 0) return;
    for (const frame of [...space.pages.values()]) this.cacheDelete(frame);
    this.spaces[space.id] = undefined;
  }

  // ---- frames ---------------------------------------------------------------

  /** Allocates a frame of kind FRAME_ANON, FRAME_FILE or FRAME_SHMEM (plus extra flags), with refcount 0. */
  allocFrame(flags: number): number {
    const f = this.frames;
    if (f.used + this.swapRamPages >= this.frameLimit && this.reclaimHook !== null) this.reclaimHook(this, 1);
    const frame = f.used + this.swapRamPages >= this.frameLimit ? -1 : f.alloc(flags);
    if (frame === -1) {
      this.oomEvents++;
      throw new SimulationError(
        'E_OOM',
        `out of memory: ${f.used} frames and ${this.swapRamPages} swap pages in use, limit ${this.frameLimit}`,
        {
          used: f.used,
          swapRamPages: this.swapRamPages,
          frameLimit: this.frameLimit,
          frames: f.total,
        },
      );
    }
    if (f.used + this.swapRamPages > this.peakUsed) this.peakUsed = f.used + this.swapRamPages;
    if (flags & FRAME_ANON) this.nrAnon++;
    else if (flags & FRAME_FILE) this.nrFile++;
    else if (flags & FRAME_SHMEM) this.nrShmem++;
    this.lru.addHead(frame, flags & FRAME_FILE ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON);
    return frame;
  }

  /** Takes a reference (a pin) on `frame`. */
  get(frame: number): void {
    this.frames.refcount[frame]!++;
  }

  /** Drops a reference; the frame is freed when none is left. */
  put(frame: number): void {
    const f = this.frames;
    const ref = --f.refcount[frame]!;
    if (ref > 0) return;
    if (ref < 0 || frame === ZERO_FRAME) throw new InternalError('frame refcount underflow', { frame, refcount: ref });
    const flags = f.flags[frame]!;
    if (this.frameReleaseHook !== null) this.frameReleaseHook(frame, flags);
    if (flags & FRAME_ANON) this.nrAnon--;
    else if (flags & FRAME_FILE) this.nrFile--;
    else if (flags & FRAME_SHMEM) this.nrShmem--;
    this.lru.remove(frame);
    const slot = f.dataSlot[frame]!;
    if (slot >= 0) this.slab.free(slot);
    f.release(frame);
  }

  // ---- page caches ----------------------------------------------------------

  cacheInsert(space: AddressSpace, index: number, frame: number): void {
    space.pages.set(index, frame);
    this.frames.mappingId[frame] = space.id;
    this.frames.mappingIndex[frame] = index;
    this.get(frame);
  }

  /** Removes `frame` from its page cache (delete_from_page_cache) and drops the cache's reference. */
  cacheDelete(frame: number): void {
    const f = this.frames;
    const space = this.spaces[f.mappingId[frame]!];
    if (space === undefined) throw new InternalError('frame not in a page cache', { frame });
    space.pages.delete(f.mappingIndex[frame]!);
    if (space.folioPages.size !== 0) dissolveFolio(space, f.mappingIndex[frame]!);
    f.mappingId[frame] = -1;
    f.mappingIndex[frame] = 0;
    this.put(frame);
  }

  /** The shmem page `index` of `space`, allocated zeroed if new. */
  shmemPage(space: AddressSpace, index: number): number {
    let frame = space.pages.get(index);
    if (frame !== undefined) {
      this.counters.minor++;
      this.cost.charge(CostOp.faultMinor, 0);
      return frame;
    }
    frame = this.allocFrame(FRAME_SHMEM);
    this.cacheInsert(space, index, frame);
    this.counters.zeroFill++;
    this.cost.charge(CostOp.faultZeroFill, 0);
    return frame;
  }

  /** After a frame lost a mapping: without keepPageCache, a clean file page nobody maps leaves the cache. */
  maybeDropCached(frame: number): void {
    const f = this.frames;
    if (this.keepPageCache || f.mapcount[frame] !== 0 || f.mappingId[frame] === -1) return;
    if ((f.flags[frame]! & (FRAME_FILE | FRAME_DIRTY)) !== FRAME_FILE) return;
    this.cacheDelete(frame);
  }

  /** Frees every clean page-cache page that no PTE maps (echo 1 > /proc/sys/vm/drop_caches). Returns frames freed. */
  dropCaches(): number {
    let freed = 0;
    for (const space of this.spaces) {
      if (space === undefined || space.kind === 'shmem') continue;
      for (const frame of [...space.pages.values()]) {
        const f = this.frames;
        if (f.mapcount[frame] === 0 && (f.flags[frame]! & FRAME_DIRTY) === 0 && f.refcount[frame] === 1) {
          this.cacheDelete(frame);
          freed++;
        }
      }
    }
    return freed;
  }

  // ---- PTEs -----------------------------------------------------------------

  /** Makes none-PTE `slot` map `frame`. */
  mapPte(slot: number, frame: number, bits: number): void {
    const pt = this.pt;
    pt.pte[slot] = mkPte(frame, bits);
    pt.usedEntries[(slot / PTRS_PER_PTE) | 0]!++;
    this.addMapping(slot, frame);
  }

  /** Points present PTE `slot` at `frame` instead of its current frame (COW break). */
  replacePte(slot: number, frame: number, bits: number): void {
    const pt = this.pt;
    const pte = pt.pte[slot]!;
    const old = pteFrame(pte);
    if (old === ZERO_FRAME && (pte & PTE_DIRTY) !== 0 && this.ksmZeroHook !== null) this.ksmZeroHook(slot, -1);
    pt.pte[slot] = mkPte(frame, bits);
    this.dropMapping(slot, old);
    this.addMapping(slot, frame);
  }

  /** Clears `slot` (zap_pte_range). The caller frees an emptied PT page. */
  zapPte(slot: number): void {
    const pt = this.pt;
    const pte = pt.pte[slot]!;
    if (pte === 0) return;
    pt.pte[slot] = 0;
    pt.usedEntries[(slot / PTRS_PER_PTE) | 0]!--;
    if (pte < 0) {
      this.swapHooks().free(pteSwapSlot(pte));
      return;
    }
    const frame = pteFrame(pte);
    if (frame === ZERO_FRAME && (pte & PTE_DIRTY) !== 0 && this.ksmZeroHook !== null) this.ksmZeroHook(slot, -1);
    this.dropMapping(slot, frame);
  }

  /** Accounts one more PTE of `frame` at `slot`. */
  addMapping(slot: number, frame: number): void {
    const f = this.frames;
    f.mapcount[frame]!++;
    if (frame === ZERO_FRAME) return;
    f.refcount[frame]!++;
    this.pt.rmapLink(f, frame, slot);
  }

  private dropMapping(slot: number, frame: number): void {
    const f = this.frames;
    f.mapcount[frame]!--;
    if (frame === ZERO_FRAME) return;
    this.pt.rmapUnlink(f, frame, slot);
    this.put(frame);
    if (f.refcount[frame]! > 0) this.maybeDropCached(frame);
  }

  swapHooks(): SwapHooks {
    if (this.swap === null) throw new InternalError('swap PTE found but no swap back end is configured');
    return this.swap;
  }

  /**
   * The page cache that page `index` of file `space` lives in: the
   * content-shared cache for private mappings in content mode, the file's
   * own cache otherwise.
   */
  cacheOf(space: AddressSpace, viaPrivate: boolean): AddressSpace {
    return viaPrivate && this.cacheMode === 'content' ? this.content : space;
  }

  /** The key of page `index` of file `space` in cacheOf(space, viaPrivate). */
  cacheKey(space: AddressSpace, index: number, viaPrivate: boolean): number {
    if (!viaPrivate || this.cacheMode !== 'content') return index;
    if (space.contentNamespace < 0) space.contentNamespace = this.namespaceOf(space.backing!);
    return contentKey(space.contentNamespace, space.backing!.contentId(index));
  }

  private namespaceOf(backing: FileBacking): number {
    const key = backing.contentSpace ?? DEFAULT_CONTENT_SPACE;
    let ns = this.namespaces.get(key);
    if (ns === undefined) {
      ns = this.namespaces.size;
      this.namespaces.set(key, ns);
    }
    return ns;
  }
}
