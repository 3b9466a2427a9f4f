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
 * that runs past the end or has a bogus entry size, a bad string table.
 * The pages of such a file can still be scanned.
 *
 * elfy (the package named for this job) is not used here: it reads ELF64
 * sh_addralign/sh_entsize at the wrong offsets, throws on files without
 * section headers, clamps slices past EOF, turns 64-bit fields into doubles,
 * drops unknown p_type values and has no extended numbering. README.md,
 * "Design notes", gives the details.
 */
import { ElfError, type ErrorData } from '../errors.js';
import { ByteReader } from '../util/reader.js';
import {
  PN_XNUM,
  PT_INTERP,
  SHN_XINDEX,
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

const elfFail = (message: string, data: ErrorData) => new ElfError('E_ELF_TRUNCATED', message, data);

/**
 * Parses the ELF header, program headers and section headers of `bytes`.
 * Throws ElfError when the file is not ELF or its ELF header is unreadable;
 * damage to the program or section header tables is reported in `warnings`.
 */
export function parseElf(bytes: Uint8Array, file: string): ElfFile {
  if (bytes.length < 4 || !isElf(bytes)) {
    throw new ElfError('E_ELF_MAGIC', `${file}: not an ELF file (bad magic at offset 0)`, { file, field: 'e_ident[EI_MAG]', offset: 0 });
  }
  if (bytes.length < EI_NIDENT) {
    throw new ElfError('E_ELF_TRUNCATED', `${file}: ELF identification truncated at ${bytes.length} bytes (needs 16)`, {
      file,
      field: 'e_ident',
      offset: 0,
      expected: EI_NIDENT,
      actual: bytes.length,
    });
  }
  const eiClass = bytes[4]!;
  const eiData = bytes[5]!;
  if (eiClass !== 1 && eiClass !== 2) {
    throw new ElfError('E_ELF_CLASS', `${file}: unknown ELF class ${eiClass} in e_ident[EI_CLASS] at offset 4`, {
      file,
      field: 'e_ident[EI_CLASS]',
      offset: 4,
      actual: eiClass,
    });
  }
  if (eiData !== 1 && eiData !== 2) {
    throw new ElfError('E_ELF_DATA', `${file}: unknown byte order ${eiData} in e_ident[EI_DATA] at offset 5`, {
      file,
      field: 'e_ident[EI_DATA]',
      offset: 5,
      actual: eiData,
    });
  }
  const cls: ElfClass = eiClass === 2 ? 64 : 32;
  const r = new ByteReader(bytes, file, eiData === 1, elfFail);
  const header = readHeader(r, cls, bytes);
  const warnings: ElfWarning[] = [];

  // Section 0 carries the extended counts; read it first when it is readable.
  let section0: SectionHeader | undefined;
  if (header.shoff !== 0n && header.shentsize >= sectionEntrySize(cls) && r.has(header.shoff, sectionEntrySize(cls))) {
    section0 = readSection(r, cls, Number(header.shoff), 0);
  }
  if (header.phnumRaw === PN_XNUM) {
    if (section0) header.phnum = section0.info;
    else warn(warnings, 'E_ELF_XNUM', 'e_phnum', `e_phnum is PN_XNUM but section 0 is unreadable`, header.shoff);
  }
  if (header.shnumRaw === 0 && header.shoff !== 0n) {
    if (section0) header.shnum = safeCount(section0.size);
    else warn(warnings, 'E_ELF_XNUM', 'e_shnum', `e_shnum is 0 with e_shoff set, and section 0 is unreadable`, header.shoff);
  }
  if (header.shstrndxRaw === SHN_XINDEX) {
    if (section0) header.shstrndx = section0.link;
    else warn(warnings, 'E_ELF_XNUM', 'e_shstrndx', `e_shstrndx is SHN_XINDEX but section 0 is unreadable`, header.shoff);
  }

  const programHeaders = readProgramHeaders(r, cls, header, warnings);
  const sections = readSections(r, cls, header, warnings);

  const elf: ElfFile = { file, size: bytes.length, header, programHeaders, sections, warnings };
  const interp = programHeaders.find((p) => p.type === PT_INTERP);
  if (interp) {
    if (r.has(interp.offset, interp.filesz) && interp.filesz > 0n) {
      const raw = r.slice(interp.offset, interp.filesz, 'PT_INTERP');
      const nul = raw.indexOf(0);
      elf.interpreter = new TextDecoder('latin1').decode(nul >= 0 ? raw.subarray(0, nul) : raw);
    } else {
      warn(warnings, 'E_ELF_INTERP', 'PT_INTERP', `PT_INTERP at offset 0x${interp.offset.toString(16)} runs past the end of the file`, interp.offset);
    }
  }
  return elf;
}

function readHeader(r: ByteReader, cls: ElfClass, bytes: Uint8Array): ElfHeader {
  const need = cls === 64 ? 64 : 52;
  r.check(0, need, 'ELF header');
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

const programEntrySize = (cls: ElfClass) => (cls === 64 ? 56 : 32);
const sectionEntrySize = (cls: ElfClass) => (cls === 64 ? 64 : 40);

function readProgramHeaders(r: ByteReader, cls: ElfClass, h: ElfHeader, warnings: ElfWarning[]): ProgramHeader[] {
  if (h.phnum === 0) return [];
  if (h.phoff === 0n) {
    warn(warnings, 'E_ELF_PHDRS', 'e_phoff', `e_phnum is ${h.phnum} but e_phoff is 0`, 0n);
    return [];
  }
  const entsize = h.phentsize;
  if (entsize < programEntrySize(cls)) {
    warn(warnings, 'E_ELF_PHENTSIZE', 'e_phentsize', `e_phentsize ${entsize} is smaller than an ELF${cls} program header (${programEntrySize(cls)})`, h.phoff);
    return [];
  }
  if (h.phnum > MAX_TABLE_ENTRIES || !r.has(h.phoff, BigInt(h.phnum) * BigInt(entsize))) {
    warn(
      warnings,
      'E_ELF_PHDRS',
      'e_phoff',
      `program header table (${h.phnum} × ${entsize} bytes at offset 0x${h.phoff.toString(16)}) runs past the end of the file (${r.length} bytes)`,
      h.phoff,
    );
    return [];
  }
  const out: ProgramHeader[] = [];
  const base = Number(h.phoff);
  for (let i = 0; i < h.phnum; i++) {
    const o = base + i * entsize;
    if (cls === 64) {
      out.push({
        index: i,
        type: r.u32(o, 'p_type'),
        flags: r.u32(o + 4, 'p_flags'),
        offset: r.u64(o + 8, 'p_offset'),
        vaddr: r.u64(o + 16, 'p_vaddr'),
        paddr: r.u64(o + 24, 'p_paddr'),
        filesz: r.u64(o + 32, 'p_filesz'),
        memsz: r.u64(o + 40, 'p_memsz'),
        align: r.u64(o + 48, 'p_align'),
      });
    } else {
      out.push({
        index: i,
        type: r.u32(o, 'p_type'),
        offset: BigInt(r.u32(o + 4, 'p_offset')),
        vaddr: BigInt(r.u32(o + 8, 'p_vaddr')),
        paddr: BigInt(r.u32(o + 12, 'p_paddr')),
        filesz: BigInt(r.u32(o + 16, 'p_filesz')),
        memsz: BigInt(r.u32(o + 20, 'p_memsz')),
        flags: r.u32(o + 24, 'p_flags'),
        align: BigInt(r.u32(o + 28, 'p_align')),
      });
    }
  }
  return out;
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
  if (h.shoff === 0n || h.shnum === 0) return [];
  const entsize = h.shentsize;
  if (entsize < sectionEntrySize(cls)) {
    warn(warnings, 'E_ELF_SHENTSIZE', 'e_shentsize', `e_shentsize ${entsize} is smaller than an ELF${cls} section header (${sectionEntrySize(cls)})`, h.shoff);
    return [];
  }
  if (h.shnum > MAX_TABLE_ENTRIES || !r.has(h.shoff, BigInt(h.shnum) * BigInt(entsize))) {
    warn(
      warnings,
      'E_ELF_SHDRS',
      'e_shoff',
      `section header table (${h.shnum} × ${entsize} bytes at offset 0x${h.shoff.toString(16)}) runs past the end of the file (${r.length} bytes)`,
      h.shoff,
    );
    return [];
  }
  const base = Number(h.shoff);
  const out: SectionHeader[] = [];
  for (let i = 0; i < h.shnum; i++) out.push(readSection(r, cls, base + i * entsize, i));

  // Names from the section-name string table.
  if (h.shstrndx === 0) return out;
  const strtab = out[h.shstrndx];
  if (!strtab) {
    warn(warnings, 'E_ELF_SHSTRNDX', 'e_shstrndx', `e_shstrndx ${h.shstrndx} is not a valid section index (${h.shnum} sections)`, h.shoff);
    return out;
  }
  if (strtab.type === 8 /* SHT_NOBITS */ || !r.has(strtab.offset, strtab.size)) {
    warn(warnings, 'E_ELF_SHSTRTAB', 'sh_offset', `section-name string table (section ${h.shstrndx}) runs past the end of the file`, strtab.offset);
    return out;
  }
  const start = Number(strtab.offset);
  const end = start + Number(strtab.size);
  let bad = 0;
  for (const s of out) {
    if (s.nameOffset >= strtab.size) {
      bad++;
      continue;
    }
    let i = start + s.nameOffset;
    while (i < end && r.bytes[i] !== 0) i++;
    s.name = latin1.decode(r.bytes.subarray(start + s.nameOffset, i));
  }
  if (bad > 0) warn(warnings, 'E_ELF_SHNAME', 'sh_name', `${bad} section name offset(s) point past the section-name string table`, strtab.offset);
  return out;
}

const latin1 = new TextDecoder('latin1');

function safeCount(v: bigint): number {
  return v > BigInt(MAX_TABLE_ENTRIES) ? MAX_TABLE_ENTRIES + 1 : Number(v);
}

function warn(warnings: ElfWarning[], code: string, field: string, message: string, offset: bigint): void {
  warnings.push({ code, field, message, offset });
}
