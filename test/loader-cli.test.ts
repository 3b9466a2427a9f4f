/** `pagestack maps`: output, JSON, and one-line errors with the right exit status. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from './sim-helpers.js';

const SAMPLES = path.resolve(__dirname, '../samples');

describe('pagestack maps', () => {
  it('prints /proc/PID/maps of a static program', async () => {
    const r = await run('maps', path.join(SAMPLES, 'bin/static'));
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^00400000-00401000 r--p 00000000 \S+ \d+ +\/.*samples\/bin\/static$/);
    expect(lines).toContain('004a7000-004ac000 rw-p 00000000 00:00 0 ');
    expect(lines.at(-1)).toMatch(/\[vsyscall\]$/);
  });

  it('--no-special leaves out the vDSO and vsyscall lines', async () => {
    const r = await run('maps', '--no-special', path.join(SAMPLES, 'bin/static'));
    expect(r.stdout).not.toMatch(/\[v(dso|var|syscall)/);
    expect(r.stdout).toMatch(/\[stack\]/);
  });

  it('--json gives the columns as data', async () => {
    const r = await run('maps', '--json', path.join(SAMPLES, 'bin/static'));
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as {
      entry: string;
      startBrk: string;
      mappings: Array<{ start: string; perms: string; pathname: string }>;
    };
    expect(j.entry).toBe('0x401560');
    expect(j.startBrk).toBe('0x4ac000');
    expect(j.mappings[0]).toMatchObject({ start: '0x400000', perms: 'r--p' });
    expect(j.mappings.map((m) => m.pathname)).toContain('[stack]');
  });

  it.each([
    ['a missing file', ['maps', 'no/such/file'], 1, /^pagestack: maps: no\/such\/file: no such file or directory\n$/],
    [
      'a source file',
      ['maps', path.join(SAMPLES, 'src/hello.c')],
      1,
      /^pagestack: maps: .*hello\.c: not an ELF file \(bad magic at offset 0\)\n$/,
    ],
    ['a directory', ['maps', path.join(SAMPLES, 'bin')], 1, /^pagestack: maps: .*bin: is a directory\n$/],
    [
      'a root without the interpreter',
      ['maps', '--root', path.join(SAMPLES, 'src'), path.join(SAMPLES, 'bin/hello')],
      1,
      /^pagestack: maps: .*hello: interpreter \/lib64\/ld-linux-x86-64\.so\.2: no such file or directory under .*\n$/,
    ],
    ['no file', ['maps'], 2, /missing required argument/],
  ])('%s: one line, exit %i', async (_name, args, status, message) => {
    const r = await run(...args);
    expect(r.status).toBe(status);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
