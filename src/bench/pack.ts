/**
 * `npm run bench -- pack DIR [--elf-only] [--runs N] [--page-size N] [--json]`
 *
 * Packs DIR with `pagestack pack` and unpacks it with `pagestack unpack`
 * (with the default worker threads, and with none), then, in the same run and on the same DIR, builds the peers the issue
 * names: `mkfs.erofs -zlz4` (with `fsck.erofs --extract` as its unpack) and
 * `mksquashfs DIR X -comp lz4 -b 4096 -processors 1` with `unsquashfs -p 1`.
 * Every command runs as its own process under /usr/bin/time, so each time
 * includes start-up, and peak RSS is the kernel's maxrss. All files are read
 * once first (warm page cache for everyone); then each command runs `runs`
 * times and the best wall time counts, with its CPU time (user + system:
 * steadier than wall time when the machine is shared).
 *
 * --elf-only copies the regular ELF files under DIR into a temporary
 * directory first (what the issue measured: /usr/bin's ELF files).
 *
 * Targets (/usr/bin's ELF files): container no larger than the
 * EROFS lz4 image, pack no slower than mkfs.erofs, unpack no slower than
 * unsquashfs -p 1; peak RSS under 300 MB packing /usr/lib/x86_64-linux-gnu.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'pagestack.js');
const TIME = '/usr/bin/time';

export interface Measure {
  wall: number;
  cpu: number;
  maxRssKb: number;
}

interface Row {
  tool: string;
  imageBytes?: number;
  pack?: Measure;
  unpack?: Measure;
  unpackTool?: string;
  note?: string;
}

interface Options {
  dir: string;
  elfOnly: boolean;
  runs: number;
  pageSize: number;
  json: boolean;
}

export async function benchPack(args: string[]): Promise<void> {
  const options = parseArgs(args);
  if (!fs.existsSync(TIME)) throw new UsageError(`bench pack: ${TIME} is needed to measure time and peak RSS`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-bench-pack-'));
  try {
    const input = options.elfOnly ? copyElfFiles(options.dir, path.join(work, 'input')) : path.resolve(options.dir);
    const { files, bytes } = warmUp(input);
    const loadBefore = os.loadavg()[0]!;
    log(
      options,
      `bench pack: ${input}${options.elfOnly ? ` (the ELF files of ${options.dir})` : ''}: ${files} files, ${(bytes / 1e6).toFixed(1)} MB; ${os.availableParallelism()} CPUs; best of ${options.runs}; load average ${loadBefore.toFixed(2)}`,
    );
    const rows: Row[] = [];
    const image = (name: string): string => path.join(work, name);
    const fresh = (name: string): string => {
      const d = path.join(work, name);
      fs.rmSync(d, { recursive: true, force: true });
      return d;
    };

    rows.push(
      measurePair(
        options,
        'pagestack pack (lz4)',
        image('p.pgs'),
        [process.execPath, CLI, 'pack', input, '-o', image('p.pgs'), '-q', '--page-size', String(options.pageSize)],
        'pagestack unpack',
        () => [process.execPath, CLI, 'unpack', image('p.pgs'), '-C', fresh('p-out'), '-q'],
      ),
    );
    // Inline (no worker threads): what the threads save in wall time and cost in CPU time.
    rows.push(
      measurePair(
        options,
        'pagestack pack --threads 0',
        image('t0.pgs'),
        [
          process.execPath,
          CLI,
          'pack',
          input,
          '-o',
          image('t0.pgs'),
          '-q',
          '--threads',
          '0',
          '--page-size',
          String(options.pageSize),
        ],
        'pagestack unpack --threads 0',
        () => [process.execPath, CLI, 'unpack', image('t0.pgs'), '-C', fresh('t0-out'), '-q', '--threads', '0'],
      ),
    );
    rows.push(
      measurePair(
        options,
        'pagestack pack --codec none',
        image('n.pgs'),
        [
          process.execPath,
          CLI,
          'pack',
          input,
          '-o',
          image('n.pgs'),
          '-q',
          '--codec',
          'none',
          '--page-size',
          String(options.pageSize),
        ],
        'pagestack unpack',
        () => [process.execPath, CLI, 'unpack', image('n.pgs'), '-C', fresh('n-out'), '-q'],
      ),
    );
    rows.push(
      measurePair(
        options,
        'mkfs.erofs -zlz4',
        image('e.img'),
        ['mkfs.erofs', '-zlz4', '--quiet', image('e.img'), input],
        'fsck.erofs --extract',
        () => ['fsck.erofs', `--extract=${fresh('e-out')}`, image('e.img')],
      ),
    );
    rows.push(
      measurePair(
        options,
        'mksquashfs -comp lz4 -b 4096 -processors 1',
        image('s.img'),
        [
          'mksquashfs',
          input,
          image('s.img'),
          '-comp',
          'lz4',
          '-b',
          '4096',
          '-processors',
          '1',
          '-noappend',
          '-quiet',
          '-no-progress',
        ],
        'unsquashfs -p 1',
        () => ['unsquashfs', '-p', '1', '-no-progress', '-d', fresh('s-out'), image('s.img')],
      ),
    );
    report(options, rows, bytes, [loadBefore, os.loadavg()[0]!]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export const run = benchPack;

function parseArgs(args: string[]): Options {
  const options: Options = { dir: '', elfOnly: false, runs: 3, pageSize: 4096, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--elf-only') options.elfOnly = true;
    else if (a === '--json') options.json = true;
    else if (a === '--runs' || a === '--page-size') {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 1) throw new UsageError(`bench pack: ${a} needs a positive whole number`);
      if (a === '--runs') options.runs = v;
      else options.pageSize = v;
    } else if (a.startsWith('-')) throw new UsageError(`bench pack: unknown option ${a}`);
    else if (options.dir) throw new UsageError('bench pack: one DIR only');
    else options.dir = a;
  }
  if (!options.dir)
    throw new UsageError('usage: npm run bench -- pack DIR [--elf-only] [--runs N] [--page-size N] [--json]');
  return options;
}

function log(options: Options, line: string): void {
  if (!options.json) console.log(line);
}

/** Copies the regular ELF files under `from` (symlinks not followed) into `to`, keeping relative paths, modes and mtimes. */
export function copyElfFiles(from: string, to: string): string {
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p, path.join(rel, name));
      else if (st.isFile() && isElf(p)) {
        fs.mkdirSync(path.join(to, rel), { recursive: true });
        fs.copyFileSync(p, path.join(to, rel, name));
        fs.chmodSync(path.join(to, rel, name), st.mode & 0o7777);
        fs.utimesSync(path.join(to, rel, name), st.atime, st.mtime);
      }
    }
  };
  fs.mkdirSync(to, { recursive: true });
  walk(from, '');
  return to;
}

function isElf(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    const magic = Buffer.alloc(4);
    const n = fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    return n === 4 && magic.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
}

/** Reads every regular file once; returns their count and total size. */
export function warmUp(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        files++;
        bytes += fs.readFileSync(p).length;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

/** Runs a command under /usr/bin/time; returns wall, CPU and peak RSS, or undefined (with the reason) when it failed. */
export function timed(command: string[]): Measure | string {
  const report = path.join(os.tmpdir(), `pagestack-bench-time-${process.pid}`);
  const r = spawnSync(TIME, ['-f', '%e %U %S %M', '-o', report, ...command], {
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  const text = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
  fs.rmSync(report, { force: true });
  if (r.error) return `${command[0]}: ${r.error.message}`;
  if (r.status !== 0)
    return `${path.basename(command[0]!)} exited ${r.status}: ${String(r.stderr).trim().split('\n').slice(-1)[0]}`;
  const [wall, user, sys, rss] = text.trim().split('\n').slice(-1)[0]!.split(' ').map(Number);
  return { wall: wall!, cpu: user! + sys!, maxRssKb: rss! };
}

export function best(runs: number, command: () => string[], before?: () => void): Measure | string {
  let bestMeasure: Measure | undefined;
  for (let i = 0; i < runs; i++) {
    before?.();
    const m = timed(command());
    if (typeof m === 'string') return m;
    if (!bestMeasure || m.wall < bestMeasure.wall)
      bestMeasure = { ...m, maxRssKb: Math.max(m.maxRssKb, bestMeasure?.maxRssKb ?? 0) };
    else bestMeasure.maxRssKb = Math.max(bestMeasure.maxRssKb, m.maxRssKb);
  }
  return bestMeasure!;
}

/** Times `pack` (the old image removed first, untimed: replacing a large file costs its unlink) and `unpack`. */
function measurePair(
  options: Options,
  tool: string,
  image: string,
  pack: string[],
  unpackTool: string,
  unpack: () => string[],
): Row {
  log(options, `  ${tool} ...`);
  const row: Row = { tool, unpackTool };
  const p = best(
    options.runs,
    () => pack,
    () => fs.rmSync(image, { force: true }),
  );
  if (typeof p === 'string') return { ...row, note: p };
  row.pack = p;
  row.imageBytes = fs.statSync(image).size;
  const u = best(options.runs, unpack);
  if (typeof u === 'string') row.note = u;
  else row.unpack = u;
  return row;
}

function report(options: Options, rows: Row[], inputBytes: number, load: [number, number]): void {
  const byTool = (prefix: string): Row | undefined => rows.find((r) => r.tool.startsWith(prefix));
  const ours = byTool('pagestack pack (lz4)');
  const erofs = byTool('mkfs.erofs');
  const squash = byTool('mksquashfs');
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '-';
  const comparisons = {
    sizeVsErofs: ratio(ours?.imageBytes, erofs?.imageBytes),
    packTimeVsErofs: ratio(ours?.pack?.wall, erofs?.pack?.wall),
    packCpuVsErofs: ratio(ours?.pack?.cpu, erofs?.pack?.cpu),
    sizeVsSquashfs: ratio(ours?.imageBytes, squash?.imageBytes),
    packTimeVsSquashfs: ratio(ours?.pack?.wall, squash?.pack?.wall),
    unpackTimeVsUnsquashfs: ratio(ours?.unpack?.wall, squash?.unpack?.wall),
    unpackCpuVsUnsquashfs: ratio(ours?.unpack?.cpu, squash?.unpack?.cpu),
  };
  if (options.json) {
    console.log(
      JSON.stringify(
        {
          input: options.dir,
          elfOnly: options.elfOnly,
          inputBytes,
          runs: options.runs,
          cpus: os.availableParallelism(),
          loadAverage: load,
          rows,
          comparisons,
        },
        null,
        2,
      ),
    );
    return;
  }
  const s = (m: Measure | undefined): string => (m ? `${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)})` : '-');
  console.log('');
  console.log(`| tool | image | of input | pack | pack peak RSS | unpack (tool) | unpack |`);
  console.log(`|---|---:|---:|---:|---:|---|---:|`);
  for (const r of rows) {
    const size = r.imageBytes === undefined ? '-' : `${(r.imageBytes / 1e6).toFixed(1)} MB`;
    const share = r.imageBytes === undefined ? '-' : `${((r.imageBytes / inputBytes) * 100).toFixed(1)}%`;
    const rss = r.pack ? `${(r.pack.maxRssKb / 1024).toFixed(0)} MB` : '-';
    console.log(
      `| ${r.tool} | ${size} | ${share} | ${s(r.pack)} | ${rss} | ${r.unpackTool ?? '-'} | ${s(r.unpack)} |${r.note ? ` ${r.note}` : ''}`,
    );
  }
  console.log('');
  console.log(
    `pagestack / EROFS lz4:    size ${comparisons.sizeVsErofs}, pack time ${comparisons.packTimeVsErofs} (cpu ${comparisons.packCpuVsErofs})`,
  );
  console.log(`load average (1 min) before and after: ${load[0].toFixed(2)}, ${load[1].toFixed(2)}`);
  console.log(
    `pagestack / SquashFS lz4: size ${comparisons.sizeVsSquashfs}, pack time ${comparisons.packTimeVsSquashfs}, unpack time vs unsquashfs -p 1 ${comparisons.unpackTimeVsUnsquashfs} (cpu ${comparisons.unpackCpuVsUnsquashfs})`,
  );
}
