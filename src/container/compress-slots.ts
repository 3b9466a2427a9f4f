/**
 * The memory pack's main thread shares with its compression workers: a
 * ring of batch slots in one SharedArrayBuffer, so a batch goes to a worker
 * and back without a message, a copy by postMessage or a fresh buffer.
 *
 * Batch b (0, 1, 2, ...) lives in slot b % slots. Each slot has a state
 * word holding tag(b, phase):
 *   FULL   the main thread filled the slot with batch b's pages;
 *   TAKEN  one thread (a worker, or the main thread when it would otherwise
 *          wait) moved it from FULL with compareExchange and is compressing;
 *   DONE   the stored bytes, lengths and checksums are in the slot.
 * A slot's previous batch (b - slots) is DONE and written out before the
 * main thread refills it. After filling a batch the main thread raises
 * PUBLISHED; workers claim published batches in order from CLAIMED, so no
 * worker waits on a batch that is not there yet while earlier ones are, and
 * skip a batch the main thread took first. Idle workers sleep on WAKE,
 * which the main thread bumps on every publish (and on quit). Compression
 * of a page does not depend on its batch or thread, so the container is the
 * same whatever the thread count.
 *
 * Per slot: pages (batchPages * pageSize), stored output (at most one page
 * per page), u32 arrays of page checksums, stored lengths and stored
 * checksums, and a byte per page for its branch filter hint; the page count and the bytes used are control words.
 */
import { InternalError } from '../errors.js';
import type { BatchCompressor } from './compress-batch.js';

export const PHASE_FULL = 1;
export const PHASE_TAKEN = 2;
export const PHASE_DONE = 3;

/** Control words: the next batch a worker claims; batches published so far; bumped to wake idle workers; workers asleep; non-zero when they must stop. */
export const CLAIMED = 0;
export const PUBLISHED = 1;
export const WAKE = 2;
export const SLEEPING = 3;
export const QUIT = 4;
const HEADER_WORDS = 5;
/** Batch numbers stay below this so a tag fits an Int32 (that is 2^29 batches: far beyond any input). */
const MAX_BATCH = 1 << 29;

/** The state word value for batch `batch` in `phase`. */
export function tag(batch: number, phase: number): number {
  if (batch >= MAX_BATCH) throw new InternalError(`pack: batch number ${batch} out of range`);
  return batch * 4 + phase;
}

export interface SlotsShape {
  slots: number;
  batchPages: number;
  pageSize: number;
}

export class BatchSlots {
  readonly shape: SlotsShape;
  /** [CLAIMED, PUBLISHED, WAKE, SLEEPING, QUIT, state of each slot, page count of each slot, bytes used of each slot]. */
  readonly control: Int32Array;
  readonly pages: Uint8Array[] = [];
  readonly stored: Uint8Array[] = [];
  readonly pageChecksums: Uint32Array[] = [];
  readonly lengths: Uint32Array[] = [];
  readonly storedChecksums: Uint32Array[] = [];
  /** Branch filter hint of each page (branch-filter.ts; zstd uses it). */
  readonly filters: Uint8Array[] = [];

  constructor(
    readonly buffer: SharedArrayBuffer,
    shape: SlotsShape,
  ) {
    this.shape = shape;
    const { slots, batchPages, pageSize } = shape;
    const controlWords = HEADER_WORDS + 3 * slots;
    this.control = new Int32Array(buffer, 0, controlWords);
    let at = align64(controlWords * 4);
    const take = (bytes: number): number => {
      const start = at;
      at = align64(at + bytes);
      return start;
    };
    for (let s = 0; s < slots; s++) {
      this.pages.push(new Uint8Array(buffer, take(batchPages * pageSize), batchPages * pageSize));
      this.stored.push(new Uint8Array(buffer, take(batchPages * pageSize), batchPages * pageSize));
      this.pageChecksums.push(new Uint32Array(buffer, take(batchPages * 4), batchPages));
      this.lengths.push(new Uint32Array(buffer, take(batchPages * 4), batchPages));
      this.storedChecksums.push(new Uint32Array(buffer, take(batchPages * 4), batchPages));
      this.filters.push(new Uint8Array(buffer, take(batchPages), batchPages));
    }
    if (at > buffer.byteLength)
      throw new InternalError(`pack: batch slots need ${at} bytes, have ${buffer.byteLength}`);
  }

  static create(shape: SlotsShape): BatchSlots {
    return new BatchSlots(new SharedArrayBuffer(BatchSlots.bytes(shape)), shape);
  }

  static bytes({ slots, batchPages, pageSize }: SlotsShape): number {
    const perSlot = 2 * align64(batchPages * pageSize) + 3 * align64(batchPages * 4) + align64(batchPages);
    return align64((HEADER_WORDS + 3 * slots) * 4) + slots * perSlot;
  }

  /** Index in `control` of slot s's state word. */
  stateWord(slot: number): number {
    return HEADER_WORDS + slot;
  }

  count(slot: number): number {
    return this.control[HEADER_WORDS + this.shape.slots + slot]!;
  }

  setCount(slot: number, count: number): void {
    this.control[HEADER_WORDS + this.shape.slots + slot] = count;
  }

  used(slot: number): number {
    return this.control[HEADER_WORDS + 2 * this.shape.slots + slot]!;
  }

  /** Compresses slot s's pages with `compressor` into the slot (the caller holds it TAKEN). */
  compressInto(slot: number, compressor: BatchCompressor): void {
    const count = this.count(slot);
    const { pageSize } = this.shape;
    const r = compressor.compress(this.pages[slot]!, count, pageSize, this.pageChecksums[slot]!, this.filters[slot]!);
    this.stored[slot]!.set(r.data);
    this.lengths[slot]!.set(r.lengths.subarray(0, count));
    this.storedChecksums[slot]!.set(r.storedChecksums.subarray(0, count));
    this.control[HEADER_WORDS + 2 * this.shape.slots + slot] = r.data.length;
  }

  /** Moves batch b from FULL to TAKEN; false when another thread took it first. */
  take(batch: number): boolean {
    const word = this.stateWord(batch % this.shape.slots);
    const full = tag(batch, PHASE_FULL);
    return Atomics.compareExchange(this.control, word, full, tag(batch, PHASE_TAKEN)) === full;
  }

  /** Marks batch b DONE and wakes the main thread if it waits on that slot. */
  done(batch: number): void {
    const word = this.stateWord(batch % this.shape.slots);
    Atomics.store(this.control, word, tag(batch, PHASE_DONE));
    Atomics.notify(this.control, word);
  }

  /** Main thread: batch b is filled with `count` pages; batches up to b are published. */
  fill(batch: number, count: number): void {
    const slot = batch % this.shape.slots;
    this.setCount(slot, count);
    Atomics.store(this.control, this.stateWord(slot), tag(batch, PHASE_FULL));
    Atomics.store(this.control, PUBLISHED, batch + 1);
    this.wakeWorkers(1);
  }

  /** True when a worker sleeps waiting for a batch. */
  workersIdle(): boolean {
    return Atomics.load(this.control, SLEEPING) > 0;
  }

  /** Main thread: tells the workers to stop. */
  quit(): void {
    Atomics.store(this.control, QUIT, 1);
    this.wakeWorkers(Number.POSITIVE_INFINITY);
  }

  private wakeWorkers(count: number): void {
    Atomics.add(this.control, WAKE, 1);
    if (Atomics.load(this.control, SLEEPING) > 0) Atomics.notify(this.control, WAKE, count);
  }

  /**
   * Worker: the next published batch no other worker claimed, or -1 after
   * quit. Sleeps while there is none.
   */
  claim(): number {
    const c = this.control;
    for (;;) {
      if (Atomics.load(c, QUIT) !== 0) return -1;
      // Read WAKE first: a publish after this read changes it, so the wait below cannot miss it.
      const wake = Atomics.load(c, WAKE);
      const next = Atomics.load(c, CLAIMED);
      if (next < Atomics.load(c, PUBLISHED)) {
        if (Atomics.compareExchange(c, CLAIMED, next, next + 1) === next) return next;
        continue;
      }
      Atomics.add(c, SLEEPING, 1);
      Atomics.wait(c, WAKE, wake);
      Atomics.sub(c, SLEEPING, 1);
    }
  }

  state(batch: number): number {
    return Atomics.load(this.control, this.stateWord(batch % this.shape.slots));
  }
}

function align64(n: number): number {
  return (n + 63) & ~63;
}
