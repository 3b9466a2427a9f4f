/**
 * The LZ4 page codec in WebAssembly (source: assembly/lz4.ts, compiled to
 * dist/codec/lz4.wasm by `npm run build`).
 *
 * Compression is byte for byte the kernel's LZ4_compress_fast at
 * acceleration 1 (lib/lz4/lz4_compress.c), so the same blocks serve the
 * container and the zram/zswap models. Decoding is strict: a block must
 * decode to exactly one page, every offset must lie inside the bytes
 * decoded so far (0 is refused), nothing is read or written outside the
 * block and the page; errors are ContainerError 'E_LZ4' with the byte
 * offset in the block, worded as in lz4-errors.ts.
 *
 * Each Lz4Wasm owns one WebAssembly instance and its memory: an input area
 * and an output area above the module's tables, grown on demand. Views
 * returned by the batch calls stay valid until the next call.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InternalError, type ContainerError } from '../errors.js';
import { compressBound } from './lz4-block.js';
import { checkBlockLength, lz4DecodeError } from './lz4-errors.js';

/** The few WebAssembly JS API names used here (the project's lib setting has no DOM/wasm types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly value: unknown;
}
type WasmModule = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
};

interface Lz4Exports {
  memory: WasmMemory;
  heapBase(): number;
  compress(src: number, n: number, dst: number): number;
  compressPacked(src: number, count: number, pageSize: number, dst: number, lengths: number): number;
  compressStrided(src: number, count: number, pageSize: number, dst: number, stride: number, lengths: number): void;
  decode(src: number, srcLength: number, dst: number, dstLength: number): number;
  decodePacked(src: number, lengths: number, count: number, pageSize: number, dst: number): number;
  errorPage: WasmGlobal;
  errorOffset: WasmGlobal;
  errorValue: WasmGlobal;
  errorDecoded: WasmGlobal;
}

/** Room after each area: the codec's wide copies run up to 32 bytes past a region. */
const SLACK = 64;
const WASM_PAGE = 65536;

let cachedModule: WasmModule | undefined;

/** Where the compiled module is: beside this file in dist/, or dist/ when run from the TypeScript source. */
function wasmPath(): string {
  const candidates = [new URL('./lz4.wasm', import.meta.url), new URL('../../dist/codec/lz4.wasm', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new InternalError(`LZ4 WebAssembly module not found (${fileURLToPath(candidates[0]!)}); run npm run build`);
}

function lz4Module(): WasmModule {
  cachedModule ??= new WebAssembly.Module(readFileSync(wasmPath()));
  return cachedModule;
}

/** The result of compressPages: page i's stored bytes follow page i-1's in `data`. */
export interface PackedPages {
  /** Bytes used in data. */
  used: number;
  /** The stored pages back to back (a view into the codec's memory). */
  data: Uint8Array;
  /** Stored length of each page: < pageSize an LZ4 block, == pageSize the raw page. */
  lengths: Uint32Array;
}

export class Lz4Wasm {
  private readonly x: Lz4Exports;
  private u8: Uint8Array;
  private readonly base: number;
  private inPtr = 0;
  private inCap = 0;
  private outPtr = 0;
  private outCap = 0;
  /** The decoded page in the output area, kept between calls (one subarray less per page). */
  private pageView: Uint8Array = new Uint8Array(0);

  constructor() {
    const instance = new WebAssembly.Instance(lz4Module(), {});
    this.x = instance.exports as unknown as Lz4Exports;
    this.base = (this.x.heapBase() + 63) & ~63;
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.layout(64 * 1024, compressBound(64 * 1024));
  }

  /** The instance's memory, for a hasher that works on the same bytes in place (container reader). */
  get memory(): WasmMemory {
    return this.x.memory;
  }

  /** Lays out [input | slack | output | slack] above the tables, growing memory when needed. */
  private layout(inBytes: number, outBytes: number): void {
    if (inBytes <= this.inCap && outBytes <= this.outCap) return;
    this.inCap = Math.max(inBytes, this.inCap);
    this.outCap = Math.max(outBytes, this.outCap);
    this.inPtr = this.base;
    this.outPtr = align64(this.inPtr + this.inCap + SLACK);
    const end = this.outPtr + this.outCap + SLACK;
    const have = this.x.memory.buffer.byteLength;
    if (end > have) this.x.memory.grow(Math.ceil((end - have) / WASM_PAGE));
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.pageView = new Uint8Array(0);
  }

  /**
   * Compresses src into dst (dst.length >= compressBound(src.length)) and
   * returns the block length; the block may be longer than src.
   */
  compress(src: Uint8Array, dst: Uint8Array): number {
    const n = src.length;
    const bound = compressBound(n);
    if (dst.length < bound)
      throw new InternalError(`LZ4 encoder: output buffer of ${dst.length} bytes is below the bound ${bound}`);
    this.layout(n, bound + 8);
    this.u8.set(src, this.inPtr);
    const length = this.x.compress(this.inPtr, n, this.outPtr);
    dst.set(this.u8.subarray(this.outPtr, this.outPtr + length));
    return length;
  }

  /**
   * Compresses `count` pages of pageSize bytes (pages.length >= count *
   * pageSize) in one call: each page stored as its block when that is
   * shorter than the page, else raw, back to back.
   */
  compressPages(pages: Uint8Array, count: number, pageSize: number): PackedPages {
    const inBytes = count * pageSize;
    if (pages.length < inBytes)
      throw new InternalError(`compressPages: ${pages.length} bytes hold fewer than ${count} pages of ${pageSize}`);
    const blockBytes = align64(inBytes + compressBound(pageSize) - pageSize + 8);
    this.layout(inBytes, blockBytes + count * 4);
    this.u8.set(pages.subarray(0, inBytes), this.inPtr);
    const lengthsPtr = this.outPtr + blockBytes;
    const used = this.x.compressPacked(this.inPtr, count, pageSize, this.outPtr, lengthsPtr);
    return {
      used,
      data: this.u8.subarray(this.outPtr, this.outPtr + used),
      lengths: new Uint32Array(this.x.memory.buffer, lengthsPtr, count),
    };
  }

  /**
   * A view of n bytes at the start of the input area, for the caller to fill
   * (with fs.readSync, say) before decodeStored: the stored bytes need not
   * be copied again. Valid until the next call on this codec.
   */
  inputArea(n: number): Uint8Array {
    this.layout(n, 0);
    return this.u8.subarray(this.inPtr, this.inPtr + n);
  }

  /**
   * Decodes `count` stored pages lying back to back at the start of the
   * input area (filled through inputArea), with the given stored lengths
   * (== pageSize: raw, shorter: an LZ4 block), into count * pageSize bytes,
   * returned as a view valid until the next call. Throws Lz4PageError
   * naming the page in the batch, its cause a ContainerError 'E_LZ4'.
   */
  decodeStored(lengths: ArrayLike<number>, count: number, pageSize: number): Uint8Array {
    let storedBytes = 0;
    for (let i = 0; i < count; i++) storedBytes += lengths[i]!;
    const pageBytes = align64(count * pageSize + SLACK);
    this.layout(storedBytes, pageBytes + count * 4);
    const lengthsPtr = this.outPtr + pageBytes;
    const l32 = new Uint32Array(this.x.memory.buffer, lengthsPtr, count);
    for (let i = 0; i < count; i++) l32[i] = lengths[i]!;
    const kind = this.x.decodePacked(this.inPtr, lengthsPtr, count, pageSize, this.outPtr);
    if (kind !== 0) {
      const page = this.x.errorPage.value as number;
      const cause = lz4DecodeError(
        kind,
        this.x.errorOffset.value as number,
        this.x.errorValue.value as number,
        this.x.errorDecoded.value as number,
        lengths[page]!,
        pageSize,
      );
      throw new Lz4PageError(page, cause);
    }
    return this.u8.subarray(this.outPtr, this.outPtr + count * pageSize);
  }

  /**
   * Decodes the block src into exactly dst.length bytes of dst; throws
   * ContainerError 'E_LZ4' otherwise, leaving dst untouched.
   */
  decompress(src: Uint8Array, dst: Uint8Array): void {
    const srcLength = src.length;
    const dstLength = dst.length;
    if (checkBlockLength(src, dstLength)) return;
    this.layout(srcLength, dstLength);
    const u8 = this.u8;
    u8.set(src, this.inPtr);
    const kind = this.x.decode(this.inPtr, srcLength, this.outPtr, dstLength);
    if (kind !== 0) {
      throw lz4DecodeError(
        kind,
        this.x.errorOffset.value as number,
        this.x.errorValue.value as number,
        this.x.errorDecoded.value as number,
        srcLength,
        dstLength,
      );
    }
    let page = this.pageView;
    if (page.length !== dstLength || page.buffer !== u8.buffer)
      page = this.pageView = u8.subarray(this.outPtr, this.outPtr + dstLength);
    dst.set(page);
  }
}

/** A failure of decodeStored: the page's index in the batch and the error. */
export class Lz4PageError extends Error {
  constructor(
    readonly page: number,
    readonly error: ContainerError,
  ) {
    super(error.message);
  }
}

function align64(n: number): number {
  return (n + 63) & ~63;
}

let shared: Lz4Wasm | undefined;

/** Decodes the LZ4 block src into exactly dst.length bytes with a module-wide codec; throws ContainerError 'E_LZ4' otherwise. */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array): void {
  if (shared === undefined) shared = new Lz4Wasm();
  shared.decompress(src, dst);
}
