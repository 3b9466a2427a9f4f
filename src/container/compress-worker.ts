/**
 * Worker thread for pack: compresses batches of pages (compress-batch.ts)
 * and sends them back. One codec instance (with its own scratch state) per
 * worker. Messages: CompressRequest in, CompressReply out; buffers are
 * transferred, never copied.
 */
import { parentPort } from 'node:worker_threads';
import { loadPageHasher } from '../scan/hash.js';
import { batchOutputBytes, compressBatch } from './compress-batch.js';
import { createPageCodec } from '../codec/index.js';

export interface CompressRequest {
  batch: number;
  pages: ArrayBuffer;
  count: number;
  pageSize: number;
}

export interface CompressReply {
  batch: number;
  pages: ArrayBuffer;
  out: ArrayBuffer;
  used: number;
  lengths: Uint32Array;
  storedChecksums: Uint32Array;
}

const port = parentPort;
if (port) {
  const hash = await loadPageHasher();
  const codec = createPageCodec();
  port.on('message', (request: CompressRequest) => {
    const { batch, count, pageSize } = request;
    const pages = new Uint8Array(request.pages);
    const out = new Uint8Array(batchOutputBytes(count, pageSize));
    const lengths = new Uint32Array(count);
    const storedChecksums = new Uint32Array(count);
    const used = compressBatch(codec, hash, pages, count, pageSize, out, lengths, storedChecksums);
    const reply: CompressReply = { batch, pages: request.pages, out: out.buffer, used, lengths, storedChecksums };
    port.postMessage(reply, [request.pages, out.buffer, lengths.buffer, storedChecksums.buffer]);
  });
}
