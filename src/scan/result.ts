/**
 * What a scan returns: plain data. Per-page detail is in typed arrays (a
 * content id per page, per file; where each content first occurs and how
 * many pages hold it), so a report, the container writer or the loader can
 * use it without rescanning. `toScanJson` (json.ts) is the stable,
 * documented JSON form; this is the library form.
 *
 * Content ids: 0 is the all-zero page; 1..contents.count are the distinct
 * non-zero page contents, numbered in order of first appearance.
 */
import type { ErrorCode } from '../error-codes.js';
import type { ElfClass, ElfData } from '../elf/types.js';

import type { PageSize } from '../abi/page-size.js';

export interface ScanTotals {
  /** Files scanned (skipped files and links not counted). */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** Their pages, ceil(size / pageSize) per file. */
  pages: number;
  /** Pages whose bytes are all zero (the zero-padded tail counts as zero). */
  zeroPages: number;
  /** Distinct non-zero page contents. */
  uniquePages: number;
  /** pages - zeroPages - uniquePages: pages whose content occurred earlier in the scan. */
  duplicatePages: number;
}

export interface ScanWarning {
  /** Stable code, e.g. E_ELF_SHDRS (damaged table) or E_ELF_TRUNCATED (unreadable ELF header). */
  code: ErrorCode;
  message: string;
}

export interface ElfSummary {
  class: ElfClass;
  data: ElfData;
  /** e_type (ET_EXEC 2, ET_DYN 3, ...). */
  type: number;
  /** e_machine (EM_X86_64 62, ...). */
  machine: number;
}

/** Pages of one file counted by kind. A page in two segments counts in both segments. */
export interface PageCounts {
  pages: number;
  zeroPages: number;
  /** Non-zero pages whose content first occurs here. */
  newPages: number;
  /** Non-zero pages whose content occurred earlier in the scan (in this file or an earlier one). */
  duplicatePages: number;
  /** Non-zero pages whose content occurs more than once anywhere in the scan (order-independent). */
  sharedPages: number;
}

/** A PT_LOAD segment and the file pages it maps. */
export interface LoadSegment extends PageCounts {
  /** Index in the program header table. */
  index: number;
  /** p_flags (PF_R 4, PF_W 2, PF_X 1). */
  flags: number;
  /** 'r-x', 'rw-', ... from p_flags. */
  perms: string;
  offset: bigint;
  filesz: bigint;
  vaddr: bigint;
  memsz: bigint;
  /**
   * The file pages mapped: [firstPage, firstPage + pages), that is from the
   * page holding p_offset to the page holding the last byte of p_filesz,
   * clipped to the file. No pages when p_filesz is 0 (all bss).
   */
  firstPage: number;
}

/** A section with file bytes (not SHT_NOBITS, not empty), clipped to the file. */
export interface SectionSpan {
  index: number;
  name: string;
  type: number;
  /** Byte range in the file, [offset, offset + size). */
  offset: number;
  size: number;
}

export interface ScannedFile extends PageCounts {
  path: string;
  /** Bytes read (the size at open time, unless the file shrank). */
  size: number;
  /** Content id of every page. */
  contentIds: Uint32Array;
  /** null for a non-ELF file (--all-files) or an ELF file whose header is unreadable. */
  elf: ElfSummary | null;
  /** PT_LOAD segments in program header order; empty when there are none or the table is damaged. */
  segments: LoadSegment[];
  /** Sections with file bytes, in section header order. */
  sections: SectionSpan[];
  warnings: ScanWarning[];
  /**
   * Scanned with the `relocations` option: the file pages (sorted, each once)
   * dynamic relocation writes, or null for a file ld.so would not relocate
   * (not x86-64, no PT_DYNAMIC, tables outside the file: relocations.ts).
   * Absent without the option.
   */
  relocatedPages?: Uint32Array | null;
}

export interface SkippedPath {
  path: string;
  /** E_NOT_ELF, E_ACCESS, E_NOT_REGULAR, E_NOENT, E_IO, ... */
  code: ErrorCode;
  reason: string;
}

export interface LinkedPath {
  path: string;
  /** 'symlink': met in a walk, not followed. 'hardlink': the same file as `target`, scanned under that path. */
  kind: 'symlink' | 'hardlink';
  target: string;
}

/** Where page contents occur. Indexed by content id; arrays may be longer than count + 1. */
export interface PageContents {
  /** Distinct non-zero contents (ids 1..count). */
  count: number;
  /** pages[id]: pages holding content id; pages[0]: zero pages. */
  pages: Uint32Array;
  /** firstFile[id]: index into ScanResult.files of the first occurrence (-1 for id 0). */
  firstFile: Int32Array;
  /** firstPage[id]: page index of the first occurrence in that file. */
  firstPage: Uint32Array;
}

export interface ScanResult {
  pageSize: PageSize;
  totals: ScanTotals;
  /** Scanned files in walk order. */
  files: ScannedFile[];
  skipped: SkippedPath[];
  links: LinkedPath[];
  contents: PageContents;
}
