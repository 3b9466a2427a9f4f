import { describe, expect, it } from 'vitest';
import { CostAccumulator } from '../src/mm/cost.js';
import { DiskSwap } from '../src/mm/swap/disk.js';
import { createSwapBackend } from '../src/mm/swap/index.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';
import { samplePages } from '../src/mm/swap/sample-pages.js';
import { NO_SLOT } from '../src/mm/swap/types.js';
import { checkAndFreeAll, drive, isAllZero } from './swap-helpers.js';

const PAGE = 4096;

describe('disk swap', () => {
  it('round-trips a random mixture and counts one I/O per non-zero page', () => {
    for (const zeromap of [true, false]) {
      const cost = new CostAccumulator();
      const disk = new DiskSwap({ cost, zeromap });
      const sample = samplePages(300, PAGE, 51);
      const result = drive(disk, sample, 4000, 52);
      const s = disk.stats();
      expect(cost.count('diskWrite')).toBe(s.pswpout);
      expect(cost.count('diskRead')).toBe(s.pswpin);
      expect(s.pswpout + s.swpout_zero).toBe(result.stores);
      if (!zeromap) expect(s.swpout_zero).toBe(0);
      else expect(s.swpout_zero).toBeGreaterThan(0);
      checkAndFreeAll(disk, result.live);
    }
  });

  it('keeps zero pages in the zeromap, with no I/O', () => {
    const disk = new DiskSwap();
    const slot = disk.store(new Uint8Array(PAGE));
    const out = new Uint8Array(PAGE).fill(3);
    disk.load(slot, out);
    expect(isAllZero(out)).toBe(true);
    expect(disk.stats()).toMatchObject({ pswpout: 0, pswpin: 0, swpout_zero: 1, swpin_zero: 1 });
  });

  it('refuses pages when the device is full, and takes them again after a free', () => {
    const disk = new DiskSwap({ capacityPages: 3, zeromap: false });
    const page = new Uint8Array(PAGE).fill(1);
    const slots = [disk.store(page), disk.store(page), disk.store(page)];
    expect(slots).toEqual([0, 1, 2]);
    expect(disk.store(page)).toBe(NO_SLOT);
    disk.free(1);
    expect(disk.store(page)).toBe(1);
  });

  it('counts references: duplicate() keeps the slot until the last free()', () => {
    const disk = new DiskSwap();
    const page = samplePages(1, PAGE, 53, { zero: 0, same: 0, text: 1, table: 0, random: 0, duplicate: 0 }).page(0);
    const slot = disk.store(page);
    disk.duplicate(slot);
    disk.duplicate(slot);
    expect(disk.swapCount(slot)).toBe(3);
    expect(disk.free(slot)).toBe(false);
    expect(disk.free(slot)).toBe(false);
    expect(disk.free(slot)).toBe(true);
    expect(disk.slotsInUse()).toBe(0);
    expect(() => disk.duplicate(slot)).toThrow(/not in use/);
  });

  it('prices a 4 KiB read and write on the default SSD at 1/IOPS', () => {
    const cost = new CostAccumulator();
    const disk = new DiskSwap({ cost, zeromap: false });
    const slot = disk.store(new Uint8Array(PAGE).fill(7));
    disk.load(slot, new Uint8Array(PAGE));
    const e = cost.estimate();
    expect(e.ops.diskRead.ns).toBeCloseTo(1e9 / 19_000, 6);
    expect(e.ops.diskWrite.ns).toBeCloseTo(1e9 / 60_000, 6);
    expect(e.swapReadBytes).toBe(PAGE);
    expect(e.swapWriteBytes).toBe(PAGE);
    expect(e.cpuNs).toBe(0);
  });

  it('builds every back end from a plain configuration', async () => {
    const codec = new Lz4jsCodec();
    expect(createSwapBackend({ backend: 'disk' }).name).toBe('disk');
    expect(createSwapBackend({ backend: 'zram', codec }).name).toBe('zram');
    expect(
      createSwapBackend({ backend: 'zswap', codec, totalRamPages: 1000, zswap: { maxPoolPercent: 10 } }).name,
    ).toBe('zswap');
    const { loadPageHasher } = await import('../src/scan/hash.js');
    const wrapped = createSwapBackend({ backend: 'zram', codec, dedupFirst: { hash: await loadPageHasher() } });
    expect(wrapped.stats()).toHaveProperty('dedup_hits', 0);
    expect(createSwapBackend({ backend: 'zram' }).name).toBe('zram');
    expect(() => createSwapBackend({ backend: 'zswap', codec })).toThrow(/totalRamPages/);
  });
});
