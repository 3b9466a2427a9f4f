/**
 * Measures the CPU entries of the cost table on this machine, once per
 * process (per codec and page size): the page codec's compress and
 * decompress, a page copy, an XXH64 hash, a byte compare and a same-filled
 * scan, each timed over a few hundred synthetic pages (sample-pages.ts,
 * DEFAULT_MIX). The fault and disk entries stay as documented in cost.ts
 * (they are kernel and device costs a process cannot time).
 *
 * Each entry is the best of a few rounds (the least disturbed one), after
 * one warm-up round so the JIT has compiled the code. It takes well under a
 * second for 4 KiB pages with lz4js.
 */
import { loadPageHasher } from '../scan/hash.js';
import { SameFilledScanner, equalPages } from '../mm/swap/same-filled.js';
import { samplePages } from '../mm/swap/sample-pages.js';
import { compressBound, type PageCodec } from '../codec/index.js';
import { DOCUMENTED_COSTS, rateFor, type CostEntry, type CostTable } from '../mm/cost.js';

export interface MeasureOptions {
  pageSize?: number;
  /** Pages timed per round. Default 256. */
  pages?: number;
  /** Timed rounds after the warm-up; the fastest counts. Default 3. */
  rounds?: number;
}

const cache = new Map<string, Promise<CostTable>>();

/** The cost table with CPU entries measured here; cached per codec name and page size. */
export function measureCosts(codec: PageCodec, options: MeasureOptions = {}): Promise<CostTable> {
  const pageSize = options.pageSize ?? 4096;
  const key = `${codec.name}/${pageSize}/${options.pages ?? 256}/${options.rounds ?? 3}`;
  let table = cache.get(key);
  if (!table) {
    table = measure(codec, pageSize, options.pages ?? 256, options.rounds ?? 3);
    cache.set(key, table);
  }
  return table;
}

async function measure(codec: PageCodec, pageSize: number, count: number, rounds: number): Promise<CostTable> {
  const hash = await loadPageHasher();
  const sample = samplePages(count, pageSize, 0x5eed);
  const compressed = new Uint8Array(count * compressBound(pageSize));
  const lengths = new Int32Array(count);
  const out = new Uint8Array(pageSize);
  const scanner = new SameFilledScanner();
  const bound = compressBound(pageSize);
  const slot = (i: number) => compressed.subarray(i * bound, (i + 1) * bound);
  let sink = 0;

  const time = (body: () => void): number => {
    let best = Infinity;
    for (let r = 0; r <= rounds; r++) {
      const start = process.hrtime.bigint();
      body();
      const ns = Number(process.hrtime.bigint() - start) / count;
      if (r > 0 && ns < best) best = ns; // round 0 warms up
    }
    return best;
  };

  const compressNs = time(() => {
    for (let i = 0; i < count; i++) lengths[i] = codec.compress(sample.page(i), slot(i));
  });
  const decompressNs = time(() => {
    for (let i = 0; i < count; i++) codec.decompress(slot(i).subarray(0, lengths[i]!), out);
  });
  const copyNs = time(() => {
    for (let i = 0; i < count; i++) out.set(sample.page(i));
  });
  const hashNs = time(() => {
    for (let i = 0; i < count; i++) sink ^= Number(hash(sample.page(i)) & 0xffn);
  });
  const twin = new Uint8Array(sample.bytes);
  const compareNs = time(() => {
    for (let i = 0; i < count; i++)
      if (equalPages(sample.page(i), twin.subarray(i * pageSize, (i + 1) * pageSize))) sink++;
  });
  let scanned = 0;
  const scanNs = time(() => {
    scanned = 0;
    for (let i = 0; i < count; i++) {
      if (scanner.check(sample.page(i))) sink++;
      scanned += scanner.scannedBytes;
    }
  });
  if (sink === 0.5) throw new Error('unreachable');

  const here = `measured at start-up on this machine over ${count} synthetic ${pageSize}-byte pages (DEFAULT_MIX)`;
  const perPage = (ns: number, what: string): CostEntry => ({
    latencyNs: 0,
    bytesPerSecond: rateFor(pageSize, Math.max(ns, 1)),
    source: `${here}: ${what}, ${ns.toFixed(0)} ns per page`,
  });
  return {
    ...DOCUMENTED_COSTS,
    compress: perPage(compressNs, `${codec.name} compress`),
    decompress: perPage(decompressNs, `${codec.name} decompress`),
    pageCopy: perPage(copyNs, 'Uint8Array.set copy'),
    hash: perPage(hashNs, 'XXH64 (xxhash-wasm)'),
    compare: perPage(compareNs, 'equalPages() on equal pages'),
    sameFilledCheck: {
      latencyNs: 0,
      bytesPerSecond: rateFor(Math.max(scanned / count, 1), Math.max(scanNs, 1)),
      source: `${here}: same-filled scan, ${scanNs.toFixed(0)} ns per page over ${(scanned / count).toFixed(0)} bytes scanned on average`,
    },
  };
}
