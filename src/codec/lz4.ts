/**
 * Codec 'lz4': the page-tuned encoder (lz4-encoder.ts) and the safe decoder
 * (lz4-decoder.ts), both written here.
 */
import type { PageCodec } from './codec.js';
import { Lz4BlockDecoder } from './lz4-decoder.js';
import { Lz4PageEncoder } from './lz4-encoder.js';

export class Lz4Codec implements PageCodec {
  readonly name = 'lz4' as const;
  private readonly encoder = new Lz4PageEncoder();
  private readonly decoder = new Lz4BlockDecoder();

  compress(src: Uint8Array, dst: Uint8Array): number {
    return this.encoder.compress(src, dst);
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    this.decoder.decode(src, dst);
  }
}
