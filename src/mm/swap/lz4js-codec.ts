/**
 * A PageCodec over the lz4js package (LZ4 block format), used until the
 * project's own codec lands; any PageCodec can replace it.
 *
 * lz4js ships no types, so the few block functions used are typed here and
 * the module is loaded with createRequire (no ambient module declaration).
 *
 * Determinism: lz4js keeps positions in a 65536-entry hash table that must
 * be empty when a block starts, and clearing it costs more than a page.
 * Instead each page is copied into a scratch buffer at a new base, at least
 * 65536 + pageSize bytes after the previous one. A stale table entry then
 * lies more than 65535 bytes back (the largest LZ4 offset), and lz4js drops
 * such candidates before looking at them, so the output is exactly what a
 * fresh table gives. The table is cleared once per BASES_PER_CLEAR pages.
 */
import { createRequire } from 'node:module';
import { InternalError } from '../../errors.js';
import { lz4CompressBound, type PageCodec } from './types.js';

interface Lz4jsBlockApi {
  /** Returns the compressed length, or 0 when nothing matched and sIndex was 0. */
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  /** Returns the output index after the last byte written; checks nothing. */
  decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
}

const lz4js = createRequire(import.meta.url)('lz4js') as Lz4jsBlockApi;

const HASH_ENTRIES = 1 << 16;
const MAX_OFFSET = 65535;
const BASES_PER_CLEAR = 32;
const RUN_MASK = 15;

export class Lz4jsPageCodec implements PageCodec {
  readonly name = 'lz4js';
  private readonly hashTable = new Uint32Array(HASH_ENTRIES);
  private scratch = new Uint8Array(0);
  private stride = 0;
  private nextBase = BASES_PER_CLEAR;

  compress(src: Uint8Array, dst: Uint8Array): number {
    const n = src.length;
    if (dst.length < lz4CompressBound(n)) {
      throw new InternalError(`lz4 output buffer of ${dst.length} bytes is below the bound ${lz4CompressBound(n)}`);
    }
    if (n + MAX_OFFSET + 1 > this.stride) {
      this.stride = n + MAX_OFFSET + 1;
      this.scratch = new Uint8Array(this.stride * BASES_PER_CLEAR);
      this.nextBase = BASES_PER_CLEAR;
    }
    if (this.nextBase === BASES_PER_CLEAR) {
      this.hashTable.fill(0);
      this.nextBase = 0;
    }
    const base = this.nextBase++ * this.stride;
    this.scratch.set(src, base);
    const written = lz4js.compressBlock(this.scratch, dst, base, n, this.hashTable);
    return written > 0 ? written : writeLiterals(src, dst);
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    const end = lz4js.decompressBlock(src, dst, 0, src.length, 0);
    if (end !== dst.length) {
      throw new InternalError(`lz4 block decoded to ${end} bytes, expected ${dst.length}`);
    }
  }
}

/** A literal-only LZ4 block (lz4js returns 0 instead of writing one when base 0 found no match). */
function writeLiterals(src: Uint8Array, dst: Uint8Array): number {
  const n = src.length;
  let op = 0;
  if (n >= RUN_MASK) {
    dst[op++] = RUN_MASK << 4;
    let rest = n - RUN_MASK;
    for (; rest >= 255; rest -= 255) dst[op++] = 255;
    dst[op++] = rest;
  } else {
    dst[op++] = n << 4;
  }
  dst.set(src, op);
  return op + n;
}
