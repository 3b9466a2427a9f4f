/**
 * The initial stack: fs/exec.c (bprm_mm_init, bprm_stack_limits,
 * copy_strings, setup_arg_pages) and fs/binfmt_elf.c (create_elf_tables),
 * x86-64 with address randomisation off.
 *
 * From the top of the stack VMA (STACK_TOP = 0x7ffffffff000) down:
 *   8 bytes of zero; the filename passed to execve (AT_EXECFN); the envp
 *   strings; the argv strings (mm->arg_start); then, after aligning to 16
 *   bytes, the platform string "x86_64", 16 random bytes (AT_RANDOM); the
 *   auxiliary vector, envp[] and argv[] pointers and argc, the lowest word
 *   16-byte aligned: that is the initial stack pointer.
 * The VMA spans the pages the strings touch plus 128 KiB (setup_arg_pages'
 * stack_expand), capped at RLIMIT_STACK.
 */
import { InputError } from '../errors.js';
import type { AuxvEntry } from '../abi/exec-plan.js';
import type { ExecVmas } from './exec-vmas.js';
import {
  ARG_MAX,
  ELF_PLATFORM,
  MAX_ARG_STRLEN,
  PAGE_SIZE,
  STACK_EXPAND,
  STACK_TOP,
  STK_LIM,
  pageStart,
  u64,
} from './x86-64.js';

/** The argument area as copy_strings left it. */
export interface ArgPages {
  /** bprm->p: the lowest string byte, which becomes mm->arg_start. */
  p: bigint;
  /** bprm->exec: where the filename string lies (AT_EXECFN). */
  exec: bigint;
  argc: number;
  envc: number;
  /** [p, STACK_TOP - 8): argv strings, envp strings, filename, each NUL-terminated. */
  strings: Uint8Array;
  /** Byte length of each argv string, then each envp string, NUL included. */
  lengths: number[];
  /** The stack VMA after setup_arg_pages. */
  vmStart: bigint;
  vmEnd: bigint;
}

const encoder = new TextEncoder();

/**
 * copy_string_kernel(filename), copy_strings(envp), copy_strings(argv) and
 * setup_arg_pages' expansion. An empty argv gets one empty string, as
 * do_execveat_common does since 5.18.
 */
export function copyArgStrings(argv: string[], envp: string[], filename: string, rlimitStack: bigint): ArgPages {
  const args = argv.length === 0 ? [''] : argv;
  const encode = (s: string, what: string): Uint8Array => {
    const bytes = encoder.encode(s);
    if (bytes.includes(0)) throw new InputError('E_ARG', `${what} contains a NUL byte`, { field: what });
    if (BigInt(bytes.length + 1) > MAX_ARG_STRLEN)
      throw new InputError('E_2BIG', `${what} is longer than MAX_ARG_STRLEN (${MAX_ARG_STRLEN} bytes)`, {
        field: what,
      });
    return bytes;
  };
  const argBytes = args.map((s, i) => encode(s, `argv[${i}]`));
  const envBytes = envp.map((s, i) => encode(s, `envp[${i}]`));
  const fileBytes = encode(filename, 'the filename');

  // bprm_stack_limits(): the strings get min(3/4 _STK_LIM, RLIMIT_STACK / 4), at least ARG_MAX, minus the pointers.
  let limit = (STK_LIM / 4n) * 3n;
  if (rlimitStack / 4n < limit) limit = rlimitStack / 4n;
  if (limit < ARG_MAX) limit = ARG_MAX;
  const pointerBytes = BigInt(Math.max(argv.length, 1) + envp.length) * 8n;
  const total = [...argBytes, ...envBytes, fileBytes].reduce((n, b) => n + b.length + 1, 0);
  if (limit <= pointerBytes || BigInt(total) > limit - pointerBytes) {
    throw new InputError(
      'E_2BIG',
      `argument list too long: ${total} bytes of strings and ${pointerBytes} of pointers exceed the ${limit}-byte limit`,
      {},
    );
  }

  const vmEnd = STACK_TOP;
  const top = vmEnd - 8n; // bprm->p = vma->vm_end - sizeof(void *)
  const p = top - BigInt(total);
  const strings = new Uint8Array(total);
  let at = 0;
  const lengths: number[] = [];
  for (const b of [...argBytes, ...envBytes]) {
    strings.set(b, at);
    at += b.length + 1;
    lengths.push(b.length + 1);
  }
  strings.set(fileBytes, at);
  const exec = p + BigInt(at);

  // get_arg_page() grew the one-page VMA down to the lowest string; setup_arg_pages adds stack_expand.
  let vmStart = vmEnd - PAGE_SIZE;
  if (pageStart(p) < vmStart) vmStart = pageStart(p);
  const rlim = rlimitStack & ~(PAGE_SIZE - 1n);
  let expand = vmEnd - vmStart + STACK_EXPAND;
  if (rlim < expand) expand = rlim;
  if (vmEnd - expand < vmStart) vmStart = vmEnd - expand;

  return { p, exec, argc: args.length, envc: envp.length, strings, lengths, vmStart, vmEnd };
}

/** Values create_elf_tables takes from the machine rather than the ELF file. */
export interface AuxvMachine {
  /** AT_HWCAP: CPUID(1).EDX on x86. */
  hwcap: bigint;
  /** AT_HWCAP2. */
  hwcap2: bigint;
  /** AT_MINSIGSTKSZ: the signal frame size for this CPU's xsave features. */
  minsigstksz: bigint;
  uid: bigint;
  euid: bigint;
  gid: bigint;
  egid: bigint;
  /** AT_SECURE. */
  secure: bigint;
  /** The 16 bytes behind AT_RANDOM (get_random_bytes). */
  random: Uint8Array;
}

/**
 * Defaults for AuxvMachine: the values this project's reference machine
 * reports (an AMD EPYC guest, 6.18), uid 0, and a fixed stand-in for the
 * random bytes so a plan is reproducible.
 */
export const DEFAULT_AUXV_MACHINE: AuxvMachine = {
  hwcap: 0x178bfbffn,
  hwcap2: 0x2n,
  minsigstksz: 0xd30n,
  uid: 0n,
  euid: 0n,
  gid: 0n,
  egid: 0n,
  secure: 0n,
  random: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
};

/** What create_elf_tables needs to know about the loaded image. */
export interface TableInputs {
  vdsoBase?: bigint;
  phdrAddr: bigint;
  phnum: number;
  interpBase: bigint;
  entry: bigint;
}

export interface InitialStack {
  /** The initial stack pointer (bprm->p after create_elf_tables; mm->start_stack). */
  sp: bigint;
  auxv: AuxvEntry[];
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
}

// include/uapi/linux/auxvec.h, arch/x86/include/uapi/asm/auxvec.h
const AT = {
  AT_NULL: 0,
  AT_PHDR: 3,
  AT_PHENT: 4,
  AT_PHNUM: 5,
  AT_PAGESZ: 6,
  AT_BASE: 7,
  AT_FLAGS: 8,
  AT_ENTRY: 9,
  AT_UID: 11,
  AT_EUID: 12,
  AT_GID: 13,
  AT_EGID: 14,
  AT_PLATFORM: 15,
  AT_HWCAP: 16,
  AT_CLKTCK: 17,
  AT_SECURE: 23,
  AT_RANDOM: 25,
  AT_HWCAP2: 26,
  AT_RSEQ_FEATURE_SIZE: 27,
  AT_RSEQ_ALIGN: 28,
  AT_EXECFN: 31,
  AT_SYSINFO_EHDR: 33,
  AT_MINSIGSTKSZ: 51,
} as const;

/** sizeof(struct elf64_phdr), CLOCKS_PER_SEC (USER_HZ), offsetof(struct rseq, end), __alignof__(struct rseq). */
const PHENT = 56n;
const CLKTCK = 100n;
const RSEQ_FEATURE_SIZE = 28n;
const RSEQ_ALIGN = 32n;

/**
 * Writes the argument strings and create_elf_tables' data into the stack
 * VMA (recording KernelWrites in `space`) and returns the stack pointer.
 */
export function createElfTables(
  space: ExecVmas,
  args: ArgPages,
  inputs: TableInputs,
  machine: AuxvMachine,
): InitialStack {
  space.write(args.p, args.strings);

  // p = arch_align_stack(p): no random offset without ASLR, then & ~0xf.
  let p = args.p & ~0xfn;
  const platform = encoder.encode(`${ELF_PLATFORM}\0`);
  p -= BigInt(platform.length);
  const uPlatform = p;
  space.write(uPlatform, platform);
  p -= 16n;
  const uRandom = p;
  space.write(uRandom, machine.random.subarray(0, 16));

  const entries: Array<[keyof typeof AT, bigint]> = [];
  // ARCH_DLINFO (arch/x86/include/asm/elf.h) comes first.
  if (inputs.vdsoBase !== undefined) entries.push(['AT_SYSINFO_EHDR', inputs.vdsoBase]);
  entries.push(
    ['AT_MINSIGSTKSZ', machine.minsigstksz],
    ['AT_HWCAP', machine.hwcap],
    ['AT_PAGESZ', PAGE_SIZE],
    ['AT_CLKTCK', CLKTCK],
    ['AT_PHDR', inputs.phdrAddr],
    ['AT_PHENT', PHENT],
    ['AT_PHNUM', BigInt(inputs.phnum)],
    ['AT_BASE', inputs.interpBase],
    ['AT_FLAGS', 0n],
    ['AT_ENTRY', inputs.entry],
    ['AT_UID', machine.uid],
    ['AT_EUID', machine.euid],
    ['AT_GID', machine.gid],
    ['AT_EGID', machine.egid],
    ['AT_SECURE', machine.secure],
    ['AT_RANDOM', uRandom],
    ['AT_HWCAP2', machine.hwcap2],
    ['AT_EXECFN', args.exec],
    ['AT_PLATFORM', uPlatform],
    ['AT_RSEQ_FEATURE_SIZE', RSEQ_FEATURE_SIZE],
    ['AT_RSEQ_ALIGN', RSEQ_ALIGN],
  );
  const eiIndex = (entries.length + 1) * 2; // words, the AT_NULL pair included
  const items = args.argc + 1 + (args.envc + 1) + 1;
  // sp = STACK_ADD(p, ei_index); bprm->p = STACK_ROUND(sp, items)
  const sp = u64(p - BigInt(eiIndex) * 8n - BigInt(items) * 8n) & ~0xfn;

  const table = new Uint8Array((items + eiIndex) * 8);
  const view = new DataView(table.buffer);
  let w = 0;
  const put = (value: bigint) => view.setBigUint64(8 * w++, value, true);
  put(BigInt(args.argc));
  let str = args.p;
  const argStart = str;
  for (let i = 0; i < args.argc; i++) {
    put(str);
    str += BigInt(args.lengths[i]!);
  }
  put(0n);
  const argEnd = str;
  for (let i = 0; i < args.envc; i++) {
    put(str);
    str += BigInt(args.lengths[args.argc + i]!);
  }
  put(0n);
  const envEnd = str;
  for (const [name, value] of entries) {
    put(BigInt(AT[name]));
    put(u64(value));
  }
  put(0n); // AT_NULL
  put(0n);
  space.write(sp, table);

  return {
    sp,
    auxv: entries.map(([name, value]) => ({ type: AT[name], name, value: u64(value) })),
    argStart,
    argEnd,
    envStart: argEnd,
    envEnd,
  };
}
