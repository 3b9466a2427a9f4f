/**
 * Which PT_LOAD segments and which sections own a range of file offsets.
 *
 * A PT_LOAD segment owns the file bytes [p_offset, p_offset + p_filesz): the
 * bytes execve maps from the file (gABI "Program Loading"; p_memsz beyond
 * p_filesz is zero-filled memory, not file bytes). A section owns
 * [sh_offset, sh_offset + sh_size) when it has bytes in the file: not
 * SHT_NOBITS, not SHT_NULL, sh_size > 0. Ranges are clipped to the file, so a
 * damaged header that claims bytes past the end owns only what exists.
 *
 * For a page scan, pageOwners() answers the question for every page of a file
 * in one sweep and stores the answer as two CSR tables (compressed sparse
 * rows: the owners of page p are items[start[p] .. start[p+1])), so no object
 * is made per page. A page may have several owners: the last page of text
 * and the first of data often share one.
 */
import { InternalError } from '../errors.js';
import { PT_LOAD, SHT_NOBITS, SHT_NULL, type ElfFile, type ProgramHeader, type SectionHeader } from './types.js';

/** A half-open range of file offsets [start, end). */
export interface FileRange {
  start: number;
  end: number;
}

/** The file bytes a PT_LOAD maps, clipped to the file; undefined for other segments or an empty range. */
export function segmentFileRange(p: ProgramHeader, fileSize: number): FileRange | undefined {
  if (p.type !== PT_LOAD) return undefined;
  return clip(p.offset, p.filesz, fileSize);
}

/** The file bytes a section holds, clipped to the file; undefined for NOBITS, NULL or empty sections. */
export function sectionFileRange(s: SectionHeader, fileSize: number): FileRange | undefined {
  if (s.type === SHT_NOBITS || s.type === SHT_NULL) return undefined;
  return clip(s.offset, s.size, fileSize);
}

function clip(offset: bigint, size: bigint, fileSize: number): FileRange | undefined {
  const limit = BigInt(fileSize);
  if (size === 0n || offset >= limit) return undefined;
  const end = offset + size > limit ? limit : offset + size;
  return { start: Number(offset), end: Number(end) };
}

const overlaps = (r: FileRange | undefined, start: number, end: number): r is FileRange =>
  r !== undefined && r.start < end && start < r.end;

/** PT_LOAD segments whose file bytes overlap [start, end), in program header order. */
export function segmentsOverlapping(elf: ElfFile, start: number, end: number): ProgramHeader[] {
  return elf.programHeaders.filter((p) => overlaps(segmentFileRange(p, elf.size), start, end));
}

/** Sections whose file bytes overlap [start, end), in section header order. */
export function sectionsOverlapping(elf: ElfFile, start: number, end: number): SectionHeader[] {
  return elf.sections.filter((s) => overlaps(sectionFileRange(s, elf.size), start, end));
}

/** Owners of every page of a file, as CSR tables of indexes into elf.programHeaders and elf.sections. */
export interface PageOwners {
  pageSize: number;
  /** ceil(file size / pageSize). */
  pageCount: number;
  /** PT_LOAD owners of page p: segmentIndex[segmentStart[p] .. segmentStart[p + 1]). */
  segmentStart: Uint32Array;
  segmentIndex: Uint32Array;
  /** Section owners of page p: sectionIndex[sectionStart[p] .. sectionStart[p + 1]). */
  sectionStart: Uint32Array;
  sectionIndex: Uint32Array;
}

/**
 * Maps every page of the file to the PT_LOAD segments and sections that
 * overlap it. Cost: one pass over the pages each range covers; memory: two
 * Uint32Array of pageCount + 1 plus one entry per (page, owner) pair.
 */
export function pageOwners(elf: ElfFile, pageSize: number): PageOwners {
  // The CLI validates --page-size; a bad value here is a bug in the caller.
  if (!Number.isInteger(pageSize) || pageSize <= 0)
    throw new InternalError(`pageOwners: page size must be a positive integer, got ${pageSize}`, { actual: pageSize });
  const pageCount = Math.ceil(elf.size / pageSize);
  const segments = csr(
    elf.programHeaders.map((p) => segmentFileRange(p, elf.size)),
    pageSize,
    pageCount,
  );
  const sections = csr(
    elf.sections.map((s) => sectionFileRange(s, elf.size)),
    pageSize,
    pageCount,
  );
  return {
    pageSize,
    pageCount,
    segmentStart: segments.start,
    segmentIndex: segments.items,
    sectionStart: sections.start,
    sectionIndex: sections.items,
  };
}

function csr(
  ranges: Array<FileRange | undefined>,
  pageSize: number,
  pageCount: number,
): { start: Uint32Array; items: Uint32Array } {
  const start = new Uint32Array(pageCount + 1);
  const pagesOf = (r: FileRange) => [Math.floor(r.start / pageSize), Math.floor((r.end - 1) / pageSize)] as const;
  for (const r of ranges) {
    if (!r) continue;
    const [first, last] = pagesOf(r);
    for (let p = first; p <= last; p++) start[p + 1]!++;
  }
  for (let p = 0; p < pageCount; p++) start[p + 1]! += start[p]!;
  const items = new Uint32Array(start[pageCount]!);
  const fill = start.slice(0, pageCount);
  ranges.forEach((r, index) => {
    if (!r) return;
    const [first, last] = pagesOf(r);
    for (let p = first; p <= last; p++) items[fill[p]!++] = index;
  });
  return { start, items };
}

/** Indexes into elf.programHeaders of the PT_LOAD segments that own page `page` (a view, not a copy). */
export function segmentsOfPage(owners: PageOwners, page: number): Uint32Array {
  return owners.segmentIndex.subarray(owners.segmentStart[page], owners.segmentStart[page + 1]);
}

/** Indexes into elf.sections of the sections that own page `page` (a view, not a copy). */
export function sectionsOfPage(owners: PageOwners, page: number): Uint32Array {
  return owners.sectionIndex.subarray(owners.sectionStart[page], owners.sectionStart[page + 1]);
}
