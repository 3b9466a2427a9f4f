/**
 * Page hashing with xxhash-wasm's XXH64 (seed 0), the same function as
 * `xxhsum -H1`; values are unsigned 64-bit bigints.
 *
 * Two ways in:
 * - `loadPageHasher()` gives a plain function over any bytes. It is the
 *   package's own `h64Raw`, which copies the bytes into its WebAssembly
 *   memory before hashing.
 * - `createPageHasher()` gives a hasher with its own instance of the same
 *   WebAssembly module (the package ships it as workerd/xxhash.wasm, byte
 *   for byte the module its JavaScript embeds) and a reusable buffer *inside*
 *   that instance's memory. The scanner reads files straight into that
 *   buffer, and pages in it are hashed in place: no copy, and the only
 *   object made per page is the bigint the WebAssembly call returns.
 *   Bytes outside the buffer still work (through the package's API).
 *
 * If the module file cannot be found, or its in-place result disagrees with
 * the package's API on a test vector, `createPageHasher` falls back to a
 * plain buffer and the package's API: the same hashes, only slower.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import xxhash from 'xxhash-wasm';

/**
 * A 64-bit page hash function over `length` bytes of `bytes` from `offset`
 * (defaults: the whole array). Tests inject colliding ones.
 */
export type PageHash64 = (bytes: Uint8Array, offset?: number, length?: number) => bigint;

export interface PageHasher {
  readonly hash: PageHash64;
  /**
   * A buffer of at least `bytes` bytes whose pages `hash` reads in place.
   * Its byteOffset is a multiple of 65536. Asking again for more bytes
   * grows the memory and invalidates buffers returned before.
   */
  buffer(bytes: number): Uint8Array;
  /** True when `buffer` lives in WebAssembly memory and is hashed without a copy. */
  readonly inPlace: boolean;
}

type Api = Awaited<ReturnType<typeof xxhash>>;

let apiLoaded: Promise<Api> | undefined;
const loadApi = (): Promise<Api> => (apiLoaded ??= xxhash());

/** Loads the package's hasher once per process. */
export async function loadPageHasher(): Promise<PageHash64> {
  const api = await loadApi();
  return (bytes, offset = 0, length = bytes.length - offset) =>
    api.h64Raw(offset === 0 && length === bytes.length ? bytes : bytes.subarray(offset, offset + length));
}

// The WebAssembly global as used here (tsconfig's lib has no WebAssembly types without DOM).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly kind?: 'module';
}
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

/** The package's WebAssembly module, compiled once per process; undefined when it cannot be found. */
function loadModule(): Promise<WasmModule | undefined> {
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

/**
 * A hasher with its own WebAssembly instance; see the file comment.
 * `inPlace: false` forces the copying fallback (for tests).
 */
export async function createPageHasher(options: { inPlace?: boolean } = {}): Promise<PageHasher> {
  const api = await loadApi();
  const foreign: PageHash64 = (bytes, offset = 0, length = bytes.length - offset) =>
    api.h64Raw(offset === 0 && length === bytes.length ? bytes : bytes.subarray(offset, offset + length));
  if (options.inPlace === false) return plainHasher(foreign);
  const module = await loadModule();
  const exports = module ? ((await WebAssembly.instantiate(module)).exports as unknown as XxhashExports) : undefined;
  if (!exports || typeof exports.xxh64 !== 'function' || !(exports.mem instanceof WebAssembly.Memory)) {
    return plainHasher(foreign);
  }
  const { mem, xxh64 } = exports;
  // The package's own code uses memory from offset 0; our buffer starts one WebAssembly page in.
  const base = WASM_PAGE;
  const hash: PageHash64 = (bytes, offset = 0, length = bytes.length - offset) => {
    if (bytes.buffer === mem.buffer) return BigInt.asUintN(64, xxh64(bytes.byteOffset + offset, length, 0n));
    return foreign(bytes, offset, length);
  };
  const hasher: PageHasher = {
    hash,
    inPlace: true,
    buffer(bytes: number): Uint8Array {
      const need = base + bytes;
      if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / WASM_PAGE));
      return new Uint8Array(mem.buffer, base, bytes);
    },
  };
  // Self-check: the in-place result must equal the package's API on a test vector.
  const probe = hasher.buffer(WASM_PAGE);
  for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + (i >>> 8)) & 0xff;
  const sameAsApi = hash(probe, 1000, 4096) === foreign(probe.slice(1000, 5096)) && hash(probe) === foreign(probe.slice());
  return sameAsApi ? hasher : plainHasher(foreign);
}

function plainHasher(hash: PageHash64): PageHasher {
  let current = new Uint8Array(0);
  return {
    hash,
    inPlace: false,
    buffer(bytes: number): Uint8Array {
      if (current.length < bytes) current = new Uint8Array(bytes);
      return current.subarray(0, bytes);
    },
  };
}
