/**
 * `pagestack scan` as a user meets it: exit statuses, one-line errors,
 * warnings for damaged ELF files, --strict, --fail-below, --quiet, and the
 * shape of the --json document.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-inprocess.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
let dir: string;
let damaged: string;

/** Runs `pagestack scan ARGS` in this process (cli-inprocess.ts). */
const run = (...args: string[]) => runCli('scan', ...args);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-scan-cli-'));
  // samples/bin/hello with e_shoff pointing past the end: the section header table is unreadable.
  const bytes = Buffer.from(fs.readFileSync(path.join(SAMPLES, 'hello')));
  bytes.writeBigUInt64LE(BigInt(bytes.length + 0x10000), 0x28);
  damaged = path.join(dir, 'damaged', 'hello-bad-shoff');
  fs.mkdirSync(path.dirname(damaged));
  fs.writeFileSync(damaged, bytes);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not ELF\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('pagestack scan: errors and exit status', () => {
  it('a missing path: exit 1, one line naming it', async () => {
    const missing = path.join(dir, 'no-such-file');
    const r = await run(missing);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: scan: ${missing}: no such file or directory\n`);
    expect(r.stdout).toBe('');
  });

  it('a bad page size: exit 2', async () => {
    for (const bad of ['8192', '4097', 'big', '0']) {
      const r = await run('--page-size', bad, SAMPLES);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^pagestack: scan: --page-size must be 4096, 16384 or 65536.*\n$/);
    }
    expect((await run('--page-size', '16K', '--quiet', SAMPLES)).status).toBe(0);
  });

  it('usage errors: no path, an unknown option, a bad --fail-below: exit 2', async () => {
    expect((await run()).status).toBe(2);
    expect((await run('--no-such-option', SAMPLES)).status).toBe(2);
    expect((await run('--fail-below', 'abc', SAMPLES)).status).toBe(2);
    expect((await run('--fail-below', '101', SAMPLES)).status).toBe(2);
    expect((await run('--top', '-1', SAMPLES)).status).toBe(2);
  });

  it('a non-ELF file named explicitly: exit 1; in a directory: skipped; with --all-files: scanned', async () => {
    const notes = path.join(dir, 'notes.txt');
    const r = await run(notes);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: scan: ${notes}: not an ELF file (no ELF magic)\n`);
    const walked = await run('--json', dir);
    expect(walked.status).toBe(0);
    const doc = JSON.parse(walked.stdout);
    expect(doc.skipped).toEqual([{ path: notes, code: 'E_NOT_ELF', reason: 'not an ELF file (no ELF magic)' }]);
    const all = JSON.parse((await run('--json', '--all-files', notes)).stdout);
    expect(all.totals).toMatchObject({ files: 1, pages: 1 });
    expect(all.files[0].elf).toBeNull();
  });

  it('a damaged ELF file: scanned with a warning; --strict makes it exit 1', async () => {
    const r = await run('--json', damaged);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.files[0].warnings).toEqual([expect.objectContaining({ code: 'E_ELF_SHDRS' })]);
    expect(doc.totals.pages).toBe(Math.ceil(fs.statSync(damaged).size / 4096));
    const human = await run(damaged);
    expect(human.stdout).toContain(`Warnings (scanned as pages)\n  ${damaged}: section header table`);
    const strict = await run('--strict', damaged);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(
      new RegExp(`^pagestack: scan: ${damaged}: section header table .* \\(--strict\\)\\n$`),
    );
    expect(strict.stdout).toBe('');
  });

  it('--strict fails on a skipped file in a walk', async () => {
    const r = await run('--strict', '--quiet', dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('(--strict)');
  });

  it('FIFOs: skipped in a walk, an error when named', async () => {
    const fifoDir = path.join(dir, 'fifo');
    fs.mkdirSync(fifoDir);
    const fifo = path.join(fifoDir, 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      console.warn('skipping the FIFO case: mkfifo failed');
      return;
    }
    const walked = JSON.parse((await run('--json', fifoDir)).stdout);
    expect(walked.skipped).toEqual([{ path: fifo, code: 'E_NOT_REGULAR', reason: 'not a regular file (FIFO)' }]);
    const named = await run(fifo);
    expect(named.status).toBe(1);
    expect(named.stderr).toBe(`pagestack: scan: ${fifo}: not a regular file (FIFO)\n`);
  });

  it('--fail-below: exit 1 under the threshold, 0 at or above it', async () => {
    const t = JSON.parse((await run('--json', SAMPLES)).stdout).totals;
    const percent = ((t.zeroPages + t.duplicatePages) / t.pages) * 100;
    const below = await run('--quiet', '--fail-below', String(Math.ceil(percent + 1)), SAMPLES);
    expect(below.status).toBe(1);
    expect(below.stderr).toBe(
      `pagestack: scan: dedup would save ${percent.toFixed(2)}% of pages, below --fail-below ${Math.ceil(percent + 1)}%\n`,
    );
    expect((await run('--quiet', '--fail-below', String(Math.floor(percent)), SAMPLES)).status).toBe(0);
    expect((await run('--quiet', '--fail-below', '0', SAMPLES)).status).toBe(0);
  });

  it('--quiet prints nothing', async () => {
    const r = await run('--quiet', SAMPLES);
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

describe('pagestack scan: output', () => {
  it('the --json document has the documented shape', async () => {
    const r = await run('--json', SAMPLES);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'schema',
      'pageSize',
      'totals',
      'savings',
      'files',
      'mostDuplicated',
      'skipped',
      'links',
      'relocation',
    ]);
    expect(doc.schema).toBe('pagestack.scan/1');
    expect(Object.keys(doc.totals)).toEqual(['files', 'bytes', 'pages', 'zeroPages', 'uniquePages', 'duplicatePages']);
    const t = doc.totals;
    expect(t.duplicatePages).toBe(t.pages - t.zeroPages - t.uniquePages);
    const saved = t.zeroPages + t.duplicatePages;
    expect(doc.savings).toEqual({
      pages: saved,
      bytes: saved * 4096,
      percent: Math.round((saved / t.pages) * 10000) / 100,
    });
    const sum = (k: string) => doc.files.reduce((n: number, f: Record<string, number>) => n + f[k]!, 0);
    expect([sum('pages'), sum('zeroPages'), sum('newPages'), sum('duplicatePages'), sum('size')]).toEqual([
      t.pages,
      t.zeroPages,
      t.uniquePages,
      t.duplicatePages,
      t.bytes,
    ]);
    const tables = doc.files.find((f: { path: string }) => f.path.endsWith('/tables'));
    expect(tables.elf).toEqual({ class: 64, data: 'lsb', type: 3, typeName: 'DYN', machine: 62 });
    expect(tables.segments.map((s: { perms: string }) => s.perms)).toEqual(['r--', 'r-x', 'r--', 'rw-']);
    expect(tables.segments[3]).toMatchObject({
      index: 5,
      flags: 6,
      offset: '0x13dd0',
      filesz: '0x42230',
      vaddr: '0x14dd0',
      memsz: '0x42238',
      firstPage: 19,
    });
    expect(doc.mostDuplicated[0]).toMatchObject({ copies: 8, files: 2 });
    expect(doc.mostDuplicated[0].places[0]).toMatchObject({ perms: ['r--'], sections: ['.rodata'] });
  });

  it('the human report: totals, most duplicated pages, per-file table sorted by savings', async () => {
    const doc = JSON.parse((await run('--json', SAMPLES)).stdout);
    const t = doc.totals;
    const r = await run(SAMPLES);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const n = (v: number) => v.toLocaleString('en-US');
    expect(lines[0]).toBe(`${n(t.files)} files, ${(t.bytes / 2 ** 20).toFixed(1)} MiB, ${n(t.pages)} pages of 4 KiB`);
    expect(r.stdout).toMatch(
      new RegExp(`zero pages\\s+${n(t.zeroPages)}\\s+${((t.zeroPages / t.pages) * 100).toFixed(1)}%`),
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `dedup would save\\s+${(doc.savings.bytes / 2 ** 20).toFixed(1)} MiB\\s+${doc.savings.percent.toFixed(1)}%`,
      ),
    );
    // The .rodata table stored four times in tables and tables2: 8 copies in 2 files, read-only.
    expect(r.stdout).toMatch(/\n {7}8 {6}2 {2}\S*samples\/bin\/tables +0x3 {2}r-- +\.rodata\n/);
    const header = lines.indexOf('Files, by what dedup would save');
    const table = lines.slice(header + 2, header + 2 + doc.files.length);
    const bySavings = [...doc.files]
      .sort(
        (a: { savedBytes: number; path: string }, b: { savedBytes: number; path: string }) =>
          b.savedBytes - a.savedBytes || (a.path < b.path ? -1 : 1),
      )
      .map((f: { path: string }) => f.path);
    expect(table.map((l) => l.trim().split(/\s+/).pop())).toEqual(bySavings);
    // Aligned: the file column starts at the same place on every row.
    expect(new Set(table.map((l) => l.indexOf(SAMPLES))).size).toBe(1);
  });
});
