/**
 * `npm start` (scripts/start.mjs) runs the main job on the samples in a
 * fresh temporary directory and removes it: nothing is left in TMPDIR.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './cli-process.js';

let tmp: string;
beforeAll(() => {
  ensureBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-npm-start-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('npm start', () => {
  it('scans, packs, verifies and loads the samples, and leaves nothing behind', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe('node scripts/start.mjs');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/start.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\$ pagestack pack samples\/bin -o .*pagestack-start-[^/]+\/samples\.pgs\n/);
    expect(r.stdout).toMatch(/: ok \(\d+ entries/);
    expect(r.stdout).toMatch(/^load: 9 programs × 4 processes/m);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
