/**
 * bin/pagestack.js, the entry script: without a built dist/ it says what
 * to do in one line instead of a module-resolution stack trace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './cli-process.js';

let dir: string;
beforeAll(() => {
  // A clone before `npm ci`: bin/ and package.json, no dist/.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-entry-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(CLI, path.join(dir, 'bin', 'pagestack.js'));
  fs.copyFileSync(path.join(path.dirname(CLI), '..', 'package.json'), path.join(dir, 'package.json'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('bin/pagestack.js without dist/', () => {
  it('one line telling the user to build, status 1', () => {
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'pagestack.js'), 'scan', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('pagestack: run npm ci (or npm run build) first\n');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });
});
