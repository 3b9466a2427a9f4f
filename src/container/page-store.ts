/**
 * Writes the page store and builds the page table while pages stream in.
 *
 * Distinct pages arrive in stored-page-id order, with their checksums
 * already computed by the caller. They are copied into a batch buffer; a
 * full batch is compressed (inline, or by a worker thread when
 * `threads > 0`) and written in id order, whatever order the workers finish
 * in. At most 2 batches per worker are in flight, so memory stays at a few
 * MiB whatever the input size: the pages themselves are never held beyond
 * their batch. Page and output buffers go back and forth to the workers
 * (transferred, not copied) and are reused.
 *
 * Layout 'none' (FORMAT.md section 7): pages are written raw as they come,
 * at page-aligned offsets, without batching.
 */
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors.js';
import { BatchCompressor } from './compress-batch.js';
import type { CompressReply, CompressRequest } from './compress-worker.js';
import { PAGE_ENTRY_SIZE, encodePageEntry } from './format.js';
import { GrowableBytes } from './growable.js';
import type { OutputFile } from './output.js';
import { compiledModule } from './workers.js';

/** 'lz4' or 'zstd': pages compressed with that codec where it saves space; 'none': raw and page-aligned. */
export type PageLayout = 'lz4' | 'zstd' | 'none';

const BATCH_BYTES = 256 * 1024;
const WORKER_URL = compiledModule('./compress-worker.js', import.meta.url);

/** True when the compiled worker script exists (it does not when running from TypeScript sources). */
export function workersAvailable(): boolean {
  return WORKER_URL !== undefined;
}

interface Batch {
  pages: Uint8Array;
  pageChecksums: Uint32Array;
  /** Branch filter hint of each page (zstd only; all 0 otherwise). */
  filters: Uint8Array;
  count: number;
}

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
  private readonly batchPages: number;
  private readonly level: number | undefined;
  private compressor: BatchCompressor | undefined;
  private batch: Batch | undefined;
  private readonly freeBuffers: ArrayBuffer[] = [];
  private readonly freeOutputs: ArrayBuffer[] = [];

  // Worker state.
  private readonly workers: Worker[] = [];
  private nextBatch = 0;
  private nextToWrite = 0;
  private readonly inFlight = new Map<number, Batch>();
  private readonly done = new Map<number, CompressReply>();
  private failure: unknown;
  private wake: (() => void) | undefined;

  private constructor(
    out: OutputFile,
    pageSize: number,
    layout: PageLayout,
    threads: number,
    level: number | undefined,
    compressor: BatchCompressor | undefined,
  ) {
    this.out = out;
    this.pageSize = pageSize;
    this.layout = layout;
    this.level = level;
    this.compressor = compressor;
    this.batchPages = Math.max(1, Math.floor(BATCH_BYTES / pageSize));
    this.startOffset = out.position;
    if (layout !== 'none') {
      for (let i = 0; i < threads; i++) {
        const worker = new Worker(WORKER_URL!);
        worker.on('message', (reply: CompressReply) => this.onReply(reply));
        worker.on('error', (err) => this.onFailure(err));
        this.workers.push(worker);
      }
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
    const inline = layout !== 'none' && threads === 0;
    return new PageStoreWriter(
      out,
      pageSize,
      layout,
      threads,
      level,
      inline ? await BatchCompressor.create(layout === 'zstd' ? 'zstd' : 'lz4', level) : undefined,
    );
  }

  /**
   * Stores the next distinct page, bytes[offset, offset + pageSize) (its id
   * is storedPages + 1 after the call). `pageChecksum` is checksum32 of its
   * XXH64. `filter` says the page is machine code of that kind (the codec
   * may use it, branch-filter.ts). Returns a promise when the caller must
   * wait for workers to catch up, undefined otherwise.
   */
  put(bytes: Uint8Array, offset: number, pageChecksum: number, filter = 0): Promise<void> | undefined {
    this.storedPages++;
    const ps = this.pageSize;
    if (this.layout === 'none') {
      this.writeEntry(this.out.position, ps, pageChecksum, pageChecksum);
      this.out.write(bytes.subarray(offset, offset + ps));
      return undefined;
    }
    const batch = (this.batch ??= this.newBatch());
    batch.pages.set(bytes.subarray(offset, offset + ps), batch.count * ps);
    batch.pageChecksums[batch.count] = pageChecksum;
    batch.filters[batch.count] = filter;
    batch.count++;
    if (batch.count < this.batchPages) return undefined;
    this.batch = undefined;
    return this.submit(batch);
  }

  /** Writes every page still pending and stops the workers. */
  async finish(): Promise<void> {
    if (this.batch && this.batch.count > 0) {
      const batch = this.batch;
      this.batch = undefined;
      await this.submit(batch);
    }
    while (this.inFlight.size > 0) await this.waitForProgress();
    await this.close();
  }

  /** Stops the workers (also after a failure). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private newBatch(): Batch {
    const buffer = this.freeBuffers.pop() ?? new ArrayBuffer(this.batchPages * this.pageSize);
    return {
      pages: new Uint8Array(buffer),
      pageChecksums: new Uint32Array(this.batchPages),
      filters: new Uint8Array(this.batchPages),
      count: 0,
    };
  }

  private submit(batch: Batch): Promise<void> | undefined {
    if (this.workers.length === 0) {
      this.compressInline(batch);
      return undefined;
    }
    const number = this.nextBatch++;
    this.inFlight.set(number, batch);
    const out = this.freeOutputs.pop() ?? new ArrayBuffer(this.batchPages * this.pageSize);
    const request: CompressRequest = {
      batch: number,
      pages: batch.pages.buffer as ArrayBuffer,
      out,
      count: batch.count,
      pageSize: this.pageSize,
      pageChecksums: batch.pageChecksums.subarray(0, batch.count),
      filters: batch.filters.subarray(0, batch.count),
      codec: this.layout === 'zstd' ? 'zstd' : 'lz4',
      ...(this.level === undefined ? {} : { level: this.level }),
    };
    this.workers[number % this.workers.length]!.postMessage(request, [request.pages, out]);
    return this.inFlight.size >= 2 * this.workers.length ? this.waitForProgress() : undefined;
  }

  private compressInline(batch: Batch): void {
    const r = this.compressor!.compress(batch.pages, batch.count, this.pageSize, batch.pageChecksums, batch.filters);
    this.writeBatch(batch, r.data, r.data.length, r.lengths, r.storedChecksums);
    this.batch = batch;
    batch.count = 0;
  }

  private onReply(reply: CompressReply): void {
    this.done.set(reply.batch, reply);
    try {
      for (let r = this.done.get(this.nextToWrite); r !== undefined; r = this.done.get(this.nextToWrite)) {
        const batch = this.inFlight.get(r.batch);
        if (!batch) throw new InternalError(`compressed batch ${r.batch} was never sent`);
        this.writeBatch(batch, new Uint8Array(r.out), r.used, r.lengths, r.storedChecksums);
        this.freeBuffers.push(r.pages);
        this.freeOutputs.push(r.out);
        this.done.delete(r.batch);
        this.inFlight.delete(r.batch);
        this.nextToWrite++;
      }
    } catch (err) {
      this.onFailure(err);
    }
    this.wakeUp();
  }

  private onFailure(err: unknown): void {
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async waitForProgress(): Promise<void> {
    if (this.failure === undefined) {
      const before = this.inFlight.size;
      while (this.failure === undefined && this.inFlight.size >= before) {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private writeBatch(
    batch: Batch,
    out: Uint8Array,
    used: number,
    lengths: Uint32Array,
    storedChecksums: Uint32Array,
  ): void {
    let offset = this.out.position;
    for (let i = 0; i < batch.count; i++) {
      const length = lengths[i]!;
      if (length < this.pageSize) this.compressedPages++;
      this.writeEntry(offset, length, storedChecksums[i]!, batch.pageChecksums[i]!);
      offset += length;
    }
    this.out.write(out.subarray(0, used));
  }

  private writeEntry(offset: number, length: number, storedChecksum: number, pageChecksum: number): void {
    const at = this.pageTable.reserve(PAGE_ENTRY_SIZE);
    encodePageEntry(this.pageTable.view, at, offset, storedChecksum, pageChecksum);
    this.storedBytes += length;
  }
}
