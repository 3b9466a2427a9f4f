/** `pagestack maps --at entry`: the process after ld.so, its smaps, and ld.so's one-line errors. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from './sim-helpers.js';

const HELLO = path.resolve(__dirname, '../samples/bin/hello');
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LDSO = '/lib64/ld-linux-x86-64.so.2';
const missing = fs.existsSync(LIBC) && fs.existsSync(LDSO) ? undefined : `${LIBC} or ${LDSO} is not on this machine`;
if (missing) console.warn(`rtld-cli: skipped: ${missing}`);

describe.skipIf(missing !== undefined)('pagestack maps --at entry', () => {
  it('shows libc, the static TLS block and the RELRO split; says constructors are not simulated', async () => {
    const r = await run('maps', '--at', 'entry', HELLO);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/constructors .* not simulated/);
    const lines = r.stdout.trimEnd().split('\n');
    const libc = lines.filter((l) => l.endsWith('/libc.so.6'));
    expect(libc.map((l) => l.split(' ')[1])).toEqual(['r--p', 'r-xp', 'r--p', 'r--p', 'rw-p']);
    // The program's data segment split by PT_GNU_RELRO: a read-only page, then the writable rest.
    const hello = lines.filter((l) => l.endsWith('samples/bin/hello')).map((l) => l.split(' ')[1]);
    expect(hello).toEqual(['r--p', 'r-xp', 'r--p', 'r--p', 'rw-p']);
    // Anonymous memory right below libc's first mapping: ld.so's static TLS block and thread descriptor.
    const first = lines.indexOf(libc[0]!);
    expect(lines[first - 1]).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0 $/);
    // ld.so's first minimal-malloc mapping sits right below [vvar].
    const vvar = lines.findIndex((l) => l.endsWith('[vvar]'));
    expect(lines[vvar - 1]).toMatch(/ rw-p 00000000 00:00 0 $/);
    expect(lines[vvar - 1]!.split(' ')[0]!.split('-')[1]).toBe(lines[vvar]!.split('-')[0]);
  });

  it('--at exec is the default and unchanged', async () => {
    const a = await run('maps', HELLO);
    const b = await run('maps', '--at', 'exec', HELLO);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).not.toMatch(/libc\.so\.6/);
  });

  it('--smaps: the RELRO pages relocation wrote are private dirty, read-only', async () => {
    const r = await run('maps', '--at', 'entry', '--smaps', '--bind-now', HELLO);
    expect(r.status).toBe(0);
    const blocks = r.stdout.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
    const relro = blocks.filter((b) => /^\S+ r--p .*libc\.so\.6\n/.test(b));
    const dirty = relro.map((b) => Number(/Private_Dirty:\s+(\d+) kB/.exec(b)![1]));
    // libc's RELRO (4 pages here) is entirely written by relocation; its other read-only mappings are clean.
    expect(dirty[0]).toBe(0);
    expect(dirty[dirty.length - 1]).toBeGreaterThan(0);
    expect(blocks.at(-1)).toMatch(/\[vsyscall\]/);
  });

  it('rejects an unknown --at with a usage error', async () => {
    const r = await run('maps', '--at', 'later', HELLO);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it("a library missing under --root is ld.so's one-line error, exit 1", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-cli-'));
    try {
      fs.mkdirSync(path.join(root, 'lib64'));
      fs.mkdirSync(path.join(root, 'bin'));
      fs.copyFileSync(LDSO, path.join(root, 'lib64/ld-linux-x86-64.so.2'));
      fs.copyFileSync(HELLO, path.join(root, 'bin/hello'));
      const r = await run('maps', '--at', 'entry', '--root', root, path.join(root, 'bin/hello'));
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/libc\.so\.6: cannot open shared object file/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
