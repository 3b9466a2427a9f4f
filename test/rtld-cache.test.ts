/**
 * /etc/ld.so.cache: the parser against `ldconfig -p` (this machine's cache
 * and one ldconfig writes for a root built here, with glibc-hwcaps
 * entries), the lookup against the real ld.so run in that root
 * (chroot ROOT ld.so FILE with LD_TRACE_LOADED_OBJECTS=1, as ldd runs it), and damaged caches that must never throw.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheLibcmp, lookupCache, parseLdSoCache, type LdSoCache } from '../src/loader/rtld/ld-so-cache.js';
import { formatLdd, LDD_RTLD } from '../src/loader/rtld/ldd.js';
import { resolveLibraries } from '../src/loader/rtld/search.js';
import { DEBIAN_X86_64 } from '../src/loader/rtld/search-path.js';

/** ld.so run as ldd runs it, inside the chroot. */
const TRACE = ['/usr/bin/env', '-i', 'LD_TRACE_LOADED_OBJECTS=1'];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ldconfigReason = has('ldconfig') ? '' : 'no ldconfig on this machine';
const hostCacheReason = ldconfigReason || (fs.existsSync('/etc/ld.so.cache') ? '' : 'no /etc/ld.so.cache');
const rootReason =
  ldconfigReason ||
  (has('gcc') ? '' : 'no gcc') ||
  (process.getuid?.() === 0 && has('chroot') ? '' : 'chroot needs root') ||
  (fs.existsSync('/lib/x86_64-linux-gnu/libc.so.6') && fs.existsSync(LDD_RTLD) && fs.existsSync('/usr/bin/env')
    ? ''
    : 'no x86-64 glibc or /usr/bin/env here');
for (const [what, reason] of [
  ['host cache', hostCacheReason],
  ['built root', rootReason],
])
  if (reason) console.log(`rtld-cache: ${what} checks skipped: ${reason}`);

/** `ldconfig -p -C FILE` entries as [key, flags text, path]. */
function ldconfigEntries(file: string): string[] {
  const out = execFileSync('ldconfig', ['-p', '-C', file], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.startsWith('\t'))
    .map((l) => l.trim());
}

function ourEntries(cache: LdSoCache): string[] {
  return cache.entries.map((e) => {
    const named = (e.hwcap >> 32n) & ~0x3ffn;
    const hwcap = named === 1n << 30n ? `, hwcap: "${cache.glibcHwcaps[Number(e.hwcap & 0xffffffffn)]}"` : '';
    const kind = e.flags === 0x303 ? 'libc6,x86-64' : `flags 0x${e.flags.toString(16)}`;
    return `${e.key} (${kind}${hwcap}) => ${e.value}`;
  });
}

const lookup = (cache: LdSoCache, name: string) =>
  lookupCache(cache, name, { glibcHwcaps: DEBIAN_X86_64.glibcHwcaps, isaLevel: 4 });

describe.skipIf(hostCacheReason !== '')("this machine's /etc/ld.so.cache", () => {
  it('parses to the entries ldconfig -p lists, in order', () => {
    // Read once: another process may run ldconfig; compare against a copy.
    const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-cache-')), 'ld.so.cache');
    try {
      fs.copyFileSync('/etc/ld.so.cache', copy);
      const cache = parseLdSoCache(fs.readFileSync(copy));
      expect(cache?.format).toBe('new');
      const want = ldconfigEntries(copy);
      expect(want.length).toBeGreaterThan(50);
      expect(ourEntries(cache!)).toEqual(want);
      // Every key finds an entry of its own name (the first x86-64 one, as ld.so takes it).
      for (const e of cache!.entries) {
        if (e.hwcap !== 0n) continue;
        const first = cache!.entries.find((x) => x.key === e.key && x.flags === 0x303 && x.hwcap === 0n);
        expect(lookup(cache!, e.key)).toBe(first?.value);
      }
      expect(lookup(cache!, 'libno-such-library.so.9')).toBeUndefined();
    } finally {
      fs.rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  });
});

describe('cache damage never throws and never allocates from header counts', () => {
  const sample = buildCache([
    ['libz.so.1', '/lib/libz.so.1'],
    ['libc.so.6', '/lib/libc.so.6'],
    ['liba.so.10', '/lib/liba.so.10'],
    ['liba.so.9', '/lib/liba.so.9'],
  ]);

  it('a cache built by hand parses and looks up with numeric name order', () => {
    const cache = parseLdSoCache(sample)!;
    expect(cache.entries.map((e) => e.key)).toEqual(['libz.so.1', 'libc.so.6', 'liba.so.10', 'liba.so.9']);
    expect(lookup(cache, 'liba.so.9')).toBe('/lib/liba.so.9');
    expect(lookup(cache, 'liba.so.10')).toBe('/lib/liba.so.10');
    expect(lookup(cache, 'libc.so.6')).toBe('/lib/libc.so.6');
    expect(cacheLibcmp('liba.so.10', 'liba.so.9')).toBeGreaterThan(0);
    expect(cacheLibcmp('libc.so.6', 'libc.so.6')).toBe(0);
  });

  it('every truncation: no cache or a readable one, never an exception', () => {
    for (let n = 0; n <= sample.length; n++) {
      const cache = parseLdSoCache(sample.subarray(0, n));
      if (cache) for (const e of cache.entries) expect(typeof e.value).toBe('string');
    }
    // The entry table must fit: cut inside it, the cache is refused, as ld.so refuses it.
    expect(parseLdSoCache(sample.subarray(0, 48 + 24 * 2))).toBeUndefined();
  });

  it('nlibs of 2^32-1, a big-endian flag, string offsets past the end', () => {
    const huge = sample.slice();
    new DataView(huge.buffer).setUint32(20, 0xffffffff, true);
    expect(parseLdSoCache(huge)).toBeUndefined();
    const bigEndian = sample.slice();
    bigEndian[28] = 3;
    expect(parseLdSoCache(bigEndian)).toBeUndefined();
    const bogus = sample.slice();
    new DataView(bogus.buffer).setUint32(48 + 24 * 2 + 4, 0x7fffffff, true); // third key
    const cache = parseLdSoCache(bogus)!;
    expect(cache.entries.length).toBe(2);
    expect(parseLdSoCache(new TextEncoder().encode('not a cache at all, just text'))).toBeUndefined();
  });

  it('the old format with the new one inside: the new part is used', () => {
    const old = new Uint8Array(16 + 12 * 1);
    old.set(new TextEncoder().encode('ld.so-1.7.0'));
    new DataView(old.buffer).setUint32(12, 1, true);
    const both = new Uint8Array(32 + sample.length); // 28 rounded up to 8
    both.set(old);
    both.set(sample, 32);
    const cache = parseLdSoCache(both)!;
    expect(cache.format).toBe('old+new');
    expect(lookup(cache, 'liba.so.9')).toBe('/lib/liba.so.9');
  });
});

describe.skipIf(rootReason !== '')('a root tree with its own cache (ldconfig -r)', () => {
  let dir = '';
  let root = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-root-'));
    root = path.join(dir, 'root');
    const mk = (p: string) => fs.mkdirSync(path.join(root, p), { recursive: true });
    for (const d of [
      'usr/lib/x86_64-linux-gnu',
      'usr/lib64',
      'usr/bin',
      'etc',
      'opt/lib/glibc-hwcaps/x86-64-v3',
      'opt/lib/glibc-hwcaps/x86-64-v2',
      'opt/other',
    ])
      mk(d);
    fs.copyFileSync('/lib/x86_64-linux-gnu/libc.so.6', path.join(root, 'usr/lib/x86_64-linux-gnu/libc.so.6'));
    fs.copyFileSync(LDD_RTLD, path.join(root, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'));
    fs.symlinkSync('usr/lib', path.join(root, 'lib'));
    fs.symlinkSync('usr/lib64', path.join(root, 'lib64'));
    fs.symlinkSync('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', path.join(root, 'usr/lib64/ld-linux-x86-64.so.2'));
    fs.writeFileSync(path.join(dir, 'foo.c'), 'int foo(void) { return 1; }\n');
    fs.writeFileSync(path.join(dir, 'main.c'), 'int foo(void);\nint main(void) { return foo() - 1; }\n');
    const gcc = (args: string[]) => execFileSync('gcc', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    gcc(['-shared', '-fPIC', '-o', 'libfoo.so.1', '-Wl,-soname,libfoo.so.1', 'foo.c']);
    gcc(['-o', path.join(root, 'usr/bin/app'), 'main.c', '-Wl,--no-as-needed', '-L.', '-l:libfoo.so.1']);
    for (const d of ['opt/lib', 'opt/lib/glibc-hwcaps/x86-64-v3', 'opt/lib/glibc-hwcaps/x86-64-v2', 'opt/other']) {
      fs.copyFileSync(path.join(dir, 'libfoo.so.1'), path.join(root, d, 'libfoo.so.1'));
    }
    fs.writeFileSync(path.join(root, 'etc/ld.so.conf'), '/opt/lib\n');
    // env inside the root sets LD_TRACE_LOADED_OBJECTS for ld.so only (chroot itself must not see it).
    fs.copyFileSync('/usr/bin/env', path.join(root, 'usr/bin/env'));
    execFileSync('ldconfig', ['-r', root]);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ldconfig -p lists what the parser reads, glibc-hwcaps entries included', () => {
    const file = path.join(root, 'etc/ld.so.cache');
    const cache = parseLdSoCache(fs.readFileSync(file))!;
    expect(cache.glibcHwcaps.sort()).toEqual(['x86-64-v2', 'x86-64-v3']);
    expect(ourEntries(cache)).toEqual(ldconfigEntries(file));
  });

  it('ldd --root finds what ld.so finds in the chroot: the cache, its best glibc-hwcaps entry', async () => {
    const real = execFileSync('chroot', [root, ...TRACE, '/lib64/ld-linux-x86-64.so.2', '/usr/bin/app'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' },
    });
    expect(real).toMatch(/glibc-hwcaps\/x86-64-v3\/libfoo/);
    const r = await resolveLibraries(path.join(root, 'usr/bin/app'), {
      root,
      trace: true,
      programOrigin: 'path',
      rtld: LDD_RTLD,
    });
    expect(formatLdd(r)).toBe(real.replace(/ \(0x[0-9a-f]+\)$/gm, ''));
    // Paths are inside the root: the library's real path there, not the host's.
    expect(r.objects[1]?.realPath).toBe('/opt/lib/glibc-hwcaps/x86-64-v3/libfoo.so.1');
  });

  it('LD_LIBRARY_PATH inside the root comes before the cache', async () => {
    const real = execFileSync(
      'chroot',
      [root, ...TRACE, '/lib64/ld-linux-x86-64.so.2', '--library-path', '/opt/other', '/usr/bin/app'],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' },
      },
    );
    expect(real).toMatch(/\/opt\/other\/libfoo/);
    const r = await resolveLibraries(path.join(root, 'usr/bin/app'), {
      root,
      trace: true,
      programOrigin: 'path',
      rtld: LDD_RTLD,
      libraryPath: '/opt/other',
    });
    expect(formatLdd(r)).toBe(real.replace(/ \(0x[0-9a-f]+\)$/gm, ''));
  });

  it('without the cache, a library only it knows is not found; the system directories still are searched', async () => {
    fs.renameSync(path.join(root, 'etc/ld.so.cache'), path.join(root, 'etc/ld.so.cache.off'));
    try {
      const real = execFileSync('chroot', [root, ...TRACE, '/lib64/ld-linux-x86-64.so.2', '/usr/bin/app'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin' },
      });
      expect(real).toMatch(/libfoo.so.1 => not found/);
      const r = await resolveLibraries(path.join(root, 'usr/bin/app'), {
        root,
        trace: true,
        programOrigin: 'path',
        rtld: LDD_RTLD,
      });
      expect(formatLdd(r)).toBe(real.replace(/ \(0x[0-9a-f]+\)$/gm, ''));
    } finally {
      fs.renameSync(path.join(root, 'etc/ld.so.cache.off'), path.join(root, 'etc/ld.so.cache'));
    }
  });
});

/** A new-format cache (header, entries, strings) with the given [key, path] pairs in this order. */
function buildCache(pairs: Array<[string, string]>): Uint8Array {
  const enc = new TextEncoder();
  const header = 48 + 24 * pairs.length;
  let strings = '';
  const offsets: Array<[number, number]> = [];
  for (const [k, v] of pairs) {
    const ko = header + strings.length;
    strings += `${k}\0`;
    const vo = header + strings.length;
    strings += `${v}\0`;
    offsets.push([ko, vo]);
  }
  const out = new Uint8Array(header + strings.length);
  const view = new DataView(out.buffer);
  out.set(enc.encode('glibc-ld.so.cache1.1'));
  view.setUint32(20, pairs.length, true);
  view.setUint32(24, strings.length, true);
  out[28] = 2;
  offsets.forEach(([k, v], i) => {
    view.setInt32(48 + i * 24, 0x303, true);
    view.setUint32(48 + i * 24 + 4, k, true);
    view.setUint32(48 + i * 24 + 8, v, true);
  });
  out.set(enc.encode(strings), header);
  return out;
}
