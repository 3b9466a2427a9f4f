/**
 * The `pagestack scan --json` document (schema "pagestack.scan/1"; every
 * field is described in docs/notes/scan.md). Stable: fields are only ever
 * added. ELF addresses, offsets and sizes from headers are hex strings
 * ("0x401000") so 64-bit values stay exact; counts are numbers.
 */
import { mostDuplicated, type PagePlace } from './describe.js';
import type { LinkedPath, ScanResult, ScanTotals, ScanWarning, SkippedPath } from './result.js';

export const SCAN_SCHEMA = 'pagestack.scan/1';

export interface ScanJson {
  schema: typeof SCAN_SCHEMA;
  pageSize: number;
  totals: ScanTotals;
  savings: { pages: number; bytes: number; percent: number };
  files: FileJson[];
  mostDuplicated: DuplicateJson[];
  skipped: SkippedPath[];
  links: LinkedPath[];
}

export interface CountsJson {
  pages: number;
  zeroPages: number;
  newPages: number;
  duplicatePages: number;
  sharedPages: number;
}

export interface FileJson extends CountsJson {
  path: string;
  size: number;
  savedBytes: number;
  elf: { class: number; data: string; type: number; typeName: string; machine: number } | null;
  segments: SegmentJson[];
  warnings: ScanWarning[];
  /**
   * File pages the dynamic linker writes when it relocates this file (targets of its dynamic
   * relocations in writable PT_LOADs), and how many of them are shared or zero pages: those
   * become private copies in memory, whatever dedup found on disk. Absent for files without
   * a dynamic section.
   */
  relocation?: RelocationJson;
}

export interface RelocationJson {
  pages: number;
  sharedPages: number;
  zeroPages: number;
}

export interface SegmentJson extends CountsJson {
  index: number;
  perms: string;
  flags: number;
  offset: string;
  filesz: string;
  vaddr: string;
  memsz: string;
  firstPage: number;
}

export interface DuplicateJson {
  copies: number;
  files: number;
  places: Array<{ path: string; page: number; offset: number; perms: string[]; sections: string[] }>;
}

const ELF_TYPE_NAMES: Record<number, string> = { 0: 'NONE', 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };

export function elfTypeName(type: number): string {
  return ELF_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Savings: zero pages are stored as nothing, duplicates not at all. Percent of all pages, two decimals. */
export function savingsOf(totals: ScanTotals, pageSize: number): ScanJson['savings'] {
  const pages = totals.zeroPages + totals.duplicatePages;
  const percent = totals.pages === 0 ? 0 : Math.round((pages / totals.pages) * 10000) / 100;
  return { pages, bytes: pages * pageSize, percent };
}

export function toScanJson(result: ScanResult, topDuplicates = 10): ScanJson {
  const ps = result.pageSize;
  return {
    schema: SCAN_SCHEMA,
    pageSize: ps,
    totals: { ...result.totals },
    savings: savingsOf(result.totals, ps),
    files: result.files.map((f) => ({
      path: f.path,
      size: f.size,
      pages: f.pages,
      zeroPages: f.zeroPages,
      newPages: f.newPages,
      duplicatePages: f.duplicatePages,
      sharedPages: f.sharedPages,
      savedBytes: (f.zeroPages + f.duplicatePages) * ps,
      elf: f.elf
        ? {
            class: f.elf.class,
            data: f.elf.data,
            type: f.elf.type,
            typeName: elfTypeName(f.elf.type),
            machine: f.elf.machine,
          }
        : null,
      segments: f.segments.map((s) => ({
        index: s.index,
        perms: s.perms,
        flags: s.flags,
        offset: hex(s.offset),
        filesz: hex(s.filesz),
        vaddr: hex(s.vaddr),
        memsz: hex(s.memsz),
        firstPage: s.firstPage,
        pages: s.pages,
        zeroPages: s.zeroPages,
        newPages: s.newPages,
        duplicatePages: s.duplicatePages,
        sharedPages: s.sharedPages,
      })),
      warnings: f.warnings.map((w) => ({ ...w })),
    })),
    mostDuplicated: mostDuplicated(result, topDuplicates).map((d) => ({
      copies: d.copies,
      files: d.files,
      places: d.places.map((p: PagePlace) => ({
        path: p.path,
        page: p.page,
        offset: p.page * ps,
        perms: p.perms,
        sections: p.sections,
      })),
    })),
    skipped: result.skipped.map((s) => ({ ...s })),
    links: result.links.map((l) => ({ ...l })),
  };
}
