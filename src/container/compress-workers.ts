/**
 * The compression worker threads of a pack (compress-worker.ts), and
 * starting them before pack() is called.
 *
 * A worker takes 70-110 ms to boot here (a Node isolate, its modules, the
 * LZ4 module). The CLI knows a pack's settings as soon as it has parsed
 * argv, so it calls startCompressWorkers first thing: the boot then
 * overlaps the main thread's module loading and walk, and the first batch
 * finds a worker ready. The next PageStoreWriter with the same settings
 * adopts those workers; one with other settings (a small input packs
 * without workers) stops them. Until adopted they are unref'd, so a pack
 * that fails earlier still lets the process exit. Output does not depend
 * on when the workers started.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../errors.js';
import { BatchSlots, type SlotsShape } from './compress-slots.js';
import type { CompressWorkerData } from './compress-worker.js';
import { compiledModule } from './workers.js';

const BATCH_BYTES = 512 * 1024;
/** Slots per worker: enough that workers rarely wait for the main thread to refill one. */
const SLOTS_PER_WORKER = 8;
const WORKER_URL = compiledModule('./compress-worker.js', import.meta.url);

/** True when the compiled worker script exists (it does not when running from TypeScript sources). */
export function workersAvailable(): boolean {
  return WORKER_URL !== undefined;
}

/** The default number of compression workers: one fewer than the CPUs, at most 3. */
export function defaultThreads(): number {
  return Math.min(3, os.availableParallelism() - 1);
}

/** The batch slots for `threads` workers (one slot without workers). */
export function slotsShape(pageSize: number, threads: number): SlotsShape {
  return {
    slots: Math.max(1, SLOTS_PER_WORKER * threads),
    batchPages: Math.max(1, Math.floor(BATCH_BYTES / pageSize)),
    pageSize,
  };
}

/** `threads` workers compressing batches of shared slots with one codec. */
export class CompressWorkers {
  readonly slots: BatchSlots;
  readonly workers: Worker[] = [];
  private handler: ((err: unknown) => void) | undefined;
  /** A failure before anyone listened, delivered to the first handler. */
  private earlyFailure: unknown;
  private stopping = false;
  private stopped: Promise<unknown> = Promise.resolve();

  constructor(pageSize: number, threads: number, codec: 'lz4' | 'zstd', level: number | undefined) {
    const shape = slotsShape(pageSize, threads);
    this.slots = BatchSlots.create(shape);
    if (!WORKER_URL) throw new InternalError('compression threads need the compiled worker (npm run build)');
    const workerData: CompressWorkerData = {
      buffer: this.slots.buffer,
      shape,
      codec,
      ...(level === undefined ? {} : { level }),
    };
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_URL, { workerData });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.stopping) this.fail(new InternalError(`a compression worker stopped (exit code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  /** Where failures go (a worker's error, or one that exits before stop()). */
  onFailure(handler: (err: unknown) => void): void {
    this.handler = handler;
    if (this.earlyFailure !== undefined) handler(this.earlyFailure);
  }

  /** Whether the workers keep the process alive. */
  keepAlive(on: boolean): void {
    for (const w of this.workers) on ? w.ref() : w.unref();
  }

  /** Tells the workers to quit; resolves when they have exited. */
  stop(): Promise<unknown> {
    if (!this.stopping) {
      this.stopping = true;
      this.slots.quit();
      this.stopped = Promise.all(this.workers.map((w) => w.terminate()));
    }
    return this.stopped;
  }

  private fail(err: unknown): void {
    if (this.handler) this.handler(err);
    else this.earlyFailure ??= err;
  }
}

let early: { key: string; workers: CompressWorkers } | undefined;

const keyOf = (pageSize: number, threads: number, codec: string, level: number | undefined) =>
  `${pageSize} ${threads} ${codec} ${level ?? ''}`;

/**
 * Starts the workers a pack with these settings will use (threads
 * undefined: the default), for the next PageStoreWriter to adopt. Does
 * nothing without the compiled worker or with no threads.
 */
export function startCompressWorkers(
  pageSize: number,
  codec: 'lz4' | 'zstd',
  threads = defaultThreads(),
  level?: number,
): void {
  if (!workersAvailable() || threads <= 0) return;
  void early?.workers.stop();
  const workers = new CompressWorkers(pageSize, threads, codec, level);
  workers.keepAlive(false);
  early = { key: keyOf(pageSize, threads, codec, level), workers };
}

/** The workers started early with exactly these settings, or new ones (the early ones, if any, stop). */
export function compressWorkers(
  pageSize: number,
  threads: number,
  codec: 'lz4' | 'zstd',
  level: number | undefined,
): CompressWorkers {
  const started = early;
  early = undefined;
  if (started?.key === keyOf(pageSize, threads, codec, level)) {
    started.workers.keepAlive(true);
    return started.workers;
  }
  void started?.workers.stop();
  return new CompressWorkers(pageSize, threads, codec, level);
}

/** Stops workers started early that no pack adopted (a pack without workers calls it). */
export function dropEarlyWorkers(): void {
  void early?.workers.stop();
  early = undefined;
}
