/**
 * Codec 'lz4': the WebAssembly page codec (lz4-wasm.ts): the kernel's
 * LZ4_compress_fast and a strict decoder, both written here.
 */
import type { PageCodec } from './codec.js';
import { Lz4Wasm } from './lz4-wasm.js';

export class Lz4Codec implements PageCodec {
  readonly name = 'lz4' as const;
  private readonly wasm = new Lz4Wasm();

  compress(src: Uint8Array, dst: Uint8Array): number {
    return this.wasm.compress(src, dst);
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    this.wasm.decompress(src, dst);
  }
}
