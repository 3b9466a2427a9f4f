/**
 * Cross-checks against LZ4 implementations nobody here wrote:
 * - the `lz4` CLI (1.9.x): our blocks wrapped in a minimal frame and decoded
 *   by `lz4 -d`; its frames (`lz4 -B<page size>`, independent blocks)
 *   split into blocks and decoded by us;
 * - liblz4 through python3 ctypes: LZ4_decompress_safe with the exact page
 *   size as capacity (the strictest reading of the end-of-block rules), and
 *   LZ4_compress_default blocks decoded by us;
 * - lz4js's decompressBlock.
 * Each reference that is missing is skipped with the reason printed.
 */
import * as lz4js from 'lz4js';
import { describe, expect, it } from 'vitest';
import { checkLz4Block, compressBound, decodeLz4Block, getCodec, Lz4Wasm } from '../src/codec/index.js';
import { decodeLz4FrameBlocks, encodeLz4Frame } from './helpers/lz4-frame.js';
import {
  PAGE_SIZE,
  hasLiblz4,
  hasLz4Cli,
  liblz4Compress,
  liblz4DecodeExact,
  lz4Cli,
  realPageSets,
  syntheticPages,
  type PageSet,
} from './codec-helpers.js';

if (!hasLz4Cli) console.warn('codec-native: the lz4 CLI is not installed; its cross-checks are skipped');
if (!hasLiblz4)
  console.warn('codec-native: python3 with liblz4.so.1 is not available; the liblz4 cross-checks are skipped');

const real4k = realPageSets(PAGE_SIZE);
const synthetic = syntheticPages();
/** Every set of pages, synthetic ones included, as {name, pages}. */
const allSets: PageSet[] = [...real4k, { name: 'synthetic', pages: synthetic.map((s) => s.page) }];

function ourBlocks(pages: readonly Uint8Array[]): Uint8Array[] {
  const encoder = new Lz4Wasm();
  const dst = new Uint8Array(compressBound(1 << 20));
  return pages.map((page) => dst.slice(0, encoder.compress(page, dst)));
}

function concat(pages: readonly Uint8Array[]): Buffer {
  return Buffer.concat(pages.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

describe('our encoder, decoded by others', () => {
  it.skipIf(!hasLz4Cli)('lz4 -d decodes a frame of our blocks to the original pages', async () => {
    for (const set of allSets) {
      const blocks = ourBlocks(set.pages);
      const largest = Math.max(...set.pages.map((p) => p.length));
      const frame = await encodeLz4Frame(
        blocks.map((data) => ({ data, compressed: true })),
        largest,
      );
      const decoded = lz4Cli(['-d', '-c'], frame);
      expect(decoded.equals(concat(set.pages)), set.name).toBe(true);
    }
  });

  it.skipIf(!hasLiblz4)(
    'LZ4_decompress_safe with the exact page size accepts every block and rebuilds the page',
    () => {
      for (const set of allSets) {
        const blocks = ourBlocks(set.pages);
        const results = liblz4DecodeExact(blocks.map((block, i) => ({ block, size: set.pages[i]!.length })));
        results.forEach((r, i) => {
          const page = set.pages[i]!;
          if (page.length === 0) {
            expect(r, `${set.name} page ${i}`).toBe(0);
            return;
          }
          expect(typeof r, `${set.name} page ${i}: liblz4 returned ${String(r)}`).not.toBe('number');
          expect(Buffer.from(r as Uint8Array).equals(Buffer.from(page)), `${set.name} page ${i}`).toBe(true);
        });
      }
    },
  );

  it('lz4js decompressBlock decodes every block to the page', () => {
    for (const set of allSets) {
      const blocks = ourBlocks(set.pages);
      blocks.forEach((block, i) => {
        const page = set.pages[i]!;
        const out = new Uint8Array(page.length);
        expect(lz4js.decompressBlock(block, out, 0, block.length, 0), `${set.name} page ${i}`).toBe(page.length);
        expect(Buffer.from(out).equals(Buffer.from(page)), `${set.name} page ${i}`).toBe(true);
      });
    }
  });
});

describe('others, decoded by our decoder', () => {
  for (const pageSize of [4096, 16384, 65536]) {
    it.skipIf(!hasLz4Cli)(`blocks of lz4 -B${pageSize} (independent) decode exactly`, async () => {
      const sets = pageSize === PAGE_SIZE ? real4k : realPageSets(pageSize, 0.25);
      const synth = synthetic.filter((s) => s.page.length === pageSize).map((s) => s.page);
      let compressed = 0;
      for (const set of [...sets, { name: 'synthetic', pages: synth }]) {
        const input = concat(set.pages);
        const frame = lz4Cli([`-B${pageSize}`, '-BI', '--no-frame-crc', '-c'], input);
        const { blocks } = await decodeLz4FrameBlocks(frame);
        expect(blocks.length, set.name).toBe(set.pages.length);
        const out = new Uint8Array(pageSize);
        blocks.forEach((block, i) => {
          const page = set.pages[i]!;
          if (block.compressed) {
            decodeLz4Block(block.data, out);
            compressed++;
          } else {
            out.set(block.data);
            expect(block.data.length).toBe(pageSize);
          }
          expect(Buffer.from(out).equals(Buffer.from(page)), `${set.name} block ${i}`).toBe(true);
        });
      }
      expect(compressed).toBeGreaterThan(10);
    });
  }

  it.skipIf(!hasLiblz4)('LZ4_compress_default blocks decode exactly (edge cases and real pages)', () => {
    for (const set of allSets) {
      const blocks = liblz4Compress(set.pages);
      blocks.forEach((block, i) => {
        const page = set.pages[i]!;
        const out = new Uint8Array(page.length);
        decodeLz4Block(block, out);
        expect(Buffer.from(out).equals(Buffer.from(page)), `${set.name} page ${i}`).toBe(true);
        // lz4js's codec (checked walk, then lz4js) reads them too.
        out.fill(0);
        getCodec('lz4js').decompress(block, out);
        expect(Buffer.from(out).equals(Buffer.from(page)), `${set.name} page ${i} via lz4js`).toBe(true);
      });
    }
  });

  it.skipIf(!hasLiblz4)('our ratio matches liblz4 level 1 on real pages within 1%', () => {
    for (const set of real4k) {
      const ours = ourBlocks(set.pages).reduce((n, b) => n + Math.min(b.length, PAGE_SIZE), 0);
      const native = liblz4Compress(set.pages).reduce((n, b) => n + Math.min(b.length, PAGE_SIZE), 0);
      expect(ours / native, set.name).toBeLessThan(1.01);
    }
  });
});

describe("lz4js's own blocks", () => {
  // lz4js lets the last match start 10 or 11 bytes before the end of the block.
  function lz4jsRawBlocks(pages: readonly Uint8Array[]): Array<{ block: Uint8Array; size: number }> {
    const table = new Uint32Array(1 << 16);
    const dst = new Uint8Array(compressBound(PAGE_SIZE));
    const out: Array<{ block: Uint8Array; size: number }> = [];
    for (const page of pages) {
      table.fill(0);
      const n = lz4js.compressBlock(page, dst, 0, page.length, table);
      if (n > 0) out.push({ block: dst.slice(0, n), size: page.length });
    }
    return out;
  }

  it.skipIf(!hasLiblz4)(
    'break the last-match rule on some real pages: LZ4_decompress_safe (exact size) and our walker both refuse exactly those',
    () => {
      const blocks = real4k.flatMap((s) => lz4jsRawBlocks(s.pages));
      const native = liblz4DecodeExact(blocks);
      let refused = 0;
      blocks.forEach(({ block, size }, i) => {
        let oursAccepts = true;
        try {
          checkLz4Block(block, size);
        } catch {
          oursAccepts = false;
        }
        const nativeAccepts = typeof native[i] !== 'number';
        expect(oursAccepts, `block ${i}`).toBe(nativeAccepts);
        if (!nativeAccepts) refused++;
      });
      console.info(`codec-native: ${refused} of ${blocks.length} lz4js blocks break the last-match rule`);
      expect(refused).toBeGreaterThan(0);
    },
  );

  it('are never written by the lz4js codec: it stores such pages as literals', () => {
    const codec = getCodec('lz4js');
    const dst = new Uint8Array(compressBound(PAGE_SIZE));
    for (const set of real4k) {
      for (const page of set.pages) {
        const n = codec.compress(page, dst);
        expect(() => checkLz4Block(dst.subarray(0, n), page.length)).not.toThrow();
      }
    }
  });
});
