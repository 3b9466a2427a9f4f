/**
 * The LZ4 block codec the container uses for one page, behind the small
 * interface `{ compress(src, dst): number; decompress(src, dst): void }`.
 *
 * Interim implementation on lz4js until src/container/codec/ lands:
 * - compress: lz4js's compressBlock with its 64K-entry hash table cleared
 *   before every page (it trusts every non-zero entry). It returns 0 when it
 *   found no match, and about one block in seven breaks the end-of-block
 *   rules of the LZ4 format (its last match may start 10 or 11 bytes before
 *   the end; the format wants 12), which liblz4's LZ4_decompress_safe with
 *   the page size as capacity refuses. Such pages are stored raw: the caller
 *   stores any result not shorter than the page raw.
 * - decompress: lz4js's decompressBlock checks nothing, so the block is
 *   first walked by isValidBlock (the rules of LZ4_decompress_safe: lengths
 *   inside the block, offsets inside the decoded bytes, the end-of-block
 *   rules, exactly dst.length bytes out).
 */
import * as lz4js from 'lz4js';
import { ContainerError } from '../errors.js';

export interface PageCodec {
  /** Compresses src into dst (dst.length >= compressBound(src.length)); returns the length, or a value >= src.length when it does not pay. */
  compress(src: Uint8Array, dst: Uint8Array): number;
  /** Decodes src into dst; throws ContainerError 'E_LZ4' unless it decodes to exactly dst.length bytes. */
  decompress(src: Uint8Array, dst: Uint8Array): void;
}

export function compressBound(n: number): number {
  return (n + n / 255 + 16) | 0;
}

export function createPageCodec(): PageCodec {
  const hashTable = new Uint32Array(1 << 16);
  return {
    compress(src, dst) {
      hashTable.fill(0);
      const n = lz4js.compressBlock(src, dst, 0, src.length, hashTable);
      return n > 0 && n < src.length && isValidBlock(dst.subarray(0, n), src.length) ? n : src.length;
    },
    decompress(src, dst) {
      if (!isValidBlock(src, dst.length)) {
        throw new ContainerError('E_LZ4', `not an LZ4 block that decodes to exactly ${dst.length} bytes`, { expected: dst.length });
      }
      lz4js.decompressBlock(src, dst, 0, src.length, 0);
    },
  };
}

const MINMATCH = 4;
const LASTLITERALS = 5;
const MFLIMIT = 12;

/** True when `block` is an LZ4 block that LZ4_decompress_safe decodes to exactly `size` bytes. */
function isValidBlock(block: Uint8Array, size: number): boolean {
  const end = block.length;
  let ip = 0;
  let op = 0;
  for (;;) {
    if (ip >= end) return false;
    const token = block[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      for (let b = 255; b === 255; ) {
        if (ip >= end) return false;
        b = block[ip++]!;
        literals += b;
      }
    }
    if (ip + literals > end || op + literals > size) return false;
    ip += literals;
    op += literals;
    if (op > size - MFLIMIT || ip > end - (2 + 1 + LASTLITERALS)) return ip === end && op === size; // must be the last sequence
    const offset = block[ip]! | (block[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) return false;
    let match = (token & 15) + MINMATCH;
    if ((token & 15) === 15) {
      for (let b = 255; b === 255; ) {
        if (ip >= end) return false;
        b = block[ip++]!;
        match += b;
      }
    }
    op += match;
    if (op > size - LASTLITERALS) return false;
  }
}
