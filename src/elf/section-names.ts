/**
 * Section names for ELF numbers, spelled as GNU readelf 2.40 prints them:
 * sh_type names and the sh_flags letters of readelf -S.
 *
 * readelf is the oracle for the reader (test/elf-readelf.test.ts), so the
 * names follow it exactly, including its arch- and OS-specific tables and its
 * fallbacks for unknown values ("LOOS+0x..", "LOPROC+0x..", "..: <unknown>").
 * A name depends on e_machine (processor-specific range) and EI_OSABI
 * (OS-specific range), as in the gABI.
 */
import {
  ELFOSABI_FREEBSD,
  ELFOSABI_GNU,
  ELFOSABI_NONE,
  ELFOSABI_SOLARIS,
  EM_AARCH64,
  EM_ARC,
  EM_ARC_COMPACT,
  EM_ARC_COMPACT2,
  EM_ARM,
  EM_CSKY,
  EM_CYGNUS_V850,
  EM_IA_64,
  EM_K1OM,
  EM_L1OM,
  EM_MIPS,
  EM_MIPS_RS3_LE,
  EM_MSP430,
  EM_NFP,
  EM_PARISC,
  EM_PPC,
  EM_RISCV,
  EM_TI_C6000,
  EM_V800,
  EM_V850,
  EM_X86_64,
  altHex,
} from './machines.js';

const hex = (v: number | bigint) => v.toString(16);

// ---------------------------------------------------------------- sh_type

const SECTION_TYPES: Record<number, string> = {
  0: 'NULL',
  1: 'PROGBITS',
  2: 'SYMTAB',
  3: 'STRTAB',
  4: 'RELA',
  5: 'HASH',
  6: 'DYNAMIC',
  7: 'NOTE',
  8: 'NOBITS',
  9: 'REL',
  10: 'SHLIB',
  11: 'DYNSYM',
  14: 'INIT_ARRAY',
  15: 'FINI_ARRAY',
  16: 'PREINIT_ARRAY',
  17: 'GROUP',
  18: 'SYMTAB SECTION INDICES',
  19: 'RELR',
  0x6ffffffd: 'VERDEF', // SHT_GNU_verdef
  0x6ffffffe: 'VERNEED', // SHT_GNU_verneed
  0x6fffffff: 'VERSYM', // SHT_GNU_versym
  0x6ffffff0: 'VERSYM',
  0x6ffffffc: 'VERDEF',
  0x7ffffffd: 'AUXILIARY',
  0x7fffffff: 'FILTER',
  0x6ffffff7: 'GNU_LIBLIST',
  0x6ffffff6: 'GNU_HASH',
};

const MIPS_SECTION_TYPES: Record<number, string> = {
  0x70000000: 'MIPS_LIBLIST',
  0x70000001: 'MIPS_MSYM',
  0x70000002: 'MIPS_CONFLICT',
  0x70000003: 'MIPS_GPTAB',
  0x70000004: 'MIPS_UCODE',
  0x70000005: 'MIPS_DEBUG',
  0x70000006: 'MIPS_REGINFO',
  0x70000007: 'MIPS_PACKAGE',
  0x70000008: 'MIPS_PACKSYM',
  0x70000009: 'MIPS_RELD',
  0x7000000b: 'MIPS_IFACE',
  0x7000000c: 'MIPS_CONTENT',
  0x7000000d: 'MIPS_OPTIONS',
  0x70000010: 'MIPS_SHDR',
  0x70000011: 'MIPS_FDESC',
  0x70000012: 'MIPS_EXTSYM',
  0x70000013: 'MIPS_DENSE',
  0x70000014: 'MIPS_PDESC',
  0x70000015: 'MIPS_LOCSYM',
  0x70000016: 'MIPS_AUXSYM',
  0x70000017: 'MIPS_OPTSYM',
  0x70000018: 'MIPS_LOCSTR',
  0x70000019: 'MIPS_LINE',
  0x7000001a: 'MIPS_RFDESC',
  0x7000001b: 'MIPS_DELTASYM',
  0x7000001c: 'MIPS_DELTAINST',
  0x7000001d: 'MIPS_DELTACLASS',
  0x7000001e: 'MIPS_DWARF',
  0x7000001f: 'MIPS_DELTADECL',
  0x70000020: 'MIPS_SYMBOL_LIB',
  0x70000021: 'MIPS_EVENTS',
  0x70000022: 'MIPS_TRANSLATE',
  0x70000023: 'MIPS_PIXIE',
  0x70000024: 'MIPS_XLATE',
  0x70000025: 'MIPS_XLATE_DEBUG',
  0x70000026: 'MIPS_WHIRL',
  0x70000027: 'MIPS_EH_REGION',
  0x70000028: 'MIPS_XLATE_OLD',
  0x70000029: 'MIPS_PDR_EXCEPTION',
  0x7000002a: 'MIPS_ABIFLAGS',
  0x7000002b: 'MIPS_XHASH',
};

const PARISC_SECTION_TYPES: Record<number, string> = {
  0x70000000: 'PARISC_EXT',
  0x70000001: 'PARISC_UNWIND',
  0x70000002: 'PARISC_DOC',
  0x70000003: 'PARISC_ANNOT',
  0x70000004: 'PARISC_DLKM',
  0x70000008: 'PARISC_SYMEXTN',
  0x70000009: 'PARISC_STUBS',
};

const IA64_SECTION_TYPES: Record<number, string> = {
  0x70000000: 'IA_64_EXT',
  0x70000001: 'IA_64_UNWIND',
  0x60000000: 'VMS_TRACE',
  0x60000001: 'VMS_TIE_SIGNATURES',
  0x60000002: 'VMS_DEBUG',
  0x60000003: 'VMS_DEBUG_STR',
  0x60000004: 'VMS_LINKAGES',
  0x60000005: 'VMS_SYMBOL_VECTOR',
  0x60000006: 'VMS_FIXUP',
};

const ARM_SECTION_TYPES: Record<number, string> = {
  0x70000001: 'ARM_EXIDX',
  0x70000002: 'ARM_PREEMPTMAP',
  0x70000003: 'ARM_ATTRIBUTES',
  0x70000004: 'ARM_DEBUGOVERLAY',
  0x70000005: 'ARM_OVERLAYSECTION',
};

const TIC6X_SECTION_TYPES: Record<number, string> = {
  0x70000001: 'C6000_UNWIND',
  0x70000002: 'C6000_PREEMPTMAP',
  0x70000003: 'C6000_ATTRIBUTES',
  0x7f000000: 'TI_ICODE',
  0x7f000001: 'TI_XREF',
  0x7f000002: 'TI_HANDLER',
  0x7f000003: 'TI_INITINFO',
  0x7f000004: 'TI_PHATTRS',
};

const MSP430_SECTION_TYPES: Record<number, string> = {
  0x7f000005: 'MSP430_SEC_FLAGS',
  0x7f000006: 'MSP430_SYM_ALIASES',
  0x70000003: 'MSP430_ATTRIBUTES',
};

const V850_SECTION_TYPES: Record<number, string> = {
  0x70000000: 'V850 Small Common',
  0x70000001: 'V850 Tiny Common',
  0x70000002: 'V850 Zero Common',
  0x80000000: 'RENESAS IOP',
  0xa0000000: 'RENESAS INFO',
};

const NFP_SECTION_TYPES: Record<number, string> = {
  0x70000001: 'NFP_MECONFIG',
  0x70000002: 'NFP_INITREG',
  0x80000000: 'NFP_UDEBUG',
};

const SOLARIS_SECTION_TYPES: Record<number, string> = {
  0x6fffffee: 'SUNW_ancillary',
  0x6fffffef: 'SUNW_capchain',
  0x6ffffff0: 'SUNW_capinfo',
  0x6ffffff1: 'SUNW_symsort',
  0x6ffffff2: 'SUNW_tlssort',
  0x6ffffff3: 'SUNW_LDYNSYM',
  0x6ffffff4: 'SUNW_dof',
  0x6ffffff5: 'SUNW_cap',
  0x6ffffff6: 'SUNW_SIGNATURE',
  0x6ffffff7: 'SUNW_ANNOTATE',
  0x6ffffff8: 'SUNW_DEBUGSTR',
  0x6ffffff9: 'SUNW_DEBUG',
  0x6ffffffa: 'SUNW_move',
  0x6ffffffb: 'SUNW_COMDAT',
  0x6ffffffc: 'SUNW_syminfo',
  0x6ffffffd: 'SUNW_verdef',
  0x6ffffffe: 'SUNW_verneed',
  0x6fffffff: 'SUNW_versym',
};

const GNU_OS_SECTION_TYPES: Record<number, string> = {
  0x6fff4700: 'GNU_INCREMENTAL_INPUTS',
  0x6ffffff5: 'GNU_ATTRIBUTES',
  0x6ffffff6: 'GNU_HASH',
  0x6ffffff7: 'GNU_LIBLIST',
};

function processorSectionType(type: number, machine: number): string | undefined {
  switch (machine) {
    case EM_ARC:
    case EM_ARC_COMPACT:
    case EM_ARC_COMPACT2:
      return type === 0x70000001 ? 'ARC_ATTRIBUTES' : undefined;
    case EM_MIPS:
    case EM_MIPS_RS3_LE:
      return MIPS_SECTION_TYPES[type];
    case EM_PARISC:
      return PARISC_SECTION_TYPES[type];
    case EM_IA_64:
      return ia64SectionType(type);
    case EM_X86_64:
    case EM_L1OM:
    case EM_K1OM:
      return type === 0x70000001 ? 'X86_64_UNWIND' : undefined;
    case EM_AARCH64:
      return type === 0x70000003 ? 'AARCH64_ATTRIBUTES' : undefined;
    case EM_ARM:
      return ARM_SECTION_TYPES[type];
    case EM_TI_C6000:
      return TIC6X_SECTION_TYPES[type];
    case EM_MSP430:
      return MSP430_SECTION_TYPES[type];
    case EM_NFP:
      return NFP_SECTION_TYPES[type];
    case EM_V800:
    case EM_V850:
    case EM_CYGNUS_V850:
      return V850_SECTION_TYPES[type];
    case EM_RISCV:
      return type === 0x70000003 ? 'RISCV_ATTRIBUTES' : undefined;
    case EM_CSKY:
      return type === 0x70000001 ? 'CSKY_ATTRIBUTES' : undefined;
    default:
      return undefined;
  }
}

function ia64SectionType(type: number): string | undefined {
  return IA64_SECTION_TYPES[type];
}

/**
 * sh_type as readelf prints it: "PROGBITS", "ARM_EXIDX", "LOOS+0xffffff4", ...
 * `machine` is e_machine and `osabi` is EI_OSABI of the file.
 */
export function sectionTypeName(type: number, machine: number, osabi: number): string {
  const generic = SECTION_TYPES[type];
  if (generic !== undefined) return generic;
  if (type >= 0x70000000 && type <= 0x7fffffff) {
    return processorSectionType(type, machine) ?? `LOPROC+${altHex(type - 0x70000000)}`;
  }
  if (type >= 0x60000000 && type <= 0x6fffffff) {
    let name: string | undefined;
    if (machine === EM_IA_64) name = ia64SectionType(type);
    else if (osabi === ELFOSABI_SOLARIS) name = SOLARIS_SECTION_TYPES[type];
    else name = GNU_OS_SECTION_TYPES[type];
    return name ?? `LOOS+${altHex(type - 0x60000000)}`;
  }
  if (type >= 0x80000000 && type <= 0xffffffff) {
    const isV850 = machine === EM_V800 || machine === EM_V850 || machine === EM_CYGNUS_V850;
    return (isV850 ? V850_SECTION_TYPES[type] : undefined) ?? `LOUSER+${altHex(type - 0x80000000)}`;
  }
  return `${hex(type).padStart(8, '0')}: <unknown>`;
}

// ---------------------------------------------------------------- flags

const SHF_WRITE = 0x1n;
const SHF_ALLOC = 0x2n;
const SHF_EXECINSTR = 0x4n;
const SHF_MERGE = 0x10n;
const SHF_STRINGS = 0x20n;
const SHF_INFO_LINK = 0x40n;
const SHF_LINK_ORDER = 0x80n;
const SHF_OS_NONCONFORMING = 0x100n;
const SHF_GROUP = 0x200n;
const SHF_TLS = 0x400n;
const SHF_COMPRESSED = 0x800n;
const SHF_GNU_RETAIN = 0x200000n;
const SHF_GNU_MBIND = 0x01000000n;
const SHF_EXCLUDE = 0x80000000n;
const SHF_MASKOS = 0x0ff00000n;
const SHF_MASKPROC = 0xf0000000n;
const SHF_X86_64_LARGE = 0x10000000n;
const SHF_ARM_PURECODE = 0x20000000n;
const SHF_PPC_VLE = 0x10000000n;

const GENERIC_FLAG_LETTERS = new Map<bigint, string>([
  [SHF_WRITE, 'W'],
  [SHF_ALLOC, 'A'],
  [SHF_EXECINSTR, 'X'],
  [SHF_MERGE, 'M'],
  [SHF_STRINGS, 'S'],
  [SHF_INFO_LINK, 'I'],
  [SHF_LINK_ORDER, 'L'],
  [SHF_OS_NONCONFORMING, 'O'],
  [SHF_GROUP, 'G'],
  [SHF_TLS, 'T'],
  [SHF_EXCLUDE, 'E'],
  [SHF_COMPRESSED, 'C'],
]);

/**
 * sh_flags as the letters of readelf -S ("WA", "AX", "MS", "WAo", ...): one
 * letter per set bit from the lowest, a single 'o' for the remaining
 * OS-specific bits and a single 'p' for the processor-specific ones, 'x' for
 * each unknown bit (as readelf does, 'p' also swallows any bits above 31). Machine- and OS-specific letters: l (x86-64 large),
 * y (ARM purecode), v (PowerPC VLE), R (GNU retain), D (GNU mbind).
 */
export function sectionFlagsString(flags: bigint, machine: number, osabi: number): string {
  let rest = flags;
  let out = '';
  while (rest !== 0n) {
    const flag = rest & -rest;
    rest &= ~flag;
    const letter = GENERIC_FLAG_LETTERS.get(flag);
    if (letter !== undefined) {
      out += letter;
      continue;
    }
    if ((machine === EM_X86_64 || machine === EM_L1OM || machine === EM_K1OM) && flag === SHF_X86_64_LARGE) out += 'l';
    else if (machine === EM_ARM && flag === SHF_ARM_PURECODE) out += 'y';
    else if (machine === EM_PPC && flag === SHF_PPC_VLE) out += 'v';
    else if ((flag & SHF_MASKOS) !== 0n) {
      if ((osabi === ELFOSABI_GNU || osabi === ELFOSABI_FREEBSD) && flag === SHF_GNU_RETAIN) out += 'R';
      else if (
        (osabi === ELFOSABI_GNU || osabi === ELFOSABI_FREEBSD || osabi === ELFOSABI_NONE) &&
        flag === SHF_GNU_MBIND
      )
        out += 'D';
      else {
        out += 'o';
        rest &= ~SHF_MASKOS;
      }
    } else if ((flag & SHF_MASKPROC) !== 0n) {
      out += 'p';
      // readelf computes ~SHF_MASKPROC in 32-bit unsigned arithmetic, which also clears bits 32..63.
      rest &= ~SHF_MASKPROC & 0xffffffffn;
    } else out += 'x';
  }
  return out;
}
