/**
 * Damaged dynamic sections and hostile roots: the library search reports a
 * one-line error naming the file (or finds nothing), never a stack trace,
 * a hang, or a read outside the root.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseElf, PT_DYNAMIC } from '../src/elf/index.js';
import { ElfError } from '../src/errors.js';
import { FileTable } from '../src/loader/file-backing.js';
import { DT_NEEDED, DT_STRSZ, DT_STRTAB, readDynamic } from '../src/loader/rtld/dynamic.js';
import { HostRootFiles } from '../src/loader/rtld/files.js';
import { LDD_RTLD } from '../src/loader/rtld/ldd.js';
import { resolveLibraries } from '../src/loader/rtld/search.js';

const HELLO = path.resolve(__dirname, '../samples/bin/hello');
const bytes = fs.readFileSync(HELLO);
const elf = parseElf(bytes, HELLO);
const dyn = elf.programHeaders.find((p) => p.type === PT_DYNAMIC)!;

/** A copy of hello with the first entry of `tag` in PT_DYNAMIC set to `value`. */
function patched(tag: number, value: bigint): Uint8Array {
  const copy = new Uint8Array(bytes);
  const view = new DataView(copy.buffer);
  for (let at = Number(dyn.offset); at < Number(dyn.offset + dyn.filesz); at += 16) {
    if (view.getBigUint64(at, true) === BigInt(tag)) {
      view.setBigUint64(at + 8, value, true);
      return copy;
    }
  }
  throw new Error(`tag ${tag} not in hello`);
}

describe('damaged dynamic sections', () => {
  it('reads hello: libc.so.6, no SONAME', () => {
    const info = readDynamic({ elf, bytes })!;
    expect(info.needed).toEqual(['libc.so.6']);
    expect(info.soname).toBeUndefined();
  });

  it.each([
    ['DT_STRTAB outside every PT_LOAD', DT_STRTAB, 0x7fff_ffffn, /DT_STRTAB 0x7fffffff is not inside any PT_LOAD/],
    ['DT_NEEDED past DT_STRSZ', DT_NEEDED, 0x10000n, /DT_NEEDED string offset 0x10000 is past DT_STRSZ/],
    ['DT_STRSZ of 2^64-1 with a string at the end of the file', DT_STRSZ, 0xffff_ffff_ffff_ffffn, null],
  ])('%s', (_what, tag, value, message) => {
    const b = patched(tag, value);
    const e = parseElf(b, 'damaged');
    if (message === null) {
      // A huge DT_STRSZ allocates nothing: strings are still bounded by the file.
      expect(readDynamic({ elf: e, bytes: b })!.needed).toEqual(['libc.so.6']);
      return;
    }
    let err: unknown;
    try {
      readDynamic({ elf: e, bytes: b });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(ElfError);
    expect((err as ElfError).code).toBe('E_RTLD_DYNAMIC');
    expect((err as ElfError).message).toMatch(/^damaged: /);
    expect((err as ElfError).message).toMatch(message);
    expect((err as ElfError).message).not.toContain('\n');
  });

  it('every truncation of the dynamic section: a result or one ElfError, nothing else', () => {
    for (let cut = Number(dyn.offset); cut <= Number(dyn.offset + dyn.filesz) + 16; cut += 8) {
      const b = bytes.subarray(0, cut);
      let e: ReturnType<typeof parseElf> | undefined;
      try {
        e = parseElf(b, 'cut');
      } catch (x) {
        expect(x).toBeInstanceOf(ElfError);
        continue;
      }
      try {
        readDynamic({ elf: e, bytes: b });
      } catch (x) {
        expect(x).toBeInstanceOf(ElfError);
      }
    }
  });
});

describe('hostile roots', () => {
  let root = '';
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-hostile-root-'));
    const lib = path.join(root, 'lib/x86_64-linux-gnu');
    fs.mkdirSync(lib, { recursive: true });
    fs.mkdirSync(path.join(root, 'lib64'));
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(HELLO, path.join(root, 'bin/hello'));
    fs.copyFileSync(fs.realpathSync(LDD_RTLD), path.join(root, 'lib64/ld-linux-x86-64.so.2'));
    // libc.so.6 points out of the root, twice over; a loop; a cache that is garbage.
    fs.symlinkSync('/lib/x86_64-linux-gnu/../../../../etc/passwd', path.join(lib, 'libc.so.6'));
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/ld.so.cache'), `glibc-ld.so.cache1.1${'\xff'.repeat(64)}`);
    fs.symlinkSync('loop2', path.join(lib, 'loop1'));
    fs.symlinkSync('loop1', path.join(lib, 'loop2'));
  });
  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a library link out of the root stays inside it: not found, no read of the host file', async () => {
    const table = await FileTable.create();
    const files = new HostRootFiles(root, (p) => table.open(p));
    expect(files.lookup('/lib/x86_64-linux-gnu/libc.so.6').kind).toBe('missing');
    expect(files.lookup('/lib/x86_64-linux-gnu/loop1').kind).toBe('missing');
    const r = await resolveLibraries(path.join(root, 'bin/hello'), {
      root,
      trace: true,
      programOrigin: 'path',
      rtld: LDD_RTLD,
    });
    expect(r.missing.map((m) => m.name)).toEqual(['libc.so.6']);
    const err = await resolveLibraries(path.join(root, 'bin/hello'), { root }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      '/bin/hello: error while loading shared libraries: libc.so.6: cannot open shared object file: No such file or directory',
    );
  });
});
