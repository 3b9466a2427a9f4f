/**
 * Recording damage as ElfWarning: each warning names the faulty field and
 * its file offset, so a hex dump shows the bytes at fault. Field offsets are
 * those of the gABI structures (Elf32/Elf64 _Ehdr, _Phdr, _Shdr).
 */
import type { ElfHeader, ElfWarning, ElfWarningCode } from './types.js';

export type HeaderField = 'e_phoff' | 'e_shoff' | 'e_phentsize' | 'e_phnum' | 'e_shentsize' | 'e_shnum' | 'e_shstrndx';
export type SectionField = 'sh_name' | 'sh_type' | 'sh_offset' | 'sh_size' | 'sh_link' | 'sh_info' | 'sh_entsize';
export type ProgramField = 'p_type' | 'p_offset' | 'p_filesz';

/** [ELF32 offset, ELF64 offset] of each field within its structure. */
const HEADER_FIELDS: Record<HeaderField, readonly [number, number]> = {
  e_phoff: [28, 32],
  e_shoff: [32, 40],
  e_phentsize: [42, 54],
  e_phnum: [44, 56],
  e_shentsize: [46, 58],
  e_shnum: [48, 60],
  e_shstrndx: [50, 62],
};
const SECTION_FIELDS: Record<SectionField, readonly [number, number]> = {
  sh_name: [0, 0],
  sh_type: [4, 4],
  sh_offset: [16, 24],
  sh_size: [20, 32],
  sh_link: [24, 40],
  sh_info: [28, 44],
  sh_entsize: [36, 56],
};
const PROGRAM_FIELDS: Record<ProgramField, readonly [number, number]> = {
  p_type: [0, 0],
  p_offset: [4, 8],
  p_filesz: [16, 32],
};

const pick = (h: ElfHeader, offsets: readonly [number, number]) => BigInt(h.class === 64 ? offsets[1] : offsets[0]);

/** Damage to an ELF header field. */
export function warnHeader(
  warnings: ElfWarning[],
  h: ElfHeader,
  code: ElfWarningCode,
  field: HeaderField,
  message: string,
): void {
  warnings.push({ code, field, message, offset: pick(h, HEADER_FIELDS[field]) });
}

/** Damage to a field of section header `index`. */
export function warnSection(
  warnings: ElfWarning[],
  h: ElfHeader,
  code: ElfWarningCode,
  index: number,
  field: SectionField,
  message: string,
): void {
  const entry = h.shoff + BigInt(index) * BigInt(h.shentsize);
  warnings.push({ code, field, message, offset: entry + pick(h, SECTION_FIELDS[field]) });
}

/** Damage to a field of program header `index`. */
export function warnProgram(
  warnings: ElfWarning[],
  h: ElfHeader,
  code: ElfWarningCode,
  index: number,
  field: ProgramField,
  message: string,
): void {
  const entry = h.phoff + BigInt(index) * BigInt(h.phentsize);
  warnings.push({ code, field, message, offset: entry + pick(h, PROGRAM_FIELDS[field]) });
}
