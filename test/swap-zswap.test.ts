import { describe, expect, it } from 'vitest';
import { CostAccumulator } from '../src/mm/cost.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';
import { samplePages } from '../src/mm/swap/sample-pages.js';
import { NO_SLOT } from '../src/mm/swap/types.js';
import { ZswapSwap, type ZswapOptions } from '../src/mm/swap/zswap.js';
import { checkAndFreeAll, drive, isAllZero } from './swap-helpers.js';

const PAGE = 4096;
const RANDOM = { zero: 0, same: 0, text: 0, table: 0, random: 1, duplicate: 0 } as const;

/** 100 pages of RAM: max_pages 20, accept threshold 18. Random pages are stored as-is, one pool page each. */
function small(options: Partial<ZswapOptions> = {}): ZswapSwap {
  return new ZswapSwap({ codec: new Lz4jsCodec(), totalRamPages: 100, ...options });
}

describe('zswap', () => {
  it('computes max_pages and the accept threshold as zswap does', () => {
    const z = small();
    expect(z.maxPages()).toBe(20);
    expect(z.acceptThresholdPages()).toBe(18);
    const big = new ZswapSwap({
      codec: new Lz4jsCodec(),
      totalRamPages: 1001,
      maxPoolPercent: 33,
      acceptThresholdPercent: 85,
    });
    expect(big.maxPages()).toBe(Math.floor((1001 * 33) / 100));
    expect(big.acceptThresholdPages()).toBe(Math.floor((330 * 85) / 100));
    expect(() => small({ maxPoolPercent: 101 })).toThrow(RangeError);
  });

  it('round-trips a random mixture through a small pool that keeps writing back, and frees everything', () => {
    for (const secondChance of [true, false]) {
      const z = new ZswapSwap({ codec: new Lz4jsCodec(), totalRamPages: 150, secondChance });
      const sample = samplePages(500, PAGE, 12);
      const result = drive(z, sample, 6000, secondChance ? 21 : 22);
      const s = z.stats();
      expect(s.pool_limit_hit).toBeGreaterThan(0);
      expect(s.written_back_pages).toBeGreaterThan(0);
      expect(s.pswpin).toBeGreaterThan(0);
      expect(s.zswpin).toBeGreaterThan(0);
      // The pool never grows past max_pages by more than the one zspage the last accepted store can add.
      expect(z.ramPages()).toBeLessThanOrEqual(z.maxPages() + 8);
      checkAndFreeAll(z, result.live);
      expect(z.stats()).toMatchObject({ pool_total_size: 0, stored_pages: 0, stored_incompressible_pages: 0 });
    }
  });

  it('refuses stores while full until the pool is back at the accept threshold (hysteresis)', () => {
    const z = small({ shrinkOnReject: false });
    const sample = samplePages(40, PAGE, 3, RANDOM);
    const slots: number[] = [];
    for (let i = 0; i < 20; i++) slots.push(z.store(sample.page(i)));
    expect(z.ramPages()).toBe(20);
    expect(slots.every((s) => z.inPool(s))).toBe(true);

    const rejected = z.store(sample.page(20));
    expect(z.inPool(rejected)).toBe(false);
    expect(z.stats()).toMatchObject({ pool_limit_hit: 1, reject_pool_full: 1, pswpout: 1 });
    expect(z.poolFull).toBe(true);

    z.free(slots[0]!); // pool 19: below max, above the threshold: still refused, no new limit hit
    const stillRejected = z.store(sample.page(21));
    expect(z.inPool(stillRejected)).toBe(false);
    expect(z.stats()).toMatchObject({ pool_limit_hit: 1, reject_pool_full: 2, pswpout: 2 });

    z.free(slots[1]!); // pool 18 = the accept threshold: accepted again
    const accepted = z.store(sample.page(22));
    expect(z.inPool(accepted)).toBe(true);
    expect(z.poolFull).toBe(false);
    expect(z.store(sample.page(23))).toSatisfy((s: number) => z.inPool(s));
    expect(z.ramPages()).toBe(20);
    expect(z.inPool(z.store(sample.page(24)))).toBe(false);
    expect(z.stats().pool_limit_hit).toBe(2);

    const out = new Uint8Array(PAGE);
    z.load(rejected, out);
    expect(Buffer.compare(out, sample.page(20))).toBe(0);
  });

  it('writes back the oldest entries first, down to the accept threshold', () => {
    const z = small({ secondChance: false });
    const sample = samplePages(30, PAGE, 4, RANDOM);
    const slots = Array.from({ length: 20 }, (_, i) => z.store(sample.page(i)));
    const rejected = z.store(sample.page(20)); // refused, then the shrink worker runs
    expect(z.inPool(rejected)).toBe(false);
    expect(z.stats().written_back_pages).toBe(2);
    expect(z.ramPages()).toBe(18);
    expect(slots.map((s) => z.inPool(s))).toEqual(slots.map((_, i) => i >= 2));
    const out = new Uint8Array(PAGE);
    z.load(slots[0]!, out);
    expect(Buffer.compare(out, sample.page(0))).toBe(0);
    expect(z.stats()).toMatchObject({ pswpin: 1, zswpwb: 2, pswpout: 3 });
    // Back at the threshold: the next store is accepted.
    expect(z.inPool(z.store(sample.page(21)))).toBe(true);
  });

  it('gives referenced entries a second chance and stops after MAX_RECLAIM_RETRIES rotations', () => {
    const z = small();
    const sample = samplePages(30, PAGE, 5, RANDOM);
    const slots = Array.from({ length: 20 }, (_, i) => z.store(sample.page(i)));
    z.store(sample.page(20)); // worker: rotates the 16 oldest (all referenced), writes nothing back
    expect(z.stats().written_back_pages).toBe(0);
    z.store(sample.page(21)); // worker: rotates the 4 still referenced, then writes back the two oldest
    expect(z.stats().written_back_pages).toBe(2);
    expect(z.inPool(slots[0]!)).toBe(false);
    expect(z.inPool(slots[1]!)).toBe(false);
    expect(z.inPool(slots[2]!)).toBe(true);
    expect(z.inPool(z.store(sample.page(22)))).toBe(true);
  });

  it('with writeback disabled keeps refused pages out of swap (NO_SLOT) and writes nothing back', () => {
    const z = small({ writeback: false });
    const sample = samplePages(30, PAGE, 6, RANDOM);
    // 6.18 stores incompressible pages only when they can be written back later.
    expect(z.store(sample.page(0))).toBe(NO_SLOT);
    expect(z.stats().reject_compress_fail).toBe(1);
    const text = samplePages(400, PAGE, 6, { zero: 0, same: 0, text: 1, table: 0, random: 0, duplicate: 0 });
    let refused = 0;
    for (let i = 0; i < text.count; i++) if (z.store(text.page(i)) === NO_SLOT) refused++;
    expect(refused).toBeGreaterThan(0);
    expect(z.stats()).toMatchObject({ written_back_pages: 0, pswpout: 0 });
    expect(z.slotsInUse()).toBe(text.count - refused);
  });

  it("rejects incompressible pages to the disk with incompressible: 'reject'", () => {
    const z = small({ incompressible: 'reject' });
    const sample = samplePages(3, PAGE, 7, RANDOM);
    const slot = z.store(sample.page(0));
    expect(z.inPool(slot)).toBe(false);
    expect(z.stats()).toMatchObject({ reject_compress_poor: 1, stored_pages: 0, pswpout: 1 });
    const stored = small().store(sample.page(0));
    expect(stored).toBeGreaterThanOrEqual(0);
  });

  it('handles same-filled pages per kernel version', () => {
    const zero = new Uint8Array(PAGE);
    const word = Uint8Array.from({ length: PAGE }, (_, i) => (i % 8) + 1);
    const out = new Uint8Array(PAGE);

    const modern = small(); // 6.12+: zeromap for zero pages, others compressed
    const a = modern.store(zero);
    const b = modern.store(word);
    expect(modern.stats()).toMatchObject({ swpout_zero: 1, stored_pages: 1, same_filled_pages: 0 });
    expect(modern.ramPages()).toBeGreaterThan(0);
    modern.load(a, out.fill(1));
    expect(isAllZero(out)).toBe(true);
    modern.load(b, out);
    expect(Buffer.compare(out, word)).toBe(0);

    const old = small({ sameFilled: 'same-filled' }); // before 6.12
    const c = old.store(zero);
    const d = old.store(word);
    expect(old.stats()).toMatchObject({ swpout_zero: 0, stored_pages: 2, same_filled_pages: 2, pool_total_size: 0 });
    old.load(d, out);
    expect(Buffer.compare(out, word)).toBe(0);
    old.load(c, out);
    expect(isAllZero(out)).toBe(true);
    old.free(c);
    old.free(d);
    expect(old.stats()).toMatchObject({ stored_pages: 0, same_filled_pages: 0 });

    const none = small({ sameFilled: 'none' });
    none.store(zero);
    expect(none.stats()).toMatchObject({ swpout_zero: 0, stored_pages: 1 });
  });

  it('charges compressions, decompressions and disk I/O to the cost model', () => {
    const cost = new CostAccumulator();
    const z = new ZswapSwap({ codec: new Lz4jsCodec(), totalRamPages: 100, cost, secondChance: false });
    const sample = samplePages(60, PAGE, 8);
    const slots = Array.from({ length: 60 }, (_, i) => z.store(sample.page(i)));
    const out = new Uint8Array(PAGE);
    for (const slot of slots) z.load(slot, out);
    const s = z.stats();
    expect(cost.count('diskWrite')).toBe(s.pswpout);
    expect(cost.count('diskRead')).toBe(s.pswpin);
    expect(cost.bytes('diskWrite')).toBe(s.pswpout * PAGE);
    expect(cost.count('compress')).toBeGreaterThan(0);
    expect(cost.estimate().ioNs).toBeGreaterThan(0);
  });
});
