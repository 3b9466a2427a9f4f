import { describe, expect, it } from 'vitest';
import { CostAccumulator } from '../src/mm/cost.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';
import { SameFilledScanner, fillPage } from '../src/mm/swap/same-filled.js';
import { samplePages } from '../src/mm/swap/sample-pages.js';
import { NO_SLOT } from '../src/mm/swap/types.js';
import { compressBound } from '../src/codec/index.js';
import { ZramSwap } from '../src/mm/swap/zram.js';
import { checkAndFreeAll, drive, isAllZero, repeatsOneWord } from './swap-helpers.js';

const PAGE = 4096;

function pattern(bytes: number[]): Uint8Array {
  return Uint8Array.from({ length: PAGE }, (_, i) => bytes[i % bytes.length]!);
}

describe('same-filled detection', () => {
  const scanner = new SameFilledScanner();

  it('finds non-zero word patterns and only those', () => {
    const cases: [string, Uint8Array, boolean][] = [
      ['zero', new Uint8Array(PAGE), true],
      ['one byte repeated', new Uint8Array(PAGE).fill(0xff), true],
      ['4-byte period', pattern([1, 2, 3, 4]), true],
      ['8-byte period', pattern([1, 2, 3, 4, 5, 6, 7, 8]), true],
      ['16-byte period', pattern([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), false],
      ['3-byte period', pattern([1, 2, 3]), false],
    ];
    for (const [name, page, same] of cases) {
      expect(scanner.check(page), name).toBe(same);
      expect(repeatsOneWord(page), name).toBe(same);
    }
  });

  it('misses no single differing byte, first, last or in between', () => {
    for (const at of [0, 7, 8, 2047, PAGE - 9, PAGE - 8, PAGE - 1]) {
      const page = pattern([9, 8, 7, 6, 5, 4, 3, 2]);
      page[at] = page[at]! ^ 1;
      expect(scanner.check(page), `byte ${at}`).toBe(false);
      const zero = new Uint8Array(PAGE);
      zero[at] = 1;
      expect(scanner.isZero(zero), `zero page, byte ${at}`).toBe(false);
    }
  });

  it('reports the word, and fillPage rebuilds the page from it', () => {
    const page = pattern([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    expect(scanner.check(page)).toBe(true);
    expect(scanner.lo).toBe(0x44332211);
    expect(scanner.hi).toBe(0x88776655);
    const out = new Uint8Array(PAGE);
    fillPage(out, scanner.lo, scanner.hi);
    expect(Buffer.compare(out, page)).toBe(0);
  });

  it('works on pages at unaligned offsets', () => {
    const buffer = new Uint8Array(PAGE + 3);
    const page = buffer.subarray(3);
    page.set(pattern([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(scanner.check(page)).toBe(true);
    expect(scanner.isZero(page)).toBe(false);
  });
});

describe('zram', () => {
  it('round-trips a random mixture with and without the zeromap, and frees everything', () => {
    for (const zeromap of [true, false]) {
      const zram = new ZramSwap({ codec: new Lz4jsCodec(), zeromap });
      const sample = samplePages(600, PAGE, zeromap ? 3 : 4);
      const result = drive(zram, sample, 6000, 17);
      expect(result.loads).toBeGreaterThan(1000);
      checkAndFreeAll(zram, result.live);
      const s = zram.mmStat();
      expect(s).toMatchObject({
        orig_data_size: 0,
        compr_data_size: 0,
        mem_used_total: 0,
        same_pages: 0,
        huge_pages: 0,
      });
      expect(zram.stats().notify_free).toBe(zram.stats().num_writes);
      expect(zram.ramPages()).toBe(0);
    }
  });

  it('compr_data_size is the sum of the codec compressed lengths, computed independently', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec(), zeromap: false });
    const sample = samplePages(800, PAGE, 5);
    const independent = new Lz4jsCodec();
    const out = new Uint8Array(compressBound(PAGE));
    let expected = 0;
    let same = 0;
    let huge = 0;
    const slots: number[] = [];
    for (let i = 0; i < sample.count; i++) {
      const page = sample.page(i);
      slots.push(zram.store(page));
      if (repeatsOneWord(page)) {
        same++;
        continue;
      }
      const len = independent.compress(page, out);
      if (len >= 3625) {
        huge++;
        expected += PAGE;
      } else expected += len;
    }
    let s = zram.mmStat();
    expect(s.compr_data_size).toBe(expected);
    expect(s.same_pages).toBe(same);
    expect(s.huge_pages).toBe(huge);
    expect(s.huge_pages_since).toBe(huge);
    expect(s.orig_data_size).toBe(sample.count * PAGE);
    expect(same).toBeGreaterThan(50);
    expect(huge).toBeGreaterThan(30);

    // Free every other page and recount.
    expected = 0;
    same = 0;
    let hugeLeft = 0;
    for (let i = 0; i < sample.count; i++) {
      if (i % 2 === 0) {
        zram.free(slots[i]!);
        continue;
      }
      const page = sample.page(i);
      if (repeatsOneWord(page)) same++;
      else {
        const len = independent.compress(page, out);
        if (len >= 3625) hugeLeft++;
        expected += len >= 3625 ? PAGE : len;
      }
    }
    s = zram.mmStat();
    expect(s.compr_data_size).toBe(expected);
    expect(s.same_pages).toBe(same);
    expect(s.huge_pages).toBe(hugeLeft);
    expect(s.huge_pages_since).toBe(huge);
    expect(s.mem_used_max).toBeGreaterThanOrEqual(s.mem_used_total);
  });

  it('stores incompressible pages whole and returns them intact', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec() });
    const sample = samplePages(20, PAGE, 8, { zero: 0, same: 0, text: 0, table: 0, random: 1, duplicate: 0 });
    const slots = Array.from({ length: 20 }, (_, i) => zram.store(sample.page(i)));
    const s = zram.mmStat();
    expect(s.huge_pages).toBe(20);
    expect(s.compr_data_size).toBe(20 * PAGE);
    // Huge objects take a page each in the 4096 class.
    expect(s.mem_used_total).toBe(20 * PAGE);
    const out = new Uint8Array(PAGE);
    slots.forEach((slot, i) => {
      zram.load(slot, out);
      expect(Buffer.compare(out, sample.page(i))).toBe(0);
    });
  });

  it('keeps non-zero same-filled pages as a word; with the zeromap zero pages never reach zram', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec() });
    const zero = zram.store(new Uint8Array(PAGE));
    const word = zram.store(pattern([1, 0, 0, 0, 0, 0, 0, 2]));
    const s = zram.stats();
    expect(s.same_pages).toBe(1);
    expect(s.swpout_zero).toBe(1);
    expect(s.num_writes).toBe(1);
    expect(s.mem_used_total).toBe(0);
    const out = new Uint8Array(PAGE).fill(7);
    zram.load(zero, out);
    expect(isAllZero(out)).toBe(true);
    zram.load(word, out);
    expect(Buffer.compare(out, pattern([1, 0, 0, 0, 0, 0, 0, 2]))).toBe(0);
    expect(zram.stats().swpin_zero).toBe(1);
    expect(zram.stats().num_reads).toBe(1);
  });

  it('refuses writes over mem_limit, as zram does after allocating', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec(), memLimitBytes: 3 * PAGE });
    const sample = samplePages(10, PAGE, 8, { zero: 0, same: 0, text: 0, table: 0, random: 1, duplicate: 0 });
    const slots = Array.from({ length: 10 }, (_, i) => zram.store(sample.page(i)));
    expect(slots.filter((s) => s !== NO_SLOT)).toHaveLength(3);
    const s = zram.stats();
    expect(s.failed_writes).toBe(7);
    expect(s.mem_used_total).toBe(3 * PAGE);
    expect(s.mem_limit).toBe(3 * PAGE);
    // update_used_max runs before the limit check.
    expect(s.mem_used_max).toBe(4 * PAGE);
    expect(zram.slotsInUse()).toBe(3);
  });

  it('reuses freed slots', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec() });
    const sample = samplePages(4, PAGE, 2);
    const a = zram.store(sample.page(0));
    const b = zram.store(sample.page(1));
    zram.free(a);
    expect(zram.store(sample.page(2))).toBe(a);
    expect(() => zram.load(a + 5, new Uint8Array(PAGE))).toThrow(/not in use/);
    zram.free(b);
    expect(() => zram.free(b)).toThrow(/not in use/);
  });

  it('prints mm_stat and io_stat in the kernel format', () => {
    const zram = new ZramSwap({ codec: new Lz4jsCodec() });
    zram.store(pattern([3, 3, 3, 3, 3, 3, 3, 3]));
    expect(zram.mmStatLine()).toBe(
      '    4096        0        0        0        0        1        0        0        0\n',
    );
    expect(zram.ioStatLine()).toBe('       0        0 0        0\n');
    const stat = zram.blockStatLine().trim().split(/\s+/).map(Number);
    expect(stat).toHaveLength(17);
    expect(stat.slice(4, 7)).toEqual([1, 0, 8]);
  });

  it('works with 16 KiB pages and charges every compression and decompression to the cost model', () => {
    const cost = new CostAccumulator();
    const inner = new Lz4jsCodec();
    const calls = { compress: 0, decompress: 0 };
    const codec = {
      name: 'counting',
      compress: (src: Uint8Array, dst: Uint8Array) => (calls.compress++, inner.compress(src, dst)),
      decompress: (src: Uint8Array, dst: Uint8Array) => (calls.decompress++, inner.decompress(src, dst)),
    };
    const zram = new ZramSwap({ codec, pageSize: 16384, cost });
    expect(zram.hugeClassSize).toBeGreaterThan(12288);
    const sample = samplePages(200, 16384, 6);
    const result = drive(zram, sample, 1500, 5);
    checkAndFreeAll(zram, result.live);
    expect(calls.compress).toBeGreaterThan(100);
    expect(cost.count('compress')).toBe(calls.compress);
    expect(cost.count('decompress')).toBe(calls.decompress);
    expect(cost.bytes('compress')).toBe(calls.compress * 16384);
    expect(cost.count('diskWrite')).toBe(0);
  });
});
