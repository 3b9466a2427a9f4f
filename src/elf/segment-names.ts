/**
 * Segment names as GNU readelf 2.40 prints them (p_type, as in readelf -l),
 * and p_flags spelled like /proc/PID/maps. See section-names.ts for the rules.
 */
import {
  ELFOSABI_FREEBSD,
  ELFOSABI_GNU,
  ELFOSABI_HPUX,
  ELFOSABI_SOLARIS,
  EM_AARCH64,
  EM_ARM,
  EM_IA_64,
  EM_MIPS,
  EM_MIPS_RS3_LE,
  EM_PARISC,
  EM_RISCV,
  EM_S390,
  EM_S390_OLD,
  EM_TI_C6000,
  altHex,
} from './machines.js';

const hex = (v: number | bigint) => v.toString(16);

// ---------------------------------------------------------------- p_type

const SEGMENT_TYPES: Record<number, string> = {
  0: 'NULL',
  1: 'LOAD',
  2: 'DYNAMIC',
  3: 'INTERP',
  4: 'NOTE',
  5: 'SHLIB',
  6: 'PHDR',
  7: 'TLS',
  0x6474e550: 'GNU_EH_FRAME',
  0x6474e551: 'GNU_STACK',
  0x6474e552: 'GNU_RELRO',
  0x6474e553: 'GNU_PROPERTY',
  0x6474e554: 'GNU_SFRAME',
  0x65a3dbe6: 'OPENBSD_RANDOM',
  0x65a3dbe7: 'OPENBSD_WXNEED',
  0x65a41be6: 'OPENBSD_BOOTDATA',
};

const MIPS_SEGMENT_TYPES: Record<number, string> = {
  0x70000000: 'REGINFO',
  0x70000001: 'RTPROC',
  0x70000002: 'OPTIONS',
  0x70000003: 'ABIFLAGS',
};

const PARISC_SEGMENT_TYPES: Record<number, string> = {
  0x70000000: 'PARISC_ARCHEXT',
  0x70000001: 'PARISC_UNWIND',
  0x70000002: 'PARISC_WEAKORDER',
};

const HPUX_PARISC_SEGMENT_TYPES: Record<number, string> = {
  0x60000000: 'HP_TLS',
  0x60000001: 'HP_CORE_NONE',
  0x60000002: 'HP_CORE_VERSION',
  0x60000003: 'HP_CORE_KERNEL',
  0x60000004: 'HP_CORE_COMM',
  0x60000005: 'HP_CORE_PROC',
  0x60000006: 'HP_CORE_LOADABLE',
  0x60000007: 'HP_CORE_STACK',
  0x60000008: 'HP_CORE_SHM',
  0x60000009: 'HP_CORE_MMF',
  0x60000010: 'HP_PARALLEL',
  0x60000011: 'HP_FASTBIND',
  0x60000012: 'HP_OPT_ANNOT',
  0x60000013: 'HP_HSL_ANNOT',
  0x60000014: 'HP_STACK',
  0x60000015: 'HP_CORE_UTSNAME',
};

const HPUX_IA64_SEGMENT_TYPES: Record<number, string> = {
  0x60000000: 'HP_TLS',
  0x60000012: 'HP_OPT_ANNOT',
  0x60000013: 'HP_HSL_ANNOT',
  0x60000014: 'HP_STACK',
};

const SOLARIS_SEGMENT_TYPES: Record<number, string> = {
  0x6464e550: 'PT_SUNW_UNWIND',
  0x6474e550: 'PT_SUNW_EH_FRAME',
  0x6ffffff7: 'PT_LOSUNW',
  0x6ffffffa: 'PT_SUNWBSS',
  0x6ffffffb: 'PT_SUNWSTACK',
  0x6ffffffc: 'PT_SUNWDTRACE',
  0x6ffffffd: 'PT_SUNWCAP',
  0x6fffffff: 'PT_HISUNW',
};

const PT_GNU_MBIND_LO = 0x6474e555;
const PT_GNU_MBIND_HI = PT_GNU_MBIND_LO + 4096 - 1;

function processorSegmentType(type: number, machine: number): string | undefined {
  switch (machine) {
    case EM_AARCH64:
      return type === 0x70000000 ? 'AARCH64_ARCHEXT' : type === 0x70000002 ? 'AARCH64_MEMTAG_MTE' : undefined;
    case EM_ARM:
      return type === 0x70000001 ? 'EXIDX' : undefined;
    case EM_MIPS:
    case EM_MIPS_RS3_LE:
      return MIPS_SEGMENT_TYPES[type];
    case EM_PARISC:
      return PARISC_SEGMENT_TYPES[type];
    case EM_IA_64:
      return type === 0x70000000 ? 'IA_64_ARCHEXT' : type === 0x70000001 ? 'IA_64_UNWIND' : undefined;
    case EM_TI_C6000:
      return type === 0x70000000 ? 'C6000_PHATTR' : undefined;
    case EM_S390:
    case EM_S390_OLD:
      return type === 0x70000000 ? 'S390_PGSTE' : undefined;
    case EM_RISCV:
      return type === 0x70000003 ? 'RISCV_ATTRIBUTES' : undefined;
    default:
      return undefined;
  }
}

function osSegmentType(type: number, machine: number, osabi: number): string | undefined {
  switch (osabi) {
    case ELFOSABI_GNU:
    case ELFOSABI_FREEBSD:
      return type >= PT_GNU_MBIND_LO && type <= PT_GNU_MBIND_HI
        ? `GNU_MBIND+${altHex(type - PT_GNU_MBIND_LO)}`
        : undefined;
    case ELFOSABI_HPUX:
      if (machine === EM_PARISC) return HPUX_PARISC_SEGMENT_TYPES[type];
      if (machine === EM_IA_64) return HPUX_IA64_SEGMENT_TYPES[type];
      return undefined;
    case ELFOSABI_SOLARIS:
      return SOLARIS_SEGMENT_TYPES[type];
    default:
      return undefined;
  }
}

/**
 * p_type as readelf names it: "LOAD", "GNU_STACK", "EXIDX", "LOOS+0x5041580", ...
 * readelf -l prints only the first 14 characters of it.
 */
export function segmentTypeName(type: number, machine: number, osabi: number): string {
  const generic = SEGMENT_TYPES[type];
  if (generic !== undefined) return generic;
  if (type >= 0x70000000 && type <= 0x7fffffff) {
    return processorSegmentType(type, machine) ?? `LOPROC+${altHex(type - 0x70000000)}`;
  }
  if (type >= 0x60000000 && type <= 0x6fffffff) {
    return osSegmentType(type, machine, osabi) ?? `LOOS+${altHex(type - 0x60000000)}`;
  }
  return `<unknown>: ${hex(type)}`;
}

/** p_flags as "r-x" (PF_R, PF_W, PF_X), the spelling of /proc/PID/maps. Other bits are ignored. */
export function segmentFlagsString(flags: number): string {
  return (flags & 4 ? 'r' : '-') + (flags & 2 ? 'w' : '-') + (flags & 1 ? 'x' : '-');
}
