/**
 * An ELF file as execve sees it: the checks load_elf_binary, load_elf_phdrs
 * and load_elf_interp make before mapping anything (fs/binfmt_elf.c), in
 * their order, each failure a one-line ElfError naming the file and field.
 *
 * Checks beyond the kernel's (the simulator needs every mapped byte to
 * exist): a PT_LOAD whose file range runs past the end of the file is
 * "truncated" (the kernel would map it and SIGBUS on touch).
 *
 * PT_LOADs whose memory ranges overlap are accepted, as the kernel accepts
 * them: the later one is mapped MAP_FIXED over the earlier (binfmt-elf.ts).
 * A program with no PT_LOAD is accepted too (the kernel maps nothing from
 * it); an interpreter with none fails in load_elf_interp (binfmt-elf.ts).
 */
import type { ErrorCode } from '../error-codes.js';
import { ElfError, type ErrorData } from '../errors.js';
import {
  ET_DYN,
  ET_EXEC,
  PF_R,
  PF_W,
  PF_X,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  parseElf,
  type ElfFile,
  type ProgramHeader,
} from '../elf/index.js';
import type { FileBacking } from '../abi/file-backing.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import { ELF64_PHDR_SIZE, EM_X86_64, PATH_MAX, TASK_SIZE, elfPageOffset } from './x86-64.js';

/** One PT_LOAD, its 64-bit fields as read. */
export interface LoadSegment {
  index: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

export interface ExecImage {
  backing: FileBacking;
  /** The file's bytes (a plain file's own buffer, or a container member's pages put together). */
  bytes: Uint8Array;
  /** The file's filesystem places large mappings 2 MiB-aligned (thp_get_unmapped_area). */
  thpAligned: boolean;
  elf: ElfFile;
  /** ET_EXEC or ET_DYN. */
  type: number;
  entry: bigint;
  phoff: bigint;
  /** e_phnum as stored: the kernel does no extended numbering. */
  phnum: number;
  /** Every program header, in file order (the kernel walks them in this order). */
  programHeaders: ProgramHeader[];
  loads: LoadSegment[];
  /** PT_INTERP's path (the first PT_INTERP), without the terminating NUL. */
  interpreter?: string;
  /** PT_GNU_STACK: 'enable' (PF_X), 'disable', or 'default' when absent. */
  executableStack: 'enable' | 'disable' | 'default';
}

/** make_prot(): PF_R/PF_W/PF_X to PROT_* (arch_elf_adjust_prot is the identity on x86). */
export function makeProt(pFlags: number): number {
  return (pFlags & PF_R ? PROT_READ : 0) | (pFlags & PF_W ? PROT_WRITE : 0) | (pFlags & PF_X ? PROT_EXEC : 0);
}

/** Reads and checks an executable or interpreter. `role` names it in errors. */
export function readExecImage(backing: FileBacking, role: 'program' | 'interpreter'): ExecImage {
  const file = backing.path;
  const fail = (code: ErrorCode, problem: string, data: ErrorData = {}) =>
    new ElfError(code, `${file}: ${problem}`, { file, ...data });
  const bytes = bytesOf(backing);
  const elf = parseElf(bytes, file);
  const h = elf.header;
  if (h.type !== ET_EXEC && h.type !== ET_DYN) {
    throw fail('E_EXEC_TYPE', `e_type ${h.type} is not ET_EXEC or ET_DYN: not an executable ${role}`, {
      field: 'e_type',
      offset: 16,
      actual: h.type,
    });
  }
  if (h.machine !== EM_X86_64) {
    throw fail('E_EXEC_ARCH', `e_machine ${h.machine} is not EM_X86_64 (62): only x86-64 is simulated`, {
      field: 'e_machine',
      offset: 18,
      actual: h.machine,
    });
  }
  if (h.class !== 64 || h.data !== 'lsb') {
    throw fail(
      'E_EXEC_ARCH',
      `ELF${h.class} ${h.data === 'lsb' ? 'little' : 'big'}-endian: only ELF64 little-endian (x86-64) is simulated`,
      {
        field: 'e_ident',
        offset: 4,
      },
    );
  }
  // load_elf_phdrs(): the entry size must be sizeof(struct elf_phdr), the table 1..65536 bytes, all of it readable.
  if (h.phentsize !== ELF64_PHDR_SIZE) {
    throw fail('E_EXEC_PHDRS', `e_phentsize ${h.phentsize} is not ${ELF64_PHDR_SIZE}`, {
      field: 'e_phentsize',
      offset: 54,
      actual: h.phentsize,
    });
  }
  const tableSize = ELF64_PHDR_SIZE * h.phnumRaw;
  if (tableSize === 0 || tableSize > 65536) {
    throw fail(
      'E_EXEC_PHDRS',
      `e_phnum ${h.phnumRaw} gives a program header table of ${tableSize} bytes (must be 1..65536)`,
      {
        field: 'e_phnum',
        offset: 56,
        actual: h.phnumRaw,
      },
    );
  }
  if (h.phoff + BigInt(tableSize) > BigInt(bytes.length) || elf.programHeaders.length !== h.phnumRaw) {
    throw fail(
      'E_EXEC_TRUNCATED',
      `program header table (${h.phnumRaw} × 56 bytes at offset 0x${h.phoff.toString(16)}) runs past the end of the file (${bytes.length} bytes)`,
      {
        field: 'e_phoff',
        offset: h.phoff,
      },
    );
  }

  const loads: LoadSegment[] = [];
  let interpreter: string | undefined;
  let interpSeen = false;
  let executableStack: ExecImage['executableStack'] = 'default';
  for (const p of elf.programHeaders) {
    if (p.type === PT_LOAD) {
      loads.push({
        index: p.index,
        flags: p.flags,
        offset: p.offset,
        vaddr: p.vaddr,
        filesz: p.filesz,
        memsz: p.memsz,
        align: p.align,
      });
    } else if (p.type === PT_INTERP && !interpSeen && role === 'program') {
      interpSeen = true;
      interpreter = readInterp(p, bytes, fail);
    } else if (p.type === PT_GNU_STACK) {
      // load_elf_binary's switch runs for every header: the last PT_GNU_STACK decides.
      executableStack = p.flags & PF_X ? 'enable' : 'disable';
    }
  }
  for (const s of loads) checkSegment(s, bytes.length, fail);

  const image: ExecImage = {
    backing,
    bytes,
    thpAligned: (backing as Partial<{ thpAligned: boolean }>).thpAligned === true,
    elf,
    type: h.type,
    entry: h.entry,
    phoff: h.phoff,
    phnum: h.phnumRaw,
    programHeaders: elf.programHeaders,
    loads,
    executableStack,
  };
  if (interpreter !== undefined) image.interpreter = interpreter;
  return image;
}

/**
 * The whole file: a PlainFileBacking's buffer, or any other backing's pages
 * read in turn. backing.size is the member's real size, not a header's claim.
 */
function bytesOf(backing: FileBacking): Uint8Array {
  const own = (backing as Partial<{ bytes: Uint8Array }>).bytes;
  if (own instanceof Uint8Array && own.length === backing.size) return own;
  const out = new Uint8Array(backing.pageCount * backing.pageSize);
  for (let i = 0; i < backing.pageCount; i++)
    backing.readPage(i, out.subarray(i * backing.pageSize, (i + 1) * backing.pageSize));
  return out.subarray(0, backing.size);
}

type Fail = (code: ErrorCode, problem: string, data?: ErrorData) => ElfError;

/** PT_INTERP: 2..PATH_MAX bytes, NUL-terminated, inside the file (load_elf_binary). */
function readInterp(p: ProgramHeader, bytes: Uint8Array, fail: Fail): string {
  const at = { field: 'PT_INTERP', offset: p.offset };
  if (p.filesz > BigInt(PATH_MAX) || p.filesz < 2n) {
    throw fail('E_EXEC_INTERP', `PT_INTERP of ${p.filesz} bytes (must be 2..${PATH_MAX})`, at);
  }
  if (p.offset + p.filesz > BigInt(bytes.length)) {
    throw fail(
      'E_EXEC_TRUNCATED',
      `PT_INTERP at offset 0x${p.offset.toString(16)} runs past the end of the file (${bytes.length} bytes)`,
      at,
    );
  }
  const raw = bytes.subarray(Number(p.offset), Number(p.offset + p.filesz));
  if (raw[raw.length - 1] !== 0)
    throw fail('E_EXEC_INTERP', `PT_INTERP at offset 0x${p.offset.toString(16)} is not NUL-terminated`, at);
  const path = new TextDecoder('latin1').decode(raw.subarray(0, raw.indexOf(0)));
  if (path === '') throw fail('E_EXEC_INTERP', `PT_INTERP at offset 0x${p.offset.toString(16)} is an empty path`, at);
  return path;
}

/** The per-segment checks of load_elf_binary's loop, plus file-range and offset congruence. */
function checkSegment(s: LoadSegment, fileSize: number, fail: Fail): void {
  const at = (field: string) => ({ field: `PT_LOAD[${s.index}].${field}` });
  const name = `PT_LOAD (program header ${s.index})`;
  if (s.filesz > s.memsz)
    throw fail(
      'E_EXEC_SEGMENT',
      `${name}: p_filesz 0x${s.filesz.toString(16)} exceeds p_memsz 0x${s.memsz.toString(16)}`,
      at('p_filesz'),
    );
  if (s.vaddr >= TASK_SIZE || s.memsz > TASK_SIZE || TASK_SIZE - s.memsz < s.vaddr) {
    throw fail(
      'E_EXEC_SEGMENT',
      `${name}: [0x${s.vaddr.toString(16)}, +0x${s.memsz.toString(16)}) lies beyond user space (0x${TASK_SIZE.toString(16)})`,
      at('p_vaddr'),
    );
  }
  if (s.filesz === 0n) return;
  // elf_map(): off = p_offset - ELF_PAGEOFFSET(p_vaddr) must be a page-aligned, non-negative file offset.
  if (elfPageOffset(s.offset) !== elfPageOffset(s.vaddr)) {
    throw fail(
      'E_EXEC_SEGMENT',
      `${name}: p_offset 0x${s.offset.toString(16)} and p_vaddr 0x${s.vaddr.toString(16)} differ modulo the page size`,
      at('p_offset'),
    );
  }
  if (s.offset + s.filesz > BigInt(fileSize)) {
    throw fail(
      'E_EXEC_TRUNCATED',
      `${name}: file bytes [0x${s.offset.toString(16)}, 0x${(s.offset + s.filesz).toString(16)}) run past the end of the file (${fileSize} bytes)`,
      at('p_filesz'),
    );
  }
}
