/**
 * ELF structures as pagestack uses them (System V ABI, "ELF Header",
 * "Program Header", "Sections"). Field names follow the specification
 * without the e_/p_/sh_ prefixes. Every address, offset and size that is
 * 64 bits wide in ELF64 is a bigint, so kernel addresses above 2^53 keep
 * every bit. Counts and small fields are numbers.
 */

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

/** Damage that does not stop a page scan: the header is readable, a table is not. */
export interface ElfWarning {
  code: string;
  message: string;
  field: string;
  offset?: bigint;
}

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

export const SHT_NOBITS = 8;
export const PN_XNUM = 0xffff;
export const SHN_UNDEF = 0;
export const SHN_XINDEX = 0xffff;
