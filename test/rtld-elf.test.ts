/**
 * What ld.so reads from an object, against readelf (binutils) on this
 * machine's libc, libm and ld.so: relocations by type (DT_RELA,
 * DT_JMPREL), the addresses DT_RELR encodes, the dynamic symbol count, the
 * version definitions; and the static TLS layout of a libc-only process
 * against the one measured in a real process (thread pointer 1856 bytes
 * into ld.so's allocation: libc's 0x90-byte block plus the 1664-byte
 * surplus, rounded to 64; then the 2368-byte thread descriptor).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileTable } from '../src/loader/file-backing.js';
import { readExecImage } from '../src/loader/elf-image.js';
import { readElfObject } from '../src/loader/rtld/elf-object.js';
import { determineTlsOffsets, TLS_TCB_SIZE } from '../src/loader/rtld/tls.js';

const OBJECTS = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/x86_64-linux-gnu/libm.so.6',
  '/lib64/ld-linux-x86-64.so.2',
].filter((p) => fs.existsSync(p));
const readelf = (() => {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'readelf is not installed';
  }
})();
if (readelf) console.warn(`rtld-elf: skipped: ${readelf}`);

const NAMES: Record<number, string> = {
  1: 'R_X86_64_64',
  5: 'R_X86_64_COPY',
  6: 'R_X86_64_GLOB_DAT',
  7: 'R_X86_64_JUMP_SLOT',
  8: 'R_X86_64_RELATIVE',
  16: 'R_X86_64_DTPMOD64',
  17: 'R_X86_64_DTPOFF64',
  18: 'R_X86_64_TPOFF64',
  36: 'R_X86_64_TLSDESC',
  37: 'R_X86_64_IRELATIVE',
};

describe.skipIf(readelf !== undefined || OBJECTS.length === 0)('dynamic information against readelf', () => {
  for (const file of OBJECTS) {
    it(file, async () => {
      const files = await FileTable.create();
      const elf = readElfObject(readExecImage(files.program(file), 'program'));
      const text = execFileSync('readelf', ['-rW', '--dyn-syms', '-V', file], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      // Relocations by type, RELR offsets apart.
      const expected = new Map<string, number>();
      const relr: number[] = [];
      let inRelr = false;
      for (const line of text.split('\n')) {
        if (line.startsWith('Relocation section')) inRelr = line.includes('.relr');
        const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(R_X86_64_\w+)/.exec(line);
        if (m) expected.set(m[3]!, (expected.get(m[3]!) ?? 0) + 1);
        else if (inRelr && /^[0-9a-f]{16}$/.test(line.trim())) relr.push(Number.parseInt(line.trim(), 16));
      }
      const got = new Map<string, number>();
      for (const r of [...elf.rela, ...elf.rel, ...elf.jmprel])
        got.set(NAMES[r.type] ?? String(r.type), (got.get(NAMES[r.type] ?? String(r.type)) ?? 0) + 1);
      expect(got).toEqual(expected);
      expect(elf.relr).toEqual(relr);
      const dynsym = /Symbol table '\.dynsym' contains (\d+) entries/.exec(text);
      expect(elf.symbols.length).toBe(Number(dynsym![1]));
      const verdefs = /Version definition section '\.gnu\.version_d' contains (\d+) entries/.exec(text);
      if (verdefs)
        expect([...elf.versions.keys()].filter((k) => !elf.versions.get(k)!.file).length).toBe(Number(verdefs[1]));
    });
  }

  it('lays out the static TLS block of a libc-only process as the real one', async () => {
    const files = await FileTable.create();
    const libc = readElfObject(readExecImage(files.program(OBJECTS[0]!), 'program'));
    const t = libc.tls!;
    const mods = [{ blocksize: t.memsz, align: t.align, firstbyteOffset: t.vaddr & (t.align - 1) }];
    const layout = determineTlsOffsets(mods);
    expect((mods[0] as { offset?: number }).offset).toBe(0x90);
    expect(layout.staticSize - TLS_TCB_SIZE).toBe(1856);
    expect(layout.staticAlign).toBe(64);
  });
});
