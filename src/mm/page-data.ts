/**
 * Page contents that exist only in memory: a slab of reused page buffers.
 *
 * Only frames whose bytes cannot be re-read from a file need a slot here:
 * anonymous pages written with real bytes, COW copies of such pages, and
 * shared file pages written through MAP_SHARED. Clean file pages and pages
 * that are still all zero (or still equal to the file page they were copied
 * from, after a `touch`) keep no bytes at all (frames.ts: srcSpace/srcIndex).
 *
 * Slots live in chunks of SLAB_CHUNK_PAGES pages (one ArrayBuffer each);
 * freed slots are reused before a new chunk is allocated.
 */
export const SLAB_CHUNK_PAGES = 256;

export class PageSlab {
  readonly pageSize: number;
  /** chunks[slot / SLAB_CHUNK_PAGES] holds the slot's bytes at (slot % SLAB_CHUNK_PAGES) * pageSize. */
  readonly chunks: Uint8Array[] = [];
  /** Slots in use. */
  used = 0;
  private freeStack = new Int32Array(64);
  private freeTop = 0;
  private nextFresh = 0;

  constructor(pageSize: number) {
    this.pageSize = pageSize;
  }

  /** A slot whose bytes are unspecified (the caller fills the whole page). */
  alloc(): number {
    let slot: number;
    if (this.freeTop > 0) {
      slot = this.freeStack[--this.freeTop]!;
    } else {
      slot = this.nextFresh++;
      if (slot % SLAB_CHUNK_PAGES === 0) this.chunks.push(new Uint8Array(SLAB_CHUNK_PAGES * this.pageSize));
    }
    this.used++;
    return slot;
  }

  free(slot: number): void {
    if (this.freeTop === this.freeStack.length) {
      const bigger = new Int32Array(this.freeStack.length * 2);
      bigger.set(this.freeStack);
      this.freeStack = bigger;
    }
    this.freeStack[this.freeTop++] = slot;
    this.used--;
  }

  chunk(slot: number): Uint8Array {
    return this.chunks[(slot / SLAB_CHUNK_PAGES) | 0]!;
  }

  offset(slot: number): number {
    return (slot % SLAB_CHUNK_PAGES) * this.pageSize;
  }

  /** A view of the slot's page (allocates a view object; not for per-byte loops). */
  view(slot: number): Uint8Array {
    const off = this.offset(slot);
    return this.chunk(slot).subarray(off, off + this.pageSize);
  }

  /** Bytes reserved by the slab, used or free. */
  get reservedBytes(): number {
    return this.chunks.length * SLAB_CHUNK_PAGES * this.pageSize;
  }
}
