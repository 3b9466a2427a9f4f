/**
 * The library search against the real ld.so: `pagestack ldd` must print
 * what glibc's ldd prints (address column aside) for this machine's
 * programs, and for programs built here with RPATH, RUNPATH, $ORIGIN,
 * LD_LIBRARY_PATH, missing libraries and unusable candidates. Skipped, with
 * the reason printed, where ldd or gcc is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTable } from '../src/loader/file-backing.js';
import { HostRootFiles } from '../src/loader/rtld/files.js';
import { formatLdd, LDD_RTLD } from '../src/loader/rtld/ldd.js';
import { resolveLibraries } from '../src/loader/rtld/search.js';
import { RtldError } from '../src/loader/rtld/types.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const lddReason =
  has('ldd') && fs.existsSync(LDD_RTLD) ? '' : 'no ldd or no /lib64/ld-linux-x86-64.so.2 on this machine';
const gccReason = lddReason || (has('gcc') ? '' : 'no gcc on this machine');
if (lddReason) console.log(`rtld-ldd: real-program comparison skipped: ${lddReason}`);
if (gccReason) console.log(`rtld-ldd: synthetic builds skipped: ${gccReason}`);

/** Real ldd, the address column removed; a clean environment unless `env` adds to it. */
function realLdd(file: string, env: Record<string, string> = {}): string {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  return (r.stdout + r.stderr).replace(/ \(0x[0-9a-f]+\)$/gm, '');
}

/** One file table for every real program: libc and friends are read once. */
let hostFiles: HostRootFiles | undefined;

async function ours(file: string, libraryPath?: string, root?: string): Promise<string> {
  if (!hostFiles && root === undefined) {
    const table = await FileTable.create();
    hostFiles = new HostRootFiles('/', (host) => table.open(host));
  }
  const r = await resolveLibraries(file, {
    ...(root === undefined ? { files: hostFiles! } : {}),
    trace: true,
    programOrigin: 'path',
    rtld: LDD_RTLD,
    ...(libraryPath === undefined ? {} : { libraryPath }),
    ...(root === undefined ? {} : { root }),
  });
  return formatLdd(r);
}

/** Shells, interpreters, compilers, coreutils and tools of a Debian system, plus gcc's own programs. */
const CANDIDATES = [
  '/usr/bin/python3',
  '/usr/bin/bash',
  '/usr/bin/gcc',
  '/usr/bin/perl',
  '/usr/bin/ls',
  '/usr/bin/cat',
  '/usr/bin/grep',
  '/usr/bin/sed',
  '/usr/bin/tar',
  '/usr/bin/gzip',
  '/usr/bin/find',
  '/usr/bin/git',
  '/usr/bin/curl',
  '/usr/bin/make',
  '/usr/bin/gdb',
  '/usr/bin/readelf',
  '/usr/bin/objdump',
  '/usr/bin/ld.bfd',
  '/usr/bin/as',
  '/usr/bin/ssh',
  '/usr/bin/less',
  '/usr/bin/sort',
  '/usr/bin/diff',
  '/usr/bin/file',
  '/usr/bin/xz',
  '/usr/bin/zstd',
  '/usr/bin/openssl',
  '/usr/bin/ps',
  '/usr/bin/dash',
  '/usr/bin/mawk',
  '/usr/bin/g++',
  '/usr/bin/cpp',
  '/usr/bin/node',
  '/usr/bin/vim.basic',
  '/usr/bin/setarch',
  '/usr/bin/strace',
  '/usr/bin/zip',
  '/usr/bin/ldd',
  '/usr/bin/sqlite3',
  '/usr/bin/lz4',
  '/usr/bin/systemctl',
  '/usr/bin/man',
  '/usr/bin/factor', // DT_RUNPATH / DT_RPATH to private library directories
  '/usr/lib/gcc/x86_64-linux-gnu/12/cc1',
  '/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus',
  '/usr/lib/gcc/x86_64-linux-gnu/12/lto1',
  '/usr/lib/x86_64-linux-gnu/libstdc++.so.6',
  '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0',
  '/usr/lib/x86_64-linux-gnu/libssl.so.3',
  '/usr/lib/x86_64-linux-gnu/libgnutls.so.30',
  '/usr/lib/x86_64-linux-gnu/libcurl.so.4',
];

/** Candidates that are dynamically linked ELF files here (ldd lists libraries for them). */
function realPrograms(): string[] {
  if (lddReason) return [];
  return CANDIDATES.filter((f) => {
    try {
      const fd = fs.openSync(f, 'r');
      const head = Buffer.alloc(4);
      fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      return head.toString('latin1') === '\x7fELF' && / => /.test(realLdd(f));
    } catch {
      return false;
    }
  });
}

describe('pagestack ldd equals ldd on this machine', () => {
  const programs = realPrograms();
  it.skipIf(lddReason !== '')(
    'on 30 or more real programs and libraries',
    async () => {
      console.log(`rtld-ldd: comparing ${programs.length} real programs and libraries with ldd`);
      expect(programs.length).toBeGreaterThanOrEqual(30);
      const differences: string[] = [];
      for (const f of programs) {
        const want = realLdd(f);
        const got = await ours(f);
        if (got !== want) differences.push(`${f}\n--- ldd\n${want}--- pagestack\n${got}`);
      }
      expect(differences.join('\n')).toBe('');
    },
    120_000,
  );
});

describe.skipIf(gccReason !== '')('programs built here', () => {
  let dir = '';
  const build = (args: string[]) => execFileSync('gcc', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const shared = (out: string, src: string, extra: string[] = []) =>
    build(['-shared', '-fPIC', '-o', out, `-Wl,-soname,${path.basename(out)}`, src, ...extra]);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-'));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(path.join(dir, 'other'));
    write('b.c', 'int b(void) { return 2; }\n');
    write('a.c', 'int b(void);\nint a(void) { return b() + 1; }\n');
    write('main.c', 'int a(void);\nint main(void) { return a() == 3 ? 0 : 1; }\n');
    shared('lib/libb.so.1', 'b.c');
    shared('lib/liba.so.1', 'a.c', ['-Llib', '-l:libb.so.1']);
    const app = (out: string, extra: string[]) =>
      build(['-o', out, 'main.c', '-Wl,--no-as-needed', '-Llib', '-l:liba.so.1', '-Wl,-rpath-link,lib', ...extra]);
    app('bin/runpath', ['-Wl,-rpath,$ORIGIN/../lib', '-Wl,--enable-new-dtags']);
    app('bin/rpath', ['-Wl,-rpath,$ORIGIN/../lib', '-Wl,--disable-new-dtags']);
    app('bin/bare', []);
    app('bin/tokens', ['-Wl,-rpath,/nonexistent/$LIB:/x/${PLATFORM}:$ORIGIN/../lib', '-Wl,--disable-new-dtags']);
    // A library needed by absolute path (no SONAME, linked by its full name).
    build(['-shared', '-fPIC', '-o', path.join(dir, 'other/libabs.so'), 'b.c']);
    build([
      '-o',
      'bin/abspath',
      'main.c',
      '-Wl,--no-as-needed',
      path.join(dir, 'other/libabs.so'),
      '-Llib',
      '-l:liba.so.1',
      '-Wl,-rpath-link,lib',
      '-Wl,-rpath,$ORIGIN/../lib',
    ]);
    // The same file under two names: libb.so (a link) and libb.so.1, both needed.
    fs.symlinkSync('libb.so.1', path.join(dir, 'lib/libb.so'));
    build([
      '-o',
      'bin/twonames',
      'main.c',
      '-Wl,--no-as-needed',
      '-Llib',
      '-l:liba.so.1',
      '-l:libb.so',
      '-l:libb.so.1',
      '-Wl,-rpath-link,lib',
      '-Wl,-rpath,$ORIGIN/../lib',
    ]);
    // Unusable candidates ld.so skips: an ELFCLASS32 and an AArch64 copy of libb.so.1, in directories searched first.
    for (const [sub, offset, byte] of [
      ['class32', 4, 1],
      ['aarch64', 18, 183],
    ] as const) {
      fs.mkdirSync(path.join(dir, sub));
      for (const lib of ['liba.so.1', 'libb.so.1']) {
        const bytes = fs.readFileSync(path.join(dir, 'lib', lib));
        bytes[offset] = byte;
        fs.writeFileSync(path.join(dir, sub, lib), bytes);
      }
    }
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['RUNPATH with $ORIGIN applies to the program only: libb, needed by liba, is not found', 'bin/runpath'],
    ['RPATH with $ORIGIN applies down the loader chain: libb is found too', 'bin/rpath'],
    ['no search path: both are not found', 'bin/bare'],
    ['$LIB and ${PLATFORM} expanded in RPATH', 'bin/tokens'],
    ['a DT_NEEDED with a slash is a path', 'bin/abspath'],
    ['one file under two names is loaded once', 'bin/twonames'],
  ])('%s', async (_what, file) => {
    const f = path.join(dir, file);
    const want = realLdd(f);
    expect(want).toMatch(/libc\.so\.6 => /);
    expect(await ours(f)).toBe(want);
  });

  it('LD_LIBRARY_PATH comes after RPATH and before RUNPATH; ELFCLASS32 and other-machine candidates are skipped', async () => {
    for (const [file, list] of [
      ['bin/bare', `${dir}/class32:${dir}/aarch64;${dir}/lib`],
      ['bin/runpath', `${dir}/aarch64:${dir}/lib`],
      ['bin/bare', `${dir}/class32`],
    ] as const) {
      const f = path.join(dir, file);
      const want = realLdd(f, { LD_LIBRARY_PATH: list });
      expect(await ours(f, list)).toBe(want);
    }
  });

  it('a missing library is the error ld.so gives, with a stable code', async () => {
    const f = path.join(dir, 'bin/bare');
    const real = spawnSync(f, [], { encoding: 'utf8', env: {} });
    expect(real.status).toBe(127);
    const err = await resolveLibraries(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtldError);
    expect((err as RtldError).code).toBe('E_RTLD_NOT_FOUND');
    expect(`${(err as RtldError).message}\n`).toBe(real.stderr);
  });

  it('only ELFCLASS32 candidates: "wrong ELF class", as ld.so says', async () => {
    const f = path.join(dir, 'bin/bare');
    const real = spawnSync(f, [], { encoding: 'utf8', env: { LD_LIBRARY_PATH: `${dir}/class32` } });
    expect(real.stderr).toMatch(/wrong ELF class/);
    const err = await resolveLibraries(f, { libraryPath: `${dir}/class32` }).catch((e: unknown) => e);
    expect((err as RtldError).code).toBe('E_RTLD_WRONG_CLASS');
    expect(`${(err as RtldError).message}\n`).toBe(real.stderr);
  });

  it('the program running for real agrees: it starts with the libraries found', () => {
    const r = spawnSync(path.join(dir, 'bin/rpath'), [], { env: {} });
    expect(r.status).toBe(0);
  });
});
