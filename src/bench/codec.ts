/**
 * `npm run bench -- codec [PATH...] [--max-mb N] [--rounds N] [--all-pages] [--json]`
 *
 * Per 4 KiB page on real pages: compression and decoding speed (MB/s, MB =
 * 10^6 bytes) and ratio of our WebAssembly LZ4 codec (per page through the
 * PageCodec API, and in batches with the pages already in WebAssembly
 * memory), lz4js, zstd through @bokuweb/zstd-wasm at level 3, and the
 * native peers: liblz4 through the `lz4` CLI's own benchmark (`lz4 -b1
 * -B4096`: every 4 KiB block compressed independently at level 1) and
 * libzstd through `zstd -b3 -B4096` (every 4 KiB chunk an independent
 * frame), all in the same run; the last lines print each ratio against its
 * native peer. (Pack's own worker threads are measured by the pack bench.)
 *
 * Pages: PATH files, or the ELF files under PATH directories; by default the
 * largest libLLVM*.so in /usr/lib/x86_64-linux-gnu, else the ELF files of
 * /usr/bin. Only distinct non-zero pages are kept (what a container
 * compresses), unless --all-pages. The machine may be shared, so the
 * candidates run interleaved, round after round, and the best round counts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as lz4js from 'lz4js';
import { UsageError } from '../errors.js';
import { Lz4Wasm, getCodec, loadCodec } from '../codec/index.js';
import { writeLastLiterals } from '../codec/lz4-block.js';
import { PAGE_SIZE, collectPages, filesOf } from './codec-pages.js';

interface Row {
  step: 'compress' | 'decode';
  /** Which native peer the row is compared with. */
  family?: 'lz4' | 'zstd';
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
/** The last result line of `lz4 -b` / `zstd -b`: compressed size, compression and decoding MB/s. */
function cliBench(tool: string, args: string[]): { compressed: number; compress: number; decode: number } | string {
  const r = spawnSync(tool, args, { encoding: 'latin1' });
  if (r.error !== undefined) return `${tool} CLI not runnable: ${r.error.message}`;
  const text = `${r.stdout}\n${r.stderr}`;
  const all = [...text.matchAll(/:\s*(\d+)\s*->\s*(\d+)\s*\(x?[\d.]+\),\s*([\d.]+) MB\/s\s*,\s*([\d.]+) MB\/s/g)];
  const last = all[all.length - 1];
  if (last === undefined) return `could not read ${tool} -b output: ${text.trim().slice(-200)}`;
  return { compressed: Number(last[2]), compress: Number(last[3]), decode: Number(last[4]) };
}

function nativeBench(file: string, frame: string): NativeResult | string {
  const lz4 = cliBench('lz4', ['-b1', `-B${PAGE_SIZE}`, '-i1', file]);
  if (typeof lz4 === 'string') return lz4;
  const size = Number(readFileSync(file).length);
  const userSeconds = (command: string): number | undefined => {
    const t = spawnSync(
      'bash',
      ['-c', `TIMEFORMAT=%3U; { time ${command} >/dev/null 2>&1; } 2>&1`, 'bench', file, frame],
      { encoding: 'latin1' },
    );
    const seconds = Number(t.stdout.trim().split('\n').pop());
    return t.status === 0 && seconds > 0 ? seconds : undefined;
  };
  const compressSeconds = userSeconds(`lz4 -1 -B${PAGE_SIZE} -BI --no-frame-crc -c "$1"`);
  const decodeSeconds = userSeconds('lz4 -d -c "$2"');
  return {
    ...lz4,
    ...(compressSeconds === undefined ? {} : { compressCpu: size / 1e6 / compressSeconds }),
    ...(decodeSeconds === undefined ? {} : { decodeCpu: size / 1e6 / decodeSeconds }),
  };
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
  if (!(maxBytes >= PAGE_SIZE) || !Number.isInteger(rounds) || rounds < 1)
    throw new UsageError('--max-mb must be a number of MB and --rounds a positive integer');

  const files = filesOf(positionals);
  if (files.length === 0) throw new UsageError('no input files (give a file or a directory of ELF files)');
  const input = collectPages(files, maxBytes, values['all-pages']);
  const count = input.length / PAGE_SIZE;
  if (count === 0) throw new UsageError('no pages to measure');
  const pages = Array.from({ length: count }, (_, i) => input.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  const what = values['all-pages'] ? 'pages' : 'distinct non-zero pages';
  const source = files.length === 1 ? files[0]! : `${files.length} files (${files[0]} ...)`;
  const loadBefore = loadavg()[0]!;
  if (!values.json)
    console.log(
      `codec bench: ${count} ${what} of 4 KiB (${(input.length / 1e6).toFixed(1)} MB) from ${source}; best of ${rounds} rounds\n`,
    );

  // Blocks and frames by our codecs, checked once, untimed.
  await loadCodec('zstd');
  const zstd = getCodec('zstd');
  const stride = 2 * PAGE_SIZE;
  const dst = new Uint8Array(stride);
  const out = new Uint8Array(PAGE_SIZE);
  const ours = new Lz4Wasm();
  const lz4Blocks: Uint8Array[] = [];
  const zstdFrames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    lz4Blocks.push(dst.slice(0, ours.compress(pages[i]!, dst)));
    ours.decompress(lz4Blocks[i]!, out);
    if (Buffer.compare(out, pages[i]!) !== 0) throw new Error(`our LZ4 block of page ${i} does not decode to the page`);
    zstdFrames.push(dst.slice(0, zstd.compress(pages[i]!, dst)));
    zstd.decompress(zstdFrames[i]!, out);
    if (Buffer.compare(out, pages[i]!) !== 0)
      throw new Error(`the zstd frame of page ${i} does not decode to the page`);
  }
  // The container's batch layout: stored pages back to back (raw when the block does not pay).
  const packed = ours.compressPages(input, count, PAGE_SIZE);
  const storedLengths = Uint32Array.from(packed.lengths);
  const storedBytes = packed.data.slice();
  const BATCH = 256;

  // One loop per candidate, so that each is optimized for its own calls.
  const lz4jsTable = new Uint32Array(1 << 16);
  const sizes = new Map<string, Sizes>();
  const sum = (name: string, lengths: ArrayLike<number>) => {
    let blocks = 0;
    let stored = 0;
    for (let i = 0; i < lengths.length; i++) {
      blocks += lengths[i]!;
      stored += Math.min(lengths[i]!, PAGE_SIZE);
    }
    sizes.set(name, { blocks, stored });
  };
  const candidates: Array<{ step: 'compress' | 'decode'; family: 'lz4' | 'zstd'; name: string; run: () => void }> = [
    {
      step: 'compress',
      family: 'lz4',
      name: 'pagestack lz4, per page (PageCodec)',
      run: () =>
        sum(
          'pagestack lz4, per page (PageCodec)',
          pages.map((p) => ours.compress(p, dst)),
        ),
    },
    {
      step: 'compress',
      family: 'lz4',
      name: 'pagestack lz4, batches in wasm memory',
      run: () => {
        const lengths: number[] = [];
        for (let at = 0; at < count; at += BATCH)
          lengths.push(
            ...ours.compressPages(input.subarray(at * PAGE_SIZE), Math.min(BATCH, count - at), PAGE_SIZE).lengths,
          );
        sum('pagestack lz4, batches in wasm memory', lengths);
      },
    },
    {
      step: 'compress',
      family: 'lz4',
      name: 'lz4js compressBlock (table cleared per page)',
      run: () =>
        sum(
          'lz4js compressBlock (table cleared per page)',
          pages.map((page) => {
            lz4jsTable.fill(0);
            const n = lz4js.compressBlock(page, dst, 0, PAGE_SIZE, lz4jsTable);
            return n === 0 ? writeLastLiterals(page, 0, PAGE_SIZE, dst, 0) : n;
          }),
        ),
    },
    {
      step: 'compress',
      family: 'zstd',
      name: 'pagestack zstd level 3 (zstd-wasm)',
      run: () =>
        sum(
          'pagestack zstd level 3 (zstd-wasm)',
          pages.map((p) => zstd.compress(p, dst)),
        ),
    },
    {
      step: 'decode',
      family: 'lz4',
      name: 'pagestack lz4, per page (checked)',
      run: () => {
        for (let i = 0; i < count; i++) ours.decompress(lz4Blocks[i]!, out);
      },
    },
    {
      step: 'decode',
      family: 'lz4',
      name: 'pagestack lz4, batches in wasm memory',
      run: () => {
        let offset = 0;
        for (let at = 0; at < count; at += BATCH) {
          const n = Math.min(BATCH, count - at);
          const lengths = storedLengths.subarray(at, at + n);
          let bytes = 0;
          for (let i = 0; i < n; i++) bytes += lengths[i]!;
          ours.inputArea(bytes).set(storedBytes.subarray(offset, offset + bytes));
          ours.decodeStored(lengths, n, PAGE_SIZE);
          offset += bytes;
        }
      },
    },
    {
      step: 'decode',
      family: 'lz4',
      name: 'lz4js decompressBlock (unchecked)',
      run: () => {
        for (const b of lz4Blocks) lz4js.decompressBlock(b, out, 0, b.length, 0);
      },
    },
    {
      step: 'decode',
      family: 'zstd',
      name: 'pagestack zstd (zstd-wasm, checked)',
      run: () => {
        for (const f of zstdFrames) zstd.decompress(f, out);
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
  let zstdNative: { compressed: number; compress: number; decode: number } | undefined;
  let zstdProblem: string | undefined;
  const better = (a: number | undefined, b: number | undefined) =>
    a === undefined ? b : b === undefined ? a : Math.max(a, b);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of candidates) {
        const t = timed(c.run);
        const key = `${c.step} ${c.name}`;
        const prev = best.get(key) ?? { wall: 0, cpu: 0 };
        best.set(key, {
          wall: Math.max(prev.wall, input.length / 1e6 / t.wall),
          cpu: Math.max(prev.cpu, input.length / 1e6 / t.cpu),
        });
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
      const z = cliBench('zstd', ['-b3', `-B${PAGE_SIZE}`, '-i1', pageFile]);
      if (typeof z === 'string') zstdProblem = z;
      else
        zstdNative =
          zstdNative === undefined
            ? z
            : {
                compressed: z.compressed,
                compress: Math.max(zstdNative.compress, z.compress),
                decode: Math.max(zstdNative.decode, z.decode),
              };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const nativeName = { lz4: 'native liblz4 (lz4 -b1 -B4096)', zstd: 'native libzstd level 3 (zstd -b3 -B4096)' };
  const ratioOf = (name: string) => {
    const s = sizes.get(name);
    return s === undefined ? {} : { ratio: s.blocks / input.length, storedRatio: s.stored / input.length };
  };
  for (const step of ['compress', 'decode'] as const) {
    for (const family of ['lz4', 'zstd'] as const) {
      if (family === 'lz4' && native !== undefined) {
        const cpu = step === 'compress' ? native.compressCpu : native.decodeCpu;
        rows.push({
          step,
          family,
          name: nativeName.lz4,
          wall: step === 'compress' ? native.compress : native.decode,
          ...(cpu === undefined ? {} : { cpu }),
          ...(step === 'compress' ? { ratio: native.compressed / input.length } : {}),
        });
      }
      if (family === 'zstd' && zstdNative !== undefined) {
        rows.push({
          step,
          family,
          name: nativeName.zstd,
          wall: step === 'compress' ? zstdNative.compress : zstdNative.decode,
          ...(step === 'compress' ? { ratio: zstdNative.compressed / input.length } : {}),
        });
      }
      for (const c of candidates.filter((c) => c.step === step && c.family === family)) {
        rows.push({
          step,
          family,
          name: c.name,
          ...best.get(`${step} ${c.name}`)!,
          ...(step === 'compress' ? ratioOf(c.name) : {}),
        });
      }
    }
  }

  const cores = availableParallelism();
  const load = { before: loadBefore, after: loadavg()[0]! };
  const peerOf = (row: Row) =>
    rows.find((r) => r.step === row.step && r.family === row.family && r.name === nativeName[row.family!]);
  const versus = rows
    .filter((r) => r.name.startsWith('pagestack'))
    .map((r) => {
      const peer = peerOf(r);
      return {
        step: r.step,
        name: r.name,
        peer: peer?.name,
        wall: peer ? r.wall / peer.wall : undefined,
        cpu: peer?.cpu !== undefined && r.cpu !== undefined ? r.cpu / peer.cpu : undefined,
      };
    });
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          pages: count,
          bytes: input.length,
          source: files,
          rounds,
          cores,
          load,
          native: native ?? nativeProblem,
          zstdNative: zstdNative ?? zstdProblem,
          rows,
          versus,
        },
        null,
        2,
      ),
    );
    return;
  }
  if (nativeProblem !== undefined) console.log(`native lz4 skipped: ${nativeProblem}\n`);
  if (zstdProblem !== undefined) console.log(`native zstd skipped: ${zstdProblem}\n`);
  const fixed = (n: number | undefined, digits: number) => (n === undefined ? '' : n.toFixed(digits));
  console.log(
    `${'step'.padEnd(9)}${'implementation'.padEnd(46)}${'MB/s'.padStart(8)}${'x native'.padStart(9)}` +
      `${'MB/cpu-s'.padStart(10)}${'x native'.padStart(9)}${'ratio'.padStart(8)}${'stored'.padStart(8)}`,
  );
  for (const row of rows) {
    const peer = peerOf(row);
    const cpuShare = peer?.cpu === undefined || row.cpu === undefined ? undefined : row.cpu / peer.cpu;
    console.log(
      `${row.step.padEnd(9)}${row.name.padEnd(46)}${fixed(row.wall, 1).padStart(8)}${fixed(peer && row.wall / peer.wall, 2).padStart(9)}` +
        `${fixed(row.cpu, 1).padStart(10)}${fixed(cpuShare, 2).padStart(9)}${fixed(row.ratio, 4).padStart(8)}${fixed(row.storedRatio, 4).padStart(8)}`,
    );
  }
  console.log('');
  for (const v of versus) {
    if (v.wall !== undefined)
      console.log(
        `${v.step} ${v.name}: ${v.wall.toFixed(2)}x ${v.peer} (wall)${v.cpu === undefined ? '' : `, ${v.cpu.toFixed(2)}x (cpu)`}`,
      );
  }
  console.log(
    `1-minute load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after, on ${cores} cores (above ${cores}, other processes shared the CPUs)`,
  );
}
