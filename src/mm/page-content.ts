/**
 * The bytes of a frame, wherever they are (frames.ts: dataSlot, srcSpace,
 * srcIndex):
 *
 * - in the page slab, when the frame has bytes of its own (written);
 * - in a file, when the frame is a clean file page or a copy of one that
 *   was never written with real bytes: re-read through FileBacking.readPage;
 * - nowhere, when the page is all zero (the zero page, a fresh anonymous or
 *   shmem page, a `touch`-written copy of one).
 *
 * A frame gets a slab slot (is "materialised") only when bytes are written
 * into it, or when it is a COW copy of a frame that has one.
 */
import { InternalError } from '../errors.js';
import type { AddressSpace } from './page-cache.js';
import { ZERO_FRAME, type FrameTable } from './frames.js';
import type { PageSlab } from './page-data.js';

export class PageContents {
  private readonly scratch: Uint8Array;
  private scratchSpace = -1;
  private scratchIndex = -1;

  constructor(
    private readonly frames: FrameTable,
    private readonly slab: PageSlab,
    private readonly spaces: readonly (AddressSpace | undefined)[],
    private readonly pageSize: number,
  ) {
    this.scratch = new Uint8Array(pageSize);
  }

  /** Copies `len` bytes at `pageOff` of `frame`'s page into `dst` at `dstOff`. */
  read(frame: number, pageOff: number, dst: Uint8Array, dstOff: number, len: number): void {
    const f = this.frames;
    const slot = frame === ZERO_FRAME ? -1 : f.dataSlot[frame]!;
    if (slot >= 0) {
      const off = this.slab.offset(slot) + pageOff;
      dst.set(this.slab.chunk(slot).subarray(off, off + len), dstOff);
      return;
    }
    const src = frame === ZERO_FRAME ? -1 : f.srcSpace[frame]!;
    if (src < 0) {
      dst.fill(0, dstOff, dstOff + len);
      return;
    }
    const page = this.sourcePage(src, f.srcIndex[frame]!);
    dst.set(page.subarray(pageOff, pageOff + len), dstOff);
  }

  /** Writes `src[srcOff..srcOff+len)` at `pageOff` of `frame`, giving it bytes of its own first. */
  write(frame: number, pageOff: number, src: Uint8Array, srcOff: number, len: number): void {
    const slot = this.materialize(frame);
    this.slab.chunk(slot).set(src.subarray(srcOff, srcOff + len), this.slab.offset(slot) + pageOff);
  }

  /** Gives `frame` a slab slot holding its current bytes; returns the slot. */
  materialize(frame: number): number {
    const f = this.frames;
    let slot = f.dataSlot[frame]!;
    if (slot >= 0) return slot;
    if (frame === ZERO_FRAME) throw new InternalError('the zero page cannot be written');
    slot = this.slab.alloc();
    const chunk = this.slab.chunk(slot);
    const off = this.slab.offset(slot);
    const src = f.srcSpace[frame]!;
    if (src < 0) chunk.fill(0, off, off + this.pageSize);
    else chunk.set(this.sourcePage(src, f.srcIndex[frame]!), off);
    f.dataSlot[frame] = slot;
    return slot;
  }

  /** Makes `to` (a new frame) hold the same bytes as `from`; bytes are copied only if `from` has bytes of its own. */
  copy(from: number, to: number): void {
    const f = this.frames;
    const slot = from === ZERO_FRAME ? -1 : f.dataSlot[from]!;
    if (slot >= 0) {
      const dst = this.slab.alloc();
      const off = this.slab.offset(slot);
      this.slab.chunk(dst).set(this.slab.chunk(slot).subarray(off, off + this.pageSize), this.slab.offset(dst));
      f.dataSlot[to] = dst;
    } else if (from !== ZERO_FRAME) {
      f.srcSpace[to] = f.srcSpace[from]!;
      f.srcIndex[to] = f.srcIndex[from]!;
    }
  }

  /** The whole page of `frame`, into `into` (length pageSize): for hashing, compressing, comparing. */
  bytes(frame: number, into: Uint8Array): Uint8Array {
    this.read(frame, 0, into, 0, this.pageSize);
    return into;
  }

  /**
   * Drops `frame`'s own bytes, for a caller that knows they equal
   * `srcSpace/srcIndex` again or that the page is being freed or replaced
   * (swap-out of a page whose bytes move to the swap back end).
   */
  release(frame: number): void {
    const slot = this.frames.dataSlot[frame]!;
    if (slot < 0) return;
    this.slab.free(slot);
    this.frames.dataSlot[frame] = -1;
  }

  private sourcePage(spaceId: number, index: number): Uint8Array {
    if (spaceId !== this.scratchSpace || index !== this.scratchIndex) {
      const backing = this.spaces[spaceId]?.backing;
      if (backing === undefined) throw new InternalError('frame source is not a file', { spaceId });
      this.scratchSpace = -1;
      backing.readPage(index, this.scratch);
      this.scratchSpace = spaceId;
      this.scratchIndex = index;
    }
    return this.scratch;
  }
}
