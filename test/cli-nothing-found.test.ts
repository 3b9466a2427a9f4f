/**
 * Nothing found is not silent success: scan and report say so on stderr;
 * a --fail-below gate fails for that reason. report lists what it skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
let dir: string;
let empty: string;
let text: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-nothing-'));
  empty = path.join(dir, 'empty');
  text = path.join(dir, 'text');
  fs.mkdirSync(empty);
  fs.mkdirSync(text);
  fs.writeFileSync(path.join(text, 'notes.txt'), 'not ELF\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scan with no ELF files', () => {
  it('an empty directory: says so on stderr, exit 0', async () => {
    const r = await runCli('scan', empty);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`pagestack: scan: no ELF files found in ${empty}\n`);
  });

  it('--fail-below fails because nothing was found, not because of a 0% saving', async () => {
    const r = await runCli('scan', '--quiet', '--fail-below', '5', text);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `pagestack: scan: no ELF files found in ${text} (1 path skipped; --all-files reads files without the ELF magic)\n`,
    );
  });

  it('--json still prints the document, and the notice goes to stderr', async () => {
    const r = await runCli('scan', '--json', empty);
    expect(JSON.parse(r.stdout).totals.files).toBe(0);
    expect(r.stderr).toContain('no ELF files found');
  });

  it('with files found, no notice', async () => {
    const r = await runCli('scan', '--fail-below', '5', SAMPLES);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('report lists skipped files', () => {
  it('the skipped paths follow the summary line', async () => {
    const out = path.join(dir, 'r.html');
    const r = await runCli('report', text, SAMPLES, '-o', out);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(1)).toEqual([
      'Skipped 1 path (1 not ELF; --all-files reports them)',
      `  ${path.join(text, 'notes.txt')}: not an ELF file (no ELF magic)`,
      '',
    ]);
    expect(r.stderr).toBe('');
  });

  it('nothing found: said on stderr', async () => {
    const r = await runCli('report', empty, '-o', path.join(dir, 'e.html'));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`pagestack: report: no ELF files found in ${empty}\n`);
  });
});
