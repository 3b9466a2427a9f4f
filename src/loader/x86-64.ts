/**
 * The x86-64 constants execve uses, with address randomisation off and
 * 4-level paging (47-bit user space). Every value names the kernel symbol it
 * mirrors and the file that defines it. Addresses are bigint here because
 * binfmt_elf.c does its arithmetic in unsigned long, wrapping modulo 2^64;
 * src/loader converts to number only once a value is known to be a user
 * address (< TASK_SIZE).
 */

/** PAGE_SIZE (arch/x86/include/asm/page_types.h). */
export const PAGE_SIZE = 4096n;

/** ELF_MIN_ALIGN: ELF_EXEC_PAGESIZE (4096 on x86) or PAGE_SIZE, whichever is larger (fs/binfmt_elf.c). */
export const ELF_MIN_ALIGN = 4096n;

/** ELF_PAGESTART(v): round down to ELF_MIN_ALIGN. */
export const elfPageStart = (v: bigint): bigint => u64(v & ~(ELF_MIN_ALIGN - 1n));
/** ELF_PAGEOFFSET(v): the offset inside the page. */
export const elfPageOffset = (v: bigint): bigint => u64(v) & (ELF_MIN_ALIGN - 1n);
/** ELF_PAGEALIGN(v): round up to ELF_MIN_ALIGN. */
export const elfPageAlign = (v: bigint): bigint => u64((v + ELF_MIN_ALIGN - 1n) & ~(ELF_MIN_ALIGN - 1n));

/** Unsigned long arithmetic: wrap to 64 bits as C does. */
export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/**
 * DEFAULT_MAP_WINDOW = (1 << 47) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h).
 * With 4-level paging it equals TASK_SIZE_MAX, TASK_SIZE (64-bit task),
 * STACK_TOP and STACK_TOP_MAX.
 */
export const DEFAULT_MAP_WINDOW = (1n << 47n) - PAGE_SIZE;
export const TASK_SIZE = DEFAULT_MAP_WINDOW;
/** STACK_TOP = TASK_SIZE_LOW = DEFAULT_MAP_WINDOW (arch/x86/include/asm/processor.h). */
export const STACK_TOP = DEFAULT_MAP_WINDOW;

/** BAD_ADDR(x): x >= TASK_SIZE (fs/binfmt_elf.c). */
export const badAddr = (x: bigint): boolean => u64(x) >= TASK_SIZE;

/** ELF_ET_DYN_BASE = DEFAULT_MAP_WINDOW / 3 * 2 = 0x555555554aaa (arch/x86/include/asm/elf.h). */
export const ELF_ET_DYN_BASE = (DEFAULT_MAP_WINDOW / 3n) * 2n;

/** vm.mmap_min_addr default, CONFIG_DEFAULT_MMAP_MIN_ADDR = 65536 on x86 (mm/Kconfig). */
export const MMAP_MIN_ADDR = 65536n;

/** stack_guard_gap = 256 pages (mm/mmap.c); vm_start_gap() keeps it free below a VM_GROWSDOWN VMA. */
export const STACK_GUARD_GAP = 256n * PAGE_SIZE;

/** PMD_SIZE: a 2 MiB huge page (arch/x86/include/asm/pgtable_64_types.h). */
export const PMD_SIZE = 2n << 20n;

/** _STK_LIM = 8 MiB, the default RLIMIT_STACK (include/uapi/linux/resource.h). */
export const STK_LIM = 8n << 20n;
/** RLIM_INFINITY. */
export const RLIM_INFINITY = (1n << 64n) - 1n;

/** Stack growth setup_arg_pages adds below the argument pages: 128 KiB (fs/exec.c). */
export const STACK_EXPAND = 131072n;

/** MAX_ARG_STRLEN = 32 pages: the longest single argv/envp string (include/uapi/linux/binfmts.h). */
export const MAX_ARG_STRLEN = 32n * PAGE_SIZE;
/** ARG_MAX = 32 pages: the least room exec guarantees for arguments (include/uapi/linux/limits.h). */
export const ARG_MAX = 32n * PAGE_SIZE;

/**
 * mmap_base() from arch/x86/mm/mmap.c, without randomisation
 * (stack_maxrandom_size() = 0, rnd = 0): the gap below the stack is
 * RLIMIT_STACK + stack_guard_gap, clamped to [128 MiB, TASK_SIZE / 6 * 5].
 * For the usual 8 MiB limit: 0x7ffffffff000 - 128 MiB = 0x7ffff7fff000.
 */
export function mmapBase(rlimitStack: bigint): bigint {
  let gap = rlimitStack;
  const pad = STACK_GUARD_GAP;
  // "Values close to RLIM_INFINITY can overflow."
  if (u64(gap + pad) > gap) gap += pad;
  const gapMin = 128n << 20n;
  const gapMax = (TASK_SIZE / 6n) * 5n;
  if (gap < gapMin) gap = gapMin;
  else if (gap > gapMax) gap = gapMax;
  return pageAlign(TASK_SIZE - gap);
}

export const pageAlign = (v: bigint): bigint => (v + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);
export const pageStart = (v: bigint): bigint => v & ~(PAGE_SIZE - 1n);

/** ELF_PLATFORM = utsname()->machine (arch/x86/include/asm/elf.h). */
export const ELF_PLATFORM = 'x86_64';

/** EM_X86_64 (include/uapi/linux/elf-em.h). */
export const EM_X86_64 = 62;

/** sizeof(struct elf64_phdr). */
export const ELF64_PHDR_SIZE = 56;

/** PATH_MAX (include/uapi/linux/limits.h): the longest PT_INTERP load_elf_binary accepts. */
export const PATH_MAX = 4096;

/** MAXSYMLINKS (include/linux/namei.h): symlinks followed in one lookup. */
export const MAXSYMLINKS = 40;

/**
 * The vDSO as 6.18 maps it on x86-64 (arch/x86/entry/vdso/vma.c map_vdso,
 * the generic vDSO data store): [vvar] (data pages), [vvar_vclock]
 * (pvclock/hvclock pages), then [vdso] (the code image). Page counts
 * measured on this kernel; they depend on the kernel build.
 */
export interface VdsoLayout {
  vvarPages: number;
  vclockPages: number;
  imagePages: number;
}
export const VDSO_6_18: VdsoLayout = { vvarPages: 4, vclockPages: 2, imagePages: 2 };
