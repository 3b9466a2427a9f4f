/**
 * The pieces of the zstd page form (FORMAT.md "zstd pages"): the branch
 * filters (exact round trip on any bytes, known values, the AArch64 one
 * against xz's ARM64 filter, a real gain on x86-64 code), the tagged
 * codec (round trips, RLE pages, the frame shape it leaves out), and which
 * pages pack marks as code (against readelf's program headers).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BRANCH_ARM64,
  BRANCH_NONE,
  BRANCH_X86,
  BRANCH_X86_64,
  type BranchFilter,
  ZstdPageCodec,
  branchFilterFor,
  decodeBranches,
  encodeBranches,
  loadCodec,
} from '../src/codec/index.js';
import { codePages, pageFilter } from '../src/container/code-pages.js';
import { mulberry32 } from '../src/util/prng.js';
import { removeTree, tempDir } from './container-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = path.join(ROOT, 'samples/bin');
const hasXz = spawnSync('xz', ['--format=raw', '--arm64', '--lzma2=preset=0', '-c'], { input: '' }).status === 0;
const hasZstd = spawnSync('zstd', ['--version']).status === 0;
const hasReadelf = spawnSync('readelf', ['--version']).status === 0;
if (!hasXz) console.warn('zstd-pages: no xz with the ARM64 filter (xz >= 5.4): the xz comparison is skipped');
if (!hasZstd) console.warn('zstd-pages: zstd CLI not found: the frame check is skipped');
if (!hasReadelf) console.warn('zstd-pages: readelf not found (binutils): the program header comparison is skipped');

const samples = fs
  .readdirSync(SAMPLES)
  .sort()
  .map((name) => path.join(SAMPLES, name))
  .filter((p) => fs.statSync(p).isFile());

let work: string;
beforeAll(async () => {
  work = tempDir('zstd-pages');
  await loadCodec('zstd');
});
afterAll(() => removeTree(work));

/** The executable pages of samples/bin, as pack marks them. */
function codePagesOfSamples(): Uint8Array[] {
  const pages: Uint8Array[] = [];
  for (const file of samples) {
    const bytes = fs.readFileSync(file);
    const fd = fs.openSync(file, 'r');
    const code = codePages(fd, bytes.length, 4096);
    fs.closeSync(fd);
    for (let p = 0; p * 4096 < bytes.length; p++) {
      if (pageFilter(code, p) !== BRANCH_X86_64) continue;
      const page = new Uint8Array(4096);
      page.set(bytes.subarray(p * 4096, (p + 1) * 4096));
      pages.push(page);
    }
  }
  return pages;
}

function roundTrips(filter: BranchFilter, page: Uint8Array): boolean {
  const copy = page.slice();
  encodeBranches(filter, copy);
  decodeBranches(filter, copy);
  return Buffer.from(copy).equals(Buffer.from(page));
}

describe('branch filters', () => {
  it('x86: a CALL, a backward JMP and a Jcc turn page-relative absolute; a far displacement is left alone', () => {
    const page = new Uint8Array(4096);
    page.set([0xe8, 0x10, 0, 0, 0], 100); // call +0x10 from the end of the instruction at 105
    page.set([0xe9, 0xf0, 0xff, 0xff, 0xff], 200); // jmp -16, ends at 205
    page.set([0x0f, 0x85, 0x00, 0x01, 0, 0], 300); // jne +0x100, ends at 306
    page.set([0xe8, 0, 0, 0, 0x12], 400); // top byte 0x12: not a near call, unchanged
    page.set([0x48, 0x8d, 0x05, 0x10, 0, 0, 0], 500); // lea rax, [rip + 0x10]: x86-64 only, disp ends at 507
    const x86 = page.slice();
    encodeBranches(BRANCH_X86, x86);
    expect([...x86.subarray(500, 507)]).toEqual([0x48, 0x8d, 0x05, 0x10, 0, 0, 0]);
    encodeBranches(BRANCH_X86_64, page);
    expect([...page.subarray(500, 507)]).toEqual([0x48, 0x8d, 0x05, 0x0b, 0x02, 0, 0]); // 0x10 + 507 = 0x20b
    expect([...page.subarray(100, 105)]).toEqual([0xe8, 0x79, 0, 0, 0]); // 0x10 + 105
    expect([...page.subarray(200, 205)]).toEqual([0xe9, 189, 0, 0, 0]); // -16 + 205
    expect([...page.subarray(300, 306)]).toEqual([0x0f, 0x85, 0x32, 0x02, 0, 0]); // 0x100 + 306
    expect([...page.subarray(400, 405)]).toEqual([0xe8, 0, 0, 0, 0x12]);
    expect([...x86.subarray(100, 306)]).toEqual([...page.subarray(100, 306)]);
    decodeBranches(BRANCH_X86_64, page);
    expect([...page.subarray(500, 507)]).toEqual([0x48, 0x8d, 0x05, 0x10, 0, 0, 0]);
    expect([...page.subarray(100, 105)]).toEqual([0xe8, 0x10, 0, 0, 0]);
    expect([...page.subarray(200, 205)]).toEqual([0xe9, 0xf0, 0xff, 0xff, 0xff]);
  });

  it('round-trip exactly on any bytes: random, dense with opcodes and 00/FF bytes, and real code', () => {
    const rand = mulberry32(7);
    const alphabet = [0xe8, 0xe9, 0x0f, 0x80, 0x85, 0x8f, 0x00, 0xff, 0x94, 0x97, 0x01, 0x8d, 0x05, 0x15, 0x8b];
    let changed = 0;
    for (let trial = 0; trial < 300; trial++) {
      const size = [4096, 16384, 64][trial % 3]!;
      const page = new Uint8Array(size);
      for (let i = 0; i < size; i++) page[i] = trial % 2 ? alphabet[rand() % alphabet.length]! : rand() & 0xff;
      for (const filter of [BRANCH_X86, BRANCH_X86_64, BRANCH_ARM64] as const) {
        expect(roundTrips(filter, page), `trial ${trial} filter ${filter}`).toBe(true);
        const copy = page.slice();
        encodeBranches(filter, copy);
        if (!Buffer.from(copy).equals(Buffer.from(page))) changed++;
      }
    }
    const code = codePagesOfSamples();
    expect(code.length).toBeGreaterThan(10);
    for (const page of code) expect(roundTrips(BRANCH_X86_64, page)).toBe(true);
    expect(changed).toBeGreaterThan(450);
  });

  it.skipIf(!hasXz)("AArch64: BL conversion equals xz's ARM64 filter on pages without ADRP words", () => {
    const rand = mulberry32(11);
    for (let trial = 0; trial < 4; trial++) {
      const page = new Uint8Array(4096);
      const view = new DataView(page.buffer);
      for (let i = 0; i < 4096; i += 4) {
        let word = rand() & 1 ? (0x94000000 | (rand() & 0x3ffffff)) >>> 0 : rand() >>> 0;
        if ((word & 0x9f000000) >>> 0 === 0x90000000) word = 0; // ADRP, which xz also converts
        view.setUint32(i, word, true);
      }
      const src = path.join(work, 'arm64.bin');
      fs.writeFileSync(src, page);
      // Compress with the filter, decompress without it: the filtered bytes.
      const packed = execFileSync('xz', ['--format=raw', '--arm64', '--lzma2=preset=0', '-c', src]);
      const xz = execFileSync('xz', ['--format=raw', '--lzma2=preset=0', '-d', '-c'], { input: packed });
      const ours = page.slice();
      encodeBranches(BRANCH_ARM64, ours);
      expect(Buffer.from(ours).equals(xz)).toBe(true);
      expect(Buffer.from(ours).equals(Buffer.from(page))).toBe(false);
    }
  });

  it('make x86-64 code pages compress smaller with zstd, all of them together', () => {
    const codec = new ZstdPageCodec(3);
    const dst = new Uint8Array(8192);
    let plain = 0;
    let branches = 0;
    let filtered = 0;
    for (const page of codePagesOfSamples()) {
      plain += Math.min(codec.compress(page, dst, BRANCH_NONE), 4096);
      branches += Math.min(codec.compress(page, dst, BRANCH_X86), 4096);
      filtered += Math.min(codec.compress(page, dst, BRANCH_X86_64), 4096);
    }
    console.log(
      `zstd-pages: samples/bin code pages, zstd -3: ${plain} bytes plain, ${branches} with the x86 filter, ${filtered} with x86-64's`,
    );
    expect(branches).toBeLessThan(plain);
    expect(filtered).toBeLessThan(branches);
  });

  it('are chosen by e_machine: x86 for EM_386, x86-64 for EM_X86_64, AArch64 for little-endian EM_AARCH64 only', () => {
    expect(branchFilterFor(62, true)).toBe(BRANCH_X86_64);
    expect(branchFilterFor(3, true)).toBe(BRANCH_X86);
    expect(branchFilterFor(183, true)).toBe(BRANCH_ARM64);
    expect(branchFilterFor(183, false)).toBe(BRANCH_NONE);
    expect(branchFilterFor(243, true)).toBe(BRANCH_NONE); // RISC-V
  });
});

describe('the tagged zstd page codec', () => {
  it('round-trips pages at levels 1, 3 and 19, with and without a filter; one byte repeated is an RLE page of 2 bytes', () => {
    const rand = mulberry32(5);
    const pages = [
      new Uint8Array(4096).fill(0x5a),
      new Uint8Array(4096).map(() => rand() & 0x07),
      ...codePagesOfSamples().slice(0, 20),
    ];
    for (const level of [1, 3, 19]) {
      const codec = new ZstdPageCodec(level);
      const dst = new Uint8Array(8192);
      for (const [k, page] of pages.entries()) {
        for (const filter of [BRANCH_NONE, BRANCH_X86, BRANCH_ARM64, BRANCH_X86_64] as const) {
          const n = codec.compress(page, dst, filter);
          expect(n).toBeLessThan(4096);
          expect(dst[0]! >> 2).toBe(filter);
          if (k === 0) expect([n, dst[0]! & 3, dst[1]]).toEqual([2, 1, 0x5a]);
          const back = new Uint8Array(4096);
          codec.decompress(dst.subarray(0, n), back);
          expect(Buffer.from(back).equals(Buffer.from(page)), `level ${level} page ${k} filter ${filter}`).toBe(true);
        }
      }
    }
  });

  it.skipIf(!hasZstd)(
    'stores pages whose standard frames (FORMAT.md prefix) the zstd CLI decodes, RLE ones too, at every page size',
    () => {
      const codec = new ZstdPageCodec();
      const code = codePagesOfSamples();
      for (const size of [4096, 16384, 65536]) {
        const dst = new Uint8Array(2 * size);
        const text = new Uint8Array(size);
        for (let i = 0; i < size; i++) text[i] = code[Math.floor(i / 4096) % code.length]![i % 4096]!;
        for (const page of [new Uint8Array(size).fill(0xcc), text]) {
          for (const filter of [BRANCH_NONE, BRANCH_X86_64] as const) {
            const n = codec.compress(page, dst, filter);
            expect(n).toBeLessThan(size);
            const type = dst[0]! & 3;
            const header = 1 | (type << 1) | ((type === 1 ? size : n - 1) << 3);
            const fcs = size - 256;
            const frame = Buffer.concat([
              Buffer.from([
                0x28,
                0xb5,
                0x2f,
                0xfd,
                0x60,
                fcs & 0xff,
                fcs >> 8,
                header & 0xff,
                (header >> 8) & 0xff,
                header >> 16,
              ]),
              dst.subarray(1, n),
            ]);
            const decoded = execFileSync('zstd', ['-d', '-c', '-q'], { input: frame });
            const expected = page.slice();
            encodeBranches(filter, expected);
            expect(decoded.equals(Buffer.from(expected)), `${size} ${filter}`).toBe(true);
            const back = new Uint8Array(size);
            codec.decompress(dst.subarray(0, n), back);
            expect(Buffer.from(back).equals(Buffer.from(page))).toBe(true);
          }
        }
      }
    },
  );

  it('reports an incompressible page as longer than the page (stored raw)', () => {
    const rand = mulberry32(9);
    const page = new Uint8Array(4096).map(() => rand() & 0xff);
    expect(new ZstdPageCodec().compress(page, new Uint8Array(8192))).toBeGreaterThanOrEqual(4096);
  });
});

describe('code pages (the filter hint pack gives)', () => {
  it.skipIf(!hasReadelf)('are the pages of executable PT_LOAD segments, as readelf lists them', () => {
    let files = 0;
    for (const file of samples) {
      const out = execFileSync('readelf', ['-lW', file], { encoding: 'utf8' });
      const size = fs.statSync(file).size;
      const expected = new Set<number>();
      for (const line of out.split('\n')) {
        const m =
          /^\s*LOAD\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+(.*?)\s+0x/.exec(line);
        if (!m || !m[3]!.includes('E')) continue;
        const offset = Number.parseInt(m[1]!, 16);
        const end = Math.min(offset + Number.parseInt(m[2]!, 16), size);
        for (let p = Math.floor(offset / 4096); p * 4096 < end; p++) expected.add(p);
      }
      const fd = fs.openSync(file, 'r');
      const code = codePages(fd, size, 4096);
      fs.closeSync(fd);
      const got = new Set<number>();
      for (let p = 0; p * 4096 < size; p++) if (pageFilter(code, p) !== BRANCH_NONE) got.add(p);
      expect(
        [...got].sort((a, b) => a - b),
        file,
      ).toEqual([...expected].sort((a, b) => a - b));
      if (expected.size > 0) files++;
    }
    expect(files).toBeGreaterThan(0);
  });

  it('are none for a file that is not ELF, a truncated ELF header, or absurd program headers', () => {
    const elf = fs.readFileSync(samples[0]!);
    const cases: Array<[string, Uint8Array]> = [
      ['text', new TextEncoder().encode('#!/bin/sh\necho hi\n')],
      ['truncated', elf.subarray(0, 40)],
      ['program headers past the end', elf.subarray(0, 64)],
      ['phentsize too small', Uint8Array.from(elf, (b, i) => (i === 54 ? 8 : i === 55 ? 0 : b))],
    ];
    for (const [name, bytes] of cases) {
      const file = path.join(work, 'f');
      fs.writeFileSync(file, bytes);
      const fd = fs.openSync(file, 'r');
      expect(codePages(fd, bytes.length, 4096), name).toBeUndefined();
      fs.closeSync(fd);
    }
  });
});
