/**
 * `npm run bench -- policies [PATH...] [--real N] [--synthetic N] [--rounds N] [--json]`
 *
 * The memory policies in simulated operations per CPU second, and the
 * bar: the swap path may cost at most 25% more than the codec alone on the
 * same pages.
 *
 * Pages: up to --real pages (default 2048) cut from PATH files (default
 * samples/bin, else the ELF files of /usr/bin), plus --synthetic pages
 * (default 2048) of src/mm/swap/sample-pages.ts's mixture.
 *
 * The bar, measured in one run with candidates interleaved round after
 * round (best round counts, CPU time of this process, see seconds()):
 * - swap path: one Machine with a zram back end holding every page in a
 *   process; a round lowers the frame limit to 8 (reclaim swaps every page
 *   out: LRU scan, rmap walk, zram store with its compression), raises it
 *   again and reads every page back through page faults (swap-in: zram load
 *   with its decompression, a frame, the copy into it, the PTE). Each page
 *   goes out and in once per round.
 * - codec alone: compress and decompress every page with the same codec
 *   (defaultPageCodec()).
 * Two page sets: the pages zram compresses and keeps compressed (not
 * same-filled, not huge: there every cost beyond the codec is overhead),
 * and all pages (zero and same-filled pages skip the codec in zram).
 *
 * Operations per second: zero-fill write faults, COW faults after fork,
 * swap-outs and swap-ins on the disk back end (no codec: the model's own
 * cost) and on zram, and KSM pages scanned (8 processes, half of their
 * pages duplicates, ksmd batches of 1000 pages).
 */
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { Machine } from '../mm/machine.js';
import { PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import { defaultPageCodec } from '../mm/swap/index.js';
import { SameFilledScanner } from '../mm/swap/same-filled.js';
import { samplePages } from '../mm/swap/sample-pages.js';
import { hugeClassSize } from '../mm/swap/zsmalloc.js';
import { compressBound, type PageCodec } from '../codec/index.js';

const PAGE_SIZE = 4096;
const BAR = 1.25;
const RW = PROT_READ | PROT_WRITE;

interface Pages {
  bytes: Uint8Array;
  count: number;
}

function page(p: Pages, i: number): Uint8Array {
  return p.bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE);
}

function isElf(path: string): boolean {
  const head = readFileSync(path).subarray(0, 4);
  return head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

function filesUnder(path: string, out: string[]): void {
  const st = lstatSync(path);
  if (st.isDirectory()) for (const name of readdirSync(path).sort()) filesUnder(join(path, name), out);
  else if (st.isFile() && st.size > 0 && isElf(path)) out.push(path);
}

function loadPages(paths: string[], real: number, synthetic: number): Pages {
  const roots = paths.length > 0 ? paths : existsSync('samples/bin') ? ['samples/bin'] : ['/usr/bin'];
  const files: string[] = [];
  for (const root of roots) {
    if (!existsSync(root)) throw new UsageError(`${root}: no such file or directory`);
    filesUnder(root, files);
  }
  const bytes = new Uint8Array((real + synthetic) * PAGE_SIZE);
  let count = 0;
  outer: for (const file of files) {
    const data = readFileSync(file);
    for (let at = 0; at < data.length; at += PAGE_SIZE) {
      if (count === real) break outer;
      bytes.set(data.subarray(at, Math.min(at + PAGE_SIZE, data.length)), count * PAGE_SIZE);
      count++;
    }
  }
  const sample = samplePages(synthetic, PAGE_SIZE, 2024);
  bytes.set(sample.bytes, count * PAGE_SIZE);
  count += synthetic;
  return { bytes: bytes.subarray(0, count * PAGE_SIZE), count };
}

/** The pages zram compresses and stores compressed: not same-filled, compressed below huge_class_size. */
function compressedSubset(p: Pages, codec: PageCodec): Pages {
  const scanner = new SameFilledScanner();
  const huge = hugeClassSize(PAGE_SIZE, 8);
  const tmp = new Uint8Array(compressBound(PAGE_SIZE));
  const out = new Uint8Array(p.bytes.length);
  let count = 0;
  for (let i = 0; i < p.count; i++) {
    const pg = page(p, i);
    if (scanner.check(pg) || codec.compress(pg, tmp) >= huge) continue;
    out.set(pg, count++ * PAGE_SIZE);
  }
  return { bytes: out.subarray(0, count * PAGE_SIZE), count };
}

/** CPU seconds (user + system) of this process spent in fn: a busy machine's other work does not count. */
function seconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

interface Candidate {
  name: string;
  /** Operations per round (unless round() returns its own count), and what one is. */
  ops: number;
  unit: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: a round may return its op count or nothing (then `ops` counts).
  round: () => number | void;
  /** Untimed set-up before each round. */
  prepare?: () => void;
  /** Best CPU seconds per operation. */
  best: number;
}

function codecCandidate(name: string, pages: Pages): Candidate {
  const codec = defaultPageCodec();
  const bound = compressBound(PAGE_SIZE);
  const compressed = new Uint8Array(pages.count * bound);
  const lengths = new Int32Array(pages.count);
  const out = new Uint8Array(PAGE_SIZE);
  return {
    name,
    ops: 2 * pages.count,
    unit: 'compress or decompress',
    best: Infinity,
    round: () => {
      for (let i = 0; i < pages.count; i++)
        lengths[i] = codec.compress(page(pages, i), compressed.subarray(i * bound, (i + 1) * bound));
      for (let i = 0; i < pages.count; i++)
        codec.decompress(compressed.subarray(i * bound, i * bound + lengths[i]!), out);
    },
  };
}

/** A Machine holding `pages` in one process; a round swaps every page out (limit 8) and reads it back in. */
function swapPathCandidate(name: string, backend: 'zram' | 'disk', pages: Pages): Candidate & { machine: Machine } {
  const frames = pages.count + 64;
  const m = new Machine({ frames, swap: { backend } });
  const pid = m.exec({ path: 'bench', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  const a = m.mmap(pid, { length: pages.count * PAGE_SIZE, prot: RW });
  for (let i = 0; i < pages.count; i++) m.write(pid, a + i * PAGE_SIZE, page(pages, i));
  return {
    name,
    machine: m,
    ops: 2 * pages.count,
    unit: 'swap-out or swap-in',
    best: Infinity,
    round: () => {
      m.setFrameLimit(8);
      m.setFrameLimit(frames);
      m.touch(pid, a, pages.count * PAGE_SIZE, 'read');
    },
  };
}

function faultCandidates(n: number): Candidate[] {
  const zeroFill: Candidate = {
    name: 'zero-fill write faults',
    ops: n,
    unit: 'fault',
    best: Infinity,
    round: () => {
      const m = new Machine({ frames: n + 16 });
      const pid = m.exec({ path: 'bench', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
      const a = m.mmap(pid, { length: n * PAGE_SIZE, prot: RW });
      m.touch(pid, a, n * PAGE_SIZE, 'write');
    },
  };
  const cow: Candidate = {
    name: 'COW faults after fork',
    ops: n,
    unit: 'fault',
    best: Infinity,
    round: () => {
      const m = new Machine({ frames: 2 * n + 16 });
      const pid = m.exec({ path: 'bench', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
      const a = m.mmap(pid, { length: n * PAGE_SIZE, prot: RW });
      m.touch(pid, a, n * PAGE_SIZE, 'write');
      const child = m.fork(pid);
      m.touch(child, a, n * PAGE_SIZE, 'write');
    },
  };
  return [zeroFill, cow];
}

/**
 * KSM's first two full scans over 8 processes whose pages are half shared
 * (the same bytes in every process) and half their own: the first pass
 * stores checksums, the second merges. Each round starts from a new Machine
 * (set-up untimed) and ticks until two full scans are done.
 */
function ksmCandidate(pages: Pages): Candidate & { merged: () => number } {
  const procs = 8;
  const per = Math.min(pages.count, 1024);
  let m: Machine | undefined;
  return {
    name: 'KSM pages scanned (2 full scans)',
    ops: 0,
    unit: 'page scanned',
    best: Infinity,
    merged: () => m?.stats().ksm.pages_sharing ?? 0,
    prepare: () => {
      m = new Machine({ frames: procs * per + 64, ksm: { pagesToScan: 1000, sleepMillisecs: 20, useZeroPages: true } });
      for (let p = 0; p < procs; p++) {
        const pid = m.exec({ path: 'bench', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
        const a = m.mmap(pid, { length: per * PAGE_SIZE, prot: RW });
        for (let i = 0; i < per; i++)
          m.write(pid, a + i * PAGE_SIZE, page(pages, i % 2 === 0 ? i : (i + p * per) % pages.count));
        m.madvise(pid, a, per * PAGE_SIZE, 'mergeable');
      }
    },
    round: () => {
      let scanned = 0;
      while (m!.stats().ksm.full_scans < 2) scanned += m!.tick(20);
      return scanned;
    },
  };
}

function positiveInt(flag: string, value: string | undefined, zeroOk: boolean): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1))
    throw new UsageError(`${flag} must be a ${zeroOk ? 'non-negative' : 'positive'} integer, not '${value}'`);
  return n;
}

export async function run(args: string[]): Promise<void> {
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
  if (real + synthetic === 0) throw new UsageError('no pages: give --real or --synthetic a positive count');
  const all = loadPages(positionals, real, synthetic);
  const strict = compressedSubset(all, defaultPageCodec());

  const codecStrict = codecCandidate('codec alone, compressed pages', strict);
  const zramStrict = swapPathCandidate('swap path (zram), compressed pages', 'zram', strict);
  const codecAll = codecCandidate('codec alone, all pages', all);
  const zramAll = swapPathCandidate('swap path (zram), all pages', 'zram', all);
  const diskAll = swapPathCandidate('swap path (disk), all pages', 'disk', all);
  const ksm = ksmCandidate(all);
  const candidates: Candidate[] = [
    codecStrict,
    zramStrict,
    codecAll,
    zramAll,
    diskAll,
    ...faultCandidates(Math.min(all.count, 4096)),
    ksm,
  ];

  for (let r = 0; r <= rounds; r++) {
    for (const c of candidates) {
      c.prepare?.();
      let ops = c.ops;
      const t = seconds(() => {
        const n = c.round();
        if (typeof n === 'number') ops = n;
      });
      c.ops = ops;
      if (r > 0 && ops > 0) c.best = Math.min(c.best, t / ops); // round 0 warms up
    }
  }
  const ratioStrict = zramStrict.best / codecStrict.best;
  const ratioAll = zramAll.best / codecAll.best;
  const rows = candidates.map((c) => ({
    name: c.name,
    ops: c.ops,
    unit: c.unit,
    opsPerSecond: 1 / c.best,
    microsecondsPerOp: c.best * 1e6,
  }));
  const zs = zramAll.machine.stats();
  const result = {
    pages: { all: all.count, compressed: strict.count },
    codec: defaultPageCodec().name,
    rounds,
    bar: BAR,
    ratio: { compressedPages: ratioStrict, allPages: ratioAll },
    passes: ratioStrict <= BAR,
    rows,
    zramAfterRounds: {
      pswpout: zs.vmstat.pswpout,
      pswpin: zs.vmstat.pswpin,
      swpout_zero: zs.vmstat.swpout_zero,
      same_pages: zs.swap?.device.same_pages ?? 0,
    },
    ksmPagesSharingAfterTwoScans: ksm.merged(),
  };
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(
    `policies bench: ${all.count} pages (${strict.count} compressed by zram), codec ${result.codec}, best of ${rounds} rounds, CPU time`,
  );
  console.log('');
  console.log(
    `${'candidate'.padEnd(40)} ${'ops/round'.padStart(9)} ${'ops/s'.padStart(12)} ${'µs/op'.padStart(8)}  op`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(40)} ${String(row.ops).padStart(9)} ${Math.round(row.opsPerSecond).toLocaleString('en-US').padStart(12)} ${row.microsecondsPerOp.toFixed(2).padStart(8)}  ${row.unit}`,
    );
  }
  console.log('');
  console.log(
    `swap path / codec alone, compressed pages: ${ratioStrict.toFixed(2)} (bar ${BAR}: ${ratioStrict <= BAR ? 'met' : 'NOT met'})`,
  );
  console.log(`swap path / codec alone, all pages:        ${ratioAll.toFixed(2)}`);
}
