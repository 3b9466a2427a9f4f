/**
 * e_machine and EI_OSABI values that change how readelf names a type or a
 * flag (binutils include/elf/common.h). Only the ones src/elf needs.
 */

// e_machine
export const EM_MIPS = 8;
export const EM_MIPS_RS3_LE = 10;
export const EM_PARISC = 15;
export const EM_S390 = 22;
export const EM_S390_OLD = 0xa390;
export const EM_V800 = 36;
export const EM_ARM = 40;
export const EM_ARC = 45;
export const EM_IA_64 = 50;
export const EM_X86_64 = 62;
export const EM_V850 = 87;
export const EM_ARC_COMPACT = 93;
export const EM_MSP430 = 105;
export const EM_TI_C6000 = 140;
export const EM_L1OM = 180;
export const EM_K1OM = 181;
export const EM_AARCH64 = 183;
export const EM_ARC_COMPACT2 = 195;
export const EM_RISCV = 243;
export const EM_NFP = 250;
export const EM_CSKY = 252;
export const EM_CYGNUS_V850 = 0x9080;
export const EM_PPC = 20;

// EI_OSABI
export const ELFOSABI_NONE = 0;
export const ELFOSABI_HPUX = 1;
export const ELFOSABI_GNU = 3;
export const ELFOSABI_SOLARIS = 6;
export const ELFOSABI_FREEBSD = 9;

/** printf("%#x") as readelf uses it: 0 prints as "0", anything else with a 0x prefix. */
export const altHex = (v: number): string => (v === 0 ? '0' : `0x${v.toString(16)}`);
