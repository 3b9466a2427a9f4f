/**
 * `pagestack load CONTAINER` loads every member execve would start,
 * static PIEs included, and names each member it leaves out with the
 * reason (stderr, and `skipped` in --json).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from '../src/container/index.js';
import { loadPrograms } from '../src/sim/load.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
const hasReadelf = (() => {
  try {
    execFileSync('readelf', ['--version']);
    return true;
  } catch {
    console.log('load-skipped: readelf not found; the fixture check is skipped');
    return false;
  }
})();
let dir: string;
let container: string;

/** samples/bin/static-pie with DF_1_PIE cleared: ET_DYN, no PT_INTERP, no PIE flag, as a shared library is. */
function withoutPieFlag(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  const phoff = Number(out.readBigUInt64LE(32));
  const phentsize = out.readUInt16LE(54);
  for (let i = 0; i < out.readUInt16LE(56); i++) {
    const at = phoff + i * phentsize;
    if (out.readUInt32LE(at) !== 2) continue; // PT_DYNAMIC
    const offset = Number(out.readBigUInt64LE(at + 8));
    const size = Number(out.readBigUInt64LE(at + 32));
    for (let e = offset; e < offset + size; e += 16) {
      if (out.readBigUInt64LE(e) === 0x6ffffffbn) {
        out.writeBigUInt64LE(out.readBigUInt64LE(e + 8) & ~0x08000000n, e + 8);
        return out;
      }
    }
  }
  throw new Error('static-pie has no DT_FLAGS_1');
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-load-skipped-'));
  const tree = path.join(dir, 'tree');
  fs.mkdirSync(path.join(tree, 'lib'), { recursive: true });
  for (const name of ['hello', 'static', 'static-pie'])
    fs.copyFileSync(path.join(SAMPLES, name), path.join(tree, name));
  fs.writeFileSync(
    path.join(tree, 'lib', 'libfake.so'),
    withoutPieFlag(fs.readFileSync(path.join(SAMPLES, 'static-pie'))),
  );
  fs.writeFileSync(path.join(tree, 'run.sh'), '#!/bin/sh\nexec ./hello\n');
  fs.symlinkSync('hello', path.join(tree, 'hi'));
  container = path.join(dir, 'mixed.pgs');
  await pack([tree], container);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('load CONTAINER: which members, and why not the others', () => {
  it.skipIf(!hasReadelf)('the fixture is what it claims, by readelf', () => {
    const flags = (f: string) => execFileSync('readelf', ['-d', f], { encoding: 'utf8' });
    expect(flags(path.join(SAMPLES, 'static-pie'))).toMatch(/FLAGS_1.*PIE/);
    expect(flags(path.join(dir, 'tree/lib/libfake.so'))).not.toMatch(/FLAGS_1.*PIE/);
  });

  it('loads the static PIE, skips the library and the script with reasons', async () => {
    const result = await loadPrograms([container]);
    expect(result.programs.map((p) => p.name)).toEqual([
      `${container}:tree/hello`,
      `${container}:tree/static`,
      `${container}:tree/static-pie`,
    ]);
    expect(result.skipped).toEqual([
      { member: `${container}:tree/lib/libfake.so`, reason: expect.stringMatching(/^a shared library/) },
      { member: `${container}:tree/run.sh`, reason: 'not an ELF file' },
    ]);
    const staticPie = result.processes.find((p) => p.program.endsWith('static-pie'));
    expect(staticPie?.content.rss).toBeGreaterThan(0);
  });

  it('the CLI names each skipped member on stderr, and --json lists them', async () => {
    const text = await runCli('load', container);
    expect(text.status).toBe(0);
    expect(text.stderr).toBe(
      `pagestack: load: skipped ${container}:tree/lib/libfake.so: a shared library or dynamic linker (ET_DYN with neither PT_INTERP nor DF_1_PIE)\n` +
        `pagestack: load: skipped ${container}:tree/run.sh: not an ELF file\n`,
    );
    expect(text.stdout).toContain('tree/static-pie');
    const json = await runCli('load', '--json', container);
    expect(JSON.parse(json.stdout).skipped.map((s: { member: string }) => s.member)).toEqual([
      `${container}:tree/lib/libfake.so`,
      `${container}:tree/run.sh`,
    ]);
    expect((await runCli('load', '-q', container)).stderr).toBe('');
  });
});
