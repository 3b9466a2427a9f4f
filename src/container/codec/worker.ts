/**
 * The compression worker of pool.ts. It receives a slice of a batch: pages
 * in a SharedArrayBuffer, an output SharedArrayBuffer with one slot of
 * `stride` bytes per page, and an Int32Array of lengths. It compresses pages
 * [first, end) into their slots, writes their lengths and replies with the
 * job id. One codec instance per worker and codec name (they hold scratch).
 *
 * This file must be compiled (dist/container/codec/worker.js): Node runs
 * workers from JavaScript. pool.ts falls back to the calling thread when it
 * is missing.
 */
import { parentPort } from 'node:worker_threads';
import { getCodec, type PageCodec } from './index.js';

export interface CompressJob {
  id: number;
  codec: string;
  input: SharedArrayBuffer;
  inputLength: number;
  output: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  pageSize: number;
  stride: number;
  first: number;
  end: number;
}

export type CompressReply = { id: number; error?: undefined } | { id: number; error: string };

const codecs = new Map<string, PageCodec>();

function run(job: CompressJob): void {
  let codec = codecs.get(job.codec);
  if (codec === undefined) {
    codec = getCodec(job.codec);
    codecs.set(job.codec, codec);
  }
  const input = new Uint8Array(job.input, 0, job.inputLength);
  const output = new Uint8Array(job.output);
  const lengths = new Int32Array(job.lengths);
  for (let i = job.first; i < job.end; i++) {
    const start = i * job.pageSize;
    const page = input.subarray(start, Math.min(start + job.pageSize, job.inputLength));
    lengths[i] = codec.compress(page, output.subarray(i * job.stride, (i + 1) * job.stride));
  }
}

parentPort?.on('message', (job: CompressJob) => {
  let reply: CompressReply;
  try {
    run(job);
    reply = { id: job.id };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});
