/**
 * The LZ4 block codec the container uses for one page: the project's
 * page-tuned encoder and bounds-checked decoder (src/container/codec/,
 * chosen by measurement in docs/notes/codec.md). The decoder refuses any
 * block that does not decode to exactly one page (ContainerError 'E_LZ4').
 */
import { getCodec, DEFAULT_CODEC, type CodecName, type PageCodec } from './codec/index.js';

export type { PageCodec } from './codec/index.js';
export { compressBound } from './codec/index.js';

/** The codecs a container's compressed pages can use (FORMAT.md section 3.1: the LZ4 and ZSTD flags). */
export type StoreCodec = Extract<CodecName, 'lz4' | 'zstd'>;

/**
 * A fresh codec instance (each holds its own scratch tables; one per worker
 * or stream). 'zstd' needs `await loadCodec('zstd')` first.
 */
export function createPageCodec(name: StoreCodec = DEFAULT_CODEC as StoreCodec, level?: number): PageCodec {
  return getCodec(name, level === undefined ? {} : { level });
}
