/**
 * Physical frames: the page-frame database (Linux's struct page / folio
 * array), as parallel typed arrays indexed by frame number. No object per
 * frame.
 *
 * Frame 0 is the shared zero page (ZERO_PAGE): always in use, never freed,
 * never on an LRU list; its mapcount counts the PTEs that map it. Frames
 * 1..total are the pool. The arrays grow on demand (doubling) up to
 * total + 1, so a large pool costs memory only for the frames used.
 *
 * Per frame:
 * - flags      FRAME_* bits below (PG_* in Linux)
 * - mapcount   present PTEs that map the frame (page_mapcount)
 * - refcount   mapcount + 1 if in a page cache + 1 if in the swap cache
 *              + pins (folio_ref_count); the frame is freed when it drops to 0
 * - rmapHead   first PTE slot of the reverse-map list (page-table.ts), -1 none
 * - dataSlot   slot in the PageSlab holding the bytes, -1 if not materialised
 * - srcSpace / srcIndex   where the bytes can be re-read when dataSlot is -1:
 *              address space id of a file and page index; srcSpace -1 means
 *              all zero. A file page costs no bytes until it is written.
 * - mappingId / mappingIndex   the page cache this frame is in (address
 *              space id, page index or content key), -1 if none
 * - swapSlot   swap slot while in the swap cache, -1 otherwise
 * - lruPrev / lruNext / lruList   LRU list links (lru.ts)
 *
 * Invariants (invariants.ts checks them): a frame is in use iff FRAME_USED
 * is set; refcount = mapcount + cache + swap cache + pins; no frame in use
 * has refcount 0.
 */

/** Allocated. */
export const FRAME_USED = 1 << 0;
/** Anonymous page (PageAnon): zero-fill, COW copies of file pages, KSM pages. */
export const FRAME_ANON = 1 << 1;
/** Page-cache page of a file (content-shared or per-file cache). */
export const FRAME_FILE = 1 << 2;
/** Page of a shared anonymous mapping (shmem): swap-backed, not Anonymous. */
export const FRAME_SHMEM = 1 << 3;
/** The shared zero page (frame 0 only). */
export const FRAME_ZERO = 1 << 4;
/** PG_dirty. Anonymous frames are dirty until a swap-in from a swap slot gives a clean copy. */
export const FRAME_DIRTY = 1 << 5;
/** PG_referenced (mark_page_accessed); PTE young bits are separate. */
export const FRAME_REFERENCED = 1 << 6;
/** PG_active: on an active LRU list. */
export const FRAME_ACTIVE = 1 << 7;
/** PG_lru: on an LRU list. */
export const FRAME_LRU = 1 << 8;
/** PG_swapcache: has a swap slot and sits in the swap cache. */
export const FRAME_SWAPCACHE = 1 << 9;
/** KSM page (stable tree), write-protected; a write always copies. */
export const FRAME_KSM = 1 << 10;

export const ZERO_FRAME = 0;

function grownInt32(a: Int32Array, n: number, fill: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

export class FrameTable {
  /** Pool size: frames 1..total can be allocated. */
  readonly total: number;
  flags: Uint16Array;
  mapcount: Int32Array;
  refcount: Int32Array;
  rmapHead: Int32Array;
  dataSlot: Int32Array;
  srcSpace: Int32Array;
  srcIndex: Int32Array;
  mappingId: Int32Array;
  mappingIndex: Float64Array;
  swapSlot: Int32Array;
  lruPrev: Int32Array;
  lruNext: Int32Array;
  lruList: Int8Array;

  /** Frames in use, not counting the zero page. */
  used = 0;
  /** Frames never handed out yet start at this number. */
  private nextFresh = 1;
  private freeStack: Int32Array;
  private freeTop = 0;

  constructor(total: number, initialCapacity = 1024) {
    this.total = total;
    const n = Math.min(total + 1, Math.max(2, initialCapacity));
    this.flags = new Uint16Array(n);
    this.mapcount = new Int32Array(n);
    this.refcount = new Int32Array(n);
    this.rmapHead = new Int32Array(n).fill(-1);
    this.dataSlot = new Int32Array(n).fill(-1);
    this.srcSpace = new Int32Array(n).fill(-1);
    this.srcIndex = new Int32Array(n);
    this.mappingId = new Int32Array(n).fill(-1);
    this.mappingIndex = new Float64Array(n);
    this.swapSlot = new Int32Array(n).fill(-1);
    this.lruPrev = new Int32Array(n).fill(-1);
    this.lruNext = new Int32Array(n).fill(-1);
    this.lruList = new Int8Array(n).fill(-1);
    this.freeStack = new Int32Array(64);
    this.flags[0] = FRAME_USED | FRAME_ZERO;
    this.refcount[0] = 1;
  }

  /** Length of the per-frame arrays (frames 0..capacity-1 exist). */
  get capacity(): number {
    return this.flags.length;
  }

  /** Frames currently allocated or ever allocated range over 1..highWater-1. */
  get highWater(): number {
    return this.nextFresh;
  }

  /** A free frame number with all fields reset, or -1 when the pool is exhausted. */
  alloc(flags: number): number {
    let frame: number;
    if (this.freeTop > 0) {
      frame = this.freeStack[--this.freeTop]!;
    } else if (this.nextFresh <= this.total) {
      frame = this.nextFresh++;
      if (frame >= this.flags.length) this.grow(frame + 1);
    } else {
      return -1;
    }
    this.flags[frame] = FRAME_USED | flags;
    this.used++;
    return frame;
  }

  /** Returns a frame to the pool. The caller has unlinked it from every list and slab. */
  release(frame: number): void {
    this.flags[frame] = 0;
    this.mapcount[frame] = 0;
    this.refcount[frame] = 0;
    this.rmapHead[frame] = -1;
    this.dataSlot[frame] = -1;
    this.srcSpace[frame] = -1;
    this.srcIndex[frame] = 0;
    this.mappingId[frame] = -1;
    this.mappingIndex[frame] = 0;
    this.swapSlot[frame] = -1;
    this.lruPrev[frame] = -1;
    this.lruNext[frame] = -1;
    this.lruList[frame] = -1;
    if (this.freeTop === this.freeStack.length) {
      const bigger = new Int32Array(this.freeStack.length * 2);
      bigger.set(this.freeStack);
      this.freeStack = bigger;
    }
    this.freeStack[this.freeTop++] = frame;
    this.used--;
  }

  /** Bytes held by the per-frame arrays (for the bench's heap figures). */
  get metadataBytes(): number {
    return this.capacity * 51 + this.freeStack.byteLength;
  }

  private grow(min: number): void {
    const n = Math.min(this.total + 1, Math.max(min, this.flags.length * 2));
    const flags = new Uint16Array(n);
    flags.set(this.flags);
    this.flags = flags;
    this.mapcount = grownInt32(this.mapcount, n, 0);
    this.refcount = grownInt32(this.refcount, n, 0);
    this.rmapHead = grownInt32(this.rmapHead, n, -1);
    this.dataSlot = grownInt32(this.dataSlot, n, -1);
    this.srcSpace = grownInt32(this.srcSpace, n, -1);
    this.srcIndex = grownInt32(this.srcIndex, n, 0);
    this.mappingId = grownInt32(this.mappingId, n, -1);
    const mi = new Float64Array(n);
    mi.set(this.mappingIndex);
    this.mappingIndex = mi;
    this.swapSlot = grownInt32(this.swapSlot, n, -1);
    this.lruPrev = grownInt32(this.lruPrev, n, -1);
    this.lruNext = grownInt32(this.lruNext, n, -1);
    const ll = new Int8Array(n).fill(-1);
    ll.set(this.lruList);
    this.lruList = ll;
  }
}
