/**
 * Page hashing with XXH64 (seed 0), the same function as `xxhsum -H1`;
 * values are unsigned 64-bit bigints, or pairs of u32 words in bulk.
 *
 * Two ways in:
 * - `loadPageHasher()` gives a plain function over any bytes: xxhash-wasm's
 *   `h64Raw`, which copies the bytes into its WebAssembly memory first.
 * - `createPageHasher()` gives a hasher with a reusable buffer *inside* a
 *   WebAssembly memory. The scanner reads files straight into that buffer
 *   and hashes a whole run of its pages in one call (`hashPages`), getting
 *   two u32 words per page: no copy, no object per page. The module is this
 *   project's own (xxh64-wasm.ts); when it is missing (not built) the hasher
 *   falls back to xxhash-wasm's module in place, then to its API through a
 *   copy: the same hashes, only slower.
 *
 * xxhash-wasm is imported only when one of its paths is used.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { WasmMemory, WasmModule } from './wasm-types.js';
import { createXxh64Pages } from './xxh64-wasm.js';

/**
 * A 64-bit page hash function over `length` bytes of `bytes` from `offset`
 * (defaults: the whole array). Tests inject colliding ones.
 */
export type PageHash64 = (bytes: Uint8Array, offset?: number, length?: number) => bigint;

export interface PageHasher {
  readonly hash: PageHash64;
  /**
   * A buffer of at least `bytes` bytes whose pages `hash` and `hashPages`
   * read in place. Its byteOffset is a multiple of 65536. Asking again for
   * more bytes grows the memory and invalidates buffers returned before.
   */
  buffer(bytes: number): Uint8Array;
  /**
   * XXH64 of `count` pages of `pageSize` bytes from `offset` of the current
   * buffer (count at most PAGES_PER_CALL): words 2i and 2i+1 of the result
   * are page i's low and high 32 bits. Valid until the next call.
   */
  hashPages(offset: number, pageSize: number, count: number): Uint32Array;
  /** True when `buffer` lives in WebAssembly memory and is hashed without a copy. */
  readonly inPlace: boolean;
  /** True when `hashPages` hashes a whole run in one WebAssembly call (this project's module). */
  readonly bulk: boolean;
}

/** Most pages one hashPages call takes, whichever hasher. */
export const PAGES_PER_CALL = 4096;

type Api = Awaited<ReturnType<typeof import('xxhash-wasm').default>>;

let apiLoaded: Promise<Api> | undefined;
const loadApi = (): Promise<Api> => (apiLoaded ??= import('xxhash-wasm').then((m) => m.default()));

/** Loads the package's hasher once per process. */
export async function loadPageHasher(): Promise<PageHash64> {
  const api = await loadApi();
  return (bytes, offset = 0, length = bytes.length - offset) =>
    api.h64Raw(offset === 0 && length === bytes.length ? bytes : bytes.subarray(offset, offset + length));
}

/**
 * A hasher with its own WebAssembly instance; see the file comment.
 * `inPlace: false` forces the copying fallback (for tests);
 * `module: 'xxhash-wasm'` skips this project's module (for tests).
 */
export async function createPageHasher(
  options: { inPlace?: boolean; module?: 'own' | 'xxhash-wasm' } = {},
): Promise<PageHasher> {
  if (options.inPlace !== false && options.module !== 'xxhash-wasm') {
    const own = await createXxh64Pages();
    if (own) {
      return {
        hash: (bytes, offset = 0, length = bytes.length - offset) => own.hash(bytes, offset, length),
        buffer: (bytes) => own.buffer(bytes),
        hashPages: (offset, pageSize, count) => own.hashPages(offset, pageSize, count),
        inPlace: true,
        bulk: true,
      };
    }
  }
  const api = await loadApi();
  const foreign: PageHash64 = (bytes, offset = 0, length = bytes.length - offset) =>
    api.h64Raw(offset === 0 && length === bytes.length ? bytes : bytes.subarray(offset, offset + length));
  if (options.inPlace === false) return plainHasher(foreign);
  return (await packageModuleHasher(foreign)) ?? plainHasher(foreign);
}

// The WebAssembly global as used here (tsconfig's lib has no WebAssembly types without DOM).
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule): Promise<{ exports: Record<string, unknown> }>;
  Memory: abstract new (...args: never[]) => WasmMemory;
};

interface XxhashExports {
  mem: WasmMemory;
  xxh64: (ptr: number, length: number, seed: bigint) => bigint;
}

let moduleLoaded: Promise<WasmModule | undefined> | undefined;

/** xxhash-wasm's WebAssembly module (workerd/xxhash.wasm), compiled once per process; undefined when it cannot be found. */
function loadPackageModule(): Promise<WasmModule | undefined> {
  moduleLoaded ??= (async () => {
    try {
      const entry = createRequire(import.meta.url).resolve('xxhash-wasm');
      const file = path.join(path.dirname(entry), '..', 'workerd', 'xxhash.wasm');
      return await WebAssembly.compile(readFileSync(file));
    } catch {
      return undefined;
    }
  })();
  return moduleLoaded;
}

const WASM_PAGE = 65536;

/** In place over xxhash-wasm's module: one call and one bigint per page. Undefined when unusable. */
async function packageModuleHasher(foreign: PageHash64): Promise<PageHasher | undefined> {
  const module = await loadPackageModule();
  const exports = module ? ((await WebAssembly.instantiate(module)).exports as unknown as XxhashExports) : undefined;
  if (!exports || typeof exports.xxh64 !== 'function' || !(exports.mem instanceof WebAssembly.Memory)) return undefined;
  const { mem, xxh64 } = exports;
  // The package's own code uses memory from offset 0; our buffer starts one WebAssembly page in.
  const base = WASM_PAGE;
  const hash: PageHash64 = (bytes, offset = 0, length = bytes.length - offset) => {
    if (bytes.buffer === mem.buffer) return BigInt.asUintN(64, xxh64(bytes.byteOffset + offset, length, 0n));
    return foreign(bytes, offset, length);
  };
  let current = new Uint8Array(0);
  const hasher: PageHasher = {
    hash,
    inPlace: true,
    bulk: false,
    buffer(bytes: number): Uint8Array {
      const need = base + bytes;
      if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / WASM_PAGE));
      current = new Uint8Array(mem.buffer, base, bytes);
      return current;
    },
    hashPages: perPage(hash, () => current),
  };
  // Self-check: the in-place result must equal the package's API on a test vector.
  const probe = hasher.buffer(WASM_PAGE);
  for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + (i >>> 8)) & 0xff;
  const sameAsApi =
    hash(probe, 1000, 4096) === foreign(probe.slice(1000, 5096)) && hash(probe) === foreign(probe.slice());
  return sameAsApi ? hasher : undefined;
}

function plainHasher(hash: PageHash64): PageHasher {
  let current = new Uint8Array(0);
  return {
    hash,
    inPlace: false,
    bulk: false,
    buffer(bytes: number): Uint8Array {
      if (current.length < bytes) current = new Uint8Array(bytes);
      return current.subarray(0, bytes);
    },
    hashPages: perPage(hash, () => current),
  };
}

/** hashPages through a per-page hash function. */
function perPage(hash: PageHash64, buffer: () => Uint8Array): PageHasher['hashPages'] {
  const results = new BigUint64Array(PAGES_PER_CALL);
  const words = new Uint32Array(results.buffer);
  return (offset, pageSize, count) => {
    if (count > PAGES_PER_CALL) throw new RangeError(`hashPages: ${count} pages, at most ${PAGES_PER_CALL} per call`);
    const bytes = buffer();
    for (let i = 0; i < count; i++) results[i] = hash(bytes, offset + i * pageSize, pageSize);
    return words.subarray(0, 2 * count);
  };
}
