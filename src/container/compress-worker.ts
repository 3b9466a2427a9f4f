/**
 * Worker thread for pack: compresses batches of pages (compress-batch.ts)
 * and sends them back. One BatchCompressor (codec and hasher instances) per
 * worker and codec setting. Messages: CompressRequest in, CompressReply out;
 * the page buffer and the output buffer are transferred both ways and
 * recycled by the caller, never copied by postMessage.
 */
import { parentPort } from 'node:worker_threads';
import type { StoreCodec } from '../codec/index.js';
import { BatchCompressor } from './compress-batch.js';

export interface CompressRequest {
  batch: number;
  pages: ArrayBuffer;
  /** Where the stored bytes go: at least count * pageSize bytes. */
  out: ArrayBuffer;
  count: number;
  pageSize: number;
  /** checksum32 of each page's XXH64 (a raw page's storedChecksum). */
  pageChecksums: Uint32Array;
  /** Branch filter hint of each page (branch-filter.ts). */
  filters: Uint8Array;
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
  let compressor: BatchCompressor | undefined;
  let compressorKey = '';
  // Requests are handled one after another, in order, even while a codec loads.
  let queue: Promise<void> = Promise.resolve();
  const handle = async (request: CompressRequest): Promise<void> => {
    const { batch, count, pageSize } = request;
    const key = `${request.codec} ${request.level ?? ''}`;
    if (compressor === undefined || key !== compressorKey) {
      compressor = await BatchCompressor.create(request.codec, request.level);
      compressorKey = key;
    }
    const r = compressor.compress(
      new Uint8Array(request.pages),
      count,
      pageSize,
      request.pageChecksums,
      request.filters,
    );
    new Uint8Array(request.out).set(r.data);
    const reply: CompressReply = {
      batch,
      pages: request.pages,
      out: request.out,
      used: r.data.length,
      lengths: r.lengths.slice(),
      storedChecksums: r.storedChecksums.slice(),
    };
    port.postMessage(reply, [request.pages, request.out]);
  };
  port.on('message', (request: CompressRequest) => {
    queue = queue.then(() => handle(request));
  });
}
