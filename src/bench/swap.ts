/**
 * `npm run bench -- swap [PATH...] [--real N] [--synthetic N] [--rounds N] [--json]`
 *
 * Simulated swap operations per second for every back end, next to the page
 * codec alone on the same pages, in the same run.
 *
 * Pages: up to --real pages (default 2048) cut from PATH files (default:
 * samples/bin, else the ELF files of /usr/bin), zero pages and duplicates
 * kept as they are, plus --synthetic pages (default 2048) of the mixture in
 * src/mm/swap/sample-pages.ts (zero, same-filled, text, table, random and
 * duplicate pages, as anonymous memory under pressure has).
 *
 * One operation is a store, a load or a free; a round stores every page,
 * loads every page and frees every page, so it does 3 operations per page.
 * The codec alone compresses and decompresses every page.
 *
 * The bar: the swap path may cost at most 25% more
 * than the codec alone on the same pages. Measured three ways, from the
 * most to the least favourable to the swap path:
 * - all pages: zram as configured (zeromap on), so zero and same-filled
 *   pages skip the codec, against compressing and decompressing every page;
 * - pages zram compresses (not same-filled), zeromap off;
 * - pages that go through the codec both ways (not same-filled, not huge):
 *   the strictest; here every cost beyond the codec is overhead.
 * The machine may be shared, so times are the process's CPU time (see
 * seconds()), the candidates run interleaved, round after round, after one
 * warm-up round, and each candidate's best round counts.
 */
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { loadPageHasher, type PageHash64 } from '../scan/hash.js';
import { CostAccumulator, DOCUMENTED_COSTS } from '../mm/cost.js';
import { DedupFirstSwap } from '../mm/swap/dedup-first.js';
import { DiskSwap } from '../mm/swap/disk.js';
import { defaultPageCodec } from '../mm/swap/index.js';
import { SameFilledScanner } from '../mm/swap/same-filled.js';
import { samplePages } from '../mm/swap/sample-pages.js';
import { hugeClassSize } from '../mm/swap/zsmalloc.js';
import { ZramSwap } from '../mm/swap/zram.js';
import { ZswapSwap } from '../mm/swap/zswap.js';
import { compressBound, type PageCodec } from '../codec/index.js';
import type { SwapBackend } from '../mm/swap/types.js';

const PAGE_SIZE = 4096;
const BAR = 1.25;

/** The codec the swap back ends use: defaultPageCodec(), the project LZ4 codec. */
function pageCodec(): PageCodec {
  return defaultPageCodec();
}

interface Pages {
  bytes: Uint8Array;
  count: number;
}

function isElf(path: string): boolean {
  const head = readFileSync(path).subarray(0, 4);
  return head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

function filesUnder(path: string, out: string[]): void {
  if (lstatSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) filesUnder(join(path, name), out);
  } else if (lstatSync(path).isFile() && lstatSync(path).size > 0 && isElf(path)) out.push(path);
}

function realPages(paths: string[], max: number): Pages {
  const roots = paths.length > 0 ? paths : existsSync('samples/bin') ? ['samples/bin'] : ['/usr/bin'];
  const files: string[] = [];
  for (const root of roots) {
    if (!existsSync(root)) throw new UsageError(`${root}: no such file or directory`);
    filesUnder(root, files);
  }
  const bytes = new Uint8Array(max * PAGE_SIZE);
  let count = 0;
  outer: for (const file of files) {
    const data = readFileSync(file);
    for (let at = 0; at < data.length; at += PAGE_SIZE) {
      if (count === max) break outer;
      bytes.set(data.subarray(at, Math.min(at + PAGE_SIZE, data.length)), count * PAGE_SIZE);
      count++;
    }
  }
  return { bytes: bytes.subarray(0, count * PAGE_SIZE), count };
}

function concat(a: Pages, b: Pages): Pages {
  const bytes = new Uint8Array((a.count + b.count) * PAGE_SIZE);
  bytes.set(a.bytes);
  bytes.set(b.bytes, a.count * PAGE_SIZE);
  return { bytes, count: a.count + b.count };
}

function page(p: Pages, i: number): Uint8Array {
  return p.bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
}

/** Keeps the pages for which `keep` is true. */
function subset(p: Pages, keep: (page: Uint8Array) => boolean): Pages {
  const out = new Uint8Array(p.bytes.length);
  let count = 0;
  for (let i = 0; i < p.count; i++) {
    if (keep(page(p, i))) out.set(page(p, i), count++ * PAGE_SIZE);
  }
  return { bytes: out.subarray(0, count * PAGE_SIZE), count };
}

interface Candidate {
  name: string;
  pages: Pages;
  /** Operations per round. */
  ops: number;
  /** Untimed set-up before each round (a new device). */
  prepare: () => void;
  round: () => void;
  best: number;
  cost?: CostAccumulator;
  stats?: () => Record<string, number>;
}

function codecCandidate(name: string, codec: PageCodec, pages: Pages): Candidate {
  const bound = compressBound(PAGE_SIZE);
  const compressed = new Uint8Array(pages.count * bound);
  const lengths = new Int32Array(pages.count);
  const out = new Uint8Array(PAGE_SIZE);
  return {
    name,
    pages,
    ops: 2 * pages.count,
    best: Infinity,
    prepare: () => {},
    round: () => {
      for (let i = 0; i < pages.count; i++)
        lengths[i] = codec.compress(page(pages, i), compressed.subarray(i * bound, (i + 1) * bound));
      for (let i = 0; i < pages.count; i++)
        codec.decompress(compressed.subarray(i * bound, i * bound + lengths[i]!), out);
    },
  };
}

/**
 * A back end that lives for the whole bench, as a swap device does: every
 * round stores, loads and frees all pages, leaving it empty and warm (its
 * memory already touched), so rounds time the operations, not set-up. The
 * stats shown are those after the stores of the first round.
 */
function swapCandidate(name: string, make: (cost: CostAccumulator) => SwapBackend, pages: Pages): Candidate {
  const slots = new Int32Array(pages.count);
  const out = new Uint8Array(PAGE_SIZE);
  const cost = new CostAccumulator();
  const backend = make(cost);
  let stored: Record<string, number> | undefined;
  return {
    name,
    pages,
    ops: 3 * pages.count,
    best: Infinity,
    cost,
    stats: () => stored ?? {},
    prepare: () => cost.reset(),
    round: () => {
      for (let i = 0; i < pages.count; i++) slots[i] = backend.store(page(pages, i));
      stored ??= backend.stats();
      for (let i = 0; i < pages.count; i++) if (slots[i]! >= 0) backend.load(slots[i]!, out);
      for (let i = 0; i < pages.count; i++) if (slots[i]! >= 0) backend.free(slots[i]!);
    },
  };
}

/**
 * CPU seconds (user + system) the process spends in fn. CPU time, unlike
 * wall time, does not count the time the process waits while other work
 * runs on a busy machine; it does include V8's helper threads (GC), which
 * both sides of a comparison pay.
 */
function seconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export async function benchSwap(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      real: { type: 'string', default: '2048' },
      synthetic: { type: 'string', default: '2048' },
      rounds: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  const real = positiveInt('--real', values.real, true);
  const synthetic = positiveInt('--synthetic', values.synthetic, true);
  const rounds = positiveInt('--rounds', values.rounds, false);
  const hash: PageHash64 = await loadPageHasher();

  const realSet = realPages(positionals, real);
  const sample = samplePages(synthetic, PAGE_SIZE, 2024);
  const all = concat(realSet, { bytes: sample.bytes, count: sample.count });
  if (all.count === 0) throw new UsageError('no pages to measure');

  const scanner = new SameFilledScanner();
  const notSame = subset(all, (p) => !scanner.check(p));
  const probe = pageCodec();
  const probeOut = new Uint8Array(compressBound(PAGE_SIZE));
  const huge = hugeClassSize(PAGE_SIZE);
  const throughCodec = subset(notSame, (p) => probe.compress(p, probeOut) < huge);

  const ramPages = Math.max(64, all.count); // zswap: RAM as large as the page set, pool max 20%
  const candidates: Candidate[] = [
    codecCandidate('codec alone, all pages', pageCodec(), all),
    swapCandidate('zram', (cost) => new ZramSwap({ codec: pageCodec(), cost }), all),
    swapCandidate(
      'zswap (pool 20% of RAM)',
      (cost) => new ZswapSwap({ codec: pageCodec(), cost, totalRamPages: ramPages }),
      all,
    ),
    swapCandidate('disk', (cost) => new DiskSwap({ cost }), all),
    swapCandidate(
      'dedup-first + zram',
      (cost) => new DedupFirstSwap(new ZramSwap({ codec: pageCodec(), cost }), { hash }),
      all,
    ),
    codecCandidate('codec alone, not same-filled', pageCodec(), notSame),
    swapCandidate(
      'zram, not same-filled, no zeromap',
      (cost) => new ZramSwap({ codec: pageCodec(), cost, zeromap: false }),
      notSame,
    ),
    codecCandidate('codec alone, through the codec', pageCodec(), throughCodec),
    swapCandidate(
      'zram, through the codec, no zeromap',
      (cost) => new ZramSwap({ codec: pageCodec(), cost, zeromap: false }),
      throughCodec,
    ),
  ];

  for (let r = 0; r <= rounds; r++) {
    for (const c of candidates) {
      c.prepare();
      const s = seconds(c.round);
      if (r > 0) c.best = Math.min(c.best, s); // round 0 warms up
    }
  }

  const byName = new Map(candidates.map((c) => [c.name, c]));
  const ratio = (swap: string, codec: string) => byName.get(swap)!.best / byName.get(codec)!.best;
  const ratios = [
    { pages: 'all pages, zeromap on', count: all.count, ratio: ratio('zram', 'codec alone, all pages') },
    {
      pages: 'not same-filled',
      count: notSame.count,
      ratio: ratio('zram, not same-filled, no zeromap', 'codec alone, not same-filled'),
    },
    {
      pages: 'through the codec',
      count: throughCodec.count,
      ratio: ratio('zram, through the codec, no zeromap', 'codec alone, through the codec'),
    },
  ];
  const rows = candidates.map((c) => {
    const estimate = c.cost?.estimate(DOCUMENTED_COSTS);
    return {
      name: c.name,
      pages: c.pages.count,
      opsPerSecond: c.ops / c.best,
      usPerPage: (c.best / c.pages.count) * 1e6,
      kernelCpuUsPerPage: estimate ? estimate.cpuNs / c.pages.count / 1000 : undefined,
      deviceUsPerPage: estimate ? estimate.ioNs / c.pages.count / 1000 : undefined,
      stats: c.stats?.(),
    };
  });

  if (values.json) {
    console.log(
      JSON.stringify(
        {
          pageSize: PAGE_SIZE,
          codec: probe.name,
          realPages: realSet.count,
          syntheticPages: sample.count,
          rounds,
          rows,
          ratios,
          bar: BAR,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `swap bench: ${all.count} pages (${realSet.count} real, ${sample.count} synthetic), codec ${probe.name}, CPU time, best of ${rounds} rounds`,
  );
  console.log(
    '  ops = stores + loads + frees (codec alone: compressions + decompressions); kernel CPU and device time per page are',
  );
  console.log(
    "  the cost model's estimate of the same operations on a real kernel (DOCUMENTED_COSTS, src/mm/cost.ts)\n",
  );
  console.log(
    `  ${'candidate'.padEnd(38)} ${'pages'.padStart(6)} ${'ops/s'.padStart(10)} ${'us/page'.padStart(8)} ${'kernel CPU us'.padStart(14)} ${'device us'.padStart(10)}`,
  );
  for (const row of rows) {
    const cpu = row.kernelCpuUsPerPage === undefined ? '' : row.kernelCpuUsPerPage.toFixed(2);
    const dev = row.deviceUsPerPage === undefined ? '' : row.deviceUsPerPage.toFixed(2);
    console.log(
      `  ${row.name.padEnd(38)} ${String(row.pages).padStart(6)} ${Math.round(row.opsPerSecond).toString().padStart(10)} ${row.usPerPage.toFixed(1).padStart(8)} ${cpu.padStart(14)} ${dev.padStart(10)}`,
    );
  }
  console.log(`\n  zram path CPU time / codec alone CPU time on the same pages (bar: at most ${BAR}):`);
  for (const r of ratios) {
    console.log(
      `  ${r.pages.padEnd(24)} ${String(r.count).padStart(6)} pages  ${r.ratio.toFixed(3)}  ${r.ratio <= BAR ? 'within the bar' : 'OVER THE BAR'}`,
    );
  }
  const zram = rows.find((r) => r.name === 'zram')?.stats;
  if (zram) {
    console.log(
      `\n  zram after storing all pages: same_pages ${zram.same_pages}, huge_pages ${zram.huge_pages}, swpout_zero ${zram.swpout_zero}, ` +
        `compr_data_size ${zram.compr_data_size}, mem_used_total ${zram.mem_used_total}`,
    );
  }
}

/** The dispatcher's entry point (src/bench/main.ts calls run(args)). */
export const run = benchSwap;

function positiveInt(flag: string, value: string | undefined, zeroOk: boolean): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1))
    throw new UsageError(`${flag} must be an integer${zeroOk ? ' >= 0' : ' >= 1'}, not ${value}`);
  return n;
}
