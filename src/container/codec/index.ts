/**
 * Per-page block codecs: the interface (codec.ts), the implementations, and
 * lookup by name. 'lz4' is the default: the WebAssembly codec written here
 * (src/codec/lz4-wasm.ts), measured against native liblz4 in docs/notes/codec.md.
 */
import { UsageError } from '../../errors.js';
import type { CodecName, PageCodec } from './codec.js';
import { Lz4Codec } from './lz4.js';
import { Lz4jsCodec } from './lz4js.js';
import { NoneCodec } from './none.js';

export type { CodecName, PageCodec } from './codec.js';
export { compressBound } from './lz4-block.js';
export { checkLz4Block } from './lz4-check.js';
export { Lz4Wasm, decodeLz4Block } from '../../codec/lz4-wasm.js';

export const DEFAULT_CODEC: CodecName = 'lz4';
export const CODEC_NAMES: readonly CodecName[] = ['lz4', 'lz4js', 'none'];

export function isCodecName(name: string): name is CodecName {
  return (CODEC_NAMES as readonly string[]).includes(name);
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
