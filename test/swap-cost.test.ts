import { describe, expect, it } from 'vitest';
import { COST_OP_NAMES, CostAccumulator, CostOp, DOCUMENTED_COSTS, entryNs, withOverrides } from '../src/mm/cost.js';
import { measureCosts } from '../src/sim/cost-measure.js';
import { Lz4jsCodec } from '../src/codec/lz4js.js';

describe('cost model', () => {
  it('documents a source for every entry and has positive prices', () => {
    for (const name of COST_OP_NAMES) {
      const e = DOCUMENTED_COSTS[name];
      expect(e.source.length, name).toBeGreaterThan(20);
      expect(e.latencyNs, name).toBeGreaterThanOrEqual(0);
      expect(e.bytesPerSecond, name).toBeGreaterThan(0);
      expect(entryNs(e, 1, 4096), name).toBeGreaterThan(0);
    }
  });

  it('sums latency and transfer time, splitting CPU from device time', () => {
    const acc = new CostAccumulator(
      withOverrides(DOCUMENTED_COSTS, {
        compress: { bytesPerSecond: 1e9 },
        diskWrite: { latencyNs: 1000, bytesPerSecond: 4096e6 },
        faultMinor: { latencyNs: 250 },
      }),
    );
    acc.charge(CostOp.compress, 4096);
    acc.charge(CostOp.compress, 4096);
    acc.charge(CostOp.diskWrite, 4096);
    acc.charge(CostOp.faultMinor, 0);
    const e = acc.estimate();
    expect(e.ops.compress).toEqual({ count: 2, bytes: 8192, ns: 8192 });
    expect(e.ops.diskWrite.ns).toBe(2000);
    expect(e.cpuNs).toBe(8192 + 250);
    expect(e.ioNs).toBe(2000);
    expect(e.swapWriteBytes).toBe(4096);
    // The same events priced with another table.
    expect(acc.estimate(DOCUMENTED_COSTS).ops.compress.ns).toBeCloseTo((8192 / 560e6) * 1e9, 6);
    acc.reset();
    expect(acc.estimate().cpuNs).toBe(0);
  });

  it('refuses unknown or meaningless overrides', () => {
    expect(() => withOverrides(DOCUMENTED_COSTS, { nonsense: {} } as never)).toThrow(/unknown/);
    expect(() => withOverrides(DOCUMENTED_COSTS, { hash: { bytesPerSecond: 0 } })).toThrow(/bytesPerSecond/);
    expect(withOverrides(DOCUMENTED_COSTS, { hash: { latencyNs: 5 } }).hash.source).toBe('scenario override');
  });

  it('measures the CPU entries at start-up once per process, keeping the documented device entries', async () => {
    const codec = new Lz4jsCodec();
    const first = measureCosts(codec, { pages: 64, rounds: 1 });
    expect(measureCosts(codec, { pages: 64, rounds: 1 })).toBe(first);
    const table = await first;
    for (const name of ['compress', 'decompress', 'pageCopy', 'hash', 'compare', 'sameFilledCheck'] as const) {
      expect(Number.isFinite(table[name].bytesPerSecond), name).toBe(true);
      expect(table[name].bytesPerSecond, name).toBeGreaterThan(0);
      expect(table[name].source, name).toMatch(/measured at start-up/);
    }
    expect(table.diskRead).toBe(DOCUMENTED_COSTS.diskRead);
    expect(table.faultZeroFill).toBe(DOCUMENTED_COSTS.faultZeroFill);
  });
});
