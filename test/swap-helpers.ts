/**
 * Shared pieces of the swap tests: an independent same-filled test, and a
 * random driver that stores, loads, duplicates and frees pages on any back
 * end while a plain Map remembers what every live slot must hold.
 */
import { expect } from 'vitest';
import { NO_SLOT, type SwapBackend } from '../src/mm/swap/types.js';
import type { SamplePages } from '../src/mm/swap/sample-pages.js';
import { mulberry32 } from '../src/util/prng.js';

/** Written without the scanner: every byte equals the byte 8 before it. */
export function repeatsOneWord(page: Uint8Array): boolean {
  for (let i = 8; i < page.length; i++) if (page[i] !== page[i - 8]) return false;
  return true;
}

export function isAllZero(page: Uint8Array): boolean {
  return page.every((b) => b === 0);
}

export function key(page: Uint8Array): string {
  return Buffer.from(page).toString('base64');
}

export interface DriveResult {
  stores: number;
  refused: number;
  loads: number;
  frees: number;
  live: Map<number, { bytes: Uint8Array; count: number }>;
}

/**
 * Runs `steps` random operations: store a sample page (weight 4), load and
 * check a live slot (3), duplicate one (1), free one reference (3). Every
 * load is compared with the bytes stored. Returns what is still live.
 */
export function drive(backend: SwapBackend, sample: SamplePages, steps: number, seed: number): DriveResult {
  const next = mulberry32(seed);
  const live = new Map<number, { bytes: Uint8Array; count: number }>();
  const liveSlots: number[] = [];
  const into = new Uint8Array(backend.pageSize);
  const result: DriveResult = { stores: 0, refused: 0, loads: 0, frees: 0, live };
  for (let step = 0; step < steps; step++) {
    const r = next() % 11;
    if (r < 4 || liveSlots.length === 0) {
      const page = sample.page(next() % sample.count);
      const slot = backend.store(page);
      if (slot === NO_SLOT) {
        result.refused++;
        continue;
      }
      expect(live.has(slot), `slot ${slot} handed out twice`).toBe(false);
      live.set(slot, { bytes: page.slice(), count: 1 });
      liveSlots.push(slot);
      result.stores++;
    } else if (r < 7) {
      const slot = liveSlots[next() % liveSlots.length]!;
      backend.load(slot, into);
      if (Buffer.compare(into, live.get(slot)!.bytes) !== 0) {
        throw new Error(`load of slot ${slot} differs from the page stored (step ${step})`);
      }
      result.loads++;
    } else if (r < 8) {
      const slot = liveSlots[next() % liveSlots.length]!;
      backend.duplicate(slot);
      live.get(slot)!.count++;
    } else {
      const i = next() % liveSlots.length;
      const slot = liveSlots[i]!;
      const entry = live.get(slot)!;
      const released = backend.free(slot);
      entry.count--;
      expect(released).toBe(entry.count === 0);
      if (entry.count === 0) {
        live.delete(slot);
        liveSlots[i] = liveSlots[liveSlots.length - 1]!;
        liveSlots.pop();
      }
      result.frees++;
    }
    if ((step & 255) === 0) expect(backend.slotsInUse()).toBe(live.size);
  }
  expect(backend.slotsInUse()).toBe(live.size);
  return result;
}

/** Loads every live slot and checks it, then frees every reference. */
export function checkAndFreeAll(backend: SwapBackend, live: DriveResult['live']): void {
  const into = new Uint8Array(backend.pageSize);
  for (const [slot, entry] of live) {
    backend.load(slot, into);
    if (Buffer.compare(into, entry.bytes) !== 0) throw new Error(`final load of slot ${slot} differs`);
    for (let c = entry.count; c > 1; c--) expect(backend.free(slot)).toBe(false);
    expect(backend.free(slot)).toBe(true);
  }
  live.clear();
  expect(backend.slotsInUse()).toBe(0);
}
