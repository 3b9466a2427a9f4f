/**
 * `pagestack ... | head`: when the reader of stdout goes away, every
 * command stops quietly (nothing on stderr) with status 0, the status the
 * README's exit-status table gives for a closed pipe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { cli, cliIntoClosedPipe, ensureBuilt, ROOT, SAMPLES } from './cli-process.js';

let dir: string;
let container: string;

beforeAll(() => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-pipe-'));
  container = path.join(dir, 'samples.pgs');
  const r = cli(['pack', SAMPLES, '-o', container, '-q']);
  expect(r.status, r.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const scenario = path.join(ROOT, 'samples/scenarios/sharing.json');
const commands: Array<[string, () => string[]]> = [
  ['scan', () => ['scan', SAMPLES]],
  ['scan --json', () => ['scan', '--json', SAMPLES]],
  ['ls', () => ['ls', container]],
  ['ls --json', () => ['ls', '--json', container]],
  ['cat', () => ['cat', container, 'bin/hello-2m']],
  ['verify --json', () => ['verify', '--json', container]],
  ['pack --json', () => ['pack', '--json', SAMPLES, '-o', path.join(dir, 'again.pgs')]],
  ['unpack --json', () => ['unpack', '--json', container, '-C', path.join(dir, 'out'), '--force']],
  ['maps', () => ['maps', path.join(SAMPLES, 'hello')]],
  ['load --json', () => ['load', '--json', container]],
  ['run', () => ['run', scenario]],
  ['report', () => ['report', SAMPLES, '-o', path.join(dir, 'r.html')]],
  ['--help', () => ['--help']],
];
// Any command without a case above still gets its --help written into a closed pipe.
const covered = new Set(commands.map(([name]) => name.split(' ')[0]));
for (const c of buildProgram().commands)
  if (!covered.has(c.name())) commands.push([`${c.name()} --help`, () => [c.name(), '--help']]);

describe('a closed stdout ends the command quietly', () => {
  it.each(commands)('%s, reader gone before the first write', async (_name, args) => {
    const r = await cliIntoClosedPipe(args());
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });

  it.each([
    ['scan --json', ['scan', '--json', SAMPLES]],
    ['cat', ['cat', '', 'bin/hello-2m']],
  ])('%s | head -c 100', async (_name, args) => {
    const full = args.map((a) => (a === '' ? container : a));
    const r = await cliIntoClosedPipe(full, 100);
    expect(r.read).toBeGreaterThanOrEqual(100);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('a real error still fails with one line while stdout is closed', async () => {
    const r = await cliIntoClosedPipe(['ls', path.join(dir, 'missing.pgs')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: ls: ${path.join(dir, 'missing.pgs')}: no such file or directory\n`);
  });
});
