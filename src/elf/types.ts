/**
 * ELF structures as pagestack uses them (System V ABI, "ELF Header",
 * "Program Header", "Sections"). Field names follow the specification
 * without the e_/p_/sh_ prefixes. Every address, offset and size that is
 * 64 bits wide in ELF64 is a bigint, so kernel addresses above 2^53 keep
 * every bit. Counts and small fields are numbers.
 */
import type { ErrorCode } from '../error-codes.js';

export type ElfClass = 32 | 64;
export type ElfData = 'lsb' | 'msb';

export interface ElfHeader {
  /** EI_CLASS: 32 or 64. */
  class: ElfClass;
  /** EI_DATA: 'lsb' (little-endian) or 'msb' (big-endian). */
  data: ElfData;
  /** EI_VERSION. */
  identVersion: number;
  /** EI_OSABI. */
  osabi: number;
  /** EI_ABIVERSION. */
  abiVersion: number;
  /** e_type: ET_NONE 0, ET_REL 1, ET_EXEC 2, ET_DYN 3, ET_CORE 4, or other. */
  type: number;
  /** e_machine (EM_X86_64 = 62, EM_AARCH64 = 183, ...). */
  machine: number;
  version: number;
  entry: bigint;
  phoff: bigint;
  shoff: bigint;
  flags: number;
  ehsize: number;
  phentsize: number;
  /** e_phnum as stored (may be PN_XNUM = 0xffff). */
  phnumRaw: number;
  /** Program header count after extended numbering (section 0's sh_info when e_phnum == PN_XNUM). */
  phnum: number;
  shentsize: number;
  /** e_shnum as stored (0 with extended numbering). */
  shnumRaw: number;
  /** Section count after extended numbering (section 0's sh_size when e_shnum == 0 and e_shoff != 0). */
  shnum: number;
  /** e_shstrndx as stored (may be SHN_XINDEX = 0xffff). */
  shstrndxRaw: number;
  /** Section-name string table index after extended numbering (section 0's sh_link). */
  shstrndx: number;
}

export interface ProgramHeader {
  index: number;
  /** p_type; unknown values are kept as the number. */
  type: number;
  /** p_flags: PF_X 1, PF_W 2, PF_R 4. */
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

export interface SectionHeader {
  index: number;
  /** Name from the section-name string table; '' when there is none or it is damaged. */
  name: string;
  /** sh_name: offset into the section-name string table. */
  nameOffset: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}

/**
 * Damage that does not stop a page scan: the ELF header is readable, some
 * table or entry is not right. `code` is one of ELF_WARNING_CODES; `field`
 * names the faulty field (e_shoff, sh_link, p_filesz, ...) and `offset` is
 * that field's own position in the file, so a hex dump shows the bytes at
 * fault. The message says what the value is and why it is wrong.
 */
export interface ElfWarning {
  code: ErrorCode;
  message: string;
  field: string;
  offset: bigint;
}

/** Every warning code the reader gives, with what it means. A table named here as dropped is returned empty. */
export const ELF_WARNING_CODES = {
  E_ELF_XNUM:
    'extended numbering (PN_XNUM, e_shnum 0, SHN_XINDEX) cannot be resolved: section 0 is unreadable or says 0',
  E_ELF_PHDRS: 'the program header table runs past the end of the file, or e_phoff is 0: table dropped',
  E_ELF_PHENTSIZE:
    'e_phentsize is smaller than a program header (table dropped) or larger (entries read at that stride)',
  E_ELF_PHOFF: 'e_phoff is set but e_phnum is 0',
  E_ELF_SHDRS: 'the section header table runs past the end of the file, or e_shoff is 0: table dropped',
  E_ELF_SHENTSIZE:
    'e_shentsize is smaller than a section header (table dropped) or larger (entries read at that stride)',
  E_ELF_SHOFF: 'e_shoff is set but there are no section headers',
  E_ELF_SHSTRNDX: 'e_shstrndx is not a valid section index: sections have no names',
  E_ELF_SHSTRTAB: 'the section-name string table is empty, SHT_NOBITS or past the end: sections have no names',
  E_ELF_SHNAME: 'some sh_name offsets point past the section-name string table: those sections have no name',
  E_ELF_INTERP: 'PT_INTERP is empty or runs past the end of the file: no interpreter',
  E_ELF_TABLE_OVERLAP: 'the ELF header, program header table and section header table overlap',
  E_ELF_SHLINK: 'a section sh_link does not index the kind of section its type needs',
  E_ELF_SHINFO: 'a section sh_info is out of range or not what its type needs',
  E_ELF_SECTION_ENTSIZE: 'a symbol, relocation or group table has the wrong sh_entsize',
  E_ELF_SECTION_SIZE: 'a section is larger than the whole file',
  E_ELF_SECTION_RANGE: 'a section holds bytes past the end of the file',
  E_ELF_DYNSYM: 'more than one SHT_DYNSYM section',
  E_ELF_DYNSTR: 'more than one .dynstr string table',
  E_ELF_DYNAMIC: 'PT_DYNAMIC without a .dynamic section, twice, or past the end of the file',
  E_ELF_PHDR: 'PT_PHDR after a PT_LOAD or not inside any PT_LOAD',
  E_ELF_SEGMENT_SIZE: 'a PT_LOAD has p_filesz larger than p_memsz',
  E_ELF_SEGMENT_RANGE: 'a PT_LOAD maps file bytes past the end of the file',
} as const;

export type ElfWarningCode = keyof typeof ELF_WARNING_CODES;

export interface ElfFile {
  file: string;
  size: number;
  header: ElfHeader;
  /** Empty when e_phoff/e_phnum are 0 or the table is damaged (then see warnings). */
  programHeaders: ProgramHeader[];
  /** Empty when e_shoff/e_shnum are 0 or the table is damaged (then see warnings). */
  sections: SectionHeader[];
  /** The PT_INTERP path, if present and readable. */
  interpreter?: string;
  warnings: ElfWarning[];
}

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

/** Section types (gABI sh_type; GNU ones from binutils elf/common.h). */
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_HASH = 5;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_INIT_ARRAY = 14;
export const SHT_FINI_ARRAY = 15;
export const SHT_PREINIT_ARRAY = 16;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;
export const SHT_RELR = 19;
export const SHT_LOOS = 0x60000000;
export const SHT_GNU_HASH = 0x6ffffff6;
export const SHT_GNU_LIBLIST = 0x6ffffff7;
export const SHT_GNU_VERDEF = 0x6ffffffd;
export const SHT_GNU_VERNEED = 0x6ffffffe;
export const SHT_GNU_VERSYM = 0x6fffffff;

export const PN_XNUM = 0xffff;
export const SHN_UNDEF = 0;
export const SHN_XINDEX = 0xffff;
