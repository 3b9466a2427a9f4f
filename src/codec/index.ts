/**
 * Per-page block codecs, shared by the container's page store and the swap
 * back ends: the interface (codec.ts), the implementations, and lookup by
 * name. 'lz4' is the default: our page-tuned encoder measured faster than
 * lz4js at the same ratio (docs/notes/codec.md). lz4js is loaded only when
 * its codec is created.
 */
import { UsageError } from '../errors.js';
import type { CodecName, PageCodec } from './codec.js';
import { Lz4Codec } from './lz4.js';
import { Lz4jsCodec } from './lz4js.js';
import { NoneCodec } from './none.js';

export type { CodecName, PageCodec } from './codec.js';
export { compressBound } from './lz4-block.js';
export { Lz4BlockDecoder, decodeLz4Block, checkLz4Block } from './lz4-decoder.js';
export { Lz4PageEncoder } from './lz4-encoder.js';

export const DEFAULT_CODEC: CodecName = 'lz4';
export const CODEC_NAMES: readonly CodecName[] = ['lz4', 'lz4js', 'none'];

export function isCodecName(name: string): name is CodecName {
  return (CODEC_NAMES as readonly string[]).includes(name);
}

/** The container's codec: a fresh instance of DEFAULT_CODEC (each holds its own scratch; one per worker or stream). */
export function createPageCodec(): PageCodec {
  return getCodec(DEFAULT_CODEC);
}

/** A new codec instance (each holds its own scratch state). Unknown names are a UsageError. */
export function getCodec(name: string): PageCodec {
  if (!isCodecName(name)) {
    throw new UsageError(`unknown codec '${name}' (expected one of: ${CODEC_NAMES.join(', ')})`, {
      field: 'codec',
      expected: CODEC_NAMES,
      actual: name,
    });
  }
  switch (name) {
    case 'lz4':
      return new Lz4Codec();
    case 'lz4js':
      return new Lz4jsCodec();
    case 'none':
      return new NoneCodec();
    default: {
      const unreachable: never = name;
      throw new UsageError(`unknown codec '${String(unreachable)}'`);
    }
  }
}
