/**
 * The LZ4 block codec the container uses for one page, behind the small
 * interface `{ compress(src, dst): number; decompress(src, dst): void }`.
 *
 * Interim implementation on lz4js until src/container/codec/ lands:
 * - compress: lz4js's compressBlock with its 64K-entry hash table cleared
 *   before every page (it trusts every non-zero entry). It returns 0 when it
 *   found no match; the caller then stores the page raw, as it does for any
 *   result not shorter than the page.
 * - decompress: lz4js's decompressBlock checks nothing. Writes past the end
 *   of a typed array are dropped and reads past the end give undefined, so
 *   it cannot crash, but it can produce too few or too many bytes. We refuse
 *   unless it produced exactly dst.length bytes; damage that keeps the
 *   length is caught by the checksums the caller checks around every decode.
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
      return n === 0 ? src.length : n;
    },
    decompress(src, dst) {
      const n = lz4js.decompressBlock(src, dst, 0, src.length, 0);
      if (n !== dst.length) {
        throw new ContainerError('E_LZ4', `LZ4 block decodes to ${Number.isFinite(n) ? n : 'an invalid number of'} bytes, expected ${dst.length}`, {
          expected: dst.length,
          actual: n,
        });
      }
    },
  };
}
