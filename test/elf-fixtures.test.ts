/**
 * Committed ELF fixtures (test/fixtures/elf): three gcc-built programs and
 * the hostile files derived from them (test/helpers/elf-hostile.ts). One
 * regression test per hostile file, named after the damage. The committed
 * readelf output (readelf-hlSW.txt) lets the readelf comparison of the
 * fixtures run where binutils is not installed.
 *
 * Regenerate: test/fixtures/elf/build.sh (needs gcc), then
 * PAGESTACK_REGEN_FIXTURES=1 npx vitest run test/elf-fixtures.test.ts
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ElfError } from '../src/errors.js';
import { parseElf } from '../src/elf/parse.js';
import { PF_R, PF_W, PF_X, PT_LOAD, SHT_NOBITS } from '../src/elf/types.js';
import { hostileFixtures } from './helpers/elf-hostile.js';
import { parseReadelfOutput, readelfVersion, runReadelfText } from './helpers/readelf.js';
import { compareWithReadelf } from './helpers/readelf-compare.js';

const dir = fileURLToPath(new URL('./fixtures/elf/', import.meta.url));
const regenerate = process.env.PAGESTACK_REGEN_FIXTURES === '1';
const tiny64 = readFileSync(join(dir, 'tiny64.elf'));
const hostile = hostileFixtures(tiny64);
const savedReadelf = join(dir, 'readelf-hlSW.txt');

const elfFixtures = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.elf'))
    .sort();

if (regenerate) {
  for (const f of hostile) writeFileSync(join(dir, f.name), f.bytes);
}

describe('committed hostile fixtures', () => {
  it('are exactly the bytes elf-hostile.ts builds from tiny64.elf', () => {
    for (const f of hostile)
      expect(Buffer.compare(readFileSync(join(dir, f.name)), Buffer.from(f.bytes)), f.name).toBe(0);
  });

  for (const f of hostile) {
    it(`${f.name}: ${f.what}`, () => {
      const file = join(dir, f.name);
      const bytes = readFileSync(file);
      if (f.error) {
        let thrown: unknown;
        try {
          parseElf(bytes, file);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(ElfError);
        const e = thrown as ElfError;
        expect(e.code).toBe(f.error.code);
        expect(e.data.field).toBe(f.error.field);
        expect(e.data.file).toBe(file);
        expect(typeof e.data.offset === 'number' || typeof e.data.offset === 'bigint').toBe(true);
        expect(e.message).toContain(file);
        expect(e.message).toMatch(/offset/);
        return;
      }
      const elf = parseElf(bytes, file);
      const codes = elf.warnings.map((w) => w.code);
      if (f.warnings!.length === 0) expect(elf.warnings).toEqual([]);
      for (const code of f.warnings!) expect(codes, `${f.name} warnings`).toContain(code);
      for (const w of elf.warnings) {
        expect(w.field.length).toBeGreaterThan(0);
        expect(w.message.length).toBeGreaterThan(10);
      }
      if (f.programHeaders !== undefined) expect(elf.programHeaders).toHaveLength(f.programHeaders);
      if (f.sections !== undefined) expect(elf.sections).toHaveLength(f.sections);
    });
  }

  it('warnings point at the faulty field itself', () => {
    const at = (name: string, code: string) => {
      const bytes = readFileSync(join(dir, name));
      const w = parseElf(bytes, name).warnings.find((x) => x.code === code)!;
      return { w, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    };
    const strndx = at('shstrndx-out-of-range.elf', 'E_ELF_SHSTRNDX');
    expect(strndx.w).toMatchObject({ field: 'e_shstrndx', offset: 62n });
    expect(strndx.view.getUint16(Number(strndx.w.offset), true)).toBe(200);
    const name = at('names-past-strtab.elf', 'E_ELF_SHNAME');
    expect(name.w.field).toBe('sh_name');
    expect(name.view.getUint32(Number(name.w.offset), true)).toBe(0x10000);
    const load = at('load-past-eof.elf', 'E_ELF_SEGMENT_RANGE');
    expect(load.w.field).toBe('p_offset');
    expect(load.view.getBigUint64(Number(load.w.offset) + 24, true)).toBe(0x10000n); // p_filesz follows p_offset by 24 bytes
  });

  it('xnum-valid.elf resolves extended numbering to the same tables as tiny64.elf', () => {
    const plain = parseElf(tiny64, 'tiny64.elf');
    const xnum = parseElf(readFileSync(join(dir, 'xnum-valid.elf')), 'xnum-valid.elf');
    expect(xnum.header.phnumRaw).toBe(0xffff);
    expect(xnum.header.shnumRaw).toBe(0);
    expect(xnum.header.shstrndxRaw).toBe(0xffff);
    expect(xnum.header.phnum).toBe(plain.header.phnum);
    expect(xnum.header.shnum).toBe(plain.header.shnum);
    expect(xnum.header.shstrndx).toBe(plain.header.shstrndx);
    expect(xnum.programHeaders).toEqual(plain.programHeaders);
    expect(xnum.sections.slice(1).map((s) => s.name)).toEqual(plain.sections.slice(1).map((s) => s.name));
  });

  it('high-addresses.elf keeps every bit of values above 2^53', () => {
    const elf = parseElf(readFileSync(join(dir, 'high-addresses.elf')), 'high-addresses.elf');
    expect(elf.header.entry).toBe(0xffffffff81000123n);
    expect(elf.programHeaders[0]!.vaddr).toBe(0xffffffff81000000n);
    expect(elf.programHeaders[0]!.memsz).toBe(0x1fffffffffff01n);
    expect(elf.sections[1]!.addr).toBe(0xffffffff81000100n);
    expect(elf.sections[1]!.addralign).toBe(0x8000000000000000n);
  });
});

describe('real fixtures built by gcc', () => {
  it('tiny64.elf: a static x86-64 executable with text, data and bss', () => {
    const elf = parseElf(tiny64, 'tiny64.elf');
    expect(elf.header).toMatchObject({ class: 64, data: 'lsb', type: 2, machine: 62 });
    expect(elf.warnings).toEqual([]);
    const loads = elf.programHeaders.filter((p) => p.type === PT_LOAD);
    expect(loads.map((p) => p.flags)).toEqual([PF_R | PF_X, PF_R | PF_W]);
    expect(loads[1]!.memsz).toBeGreaterThan(loads[1]!.filesz); // .bss
    const names = elf.sections.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['.text', '.rodata', '.data', '.bss', '.symtab', '.shstrtab']));
    expect(elf.sections.find((s) => s.name === '.bss')!.type).toBe(SHT_NOBITS);
  });

  it('tiny32.elf and hello-pie.elf parse without warnings', () => {
    const t32 = parseElf(readFileSync(join(dir, 'tiny32.elf')), 'tiny32.elf');
    expect(t32.header).toMatchObject({ class: 32, data: 'lsb', machine: 3 });
    expect(t32.warnings).toEqual([]);
    const pie = parseElf(readFileSync(join(dir, 'hello-pie.elf')), 'hello-pie.elf');
    expect(pie.header.type).toBe(3);
    expect(pie.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(pie.warnings).toEqual([]);
  });
});

describe('fixtures against readelf output', () => {
  const readelf = readelfVersion();
  if (!readelf && !regenerate)
    console.warn('elf-fixtures: readelf is not installed; comparing with the committed readelf-hlSW.txt only');

  it.skipIf(!readelf)('the committed readelf-hlSW.txt is what readelf prints today', async () => {
    const live = await runReadelfText(elfFixtures(), dir);
    if (regenerate) writeFileSync(savedReadelf, live, 'latin1');
    expect(live).toBe(readFileSync(savedReadelf, 'latin1'));
  });

  it.skipIf(!existsSync(savedReadelf))('every fixture equals the committed readelf -hlSW output', () => {
    const files = elfFixtures();
    const reports = parseReadelfOutput(readFileSync(savedReadelf, 'latin1'), files);
    // Machine names as readelf printed them for these files (x86-64, i386, MIPS, AArch64).
    const machineNames = new Map<number, string>();
    const mismatches: string[] = [];
    let fields = 0;
    const parsed = files.map((f) => {
      try {
        return parseElf(readFileSync(join(dir, f)), f);
      } catch (e) {
        if (e instanceof ElfError) return e;
        throw e;
      }
    });
    parsed.forEach((p, i) => {
      const text = reports.get(files[i]!)!.header?.machineText;
      if (!(p instanceof ElfError) && text) machineNames.set(p.header.machine, text);
    });
    parsed.forEach((p, i) => {
      const c = compareWithReadelf(p, reports.get(files[i]!)!, machineNames);
      fields += c.fields;
      mismatches.push(...c.mismatches.map((m) => `${files[i]}: ${m}`));
    });
    console.log(
      `elf-fixtures: ${files.length} fixtures, ${fields} values compared with the saved readelf output; mismatches: ${mismatches.length}`,
    );
    expect(mismatches).toEqual([]);
    expect(fields).toBeGreaterThan(1000);
  });
});
