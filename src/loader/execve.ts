/**
 * execve(2) of an ELF program as a plan: do_execveat_common (fs/exec.c)
 * then load_elf_binary (fs/binfmt_elf.c), x86-64, address randomisation off
 * (as under `setarch -R`), the 6.18 kernel's choices.
 *
 * The order is the kernel's, because each step sees the mappings of the
 * steps before it:
 *   1. open the program, check it; find PT_INTERP, open and check the
 *      interpreter (resolved under `root`);
 *   2. bprm_mm_init + copy_strings: the stack VMA at STACK_TOP with the
 *      filename, envp and argv strings; setup_arg_pages: +128 KiB;
 *   3. setup_new_exec: mmap_base = 0x7ffff7fff000 for an 8 MiB stack limit;
 *   4. the PT_LOAD loop (binfmt-elf.ts loadProgram): ET_EXEC at its
 *      addresses, a PIE at 0x555555554000 aligned down to its largest
 *      p_align, a static PIE top-down below mmap_base;
 *   5. load_elf_interp: the interpreter top-down below what is mapped;
 *   6. ARCH_SETUP_ADDITIONAL_PAGES: the vDSO, top-down again;
 *   7. create_elf_tables: platform string, AT_RANDOM bytes, auxv, envp[],
 *      argv[], argc; the stack pointer;
 *   8. brk: ELF_PAGEALIGN(end of bss), or ELF_PAGEALIGN(ELF_ET_DYN_BASE) =
 *      0x555555555000 for a static PIE. No [heap] VMA exists until the
 *      program calls brk.
 */
import { ElfError } from '../errors.js';
import { ET_DYN } from '../elf/index.js';
import { ExecVmas, type Area } from './exec-vmas.js';
import { loadInterp, loadProgram } from './binfmt-elf.js';
import { readExecImage, type ExecImage } from './elf-image.js';
import { FileTable, type ExecFileSource } from './file-backing.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan, type KernelWrite, type VmaPlan } from '../abi/exec-plan.js';
import { copyArgStrings, createElfTables, DEFAULT_AUXV_MACHINE, type AuxvMachine } from './stack.js';
import {
  ELF_ET_DYN_BASE,
  PAGE_SIZE,
  STK_LIM,
  VDSO_6_18,
  badAddr,
  elfPageAlign,
  mmapBase,
  u64,
  type VdsoLayout,
} from './x86-64.js';

export interface ExecOptions {
  /** Directory PT_INTERP is resolved in, as if chrooted there. Default '/'. */
  root?: string;
  /** argv; default [path]. An empty argv becomes [''] as in the kernel. */
  argv?: string[];
  /** envp; default [] (no environment), so a plan does not depend on the caller's. */
  envp?: string[];
  /** RLIMIT_STACK soft limit in bytes; default 8 MiB. Sets the stack cap and mmap_base. */
  rlimitStack?: bigint;
  /** The vDSO layout, or false for none (vdso=0). Default: 6.18's [vvar] 4, [vvar_vclock] 2, [vdso] 2 pages. */
  vdso?: VdsoLayout | false;
  /** Machine values for the auxiliary vector (AT_HWCAP, AT_UID, the AT_RANDOM bytes, ...). */
  auxv?: Partial<AuxvMachine>;
}

/** Plans execve of `path`, opening files in a new FileTable (XXH64 content ids). */
export async function planExec(path: string, options: ExecOptions = {}): Promise<ExecPlan> {
  return planExecWith(await FileTable.create(), path, options);
}

/**
 * Plans execve of `path` with the files of `files` (a FileTable for the disk,
 * or a container's source): every plan made with one source shares its
 * backings and content ids, as one load should.
 */
export function planExecWith(files: ExecFileSource, path: string, options: ExecOptions = {}): ExecPlan {
  const rlimitStack = options.rlimitStack ?? STK_LIM;
  const machine: AuxvMachine = { ...DEFAULT_AUXV_MACHINE, ...options.auxv };

  // 1. The program and its interpreter.
  const program = readExecImage(files.program(path), 'program');
  let interp: ExecImage | undefined;
  if (program.interpreter !== undefined) {
    interp = readExecImage(files.interpreter(program.interpreter, options.root, program.backing.path), 'interpreter');
  }

  // 2-3. The stack with the argument strings, and the mmap layout.
  const args = copyArgStrings(options.argv ?? [path], options.envp ?? [], path, rlimitStack);
  const space = new ExecVmas(mmapBase(rlimitStack));
  const stackProt = PROT_READ | PROT_WRITE | (program.executableStack === 'enable' ? PROT_EXEC : 0);
  space.mapFixed({ start: args.vmStart, end: args.vmEnd, prot: stackProt, name: '[stack]', growsDown: true });

  // 4-5. The program's segments, then the interpreter's.
  const loaded = loadProgram(space, program, interp !== undefined);
  let interpBase: bigint | undefined;
  let entry = loaded.entry;
  if (interp) {
    interpBase = loadInterp(space, interp, loaded.loadBias);
    entry = u64(interpBase + interp.entry);
  }
  if (badAddr(entry)) {
    const who = interp ?? program;
    throw new ElfError(
      'E_EXEC_ENTRY',
      `${who.backing.path}: entry point 0x${entry.toString(16)} lies beyond user space`,
      { file: who.backing.path, field: 'e_entry' },
    );
  }

  // 6. The vDSO.
  const vdsoBase = options.vdso === false ? undefined : mapVdso(space, options.vdso ?? VDSO_6_18);

  // 7. The tables on the stack.
  const stack = createElfTables(
    space,
    args,
    { vdsoBase, phdrAddr: loaded.phdrAddr, phnum: program.phnum, interpBase: interpBase ?? 0n, entry: loaded.entry },
    machine,
  );

  // 8. brk.
  let elfBrk = loaded.elfBrk;
  if (program.type === ET_DYN && !interp) elfBrk = ELF_ET_DYN_BASE;
  const startBrk = elfPageAlign(elfBrk);

  const plan: ExecPlan = {
    path,
    vmas: space.areas.filter((a) => !a.special).map(toVmaPlan),
    writes: space.writes.map((w): KernelWrite => ({ addr: toAddress(w.addr), bytes: w.bytes })),
    entry: toAddress(entry),
    loadBias: toAddress(loaded.loadBias),
    startBrk: toAddress(startBrk),
    stackTop: toAddress(args.vmEnd),
    stackPointer: toAddress(stack.sp),
    mmapBase: toAddress(space.mmapBase),
    specialMappings: space.areas.filter((a) => a.special).map(toVmaPlan),
    mm: {
      startCode: loaded.startCode,
      endCode: loaded.endCode,
      startData: loaded.startData,
      endData: loaded.endData,
      startBrk,
      brk: startBrk,
      startStack: stack.sp,
      argStart: stack.argStart,
      argEnd: stack.argEnd,
      envStart: stack.envStart,
      envEnd: stack.envEnd,
    },
    auxv: stack.auxv,
  };
  if (interpBase !== undefined) plan.interpBase = toAddress(interpBase);
  if (interp) plan.interpreter = interp.backing.path;
  return plan;
}

/** map_vdso(): [vvar], [vvar_vclock] then [vdso], placed by get_unmapped_area(NULL, 0, len). Returns the [vdso] address. */
function mapVdso(space: ExecVmas, layout: VdsoLayout): bigint | undefined {
  const pages = BigInt(layout.vvarPages + layout.vclockPages + layout.imagePages);
  const addr = space.getUnmappedArea(0n, pages * PAGE_SIZE);
  if (addr === undefined) return undefined;
  const vclock = addr + BigInt(layout.vvarPages) * PAGE_SIZE;
  const text = vclock + BigInt(layout.vclockPages) * PAGE_SIZE;
  const special = (start: bigint, end: bigint, prot: number, name: string): Area => ({
    start,
    end,
    prot,
    name,
    special: true,
  });
  if (layout.vvarPages) space.mapFixed(special(addr, vclock, PROT_READ, '[vvar]'));
  if (layout.vclockPages) space.mapFixed(special(vclock, text, PROT_READ, '[vvar_vclock]'));
  space.mapFixed(special(text, text + BigInt(layout.imagePages) * PAGE_SIZE, PROT_READ | PROT_EXEC, '[vdso]'));
  return text;
}

function toVmaPlan(a: Area): VmaPlan {
  const vma: VmaPlan = { start: toAddress(a.start), end: toAddress(a.end), prot: a.prot, shared: false };
  if (a.file) vma.file = { backing: a.file.backing, offset: toAddress(a.file.offset) };
  if (a.name !== undefined) vma.name = a.name;
  return vma;
}

/** A user address or file offset as a number (both stay far below 2^53). */
function toAddress(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ElfError('E_EXEC_RANGE', `address 0x${v.toString(16)} is beyond the simulated address space`, {});
  return Number(v);
}
