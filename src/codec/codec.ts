/**
 * The per-page block codec interface, so that implementations can be
 * measured side by side (src/bench/codec.ts) and swapped by name.
 *
 * Every LZ4 codec writes and reads the standard LZ4 block format (no frame):
 * a page compressed by one is decoded by any other, and by any LZ4 block
 * decoder elsewhere. A codec instance holds scratch state (a hash table) and
 * must not be used by two callers at once; create one per worker or stream.
 */
import type { BranchFilter } from './branch-filter.js';

export type CodecName = 'lz4' | 'lz4js' | 'zstd' | 'none';

export interface PageCodec {
  /**
   * 'lz4': the WebAssembly codec written here, the kernel's compressor and a
   * strict decoder (the default: docs/notes/codec.md); 'lz4js': lz4js's
   * compressBlock and decompressBlock, with our checks around them; 'zstd':
   * one Zstandard frame per page (zstd.ts; the container stores it as a
   * tagged block, zstd-page.ts); 'none': stores bytes as they
   * are. Other implementations (a test's replay of a kernel's blocks) name
   * themselves.
   */
  readonly name: CodecName | (string & {});
  /**
   * Compresses src into dst (dst.length >= compressBound(src.length)) and
   * returns the compressed length, which can exceed src.length for
   * incompressible input: the caller then stores the page raw. `filter`
   * (branch-filter.ts) is a hint that src is machine code of that kind;
   * codecs that have no use for it ignore it.
   */
  compress(src: Uint8Array, dst: Uint8Array, filter?: BranchFilter): number;
  /**
   * Decodes src into dst. Throws ContainerError (code 'E_LZ4', 'E_ZSTD' for
   * 'zstd', or 'E_PAGE_LENGTH' for 'none') unless src decodes to exactly dst.length
   * bytes while staying inside both buffers.
   */
  decompress(src: Uint8Array, dst: Uint8Array): void;
}
