/**
 * What every command shares: -q/--quiet and --debug anywhere on the line,
 * `pagestack` alone prints the help on stdout with status 0, an unknown
 * command or option is one line with the suggestion in it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from '../src/container/index.js';
import { buildProgram } from '../src/cli/program.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
let dir: string;
let container: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-global-'));
  container = path.join(dir, 's.pgs');
  await pack([path.join(SAMPLES, 'hello'), path.join(SAMPLES, 'tables')], container);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('global options', () => {
  it('every command lists -q/--quiet and --debug in its help', () => {
    const program = buildProgram();
    for (const c of program.commands) {
      const help = c.helpInformation();
      expect(help, c.name()).toMatch(/-q, --quiet/);
      expect(help, c.name()).toMatch(/--debug/);
    }
  });

  it.each([
    ['ls', () => ['ls', container]],
    ['maps', () => ['maps', path.join(SAMPLES, 'hello')]],
    ['load', () => ['load', path.join(SAMPLES, 'hello')]],
    ['verify', () => ['verify', container]],
    ['scan', () => ['scan', SAMPLES]],
  ])('%s -q prints nothing, before or after the command name', async (_n, args) => {
    const [command, ...rest] = args();
    for (const line of [
      ['-q', command!, ...rest],
      [command!, ...rest, '-q'],
      [command!, '--quiet', ...rest],
    ]) {
      const r = await runCli(...line);
      expect(r, line.join(' ')).toEqual({ status: 0, stdout: '', stderr: '' });
    }
  });

  it('--debug prints the stack for verify on a damaged container', async () => {
    const damaged = path.join(dir, 'damaged.pgs');
    const bytes = fs.readFileSync(container);
    bytes[bytes.length - 100]! ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    const plain = await runCli('verify', damaged);
    expect(plain.status).toBe(1);
    expect(plain.stderr.split('\n')).toHaveLength(2);
    for (const line of [
      ['verify', damaged, '--debug'],
      ['--debug', 'verify', damaged],
    ]) {
      const r = await runCli(...line);
      expect(r.status).toBe(1);
      expect(r.stderr.startsWith(plain.stderr)).toBe(true);
      expect(r.stderr.slice(plain.stderr.length)).toMatch(/^ContainerError: .*\n\s+at /);
    }
  });
});

describe('the command line itself', () => {
  it('no arguments: the help on stdout, status 0', async () => {
    const r = await runCli();
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: pagestack /);
    expect(r.stdout).toMatch(/\n {2}scan /);
  });

  it('an unknown command: one line with the suggestion, status 2', async () => {
    const r = await runCli('sacn', SAMPLES);
    expect(r).toEqual({ status: 2, stdout: '', stderr: "pagestack: unknown command 'sacn' (did you mean scan?)\n" });
  });

  it('an unknown option: one line with the suggestion, status 2', async () => {
    const r = await runCli('scan', '--jsn', SAMPLES);
    expect(r).toEqual({ status: 2, stdout: '', stderr: "pagestack: unknown option '--jsn' (did you mean --json?)\n" });
  });
});
