/**
 * Per-page block codecs, shared by the container's page store and the swap
 * back ends: the interface (codec.ts), the implementations, and lookup by
 * name. 'lz4' is the default: the WebAssembly codec written here
 * (lz4-wasm.ts), whose compressor is the kernel's LZ4_compress_fast, measured
 * against native liblz4 in docs/notes/codec.md. 'zstd' (zstd.ts: one frame per page; the container wraps it as
 * zstd-page.ts) loads its
 * WebAssembly module asynchronously: `await loadCodec('zstd')` before
 * creating it. lz4js is loaded only when its codec is created.
 */
import { UsageError } from '../errors.js';
import type { CodecName, PageCodec } from './codec.js';
import { Lz4Codec } from './lz4.js';
import { Lz4jsCodec } from './lz4js.js';
import { NoneCodec } from './none.js';
import { ZstdCodec, loadZstd } from './zstd.js';
import { ZstdPageCodec } from './zstd-page.js';

export type { CodecName, PageCodec } from './codec.js';
export { compressBound } from './lz4-block.js';
export { checkLz4Block } from './lz4-check.js';
export { Lz4Wasm, Lz4PageError, decodeLz4Block } from './lz4-wasm.js';
export { ZSTD_DEFAULT_LEVEL, checkZstdLevel, loadZstd } from './zstd.js';
export { ZstdPageCodec, zstdFramePrefix } from './zstd-page.js';
export {
  BRANCH_ARM64,
  BRANCH_NONE,
  BRANCH_X86,
  BRANCH_X86_64,
  type BranchFilter,
  RIP_OPCODES,
  branchFilterFor,
  decodeBranches,
  encodeBranches,
} from './branch-filter.js';

export const DEFAULT_CODEC: CodecName = 'lz4';
export const CODEC_NAMES: readonly CodecName[] = ['lz4', 'lz4js', 'zstd', 'none'];

/** The codecs a container's compressed pages can use (FORMAT.md section 3.1: the LZ4 and ZSTD flags). */
export type StoreCodec = Extract<CodecName, 'lz4' | 'zstd'>;

export interface CodecOptions {
  /** zstd compression level (1..19, default 3); ignored by the other codecs. */
  level?: number;
}

export function isCodecName(name: string): name is CodecName {
  return (CODEC_NAMES as readonly string[]).includes(name);
}

/** Loads what a codec needs before getCodec can create it (zstd's WebAssembly module). */
export async function loadCodec(name: CodecName): Promise<void> {
  if (name === 'zstd') await loadZstd();
}

/**
 * The container's codec: a fresh instance (each holds its own scratch; one
 * per worker or stream). 'zstd' needs `await loadCodec('zstd')` first.
 */
export function createPageCodec(name: StoreCodec = 'lz4', level?: number): PageCodec {
  // The container stores zstd pages as tagged blocks (zstd-page.ts), not as the frames of getCodec('zstd').
  if (name === 'zstd') return new ZstdPageCodec(level);
  return getCodec(name, level === undefined ? {} : { level });
}

/**
 * The decoder of zstd pages stored as whole frames (requiredFlags bit 1,
 * written by earlier versions): getCodec('zstd'). `await loadCodec('zstd')` first.
 */
export function createZstdFrameCodec(): PageCodec {
  return new ZstdCodec();
}

/**
 * A new codec instance (each holds its own scratch state). Unknown names are
 * a UsageError; 'zstd' needs `await loadCodec('zstd')` first.
 */
export function getCodec(name: string, options: CodecOptions = {}): PageCodec {
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
    case 'zstd':
      return new ZstdCodec(options.level);
    case 'none':
      return new NoneCodec();
    default: {
      const unreachable: never = name;
      throw new UsageError(`unknown codec '${String(unreachable)}'`);
    }
  }
}
