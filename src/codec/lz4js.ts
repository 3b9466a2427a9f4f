/**
 * Codec 'lz4js': lz4js 0.2's compressBlock and decompressBlock, kept as the
 * measured alternative (and the default before ours won, docs/notes/codec.md).
 *
 * What we add around lz4js, because it does not do it itself:
 * - compress: lz4js trusts every non-zero hash table entry, so its 64K-entry
 *   table is cleared before every page (most of its time); when it finds no
 *   match it returns 0, and we write the literal-only block. lz4js lets a
 *   match start 10 or 11 bytes before the end, which the reference decoder
 *   rejects (the last match must start at least 12 bytes before the end); when
 *   that happens we store the page as a literal-only block instead, so every
 *   block this codec writes is valid LZ4.
 * - decompress: decompressBlock checks nothing (output size, offsets,
 *   bounds), so the block is first walked by checkLz4Block, which throws
 *   ContainerError 'E_LZ4' on anything the safe decoder would refuse.
 *
 * lz4js itself is loaded when the first Lz4jsCodec is created, not when this
 * module is imported: only callers that ask for 'lz4js' pay for it.
 */
import { createRequire } from 'node:module';
import { InternalError } from '../errors.js';
import type { PageCodec } from './codec.js';
import { compressBound, writeLastLiterals } from './lz4-block.js';
import { checkLz4Block } from './lz4-check.js';

const LZ4JS_HASH_ENTRIES = 1 << 16;

type Lz4js = typeof import('lz4js');
let lz4jsModule: Lz4js | undefined;

/** lz4js, loaded on first use (CommonJS, so a synchronous require keeps getCodec synchronous). */
function loadLz4js(): Lz4js {
  return (lz4jsModule ??= createRequire(import.meta.url)('lz4js') as Lz4js);
}

export class Lz4jsCodec implements PageCodec {
  readonly name = 'lz4js' as const;
  private readonly hashTable = new Uint32Array(LZ4JS_HASH_ENTRIES);
  private readonly lz4js = loadLz4js();

  compress(src: Uint8Array, dst: Uint8Array): number {
    if (dst.length < compressBound(src.length)) {
      throw new InternalError(
        `lz4js: output buffer of ${dst.length} bytes is below the bound ${compressBound(src.length)}`,
      );
    }
    this.hashTable.fill(0);
    const length = this.lz4js.compressBlock(src, dst, 0, src.length, this.hashTable);
    if (length === 0 || !isValidBlock(dst.subarray(0, length), src.length)) {
      return writeLastLiterals(src, 0, src.length, dst, 0);
    }
    return length;
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    checkLz4Block(src, dst.length);
    this.lz4js.decompressBlock(src, dst, 0, src.length, 0);
  }
}

function isValidBlock(block: Uint8Array, outputLength: number): boolean {
  try {
    checkLz4Block(block, outputLength);
    return true;
  } catch {
    return false;
  }
}
