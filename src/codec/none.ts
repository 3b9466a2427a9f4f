/**
 * Codec 'none': pages are stored as they are, so a page-aligned page store
 * can be mapped straight out of the container (`--codec none`).
 */
import { ContainerError } from '../errors.js';
import type { PageCodec } from './codec.js';

export class NoneCodec implements PageCodec {
  readonly name = 'none' as const;

  compress(src: Uint8Array, dst: Uint8Array): number {
    dst.set(src);
    return src.length;
  }

  decompress(src: Uint8Array, dst: Uint8Array): void {
    if (src.length !== dst.length) {
      throw new ContainerError('E_PAGE_LENGTH', `stored page is ${src.length} bytes, expected ${dst.length}`, {
        field: 'page',
        expected: dst.length,
        actual: src.length,
      });
    }
    dst.set(src);
  }
}
