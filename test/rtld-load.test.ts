/**
 * `load` through ld.so, and `pagestack ldd` on the command line: the
 * libraries a load maps are the ones ldd lists (from plain files, and from
 * a container used as the root file system), the pages ld.so dirties are
 * counted, --no-libs is the execve-only model, and a missing library is
 * ld.so's one-line error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from './sim-helpers.js';
import { pack } from '../src/container/index.js';
import { loadPrograms } from '../src/sim/load.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const PYTHON = '/usr/bin/python3';
const reason = has('ldd') && fs.existsSync(PYTHON) ? '' : 'no ldd or no /usr/bin/python3 on this machine';
const gccReason = reason || (has('gcc') ? '' : 'no gcc');
if (reason) console.log(`rtld-load: skipped: ${reason}`);
if (gccReason && !reason) console.log(`rtld-load: missing-library case skipped: ${gccReason}`);

/** The files ldd says a program maps (real paths), without the vDSO and ld.so. */
function lddLibraries(file: string): string[] {
  const out = execFileSync('ldd', [file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return [...out.matchAll(/=> (\/\S+) \(0x/g)].map((m) => fs.realpathSync(m[1]!));
}

describe.skipIf(reason !== '')('load through ld.so', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-load-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('maps the libraries ldd lists; ld.so dirties pages; --no-libs maps none', async () => {
    const r = await loadPrograms([PYTHON], { procs: 2 });
    const want = lddLibraries(PYTHON);
    expect(want.length).toBeGreaterThanOrEqual(3);
    expect(r.libs).toBe(true);
    expect(r.programs[0]!.libraries).toEqual(want);
    expect(r.sharing!.rtldDirtiedPages).toBeGreaterThan(0);
    // Two processes of one program: every clean file page is mapped twice.
    expect(r.sharing!.ordinarySharedPages).toBeGreaterThan(0);
    expect(r.notes.join(' ')).toMatch(/constructors/);
    const bare = await loadPrograms([PYTHON], { procs: 2, libs: false });
    expect(bare.libs).toBe(false);
    expect(bare.programs[0]!.libraries).toBeUndefined();
    expect(bare.sharing).toBeUndefined();
    expect(r.system.file.pageCacheFrames).toBeGreaterThan(bare.system.file.pageCacheFrames);
  }, 60_000);

  it('a container as the root file system: libraries come from the image', async () => {
    const tree = path.join(dir, 'tree');
    const libdir = path.join(tree, 'usr/lib/x86_64-linux-gnu');
    fs.mkdirSync(libdir, { recursive: true });
    fs.mkdirSync(path.join(tree, 'usr/bin'), { recursive: true });
    fs.mkdirSync(path.join(tree, 'usr/lib64'), { recursive: true });
    fs.copyFileSync(fs.realpathSync(PYTHON), path.join(tree, 'usr/bin/python3'));
    // Each library under the name ldd found it by (its SONAME link on the host), as a file.
    const names = [...execFileSync('ldd', [PYTHON], { encoding: 'utf8' }).matchAll(/=> (\/\S+) \(0x/g)].map(
      (m) => m[1]!,
    );
    for (const l of [...names, '/lib64/ld-linux-x86-64.so.2'])
      fs.copyFileSync(fs.realpathSync(l), path.join(libdir, path.basename(l)));
    fs.symlinkSync('usr/lib', path.join(tree, 'lib'));
    fs.symlinkSync('usr/lib64', path.join(tree, 'lib64'));
    fs.symlinkSync('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', path.join(tree, 'usr/lib64/ld-linux-x86-64.so.2'));
    const image = path.join(dir, 'py.pgs');
    await pack(
      ['usr', 'lib', 'lib64'].map((p) => path.join(tree, p)),
      image,
      { threads: 0 },
    );
    const r = await loadPrograms([`${image}:usr/bin/python3`]);
    // Member paths (relative to the image's root), one per library ldd found on the host.
    expect(r.programs[0]!.libraries).toEqual(names.map((l) => `usr/lib/x86_64-linux-gnu/${path.basename(l)}`));
    expect(r.programs[0]!.interpreter).toBe('usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  }, 60_000);

  it.skipIf(gccReason !== '')(
    "a missing library: ld.so's error in one line, exit 1",
    async () => {
      fs.writeFileSync(path.join(dir, 'f.c'), 'int f(void) { return 0; }\n');
      fs.writeFileSync(path.join(dir, 'm.c'), 'int f(void);\nint main(void) { return f(); }\n');
      execFileSync('gcc', [
        '-shared',
        '-fPIC',
        '-o',
        path.join(dir, 'libgone.so.1'),
        '-Wl,-soname,libgone.so.1',
        path.join(dir, 'f.c'),
      ]);
      execFileSync('gcc', [
        '-o',
        path.join(dir, 'needs-gone'),
        path.join(dir, 'm.c'),
        '-Wl,--no-as-needed',
        `-L${dir}`,
        '-l:libgone.so.1',
      ]);
      const prog = path.join(dir, 'needs-gone');
      const real = spawnSync(prog, [], { encoding: 'utf8', env: {} });
      expect(real.stderr).toMatch(/cannot open shared object file/);
      const r = await run('load', prog);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`pagestack: load: ${real.stderr}`);
      const bare = await run('load', '--no-libs', prog);
      expect(bare.status).toBe(0);
      const ldd = await run('ldd', prog);
      expect(ldd.status).toBe(0);
      expect(ldd.stdout).toContain('\tlibgone.so.1 => not found\n');
    },
    60_000,
  );
});

describe.skipIf(reason !== '')('pagestack ldd', () => {
  it("prints ldd's lines without addresses, and JSON", async () => {
    const r = await run('ldd', PYTHON);
    expect(r.status).toBe(0);
    const real = execFileSync('ldd', [PYTHON], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(r.stdout).toBe(real.replace(/ \(0x[0-9a-f]+\)$/gm, ''));
    const j = JSON.parse((await run('ldd', '--json', PYTHON)).stdout) as {
      libraries: Array<{ name: string; path: string | null; found: boolean }>;
    };
    expect(j.libraries.filter((l) => l.found).length).toBe(real.trim().split('\n').length);
  });

  it('a static program, a missing file, a non-ELF file: one line each', async () => {
    const statik = path.resolve(__dirname, '../samples/bin/static');
    expect(await run('ldd', statik)).toMatchObject({
      status: 1,
      stderr: `pagestack: ldd: ${statik}: not a dynamic executable\n`,
    });
    expect(await run('ldd', 'no/such/file')).toMatchObject({
      status: 1,
      stderr: 'pagestack: ldd: no/such/file: no such file or directory\n',
    });
    const src = path.resolve(__dirname, '../samples/src/hello.c');
    const r = await run('ldd', src);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
