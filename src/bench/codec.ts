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
import { compressBound, getCodec } from '../container/codec/index.js';
import { Lz4Wasm } from '../codec/lz4-wasm.js';
import { CompressPool } from '../container/codec/pool.js';
import { writeLastLiterals } from '../container/codec/lz4-block.js';

const PAGE_SIZE = 4096;
const LIB_DIR = '/usr/lib/x86_64-linux-gnu';
const POOL_BATCH_PAGES = 256;
const POOL_IN_FLIGHT = 4;

interface Row {
  step: 'compress' | 'decode' | 'pool';
  name: string;
  /** MB/s by the wall clock, best round. */
  wall: number;
  /** MB per CPU-second of the process, best round: steadier when other processes share the CPUs. */
  cpu?: number;
  /** Sum of block lengths / input bytes. */
  ratio?: number;
  /** As a container stores them: a block that does not save space is stored raw. */
  storedRatio?: number;
}

interface Sizes {
  blocks: number;
  stored: number;
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

/** Wall-clock and CPU seconds of fn (CPU: user + system time of this process). */
function timed(fn: () => void): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

interface NativeResult {
  compressed: number;
  compress: number;
  decode: number;
  compressCpu?: number;
  decodeCpu?: number;
}

/**
 * Native liblz4 through the CLI: `lz4 -b1 -B4096 -i1 FILE` for its own
 * wall-clock speeds and compressed size (its last result line), and the
 * user CPU time of `lz4 -1 -B4096 -BI` and `lz4 -d` run on the file, for
 * the CPU-time column.
 */
function nativeBench(file: string, frame: string): NativeResult | string {
  const r = spawnSync('lz4', ['-b1', `-B${PAGE_SIZE}`, '-i1', file], { encoding: 'latin1' });
  if (r.error !== undefined) return `lz4 CLI not runnable: ${r.error.message}`;
  const text = `${r.stdout}\n${r.stderr}`;
  const all = [...text.matchAll(/:\s*(\d+)\s*->\s*(\d+)\s*\([\d.]+\),\s*([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)];
  const last = all[all.length - 1];
  if (last === undefined) return `could not read lz4 -b output: ${text.trim().slice(-200)}`;
  const size = Number(readFileSync(file).length);
  const userSeconds = (command: string): number | undefined => {
    const t = spawnSync('bash', ['-c', `TIMEFORMAT=%3U; { time ${command} >/dev/null 2>&1; } 2>&1`, 'bench', file, frame], { encoding: 'latin1' });
    const seconds = Number(t.stdout.trim().split('\n').pop());
    return t.status === 0 && seconds > 0 ? seconds : undefined;
  };
  const compressSeconds = userSeconds(`lz4 -1 -B${PAGE_SIZE} -BI --no-frame-crc -c "$1"`);
  const decodeSeconds = userSeconds('lz4 -d -c "$2"');
  return {
    compressed: Number(last[2]),
    compress: Number(last[3]),
    decode: Number(last[4]),
    ...(compressSeconds === undefined ? {} : { compressCpu: size / 1e6 / compressSeconds }),
    ...(decodeSeconds === undefined ? {} : { decodeCpu: size / 1e6 / decodeSeconds }),
  };
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
  const ours = new Lz4Wasm();
  const decoder = { decode: (src: Uint8Array, dst: Uint8Array) => ours.decompress(src, dst) };
  for (let i = 0; i < count; i++) {
    lengths[i] = ours.compress(pages[i]!, blocks.subarray(i * stride, (i + 1) * stride));
    decoder.decode(blocks.subarray(i * stride, i * stride + lengths[i]!), out);
    if (Buffer.compare(out, pages[i]!) !== 0) throw new Error(`our block of page ${i} does not decode to the page`);
  }
  const blockOf = Array.from({ length: count }, (_, i) => blocks.subarray(i * stride, i * stride + lengths[i]!));

  // One loop per candidate, so that each is optimized for its own calls.
  const lz4jsTable = new Uint32Array(1 << 16);
  const lz4jsCodec = getCodec('lz4js');
  const sizes = new Map<string, Sizes>();
  const candidates: Array<{ step: 'compress' | 'decode'; name: string; run: () => void }> = [
    {
      step: 'compress',
      name: 'pagestack lz4 (ours)',
      run: () => {
        let blocks = 0;
        let stored = 0;
        for (let i = 0; i < count; i++) {
          const n = ours.compress(pages[i]!, dst);
          blocks += n;
          stored += Math.min(n, PAGE_SIZE);
        }
        sizes.set('pagestack lz4 (ours)', { blocks, stored });
      },
    },
    {
      step: 'compress',
      name: 'lz4js compressBlock (table cleared per page)',
      run: () => {
        let blocks = 0;
        let stored = 0;
        for (let i = 0; i < count; i++) {
          const page = pages[i]!;
          lz4jsTable.fill(0);
          let n = lz4js.compressBlock(page, dst, 0, PAGE_SIZE, lz4jsTable);
          if (n === 0) n = writeLastLiterals(page, 0, PAGE_SIZE, dst, 0);
          blocks += n;
          stored += Math.min(n, PAGE_SIZE);
        }
        sizes.set('lz4js compressBlock (table cleared per page)', { blocks, stored });
      },
    },
    {
      step: 'compress',
      name: 'lz4js codec (+ check, literals if invalid)',
      run: () => {
        let blocks = 0;
        let stored = 0;
        for (let i = 0; i < count; i++) {
          const n = lz4jsCodec.compress(pages[i]!, dst);
          blocks += n;
          stored += Math.min(n, PAGE_SIZE);
        }
        sizes.set('lz4js codec (+ check, literals if invalid)', { blocks, stored });
      },
    },
    {
      step: 'decode',
      name: 'pagestack lz4 (ours, checked)',
      run: () => {
        for (let i = 0; i < count; i++) decoder.decode(blockOf[i]!, out);
      },
    },
    {
      step: 'decode',
      name: 'lz4js decompressBlock (unchecked)',
      run: () => {
        for (let i = 0; i < count; i++) {
          const b = blockOf[i]!;
          lz4js.decompressBlock(b, out, 0, b.length, 0);
        }
      },
    },
    {
      step: 'decode',
      name: 'lz4js codec (check walk + decompressBlock)',
      run: () => {
        for (let i = 0; i < count; i++) lz4jsCodec.decompress(blockOf[i]!, out);
      },
    },
  ];

  const tmp = mkdtempSync(join(tmpdir(), 'pagestack-bench-'));
  const pageFile = join(tmp, 'pages.bin');
  const frameFile = join(tmp, 'pages.lz4');
  writeFileSync(pageFile, input);
  spawnSync('lz4', ['-q', '-1', `-B${PAGE_SIZE}`, '-BI', '--no-frame-crc', '-f', pageFile, frameFile]);
  const best = new Map<string, { wall: number; cpu: number }>();
  let native: NativeResult | undefined;
  let nativeProblem: string | undefined;
  const better = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of candidates) {
        const t = timed(c.run);
        const prev = best.get(c.name) ?? { wall: 0, cpu: 0 };
        best.set(c.name, { wall: Math.max(prev.wall, input.length / 1e6 / t.wall), cpu: Math.max(prev.cpu, input.length / 1e6 / t.cpu) });
      }
      const n = nativeBench(pageFile, frameFile);
      if (typeof n === 'string') nativeProblem = n;
      else if (native === undefined) native = n;
      else {
        native = {
          compressed: n.compressed,
          compress: Math.max(native.compress, n.compress),
          decode: Math.max(native.decode, n.decode),
          compressCpu: better(native.compressCpu, n.compressCpu),
          decodeCpu: better(native.decodeCpu, n.decodeCpu),
        };
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const nativeName = 'native liblz4 (lz4 CLI)';
  const ratioOf = (name: string) => {
    const s = sizes.get(name);
    return s === undefined ? {} : { ratio: s.blocks / input.length, storedRatio: s.stored / input.length };
  };
  for (const step of ['compress', 'decode'] as const) {
    if (native !== undefined) {
      const cpu = step === 'compress' ? native.compressCpu : native.decodeCpu;
      rows.push({
        step,
        name: nativeName,
        wall: step === 'compress' ? native.compress : native.decode,
        ...(cpu === undefined ? {} : { cpu }),
        ...(step === 'compress' ? { ratio: native.compressed / input.length } : {}),
      });
    }
    for (const c of candidates.filter((c) => c.step === step)) {
      rows.push({ step, name: c.name, ...best.get(c.name)!, ...ratioOf(c.name) });
    }
  }

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
    rows.push({ step: 'pool', name: workers === 0 ? 'in the calling thread' : `${workers} worker thread${workers > 1 ? 's' : ''} (${mode})`, wall: mbPerSecond });
  }

  const load = { before: loadBefore, after: loadavg()[0]! };
  if (values.json) {
    console.log(JSON.stringify({ pages: count, bytes: input.length, source: files, rounds, cores, load, native: native ?? nativeProblem, rows }, null, 2));
    return;
  }
  if (nativeProblem !== undefined) console.log(`native lz4 skipped: ${nativeProblem}\n`);
  const fixed = (n: number | undefined, digits: number) => (n === undefined ? '' : n.toFixed(digits));
  const peerOf = (row: Row) => rows.find((r) => r.step === row.step && r.name === nativeName);
  console.log(
    `${'step'.padEnd(9)}${'implementation'.padEnd(46)}${'MB/s'.padStart(8)}${'x native'.padStart(9)}` +
      `${'MB/cpu-s'.padStart(10)}${'x native'.padStart(9)}${'ratio'.padStart(8)}${'stored'.padStart(8)}`,
  );
  for (const row of rows) {
    const peer = row.step === 'pool' ? undefined : peerOf(row);
    const cpuShare = peer?.cpu === undefined || row.cpu === undefined ? undefined : row.cpu / peer.cpu;
    console.log(
      `${row.step.padEnd(9)}${row.name.padEnd(46)}${fixed(row.wall, 1).padStart(8)}${fixed(peer && row.wall / peer.wall, 2).padStart(9)}` +
        `${fixed(row.cpu, 1).padStart(10)}${fixed(cpuShare, 2).padStart(9)}${fixed(row.ratio, 4).padStart(8)}${fixed(row.storedRatio, 4).padStart(8)}`,
    );
  }
  const find = (step: Row['step'], prefix: string) => rows.find((r) => r.step === step && r.name.startsWith(prefix))!;
  const oursRow = find('compress', 'pagestack');
  const lz4jsRow = find('compress', 'lz4js compressBlock');
  const oursDecode = find('decode', 'pagestack');
  const lz4jsDecode = find('decode', 'lz4js decompressBlock');
  console.log(
    `\nours against lz4js: compress ${(oursRow.wall / lz4jsRow.wall).toFixed(2)}x (wall) ${(oursRow.cpu! / lz4jsRow.cpu!).toFixed(2)}x (cpu), ` +
      `ratio ${(((oursRow.ratio! - lz4jsRow.ratio!) / lz4jsRow.ratio!) * 100).toFixed(2)}% (negative: smaller); ` +
      `decode ${(oursDecode.wall / lz4jsDecode.wall).toFixed(2)}x (wall) ${(oursDecode.cpu! / lz4jsDecode.cpu!).toFixed(2)}x (cpu)`,
  );
  console.log(`1-minute load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${cores} cores (above ${cores}, other processes shared the CPUs)`);
  const inThread = find('pool', 'in the');
  for (const r of rows.filter((r) => r.step === 'pool' && r !== inThread)) {
    console.log(`pool, ${r.name}: ${(r.wall / inThread.wall).toFixed(2)} times the calling thread (wall clock, ${cores} cores)`);
  }
}
