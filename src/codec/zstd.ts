/**
 * Codec 'zstd': one Zstandard frame per page, through @bokuweb/zstd-wasm
 * (zstd compiled to WebAssembly, MIT, no install scripts; chosen by
 * measurement: docs/notes/codec.md). Every page stays independently
 * decodable by any zstd decoder (`zstd -d`, libzstd).
 *
 * The package loads its WebAssembly asynchronously: call `await loadZstd()`
 * once before creating a ZstdCodec. Compression and decompression reuse one
 * context per codec instance. Decoding first walks the frame
 * (zstd-frame.ts: exactly one frame declaring exactly one page), then lets
 * the library decode it into a page-sized buffer, and checks the size.
 */
import { createRequire } from 'node:module';
import { ContainerError, InternalError, UsageError } from '../errors.js';
import { checkZstdFrame } from './zstd-frame.js';

interface ZstdWasm {
  init(): Promise<void>;
  createCCtx(): number;
  createDCtx(): number;
  compressUsingDict(cctx: number, src: Uint8Array, dict: Uint8Array, level: number): Uint8Array;
  decompressUsingDict(dctx: number, src: Uint8Array, dict: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array;
}

export const ZSTD_DEFAULT_LEVEL = 3;
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 19;

const NO_DICT = new Uint8Array(0);
let lib: ZstdWasm | undefined;
let loading: Promise<void> | undefined;

/** Loads the zstd WebAssembly module (once per thread). */
export function loadZstd(): Promise<void> {
  loading ??= (async () => {
    const z = createRequire(import.meta.url)('@bokuweb/zstd-wasm') as ZstdWasm;
    await z.init();
    lib = z;
  })();
  return loading;
}

export function zstdLoaded(): boolean {
  return lib !== undefined;
}

/** Checks a compression level given on the command line or in options. */
export function checkZstdLevel(level: number): number {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL) {
    throw new UsageError(`zstd level must be an integer from ${ZSTD_MIN_LEVEL} to ${ZSTD_MAX_LEVEL}, not ${level}`, {
      field: 'level',
      actual: level,
    });
  }
  return level;
}

export class ZstdCodec {
  readonly name = 'zstd' as const;
  readonly level: number;
  private readonly z: ZstdWasm;
  private readonly cctx: number;
  private readonly dctx: number;

  constructor(level = ZSTD_DEFAULT_LEVEL) {
    if (lib === undefined) throw new InternalError('the zstd module is not loaded (await loadZstd() first)');
    this.z = lib;
    this.level = checkZstdLevel(level);
    this.cctx = lib.createCCtx();
    this.dctx = lib.createDCtx();
  }

  /**
   * Compresses src into one frame in dst and returns its length. A frame
   * longer than dst (only for incompressible input, longer than the page)
   * is not written: its length is returned, and the caller stores the page raw.
   */
  compress(src: Uint8Array, dst: Uint8Array): number {
    const frame = this.z.compressUsingDict(this.cctx, src, NO_DICT, this.level);
    if (frame.length <= dst.length) dst.set(frame);
    return frame.length;
  }

  /** Decodes one frame into exactly dst.length bytes; throws ContainerError 'E_ZSTD' otherwise, leaving dst untouched. */
  decompress(src: Uint8Array, dst: Uint8Array): void {
    checkZstdFrame(src, dst.length);
    let page: Uint8Array;
    try {
      page = this.z.decompressUsingDict(this.dctx, src, NO_DICT);
    } catch (err) {
      throw new ContainerError(
        'E_ZSTD',
        `zstd frame: does not decode (${err instanceof Error ? err.message : String(err)})`,
        { field: 'zstd frame' },
      );
    }
    if (page.length !== dst.length) {
      throw new ContainerError('E_ZSTD', `zstd frame: decodes to ${page.length} bytes, expected ${dst.length}`, {
        field: 'zstd frame',
        expected: dst.length,
        actual: page.length,
      });
    }
    dst.set(page);
  }
}
