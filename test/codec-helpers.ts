/**
 * Helpers for the codec tests: real pages to compress, and the reference
 * LZ4 implementations nobody here wrote: the `lz4` CLI (frames) and the
 * system's liblz4 called from python3 through ctypes (bare blocks, decoded
 * with LZ4_decompress_safe and the exact page size as capacity, the way a
 * kernel decodes a page).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../src/util/prng.js';

export const PAGE_SIZE = 4096;

function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

export const hasLz4Cli = runs('lz4', ['-V']);
export const hasLiblz4 = runs('python3', ['-c', "import ctypes; ctypes.CDLL('liblz4.so.1').LZ4_versionNumber()"]);

/** Records: u32 length, u32 capacity, bytes. One python process handles them all. */
const LIBLZ4_SCRIPT = `
import sys, ctypes, struct
lib = ctypes.CDLL('liblz4.so.1')
mode = sys.argv[1]
data = sys.stdin.buffer.read()
out = bytearray()
at = 0
while at < len(data):
    n, cap = struct.unpack_from('<II', data, at)
    at += 8
    src = bytes(data[at:at + n])
    at += n
    dst = ctypes.create_string_buffer(max(cap, 1))
    if mode == 'decode':
        r = lib.LZ4_decompress_safe(src, dst, n, cap)
    else:
        r = lib.LZ4_compress_default(src, dst, n, cap)
    out += struct.pack('<i', r)
    if r > 0:
        out += dst.raw[:r]
sys.stdout.buffer.write(out)
`;

function liblz4(
  mode: 'decode' | 'compress',
  items: readonly { data: Uint8Array; capacity: number }[],
): Array<Uint8Array | number> {
  let total = 0;
  for (const item of items) total += 8 + item.data.length;
  const input = Buffer.alloc(total);
  let at = 0;
  for (const item of items) {
    input.writeUInt32LE(item.data.length, at);
    input.writeUInt32LE(item.capacity, at + 4);
    input.set(item.data, at + 8);
    at += 8 + item.data.length;
  }
  const r = spawnSync('python3', ['-c', LIBLZ4_SCRIPT, mode], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`python3 liblz4 helper failed: ${r.stderr?.toString()}`);
  const output = r.stdout;
  const results: Array<Uint8Array | number> = [];
  at = 0;
  while (at < output.length) {
    const code = output.readInt32LE(at);
    at += 4;
    if (code > 0) {
      results.push(new Uint8Array(output.subarray(at, at + code)));
      at += code;
    } else {
      results.push(code);
    }
  }
  if (results.length !== items.length)
    throw new Error(`liblz4 helper returned ${results.length} results for ${items.length} items`);
  return results;
}

/**
 * LZ4_decompress_safe(block, dst, block.length, size) for each block: the
 * decoded bytes, or the (negative or zero) return code.
 */
export function liblz4DecodeExact(blocks: readonly { block: Uint8Array; size: number }[]): Array<Uint8Array | number> {
  return liblz4(
    'decode',
    blocks.map(({ block, size }) => ({ data: block, capacity: size })),
  );
}

/** LZ4_compress_default for each page: the block. */
export function liblz4Compress(pages: readonly Uint8Array[]): Uint8Array[] {
  return liblz4(
    'compress',
    pages.map((p) => ({ data: p, capacity: p.length + Math.floor(p.length / 255) + 16 })),
  ).map((r) => {
    if (typeof r === 'number') throw new Error(`LZ4_compress_default returned ${r}`);
    return r;
  });
}

/** `lz4 ARGS` with stdin and stdout as buffers. */
export function lz4Cli(args: string[], input: Uint8Array): Buffer {
  const r = spawnSync('lz4', args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`lz4 ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/** `count` pages of pageSize bytes spread evenly over the file (whole pages only). */
export function samplePages(path: string, count: number, pageSize = PAGE_SIZE): Uint8Array[] {
  const size = statSync(path).size;
  const total = Math.floor(size / pageSize);
  const take = Math.min(count, total);
  const pages: Uint8Array[] = [];
  const fd = openSync(path, 'r');
  try {
    for (let i = 0; i < take; i++) {
      const index = Math.floor((i * total) / take);
      const page = new Uint8Array(pageSize);
      readSync(fd, page, 0, pageSize, index * pageSize);
      pages.push(page);
    }
  } finally {
    closeSync(fd);
  }
  return pages;
}

export interface PageSet {
  name: string;
  pages: Uint8Array[];
}

const USR_BIN = '/usr/bin';
const LIBLLVM_DIR = '/usr/lib/x86_64-linux-gnu';

/** Some ELF files of /usr/bin, or [] (with the reason printed) when there are none. */
export function usrBinElfFiles(limit: number): string[] {
  if (!existsSync(USR_BIN)) {
    console.warn(`codec tests: ${USR_BIN} is missing; its pages are skipped`);
    return [];
  }
  const files: string[] = [];
  for (const name of readdirSync(USR_BIN).sort()) {
    if (files.length >= limit) break;
    const path = join(USR_BIN, name);
    try {
      const st = statSync(path);
      if (st.isFile() && st.size >= 4 * PAGE_SIZE && isElf(path)) files.push(path);
    } catch {
      // unreadable: not a sample
    }
  }
  return files;
}

export function libLlvmFile(): string | undefined {
  if (!existsSync(LIBLLVM_DIR)) return undefined;
  const name = readdirSync(LIBLLVM_DIR)
    .filter((n) => /^libLLVM.*\.so/.test(n))
    .sort()
    .find((n) => statSync(join(LIBLLVM_DIR, n)).isFile());
  return name === undefined ? undefined : join(LIBLLVM_DIR, name);
}

/**
 * Real pages: the running node binary (always there), some /usr/bin ELF
 * files and a libLLVM if present (each skipped with a printed reason).
 */
export function realPageSets(pageSize = PAGE_SIZE, scale = 1): PageSet[] {
  const sets: PageSet[] = [];
  if (isElf(process.execPath))
    sets.push({ name: process.execPath, pages: samplePages(process.execPath, 600 * scale, pageSize) });
  const bin = usrBinElfFiles(12);
  if (bin.length > 0)
    sets.push({
      name: `${USR_BIN} (${bin.length} ELF files)`,
      pages: bin.flatMap((f) => samplePages(f, 40 * scale, pageSize)),
    });
  const llvm = libLlvmFile();
  if (llvm === undefined) console.warn(`codec tests: no libLLVM*.so in ${LIBLLVM_DIR}; its pages are skipped`);
  else sets.push({ name: llvm, pages: samplePages(llvm, 600 * scale, pageSize) });
  return sets;
}

/** Synthetic pages for the edge cases of the format. */
export function syntheticPages(): Array<{ name: string; page: Uint8Array }> {
  const rand = mulberry32(12345);
  const out: Array<{ name: string; page: Uint8Array }> = [];
  const random = (n: number) => {
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] = rand() & 0xff;
    return p;
  };
  for (const n of [
    0, 1, 4, 5, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 24, 31, 32, 33, 64, 255, 256, 269, 270, 271, 1000,
  ]) {
    out.push({ name: `zero ${n}`, page: new Uint8Array(n) });
    out.push({ name: `random ${n}`, page: random(n) });
    const repeat = new Uint8Array(n);
    for (let i = 0; i < n; i++) repeat[i] = 'abcde'.charCodeAt(i % 5);
    out.push({ name: `period-5 ${n}`, page: repeat });
  }
  for (const n of [4096, 16384, 65536]) {
    out.push({ name: `zero ${n}`, page: new Uint8Array(n) });
    out.push({ name: `0xff ${n}`, page: new Uint8Array(n).fill(0xff) });
    out.push({ name: `random ${n}`, page: random(n) });
    for (const period of [1, 2, 3, 4, 5, 7, 8, 13, 64, 300, 4095]) {
      const seed = random(period);
      const p = new Uint8Array(n);
      for (let i = 0; i < n; i++) p[i] = seed[i % period]!;
      out.push({ name: `period-${period} ${n}`, page: p });
    }
    // Random with runs: short matches everywhere, and a match ending exactly near the tail.
    const mixed = random(n);
    for (let i = 0; i + 40 < n; i += 97) mixed.copyWithin(i + 20, i, i + 7 + (i % 13));
    out.push({ name: `mixed ${n}`, page: mixed });
    const tail = random(n);
    tail.copyWithin(n - 16, 0, 16);
    out.push({ name: `repeat-at-tail ${n}`, page: tail });
    const text = new Uint8Array(n);
    const words = ['the ', 'page ', 'share ', 'map ', 'frame ', 'table ', 'entry ', '\n'];
    for (let i = 0; i < n; ) for (const ch of words[rand() % words.length]!) if (i < n) text[i++] = ch.charCodeAt(0);
    out.push({ name: `text ${n}`, page: text });
  }
  // Longer than 64 KiB: a random run repeated at a distance above 65535 (no offset can reach it).
  const far = new Uint8Array(140000);
  far.set(random(70000));
  far.copyWithin(70000, 0, 70000);
  out.push({ name: 'repeat beyond 64 KiB', page: far });
  return out;
}
