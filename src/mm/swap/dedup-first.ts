/**
 * `dedup-first`: the linux-mm-cc thread's proposal that "page reduction should be the
 * first operation in the swap system". A wrapper in front of any back end:
 * a page going to swap whose content is already stored is not stored
 * again; its swap entry points at the stored copy, which is refcounted.
 * Only the first copy of a content is compressed (or written).
 *
 * Matching: a 64-bit content hash (XXH64 from src/scan/hash.ts, injected
 * so tests can force collisions) finds candidates; every candidate is read
 * back from the back end (a decompress or a disk read, charged as such) and
 * compared byte for byte. A hash is never trusted alone.
 *
 * Same-filled pages skip the index by default (`passSameFilled`): the back
 * ends already keep them as one word (zram, the zeromap) at less cost than a
 * hash, so deduplicating them would only move savings from one counter to
 * another. Set it to false to deduplicate them too.
 *
 * Index layout: open addressing with linear probing over typed arrays (hash
 * low word, high word, inner slot + 1; 0 is empty), grown at half load, with
 * backward-shift deletion when a content's last reference goes. Contents
 * with equal hashes and different bytes occupy further cells.
 *
 * Stats (added to the back end's): dedup_hits (stores that found their
 * content), dedup_saved_bytes ((swap entries - unique pages) * PAGE_SIZE
 * now, for indexed pages), dedup_unique_pages, dedup_entries,
 * dedup_hash_collisions, dedup_compare_reads.
 */
import { InternalError } from '../../errors.js';
import { CostOp, type CostAccumulator } from '../cost.js';
import type { PageHash64 } from '../../scan/hash.js';
import { SameFilledScanner, equalPages } from './same-filled.js';
import { SwapMap, growInt32 } from './swap-map.js';
import { NO_SLOT, type SwapBackend, type SwapBackendName, type SwapStats } from './types.js';

export interface DedupFirstOptions {
  /** The content hash (loadPageHasher() from src/scan/hash.ts). */
  hash: PageHash64;
  /** Send same-filled pages straight to the back end. Default true. */
  passSameFilled?: boolean;
  /** Swap device size in pages for the wrapper's own entries. Default Infinity. */
  capacityPages?: number;
}

/** Inner slots not in the index (same-filled pages passed through). */
const UNINDEXED = 0;
const INDEXED = 1;

export class DedupFirstSwap implements SwapBackend {
  readonly name: SwapBackendName;
  readonly policy = 'dedup-first';
  readonly pageSize: number;
  readonly inner: SwapBackend;
  readonly cost: CostAccumulator;
  private readonly hash: PageHash64;
  private readonly passSameFilled: boolean;
  private readonly map: SwapMap;
  private readonly scanner = new SameFilledScanner();
  private readonly scratch: Uint8Array;
  private readonly split = new BigUint64Array(1);
  private readonly splitWords = new Uint32Array(this.split.buffer);

  // Per wrapper slot: the inner slot holding its content.
  private innerOf: Int32Array;
  // Per inner slot: references from wrapper slots, whether indexed, and its hash.
  private refs = new Int32Array(256);
  private indexed = new Uint8Array(256);
  private innerLo = new Int32Array(256);
  private innerHi = new Int32Array(256);
  // The index.
  private mask: number;
  private cellLo: Int32Array;
  private cellHi: Int32Array;
  private cellSlot: Int32Array;
  private cellsUsed = 0;

  private hits = 0;
  private collisions = 0;
  private compareReads = 0;
  private uniqueIndexed = 0;
  private entriesIndexed = 0;

  constructor(inner: SwapBackend, options: DedupFirstOptions) {
    this.inner = inner;
    this.cost = inner.cost;
    this.name = inner.name;
    this.pageSize = inner.pageSize;
    this.hash = options.hash;
    this.passSameFilled = options.passSameFilled ?? true;
    this.map = new SwapMap(options.capacityPages ?? Infinity);
    this.innerOf = new Int32Array(this.map.length);
    this.map.onGrow = (n) => {
      this.innerOf = growInt32(this.innerOf, n);
    };
    this.scratch = new Uint8Array(this.pageSize);
    this.mask = 1023;
    this.cellLo = new Int32Array(1024);
    this.cellHi = new Int32Array(1024);
    this.cellSlot = new Int32Array(1024);
  }

  store(page: Uint8Array): number {
    if (this.passSameFilled) {
      const same = this.scanner.check(page);
      this.cost.charge(CostOp.sameFilledCheck, this.scanner.scannedBytes);
      if (same) return this.storeUnindexed(page);
    }
    this.split[0] = this.hash(page);
    this.cost.charge(CostOp.hash, this.pageSize);
    const lo = this.splitWords[0]! | 0;
    const hi = this.splitWords[1]! | 0;
    const match = this.find(page, lo, hi);
    if (match >= 0) {
      const slot = this.map.allocate();
      if (slot === NO_SLOT) return NO_SLOT;
      this.refs[match]!++;
      this.innerOf[slot] = match;
      this.hits++;
      this.entriesIndexed++;
      return slot;
    }
    const slot = this.map.allocate();
    if (slot === NO_SLOT) return NO_SLOT;
    const innerSlot = this.inner.store(page);
    if (innerSlot === NO_SLOT) {
      this.map.put(slot);
      this.map.release(slot);
      return NO_SLOT;
    }
    this.ensureInner(innerSlot);
    this.refs[innerSlot] = 1;
    this.indexed[innerSlot] = INDEXED;
    this.innerLo[innerSlot] = lo;
    this.innerHi[innerSlot] = hi;
    this.insert(lo, hi, innerSlot);
    this.innerOf[slot] = innerSlot;
    this.uniqueIndexed++;
    this.entriesIndexed++;
    return slot;
  }

  load(slot: number, into: Uint8Array): void {
    this.map.check(slot);
    this.inner.load(this.innerOf[slot]!, into);
  }

  duplicate(slot: number): void {
    this.map.duplicate(slot);
  }

  free(slot: number): boolean {
    if (this.map.put(slot) > 0) return false;
    const innerSlot = this.innerOf[slot]!;
    this.map.release(slot);
    if (this.indexed[innerSlot] === INDEXED) this.entriesIndexed--;
    if (--this.refs[innerSlot]! === 0) {
      if (this.indexed[innerSlot] === INDEXED) {
        this.remove(innerSlot);
        this.uniqueIndexed--;
      }
      this.indexed[innerSlot] = UNINDEXED;
      this.inner.free(innerSlot);
    }
    return true;
  }

  swapCount(slot: number): number {
    return this.map.count(slot);
  }

  /** The back end slot holding `slot`'s content: equal for entries deduplicated together. */
  sharedSlot(slot: number): number {
    this.map.check(slot);
    return this.innerOf[slot]!;
  }

  slotsInUse(): number {
    return this.map.inUse;
  }

  ramPages(): number {
    return this.inner.ramPages();
  }

  stats(): SwapStats {
    return {
      ...this.inner.stats(),
      dedup_hits: this.hits,
      dedup_saved_bytes: (this.entriesIndexed - this.uniqueIndexed) * this.pageSize,
      dedup_unique_pages: this.uniqueIndexed,
      dedup_entries: this.map.inUse,
      dedup_hash_collisions: this.collisions,
      dedup_compare_reads: this.compareReads,
    };
  }

  private storeUnindexed(page: Uint8Array): number {
    const slot = this.map.allocate();
    if (slot === NO_SLOT) return NO_SLOT;
    const innerSlot = this.inner.store(page);
    if (innerSlot === NO_SLOT) {
      this.map.put(slot);
      this.map.release(slot);
      return NO_SLOT;
    }
    this.ensureInner(innerSlot);
    this.refs[innerSlot] = 1;
    this.indexed[innerSlot] = UNINDEXED;
    this.innerOf[slot] = innerSlot;
    return slot;
  }

  /** The inner slot holding exactly `page`, or -1. Reads each hash match back and compares bytes. */
  private find(page: Uint8Array, lo: number, hi: number): number {
    const mask = this.mask;
    for (let cell = hashCell(lo, hi, mask); ; cell = (cell + 1) & mask) {
      const stored = this.cellSlot[cell]!;
      if (stored === 0) return -1;
      if (this.cellLo[cell] !== lo || this.cellHi[cell] !== hi) continue;
      const candidate = stored - 1;
      this.inner.load(candidate, this.scratch);
      this.compareReads++;
      this.cost.charge(CostOp.compare, this.pageSize);
      if (equalPages(page, this.scratch)) return candidate;
      this.collisions++;
    }
  }

  private insert(lo: number, hi: number, innerSlot: number): void {
    if ((this.cellsUsed + 1) * 2 > this.mask + 1) this.growIndex();
    const mask = this.mask;
    let cell = hashCell(lo, hi, mask);
    while (this.cellSlot[cell] !== 0) cell = (cell + 1) & mask;
    this.cellLo[cell] = lo;
    this.cellHi[cell] = hi;
    this.cellSlot[cell] = innerSlot + 1;
    this.cellsUsed++;
  }

  /** Deletes innerSlot's cell and shifts the rest of its probe run back (no tombstones). */
  private remove(innerSlot: number): void {
    const mask = this.mask;
    let cell = hashCell(this.innerLo[innerSlot]!, this.innerHi[innerSlot]!, mask);
    while (this.cellSlot[cell] !== innerSlot + 1) {
      if (this.cellSlot[cell] === 0) throw new InternalError(`dedup-first index lost swap slot ${innerSlot}`);
      cell = (cell + 1) & mask;
    }
    let hole = cell;
    for (let next = (hole + 1) & mask; this.cellSlot[next] !== 0; next = (next + 1) & mask) {
      const home = hashCell(this.cellLo[next]!, this.cellHi[next]!, mask);
      // Move `next` into the hole unless its home lies in (hole, next].
      const between = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (between) continue;
      this.cellLo[hole] = this.cellLo[next]!;
      this.cellHi[hole] = this.cellHi[next]!;
      this.cellSlot[hole] = this.cellSlot[next]!;
      hole = next;
    }
    this.cellSlot[hole] = 0;
    this.cellsUsed--;
  }

  private growIndex(): void {
    const oldLo = this.cellLo;
    const oldHi = this.cellHi;
    const oldSlot = this.cellSlot;
    const size = (this.mask + 1) * 2;
    this.mask = size - 1;
    this.cellLo = new Int32Array(size);
    this.cellHi = new Int32Array(size);
    this.cellSlot = new Int32Array(size);
    this.cellsUsed = 0;
    for (let i = 0; i < oldSlot.length; i++) {
      if (oldSlot[i] !== 0) this.insert(oldLo[i]!, oldHi[i]!, oldSlot[i]! - 1);
    }
  }

  private ensureInner(innerSlot: number): void {
    if (innerSlot < this.refs.length) return;
    let n = this.refs.length * 2;
    while (n <= innerSlot) n *= 2;
    this.refs = growInt32(this.refs, n);
    const indexed = new Uint8Array(n);
    indexed.set(this.indexed);
    this.indexed = indexed;
    this.innerLo = growInt32(this.innerLo, n);
    this.innerHi = growInt32(this.innerHi, n);
  }
}

function hashCell(lo: number, hi: number, mask: number): number {
  return (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
}
