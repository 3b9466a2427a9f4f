/**
 * The distinct-page index: the hot path of scan and pack.
 *
 * Gives every page a content id: 0 for an all-zero page, 1..n for distinct
 * non-zero contents in order of first appearance. A hash match is never
 * trusted on its own: the earlier page's bytes are fetched through
 * `readCanonical` and compared byte for byte, so a 64-bit collision (or an
 * injected constant hash in tests) never merges different pages.
 *
 * Layout: open addressing with linear probing over typed arrays (hash low
 * word, hash high word, id + 1; 0 marks an empty slot), grown at three
 * quarters load (a miss then probes about 8 slots, a hit 2.5: cheap next to
 * the memory, which on a first scan is faulted in page by page).
 * Entries with equal hashes but different bytes simply occupy further slots.
 * Memory per distinct page: 12 bytes per slot, 1.33 to 2.67 slots.
 *
 * `addAt(bytes, offset)` takes the page where it lies (for the scanner: in
 * the hasher's buffer), so adding a page makes no view and no copy; the zero
 * test and the byte comparison are native memcmp calls (Buffer#compare).
 */
import { InternalError } from '../errors.js';
import type { PageHash64 } from './hash.js';

export const ZERO_CONTENT_ID = 0;

/** Fetches the bytes of the page first seen with content id `id` into `into`. */
export type ReadCanonical = (id: number, into: Uint8Array) => void;

export class PageIndex {
  readonly pageSize: number;
  /** Number of distinct non-zero page contents seen so far. */
  distinct = 0;
  /** Set by add(): true when this content was not seen before (for zero pages: the first zero page). */
  isNew = false;
  /** Hash comparisons that matched on 64 bits but differed in bytes. */
  collisions = 0;

  private readonly hash: PageHash64;
  private readonly readCanonical: ReadCanonical;
  private readonly zeroLo: number;
  private readonly zeroHi: number;
  private readonly zeroPage: Buffer;
  private readonly scratch: Buffer;
  private readonly split = new BigUint64Array(1);
  private readonly splitWords = new Uint32Array(this.split.buffer);
  private mask: number;
  private hashLo: Uint32Array;
  private hashHi: Uint32Array;
  private slotIds: Int32Array;
  private zeroSeen = false;

  constructor(pageSize: number, hash: PageHash64, readCanonical: ReadCanonical, initialSlots = 1 << 16) {
    this.pageSize = pageSize;
    this.hash = hash;
    this.readCanonical = readCanonical;
    this.zeroPage = Buffer.alloc(pageSize);
    this.split[0] = hash(this.zeroPage, 0, pageSize);
    this.zeroLo = this.splitWords[0]!;
    this.zeroHi = this.splitWords[1]!;
    this.scratch = Buffer.alloc(pageSize);
    const slots = 1 << Math.max(4, Math.ceil(Math.log2(initialSlots)));
    this.mask = slots - 1;
    this.hashLo = new Uint32Array(slots);
    this.hashHi = new Uint32Array(slots);
    this.slotIds = new Int32Array(slots);
  }

  /**
   * Returns the content id of `page` (length pageSize) and sets `isNew`.
   * A new non-zero content gets the next id; its bytes must stay readable
   * through readCanonical from then on.
   */
  add(page: Uint8Array): number {
    if (page.length !== this.pageSize) {
      throw new InternalError(`page of ${page.length} bytes given to an index of ${this.pageSize}-byte pages`);
    }
    return this.addAt(page, 0);
  }

  /** add() for the page at bytes[offset, offset + pageSize); the caller guarantees the range. */
  addAt(bytes: Uint8Array, offset: number): number {
    this.split[0] = this.hash(bytes, offset, this.pageSize);
    return this.addHashed(bytes, offset, this.splitWords[0]!, this.splitWords[1]!);
  }

  /**
   * addAt() for a page whose hash is already known, as its low and high
   * 32 bits (the scanner hashes a whole chunk in one call). The hash must be
   * this index's hash function of those bytes.
   */
  addHashed(bytes: Uint8Array, offset: number, lo: number, hi: number): number {
    const end = offset + this.pageSize;
    if (lo === this.zeroLo && hi === this.zeroHi && this.zeroPage.compare(bytes, offset, end) === 0) {
      this.isNew = !this.zeroSeen;
      this.zeroSeen = true;
      return ZERO_CONTENT_ID;
    }
    const mask = this.mask;
    let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const stored = this.slotIds[slot]!;
      if (stored === 0) break;
      if (this.hashLo[slot] === lo && this.hashHi[slot] === hi) {
        this.readCanonical(stored, this.scratch);
        if (this.scratch.compare(bytes, offset, end) === 0) {
          this.isNew = false;
          return stored;
        }
        this.collisions++;
      }
      slot = (slot + 1) & mask;
    }
    const id = ++this.distinct;
    this.hashLo[slot] = lo;
    this.hashHi[slot] = hi;
    this.slotIds[slot] = id;
    this.isNew = true;
    if (this.distinct * 4 > mask * 3) this.grow();
    return id;
  }

  private grow(): void {
    const oldLo = this.hashLo;
    const oldHi = this.hashHi;
    const oldIds = this.slotIds;
    const slots = oldIds.length * 2;
    this.mask = slots - 1;
    this.hashLo = new Uint32Array(slots);
    this.hashHi = new Uint32Array(slots);
    this.slotIds = new Int32Array(slots);
    for (let i = 0; i < oldIds.length; i++) {
      const id = oldIds[i]!;
      if (id === 0) continue;
      const lo = oldLo[i]!;
      const hi = oldHi[i]!;
      let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
      while (this.slotIds[slot] !== 0) slot = (slot + 1) & this.mask;
      this.hashLo[slot] = lo;
      this.hashHi[slot] = hi;
      this.slotIds[slot] = id;
    }
  }
}

/** True when every byte of `page` is zero. Word-at-a-time when aligned. */
export function isZero(page: Uint8Array): boolean {
  if ((page.byteOffset & 3) === 0 && (page.length & 3) === 0) {
    const words = new Uint32Array(page.buffer, page.byteOffset, page.length >>> 2);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < page.length; i++) if (page[i] !== 0) return false;
  return true;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
