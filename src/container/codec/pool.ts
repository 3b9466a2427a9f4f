/**
 * Compresses batches of pages on worker threads, keeping their order.
 *
 * A batch is one buffer of pages (the last may be short). It is copied once
 * into a SharedArrayBuffer, cut into one contiguous slice per worker, and
 * each worker writes its pages' blocks into a shared output with a fixed
 * slot of compressBound(pageSize) bytes per page, and their lengths into a
 * shared Int32Array. Page i's block is therefore at i * stride whatever
 * thread compressed it, and batches submitted one after another come back in
 * order (each worker handles its messages first in, first out), so a writer
 * can keep several batches in flight.
 *
 * Workers run the compiled worker.js next to this module (dist/). When it is
 * missing, as when the TypeScript source runs under vitest, or when
 * `workers` is 0, the pool compresses in the calling thread with the same
 * codec and the same output layout; `mode` and `fallbackReason` say so.
 *
 * Whether it pays, measured by `npm run bench -- codec`: see
 * docs/notes/codec.md.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InternalError, UsageError } from '../../errors.js';
import type { CodecName, PageCodec } from './codec.js';
import { DEFAULT_CODEC, getCodec } from './index.js';
import { compressBound } from './lz4-block.js';
import type { CompressJob, CompressReply } from './worker.js';

export interface CompressPoolOptions {
  /**
   * Worker threads, 0..64. Default: os.availableParallelism() (2 on the
   * reference machine). 0 compresses in the calling thread.
   */
  workers?: number;
  /** Codec name; default DEFAULT_CODEC ('lz4'). */
  codec?: CodecName;
  /** The compiled worker module; default: worker.js beside this module. */
  workerFile?: string | URL;
}

/** The blocks of one batch: page i's block is data.subarray(i * stride, i * stride + lengths[i]). */
export interface CompressedBatch {
  count: number;
  stride: number;
  data: Uint8Array;
  lengths: Int32Array;
}

interface Pending {
  remaining: number;
  batch: CompressedBatch;
  resolve: (batch: CompressedBatch) => void;
  reject: (err: Error) => void;
}

export class CompressPool {
  readonly mode: 'workers' | 'in-thread';
  readonly workerCount: number;
  /** Why the pool compresses in the calling thread, when it does. */
  readonly fallbackReason: string | undefined;
  readonly codecName: CodecName;

  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly localCodec: PageCodec;
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;

  constructor(options: CompressPoolOptions = {}) {
    const requested = options.workers ?? availableParallelism();
    if (!Number.isInteger(requested) || requested < 0 || requested > 64) {
      throw new UsageError(`workers must be an integer from 0 to 64, not ${requested}`, { field: 'workers', actual: requested });
    }
    this.codecName = options.codec ?? DEFAULT_CODEC;
    this.localCodec = getCodec(this.codecName);
    const file = options.workerFile ?? new URL('./worker.js', import.meta.url);
    const path = file instanceof URL ? fileURLToPath(file) : file;

    if (requested === 0) {
      this.fallbackReason = 'workers: 0';
    } else if (!existsSync(path)) {
      this.fallbackReason = `compiled worker ${path} not found (running from the TypeScript source? run npm run build)`;
    }
    if (this.fallbackReason !== undefined) {
      this.mode = 'in-thread';
      this.workerCount = 0;
      return;
    }
    this.mode = 'workers';
    this.workerCount = requested;
    for (let i = 0; i < requested; i++) {
      const worker = new Worker(path);
      worker.on('message', (reply: CompressReply) => this.onReply(reply));
      worker.on('error', (err) => this.fail(new InternalError(`compression worker failed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new InternalError(`compression worker exited with code ${code}`));
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Workers keep the process alive only while batches are in flight. */
  private setBusy(busy: boolean): void {
    for (const w of this.workers) {
      if (busy) w.ref();
      else w.unref();
    }
  }

  /**
   * Compresses the pages in `pages` (pageSize bytes each, the last possibly
   * shorter). The buffer may be reused as soon as this returns.
   */
  compress(pages: Uint8Array, pageSize: number): Promise<CompressedBatch> {
    if (this.closed) return Promise.reject(new InternalError('compression pool is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!Number.isInteger(pageSize) || pageSize <= 0) {
      return Promise.reject(new InternalError(`page size must be a positive integer, not ${pageSize}`));
    }
    const count = Math.ceil(pages.length / pageSize);
    const stride = compressBound(pageSize);
    if (this.mode === 'in-thread' || count === 0) return Promise.resolve(this.compressHere(pages, pageSize, count, stride));

    const input = new SharedArrayBuffer(pages.length);
    new Uint8Array(input).set(pages);
    const output = new SharedArrayBuffer(count * stride);
    const lengths = new SharedArrayBuffer(count * 4);
    const batch: CompressedBatch = { count, stride, data: new Uint8Array(output), lengths: new Int32Array(lengths) };
    const slices = Math.min(this.workers.length, count);

    return new Promise<CompressedBatch>((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) this.setBusy(true);
      this.pending.set(id, { remaining: slices, batch, resolve, reject });
      for (let w = 0; w < slices; w++) {
        const job: CompressJob = {
          id,
          codec: this.codecName,
          input,
          inputLength: pages.length,
          output,
          lengths,
          pageSize,
          stride,
          first: Math.floor((w * count) / slices),
          end: Math.floor(((w + 1) * count) / slices),
        };
        this.workers[w]!.postMessage(job);
      }
    });
  }

  /** Stops the workers. Batches still in flight are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new InternalError('compression pool closed with batches in flight'));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private compressHere(pages: Uint8Array, pageSize: number, count: number, stride: number): CompressedBatch {
    const data = new Uint8Array(count * stride);
    const lengths = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const start = i * pageSize;
      const page = pages.subarray(start, Math.min(start + pageSize, pages.length));
      lengths[i] = this.localCodec.compress(page, data.subarray(i * stride, (i + 1) * stride));
    }
    return { count, stride, data, lengths };
  }

  private onReply(reply: CompressReply): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    if (reply.error !== undefined) {
      this.settle(reply.id);
      p.reject(new InternalError(`compression worker: ${reply.error}`));
      return;
    }
    if (--p.remaining === 0) {
      this.settle(reply.id);
      p.resolve(p.batch);
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.setBusy(false);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.setBusy(false);
  }
}
