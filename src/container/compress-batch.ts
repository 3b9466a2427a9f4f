/**
 * Compresses a batch of distinct pages for the page store: the hot loop of
 * pack, run inline or in a worker thread (compress-worker.ts).
 *
 * For each page: its LZ4 block when that is shorter than the page, else the
 * raw page, back to back (one WebAssembly call for the batch: Lz4Wasm's
 * compressPages). Then the storedChecksum of each (FORMAT.md section 4): a
 * raw page's stored bytes are the page, so it is the pageChecksum the caller
 * already has; only LZ4 blocks are hashed, in place in the hasher's memory
 * after one copy of the batch's output, with no bigint per page.
 *
 * A BatchCompressor owns its codec and hasher instances and reuses their
 * memory from batch to batch; results are views valid until the next call.
 */
import { Lz4Wasm } from '../codec/lz4-wasm.js';
import { createXxh64Pages, type Xxh64Pages } from '../scan/xxh64-wasm.js';
import { checksum32 } from './format.js';
import type { PageHash64 } from '../scan/hash.js';

export interface CompressedBatch {
  /** The stored pages back to back. */
  data: Uint8Array;
  /** Stored length of page i: < pageSize an LZ4 block, == pageSize the raw page. */
  lengths: Uint32Array;
  /** checksum32 of XXH64 of each page's stored bytes. */
  storedChecksums: Uint32Array;
}

export class BatchCompressor {
  private readonly lz4 = new Lz4Wasm();
  private storedChecksums = new Uint32Array(0);

  private constructor(
    private readonly hasher: Xxh64Pages | undefined,
    private readonly fallbackHash: PageHash64 | undefined,
  ) {}

  /** `fallbackHash` is used only when the XXH64 module is not built. */
  static async create(fallbackHash?: PageHash64): Promise<BatchCompressor> {
    const hasher = await createXxh64Pages();
    if (!hasher && !fallbackHash) {
      const { loadPageHasher } = await import('../scan/hash.js');
      return new BatchCompressor(undefined, await loadPageHasher());
    }
    return new BatchCompressor(hasher, fallbackHash);
  }

  /** Compresses pages[0, count * pageSize); pageChecksums[i] is checksum32 of page i's XXH64. */
  compress(pages: Uint8Array, count: number, pageSize: number, pageChecksums: Uint32Array): CompressedBatch {
    const packed = this.lz4.compressPages(pages, count, pageSize);
    if (this.storedChecksums.length < count) this.storedChecksums = new Uint32Array(count);
    const sums = this.storedChecksums.subarray(0, count);
    const lengths = packed.lengths;
    if (this.hasher) {
      const copy = this.hasher.buffer(Math.max(packed.used, 1));
      copy.set(packed.data);
      let at = 0;
      for (let i = 0; i < count; i++) {
        const length = lengths[i]!;
        sums[i] = length === pageSize ? pageChecksums[i]! : this.hasher.low32(at, length);
        at += length;
      }
    } else {
      let at = 0;
      for (let i = 0; i < count; i++) {
        const length = lengths[i]!;
        sums[i] = length === pageSize ? pageChecksums[i]! : checksum32(this.fallbackHash!(packed.data, at, length));
        at += length;
      }
    }
    return { data: packed.data, lengths, storedChecksums: sums };
  }
}
