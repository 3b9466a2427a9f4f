/**
 * Worker thread for pack: claims batches in the shared slots
 * (compress-slots.ts) one after another, compresses each in place in the
 * slot (compress-batch.ts) and marks it DONE. It sleeps in Atomics.wait
 * while no batch is published and sends no messages; it returns on quit. An
 * error ends the thread, which the main thread sees as its 'error' event.
 */
import { workerData } from 'node:worker_threads';
import type { StoreCodec } from '../codec/index.js';
import { BatchCompressor } from './compress-batch.js';
import { BatchSlots, type SlotsShape } from './compress-slots.js';

export interface CompressWorkerData {
  buffer: SharedArrayBuffer;
  shape: SlotsShape;
  codec: StoreCodec;
  /** zstd's level. */
  level?: number;
}

async function run(data: CompressWorkerData): Promise<void> {
  const slots = new BatchSlots(data.buffer, data.shape);
  const compressor = await BatchCompressor.create(data.codec, data.level);
  for (let batch = slots.claim(); batch >= 0; batch = slots.claim()) {
    // False when the main thread took this batch first.
    if (!slots.take(batch)) continue;
    slots.compressInto(batch % data.shape.slots, compressor);
    slots.done(batch);
  }
}

if (workerData) await run(workerData as CompressWorkerData);
