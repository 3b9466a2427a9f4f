/**
 * Benchmark dispatcher: `npm run bench -- <name> [args...]`, that is
 * `node dist/bench/main.js <name> [args...]` (run `npm run build` first).
 * Benchmarks are scripts, not tests: they print timings measured on this
 * machine next to a reference tool run in the same process.
 *
 * To add one: write src/bench/<name>.ts exporting `run(args)`, and add a
 * line to BENCHES.
 */

export interface Bench {
  run(args: string[]): Promise<void>;
}

const BENCHES: Record<string, { summary: string; load: () => Promise<Bench> }> = {
  targets: {
    summary:
      'every target of the speed issue in one line: start-up, scan, pack, unpack, zstd size, LZ4, peak RSS, each against its peer',
    load: () => import('./targets.js'),
  },
  codec: { summary: 'per-page LZ4: our encoder and decoder, lz4js, native lz4', load: () => import('./codec.js') },
  scan: { summary: 'page scan MB/s against xxhsum -H1 and a Python hashlib count', load: () => import('./scan.js') },
  pack: {
    summary: 'pack/unpack time and size against mkfs.erofs and mksquashfs/unsquashfs',
    load: () => import('./pack.js'),
  },
  mm: {
    summary: 'memory model: exec, faults, fork, heap per mapped page (10 M pages)',
    load: () => import('./mm.js').then((m) => ({ run: m.benchMm })),
  },
  swap: { summary: 'swap back ends against the codec alone on the same pages', load: () => import('./swap.js') },
  policies: {
    summary:
      'memory policies: faults, swap-outs, swap-ins, KSM pages scanned per second; swap path against the codec alone',
    load: () => import('./policies.js'),
  },
  'rtld-system': {
    summary: 'real programs with their libraries: both page caches, from files and from one container',
    load: () => import('./rtld-system.js'),
  },
  rtld: {
    summary: 'ld.so start-up: plan and map python3 with its libraries, 1/10/100 processes, beside the exec path',
    load: () => import('./rtld.js'),
  },
  report: {
    summary: 'HTML report: build time, size, first paint, frame and hover times in Chromium',
    load: () => import('./report.js'),
  },
};

function usage(): string {
  const lines = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(8)} ${b.summary}`);
  return ['usage: npm run bench -- <name> [args...]', '', ...lines].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const bench = name === undefined ? undefined : BENCHES[name];
  if (bench === undefined) {
    if (name !== undefined && name !== '--help' && name !== '-h') console.error(`bench: unknown benchmark '${name}'`);
    console.error(usage());
    return name === '--help' || name === '-h' ? 0 : 2;
  }
  await (await bench.load()).run(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
