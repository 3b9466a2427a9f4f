/**
 * Compresses a batch of distinct pages for the page store: the hot loop of
 * pack, run inline or in a worker thread (compress-worker.ts).
 *
 * For each page: LZ4-compress it straight into `out` at the cursor; when
 * the block is not shorter than the page, overwrite it with the raw page.
 * Then checksum the stored bytes (FORMAT.md section 4: storedChecksum). `out` must
 * hold count * pageSize + (compressBound(pageSize) - pageSize) bytes, since
 * every stored page takes at most pageSize bytes and the encoder may write
 * up to the bound before we see that a page does not pay.
 */
import type { PageHash64 } from '../scan/hash.js';
import { checksum32 } from './format.js';
import { compressBound, type PageCodec } from '../codec/index.js';

export function batchOutputBytes(count: number, pageSize: number): number {
  return count * pageSize + compressBound(pageSize) - pageSize;
}

/** Returns the number of bytes used in `out`; `lengths[i]` is page i's stored length (== pageSize: raw). */
export function compressBatch(
  codec: PageCodec,
  hash: PageHash64,
  pages: Uint8Array,
  count: number,
  pageSize: number,
  out: Uint8Array,
  lengths: Uint32Array,
  storedChecksums: Uint32Array,
): number {
  let cursor = 0;
  for (let i = 0; i < count; i++) {
    const page = pages.subarray(i * pageSize, (i + 1) * pageSize);
    const n = codec.compress(page, out.subarray(cursor));
    let length: number;
    if (n > 0 && n < pageSize) {
      length = n;
    } else {
      out.set(page, cursor);
      length = pageSize;
    }
    lengths[i] = length;
    storedChecksums[i] = checksum32(hash(out.subarray(cursor, cursor + length)));
    cursor += length;
  }
  return cursor;
}
