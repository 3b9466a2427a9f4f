/**
 * ELF structure for a page scan: which PT_LOAD segments map a file page
 * (System V gABI, "Program Loading": a segment maps the pages from the one
 * holding p_offset to the one holding p_offset + p_filesz - 1, as the
 * kernel's elf_map does), and which sections overlap it.
 *
 * The scanner reads files in chunks, so a big file is never whole in
 * memory. parseElf wants the file's bytes, so for a file larger than one
 * chunk it gets a sparse image: an array of the file's size (zero-filled
 * memory the kernel only commits where it is written) into which exactly
 * the ranges parseElf reads are copied (ELF header, section 0, program and
 * section header tables, section-name string table, PT_INTERP). Parsing
 * repeats until no new range is needed, so the last parse reads only real
 * bytes and equals a parse of the whole file.
 *
 * Damage never stops a scan: an unreadable ELF header becomes a warning
 * (elf: null), and parseElf's table warnings pass through.
 */
import fs from 'node:fs';
import { PagestackError } from '../errors.js';
import { parseElf } from '../elf/parse.js';
import { quickElf, quickSections } from '../elf/quick.js';
import { sectionFileRange, segmentFileRange } from '../elf/layout.js';
import { PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, SHT_NOBITS, type ElfFile } from '../elf/types.js';
import type { LoadSegment, ScanWarning, SectionSpan } from './result.js';

export interface ElfStructure {
  elf: ElfFile | null;
  warnings: ScanWarning[];
}

/**
 * What the scanner keeps of a file's ELF structure: the header and program
 * headers (null when not ELF or unreadable), parseElf's warnings, and the
 * sections with file bytes, decoded when first asked for.
 */
export interface PageStructure {
  elf: Pick<ElfFile, 'header' | 'programHeaders'> | null;
  warnings: ScanWarning[];
  /** The sections holding bytes among the first `fileSize` bytes (sectionSpans). */
  sections(fileSize: number): SectionSpan[];
}

const NO_SECTIONS = (): SectionSpan[] => [];

/**
 * The ELF structure of the file open as `fd` (`size` bytes) whose first
 * bytes are `head`: the quick read (src/elf/quick.ts) when the file is
 * clean, which reads only the header and the tables, else readElfStructure
 * (parseElf, with its warnings). The result is the same either way.
 */
export function readPageStructure(fd: number, size: number, head: Uint8Array, file: string): PageStructure {
  const quick = quickElf(head, size, (offset, length) => readBytes(fd, offset, length), file);
  if (quick) return { elf: quick, warnings: [], sections: (fileSize) => quickSections(quick, fileSize) };
  const { elf, warnings } = readElfStructure(fd, size, head, file);
  return { elf, warnings, sections: elf ? (fileSize) => sectionSpans(elf, fileSize) : NO_SECTIONS };
}

/** `length` bytes at `offset` (the caller checked they lie in the file), or undefined when they cannot all be read. */
function readBytes(fd: number, offset: number, length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let done = 0;
  try {
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n <= 0) return undefined;
      done += n;
    }
  } catch {
    return undefined;
  }
  return out;
}

/** At most this many parse rounds for a sparse image; real files need 2 or 3. */
const MAX_ROUNDS = 8;

/**
 * Parses the ELF structure of the file open as `fd` (`size` bytes), given
 * its first bytes `head` (the whole file when head.length === size).
 */
export function readElfStructure(fd: number, size: number, head: Uint8Array, file: string): ElfStructure {
  try {
    if (head.length >= size) return fromElf(parseElf(head.subarray(0, size), file));
    const image = sparseImage(size);
    if (!image) {
      return {
        elf: null,
        warnings: [
          {
            code: 'E_ELF_TOO_LARGE',
            message: `file too large (${size} bytes) to read its ELF structure; scanned as pages only`,
          },
        ],
      };
    }
    const filled: Array<[number, number]> = [];
    const fill = (start: number, end: number) => {
      if (filled.some(([s, e]) => s <= start && end <= e)) return false;
      const fromHead = Math.min(end, head.length);
      if (start < fromHead) image.set(head.subarray(start, fromHead), start);
      if (fromHead < end) readRange(fd, image, Math.max(start, fromHead), end);
      filled.push([start, end]);
      return true;
    };
    try {
      fill(0, Math.min(head.length, ELF_HEADER_BYTES));
      let elf = parseElf(image, file);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        let added = false;
        for (const [start, end] of rangesRead(elf, size)) if (fill(start, end)) added = true;
        if (!added) break;
        elf = parseElf(image, file);
      }
      return fromElf(elf);
    } finally {
      // Leave the shared image all zero for the next file.
      for (const [start, end] of filled) image.fill(0, start, end);
    }
  } catch (err) {
    if (err instanceof PagestackError)
      return { elf: null, warnings: [{ code: err.code, message: stripFile(err.message, file) }] };
    throw err;
  }
}

/** Enough for the ELF64 header (64 bytes); the rest comes from rangesRead. */
const ELF_HEADER_BYTES = 64;

/**
 * One zero-filled array reused for every big file, grown to the largest:
 * its memory is only committed where metadata is written, and written
 * ranges are zeroed again after each file. At least 64 MiB, so that malloc
 * serves it with a fresh mmap (lazily zeroed by the kernel; glibc's mmap
 * threshold never exceeds 32 MiB) rather than by clearing heap memory, and
 * so that one allocation usually serves a whole scan. undefined when
 * `size` cannot be allocated.
 */
const MIN_SPARSE_IMAGE = 64 << 20;
let image: Uint8Array | undefined;

/** Lets the shared sparse image go (PageScanner.close calls it). */
export function releaseSparseImage(): void {
  image = undefined;
}

function sparseImage(size: number): Uint8Array | undefined {
  if (!image || image.length < size) {
    image = undefined;
    try {
      image = new Uint8Array(Math.max(size, MIN_SPARSE_IMAGE));
    } catch {
      return undefined;
    }
  }
  return image.subarray(0, size);
}

function fromElf(elf: ElfFile): ElfStructure {
  return { elf, warnings: elf.warnings.map((w) => ({ code: w.code, message: w.message })) };
}

/** The byte ranges parseElf reads beyond the ELF header, clipped to the file. */
function rangesRead(elf: ElfFile, size: number): Array<[number, number]> {
  const h = elf.header;
  const out: Array<[number, number]> = [];
  const add = (offset: bigint, length: bigint) => {
    if (offset >= BigInt(size) || length <= 0n) return;
    const end = offset + length > BigInt(size) ? size : Number(offset + length);
    out.push([Number(offset), end]);
  };
  if (h.shoff !== 0n) {
    add(h.shoff, BigInt(h.shentsize)); // section 0: extended numbering
    add(h.shoff, BigInt(h.shnum) * BigInt(h.shentsize));
  }
  if (h.phoff !== 0n) add(h.phoff, BigInt(h.phnum) * BigInt(h.phentsize));
  const strtab = elf.sections[h.shstrndx];
  if (h.shstrndx !== 0 && strtab && strtab.type !== SHT_NOBITS) add(strtab.offset, strtab.size);
  for (const p of elf.programHeaders) if (p.type === PT_INTERP) add(p.offset, p.filesz);
  return out;
}

function readRange(fd: number, into: Uint8Array, start: number, end: number): void {
  let at = start;
  while (at < end) {
    const n = fs.readSync(fd, into, at, end - at, at);
    if (n <= 0) return; // the file shrank: the rest stays zero, parseElf sees what is there
    at += n;
  }
}

function stripFile(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

/** 'r-x' from p_flags. */
export function permsOf(flags: number): string {
  return `${flags & PF_R ? 'r' : '-'}${flags & PF_W ? 'w' : '-'}${flags & PF_X ? 'x' : '-'}`;
}

/**
 * The PT_LOAD segments with the file pages they map (counts left at 0 for
 * the scanner to fill). Which bytes a segment or section owns is
 * src/elf/layout.ts's definition, clipped to the file.
 */
export function loadSegments(elf: Pick<ElfFile, 'programHeaders'>, fileSize: number, pageSize: number): LoadSegment[] {
  const out: LoadSegment[] = [];
  for (const p of elf.programHeaders) {
    if (p.type !== PT_LOAD) continue;
    const range = segmentFileRange(p, fileSize);
    const firstPage = range ? Math.floor(range.start / pageSize) : 0;
    const pages = range ? Math.floor((range.end - 1) / pageSize) - firstPage + 1 : 0;
    out.push({
      index: p.index,
      flags: p.flags,
      perms: permsOf(p.flags),
      offset: p.offset,
      filesz: p.filesz,
      vaddr: p.vaddr,
      memsz: p.memsz,
      firstPage,
      pages,
      zeroPages: 0,
      newPages: 0,
      duplicatePages: 0,
      sharedPages: 0,
    });
  }
  return out;
}

/** Sections that hold file bytes, clipped to the file. */
export function sectionSpans(elf: ElfFile, fileSize: number): SectionSpan[] {
  const out: SectionSpan[] = [];
  for (const s of elf.sections) {
    const range = sectionFileRange(s, fileSize);
    if (range)
      out.push({ index: s.index, name: s.name, type: s.type, offset: range.start, size: range.end - range.start });
  }
  return out;
}

/** The segments that map file page `page`. */
export function loadSegmentsOfPage(segments: readonly LoadSegment[], page: number): LoadSegment[] {
  return segments.filter((s) => page >= s.firstPage && page < s.firstPage + s.pages);
}

/** The sections whose bytes overlap file page `page`. */
export function sectionSpansOfPage(sections: readonly SectionSpan[], page: number, pageSize: number): SectionSpan[] {
  const start = page * pageSize;
  const end = start + pageSize;
  return sections.filter((s) => s.offset < end && s.offset + s.size > start);
}
