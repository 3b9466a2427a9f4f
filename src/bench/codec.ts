/**
 * `npm run bench -- codec [PATH...] [--max-mb N] [--rounds N] [--all-pages] [--json]`
 *
 * Per 4 KiB page on real pages: compression and decoding speed (MB/s, MB =
 * 10^6 bytes) and ratio of our LZ4 encoder and decoder, lz4js, and native
 * liblz4 through the `lz4` CLI's own benchmark (`lz4 -b1 -B4096`: every 4 KiB
 * block compressed independently at level 1), all in the same run. Then the
 * worker pool against compressing in the calling thread.
 *
 * Pages: PATH files, or the ELF files under PATH directories; by default the
 * largest libLLVM*.so in /usr/lib/x86_64-linux-gnu, else the ELF files of
 * /usr/bin. Only distinct non-zero pages are kept (what a container
 * compresses), unless --all-pages. The machine may be shared, so the
 * candidates run interleaved, round after round, and the best round counts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as lz4js from 'lz4js';
import { UsageError } from '../errors.js';
import { Lz4BlockDecoder, Lz4PageEncoder, compressBound, getCodec } from '../container/codec/index.js';
import { CompressPool } from '../container/codec/pool.js';
import { writeLastLiterals } from '../container/codec/lz4-block.js';

const PAGE_SIZE = 4096;
const LIB_DIR = '/usr/lib/x86_64-linux-gnu';
const POOL_BATCH_PAGES = 256;
const POOL_IN_FLIGHT = 4;

interface Row {
  step: 'compress' | 'decode' | 'pool';
  name: string;
  mbPerSecond: number;
  /** Sum of block lengths / input bytes. */
  ratio?: number;
  /** As a container stores them: a block that does not save space is stored raw. */
  storedRatio?: number;
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

function elfFilesUnder(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) elfFilesUnder(path, out);
    else if (st.isFile() && st.size > 0 && isElf(path)) out.push(path);
  }
}

function defaultFiles(): string[] {
  if (existsSync(LIB_DIR)) {
    const llvm = readdirSync(LIB_DIR)
      .filter((n) => n.startsWith('libLLVM') && n.includes('.so'))
      .map((n) => join(LIB_DIR, n))
      .filter((p) => lstatSync(p).isFile())
      .sort((a, b) => lstatSync(b).size - lstatSync(a).size);
    if (llvm[0] !== undefined) return [llvm[0]];
  }
  const bin: string[] = [];
  if (existsSync('/usr/bin')) elfFilesUnder('/usr/bin', bin);
  return bin.filter((p) => !p.slice('/usr/bin/'.length).includes('/'));
}

function filesOf(paths: string[]): string[] {
  if (paths.length === 0) return defaultFiles();
  const files: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`${path}: no such file or directory`);
    if (lstatSync(path).isDirectory()) elfFilesUnder(path, files);
    else files.push(path);
  }
  return files;
}

/** The pages to measure, packed one after another: distinct and non-zero unless allPages. */
function collectPages(files: string[], maxBytes: number, allPages: boolean): Uint8Array {
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const zero = new Uint8Array(PAGE_SIZE);
  outer: for (const file of files) {
    const bytes = readFileSync(file);
    for (let at = 0; at < bytes.length; at += PAGE_SIZE) {
      if (total + PAGE_SIZE > maxBytes) break outer;
      const page = new Uint8Array(PAGE_SIZE);
      page.set(bytes.subarray(at, Math.min(at + PAGE_SIZE, bytes.length)));
      if (!allPages) {
        if (Buffer.compare(page, zero) === 0) continue;
        const digest = createHash('sha256').update(page).digest('base64');
        if (seen.has(digest)) continue;
        seen.add(digest);
      }
      chunks.push(page);
      total += PAGE_SIZE;
    }
  }
  return Buffer.concat(chunks);
}

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** `lz4 -b1 -B4096 -i1 FILE`: compressed bytes and the two speeds from its last line. */
function nativeBench(file: string): { compressed: number; compress: number; decode: number } | string {
  const r = spawnSync('lz4', ['-b1', `-B${PAGE_SIZE}`, '-i1', file], { encoding: 'latin1' });
  if (r.error !== undefined) return `lz4 CLI not runnable: ${r.error.message}`;
  const text = `${r.stdout}\n${r.stderr}`;
  const all = [...text.matchAll(/:\s*(\d+)\s*->\s*(\d+)\s*\([\d.]+\),\s*([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)];
  const last = all[all.length - 1];
  if (last === undefined) return `could not read lz4 -b output: ${text.trim().slice(-200)}`;
  return { compressed: Number(last[2]), compress: Number(last[3]), decode: Number(last[4]) };
}

async function poolSpeed(input: Uint8Array, workers: number): Promise<{ mbPerSecond: number; mode: string }> {
  const pool = new CompressPool({ workers });
  try {
    const batchBytes = POOL_BATCH_PAGES * PAGE_SIZE;
    await pool.compress(input.subarray(0, Math.min(input.length, 4 * batchBytes)), PAGE_SIZE); // warm up
    const t0 = process.hrtime.bigint();
    const inFlight: Promise<unknown>[] = [];
    for (let at = 0; at < input.length; at += batchBytes) {
      inFlight.push(pool.compress(input.subarray(at, at + batchBytes), PAGE_SIZE));
      if (inFlight.length >= POOL_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    return { mbPerSecond: input.length / 1e6 / s, mode: pool.mode };
  } finally {
    await pool.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'max-mb': { type: 'string', default: '128' },
      rounds: { type: 'string', default: '3' },
      'all-pages': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const maxBytes = Number(values['max-mb']) * 1e6;
  const rounds = Number(values.rounds);
  if (!(maxBytes >= PAGE_SIZE) || !Number.isInteger(rounds) || rounds < 1) throw new UsageError('--max-mb must be a number of MB and --rounds a positive integer');

  const files = filesOf(positionals);
  if (files.length === 0) throw new UsageError('no input files (give a file or a directory of ELF files)');
  const input = collectPages(files, maxBytes, values['all-pages']);
  const count = input.length / PAGE_SIZE;
  if (count === 0) throw new UsageError('no pages to measure');
  const pages = Array.from({ length: count }, (_, i) => input.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  const what = values['all-pages'] ? 'pages' : 'distinct non-zero pages';
  const source = files.length === 1 ? files[0]! : `${files.length} files (${files[0]} ...)`;
  const loadBefore = loadavg()[0]!;
  if (!values.json) console.log(`codec bench: ${count} ${what} of 4 KiB (${(input.length / 1e6).toFixed(1)} MB) from ${source}; best of ${rounds} rounds\n`);

  // Blocks by our encoder, decoded by every decoder; checked once, untimed.
  const stride = compressBound(PAGE_SIZE);
  const blocks = new Uint8Array(count * stride);
  const lengths = new Int32Array(count);
  const dst = new Uint8Array(stride);
  const out = new Uint8Array(PAGE_SIZE);
  const ours = new Lz4PageEncoder();
  const decoder = new Lz4BlockDecoder();
  for (let i = 0; i < count; i++) {
    lengths[i] = ours.compress(pages[i]!, blocks.subarray(i * stride, (i + 1) * stride));
    decoder.decode(blocks.subarray(i * stride, i * stride + lengths[i]!), out);
    if (Buffer.compare(out, pages[i]!) !== 0) throw new Error(`our block of page ${i} does not decode to the page`);
  }
  const blockOf = Array.from({ length: count }, (_, i) => blocks.subarray(i * stride, i * stride + lengths[i]!));

  const lz4jsTable = new Uint32Array(1 << 16);
  const lz4jsCodec = getCodec('lz4js');
  const sizes = new Map<string, { blocks: number; stored: number }>();
  const sizeOf = (name: string, fn: () => number) => () => {
    let sum = 0;
    let stored = 0;
    for (let i = 0; i < count; i++) {
      const n = fn();
      sum += n;
      stored += Math.min(n, PAGE_SIZE);
    }
    sizes.set(name, { blocks: sum, stored });
  };
  let page = 0;
  const next = () => pages[page++ % count]!;
  const candidates: Array<{ step: 'compress' | 'decode'; name: string; run: () => void }> = [
    { step: 'compress', name: 'pagestack lz4 (ours)', run: sizeOf('ours', () => ours.compress(next(), dst)) },
    {
      step: 'compress',
      name: 'lz4js compressBlock (table cleared per page)',
      run: sizeOf('lz4js', () => {
        const p = next();
        lz4jsTable.fill(0);
        const n = lz4js.compressBlock(p, dst, 0, PAGE_SIZE, lz4jsTable);
        return n > 0 ? n : writeLastLiterals(p, 0, PAGE_SIZE, dst, 0);
      }),
    },
    { step: 'compress', name: "lz4js codec (+ check, literals if invalid)", run: sizeOf('lz4js codec', () => lz4jsCodec.compress(next(), dst)) },
    { step: 'decode', name: 'pagestack lz4 (ours, checked)', run: () => blockOf.forEach((b) => decoder.decode(b, out)) },
    { step: 'decode', name: 'lz4js decompressBlock (unchecked)', run: () => blockOf.forEach((b) => lz4js.decompressBlock(b, out, 0, b.length, 0)) },
    { step: 'decode', name: 'lz4js codec (check walk + decompressBlock)', run: () => blockOf.forEach((b) => lz4jsCodec.decompress(b, out)) },
  ];

  const tmp = mkdtempSync(join(tmpdir(), 'pagestack-bench-'));
  const pageFile = join(tmp, 'pages.bin');
  writeFileSync(pageFile, input);
  const best = new Map<string, number>();
  let native: { compressed: number; compress: number; decode: number } | undefined;
  let nativeProblem: string | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of candidates) {
        page = 0;
        const s = seconds(c.run);
        best.set(c.name, Math.max(best.get(c.name) ?? 0, input.length / 1e6 / s));
      }
      const n = nativeBench(pageFile);
      if (typeof n === 'string') nativeProblem = n;
      else if (native === undefined) native = n;
      else native = { compressed: n.compressed, compress: Math.max(native.compress, n.compress), decode: Math.max(native.decode, n.decode) };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  if (native !== undefined) rows.push({ step: 'compress', name: 'native liblz4 (lz4 -b1 -B4096)', mbPerSecond: native.compress, ratio: native.compressed / input.length });
  const ratioOf = (key: string) => {
    const s = sizes.get(key);
    return s === undefined ? {} : { ratio: s.blocks / input.length, storedRatio: s.stored / input.length };
  };
  const keyOf: Record<string, string> = { 'pagestack lz4 (ours)': 'ours', 'lz4js compressBlock (table cleared per page)': 'lz4js', "lz4js codec (+ check, literals if invalid)": 'lz4js codec' };
  for (const c of candidates.filter((c) => c.step === 'compress')) rows.push({ step: 'compress', name: c.name, mbPerSecond: best.get(c.name)!, ...ratioOf(keyOf[c.name]!) });
  if (native !== undefined) rows.push({ step: 'decode', name: 'native liblz4 (lz4 -b1 -B4096)', mbPerSecond: native.decode });
  for (const c of candidates.filter((c) => c.step === 'decode')) rows.push({ step: 'decode', name: c.name, mbPerSecond: best.get(c.name)! });

  // The pool: the same pages in batches of 256, four batches in flight; interleaved rounds too.
  const cores = availableParallelism();
  const poolWorkers = [...new Set([0, 1, cores])];
  const poolBest = new Map<number, { mbPerSecond: number; mode: string }>();
  for (let round = 0; round < rounds; round++) {
    for (const workers of poolWorkers) {
      const r = await poolSpeed(input, workers);
      if (r.mbPerSecond > (poolBest.get(workers)?.mbPerSecond ?? 0)) poolBest.set(workers, r);
    }
  }
  for (const workers of poolWorkers) {
    const { mbPerSecond, mode } = poolBest.get(workers)!;
    rows.push({ step: 'pool', name: workers === 0 ? 'in the calling thread' : `${workers} worker thread${workers > 1 ? 's' : ''} (${mode})`, mbPerSecond });
  }

  const load = { before: loadBefore, after: loadavg()[0]! };
  if (values.json) {
    console.log(JSON.stringify({ pages: count, bytes: input.length, source: files, rounds, cores, load, native: native ?? nativeProblem, rows }, null, 2));
    return;
  }
  if (nativeProblem !== undefined) console.log(`native lz4 skipped: ${nativeProblem}\n`);
  const nativeSpeed = { compress: native?.compress, decode: native?.decode };
  console.log(`${'step'.padEnd(9)}${'implementation'.padEnd(46)}${'MB/s'.padStart(8)}${'x native'.padStart(10)}${'ratio'.padStart(8)}${'stored'.padStart(8)}`);
  for (const row of rows) {
    const peer = row.step === 'pool' ? undefined : nativeSpeed[row.step];
    console.log(
      `${row.step.padEnd(9)}${row.name.padEnd(46)}${row.mbPerSecond.toFixed(1).padStart(8)}` +
        `${(peer === undefined ? '' : (row.mbPerSecond / peer).toFixed(2)).padStart(10)}` +
        `${(row.ratio === undefined ? '' : row.ratio.toFixed(4)).padStart(8)}${(row.storedRatio === undefined ? '' : row.storedRatio.toFixed(4)).padStart(8)}`,
    );
  }
  const oursRow = rows.find((r) => r.name === 'pagestack lz4 (ours)')!;
  const lz4jsRow = rows.find((r) => r.name.startsWith('lz4js compressBlock'))!;
  console.log(
    `\nours against lz4js compressBlock: ${(oursRow.mbPerSecond / lz4jsRow.mbPerSecond).toFixed(2)} times the speed, ` +
      `ratio ${(((oursRow.ratio! - lz4jsRow.ratio!) / lz4jsRow.ratio!) * 100).toFixed(2)}% (negative: smaller)`,
  );
  console.log(`1-minute load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${cores} cores (above ${cores}, other processes shared the CPUs)`);
  const inThread = rows.find((r) => r.step === 'pool' && r.name.startsWith('in the'))!;
  for (const r of rows.filter((r) => r.step === 'pool' && r !== inThread)) {
    console.log(`pool, ${r.name}: ${(r.mbPerSecond / inThread.mbPerSecond).toFixed(2)} times the calling thread (${cores} cores)`);
  }
}
