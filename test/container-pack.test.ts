/**
 * pack's output discipline (temporary file, rename, nothing left behind on
 * failure), unpack's refusal to overwrite or write through symlinks, and
 * the commands as the CLI runs them (one-line errors, exit status, JSON).
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { pack, unpack, verify } from '../src/container/index.js';
import { SAMPLES, removeTree, snapshot, tempDir } from './container-helpers.js';

let work: string;
beforeAll(() => {
  work = tempDir('pack');
});
afterAll(() => removeTree(work));

/** Leftover temporary files of pack (.NAME.PID-RANDOM.tmp) or unpack (*.pagestack-tmp) below `dir`. */
function leftovers(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((n) => /\.tmp$|pagestack-tmp/.test(n));
}

describe('pack writes through a temporary file', () => {
  const existing = 'an existing container that must survive\n';
  const setup = (name: string): string => {
    const d = path.join(work, name);
    fs.mkdirSync(d);
    const out = path.join(d, 'out.pgs');
    fs.writeFileSync(out, existing);
    return out;
  };

  it('leaves an existing OUT untouched when --max-size is exceeded', async () => {
    const out = setup('max-size');
    await expect(pack([SAMPLES], out, { maxSize: 50_000 })).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    expect(fs.readFileSync(out, 'utf8')).toBe(existing);
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it('leaves an existing OUT untouched when an input is missing or cannot be packed', async () => {
    const out = setup('missing');
    await expect(pack([path.join(work, 'no-such-dir')], out)).rejects.toMatchObject({ code: 'E_NOENT' });
    const fifoDir = path.join(work, 'fifo-src');
    fs.mkdirSync(fifoDir);
    execFileSync('mkfifo', [path.join(fifoDir, 'pipe')]);
    await expect(pack([fifoDir], out)).rejects.toMatchObject({ code: 'E_NOT_REGULAR' });
    expect(fs.readFileSync(out, 'utf8')).toBe(existing);
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it('leaves an existing OUT untouched when interrupted, and removes its temporary file', async () => {
    const out = setup('interrupted');
    const controller = new AbortController();
    let calls = 0;
    const run = pack([SAMPLES], out, {
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
    expect(fs.readFileSync(out, 'utf8')).toBe(existing);
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it('replaces OUT only when complete', async () => {
    const out = setup('success');
    const summary = await pack([SAMPLES], out);
    expect(fs.statSync(out).size).toBe(summary.containerBytes);
    expect((await verify(out)).ok).toBe(true);
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it('refuses page sizes other than 4K, 16K, 64K', async () => {
    await expect(pack([SAMPLES], path.join(work, 'x.pgs'), { pageSize: 8192 })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
  });
});

describe('unpack over existing files', () => {
  let container: string;
  let outside: string;
  beforeAll(async () => {
    const src = path.join(work, 'u-src', 'top');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'file'), 'from the container\n');
    fs.writeFileSync(path.join(src, 'sub', 'inner'), 'inner file\n');
    container = path.join(work, 'u.pgs');
    await pack([src], container);
    outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'file'), 'outside, must not change\n');
  });

  it('refuses to overwrite an existing file, and replaces it with --force', async () => {
    const target = path.join(work, 'u1');
    fs.mkdirSync(path.join(target, 'top'), { recursive: true });
    fs.writeFileSync(path.join(target, 'top', 'file'), 'already here\n');
    await expect(unpack(container, target)).rejects.toMatchObject({ code: 'E_EXIST' });
    expect(fs.readFileSync(path.join(target, 'top', 'file'), 'utf8')).toBe('already here\n');
    expect(fs.existsSync(path.join(target, 'top', 'sub'))).toBe(false); // refused before writing anything
    await unpack(container, target, { force: true });
    expect(fs.readFileSync(path.join(target, 'top', 'file'), 'utf8')).toBe('from the container\n');
    expect(leftovers(target)).toEqual([]);
  });

  it('never writes through a symlink at a file path (replaces the link with --force)', async () => {
    const target = path.join(work, 'u2');
    fs.mkdirSync(path.join(target, 'top'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'file'), path.join(target, 'top', 'file'));
    await expect(unpack(container, target)).rejects.toMatchObject({ code: 'E_EXIST' });
    await unpack(container, target, { force: true });
    expect(fs.lstatSync(path.join(target, 'top', 'file')).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'file'), 'utf8')).toBe('outside, must not change\n');
  });

  it('never writes through a symlink at a directory path', async () => {
    const target = path.join(work, 'u3');
    fs.mkdirSync(path.join(target, 'top'), { recursive: true });
    fs.symlinkSync(outside, path.join(target, 'top', 'sub'));
    await expect(unpack(container, target)).rejects.toMatchObject({ code: 'E_EXIST' });
    expect(fs.readdirSync(outside)).toEqual(['file']);
    await unpack(container, target, { force: true });
    expect(fs.lstatSync(path.join(target, 'top', 'sub')).isDirectory()).toBe(true);
    expect(fs.readdirSync(outside)).toEqual(['file']);
    expect(fs.readFileSync(path.join(target, 'top', 'sub', 'inner'), 'utf8')).toBe('inner file\n');
  });

  it('merges into existing real directories', async () => {
    const target = path.join(work, 'u4');
    fs.mkdirSync(path.join(target, 'top', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(target, 'top', 'sub', 'mine'), 'kept\n');
    await unpack(container, target);
    expect(fs.readFileSync(path.join(target, 'top', 'sub', 'mine'), 'utf8')).toBe('kept\n');
    expect(fs.readFileSync(path.join(target, 'top', 'sub', 'inner'), 'utf8')).toBe('inner file\n');
  });
});

describe('the CLI commands', () => {
  let stdout: string;
  let stderr: string;
  let stdoutBytes: Buffer[];
  async function run(...args: string[]): Promise<number> {
    stdout = '';
    stderr = '';
    stdoutBytes = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdoutBytes.push(Buffer.from(chunk));
      stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      process.exitCode = undefined;
      return await main(['node', 'pagestack', ...args]);
    } finally {
      process.exitCode = undefined;
      out.mockRestore();
      err.mockRestore();
    }
  }
  afterEach(() => vi.restoreAllMocks());

  it('pack, ls, verify, cat and unpack, as text and JSON', async () => {
    const out = path.join(work, 'cli.pgs');
    expect(await run('pack', SAMPLES, '-o', out)).toBe(0);
    expect(stdout).toMatch(/^packed \d+ entries/);
    expect(stdout).toMatch(/zero\s+\d+/);
    expect(await run('pack', SAMPLES, '-o', out, '--json')).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.containerBytes).toBe(fs.statSync(out).size);
    expect(await run('pack', SAMPLES, '-o', out, '--quiet')).toBe(0);
    expect(stdout).toBe('');
    expect(await run('ls', out)).toBe(0);
    expect(stdout).toMatch(/bin\/hello\n/);
    expect(await run('ls', out, '--json')).toBe(0);
    expect(JSON.parse(stdout).totals.storedPages).toBe(summary.storedPages);
    expect(await run('verify', out)).toBe(0);
    expect(stdout).toMatch(/: ok/);
    expect(await run('cat', out, 'bin/hello')).toBe(0);
    expect(Buffer.concat(stdoutBytes)).toEqual(fs.readFileSync(path.join(SAMPLES, 'hello')));
    expect(await run('unpack', out, '-C', path.join(work, 'cli-out'))).toBe(0);
    expect(Object.fromEntries(snapshot(path.join(work, 'cli-out')))).toEqual(
      Object.fromEntries(snapshot(path.dirname(SAMPLES), ['bin'])),
    );
  });

  it('fails with one line and exit 1 on damage, exit 2 on usage errors', async () => {
    const out = path.join(work, 'cli2.pgs');
    expect(await run('pack', SAMPLES, '-o', out, '-q')).toBe(0);
    const bytes = fs.readFileSync(out);
    bytes[bytes.length - 3]! ^= 0xff;
    fs.writeFileSync(out, bytes);
    expect(await run('verify', out)).toBe(1);
    expect(stderr).toMatch(/^pagestack: verify: .*cli2\.pgs: string table at offset 0x[0-9a-f]+: checksum mismatch/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(await run('unpack', out, '-C', path.join(work, 'cli2-out'))).toBe(1);
    expect(stderr).toMatch(/^pagestack: unpack: .*string table at offset 0x[0-9a-f]+: checksum mismatch.*\n$/);
    expect(await run('cat', out, 'bin/nothing')).toBe(1);
    expect(await run('pack', SAMPLES, '-o', out, '--max-size', '10K')).toBe(1);
    expect(stderr).toMatch(/^pagestack: pack: .*--max-size 10240 bytes\n$/);
    expect(await run('pack', SAMPLES)).toBe(2);
    expect(await run('pack', SAMPLES, '-o', out, '--page-size', '8K')).toBe(2);
    expect(await run('pack', SAMPLES, '-o', out, '--codec', 'brotli')).toBe(2);
    expect(await run('pack', SAMPLES, '-o', out, '--codec', 'zstd', '--level', '99')).toBe(2);
    expect(stderr).toMatch(/^pagestack: pack: zstd level must be an integer from 1 to 19, not 99\n$/);
    expect(await run('pack', SAMPLES, '-o', out, '--max-size', 'big')).toBe(2);
    expect(await run('verify', path.join(work, 'absent.pgs'))).toBe(1);
    expect(stderr).toMatch(/^pagestack: verify: .*absent\.pgs: no such file or directory\n$/);
  });
});
