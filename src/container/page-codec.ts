/**
 * The LZ4 block codec the container uses for one page: the project's
 * page-tuned encoder and bounds-checked decoder (src/container/codec/,
 * chosen by measurement in docs/notes/codec.md). The decoder refuses any
 * block that does not decode to exactly one page (ContainerError 'E_LZ4').
 */
import { getCodec, DEFAULT_CODEC, type PageCodec } from './codec/index.js';

export type { PageCodec } from './codec/index.js';
export { compressBound } from './codec/index.js';

/** A fresh codec instance (each holds its own scratch tables; one per worker or stream). */
export function createPageCodec(): PageCodec {
  return getCodec(DEFAULT_CODEC);
}
