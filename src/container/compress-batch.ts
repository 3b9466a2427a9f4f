/**
 * Compresses a batch of distinct pages for the page store: the hot loop of
 * pack, run inline or in a worker thread (compress-worker.ts).
 *
 * Each page is stored as its compressed block when that is shorter than the
 * page, else raw, back to back. For LZ4 the whole batch is one WebAssembly
 * call (Lz4Wasm.compressPages); other codecs go page by page. Then the
 * storedChecksum of each (FORMAT.md section 4): a raw page's stored bytes
 * are the page, so it is the pageChecksum the caller already has; only
 * compressed blocks are hashed, with no bigint per page: for LZ4 in place in
 * the codec's memory, for other codecs in the hasher's memory after one copy
 * of the batch's output.
 *
 * A BatchCompressor owns its codec and hasher instances and reuses their
 * memory from batch to batch; results are views valid until the next call.
 */
import type { BranchFilter, PageCodec, StoreCodec } from '../codec/index.js';
import { compressBound } from '../codec/lz4-block.js';
import { Lz4Wasm } from '../codec/lz4-wasm.js';
import type { PageHash64 } from '../scan/hash.js';
import { createXxh64Pages, xxh64Low32In, type Xxh64Pages } from '../scan/xxh64-wasm.js';
import { checksum32 } from './format.js';

export interface CompressedBatch {
  /** The stored pages back to back. */
  data: Uint8Array;
  /** Stored length of page i: < pageSize a compressed block, == pageSize the raw page. */
  lengths: Uint32Array;
  /** checksum32 of XXH64 of each page's stored bytes. */
  storedChecksums: Uint32Array;
}

export class BatchCompressor {
  private storedChecksums = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  private out = new Uint8Array(0);

  private constructor(
    private readonly lz4: Lz4Wasm | undefined,
    private readonly codec: PageCodec | undefined,
    private readonly hasher: Xxh64Pages | undefined,
    private readonly fallbackHash: PageHash64 | undefined,
    /** XXH64's low word of bytes in the LZ4 codec's memory, hashed where they are. */
    private readonly low32InCodec: ((ptr: number, length: number) => number) | undefined,
  ) {}

  /** A compressor for `codec` ('zstd': at `level`). */
  static async create(codec: StoreCodec = 'lz4', level?: number): Promise<BatchCompressor> {
    let lz4: Lz4Wasm | undefined;
    let generic: PageCodec | undefined;
    if (codec === 'lz4') lz4 = new Lz4Wasm();
    else {
      // The codec registry (and zstd) only when asked for: a worker thread starts with fewer modules.
      const { createPageCodec, loadCodec } = await import('../codec/index.js');
      await loadCodec(codec);
      generic = createPageCodec(codec, level);
    }
    const low32InCodec = lz4 ? await xxh64Low32In(lz4.memory) : undefined;
    const hasher = low32InCodec ? undefined : await createXxh64Pages();
    // Without the built XXH64 module, the package's hasher (slower, same values).
    const fallback = low32InCodec || hasher ? undefined : await (await import('../scan/hash.js')).loadPageHasher();
    return new BatchCompressor(lz4, generic, hasher, fallback, low32InCodec);
  }

  /**
   * Compresses pages[0, count * pageSize); pageChecksums[i] is checksum32 of
   * page i's XXH64, filters[i] its branch filter hint (used by zstd).
   */
  compress(
    pages: Uint8Array,
    count: number,
    pageSize: number,
    pageChecksums: Uint32Array,
    filters?: Uint8Array,
  ): CompressedBatch {
    let data: Uint8Array;
    let lengths: Uint32Array;
    if (this.lz4) {
      const packed = this.lz4.compressPages(pages, count, pageSize);
      data = packed.data;
      lengths = packed.lengths;
    } else {
      ({ data, lengths } = this.compressEach(pages, count, pageSize, filters));
    }
    if (this.storedChecksums.length < count) this.storedChecksums = new Uint32Array(count);
    const sums = this.storedChecksums.subarray(0, count);
    const inCodec = this.lz4 ? this.low32InCodec : undefined;
    const hasher = this.hasher;
    if (inCodec) {
      let ptr = data.byteOffset;
      for (let i = 0; i < count; i++) {
        const length = lengths[i]!;
        sums[i] = length === pageSize ? pageChecksums[i]! : inCodec(ptr, length);
        ptr += length;
      }
      return { data, lengths, storedChecksums: sums };
    }
    if (hasher) hasher.buffer(Math.max(data.length, 1)).set(data);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      if (length === pageSize) sums[i] = pageChecksums[i]!;
      else sums[i] = hasher ? hasher.low32(at, length) : checksum32(this.fallbackHash!(data, at, length));
      at += length;
    }
    return { data, lengths, storedChecksums: sums };
  }

  /** Page by page with a PageCodec, into this compressor's own output buffer. */
  private compressEach(
    pages: Uint8Array,
    count: number,
    pageSize: number,
    filters: Uint8Array | undefined,
  ): { data: Uint8Array; lengths: Uint32Array } {
    // Every stored page takes at most pageSize bytes, but the encoder may write up to the bound first.
    const need = count * pageSize + compressBound(pageSize) - pageSize;
    if (this.out.length < need) this.out = new Uint8Array(need);
    if (this.lengths.length < count) this.lengths = new Uint32Array(count);
    const out = this.out;
    const lengths = this.lengths.subarray(0, count);
    let cursor = 0;
    for (let i = 0; i < count; i++) {
      const page = pages.subarray(i * pageSize, (i + 1) * pageSize);
      const n = this.codec!.compress(page, out.subarray(cursor), (filters?.[i] ?? 0) as BranchFilter);
      let length = n;
      if (!(n > 0 && n < pageSize)) {
        out.set(page, cursor);
        length = pageSize;
      }
      lengths[i] = length;
      cursor += length;
    }
    return { data: out.subarray(0, cursor), lengths };
  }
}
