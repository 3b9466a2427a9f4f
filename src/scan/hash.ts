/**
 * Page hashing with xxhash-wasm's XXH64 (seed 0), the same function as
 * `xxhsum -H1`. The package returns a bigint per call; that bigint is the
 * only object made per page: pages are passed as views, never copied into
 * new buffers, and PageIndex splits the bigint into two 32-bit words
 * through a reused BigUint64Array.
 */
import xxhash from 'xxhash-wasm';

/** A 64-bit page hash function. Tests inject colliding ones. */
export type PageHash64 = (page: Uint8Array) => bigint;

let loaded: Promise<PageHash64> | undefined;

/** Loads the WebAssembly hasher once per process. */
export function loadPageHasher(): Promise<PageHash64> {
  loaded ??= xxhash().then((api) => (page: Uint8Array) => api.h64Raw(page));
  return loaded;
}
