/**
 * Words users read: singular and plural, messages that say what to do,
 * no ETA before there is a rate, no raw binary echoed to the terminal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Progress } from '../src/cli/progress.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
let dir: string;
let one: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-wording-'));
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in', 'a.txt'), 'one page\n');
  one = path.join(dir, 'one.pgs');
  const r = await runCli('pack', path.join(dir, 'in', 'a.txt'), '-o', one, '-q');
  expect(r.status).toBe(0);
  fs.mkdirSync(path.join(dir, 'many'));
  for (let i = 0; i < 25; i++) fs.writeFileSync(path.join(dir, 'many', `t${i}.txt`), 'text\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('singular and plural', () => {
  it('verify and ls of a one-file container: 1 entry, 1 page', async () => {
    expect((await runCli('verify', one)).stdout).toMatch(/: ok \(1 entry, 1 stored page, \d+ bytes checked\)\n$/);
    expect((await runCli('ls', one)).stdout).toContain('\n1 entry, 9 bytes in 1 page of 4096 bytes\n');
  });

  it('pack of one file and one directory', async () => {
    const r = await runCli('pack', path.join(dir, 'in'), '-o', path.join(dir, 'dir.pgs'));
    expect(r.stdout).toMatch(/^packed 2 entries \(1 file, 1 directory, 0 symlinks, 0 hard links\)/);
  });

  it('scan: "... and 25 more", not "25 mores"', async () => {
    const r = await runCli('scan', path.join(dir, 'many'));
    expect(r.stdout).toContain('  ... and 25 more (--json lists them all)\n');
    expect(r.stdout).not.toMatch(/mores/);
  });

  it('report of one file: "1 file"', async () => {
    const r = await runCli('report', path.join(SAMPLES, 'hello'), '-o', path.join(dir, 'r.html'));
    expect(r.stdout).toMatch(/: 1 file, 4 pages;/);
  });
});

describe('messages', () => {
  it('pack without -o says what to give', async () => {
    expect(await runCli('pack', SAMPLES)).toEqual({
      status: 2,
      stdout: '',
      stderr: 'pagestack: pack: no output file: give -o OUT\n',
    });
  });

  it("--files names 'all' among the accepted values", async () => {
    const r = await runCli('scan', '--files', 'some', SAMPLES);
    expect(r.stderr).toBe("pagestack: scan: --files must be a whole number or 'all', not 'some'\n");
    expect((await runCli('scan', '--files', 'all', '-q', SAMPLES)).status).toBe(0);
  });

  it('an ELF file given as a scenario: named as binary, never echoed', async () => {
    const hello = path.join(SAMPLES, 'hello');
    const r = await runCli('run', hello);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: run: ${hello}: not valid JSON: binary data (an ELF file), not text\n`);
  });

  it('text that is not JSON is quoted, with control characters escaped', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"a":\ttrue,\n "b": nope}');
    const r = await runCli('run', bad);
    expect(r.stderr).toMatch(/^pagestack: run: .*bad\.json: not valid JSON: Unexpected token .*nope.*\n$/);
    expect(r.stderr.slice(0, -1)).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('progress: no ETA until the rate is known', () => {
  it('the first frame after a slow start shows no ETA; a later one does', () => {
    let t = 0;
    const writes: string[] = [];
    const stream = {
      isTTY: true,
      columns: 100,
      write: (s: string) => (writes.push(s), true),
    } as unknown as NodeJS.WriteStream;
    const p = new Progress({ label: 'scan', stream, now: () => t });
    t = 1000; // a second of walking directories, then the first bytes
    p.update(4096, 1e9);
    expect(writes).toHaveLength(1);
    expect(writes[0]).not.toMatch(/ETA|MB\/s/);
    t = 1200;
    p.update(20e6, 1e9);
    expect(writes[1]).not.toMatch(/ETA/);
    t = 2000;
    p.update(100e6, 1e9);
    // 100 MB - 4 KB in 1 s since progress began: just under 100 MB/s, 9.0004 s to go, shown rounded up.
    expect(writes[2]).toMatch(/ {2}100\.0 MB\/s {2}ETA 0:10\x1b\[K$/);
  });
});
