// One fuzz worker: mutates containers, scenario documents and ELF programs
// from a seed and runs the real CLI (dist/cli/main.js) on each in this
// process. Prints "start N" before and "done N STATUS LINES" after each
// mutant (LINES: the stderr lines, JSON-encoded), so the parent (fuzz.mjs)
// can tell a hang (no "done" in time) and judge the outcome.
// Usage: node scripts/fuzz-child.mjs SEED ITERATIONS KINDS WORKDIR
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { main } = await import(path.join(root, 'dist/cli/main.js'));
const [
  seedText = '1',
  itersText = '10',
  kindsText = 'container,scenario,elf',
  work = fs.mkdtempSync('/tmp/pagestack-fuzz-'),
] = process.argv.slice(2);
const kinds = kindsText.split(',');
const out = process.stdout.write.bind(process.stdout);

// xorshift32: the same mutants for the same seed on every machine.
let state = Number(seedText) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000;
};
const pick = (n) => Math.floor(rand() * n);
const INTERESTING = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0xfffn,
  0x1000n,
  0xffffn,
  0x7fffffffn,
  0xffffffffn,
  2n ** 32n,
  2n ** 46n,
  2n ** 47n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

function mutateBytes(src) {
  const b = Buffer.from(src);
  const rounds = 1 + pick(4);
  let bytes = b;
  for (let r = 0; r < rounds; r++) {
    // Mostly the headers and tables (the first 1 KiB and the last 4 KiB), where sizes and offsets live.
    const where = rand();
    const at =
      where < 0.45
        ? pick(Math.min(1024, bytes.length) || 1)
        : where < 0.7
          ? Math.max(0, bytes.length - 1 - pick(4096))
          : pick(Math.max(1, bytes.length));
    switch (rand() < 0.05 ? 3 : [0, 1, 2, 4][pick(4)]) {
      case 0: // flip bits
        bytes[at] ^= 1 << pick(8);
        break;
      case 1: // an interesting 64-bit value
        if (at + 8 <= bytes.length) bytes.writeBigUInt64LE(INTERESTING[pick(INTERESTING.length)], at);
        break;
      case 2: // an interesting 32-bit value
        if (at + 4 <= bytes.length)
          bytes.writeUInt32LE(Number(INTERESTING[pick(INTERESTING.length)] & 0xffffffffn), at);
        break;
      case 3: // truncate
        bytes = bytes.subarray(0, at);
        break;
      default: // random bytes
        for (let i = 0; i < 1 + pick(16) && at + i < bytes.length; i++) bytes[at + i] = pick(256);
    }
  }
  return bytes;
}

const VALUES = [
  0,
  -1,
  1,
  4096,
  2 ** 31,
  2 ** 46,
  2 ** 53,
  1e9,
  1e300,
  0.5,
  '1 GiB',
  '64 GiB',
  '4G',
  '',
  'x',
  null,
  true,
  [],
  {},
  [[[[]]]],
];
function mutateJson(v, depth = 0) {
  if (Array.isArray(v)) {
    const a = v.map((x) => (rand() < 0.2 ? mutateJson(x, depth + 1) : x));
    if (rand() < 0.1 && a.length) a.push(a[pick(a.length)]);
    if (rand() < 0.1 && a.length) a.splice(pick(a.length), 1);
    return a;
  }
  if (v && typeof v === 'object') {
    const o = { ...v };
    for (const k of Object.keys(o)) {
      if (rand() < 0.15) o[k] = rand() < 0.7 ? VALUES[pick(VALUES.length)] : mutateJson(o[k], depth + 1);
      else if (rand() < 0.05) delete o[k];
    }
    if (rand() < 0.05) o[`x${pick(10)}`] = VALUES[pick(VALUES.length)];
    return o;
  }
  return rand() < 0.3 ? VALUES[pick(VALUES.length)] : v;
}

const samples = path.join(root, 'samples');
const containerSrc = path.join(work, 'base.pgs');
const elfs = ['hello', 'static', 'static-pie', 'tables'].map((n) => fs.readFileSync(path.join(samples, 'bin', n)));
const scenarios = ['sharing.json', 'calloc.json'].map((n) =>
  JSON.parse(fs.readFileSync(path.join(samples, 'scenarios', n), 'utf8')),
);

async function cli(args) {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stdout.write = () => true;
  process.stderr.write = (chunk) => {
    stderr += chunk.toString();
    return true;
  };
  let status;
  try {
    status = await main(['node', 'pagestack', ...args]);
  } catch (err) {
    status = -1;
    stderr += `THREW ${err?.stack ?? err}\n`;
  } finally {
    process.stdout.write = out;
    process.stderr.write = write;
    process.exitCode = undefined;
  }
  return { status, lines: stderr.split('\n').filter(Boolean) };
}

// A clean container of the sample programs to mutate.
const packed = await cli(['pack', path.join(samples, 'bin'), '-o', containerSrc, '--quiet']);
if (packed.status !== 0) throw new Error(`cannot pack the base container: ${packed.lines.join(' ')}`);
const containerBase = fs.readFileSync(containerSrc);

for (let i = 0; i < Number(itersText); i++) {
  const kind = kinds[i % kinds.length];
  const file = path.join(work, `m${i}`);
  let runs;
  if (kind === 'container') {
    fs.writeFileSync(file, mutateBytes(containerBase));
    const dest = path.join(work, `u${i}`);
    runs = [
      ['verify', file],
      ['ls', '--json', file],
      ['cat', file, 'bin/hello'],
      ['unpack', file, '-C', dest],
    ];
  } else if (kind === 'scenario') {
    const doc = mutateJson(scenarios[pick(scenarios.length)]);
    // Relative paths are the samples' own: make them absolute, the mutant lives elsewhere.
    const abs = (v) => (typeof v === 'string' ? path.resolve(samples, 'scenarios', v) : v);
    if (doc.programs && typeof doc.programs === 'object' && !Array.isArray(doc.programs)) {
      for (const [k, v] of Object.entries(doc.programs)) {
        if (typeof v === 'string') doc.programs[k] = abs(v);
        else if (v && typeof v === 'object')
          doc.programs[k] = {
            ...v,
            ...(v.path ? { path: abs(v.path) } : {}),
            ...(v.container ? { container: abs(v.container) } : {}),
          };
      }
    }
    fs.writeFileSync(file, rand() < 0.1 ? JSON.stringify(doc).slice(0, pick(2000)) : JSON.stringify(doc));
    runs = [['run', file, '--json', '--max-work', '3000000', '--max-memory', '512M']];
  } else {
    fs.writeFileSync(file, mutateBytes(elfs[pick(elfs.length)]), { mode: 0o755 });
    runs = [
      ['maps', file],
      ['scan', file],
      ['load', file, '--procs', '1'],
    ];
  }
  for (const args of runs) {
    out(`start ${i} ${kind} ${args[0]}\n`);
    const r = await cli(args);
    out(`done ${i} ${r.status} ${JSON.stringify(r.lines.slice(0, 3))}\n`);
  }
  if (process.env.FUZZ_KEEP !== '1') fs.rmSync(file, { force: true }); // FUZZ_KEEP=1 keeps the mutants to replay one
  fs.rmSync(path.join(work, `u${i}`), { recursive: true, force: true });
}
out('finished\n');
