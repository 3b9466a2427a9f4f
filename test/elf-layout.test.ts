/**
 * src/elf/layout.ts: which PT_LOAD segments and sections own each page of a
 * file. Checked on a synthetic file with a known layout, on the committed
 * fixtures, and against a naive page-by-page computation (written here from
 * the raw header fields) on the pyelftools corpus and /usr/bin.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../src/errors.js';
import {
  pageOwners,
  sectionsOfPage,
  sectionsOverlapping,
  segmentsOfPage,
  segmentsOverlapping,
} from '../src/elf/layout.js';
import { segmentFlagsString } from '../src/elf/index.js';
import { parseElf } from '../src/elf/parse.js';
import type { ElfFile } from '../src/elf/types.js';
import { buildElf } from './helpers/elf-synth.js';
import { pyelftoolsDir } from './helpers/shared.js';

const fixtures = fileURLToPath(new URL('./fixtures/elf/', import.meta.url));
const corpus = pyelftoolsDir();

/** A file whose pages are owned in known ways: text ends and data starts on page 1; .bss owns no bytes. */
function knownLayout(): ElfFile {
  const page = 4096;
  const text = new Uint8Array(page + 100).fill(0xcc); // page 0 + 100 bytes of page 1 (after the headers)
  const data = new Uint8Array(200).fill(7);
  const { bytes, dataOffsets } = buildElf({
    sections: [
      { name: '.text', type: 1, flags: 6n, data: text, addralign: 16n },
      { name: '.data', type: 1, flags: 3n, data, addralign: 8n },
      { name: '.bss', type: 8, flags: 3n, size: 0x10000n, addralign: 32n },
      { name: '.empty', type: 1, flags: 2n, data: new Uint8Array(0) },
    ],
  });
  const elf = parseElf(bytes, 'known.elf');
  const [textAt, dataAt] = [dataOffsets[0]!, dataOffsets[1]!];
  // Two PT_LOADs: text [0, text end) r-x, data [data start, data end) rw-, plus a PT_NOTE that owns nothing.
  elf.programHeaders = [
    {
      index: 0,
      type: 1,
      flags: 5,
      offset: 0n,
      vaddr: 0n,
      paddr: 0n,
      filesz: BigInt(textAt + text.length),
      memsz: BigInt(textAt + text.length),
      align: 4096n,
    },
    { index: 1, type: 4, flags: 4, offset: 0n, vaddr: 0n, paddr: 0n, filesz: 64n, memsz: 64n, align: 4n },
    {
      index: 2,
      type: 1,
      flags: 6,
      offset: BigInt(dataAt),
      vaddr: 0x10000n,
      paddr: 0n,
      filesz: BigInt(data.length),
      memsz: 0x20000n,
      align: 4096n,
    },
  ];
  return elf;
}

function smallFile(f: string): boolean {
  try {
    return statSync(f).size <= 2 << 20;
  } catch {
    return false; // a dangling symlink
  }
}

/** The naive answer: every page, every header, compared with plain bigint arithmetic on the raw fields. */
function naiveOwners(elf: ElfFile, pageSize: number) {
  const pages = Math.ceil(elf.size / pageSize);
  const out: Array<{ segments: number[]; sections: number[] }> = [];
  for (let p = 0; p < pages; p++) {
    const lo = BigInt(p * pageSize);
    const hi = BigInt(Math.min((p + 1) * pageSize, elf.size));
    const segments = elf.programHeaders
      .filter((h) => h.type === 1 && h.filesz > 0n && h.offset < hi && h.offset + h.filesz > lo)
      .map((h) => h.index);
    const sections = elf.sections
      .filter((s) => s.type !== 8 && s.type !== 0 && s.size > 0n && s.offset < hi && s.offset + s.size > lo)
      .map((s) => s.index);
    out.push({ segments, sections });
  }
  return out;
}

function expectMatchesNaive(elf: ElfFile, pageSize: number): number {
  const owners = pageOwners(elf, pageSize);
  const naive = naiveOwners(elf, pageSize);
  expect(owners.pageCount).toBe(naive.length);
  naive.forEach((n, p) => {
    expect([...segmentsOfPage(owners, p)], `${elf.file} page ${p} segments`).toEqual(n.segments);
    expect([...sectionsOfPage(owners, p)], `${elf.file} page ${p} sections`).toEqual(n.sections);
  });
  return naive.length;
}

describe('page owners', () => {
  it('on a file with a known layout', () => {
    const elf = knownLayout();
    const owners = pageOwners(elf, 4096);
    const names = (idx: Uint32Array) => [...idx].map((i) => elf.sections[i]!.name);
    expect(owners.pageCount).toBe(Math.ceil(elf.size / 4096));
    expect([...segmentsOfPage(owners, 0)]).toEqual([0]);
    expect(names(sectionsOfPage(owners, 0))).toEqual(['.text']);
    // Page 1 holds the end of text and the start of data: two segments, two sections.
    expect([...segmentsOfPage(owners, 1)]).toEqual([0, 2]);
    expect(names(sectionsOfPage(owners, 1))).toEqual(expect.arrayContaining(['.text', '.data']));
    // .bss (NOBITS), .empty (size 0) and the PT_NOTE own no page.
    const everySection = new Set(owners.sectionIndex);
    expect(everySection.has(elf.sections.findIndex((s) => s.name === '.bss'))).toBe(false);
    expect(everySection.has(elf.sections.findIndex((s) => s.name === '.empty'))).toBe(false);
    expect(new Set(owners.segmentIndex).has(1)).toBe(false);
    expect(segmentsOverlapping(elf, 4096, 8192).map((p) => segmentFlagsString(p.flags))).toEqual(['r-x', 'rw-']);
    expect(sectionsOverlapping(elf, 0, 1)).toEqual([]); // the ELF header belongs to no section
  });

  it('pages shared by two segments in a real gcc-built file', () => {
    const elf = parseElf(readFileSync(join(fixtures, 'tiny64.elf')), 'tiny64.elf');
    const owners = pageOwners(elf, 4096);
    expect(owners.pageCount).toBe(1);
    expect([...segmentsOfPage(owners, 0)].map((i) => segmentFlagsString(elf.programHeaders[i]!.flags))).toEqual([
      'r-x',
      'rw-',
    ]);
    expect([...sectionsOfPage(owners, 0)].map((i) => elf.sections[i]!.name)).toEqual([
      '.text',
      '.rodata',
      '.data',
      '.comment',
      '.symtab',
      '.strtab',
      '.shstrtab',
    ]);
  });

  it('the page holding e_entry belongs to an executable PT_LOAD and to .text', () => {
    for (const file of [join(fixtures, 'hello-pie.elf'), join(fixtures, 'tiny32.elf'), '/usr/bin/ls'].filter((f) =>
      existsSync(f),
    )) {
      const elf = parseElf(readFileSync(file), file);
      const load = elf.programHeaders.find(
        (p) => p.type === 1 && p.vaddr <= elf.header.entry && elf.header.entry < p.vaddr + p.filesz,
      )!;
      const entryOffset = Number(elf.header.entry - load.vaddr + load.offset);
      const owners = pageOwners(elf, 4096);
      const page = Math.floor(entryOffset / 4096);
      expect([...segmentsOfPage(owners, page)].map((i) => elf.programHeaders[i]!.flags & 1)).toContain(1);
      expect([...sectionsOfPage(owners, page)].map((i) => elf.sections[i]!.name)).toContain('.text');
    }
  });

  it('clips ranges that a damaged header extends past the end of the file', () => {
    const elf = parseElf(readFileSync(join(fixtures, 'load-past-eof.elf')), 'load-past-eof.elf');
    expect(elf.warnings.map((w) => w.code)).toContain('E_ELF_SEGMENT_RANGE');
    const owners = pageOwners(elf, 1024);
    expect(owners.pageCount).toBe(Math.ceil(elf.size / 1024));
    expect(owners.segmentStart[owners.pageCount]).toBe(owners.segmentIndex.length);
    expectMatchesNaive(elf, 1024);
  });

  it('equals the naive page-by-page answer on the fixtures, the corpus and /usr/bin, at 4, 16 and 64 KiB', () => {
    const files = readdirSync(fixtures)
      .filter((f) => f.endsWith('.elf'))
      .map((f) => join(fixtures, f));
    if (corpus) files.push(...readdirSync(corpus).map((f) => join(corpus, f)));
    else console.warn('elf-layout: pyelftools corpus not found, checking fixtures and /usr/bin only');
    // The first 300 entries of /usr/bin that are at most 2 MiB (the naive side is slow on big files).
    if (existsSync('/usr/bin'))
      files.push(
        ...readdirSync('/usr/bin')
          .slice(0, 300)
          .map((f) => join('/usr/bin', f))
          .filter(smallFile),
      );
    let pages = 0;
    let elfFiles = 0;
    for (const f of files) {
      let elf: ElfFile;
      try {
        elf = parseElf(readFileSync(f), f);
      } catch {
        continue; // not ELF, unreadable, or a hostile fixture that fails by design
      }
      elfFiles++;
      for (const size of [4096, 16384, 65536]) pages += expectMatchesNaive(elf, size);
    }
    console.log(`elf-layout: ${elfFiles} ELF files, ${pages} pages compared with the naive computation`);
    expect(elfFiles).toBeGreaterThan(20);
  });

  it('refuses a page size that is not a positive integer', () => {
    const elf = knownLayout();
    expect(() => pageOwners(elf, 0)).toThrow(InternalError);
    expect(() => pageOwners(elf, 1.5)).toThrow(InternalError);
  });
});

describe('segmentFlagsString', () => {
  it('spells p_flags like /proc/PID/maps and ignores other bits', () => {
    expect(segmentFlagsString(5)).toBe('r-x');
    expect(segmentFlagsString(6)).toBe('rw-');
    expect(segmentFlagsString(4)).toBe('r--');
    expect(segmentFlagsString(7)).toBe('rwx');
    expect(segmentFlagsString(0)).toBe('---');
    expect(segmentFlagsString(0x00100005)).toBe('r-x');
  });
});
