/**
 * `pagestack load --touch all` against an oracle nobody here wrote the
 * parts of: test/fixtures/sim-load-oracle.py takes segments and sections
 * from readelf and compares page contents with Python's hashlib, and says
 * how many file pages the start-ups leave in a per-file page cache and how
 * many distinct contents those pages hold. The per-file cache must hold the
 * first number of frames, the content-shared one the second. The oracle
 * models execve only (the program and ld.so), so the loads here are --no-libs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrograms } from '../src/sim/load.js';

const ORACLE = path.resolve(__dirname, 'fixtures/sim-load-oracle.py');
const BIN = path.resolve(__dirname, '../samples/bin');

const missing = ['python3', 'readelf'].filter((tool) => spawnSync(tool, ['--version']).error !== undefined);
if (missing.length > 0) console.warn(`sim-load-oracle: skipped, ${missing.join(' and ')} not found`);

function oracle(programs: string[]): { cached: number; distinct: number } {
  const [cached, distinct] = execFileSync('python3', [ORACLE, ...programs], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  return { cached: cached!, distinct: distinct! };
}

/** Dynamic programs of this machine, with a hard-linked pair if there is one (perl and perl5.x are one inode on Debian). */
function systemPrograms(): string[] {
  const wanted = [
    '/usr/bin/ls',
    '/usr/bin/cat',
    '/usr/bin/env',
    '/usr/bin/bash',
    '/usr/bin/readelf',
    '/usr/bin/gdb',
    '/usr/bin/perl',
  ];
  const found = wanted.filter((p) => fs.existsSync(p));
  const perl = fs.existsSync('/usr/bin/perl') ? fs.statSync('/usr/bin/perl') : undefined;
  const link =
    perl &&
    fs.readdirSync('/usr/bin').find((n) => n.startsWith('perl5') && fs.statSync(`/usr/bin/${n}`).ino === perl.ino);
  if (link) found.push(`/usr/bin/${link}`);
  return found;
}

describe.skipIf(missing.length > 0)('load against readelf + hashlib', () => {
  it.each([
    ['tables and tables2', ['tables', 'tables2'].map((n) => path.join(BIN, n))],
    [
      'every sample',
      fs
        .readdirSync(BIN)
        .sort()
        .map((n) => path.join(BIN, n)),
    ],
  ])('%s', async (_what, programs) => {
    const r = await loadPrograms(programs, { libs: false });
    const o = oracle(programs);
    expect(r.system.file.pageCacheFrames).toBe(o.cached);
    expect(r.system.content.pageCacheFrames).toBe(o.distinct);
    expect(o.cached - o.distinct).toBeGreaterThan(0);
  });

  it.skipIf(systemPrograms().length < 3)('programs of /usr/bin (hard links share one page cache)', async () => {
    const programs = systemPrograms();
    const r = await loadPrograms(programs, { libs: false });
    const o = oracle(programs);
    expect(r.system.file.pageCacheFrames).toBe(o.cached);
    expect(r.system.content.pageCacheFrames).toBe(o.distinct);
  });
});
