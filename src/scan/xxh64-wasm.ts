/**
 * The page hasher's own WebAssembly module (src/scan/assembly/xxh64.ts, compiled by
 * `npm run build` to dist/scan/xxh64.wasm): XXH64 of a run of pages in one
 * call, each result as two u32 words, so the scanner's hot loop makes no
 * BigInt and reads the memory's buffer once per run, not once per page.
 *
 * Memory layout, owned by this file (the module allocates nothing):
 *   [0, 64 KiB)        results: 8 bytes per page of one hashPages call
 *   [64 KiB, 128 KiB)  a copy of bytes from outside the buffer, to hash them
 *   [128 KiB, ...)     the caller's buffer (its byteOffset is a multiple of 65536)
 */
import { readFileSync } from 'node:fs';
import type { WasmMemory, WasmModule } from './wasm-types.js';

declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: Record<string, unknown> }>;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
};

interface Exports {
  hashPages(src: number, pageSize: number, count: number, out: number): void;
  hashBytes(src: number, length: number, out: number): void;
  low32(src: number, length: number): number;
}

const WASM_PAGE = 65536;
const RESULTS = 0;
/** Most pages one hashPages call takes (the results area is 64 KiB). */
export const MAX_PAGES_PER_CALL = WASM_PAGE / 8; // 8192: hash.ts asks for at most 4096
const SCRATCH = WASM_PAGE;
/** Longest run of bytes from outside the buffer that `hash` takes: the largest page size. */
export const MAX_FOREIGN_BYTES = WASM_PAGE;
const BASE = 2 * WASM_PAGE;

/** XXH64 of the 4096 bytes (i * 131 + (i >>> 8)) & 0xff, from `xxhsum -H1`: the module's self-check. */
const PROBE_HASH = 0xbfa412bdf2de8356n;

export interface Xxh64Pages {
  /** A buffer of at least `bytes` bytes in the module's memory; asking for more invalidates earlier ones. */
  buffer(bytes: number): Uint8Array;
  /** Hashes `count` pages from `offset` of the buffer; words 2i and 2i+1 of the result are page i's low and high halves. */
  hashPages(offset: number, pageSize: number, count: number): Uint32Array;
  /**
   * XXH64 of `length` bytes of `bytes` from `offset`, as a bigint: in place
   * when they lie in the current buffer, else through a copy (at most
   * MAX_FOREIGN_BYTES).
   */
  hash(bytes: Uint8Array, offset: number, length: number): bigint;
  /** The low 32 bits of the XXH64 of `length` bytes from `offset` of the buffer (no bigint). */
  low32(offset: number, length: number): number;
}

let compiled: Promise<WasmModule | undefined> | undefined;

/** The compiled module, or undefined when dist/scan/xxh64.wasm is missing (not built). */
function loadModule(): Promise<WasmModule | undefined> {
  compiled ??= (async () => {
    // Beside this file in dist/scan/, or dist/scan/ when run from the TypeScript source.
    for (const rel of ['./xxh64.wasm', '../../dist/scan/xxh64.wasm']) {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(new URL(rel, import.meta.url));
      } catch {
        continue;
      }
      return WebAssembly.compile(bytes);
    }
    return undefined;
  })().catch(() => undefined);
  return compiled;
}

/** A new instance with its own memory; undefined when the module is missing or fails its self-check. */
export async function createXxh64Pages(): Promise<Xxh64Pages | undefined> {
  const module = await loadModule();
  if (!module) return undefined;
  const memory = new WebAssembly.Memory({ initial: 2 });
  const exports = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as Exports;
  const { hashPages, hashBytes } = exports;
  let words = new Uint32Array(0);
  let bytesView = new Uint8Array(0);
  let current = new Uint8Array(0);
  const view = (): Uint32Array => {
    if (words.buffer !== memory.buffer) words = new Uint32Array(memory.buffer);
    return words;
  };
  const pages: Xxh64Pages = {
    buffer(bytes: number): Uint8Array {
      const need = BASE + bytes;
      if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / WASM_PAGE));
      current = new Uint8Array(memory.buffer, BASE, bytes);
      return current;
    },
    hashPages(offset: number, pageSize: number, count: number): Uint32Array {
      if (count > MAX_PAGES_PER_CALL)
        throw new RangeError(`hashPages: ${count} pages, at most ${MAX_PAGES_PER_CALL} per call`);
      hashPages(BASE + offset, pageSize, count, RESULTS);
      return view().subarray(RESULTS / 4, RESULTS / 4 + 2 * count);
    },
    low32(offset: number, length: number): number {
      hashBytes(BASE + offset, length, RESULTS);
      return view()[RESULTS / 4]!;
    },
    hash(bytes: Uint8Array, offset: number, length: number): bigint {
      let at: number;
      if (bytes.buffer === current.buffer && bytes.byteOffset >= BASE) at = bytes.byteOffset + offset;
      else {
        if (length > MAX_FOREIGN_BYTES)
          throw new RangeError(`hash: ${length} bytes from outside the buffer, at most ${MAX_FOREIGN_BYTES}`);
        if (bytesView.buffer !== memory.buffer) bytesView = new Uint8Array(memory.buffer);
        bytesView.set(bytes.subarray(offset, offset + length), SCRATCH);
        at = SCRATCH;
      }
      hashBytes(at, length, RESULTS);
      const w = view();
      return (BigInt(w[RESULTS / 4 + 1]!) << 32n) | BigInt(w[RESULTS / 4]!);
    },
  };
  const probe = pages.buffer(4096);
  for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + (i >>> 8)) & 0xff;
  return pages.hash(probe, 0, 4096) === PROBE_HASH ? pages : undefined;
}

/**
 * The low 32 bits of XXH64 over bytes of another module's memory (the LZ4
 * codec's, for unpack): `low32(ptr, length)` hashes bytes of that memory
 * in place (ptr: a view's byteOffset). Undefined when the module is not built.
 */
export async function xxh64Low32In(memory: WasmMemory): Promise<((ptr: number, length: number) => number) | undefined> {
  const module = await loadModule();
  if (!module) return undefined;
  const { low32 } = (await WebAssembly.instantiate(module, { env: { memory } })).exports as unknown as Exports;
  const probe = new Uint8Array(memory.buffer, 0, 4096);
  const saved = probe.slice();
  for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + (i >>> 8)) & 0xff;
  const ok = low32(0, 4096) === Number(PROBE_HASH & 0xffffffffn);
  new Uint8Array(memory.buffer, 0, 4096).set(saved);
  return ok ? low32 : undefined;
}
