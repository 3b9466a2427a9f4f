/**
 * Worker thread for pack: claims batches in the shared slots
 * (compress-slots.ts) one after another, compresses each in place in the
 * slot (compress-batch.ts) and marks it DONE. It blocks in Atomics.wait
 * between batches and sends no messages; it returns when QUIT is set. An
 * error ends the thread, which the main thread sees as its 'error' event.
 */
import { workerData } from 'node:worker_threads';
import type { StoreCodec } from '../codec/index.js';
import { BatchCompressor } from './compress-batch.js';
import { BatchSlots, NEXT_CLAIM, PHASE_DONE, PHASE_FULL, QUIT, tag, type SlotsShape } from './compress-slots.js';

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
  const control = slots.control;
  for (;;) {
    const batch = Atomics.add(control, NEXT_CLAIM, 1);
    const slot = batch % data.shape.slots;
    const word = slots.stateWord(slot);
    const full = tag(batch, PHASE_FULL);
    for (;;) {
      if (Atomics.load(control, QUIT) !== 0) return;
      const state = Atomics.load(control, word);
      if (state === full) {
        if (slots.take(batch)) {
          slots.compressInto(slot, compressor);
          slots.publish(batch, PHASE_DONE);
        }
        break;
      }
      // Taken (and maybe done) by the main thread: on to the next batch.
      if (state > full) break;
      // The slot still holds an earlier batch, or batch `batch` is being filled.
      Atomics.wait(control, word, state);
    }
  }
}

if (workerData) await run(workerData as CompressWorkerData);
