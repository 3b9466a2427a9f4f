/**
 * `npm run bench -- scan DIR... [--page-size N] [--runs N]`
 *
 * Scans DIR and prints MB/s, then, in the same run and over exactly the
 * same files (the regular ELF files the scan reads), times two peers:
 * `xxhsum -H1` (XXH64 of whole files, C) and a Python hashlib page count
 * (test/helpers/pagecount.py, SHA-256 per zero-padded page). Everything is
 * run once untimed first, so the page cache is warm, then `runs` times;
 * the best time counts (the machine may be shared). The scan is timed
 * twice: in process (the library call), and as the `pagestack scan --json`
 * command, Node.js start-up included, as the peers are; bare `node -e 0`
 * is timed beside them, the share of the command no scan work can remove.
 *
 * Targets (/usr/bin): at least 4x faster than the Python count and
 * within 4x of xxhsum.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { parsePageSize, scan, walkPaths, type ScanTotals } from '../scan/index.js';
import { humanBytes } from '../scan/text.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'pagestack.js');
const PAGECOUNT = path.join(ROOT, 'test', 'helpers', 'pagecount.py');

interface Measure {
  /** Best wall time, seconds. */
  wall: number;
  /** Best CPU time (user + system, children included), seconds: steadier than wall time on a busy machine. */
  cpu: number;
}

interface Timing {
  name: string;
  /** undefined when the tool is missing. */
  best?: Measure;
  note?: string;
}

export async function benchScan(args: string[]): Promise<void> {
  const { paths, pageSize, runs } = parseArgs(args);
  const files = elfFiles(paths);
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
  if (files.length === 0) throw new UsageError(`bench scan: no ELF files under ${paths.join(' ')}`);
  console.log(
    `bench scan: ${paths.join(' ')}: ${files.length} ELF files, ${humanBytes(bytes)} (${(bytes / 1e6).toFixed(1)} MB), ${pageSize / 1024} KiB pages, best of ${runs} after a warm-up run`,
  );

  // In process.
  let totals: ScanTotals | undefined;
  const inProcess = await best(runs, async () => {
    // The same work as the command: relocation counts included (scan --json reports them).
    totals = (await scan(paths, { pageSize, relocations: true })).totals;
  });
  const timings: Timing[] = [{ name: 'pagestack scan (library call, in process)', best: inProcess }];

  // As a command, Node.js start-up included.
  const command = await best(runs, async () => {
    const r = spawnSync(process.execPath, [CLI, 'scan', '--json', '--page-size', String(pageSize), ...paths], {
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`pagestack scan failed: ${r.stderr}`);
  });
  timings.push({ name: 'pagestack scan --json (command)', best: command });

  // Bare Node.js start-up: the part of the command's time no scan can remove.
  const bare = await best(runs, async () => {
    const r = spawnSync(process.execPath, ['-e', '0']);
    if (r.status !== 0) throw new Error('node -e 0 failed');
  });
  timings.push({ name: 'node -e 0 (start-up alone)', best: bare });

  // xxhsum -H1 over the same files.
  if (spawnSync('xxhsum', ['--version']).error) timings.push({ name: 'xxhsum -H1', note: 'not installed' });
  else {
    const measured = await best(runs, async () => {
      for (let i = 0; i < files.length; i += 500) {
        const r = spawnSync('xxhsum', ['-H1', ...files.slice(i, i + 500)], { maxBuffer: 1 << 26 });
        if (r.status !== 0) throw new Error(`xxhsum failed: ${r.stderr}`);
      }
    });
    timings.push({ name: 'xxhsum -H1 (whole files)', best: measured });
  }

  // Python hashlib page count over the same walk.
  let pythonTotals: ScanTotals | undefined;
  if (spawnSync('python3', ['--version']).error || !fs.existsSync(PAGECOUNT)) {
    timings.push({ name: 'python3 hashlib page count', note: 'python3 or test/helpers/pagecount.py missing' });
  } else {
    const measured = await best(runs, async () => {
      const r = spawnSync('python3', [PAGECOUNT, '--page-size', String(pageSize), '--', ...paths], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error(`pagecount.py failed: ${r.stderr}`);
      pythonTotals = JSON.parse(r.stdout).totals;
    });
    timings.push({ name: 'python3 hashlib page count', best: measured });
  }

  printTable(timings, bytes, inProcess, command);
  if (pythonTotals && totals) {
    const same = JSON.stringify(pythonTotals) === JSON.stringify(totals);
    console.log(
      `totals: ${JSON.stringify(totals)}${same ? ' (equal to the Python count)' : ` DIFFER from the Python count ${JSON.stringify(pythonTotals)}`}`,
    );
  }
}

function printTable(timings: Timing[], bytes: number, inProcess: Measure, command: Measure): void {
  const header = ['', 'wall', 'MB/s', 'cpu', 'scan (library / command) is, by wall | by cpu'];
  const rows = timings.map((t) => {
    if (!t.best) return [t.name, '-', '-', '-', t.note ?? ''];
    const b = t.best;
    const peer = b !== inProcess && b !== command;
    const vs = peer
      ? `${ratio(b.wall, inProcess.wall)} / ${ratio(b.wall, command.wall)} | ${ratio(b.cpu, inProcess.cpu)} / ${ratio(b.cpu, command.cpu)}`
      : '';
    return [t.name, `${b.wall.toFixed(3)} s`, `${(bytes / 1e6 / b.wall).toFixed(0)}`, `${b.cpu.toFixed(3)} s`, vs];
  });
  const all = [header, ...rows];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...all.map((r) => r[c]!.length)));
  for (const r of all) {
    console.log(
      `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}  ${r[3]!.padStart(widths[3]!)}  ${r[4]}`.trimEnd(),
    );
  }
}

/** "2.3x faster" or "1.8x slower": how the scan compares to a peer that took `peer` seconds. */
function ratio(peer: number, scanSeconds: number): string {
  if (scanSeconds <= 0 || peer <= 0) return '?';
  return peer >= scanSeconds
    ? `${(peer / scanSeconds).toFixed(1)}x faster`
    : `${(scanSeconds / peer).toFixed(1)}x slower`;
}

/** Runs `job` once untimed, then `runs` times; returns the best wall and the best CPU time. */
async function best(runs: number, job: () => Promise<void>): Promise<Measure> {
  await job();
  let wall = Infinity;
  let cpu = Infinity;
  for (let i = 0; i < runs; i++) {
    const c0 = cpuSeconds();
    const t = performance.now();
    await job();
    wall = Math.min(wall, (performance.now() - t) / 1000);
    cpu = Math.min(cpu, cpuSeconds() - c0);
  }
  return { wall, cpu };
}

/**
 * CPU seconds used so far by this process and its waited-for children:
 * process.cpuUsage() plus cutime + cstime from /proc/self/stat (clock
 * ticks of 1/100 s, Linux's USER_HZ). Without /proc, this process only.
 */
function cpuSeconds(): number {
  const self = process.cpuUsage();
  let children = 0;
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // not Linux: children not counted
  }
  return (self.user + self.system) / 1e6 + children;
}

/** The regular ELF files a scan of `paths` reads, in scan order. */
function elfFiles(paths: string[]): string[] {
  const magic = Buffer.alloc(4);
  return walkPaths(paths)
    .files.map((f) => f.path)
    .filter((p) => {
      try {
        const fd = fs.openSync(p, 'r');
        const n = fs.readSync(fd, magic, 0, 4, 0);
        fs.closeSync(fd);
        return n === 4 && magic.toString('latin1') === '\x7fELF';
      } catch {
        return false;
      }
    });
}

function parseArgs(args: string[]): { paths: string[]; pageSize: number; runs: number } {
  const paths: string[] = [];
  let pageSize = 4096;
  let runs = 5;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--page-size' || a === '-p') pageSize = parsePageSize(args[++i] ?? '');
    else if (a === '--runs') {
      runs = Number(args[++i]);
      if (!Number.isInteger(runs) || runs < 1)
        throw new UsageError('bench scan: --runs must be a positive whole number');
    } else if (a.startsWith('-'))
      throw new UsageError(`bench scan: unknown option ${a} (use DIR... [--page-size N] [--runs N])`);
    else paths.push(a);
  }
  if (paths.length === 0) throw new UsageError('bench scan: give a directory, e.g. npm run bench -- scan /usr/bin');
  return { paths, pageSize, runs };
}

/** The dispatcher's entry point (src/bench/main.ts calls `run`). */
export const run = benchScan;
