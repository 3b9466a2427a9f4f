/**
 * ELF reader (System V gABI, "ELF Header", "Sections", "Program Header").
 *
 * Reads ELF32 and ELF64, either byte order, any e_type. Every table is
 * bounds-checked against the real file size before it is read, so a header
 * that claims 2^32 sections allocates nothing. Extended numbering is
 * resolved: e_phnum == PN_XNUM takes section 0's sh_info, e_shnum == 0 takes
 * section 0's sh_size, e_shstrndx == SHN_XINDEX takes section 0's sh_link.
 *
 * Fatal (ElfError): not ELF, an unknown EI_CLASS/EI_DATA, a truncated ELF
 * header. Non-fatal (ElfFile.warnings): a program or section header table
 * that runs past the end or has a bogus entry size, unresolvable extended
 * numbering, a bad string table, and the consistency problems of check.ts.
 * A table that cannot be read whole is returned empty, never in part, and
 * never with made-up entries. The pages of such a file can still be scanned.
 *
 * Entries are read at a stride of e_phentsize / e_shentsize as the gABI says
 * (readelf uses the structure size instead; both warn when they differ).
 *
 * elfy (the package named for this job) is not used here: it reads ELF64
 * sh_addralign/sh_entsize at the wrong offsets, throws on files without
 * section headers, clamps slices past EOF, turns 64-bit fields into doubles,
 * drops unknown p_type values and has no extended numbering.
 * docs/notes/elf.md gives the measured details.
 */
import { ElfError, type ErrorData } from '../errors.js';
import { ByteReader } from '../util/reader.js';
import { checkConsistency } from './check.js';
import { warnHeader, warnProgram, warnSection } from './warnings.js';
import {
  PN_XNUM,
  PT_INTERP,
  SHN_XINDEX,
  SHT_NOBITS,
  type ElfClass,
  type ElfFile,
  type ElfHeader,
  type ElfWarning,
  type ProgramHeader,
  type SectionHeader,
} from './types.js';

/** True when the bytes start with the ELF magic \x7fELF. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

const EI_NIDENT = 16;
/** Largest table pagestack will read, in entries: far beyond any real file, bounded by the file size anyway. */
const MAX_TABLE_ENTRIES = 1 << 24;

/** Size of one program header / section header entry in the given class. */
export const programEntrySize = (cls: ElfClass): number => (cls === 64 ? 56 : 32);
export const sectionEntrySize = (cls: ElfClass): number => (cls === 64 ? 64 : 40);

export const elfFail = (message: string, data: ErrorData) => new ElfError('E_ELF_TRUNCATED', message, data);
const hex = (v: number | bigint) => `0x${v.toString(16)}`;

/**
 * Parses the ELF header, program headers and section headers of `bytes`.
 * Throws ElfError when the file is not ELF or its ELF header is unreadable;
 * damage to the program or section header tables is reported in `warnings`.
 */
export function parseElf(bytes: Uint8Array, file: string): ElfFile {
  if (!isElf(bytes)) {
    throw new ElfError('E_ELF_MAGIC', `${file}: not an ELF file (bad magic at offset 0)`, {
      file,
      field: 'e_ident[EI_MAG]',
      offset: 0,
      expected: '7f 45 4c 46',
      actual: Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' '),
    });
  }
  if (bytes.length < EI_NIDENT) {
    throw new ElfError(
      'E_ELF_TRUNCATED',
      `${file}: ELF identification truncated at ${bytes.length} bytes (needs 16) at offset 0`,
      {
        file,
        field: 'e_ident',
        offset: 0,
        expected: EI_NIDENT,
        actual: bytes.length,
      },
    );
  }
  const eiClass = bytes[4]!;
  const eiData = bytes[5]!;
  if (eiClass !== 1 && eiClass !== 2) {
    throw new ElfError('E_ELF_CLASS', `${file}: unknown ELF class ${eiClass} in e_ident[EI_CLASS] at offset 4`, {
      file,
      field: 'e_ident[EI_CLASS]',
      offset: 4,
      expected: '1 (ELF32) or 2 (ELF64)',
      actual: eiClass,
    });
  }
  if (eiData !== 1 && eiData !== 2) {
    throw new ElfError('E_ELF_DATA', `${file}: unknown byte order ${eiData} in e_ident[EI_DATA] at offset 5`, {
      file,
      field: 'e_ident[EI_DATA]',
      offset: 5,
      expected: '1 (little-endian) or 2 (big-endian)',
      actual: eiData,
    });
  }
  const cls: ElfClass = eiClass === 2 ? 64 : 32;
  const r = new ByteReader(bytes, file, eiData === 1, elfFail);
  const header = readHeader(r, cls, bytes);
  const warnings: ElfWarning[] = [];

  const xnum = resolveExtendedNumbering(r, cls, header, warnings);
  const programHeaders = xnum.phnumKnown ? readProgramHeaders(r, cls, header, warnings) : [];
  const sections = readSections(r, cls, header, warnings);

  const elf: ElfFile = { file, size: bytes.length, header, programHeaders, sections, warnings };
  readInterpreter(r, elf);
  checkConsistency(elf);
  return elf;
}

/** The ELF header as stored (extended numbering not yet resolved). */
export function readHeader(r: ByteReader, cls: ElfClass, bytes: Uint8Array): ElfHeader {
  r.check(0, cls === 64 ? 64 : 52, 'ELF header');
  const w = cls === 64;
  const h: ElfHeader = {
    class: cls,
    data: r.littleEndian ? 'lsb' : 'msb',
    identVersion: bytes[6]!,
    osabi: bytes[7]!,
    abiVersion: bytes[8]!,
    type: r.u16(16, 'e_type'),
    machine: r.u16(18, 'e_machine'),
    version: r.u32(20, 'e_version'),
    entry: w ? r.u64(24, 'e_entry') : BigInt(r.u32(24, 'e_entry')),
    phoff: w ? r.u64(32, 'e_phoff') : BigInt(r.u32(28, 'e_phoff')),
    shoff: w ? r.u64(40, 'e_shoff') : BigInt(r.u32(32, 'e_shoff')),
    flags: r.u32(w ? 48 : 36, 'e_flags'),
    ehsize: r.u16(w ? 52 : 40, 'e_ehsize'),
    phentsize: r.u16(w ? 54 : 42, 'e_phentsize'),
    phnumRaw: r.u16(w ? 56 : 44, 'e_phnum'),
    phnum: 0,
    shentsize: r.u16(w ? 58 : 46, 'e_shentsize'),
    shnumRaw: r.u16(w ? 60 : 48, 'e_shnum'),
    shnum: 0,
    shstrndxRaw: r.u16(w ? 62 : 50, 'e_shstrndx'),
    shstrndx: 0,
  };
  h.phnum = h.phnumRaw;
  h.shnum = h.shnumRaw;
  h.shstrndx = h.shstrndxRaw;
  return h;
}

/**
 * Section 0 carries the real counts when they do not fit the ELF header.
 * Returns whether the program header count is known.
 */
function resolveExtendedNumbering(
  r: ByteReader,
  cls: ElfClass,
  h: ElfHeader,
  warnings: ElfWarning[],
): { phnumKnown: boolean } {
  const needsSection0 = h.phnumRaw === PN_XNUM || (h.shnumRaw === 0 && h.shoff !== 0n) || h.shstrndxRaw === SHN_XINDEX;
  if (!needsSection0) return { phnumKnown: true };
  let section0: SectionHeader | undefined;
  if (h.shoff !== 0n && h.shentsize >= sectionEntrySize(cls) && r.has(h.shoff, sectionEntrySize(cls))) {
    section0 = readSection(r, cls, Number(h.shoff), 0);
  }
  const where = `section 0 (e_shoff ${hex(h.shoff)})`;
  let phnumKnown = true;
  if (h.phnumRaw === PN_XNUM) {
    if (section0 && section0.info !== 0) h.phnum = section0.info;
    else {
      phnumKnown = false;
      const why = section0 ? `${where} has sh_info 0` : `${where} is unreadable`;
      warnHeader(
        warnings,
        h,
        'E_ELF_XNUM',
        'e_phnum',
        `e_phnum is PN_XNUM (0xffff) but ${why}: the program header count is unknown`,
      );
    }
  }
  if (h.shnumRaw === 0 && h.shoff !== 0n) {
    if (!section0)
      warnHeader(warnings, h, 'E_ELF_XNUM', 'e_shnum', `e_shnum is 0 with e_shoff set, and ${where} is unreadable`);
    else if (section0.size > 0xffffffffn) {
      warnHeader(
        warnings,
        h,
        'E_ELF_XNUM',
        'e_shnum',
        `e_shnum is 0 and ${where} has sh_size ${hex(section0.size)}, too large for a section count`,
      );
    } else h.shnum = Number(section0.size);
  }
  if (h.shstrndxRaw === SHN_XINDEX) {
    if (section0) h.shstrndx = section0.link;
    else
      warnHeader(
        warnings,
        h,
        'E_ELF_XNUM',
        'e_shstrndx',
        `e_shstrndx is SHN_XINDEX (0xffff) but ${where} is unreadable`,
      );
  }
  return { phnumKnown };
}

/** Checks a table's place and entry size; returns its offset as a number, or undefined (with a warning). */
function locateTable(
  r: ByteReader,
  h: ElfHeader,
  what: 'program header' | 'section header',
  offset: bigint,
  count: number,
  entsize: number,
  minEntsize: number,
  cls: ElfClass,
  warnings: ElfWarning[],
): number | undefined {
  const isProgram = what === 'program header';
  const offsetField = isProgram ? 'e_phoff' : 'e_shoff';
  const entsizeField = isProgram ? 'e_phentsize' : 'e_shentsize';
  const tableCode = isProgram ? 'E_ELF_PHDRS' : 'E_ELF_SHDRS';
  const entsizeCode = isProgram ? 'E_ELF_PHENTSIZE' : 'E_ELF_SHENTSIZE';
  if (offset === 0n) {
    warnHeader(
      warnings,
      h,
      tableCode,
      offsetField,
      `${isProgram ? 'e_phnum' : 'e_shnum'} is ${count} but ${offsetField} is 0`,
    );
    return undefined;
  }
  if (entsize < minEntsize) {
    warnHeader(
      warnings,
      h,
      entsizeCode,
      entsizeField,
      `${entsizeField} ${entsize} is smaller than an ELF${cls} ${what} (${minEntsize} bytes)`,
    );
    return undefined;
  }
  if (count > MAX_TABLE_ENTRIES) {
    warnHeader(
      warnings,
      h,
      tableCode,
      offsetField,
      `${what} count ${count} is absurd (more than ${MAX_TABLE_ENTRIES})`,
    );
    return undefined;
  }
  if (!r.has(offset, BigInt(count) * BigInt(entsize))) {
    warnHeader(
      warnings,
      h,
      tableCode,
      offsetField,
      `${what} table (${count} × ${entsize} bytes at offset ${hex(offset)}) runs past the end of the file (${r.length} bytes)`,
    );
    return undefined;
  }
  if (entsize > minEntsize) {
    warnHeader(
      warnings,
      h,
      entsizeCode,
      entsizeField,
      `${entsizeField} ${entsize} is larger than an ELF${cls} ${what} (${minEntsize} bytes)`,
    );
  }
  return Number(offset);
}

function readProgramHeaders(r: ByteReader, cls: ElfClass, h: ElfHeader, warnings: ElfWarning[]): ProgramHeader[] {
  if (h.phnum === 0) {
    if (h.phoff !== 0n)
      warnHeader(
        warnings,
        h,
        'E_ELF_PHOFF',
        'e_phoff',
        `e_phoff is ${hex(h.phoff)} but there are no program headers (e_phnum 0)`,
      );
    return [];
  }
  const base = locateTable(r, h, 'program header', h.phoff, h.phnum, h.phentsize, programEntrySize(cls), cls, warnings);
  if (base === undefined) return [];
  const out: ProgramHeader[] = [];
  for (let i = 0; i < h.phnum; i++) out.push(readProgramHeader(r, cls, base + i * h.phentsize, i));
  return out;
}

/** Program header `index`, whose entry starts at `o`. */
export function readProgramHeader(r: ByteReader, cls: ElfClass, o: number, index: number): ProgramHeader {
  if (cls === 64) {
    return {
      index,
      type: r.u32(o, 'p_type'),
      flags: r.u32(o + 4, 'p_flags'),
      offset: r.u64(o + 8, 'p_offset'),
      vaddr: r.u64(o + 16, 'p_vaddr'),
      paddr: r.u64(o + 24, 'p_paddr'),
      filesz: r.u64(o + 32, 'p_filesz'),
      memsz: r.u64(o + 40, 'p_memsz'),
      align: r.u64(o + 48, 'p_align'),
    };
  }
  return {
    index,
    type: r.u32(o, 'p_type'),
    offset: BigInt(r.u32(o + 4, 'p_offset')),
    vaddr: BigInt(r.u32(o + 8, 'p_vaddr')),
    paddr: BigInt(r.u32(o + 12, 'p_paddr')),
    filesz: BigInt(r.u32(o + 16, 'p_filesz')),
    memsz: BigInt(r.u32(o + 20, 'p_memsz')),
    flags: r.u32(o + 24, 'p_flags'),
    align: BigInt(r.u32(o + 28, 'p_align')),
  };
}

function readSection(r: ByteReader, cls: ElfClass, o: number, index: number): SectionHeader {
  if (cls === 64) {
    return {
      index,
      name: '',
      nameOffset: r.u32(o, 'sh_name'),
      type: r.u32(o + 4, 'sh_type'),
      flags: r.u64(o + 8, 'sh_flags'),
      addr: r.u64(o + 16, 'sh_addr'),
      offset: r.u64(o + 24, 'sh_offset'),
      size: r.u64(o + 32, 'sh_size'),
      link: r.u32(o + 40, 'sh_link'),
      info: r.u32(o + 44, 'sh_info'),
      addralign: r.u64(o + 48, 'sh_addralign'),
      entsize: r.u64(o + 56, 'sh_entsize'),
    };
  }
  return {
    index,
    name: '',
    nameOffset: r.u32(o, 'sh_name'),
    type: r.u32(o + 4, 'sh_type'),
    flags: BigInt(r.u32(o + 8, 'sh_flags')),
    addr: BigInt(r.u32(o + 12, 'sh_addr')),
    offset: BigInt(r.u32(o + 16, 'sh_offset')),
    size: BigInt(r.u32(o + 20, 'sh_size')),
    link: r.u32(o + 24, 'sh_link'),
    info: r.u32(o + 28, 'sh_info'),
    addralign: BigInt(r.u32(o + 32, 'sh_addralign')),
    entsize: BigInt(r.u32(o + 36, 'sh_entsize')),
  };
}

function readSections(r: ByteReader, cls: ElfClass, h: ElfHeader, warnings: ElfWarning[]): SectionHeader[] {
  if (h.shnum === 0) {
    if (h.shstrndx !== 0) {
      warnHeader(
        warnings,
        h,
        'E_ELF_SHSTRNDX',
        'e_shstrndx',
        `e_shstrndx ${h.shstrndx} is not a valid section index (no sections)`,
      );
    }
    // e_shnum 0 with e_shoff set and a readable section 0 whose sh_size is 0.
    if (h.shoff !== 0n && h.shnumRaw === 0 && !warnings.some((w) => w.field === 'e_shnum')) {
      warnHeader(
        warnings,
        h,
        'E_ELF_SHOFF',
        'e_shoff',
        `e_shoff is ${hex(h.shoff)} but there are no section headers (e_shnum 0, section 0 sh_size 0)`,
      );
    }
    return [];
  }
  if (h.shstrndx >= h.shnum) {
    warnHeader(
      warnings,
      h,
      'E_ELF_SHSTRNDX',
      'e_shstrndx',
      `e_shstrndx ${h.shstrndx} is not a valid section index (${h.shnum} sections)`,
    );
  }
  const base = locateTable(r, h, 'section header', h.shoff, h.shnum, h.shentsize, sectionEntrySize(cls), cls, warnings);
  if (base === undefined) return [];
  const out: SectionHeader[] = [];
  for (let i = 0; i < h.shnum; i++) out.push(readSection(r, cls, base + i * h.shentsize, i));
  nameSections(r, h, out, warnings);
  return out;
}

/** Fills in section names from the section-name string table (e_shstrndx). */
function nameSections(r: ByteReader, h: ElfHeader, sections: SectionHeader[], warnings: ElfWarning[]): void {
  if (h.shstrndx === 0) return;
  const strtab = sections[h.shstrndx];
  if (!strtab) return; // reported by readSections
  const where = `section-name string table (section ${h.shstrndx}, ${strtab.size} bytes at offset ${hex(strtab.offset)})`;
  if (strtab.type === SHT_NOBITS) {
    warnSection(
      warnings,
      h,
      'E_ELF_SHSTRTAB',
      h.shstrndx,
      'sh_type',
      `${where} is SHT_NOBITS: it has no bytes in the file`,
    );
    return;
  }
  if (strtab.size === 0n) {
    warnSection(warnings, h, 'E_ELF_SHSTRTAB', h.shstrndx, 'sh_size', `${where} is empty`);
    return;
  }
  if (!r.has(strtab.offset, strtab.size)) {
    warnSection(
      warnings,
      h,
      'E_ELF_SHSTRTAB',
      h.shstrndx,
      'sh_offset',
      `${where} runs past the end of the file (${r.length} bytes)`,
    );
    return;
  }
  const start = Number(strtab.offset);
  const end = start + Number(strtab.size);
  const bytes = r.bytes;
  let bad = 0;
  let firstBad = 0;
  for (const s of sections) {
    if (s.nameOffset >= strtab.size) {
      if (bad++ === 0) firstBad = s.index;
      continue;
    }
    const from = start + s.nameOffset;
    let i = from;
    while (i < end && bytes[i] !== 0) i++;
    s.name = latin1.decode(bytes.subarray(from, i));
  }
  if (bad > 0) {
    const which =
      bad === 1
        ? `section ${firstBad}'s sh_name points`
        : `${bad} sh_name offsets (the first in section ${firstBad}) point`;
    warnSection(warnings, h, 'E_ELF_SHNAME', firstBad, 'sh_name', `${which} past the end of the ${where}`);
  }
}

/** PT_INTERP: the path of the program interpreter, NUL-terminated within p_filesz. */
function readInterpreter(r: ByteReader, elf: ElfFile): void {
  const interp = elf.programHeaders.find((p) => p.type === PT_INTERP);
  if (!interp) return;
  const at = `PT_INTERP (program header ${interp.index}) at offset ${hex(interp.offset)}`;
  if (interp.filesz === 0n) {
    warnProgram(elf.warnings, elf.header, 'E_ELF_INTERP', interp.index, 'p_filesz', `${at} is empty (p_filesz 0)`);
  } else if (!r.has(interp.offset, interp.filesz)) {
    warnProgram(
      elf.warnings,
      elf.header,
      'E_ELF_INTERP',
      interp.index,
      'p_offset',
      `${at} (${interp.filesz} bytes) runs past the end of the file (${r.length} bytes)`,
    );
  } else {
    const raw = r.slice(interp.offset, interp.filesz, 'PT_INTERP');
    const nul = raw.indexOf(0);
    elf.interpreter = latin1.decode(nul >= 0 ? raw.subarray(0, nul) : raw);
  }
}

const latin1 = new TextDecoder('latin1');
