/**
 * Writes the page store and builds the page table while pages stream in.
 *
 * Distinct pages arrive in stored-page-id order, with their checksums
 * already computed by the caller. They are copied into the current batch
 * slot (compress-slots.ts, memory shared with the worker threads); a full
 * batch is published for the workers to compress, and batches are written
 * in id order, whatever order they finish in. When every slot is in use the
 * main thread compresses the oldest batch no worker has taken yet instead
 * of waiting (with `threads` 0 it compresses every batch itself). Memory
 * stays at a few MiB whatever the input size: the pages themselves are
 * never held beyond their batch.
 *
 * Layout 'none' (FORMAT.md section 7): pages are written raw as they come,
 * at page-aligned offsets, without batching.
 */
import { BatchCompressor } from './compress-batch.js';
import { BatchSlots, PHASE_DONE, PHASE_FULL, tag } from './compress-slots.js';
import { type CompressWorkers, compressWorkers, dropEarlyWorkers, slotsShape } from './compress-workers.js';
import { PAGE_ENTRY_SIZE, encodePageEntry } from './format.js';
import { GrowableBytes } from './growable.js';
import type { OutputFile } from './output.js';

/** 'lz4' or 'zstd': pages compressed with that codec where it saves space; 'none': raw and page-aligned. */
export type PageLayout = 'lz4' | 'zstd' | 'none';

/** A batch of at least this many pages is published before it is full when a worker is idle. */
const EARLY_PAGES = 16;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class PageStoreWriter {
  readonly pageTable = new GrowableBytes(1 << 16);
  storedPages = 0;
  /** Pages stored compressed (with the layout's codec). */
  compressedPages = 0;
  storedBytes = 0;
  readonly startOffset: number;

  private readonly out: OutputFile;
  private readonly pageSize: number;
  private readonly layout: PageLayout;
  private readonly level: number | undefined;
  private readonly batchPages: number;
  private readonly slots: BatchSlots | undefined;
  private compressor: BatchCompressor | undefined;

  /** The batch being filled, and how many pages it has. */
  private nextBatch = 0;
  private filled = 0;
  /**
   * Pages put into the batch but not copied yet: a run of consecutive
   * pages of one caller buffer, copied in one go when the run breaks, the
   * batch is full, or the caller releases the buffer.
   */
  private runSource: Uint8Array | undefined;
  private runStart = 0;
  private runEnd = 0;
  /** Where the run goes in the batch's pages. */
  private runTarget = 0;
  /** The oldest batch not yet written. */
  private nextToWrite = 0;

  /** The compression workers; undefined without them. */
  private workers: CompressWorkers | undefined;
  private closing = false;
  private failure: unknown;
  private readonly failed: Promise<void>;
  private signalFailure: () => void = () => {};

  private constructor(
    out: OutputFile,
    pageSize: number,
    layout: PageLayout,
    threads: number,
    level: number | undefined,
  ) {
    this.out = out;
    this.pageSize = pageSize;
    this.layout = layout;
    this.level = level;
    this.batchPages = slotsShape(pageSize, 0).batchPages;
    this.startOffset = out.position;
    this.failed = new Promise<void>((resolve) => (this.signalFailure = resolve));
    if (layout === 'none') {
      dropEarlyWorkers();
      return;
    }
    if (threads > 0) {
      this.workers = compressWorkers(pageSize, threads, this.storeCodec(), level);
      this.workers.onFailure((err) => this.onFailure(err));
      this.slots = this.workers.slots;
    } else {
      dropEarlyWorkers();
      this.slots = BatchSlots.create(slotsShape(pageSize, 0));
    }
  }

  /** `level` is zstd's. */
  static async create(
    out: OutputFile,
    pageSize: number,
    layout: PageLayout,
    threads: number,
    level?: number,
  ): Promise<PageStoreWriter> {
    const writer = new PageStoreWriter(out, pageSize, layout, threads, level);
    // Without workers the main thread compresses every batch: make its compressor now.
    if (layout !== 'none' && threads === 0)
      writer.compressor = await BatchCompressor.create(writer.storeCodec(), level);
    return writer;
  }

  /**
   * Stores the next distinct page, bytes[offset, offset + pageSize) (its id
   * is storedPages + 1 after the call). `pageChecksum` is checksum32 of its
   * XXH64. `filter` says the page is machine code of that kind (the codec
   * may use it, branch-filter.ts). Returns a promise when the caller must
   * wait before the next put (a slot to free up), undefined otherwise.
   * The page may be copied later: the caller leaves `bytes` unchanged until
   * it calls release() (or finish()).
   */
  put(bytes: Uint8Array, offset: number, pageChecksum: number, filter = 0): Promise<void> | undefined {
    this.storedPages++;
    const ps = this.pageSize;
    const slots = this.slots;
    if (slots === undefined) {
      this.writeEntry(this.out.position, ps, pageChecksum, pageChecksum);
      this.out.write(bytes.subarray(offset, offset + ps));
      return undefined;
    }
    const slot = this.nextBatch % slots.shape.slots;
    const n = this.filled;
    if (bytes === this.runSource && offset === this.runEnd) this.runEnd += ps;
    else {
      this.release();
      this.runSource = bytes;
      this.runStart = offset;
      this.runEnd = offset + ps;
      this.runTarget = n * ps;
    }
    slots.pageChecksums[slot]![n] = pageChecksum;
    slots.filters[slot]![n] = filter;
    this.filled = n + 1;
    // A worker with nothing to do gets the batch early: output does not depend on where batches end.
    if (this.filled < this.batchPages && (this.filled < EARLY_PAGES || !slots.workersIdle())) return undefined;
    this.release();
    this.publishBatch();
    if (this.workers === undefined) {
      this.compressOldest(this.compressor!);
      return undefined;
    }
    this.writeDone();
    return this.nextBatch - this.nextToWrite < slots.shape.slots ? undefined : this.drainTo(slots.shape.slots - 1);
  }

  /** Copies the pages put so far out of the caller's buffers, which it may then reuse. */
  release(): void {
    const source = this.runSource;
    if (source === undefined) return;
    this.runSource = undefined;
    const slot = this.nextBatch % this.slots!.shape.slots;
    this.slots!.pages[slot]!.set(source.subarray(this.runStart, this.runEnd), this.runTarget);
  }

  /**
   * Writes every page still pending and tells the workers to stop; close()
   * waits for them (the caller can write its tables meanwhile).
   */
  async finish(): Promise<void> {
    if (this.slots !== undefined) {
      this.release();
      if (this.filled > 0) this.publishBatch();
      await this.drainTo(0);
      // A worker that failed after the main thread did its batches: still a failure.
      if (this.failure !== undefined) throw this.failure;
    }
    this.stopWorkers();
  }

  /** Stops the workers (also after a failure) and waits until they have exited. */
  async close(): Promise<void> {
    this.stopWorkers();
    await this.stopped;
  }

  private stopped: Promise<unknown> = Promise.resolve();

  private stopWorkers(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.workers) this.stopped = this.workers.stop();
    else this.slots?.quit();
  }

  private storeCodec(): 'lz4' | 'zstd' {
    return this.layout === 'zstd' ? 'zstd' : 'lz4';
  }

  private publishBatch(): void {
    this.slots!.fill(this.nextBatch, this.filled);
    this.nextBatch++;
    this.filled = 0;
  }

  /** Writes finished batches in order, as far as they are done. */
  private writeDone(): void {
    const slots = this.slots!;
    while (this.nextToWrite < this.nextBatch && slots.state(this.nextToWrite) === this.doneTag(this.nextToWrite)) {
      this.writeSlot(this.nextToWrite % slots.shape.slots);
      this.nextToWrite++;
    }
  }

  private doneTag(batch: number): number {
    return tag(batch, PHASE_DONE);
  }

  /**
   * Until at most `pending` published batches are unwritten: writes what is
   * done, compresses batches no worker has taken, else waits for a worker.
   */
  private async drainTo(pending: number): Promise<void> {
    const slots = this.slots!;
    for (;;) {
      this.writeDone();
      if (this.nextBatch - this.nextToWrite <= pending) return;
      if (this.failure !== undefined) throw this.failure;
      if (await this.compressOne()) continue;
      const batch = this.nextToWrite;
      const word = slots.stateWord(batch % slots.shape.slots);
      const state = Atomics.load(slots.control, word);
      if (state === this.doneTag(batch)) continue;
      const wait = waitAsync(slots.control, word, state);
      if (wait.async) await Promise.race([wait.value, this.failed]);
    }
  }

  /** Compresses the oldest published batch that no worker has taken; false when there is none. */
  private async compressOne(): Promise<boolean> {
    const slots = this.slots!;
    for (let batch = this.nextToWrite; batch < this.nextBatch; batch++) {
      if (slots.state(batch) !== tag(batch, PHASE_FULL)) continue;
      // The compressor is made on first use: with workers running, the main thread may never need it.
      this.compressor ??= await BatchCompressor.create(this.storeCodec(), this.level);
      if (!slots.take(batch)) continue;
      if (batch === this.nextToWrite) {
        this.compressOldest(this.compressor);
      } else {
        slots.compressInto(batch % slots.shape.slots, this.compressor);
        slots.done(batch);
      }
      return true;
    }
    return false;
  }

  /**
   * Compresses the oldest unwritten batch (TAKEN by this thread, or, with
   * no workers, taken by nobody) and writes it straight from the
   * compressor's memory.
   */
  private compressOldest(compressor: BatchCompressor): void {
    const slots = this.slots!;
    const slot = this.nextToWrite % slots.shape.slots;
    const count = slots.count(slot);
    const r = compressor.compress(
      slots.pages[slot]!,
      count,
      this.pageSize,
      slots.pageChecksums[slot]!,
      slots.filters[slot]!,
    );
    this.writeBatch(count, r.lengths, r.storedChecksums, slots.pageChecksums[slot]!, r.data);
    this.nextToWrite++;
  }

  private onFailure(err: unknown): void {
    this.failure ??= err;
    this.signalFailure();
  }

  private writeSlot(slot: number): void {
    const slots = this.slots!;
    const stored = slots.stored[slot]!.subarray(0, slots.used(slot));
    this.writeBatch(
      slots.count(slot),
      slots.lengths[slot]!,
      slots.storedChecksums[slot]!,
      slots.pageChecksums[slot]!,
      stored,
    );
  }

  private writeBatch(
    count: number,
    lengths: Uint32Array,
    storedChecksums: Uint32Array,
    pageChecksums: Uint32Array,
    stored: Uint8Array,
  ): void {
    let offset = this.out.position;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      if (length < this.pageSize) this.compressedPages++;
      this.writeEntry(offset, length, storedChecksums[i]!, pageChecksums[i]!);
      offset += length;
    }
    this.out.write(stored);
  }

  private writeEntry(offset: number, length: number, storedChecksum: number, pageChecksum: number): void {
    const at = this.pageTable.reserve(PAGE_ENTRY_SIZE);
    encodePageEntry(this.pageTable.view, at, offset, storedChecksum, pageChecksum);
    this.storedBytes += length;
  }
}
