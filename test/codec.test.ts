/**
 * The page codecs on their own: names, round trips on synthetic edge cases
 * and real pages, the end-of-block rules in our encoder's output, hash table
 * reuse across pages, and the decoder's refusals on hand-made blocks.
 * Cross-checks against the reference implementations are in
 * codec-native.test.ts, fuzzing in codec-fuzz.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ContainerError, UsageError } from '../src/errors.js';
import {
  CODEC_NAMES,
  DEFAULT_CODEC,
  Lz4Wasm,
  checkLz4Block,
  compressBound,
  decodeLz4Block,
  getCodec,
  loadCodec,
} from '../src/codec/index.js';
import { realPageSets, syntheticPages, xorshift } from './codec-helpers.js';

function compressWith(name: string, page: Uint8Array): Uint8Array {
  const codec = getCodec(name);
  const dst = new Uint8Array(compressBound(page.length));
  return dst.slice(0, codec.compress(page, dst));
}

function roundTrip(name: string, page: Uint8Array): Uint8Array {
  const codec = getCodec(name);
  const block = compressWith(name, page);
  const out = new Uint8Array(page.length);
  codec.decompress(block, out);
  return out;
}

/** A literal-only block: token, length bytes beyond 15, the literals. */
function literalOnlyLength(n: number): number {
  return 1 + (n >= 15 ? Math.floor((n - 15) / 255) + 1 : 0) + n;
}

function errorOf(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('codec lookup', () => {
  it('knows lz4 (the default), lz4js, zstd (once loaded) and none', async () => {
    expect(DEFAULT_CODEC).toBe('lz4');
    await loadCodec('zstd');
    for (const name of CODEC_NAMES) expect(getCodec(name).name).toBe(name);
  });

  it('refuses an unknown name with a UsageError listing the known ones', () => {
    const err = errorOf(() => getCodec('brotli'));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain('lz4, lz4js, zstd, none');
  });

  it('bounds the worst case as LZ4_COMPRESSBOUND does', () => {
    expect(compressBound(0)).toBe(16);
    expect(compressBound(4096)).toBe(4096 + 16 + 16);
    expect(compressBound(65536)).toBe(65536 + 257 + 16);
  });
});

describe('round trips', () => {
  const synthetic = syntheticPages();

  for (const name of CODEC_NAMES) {
    it(`${name}: every synthetic edge case comes back exactly`, () => {
      for (const { name: caseName, page } of synthetic) {
        expect(Buffer.from(roundTrip(name, page)).equals(Buffer.from(page)), caseName).toBe(true);
      }
    });
  }

  it('lz4 and lz4js write blocks the other decodes (one format)', () => {
    for (const { name: caseName, page } of synthetic) {
      for (const [writer, reader] of [
        ['lz4', 'lz4js'],
        ['lz4js', 'lz4'],
      ] as const) {
        const out = new Uint8Array(page.length);
        getCodec(reader).decompress(compressWith(writer, page), out);
        expect(Buffer.from(out).equals(Buffer.from(page)), `${writer} -> ${reader}: ${caseName}`).toBe(true);
      }
    }
  });

  it('lz4 round-trips real pages, one encoder reused for all of them', () => {
    const codec = getCodec('lz4');
    const dst = new Uint8Array(compressBound(4096));
    const out = new Uint8Array(4096);
    let pages = 0;
    for (const set of realPageSets()) {
      for (const page of set.pages) {
        const n = codec.compress(page, dst);
        codec.decompress(dst.subarray(0, n), out);
        expect(Buffer.from(out).equals(Buffer.from(page)), set.name).toBe(true);
        pages++;
      }
    }
    expect(pages).toBeGreaterThan(100);
  });

  it('compresses what compresses: a zero page to a few bytes, random data never beyond the bound', () => {
    expect(compressWith('lz4', new Uint8Array(4096)).length).toBeLessThan(30);
    const rand = xorshift(7);
    const page = new Uint8Array(4096).map(() => rand() & 0xff);
    const block = compressWith('lz4', page);
    expect(block.length).toBeGreaterThan(4096);
    expect(block.length).toBeLessThanOrEqual(compressBound(4096));
  });

  it('none stores the page as it is and refuses a stored page of the wrong length', () => {
    const page = new Uint8Array([1, 2, 3, 4]);
    expect(Array.from(compressWith('none', page))).toEqual([1, 2, 3, 4]);
    const err = errorOf(() => getCodec('none').decompress(page, new Uint8Array(5)));
    expect(err).toBeInstanceOf(ContainerError);
    expect((err as ContainerError).code).toBe('E_PAGE_LENGTH');
  });
});

describe('our encoder', () => {
  it('obeys the end-of-block rules on every page (checked by the strict walker)', () => {
    const encoder = new Lz4Wasm();
    for (const { name, page } of syntheticPages()) {
      const dst = new Uint8Array(compressBound(page.length));
      const n = encoder.compress(page, dst);
      expect(() => checkLz4Block(dst.subarray(0, n), page.length), name).not.toThrow();
    }
  });

  it('never takes a match from an earlier page: the same page twice, shifted pages', () => {
    for (const encoder of [new Lz4Wasm()]) {
      const rand = xorshift(99);
      const base = new Uint8Array(8192).map(() => rand() & 0xff);
      const dst = new Uint8Array(compressBound(4096));
      const out = new Uint8Array(4096);
      for (let shift = 0; shift < 64; shift++) {
        const page = base.subarray(shift, shift + 4096);
        for (let again = 0; again < 2; again++) {
          const n = encoder.compress(page, dst);
          // A random page has no match inside itself: only an (invalid) match into an earlier page could shrink it.
          expect(n).toBe(literalOnlyLength(4096));
          decodeLz4Block(dst.subarray(0, n), out);
          expect(Buffer.from(out).equals(Buffer.from(page))).toBe(true);
        }
      }
    }
  });

  it('gives the same blocks after the stamped table wraps (32767 pages) and is cleared', () => {
    const encoder = new Lz4Wasm();
    const small = Uint8Array.from({ length: 64 }, (_, i) => (i * 7) & 0x1f);
    const dst = new Uint8Array(compressBound(4096));
    const page = syntheticPages()[0]!.page;
    const first = Buffer.from(dst.subarray(0, encoder.compress(page, dst)));
    for (let i = 0; i < 40000; i++) encoder.compress(small, dst);
    expect(Buffer.from(dst.subarray(0, encoder.compress(page, dst))).equals(first)).toBe(true);
  });

  it('gives the same blocks whatever came before (stale table entries never matter)', () => {
    const real = realPageSets()[0]?.pages.slice(0, 200) ?? [];
    const pages = [...real, ...syntheticPages().map((s) => s.page)];
    const warm = new Lz4Wasm();
    const dst = new Uint8Array(compressBound(1 << 18));
    for (const page of pages) {
      const n = warm.compress(page, dst);
      const fresh = new Lz4Wasm();
      const dst2 = new Uint8Array(compressBound(1 << 18));
      const m = fresh.compress(page, dst2);
      expect(Buffer.from(dst.subarray(0, n)).equals(Buffer.from(dst2.subarray(0, m)))).toBe(true);
    }
  });

  it('refuses an output buffer below the bound', () => {
    expect(() => new Lz4Wasm().compress(new Uint8Array(4096), new Uint8Array(4096))).toThrow(/below the bound/);
  });
});

describe('our decoder refuses what the reference decoder refuses', () => {
  // A 20-byte page: "abcd" + match(offset 4, length 4) + 12 literals "x".
  const good = Uint8Array.from([0x40, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0xc0, ...new Array(12).fill(0x78)]);
  const expected = Buffer.from('abcdabcdxxxxxxxxxxxx');

  function refusal(block: Uint8Array, size: number): string {
    const err = errorOf(() => decodeLz4Block(block, new Uint8Array(size)));
    expect(err).toBeInstanceOf(ContainerError);
    expect((err as ContainerError).code).toBe('E_LZ4');
    // The walker refuses it for the same reason.
    const walked = errorOf(() => checkLz4Block(block, size));
    expect((walked as ContainerError).message).toBe((err as ContainerError).message);
    return (err as ContainerError).message;
  }

  it('decodes the well-formed block', () => {
    const out = new Uint8Array(20);
    decodeLz4Block(good, out);
    expect(Buffer.from(out).equals(expected)).toBe(true);
  });

  it('refuses a wrong output size, both ways', () => {
    expect(refusal(good, 21)).toMatch(/decodes to 20 bytes, expected 21/);
    expect(refusal(good, 19)).toMatch(/literals run past the end of the page/);
  });

  it('refuses offset 0 and offsets before the page', () => {
    const zero = good.slice();
    zero[5] = 0;
    expect(refusal(zero, 20)).toMatch(/offset 0/);
    const far = good.slice();
    far[5] = 5;
    expect(refusal(far, 20)).toMatch(/reaches before the start/);
  });

  it('refuses truncation at every length', () => {
    for (let n = 0; n < good.length; n++) refusal(good.subarray(0, n), 20);
  });

  it('refuses a match in the last 12 bytes and a match into the last 5', () => {
    // 10 literals then a match of 4 at offset 1 starting at byte 10 of a 19-byte page: starts 9 bytes before the end.
    const late = Uint8Array.from([0xa0, ...new Array(10).fill(0x61), 0x01, 0x00, 0x50, ...new Array(5).fill(0x62)]);
    expect(refusal(late, 19)).toMatch(/last 12 bytes/);
    // A match reaching the last 4 bytes of a 24-byte page.
    const into = Uint8Array.from([0x4f, 0x61, 0x62, 0x63, 0x64, 0x04, 0x00, 0x01, 0x40, 0x78, 0x78, 0x78, 0x78]);
    expect(refusal(into, 24)).toMatch(/last 5 bytes/);
  });

  it('refuses a block longer than any valid block for the page', () => {
    expect(refusal(new Uint8Array(compressBound(4096) + 1), 4096)).toMatch(/longer than any block/);
  });

  it('leaves dst untouched when it refuses', () => {
    const dst = new Uint8Array(21).fill(0xee);
    expect(() => new Lz4Wasm().decompress(good, dst)).toThrow(ContainerError);
    expect(dst.every((b) => b === 0xee)).toBe(true);
  });

  it('decodes an empty page from the one-byte block', () => {
    decodeLz4Block(Uint8Array.from([0]), new Uint8Array(0));
    refusal(new Uint8Array(0), 0);
  });
});
