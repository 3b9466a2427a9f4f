/**
 * The mapping half of fs/binfmt_elf.c as of 6.18, function for function:
 * elf_map, padzero, elf_load, total_mapping_size, maximum_alignment,
 * load_elf_interp and the PT_LOAD loop of load_elf_binary. x86-64, no
 * address randomisation (PF_RANDOMIZE clear: arch_mmap_rnd() is never added).
 *
 * Arithmetic is unsigned long (bigint wrapped to 64 bits) where the kernel's
 * is, so `load_bias - vaddr` and `-vaddr` behave as in C.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { ErrorCode } from '../error-codes.js';
import { ElfError } from '../errors.js';
import { ET_DYN, ET_EXEC, PF_X } from '../elf/index.js';
import type { ExecVmas } from './exec-vmas.js';
import { makeProt, type ExecImage, type LoadSegment } from './elf-image.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import {
  ELF_ET_DYN_BASE,
  ELF_MIN_ALIGN,
  MMAP_MIN_ADDR,
  TASK_SIZE,
  badAddr,
  elfPageAlign,
  elfPageOffset,
  elfPageStart,
  pageAlign,
  u64,
} from './x86-64.js';

/** How vm_mmap is asked to place a mapping. */
type Placement = 'hint' | 'fixed' | 'fixed-noreplace';

/** What the PT_LOAD loop of load_elf_binary leaves behind. */
export interface LoadedProgram {
  loadBias: bigint;
  /** e_entry + load_bias. */
  entry: bigint;
  /** AT_PHDR: the PT_LOAD holding e_phoff, at its address (load_bias when none holds it). */
  phdrAddr: bigint;
  startCode: bigint;
  endCode: bigint;
  startData: bigint;
  endData: bigint;
  /** max(p_vaddr + p_memsz) + load_bias, before ELF_PAGEALIGN. */
  elfBrk: bigint;
}

/** The PT_LOAD loop of load_elf_binary(). `hasInterp`: the program has PT_INTERP. */
export function loadProgram(space: ExecVmas, image: ExecImage, hasInterp: boolean): LoadedProgram {
  let loadBias = 0n;
  let firstPtLoad = true;
  let phdrAddr = 0n;
  let startCode = u64(~0n);
  let endCode = 0n;
  let startData = 0n;
  let endData = 0n;
  let elfBrk = 0n;

  for (const seg of image.loads) {
    const prot = makeProt(seg.flags);
    let placement: Placement = 'hint';
    let totalSize = 0n;
    const vaddr = seg.vaddr;
    if (!firstPtLoad) {
      placement = 'fixed';
    } else if (image.type === ET_EXEC) {
      placement = 'fixed-noreplace';
    } else if (image.type === ET_DYN) {
      totalSize = totalMappingSize(image.loads);
      if (!totalSize) throw mapError(image, 'the PT_LOAD segments span no memory', 'E_EXEC_NOLOAD');
      const alignment = maximumAlignment(image.loads);
      if (hasInterp) {
        // A PIE: based at ELF_ET_DYN_BASE, aligned down to the largest p_align.
        loadBias = ELF_ET_DYN_BASE;
        if (alignment) loadBias &= ~(alignment - 1n);
        placement = 'fixed-noreplace';
      } else if (alignment > ELF_MIN_ALIGN) {
        // A loader (static PIE) with a large p_align: map once at "0" to discover the address, unmap, align down.
        loadBias = elfLoad(space, image, 0n, seg, prot, 'hint', totalSize);
        space.unmap(loadBias, loadBias + pageAlign(totalSize));
        loadBias &= ~(alignment - 1n);
        placement = 'fixed-noreplace';
      } else {
        loadBias = 0n;
      }
      loadBias = elfPageStart(u64(loadBias - vaddr));
    }

    const mapped = elfLoad(space, image, u64(loadBias + vaddr), seg, prot, placement, totalSize);

    if (firstPtLoad) {
      firstPtLoad = false;
      if (image.type === ET_DYN) loadBias = u64(loadBias + mapped - elfPageStart(u64(loadBias + vaddr)));
    }
    if (seg.offset <= image.phoff && image.phoff < seg.offset + seg.filesz) {
      phdrAddr = image.phoff - seg.offset + seg.vaddr;
    }
    let k = seg.vaddr;
    if (seg.flags & PF_X && k < startCode) startCode = k;
    if (startData < k) startData = k;
    k = seg.vaddr + seg.filesz;
    if (seg.flags & PF_X && endCode < k) endCode = k;
    if (endData < k) endData = k;
    k = seg.vaddr + seg.memsz;
    if (k > elfBrk) elfBrk = k;
  }

  return {
    loadBias,
    entry: u64(image.entry + loadBias),
    phdrAddr: u64(phdrAddr + loadBias),
    startCode: u64(startCode + loadBias),
    endCode: u64(endCode + loadBias),
    startData: u64(startData + loadBias),
    endData: u64(endData + loadBias),
    elfBrk: u64(elfBrk + loadBias),
  };
}

/**
 * load_elf_interp(): maps the interpreter and returns its load address
 * (AT_BASE). `noBase` is the program's load_bias: when it is non-zero an
 * ET_DYN interpreter's first segment is mapped with hint 0, i.e. top-down
 * below mmap_base; later segments are MAP_FIXED relative to it.
 */
export function loadInterp(space: ExecVmas, interp: ExecImage, noBase: bigint): bigint {
  let totalSize = totalMappingSize(interp.loads);
  if (!totalSize) throw mapError(interp, 'the PT_LOAD segments span no memory', 'E_EXEC_NOLOAD');
  let loadAddr = 0n;
  let loadAddrSet = false;
  for (const seg of interp.loads) {
    const prot = makeProt(seg.flags);
    let placement: Placement = 'hint';
    const vaddr = seg.vaddr;
    if (interp.type === ET_EXEC || loadAddrSet) placement = 'fixed';
    else if (noBase && interp.type === ET_DYN) loadAddr = u64(-vaddr);

    const mapAddr = elfLoad(space, interp, u64(loadAddr + vaddr), seg, prot, placement, totalSize);
    totalSize = 0n;
    if (!loadAddrSet && interp.type === ET_DYN) {
      loadAddr = u64(mapAddr - elfPageStart(vaddr));
      loadAddrSet = true;
    }
    const k = u64(loadAddr + seg.vaddr);
    if (badAddr(k) || seg.memsz > TASK_SIZE || TASK_SIZE - seg.memsz < k) {
      throw mapError(
        interp,
        `PT_LOAD (program header ${seg.index}) at 0x${k.toString(16)} runs beyond user space`,
        'E_EXEC_NOMEM',
      );
    }
  }
  return loadAddr;
}

/**
 * elf_load(): map p_filesz bytes from p_offset at `addr`, zero the rest of
 * the last file page (padzero), and map anonymous memory for the whole pages
 * up to p_memsz (vm_brk_flags). Returns the address of the first page.
 */
function elfLoad(
  space: ExecVmas,
  image: ExecImage,
  addr: bigint,
  seg: LoadSegment,
  prot: number,
  placement: Placement,
  totalSize: bigint,
): bigint {
  let mapAddr: bigint;
  let zeroStart: bigint;
  let zeroEnd: bigint;
  if (seg.filesz) {
    mapAddr = elfMap(space, image, addr, seg, prot, placement, totalSize);
    zeroStart = mapAddr + elfPageOffset(seg.vaddr) + seg.filesz;
    zeroEnd = mapAddr + elfPageOffset(seg.vaddr) + seg.memsz;
    // padzero(): clear_user() faults on a segment without PROT_WRITE, and that failure is ignored.
    if (seg.memsz > seg.filesz && prot & PROT_WRITE) padzero(space, zeroStart);
  } else {
    mapAddr = zeroStart = elfPageStart(addr);
    zeroEnd = zeroStart + elfPageOffset(seg.vaddr) + seg.memsz;
  }
  if (seg.memsz > seg.filesz) {
    const start = elfPageAlign(zeroStart);
    const end = elfPageAlign(zeroEnd);
    vmBrkFlags(space, image, start, end - start, prot & PROT_EXEC);
  }
  return mapAddr;
}

/** elf_map(): the file-backed part; with total_size, reserve the whole image first, then unmap the tail. */
function elfMap(
  space: ExecVmas,
  image: ExecImage,
  addr: bigint,
  seg: LoadSegment,
  prot: number,
  placement: Placement,
  totalSize: bigint,
): bigint {
  const size = elfPageAlign(seg.filesz + elfPageOffset(seg.vaddr));
  const off = seg.offset - elfPageOffset(seg.vaddr);
  const start = elfPageStart(addr);
  if (!size) return start;
  if (totalSize) {
    const total = elfPageAlign(totalSize);
    const mapAddr = vmMmap(space, image, start, total, prot, placement, off);
    space.unmap(mapAddr + size, mapAddr + total);
    return mapAddr;
  }
  return vmMmap(space, image, start, size, prot, placement, off);
}

/** vm_mmap(file, addr, len, prot, MAP_PRIVATE | placement, off). */
function vmMmap(
  space: ExecVmas,
  image: ExecImage,
  addr: bigint,
  len: bigint,
  prot: number,
  placement: Placement,
  off: bigint,
): bigint {
  const backing = image.backing;
  let start: bigint;
  if (placement === 'hint') {
    const found = space.getUnmappedArea(addr, len, { thpAligned: image.thpAligned, offset: off });
    if (found === undefined)
      throw mapError(image, `no room for a ${len}-byte mapping below 0x${space.mmapBase.toString(16)}`, 'E_EXEC_NOMEM');
    start = found;
  } else {
    if (addr < MMAP_MIN_ADDR || addr + len > TASK_SIZE) {
      throw mapError(
        image,
        `mapping at 0x${addr.toString(16)} (+0x${len.toString(16)}) is outside [vm.mmap_min_addr, TASK_SIZE)`,
        'E_EXEC_MAP',
      );
    }
    if (placement === 'fixed-noreplace' && space.areas.some((a) => a.start < addr + len && a.end > addr)) {
      throw mapError(
        image,
        `segment at 0x${addr.toString(16)} requested but the memory is mapped already (MAP_FIXED_NOREPLACE)`,
        'E_EXEC_MAP',
      );
    }
    start = addr;
  }
  // A private writable file mapping is charged to the commit (VM_ACCOUNT), as mmap_region() does.
  if (prot & PROT_WRITE) enoughMemory(image, len, 'mmap of the segment');
  space.mapFixed({ start, end: start + len, prot, file: { backing, offset: off } });
  return start;
}

/** padzero(): zero from `address` to the end of its page, a kernel write into the mapped file page. */
function padzero(space: ExecVmas, address: bigint): void {
  const nbyte = elfPageOffset(address);
  if (nbyte) space.write(address, new Uint8Array(Number(ELF_MIN_ALIGN - nbyte)));
}

/** vm_brk_flags(): an anonymous read-write VMA (VM_DATA_DEFAULT_FLAGS), executable when asked; replaces what was there. */
function vmBrkFlags(space: ExecVmas, image: ExecImage, addr: bigint, len: bigint, exec: number): void {
  if (len === 0n) return;
  if (addr < MMAP_MIN_ADDR || addr + len > TASK_SIZE) {
    throw mapError(
      image,
      `bss at 0x${addr.toString(16)} (+0x${len.toString(16)}) is outside [vm.mmap_min_addr, TASK_SIZE)`,
      'E_EXEC_MAP',
    );
  }
  enoughMemory(image, len, 'vm_brk_flags for the bss');
  space.mapFixed({ start: addr, end: addr + len, prot: PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0) }, true);
}

/**
 * __vm_enough_memory() under the default vm.overcommit_memory = 0
 * (OVERCOMMIT_GUESS): one request of more pages than RAM and swap together
 * fails with ENOMEM. RAM and swap are this machine's, as the real kernel
 * here would see them.
 */
function enoughMemory(image: ExecImage, len: bigint, what: string): void {
  const limit = commitLimitBytes();
  if (len > limit) {
    throw mapError(
      image,
      `${what}: 0x${len.toString(16)} bytes is more than RAM and swap (0x${limit.toString(16)} bytes), ENOMEM`,
      'E_EXEC_NOMEM',
    );
  }
}

let commitLimit: bigint | undefined;
/** MemTotal + SwapTotal of this machine in bytes (totalram_pages() + total_swap_pages). */
export function commitLimitBytes(): bigint {
  if (commitLimit !== undefined) return commitLimit;
  let total = BigInt(os.totalmem());
  try {
    const swap = /^SwapTotal:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'latin1'));
    if (swap) total += BigInt(swap[1]!) * 1024n;
  } catch {
    // no /proc: RAM only
  }
  commitLimit = total;
  return total;
}

/** total_mapping_size(): from the lowest page start to the highest p_vaddr + p_memsz over PT_LOADs. */
export function totalMappingSize(loads: LoadSegment[]): bigint {
  let min = u64(-1n);
  let max = 0n;
  for (const s of loads) {
    const start = elfPageStart(s.vaddr);
    if (start < min) min = start;
    if (s.vaddr + s.memsz > max) max = s.vaddr + s.memsz;
  }
  return loads.length ? u64(max - min) : 0n;
}

/** maximum_alignment(): the largest power-of-two p_align over PT_LOADs, at least a page. */
export function maximumAlignment(loads: LoadSegment[]): bigint {
  let alignment = 0n;
  for (const s of loads) {
    const a = s.align;
    if (a === 0n || (a & (a - 1n)) !== 0n) continue;
    if (a > alignment) alignment = a;
  }
  return elfPageAlign(alignment);
}

/**
 * Every mapping failure here happens after begin_new_exec(), past the point
 * of no return: the kernel cannot return the error to the old program and
 * kills the process with SIGSEGV instead (fs/exec.c, bprm_execve()).
 */
function mapError(image: ExecImage, problem: string, code: ErrorCode): ElfError {
  return new ElfError(code, `${image.backing.path}: ${problem}; execve kills the process with SIGSEGV`, {
    file: image.backing.path,
    signal: 'SIGSEGV',
  });
}
