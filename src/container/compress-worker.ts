/**
 * Worker thread for pack: compresses batches of pages (compress-batch.ts)
 * and sends them back. One codec instance (with its own scratch state) per
 * worker. Messages: CompressRequest in, CompressReply out; buffers are
 * transferred, never copied.
 */
import { parentPort } from 'node:worker_threads';
import { loadPageHasher } from '../scan/hash.js';
import { batchOutputBytes, compressBatch } from './compress-batch.js';
import type { PageCodec } from '../codec/codec.js';
import { createPageCodec, loadCodec, type StoreCodec } from '../codec/index.js';

export interface CompressRequest {
  batch: number;
  pages: ArrayBuffer;
  count: number;
  pageSize: number;
  codec: StoreCodec;
  /** zstd's level. */
  level?: number;
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
  let codec: PageCodec | undefined;
  let codecKey = '';
  // Requests are handled one after another, in order, even while a codec loads.
  let queue: Promise<void> = Promise.resolve();
  const handle = async (request: CompressRequest): Promise<void> => {
    const { batch, count, pageSize } = request;
    const key = `${request.codec} ${request.level ?? ''}`;
    if (codec === undefined || key !== codecKey) {
      await loadCodec(request.codec);
      codec = createPageCodec(request.codec, request.level);
      codecKey = key;
    }
    const pages = new Uint8Array(request.pages);
    const out = new Uint8Array(batchOutputBytes(count, pageSize));
    const lengths = new Uint32Array(count);
    const storedChecksums = new Uint32Array(count);
    const used = compressBatch(codec, hash, pages, count, pageSize, out, lengths, storedChecksums);
    const reply: CompressReply = { batch, pages: request.pages, out: out.buffer, used, lengths, storedChecksums };
    port.postMessage(reply, [request.pages, out.buffer, lengths.buffer, storedChecksums.buffer]);
  };
  port.on('message', (request: CompressRequest) => {
    queue = queue.then(() => handle(request));
  });
}
