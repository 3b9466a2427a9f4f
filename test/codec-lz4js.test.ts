/**
 * The lz4js codec as the swap back ends use it: round trips at 4 KiB and
 * 64 KiB, outputs that do not depend on what was compressed before (zram's
 * compr_data_size relies on it), and agreement with the native `lz4` decoder
 * when the CLI is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { checkLz4Block, compressBound } from '../src/codec/index.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';
import { samplePages } from '../src/mm/swap/sample-pages.js';

const PAGE = 4096;
const hasLz4 = spawnSync('lz4', ['--version']).status === 0;
if (!hasLz4) console.warn('codec-lz4js: native lz4 check skipped: the lz4 CLI is not installed');

describe('Lz4jsCodec for swap', () => {
  it('round-trips every kind of page, at 4 KiB and 64 KiB', () => {
    for (const pageSize of [PAGE, 65536]) {
      const codec = new Lz4jsCodec();
      const sample = samplePages(pageSize === PAGE ? 300 : 40, pageSize, 61);
      const dst = new Uint8Array(compressBound(pageSize));
      const out = new Uint8Array(pageSize);
      for (let i = 0; i < sample.count; i++) {
        const n = codec.compress(sample.page(i), dst);
        expect(n).toBeLessThanOrEqual(compressBound(pageSize));
        codec.decompress(dst.subarray(0, n), out);
        expect(Buffer.compare(out, sample.page(i))).toBe(0);
      }
    }
  });

  it('gives the same bytes as lz4js with a fresh hash table, whatever came before (invalid lz4js blocks aside)', () => {
    const lz4js = createRequire(import.meta.url)('lz4js') as {
      compressBlock(s: Uint8Array, d: Uint8Array, i: number, n: number, t: Uint32Array): number;
    };
    const sample = samplePages(200, PAGE, 62);
    const codec = new Lz4jsCodec();
    const a = new Uint8Array(compressBound(PAGE));
    const b = new Uint8Array(compressBound(PAGE));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < sample.count; i++) {
        const n = codec.compress(sample.page(i), a);
        const m = lz4js.compressBlock(sample.page(i), b, 0, PAGE, new Uint32Array(65536));
        // No match at all (lz4js returns 0), or a block breaking the last-match rule: the codec writes literals.
        if (m === 0 || !valid(b.subarray(0, m))) {
          expect(n).toBe(1 + 17 + PAGE);
          continue;
        }
        expect(n).toBe(m);
        expect(Buffer.compare(a.subarray(0, n), b.subarray(0, m))).toBe(0);
      }
    }
  });

  it('writes a literal-only block for incompressible pages', () => {
    const codec = new Lz4jsCodec();
    const page = samplePages(1, PAGE, 63, { zero: 0, same: 0, text: 0, table: 0, random: 1, duplicate: 0 }).page(0);
    const dst = new Uint8Array(compressBound(PAGE));
    const n = codec.compress(page, dst);
    // token + 16 length bytes ((4096 - 15) = 16 * 255 + 1) + 4096 literals
    expect(n).toBe(1 + 17 + PAGE);
    expect(() => codec.decompress(dst.subarray(0, n), new Uint8Array(PAGE - 1))).toThrow(
      expect.objectContaining({ code: 'E_LZ4' }),
    );
  });

  it.skipIf(!hasLz4)('produces blocks the native lz4 decoder accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagestack-lz4-'));
    try {
      const codec = new Lz4jsCodec();
      const sample = samplePages(64, PAGE, 64);
      const dst = new Uint8Array(compressBound(PAGE));
      const frames: Buffer[] = [];
      for (let i = 0; i < sample.count; i++) {
        const n = codec.compress(sample.page(i), dst);
        frames.push(frame(dst.subarray(0, n)));
      }
      writeFileSync(join(dir, 'pages.lz4'), Buffer.concat(frames));
      const r = spawnSync('lz4', ['-d', '-f', join(dir, 'pages.lz4'), join(dir, 'pages.bin')]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(Buffer.compare(readFileSync(join(dir, 'pages.bin')), Buffer.from(sample.bytes))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function valid(block: Uint8Array): boolean {
  try {
    checkLz4Block(block, PAGE);
    return true;
  } catch {
    return false;
  }
}

/** One LZ4 frame holding one compressed block: magic, FLG (version 1, independent blocks), BD (64 KB max), HC, block, end mark. */
function frame(block: Uint8Array): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(block.length);
  return Buffer.concat([header, size, Buffer.from(block), Buffer.alloc(4)]);
}
