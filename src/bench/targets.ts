/**
 * `npm run bench -- targets [DIR] [--runs N] [--rss-dir DIR] [--no-codec] [--no-rss] [--only LIST] [--json]`
 *
 * Every speed and size target of the "fast where users wait" issue, each
 * against its peer measured in the same run, printed in one line and then
 * as a table:
 *
 *   start-up   `pagestack --version`            vs `node -e 0`                 target <= 2x
 *   scan       `pagestack scan --json CORPUS`   vs Python hashlib page count   target >= 4x faster
 *                                               vs `xxhsum -H1` on the files   target <= 4x
 *   pack       `pagestack pack CORPUS`          vs `mkfs.erofs -zlz4`          target <= 1.0x
 *   unpack     `pagestack unpack` (fresh dir)   vs `unsquashfs -p 1` (lz4, 4 KiB blocks)  target <= 1.0x
 *   zstd size  `pack --codec zstd` image        vs the EROFS lz4 image         target <= 0.75x
 *   LZ4 page   compress, decode (bench codec)   vs native liblz4 (`lz4 -b`)    target >= 0.7x
 *   peak RSS   `pagestack pack --rss-dir`       (/usr/lib/x86_64-linux-gnu)    target < 300 MB
 *
 * CORPUS: the regular ELF files of DIR (default /usr/bin), copied into a
 * temporary directory. Each command is its own process under
 * /usr/bin/time (start-up included, peak RSS from the kernel). Files are
 * read once first (warm cache). Ours and the peer alternate, `runs` times
 * each; the best wall time of each counts, and the CPU-time ratio (user +
 * system) is printed beside it because it is steadier on a shared machine.
 *
 * --only LIST: a comma-separated subset of start-up, scan, pack, unpack,
 * zstd, codec and rss (unpack and zstd still pack first, as they need its
 * image; that pack is then timed too).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { best, copyElfFiles, timed, warmUp, type Measure } from './pack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'pagestack.js');
const BENCH = path.join(ROOT, 'dist', 'bench', 'main.js');
const PAGECOUNT = path.join(ROOT, 'test', 'helpers', 'pagecount.py');
const NODE = process.execPath;

interface Options {
  dir: string;
  runs: number;
  rssDir: string;
  codec: boolean;
  rss: boolean;
  json: boolean;
  /** The targets to measure (--only); undefined: all. */
  only?: ReadonlySet<string>;
}

const TARGET_NAMES = ['start-up', 'scan', 'pack', 'unpack', 'zstd', 'codec', 'rss'];

/** One target: ours against a peer, both measured here. */
interface Target {
  name: string;
  ours: string;
  peer: string;
  /** ours / peer by wall time (sizes: by bytes); undefined when not measured. */
  ratio?: number;
  /** ours / peer by CPU time. */
  cpuRatio?: number;
  oursValue?: string;
  peerValue?: string;
  /** How the ratio is read: 'at most' (ours / peer <= limit), 'faster' (peer / ours >= limit), 'under' (an absolute limit). */
  goal: { kind: 'at most' | 'faster' | 'under'; limit: number };
  note?: string;
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-bench-targets-'));
  const loadBefore = os.loadavg()[0]!;
  try {
    const corpus = copyElfFiles(options.dir, path.join(work, 'corpus'));
    const { files, bytes } = warmUp(corpus);
    const elfFiles = fs
      .readdirSync(corpus, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => path.join(d.parentPath, d.name))
      .sort();
    log(
      options,
      `bench targets: ${files} ELF files of ${options.dir}, ${(bytes / 1e6).toFixed(1)} MB; ${os.availableParallelism()} CPUs; best of ${options.runs}, ours and peer alternating; load average ${loadBefore.toFixed(2)}`,
    );
    const targets: Target[] = [];
    const at = (name: string): string => path.join(work, name);
    const fresh = (name: string) => () => fs.rmSync(at(name), { recursive: true, force: true });

    const want = (name: string) => !options.only || options.only.has(name);
    if (want('start-up')) {
      log(options, '  start-up ...');
      targets.push(
        pair(options, 'start-up', 'pagestack --version', 'node -e 0', [NODE, CLI, '--version'], [NODE, '-e', '0'], {
          kind: 'at most',
          limit: 2,
        }),
      );
    }

    if (want('scan')) {
      log(options, '  scan ...');
      const python =
        spawnSync('python3', ['--version']).error || !fs.existsSync(PAGECOUNT)
          ? undefined
          : ['python3', PAGECOUNT, '--', corpus];
      targets.push(
        pair(
          options,
          'scan vs Python',
          'pagestack scan --json',
          'python3 hashlib page count',
          [NODE, CLI, 'scan', '--json', corpus],
          python,
          { kind: 'faster', limit: 4 },
        ),
      );
      const xxhsum = spawnSync('xxhsum', ['--version']).error ? undefined : ['xxhsum', '-H1', ...elfFiles];
      targets.push(
        pair(
          options,
          'scan vs xxhsum',
          'pagestack scan --json',
          'xxhsum -H1',
          [NODE, CLI, 'scan', '--json', corpus],
          xxhsum,
          { kind: 'at most', limit: 4 },
        ),
      );
    }

    if (want('pack') || want('unpack') || want('zstd')) {
      log(options, '  pack ...');
      const erofs = spawnSync('mkfs.erofs', ['--help']).error
        ? undefined
        : ['mkfs.erofs', '-zlz4', '--quiet', at('e.img'), corpus];
      const packPair = pair(
        options,
        'pack',
        'pagestack pack (lz4)',
        'mkfs.erofs -zlz4',
        [NODE, CLI, 'pack', corpus, '-o', at('p.pgs'), '-q'],
        erofs,
        { kind: 'at most', limit: 1 },
        fresh('p.pgs'),
        fresh('e.img'),
      );
      targets.push(packPair);
    }

    if (want('unpack')) {
      log(options, '  unpack ...');
      const squash = spawnSync('mksquashfs', ['-version']).error
        ? undefined
        : spawnSync('mksquashfs', [
              corpus,
              at('s.img'),
              '-comp',
              'lz4',
              '-b',
              '4096',
              '-noappend',
              '-quiet',
              '-no-progress',
            ]).status === 0
          ? ['unsquashfs', '-p', '1', '-no-progress', '-d', at('s-out'), at('s.img')]
          : undefined;
      targets.push(
        pair(
          options,
          'unpack',
          'pagestack unpack (lz4)',
          'unsquashfs -p 1',
          [NODE, CLI, 'unpack', at('p.pgs'), '-C', at('p-out'), '-q'],
          squash,
          { kind: 'at most', limit: 1 },
          fresh('p-out'),
          fresh('s-out'),
        ),
      );
    }

    if (want('zstd')) {
      log(options, '  zstd ...');
      targets.push(...zstdTargets(options, corpus, at));
    }

    if (options.codec && want('codec')) {
      log(options, '  LZ4 per page (bench codec) ...');
      targets.push(...lz4Targets(corpus));
    }
    if (options.rss && want('rss')) {
      log(options, `  peak RSS packing ${options.rssDir} ...`);
      targets.push(rssTarget(options, at('rss.pgs')));
    }
    report(options, targets, [loadBefore, os.loadavg()[0]!], { files, bytes });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Times ours and the peer alternately; the ratio of their best wall (and CPU) times. */
function pair(
  options: Options,
  name: string,
  oursName: string,
  peerName: string,
  ours: string[],
  peer: string[] | undefined,
  goal: Target['goal'],
  beforeOurs?: () => void,
  beforePeer?: () => void,
): Target {
  const target: Target = { name, ours: oursName, peer: peerName, goal };
  if (!peer) return { ...target, note: `${peerName} not available` };
  let o: Measure | undefined;
  let p: Measure | undefined;
  for (let i = 0; i < options.runs; i++) {
    const a = best(1, () => ours, beforeOurs);
    if (typeof a === 'string') return { ...target, note: a };
    const b = best(1, () => peer, beforePeer);
    if (typeof b === 'string') return { ...target, note: b };
    if (!o || a.wall < o.wall) o = a;
    if (!p || b.wall < p.wall) p = b;
  }
  return {
    ...target,
    ratio: o!.wall / p!.wall,
    cpuRatio: o!.cpu / p!.cpu,
    oursValue: seconds(o!),
    peerValue: seconds(p!),
  };
}

const seconds = (m: Measure): string => `${m.wall.toFixed(3)} s (cpu ${m.cpu.toFixed(3)})`;

/** zstd container size against the EROFS lz4 image, and its pack/unpack time beside LZ4's. */
function zstdTargets(options: Options, corpus: string, at: (name: string) => string): Target[] {
  const goal = { kind: 'at most', limit: 0.75 } as const;
  const size: Target = { name: 'zstd size', ours: 'pagestack pack --codec zstd', peer: 'EROFS lz4 image', goal };
  const help = spawnSync(NODE, [CLI, 'pack', '--help'], { encoding: 'utf8' }).stdout ?? '';
  if (!/zstd/.test(help)) return [{ ...size, note: 'n/a (zstd codec missing)' }];
  if (!fs.existsSync(at('e.img'))) return [{ ...size, note: 'n/a (no EROFS image: mkfs.erofs missing)' }];
  const packed = best(
    options.runs,
    () => [NODE, CLI, 'pack', corpus, '-o', at('z.pgs'), '-q', '--codec', 'zstd'],
    () => fs.rmSync(at('z.pgs'), { force: true }),
  );
  if (typeof packed === 'string') return [{ ...size, note: packed }];
  const zstdBytes = fs.statSync(at('z.pgs')).size;
  const erofsBytes = fs.statSync(at('e.img')).size;
  const unpacked = best(
    options.runs,
    () => [NODE, CLI, 'unpack', at('z.pgs'), '-C', at('z-out'), '-q'],
    () => fs.rmSync(at('z-out'), { recursive: true, force: true }),
  );
  const lz4Pack = timed([NODE, CLI, 'pack', corpus, '-o', at('p2.pgs'), '-q']);
  return [
    {
      ...size,
      ratio: zstdBytes / erofsBytes,
      oursValue: `${(zstdBytes / 1e6).toFixed(1)} MB`,
      peerValue: `${(erofsBytes / 1e6).toFixed(1)} MB`,
    },
    {
      name: 'zstd pack, unpack',
      ours: 'pagestack pack/unpack --codec zstd',
      peer: 'the same with lz4',
      goal: { kind: 'at most', limit: Infinity },
      ...(typeof lz4Pack === 'string' ? {} : { ratio: packed.wall / lz4Pack.wall, cpuRatio: packed.cpu / lz4Pack.cpu }),
      oursValue: `pack ${seconds(packed)}, unpack ${typeof unpacked === 'string' ? unpacked : seconds(unpacked)}`,
      peerValue: typeof lz4Pack === 'string' ? lz4Pack : `pack ${seconds(lz4Pack)}`,
    },
  ];
}

interface CodecRow {
  step: string;
  name: string;
  wall: number;
  cpu?: number;
}

/** LZ4 per page from `bench codec --json`: our rows against native liblz4's. */
function lz4Targets(corpus: string): Target[] {
  const base = (step: string): Target => ({
    name: `LZ4 ${step}`,
    ours: 'pagestack lz4 per page',
    peer: 'native liblz4 (lz4 -b1 -B4096)',
    goal: { kind: 'faster', limit: 0.7 },
  });
  const r = spawnSync(NODE, [BENCH, 'codec', '--json', '--max-mb', '32', '--rounds', '2', corpus], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  let rows: CodecRow[];
  try {
    rows = (JSON.parse(r.stdout) as { rows: CodecRow[] }).rows;
  } catch {
    const why = `n/a (bench codec failed: ${String(r.stderr).trim().split('\n').slice(-1)[0]})`;
    return [
      { ...base('compress'), note: why },
      { ...base('decode'), note: why },
    ];
  }
  return ['compress', 'decode'].map((step) => {
    const native = rows.find((x) => x.step === step && x.name.startsWith('native liblz4'));
    // Our LZ4 rows (per page through PageCodec, and batches in wasm memory as pack and unpack use it): the faster one.
    const ours = rows
      .filter((x) => x.step === step && x.name.startsWith('pagestack lz4'))
      .sort((a, b) => b.wall - a.wall)[0];
    if (!native || !ours) return { ...base(step), note: 'n/a (no native lz4 or no pagestack row)' };
    // Throughputs: ours / native is the share of native speed (>= 0.7 wanted); ratio kept as time, native / ours.
    return {
      ...base(step),
      ours: ours.name,
      ratio: native.wall / ours.wall,
      ...(native.cpu && ours.cpu ? { cpuRatio: native.cpu / ours.cpu } : {}),
      oursValue: `${ours.wall.toFixed(0)} MB/s`,
      peerValue: `${native.wall.toFixed(0)} MB/s`,
    };
  });
}

function rssTarget(options: Options, out: string): Target {
  const target: Target = {
    name: 'peak RSS',
    ours: `pagestack pack ${options.rssDir}`,
    peer: '300 MB',
    goal: { kind: 'under', limit: 300 },
  };
  if (!fs.existsSync(options.rssDir)) return { ...target, note: `${options.rssDir} missing` };
  const m = timed([NODE, CLI, 'pack', options.rssDir, '-o', out, '-q']);
  fs.rmSync(out, { force: true });
  if (typeof m === 'string') return { ...target, note: m };
  const mb = m.maxRssKb / 1024;
  return { ...target, ratio: mb / 300, oursValue: `${mb.toFixed(0)} MB in ${seconds(m)}`, peerValue: '300 MB' };
}

/** The figure as the goal reads it, and whether it is met. */
function verdict(t: Target): { text: string; met?: boolean } {
  if (t.ratio === undefined) return { text: t.note ?? 'n/a' };
  const { kind, limit } = t.goal;
  if (t.name === 'peak RSS') {
    const mb = t.ratio * 300;
    return { text: `${mb.toFixed(0)} MB (< ${limit})`, met: mb < limit };
  }
  if (t.name.startsWith('LZ4'))
    return { text: `${(1 / t.ratio).toFixed(2)}x native (>= ${limit})`, met: 1 / t.ratio >= limit };
  if (kind === 'faster')
    return { text: `${(1 / t.ratio).toFixed(2)}x faster than ${t.peer} (>= ${limit}x)`, met: 1 / t.ratio >= limit };
  if (limit === Infinity) return { text: `${t.ratio.toFixed(2)}x ${t.peer}` };
  return { text: `${t.ratio.toFixed(2)}x ${t.peer} (<= ${limit}x)`, met: t.ratio <= limit };
}

function report(
  options: Options,
  targets: Target[],
  load: [number, number],
  corpus: { files: number; bytes: number },
): void {
  if (options.json) {
    console.log(
      JSON.stringify(
        {
          corpus: { dir: options.dir, ...corpus },
          runs: options.runs,
          cpus: os.availableParallelism(),
          loadAverage: load,
          targets,
        },
        null,
        2,
      ),
    );
    return;
  }
  const mark = (met: boolean | undefined): string => (met === undefined ? '' : met ? ' ok' : ' MISSED');
  const parts = targets.map((t) => {
    const v = verdict(t);
    return `${t.name}: ${v.text}${mark(v.met)}`;
  });
  console.log('');
  console.log(`targets | ${parts.join(' | ')}`);
  console.log('');
  console.log('| target | ours | peer | ours (best) | peer (best) | ratio by wall | by cpu | goal |');
  console.log('|---|---|---|---:|---:|---:|---:|---|');
  for (const t of targets) {
    const v = verdict(t);
    const r = t.ratio === undefined ? '-' : t.ratio.toFixed(3);
    const c = t.cpuRatio === undefined ? '-' : t.cpuRatio.toFixed(3);
    console.log(
      `| ${t.name} | ${t.ours} | ${t.peer} | ${t.oursValue ?? '-'} | ${t.peerValue ?? '-'} | ${r} | ${c} | ${v.text}${mark(v.met)} |`,
    );
  }
  console.log('');
  console.log(
    'ratio = ours / peer by time or size; for "faster" and LZ4 rows, peer / ours (so higher is better there).',
  );
  console.log(
    `1-minute load average ${load[0].toFixed(2)} before, ${load[1].toFixed(2)} after, on ${os.availableParallelism()} CPUs${Math.max(load[0], load[1]) >= os.availableParallelism() ? ': other processes shared the CPUs, so the ratios are less sure' : ''}`,
  );
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    dir: '/usr/bin',
    runs: 3,
    rssDir: '/usr/lib/x86_64-linux-gnu',
    codec: true,
    rss: true,
    json: false,
  };
  let dirGiven = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') options.json = true;
    else if (a === '--no-codec') options.codec = false;
    else if (a === '--no-rss') options.rss = false;
    else if (a === '--rss-dir') options.rssDir = args[++i] ?? '';
    else if (a === '--only') {
      const names = (args[++i] ?? '').split(',').filter((n) => n !== '');
      const unknown = names.find((n) => !TARGET_NAMES.includes(n));
      if (names.length === 0 || unknown !== undefined)
        throw new UsageError(
          `bench targets: --only takes a list of ${TARGET_NAMES.join(', ')}${unknown ? ` (got ${unknown})` : ''}`,
        );
      options.only = new Set(names);
    } else if (a === '--runs') {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 1)
        throw new UsageError('bench targets: --runs needs a positive whole number');
      options.runs = v;
    } else if (a.startsWith('-')) throw new UsageError(`bench targets: unknown option ${a}`);
    else if (dirGiven) throw new UsageError('bench targets: one DIR only');
    else {
      options.dir = a;
      dirGiven = true;
    }
  }
  if (!fs.existsSync(options.dir)) throw new UsageError(`bench targets: ${options.dir}: no such directory`);
  return options;
}

function log(options: Options, line: string): void {
  if (!options.json) console.log(line);
}
