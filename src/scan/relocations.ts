/**
 * Which file pages the dynamic linker writes when it relocates an x86-64
 * object: every REL, RELA and JMPREL target with a non-zero type and every
 * DT_RELR address that lies in the file bytes of a writable PT_LOAD (both
 * pages when an 8-byte target straddles two). Those pages become private
 * copies in every process that maps the object, whatever dedup found on disk.
 *
 * Counted straight from the file's bytes, through `FileBytes` windows of at
 * most WINDOW bytes (the scanner serves them from the chunk it already holds
 * and reads the rest with pread), without an object per relocation.
 *
 * Returns null when ld.so would not get that far: the file fails execve's
 * checks on the ELF header and program headers (not ET_EXEC/ET_DYN x86-64
 * ELF64 LSB, a bad program header table, a PT_LOAD with p_filesz > p_memsz,
 * beyond user space, p_offset and p_vaddr incongruent, or past the end of
 * the file), has no PT_DYNAMIC, or its PT_DYNAMIC or a relocation table lies
 * outside the file or outside every PT_LOAD's file bytes. The symbol,
 * string and version tables are not read: they do not decide which pages
 * relocation writes.
 *
 * Mirrors the loader's reading (src/loader/elf-image.ts readExecImage,
 * src/loader/rtld/elf-object.ts readElfObject): the first PT_DYNAMIC, the
 * first entry of each tag up to DT_NULL, DT_JMPREL entries at the end of
 * DT_RELA's range not counted twice, DT_PLTREL choosing Elf64_Rel or
 * Elf64_Rela for DT_JMPREL. Addresses are link-time (l_addr 0).
 */
import fs from 'node:fs';
import type { ElfFile } from '../elf/types.js';

/** What the relocation count reads of a parsed file: its ELF header and program headers. */
export type ElfHeaders = Pick<ElfFile, 'header' | 'programHeaders'>;
import { PF_W, PT_LOAD } from '../elf/types.js';

/** Reads `length` bytes (at most WINDOW) at file `offset`; undefined when they are not all in the file. */
export type FileBytes = (offset: number, length: number) => DataView | undefined;

/** Largest window asked of FileBytes: 48 KiB, a multiple of 8, 16 and 24 (every entry size read here). */
export const WINDOW = 49152;

const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 62;
const PT_DYNAMIC = 2;
const ELF64_PHDR_SIZE = 56;
/** TASK_SIZE with 4-level paging: (1 << 47) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h). */
const TASK_SIZE = (1n << 47n) - 4096n;

const DT_PLTRELSZ = 2;
const DT_RELA = 7;
const DT_RELASZ = 8;
const DT_REL = 17;
const DT_RELSZ = 18;
const DT_PLTREL = 20;
const DT_JMPREL = 23;
const DT_RELRSZ = 35;
const DT_RELR = 36;
const WANTED = [DT_PLTRELSZ, DT_RELA, DT_RELASZ, DT_REL, DT_RELSZ, DT_PLTREL, DT_JMPREL, DT_RELRSZ, DT_RELR];

const TWO_32 = 4294967296;

interface Load {
  vaddr: number;
  offset: number;
  filesz: number;
  writable: boolean;
}

/**
 * The targets found so far, as file pages, in a reused array: a page equal
 * to the one before is not added again (relocations mostly come in address
 * order, so this keeps the list short); sorted and made unique at the end.
 */
class Targets {
  pages = new Uint32Array(4096);
  count = 0;
  private last = -1;
  /** Writable PT_LOADs: [vaddr, vaddr + filesz, offset] each, in program header order. */
  private segments: number[] = [];
  private pageSize = 4096;

  reset(writable: readonly Load[], pageSize: number): void {
    this.count = 0;
    this.last = -1;
    this.pageSize = pageSize;
    this.segments = writable.flatMap((s) => [s.vaddr, s.vaddr + s.filesz, s.offset]);
  }

  /** The 8 bytes at link-time address `addr`: their file pages when the first writable PT_LOAD holding them has them in its file bytes. */
  mark(addr: number): void {
    const seg = this.segments;
    for (let i = 0; i < seg.length; i += 3) {
      if (addr >= seg[i]! && addr + 8 <= seg[i + 1]!) {
        const off = seg[i + 2]! + (addr - seg[i]!);
        const first = Math.floor(off / this.pageSize);
        const last = Math.floor((off + 7) / this.pageSize);
        if (first !== this.last) this.add(first);
        if (last !== first) this.add(last);
        this.last = last;
        return;
      }
    }
  }

  /** Marks the target of every entry of a REL (16-byte) or RELA (24-byte) table whose type is not 0. */
  markTable(view: DataView, length: number, entry: number): void {
    for (let p = 0; p + entry <= length; p += entry) {
      if (view.getUint32(p + 8, true) !== 0) this.mark(view.getUint32(p, true) + view.getUint32(p + 4, true) * TWO_32);
    }
  }

  /** The pages, sorted, each once (a new array). */
  result(): Uint32Array {
    const pages = this.pages.subarray(0, this.count).sort();
    let unique = 0;
    for (let i = 0; i < pages.length; i++) if (i === 0 || pages[i] !== pages[i - 1]) pages[unique++] = pages[i]!;
    return pages.slice(0, unique);
  }

  private add(page: number): void {
    if (this.count === this.pages.length) {
      const grown = new Uint32Array(this.pages.length * 2);
      grown.set(this.pages);
      this.pages = grown;
    }
    this.pages[this.count++] = page;
  }
}

const targets = new Targets();

/**
 * The file pages (sorted, each once) relocation writes in the file of
 * `fileSize` bytes whose parsed ELF header and program headers are `elf`;
 * null when there are none to find (see the file comment).
 */
export function relocatedPagesOf(
  elf: ElfHeaders,
  fileSize: number,
  pageSize: number,
  read: FileBytes,
): Uint32Array | null {
  const loads = checkedLoads(elf, fileSize);
  if (!loads) return null;
  const dyn = elf.programHeaders.find((p) => p.type === PT_DYNAMIC);
  if (!dyn || dyn.offset + dyn.filesz > BigInt(fileSize)) return null;
  const info = dynamicInfo(Number(dyn.offset), Number(dyn.filesz), read);
  if (!info) return null;

  targets.reset(
    loads.filter((s) => s.writable),
    pageSize,
  );
  /** File offset of [addr, addr + size) inside one PT_LOAD's file bytes and the file, or -1. */
  const offsetOf = (addr: number, size: number): number => {
    for (const s of loads) {
      if (addr >= s.vaddr && addr + size <= s.vaddr + s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        return off + size <= fileSize ? off : -1;
      }
    }
    return -1;
  };
  /** Marks the targets of `size` bytes of `entry`-byte relocations at `addr`; false when the table is unreadable. */
  const relocations = (addr: number | undefined, size: number | undefined, entry: number, limit = size): boolean => {
    if (addr === undefined || !size) return true;
    const off = offsetOf(addr, size);
    if (off < 0) return false;
    const end = off + Math.min(size, limit ?? size);
    for (let at = off; at + entry <= end; at += WINDOW) {
      const length = Math.min(WINDOW, end - at) - (Math.min(WINDOW, end - at) % entry);
      const view = read(at, length);
      if (!view) return false;
      targets.markTable(view, length, entry);
    }
    return true;
  };

  const rela = info.get(DT_RELA);
  const relasz = info.get(DT_RELASZ);
  const jmprel = info.get(DT_JMPREL);
  const pltrelsz = info.get(DT_PLTRELSZ);
  const jmpEntry = info.get(DT_PLTREL) === DT_REL ? 16 : 24;
  // PLT relocations at the end of DT_RELA's range are read once, as DT_JMPREL (elf/dynamic-link.h).
  let relaLimit = relasz;
  if (
    rela !== undefined &&
    relasz &&
    relasz >= 24 &&
    jmprel !== undefined &&
    pltrelsz &&
    pltrelsz >= jmpEntry &&
    jmprel >= rela &&
    jmprel < rela + relasz
  ) {
    relaLimit = Math.floor((jmprel - rela) / 24) * 24;
  }
  // Every table is located (and so checked) even when a limit leaves none of it to read.
  if (!relocations(rela, relasz, 24, relaLimit)) return null;
  if (!relocations(info.get(DT_REL), info.get(DT_RELSZ), 16)) return null;
  if (!relocations(jmprel, pltrelsz, jmpEntry)) return null;
  const relr = info.get(DT_RELR);
  const relrsz = info.get(DT_RELRSZ);
  if (relr !== undefined && relrsz) {
    const off = offsetOf(relr, relrsz);
    if (off < 0) return null;
    let where = 0;
    const end = off + relrsz;
    for (let at = off; at + 8 <= end; at += WINDOW) {
      const length = Math.min(WINDOW, end - at) & ~7;
      const view = read(at, length);
      if (!view) return null;
      for (let p = 0; p < length; p += 8) {
        const lo = view.getUint32(p, true);
        const hi = view.getUint32(p + 4, true);
        if ((lo & 1) === 0) {
          where = lo + hi * TWO_32;
          targets.mark(where);
          where += 8;
        } else {
          // Bitmap entry: bit i + 1 set marks where + 8 i, for i in 0..62.
          for (let i = 0; i < 63; i++) {
            const bit = i < 31 ? (lo >>> (i + 1)) & 1 : (hi >>> (i - 31)) & 1;
            if (bit) targets.mark(where + i * 8);
          }
          where += 63 * 8;
        }
      }
    }
  }
  return targets.result();
}

/**
 * relocatedPagesOf for the file open as `fd` (`size` bytes) whose first
 * bytes are `head`: a window inside `head` is a view of it, any other is
 * read with pread into `scratch` (at least WINDOW bytes); a failed or short
 * read makes the tables unreadable (null).
 */
export function relocatedPagesInFile(
  elf: ElfHeaders,
  fd: number,
  size: number,
  head: Uint8Array,
  pageSize: number,
  scratch: Uint8Array,
): Uint32Array | null {
  return relocatedPagesOf(elf, size, pageSize, (offset, length) => {
    if (offset + length <= head.length) return new DataView(head.buffer, head.byteOffset + offset, length);
    let done = 0;
    try {
      while (done < length) {
        const n = fs.readSync(fd, scratch, done, length - done, offset + done);
        if (n <= 0) return undefined;
        done += n;
      }
    } catch {
      return undefined;
    }
    return new DataView(scratch.buffer, scratch.byteOffset, length);
  });
}

/** The PT_LOADs when the file passes execve's header and program header checks, else undefined. */
function checkedLoads(elf: ElfHeaders, fileSize: number): Load[] | undefined {
  const h = elf.header;
  if (h.type !== ET_EXEC && h.type !== ET_DYN) return undefined;
  if (h.machine !== EM_X86_64 || h.class !== 64 || h.data !== 'lsb') return undefined;
  if (h.phentsize !== ELF64_PHDR_SIZE) return undefined;
  const tableSize = ELF64_PHDR_SIZE * h.phnumRaw;
  if (tableSize === 0 || tableSize > 65536) return undefined;
  if (h.phoff + BigInt(tableSize) > BigInt(fileSize) || elf.programHeaders.length !== h.phnumRaw) return undefined;
  const loads: Load[] = [];
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD) continue;
    if (p.filesz > p.memsz) return undefined;
    if (p.vaddr >= TASK_SIZE || p.memsz > TASK_SIZE || TASK_SIZE - p.memsz < p.vaddr) return undefined;
    if (p.filesz !== 0n) {
      if ((p.offset & 4095n) !== (p.vaddr & 4095n)) return undefined;
      if (p.offset + p.filesz > BigInt(fileSize)) return undefined;
    }
    loads.push({
      vaddr: Number(p.vaddr),
      offset: Number(p.offset),
      filesz: Number(p.filesz),
      writable: (p.flags & PF_W) !== 0,
    });
  }
  return loads;
}

/** The first value of each tag relocation needs, from the entries of PT_DYNAMIC up to DT_NULL; undefined when unreadable. */
function dynamicInfo(offset: number, size: number, read: FileBytes): Map<number, number> | undefined {
  const info = new Map<number, number>();
  const end = offset + Math.floor(size / 16) * 16;
  for (let at = offset; at < end; at += WINDOW) {
    const length = Math.min(WINDOW, end - at);
    const view = read(at, length);
    if (!view) return undefined;
    for (let p = 0; p < length; p += 16) {
      const tagLo = view.getUint32(p, true);
      const tagHi = view.getUint32(p + 4, true);
      if (tagLo === 0 && tagHi === 0) return info;
      if (tagHi !== 0 || !WANTED.includes(tagLo) || info.has(tagLo)) continue;
      info.set(tagLo, view.getUint32(p + 8, true) + view.getUint32(p + 12, true) * TWO_32);
    }
  }
  return info;
}
