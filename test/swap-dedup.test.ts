import { describe, expect, it } from 'vitest';
import { loadPageHasher } from '../src/scan/hash.js';
import { CostAccumulator } from '../src/mm/cost.js';
import { DedupFirstSwap } from '../src/mm/swap/dedup-first.js';
import { DiskSwap } from '../src/mm/swap/disk.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';
import { prng, samplePages } from '../src/mm/swap/sample-pages.js';
import { ZramSwap } from '../src/mm/swap/zram.js';
import { ZswapSwap } from '../src/mm/swap/zswap.js';
import type { SwapBackend } from '../src/mm/swap/types.js';
import { checkAndFreeAll, drive, key, repeatsOneWord } from './swap-helpers.js';

const PAGE = 4096;

const backends: [string, () => SwapBackend][] = [
  ['disk', () => new DiskSwap()],
  ['zram', () => new ZramSwap({ codec: new Lz4jsCodec() })],
  ['zswap', () => new ZswapSwap({ codec: new Lz4jsCodec(), totalRamPages: 200 })],
];

describe('dedup-first', () => {
  for (const [name, make] of backends) {
    it(`round-trips a mixture with many duplicates in front of ${name}, and frees everything`, async () => {
      const inner = make();
      const dedup = new DedupFirstSwap(inner, { hash: await loadPageHasher() });
      const sample = samplePages(400, PAGE, 31);
      const result = drive(dedup, sample, 5000, 41);
      const s = dedup.stats();
      expect(s.dedup_hits).toBeGreaterThan(100);
      expect(inner.slotsInUse()).toBeLessThan(dedup.slotsInUse());
      checkAndFreeAll(dedup, result.live);
      expect(inner.slotsInUse()).toBe(0);
      expect(inner.ramPages()).toBe(0);
      expect(dedup.stats()).toMatchObject({ dedup_unique_pages: 0, dedup_saved_bytes: 0, dedup_entries: 0 });
    });
  }

  it('stores each distinct content once and counts hits exactly, checked against a content map', async () => {
    const inner = new ZramSwap({ codec: new Lz4jsCodec(), zeromap: false });
    const dedup = new DedupFirstSwap(inner, { hash: await loadPageHasher() });
    const sample = samplePages(1000, PAGE, 32);
    const seen = new Set<string>();
    let hits = 0;
    let indexedEntries = 0;
    for (let i = 0; i < sample.count; i++) {
      const page = sample.page(i);
      dedup.store(page);
      if (repeatsOneWord(page)) continue; // passed straight to zram
      indexedEntries++;
      const k = key(page);
      if (seen.has(k)) hits++;
      else seen.add(k);
    }
    const s = dedup.stats();
    expect(s.dedup_hits).toBe(hits);
    expect(s.dedup_unique_pages).toBe(seen.size);
    expect(s.dedup_saved_bytes).toBe((indexedEntries - seen.size) * PAGE);
    expect(s.dedup_hash_collisions).toBe(0);
    // zram compressed only the unique contents.
    expect(inner.stats().pages_stored).toBe(sample.count - hits);
    expect(hits).toBeGreaterThan(150);
  });

  it('never merges different pages when every hash collides', () => {
    const inner = new DiskSwap();
    const dedup = new DedupFirstSwap(inner, { hash: () => 42n });
    const sample = samplePages(120, PAGE, 33, { zero: 0, same: 0, text: 1, table: 1, random: 1, duplicate: 1 });
    const result = drive(dedup, sample, 1500, 43);
    const s = dedup.stats();
    expect(s.dedup_hash_collisions).toBeGreaterThan(100);
    const distinct = new Set([...result.live.values()].map((e) => key(e.bytes)));
    expect(s.dedup_unique_pages).toBe(distinct.size);
    checkAndFreeAll(dedup, result.live);
    expect(inner.slotsInUse()).toBe(0);
  });

  it('keeps its index right through many removals when hashes cluster (4 distinct hash values)', () => {
    const inner = new DiskSwap();
    const dedup = new DedupFirstSwap(inner, { hash: (p) => BigInt(p[100]! & 3) * 0x100000001n });
    const sample = samplePages(300, PAGE, 36, { zero: 0, same: 0, text: 2, table: 2, random: 1, duplicate: 3 });
    const result = drive(dedup, sample, 6000, 44);
    const distinct = new Set([...result.live.values()].map((e) => key(e.bytes)));
    expect(dedup.stats().dedup_unique_pages).toBe(distinct.size);
    expect(inner.slotsInUse()).toBe(distinct.size);
    checkAndFreeAll(dedup, result.live);
    expect(inner.slotsInUse()).toBe(0);
  });

  it('keeps a shared copy until its last reference is freed, in any order', async () => {
    const inner = new ZramSwap({ codec: new Lz4jsCodec() });
    const dedup = new DedupFirstSwap(inner, { hash: await loadPageHasher() });
    const page = samplePages(1, PAGE, 34, { zero: 0, same: 0, text: 1, table: 0, random: 0, duplicate: 0 }).page(0);
    const slots = Array.from({ length: 6 }, () => dedup.store(page));
    expect(new Set(slots).size).toBe(6);
    expect(new Set(slots.map((s) => dedup.sharedSlot(s))).size).toBe(1);
    dedup.duplicate(slots[2]!); // a forked PTE
    expect(inner.slotsInUse()).toBe(1);
    const order = [4, 0, 2, 5, 1, 3];
    const next = prng(3);
    const out = new Uint8Array(PAGE);
    for (const i of order) {
      expect(dedup.free(slots[i]!)).toBe(i !== 2);
      if (i === 2) expect(dedup.free(slots[i]!)).toBe(true);
      const left = slots.filter((_, j) => order.indexOf(j) > order.indexOf(i));
      if (left.length > 0) {
        dedup.load(left[next() % left.length]!, out);
        expect(Buffer.compare(out, page)).toBe(0);
        expect(inner.slotsInUse()).toBe(1);
        expect(dedup.stats().dedup_saved_bytes).toBe((left.length - 1) * PAGE);
      }
    }
    expect(inner.slotsInUse()).toBe(0);
    expect(inner.mmStat().orig_data_size).toBe(0);
  });

  it('confirms every hash match by reading the stored copy back, charged as a decompress and a compare', async () => {
    const cost = new CostAccumulator();
    const inner = new ZramSwap({ codec: new Lz4jsCodec(), cost });
    const dedup = new DedupFirstSwap(inner, { hash: await loadPageHasher() });
    const page = samplePages(1, PAGE, 35, { zero: 0, same: 0, text: 1, table: 0, random: 0, duplicate: 0 }).page(0);
    for (let i = 0; i < 5; i++) dedup.store(page);
    expect(cost.count('compress')).toBe(1);
    expect(cost.count('hash')).toBe(5);
    expect(cost.count('decompress')).toBe(4);
    expect(cost.count('compare')).toBe(4);
    expect(dedup.stats().dedup_compare_reads).toBe(4);
  });

  it('can deduplicate same-filled pages too (passSameFilled: false)', async () => {
    const inner = new ZramSwap({ codec: new Lz4jsCodec() });
    const dedup = new DedupFirstSwap(inner, { hash: await loadPageHasher(), passSameFilled: false });
    const word = new Uint8Array(PAGE).fill(9);
    for (let i = 0; i < 4; i++) dedup.store(word);
    expect(dedup.stats()).toMatchObject({ dedup_hits: 3, dedup_unique_pages: 1, same_pages: 1 });
  });
});
