/**
 * `pagestack scan` and `pagestack pack` command lines that run without
 * commander (src/cli/plain-argv.ts): which ones are taken, and that each
 * gives what commander gives for the same line (stdout, stderr, status, and
 * for pack the container's bytes). Commander is forced by a `--` before the
 * paths, which the plain parser never takes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACK_SPEC, SCAN_SPEC, plainArgs } from '../src/cli/plain-argv.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '..', 'samples', 'bin');
const HELLO = path.join(SAMPLES, 'hello');

/** Runs `pagestack scan ARGS` in this process (cli-inprocess.ts). */
const run = (args: string[]) => runCli('scan', ...args);
const plainScanArgs = (args: string[]) => plainArgs(args, SCAN_SPEC);

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

describe('plain pack command lines', () => {
  it('takes paths with the pack flags; --exclude may repeat', () => {
    expect(plainArgs(['a', '-o', 'x.pgs'], PACK_SPEC)).toEqual({
      paths: ['a'],
      flags: { pageSize: '4096', codec: 'lz4', output: 'x.pgs' },
    });
    expect(
      plainArgs(
        ['--codec', 'zstd', '--level', '5', 'a', '--exclude', '*.o', 'b', '--exclude', 'tmp', '-q', '--threads', '0'],
        PACK_SPEC,
      ),
    ).toEqual({
      paths: ['a', 'b'],
      flags: { pageSize: '4096', codec: 'zstd', level: '5', exclude: ['*.o', 'tmp'], quiet: true, threads: '0' },
    });
    for (const args of [
      ['-o', 'x'],
      ['a', '-o'],
      ['a', '--exclude'],
      ['a', '-o', 'x', '-o', 'y'],
      ['a', '--top', '3'],
    ])
      expect(plainArgs(args, PACK_SPEC), args.join(' ')).toBeUndefined();
  });

  it('gives what commander gives for the same line, container bytes included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-plain-pack-'));
    try {
      const lines: Array<[string[], string[]]> = [
        [['--json', '--threads', '0'], [HELLO]],
        [['--codec', 'zstd', '--level', '1', '--exclude', 'hello*'], [SAMPLES]],
        [['--codec', 'none', '-p', '16K', '-q'], [SAMPLES]],
        [['--codec', 'lzma'], [SAMPLES]],
        [['--level', '3'], [SAMPLES]],
        [['--threads', 'x'], [SAMPLES]],
        [['--max-size', '1K'], [SAMPLES]],
        [[], [path.join(SAMPLES, 'no-such-file')]],
      ];
      for (const [flags, paths] of lines) {
        const one = path.join(dir, 'plain.pgs');
        const two = path.join(dir, 'commander.pgs');
        const plain = await runCli('pack', ...flags, '-o', one, ...paths);
        const commander = await runCli('pack', ...flags, '-o', two, '--', ...paths);
        const label = [...flags, ...paths].join(' ');
        expect(plain.status, label).toBe(commander.status);
        expect(plain.stderr.replaceAll(one, 'OUT'), label).toBe(commander.stderr.replaceAll(two, 'OUT'));
        expect(plain.stdout.replaceAll(one, 'OUT'), label).toBe(commander.stdout.replaceAll(two, 'OUT'));
        expect(fs.existsSync(one), label).toBe(fs.existsSync(two));
        if (fs.existsSync(one)) expect(fs.readFileSync(one).equals(fs.readFileSync(two)), label).toBe(true);
        fs.rmSync(one, { force: true });
        fs.rmSync(two, { force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
