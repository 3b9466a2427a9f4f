/**
 * `pagestack scan` command lines that run without commander
 * (src/cli/scan-argv.ts): which ones are taken, and that each gives what
 * commander gives for the same line (stdout, stderr, status). Commander is
 * forced by a `--` before the paths, which the plain parser never takes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plainScanArgs } from '../src/cli/scan-argv.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '..', 'samples', 'bin');
const HELLO = path.join(SAMPLES, 'hello');

/** Runs `pagestack scan ARGS` in this process (cli-inprocess.ts). */
const run = (args: string[]) => runCli('scan', ...args);

describe('plain scan command lines', () => {
  it('takes paths with the scan flags, each once, values as separate words', () => {
    expect(plainScanArgs([SAMPLES])).toEqual({ paths: [SAMPLES], flags: { pageSize: '4096', top: '10', files: '20' } });
    expect(plainScanArgs(['--json', '-p', '16K', 'a', '--top', '3', 'b', '-q', '--files', 'all'])).toEqual({
      paths: ['a', 'b'],
      flags: { pageSize: '16K', top: '3', files: 'all', json: true, quiet: true },
    });
    expect(plainScanArgs(['--all-files', '--strict', '--debug', '--fail-below', '25', 'x'])?.flags).toEqual({
      pageSize: '4096',
      top: '10',
      files: '20',
      allFiles: true,
      strict: true,
      debug: true,
      failBelow: '25',
    });
  });

  it('leaves everything else to commander', () => {
    for (const args of [
      [],
      ['--json'],
      ['--help', 'x'],
      ['-h'],
      ['--', 'x'],
      ['--top=3', 'x'],
      ['-qp', '4K', 'x'],
      ['--json', '--json', 'x'],
      ['-q', '--quiet', 'x'],
      ['--top', '-1', 'x'],
      ['--top'],
      ['--bogus', 'x'],
      ['-x'],
      [''],
      ['--no-json', 'x'],
    ]) {
      expect(plainScanArgs(args), args.join(' ')).toBeUndefined();
    }
  });

  it('gives what commander gives for the same line', async () => {
    const lines: Array<[string[], string[]]> = [
      [['--json'], [HELLO]],
      [['--top', '2', '--files', 'all'], [SAMPLES]],
      [['-p', '16K', '--json', '--all-files'], [SAMPLES]],
      [['--top', 'x'], [SAMPLES]],
      [['--page-size', '5K'], [SAMPLES]],
      [['--fail-below', '99', '-q'], [SAMPLES]],
      [['--fail-below', '1', '--quiet'], [SAMPLES]],
      [['--strict'], [SAMPLES]],
      [[], [path.join(SAMPLES, 'no-such-file')]],
    ];
    for (const [flags, paths] of lines) {
      const plain = await run([...flags, ...paths]);
      const commander = await run([...flags, '--', ...paths]);
      expect(plain, [...flags, ...paths].join(' ')).toEqual(commander);
    }
  });
});
