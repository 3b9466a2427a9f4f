/**
 * The data embedded in the report page, as JSON in a
 * <script type="application/json"> block (schema "pagestack.report/1").
 *
 * Kept compact for 100k+ pages: the per-page data is ONE array, the content
 * id of every page of every file in file order, as little-endian Uint32
 * bytes in base64 (5.3 characters a page); the page script decodes it into a
 * Uint32Array and derives everything per page (kind, where else the content
 * occurs) from it. Per file: its counts, PT_LOAD segments (a few objects)
 * and sections as a flat number array (name index, offset, size), the
 * names in one table for the whole report (.text, .rodata, ... repeat in
 * every file). ELF addresses are hex strings, as in `scan --json`, so
 * 64-bit values stay exact.
 */
import { elfTypeName } from '../scan/json.js';
import type { ElfSummary } from '../scan/result.js';
import { VERSION } from '../version.js';
import type { KindCounts, ReportModel, ReportTotals } from './model.js';

export const REPORT_SCHEMA = 'pagestack.report/1';

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  generator: string;
  title: string;
  pageSize: number;
  inputs: ReportModel['inputs'];
  totals: ReportTotals;
  files: FileData[];
  /** Section names; files[].sections refer to them by index. */
  sectionNames: string[];
  /** Distinct non-zero contents: ids in `ids` run 0..contentCount. */
  contentCount: number;
  /** Base64 of the little-endian Uint32 content ids of all pages, file after file (files[i].pages each). */
  ids: string;
  skipped: ReportModel['skipped'];
  links: ReportModel['links'];
}

export interface FileData {
  path: string;
  input: number;
  size: number;
  pages: number;
  /** 'ELF64 LSB x86-64 DYN', or null for a file without a readable ELF header. */
  elf: string | null;
  counts: KindCounts;
  /** Pages relocation writes, and how many are zero or shared ([pages, sharedOrZero]); absent when not known. */
  relocation?: [number, number];
  segments: SegmentData[];
  /** Sections with file bytes, flat: [nameIndex, offset, size, nameIndex, offset, size, ...] (file bytes [offset, offset + size)). */
  sections: number[];
  warnings: Array<{ code: string; message: string }>;
}

export interface SegmentData {
  /** Index in the program header table. */
  index: number;
  perms: string;
  offset: string;
  filesz: string;
  vaddr: string;
  memsz: string;
  /** File pages mapped: [firstPage, firstPage + pages). */
  firstPage: number;
  pages: number;
}

export function reportData(model: ReportModel, title: string): ReportData {
  const sectionNames: string[] = [];
  const nameIndex = new Map<string, number>();
  const nameOf = (name: string) => {
    let i = nameIndex.get(name);
    if (i === undefined) {
      i = sectionNames.length;
      sectionNames.push(name);
      nameIndex.set(name, i);
    }
    return i;
  };
  return {
    schema: REPORT_SCHEMA,
    generator: `pagestack ${VERSION}`,
    title,
    pageSize: model.pageSize,
    inputs: model.inputs,
    totals: model.totals,
    files: model.files.map((f) => ({
      path: f.path,
      input: f.input,
      size: f.size,
      pages: f.contentIds.length,
      elf: elfDescription(f.elf),
      counts: f.counts,
      ...(f.relocation ? { relocation: [f.relocation.pages, f.relocation.sharedOrZero] as [number, number] } : {}),
      segments: f.segments.map((s) => ({
        index: s.index,
        perms: s.perms,
        offset: hex(s.offset),
        filesz: hex(s.filesz),
        vaddr: hex(s.vaddr),
        memsz: hex(s.memsz),
        firstPage: s.firstPage,
        pages: s.pages,
      })),
      sections: f.sections.flatMap((s) => [nameOf(s.name), s.offset, s.size]),
      warnings: f.warnings.map((w) => ({ code: w.code, message: w.message })),
    })),
    sectionNames,
    contentCount: model.contents.count,
    ids: encodeIds(model),
    skipped: model.skipped,
    links: model.links,
  };
}

/** All content ids, file after file, as base64 of little-endian Uint32 values. */
export function encodeIds(model: ReportModel): string {
  const total = model.files.reduce((n, f) => n + f.contentIds.length, 0);
  const bytes = Buffer.alloc(total * 4);
  let at = 0;
  for (const f of model.files) {
    const ids = f.contentIds;
    for (let p = 0; p < ids.length; p++, at += 4) bytes.writeUInt32LE(ids[p]!, at);
  }
  return bytes.toString('base64');
}

/** The inverse of encodeIds, for tests and tools reading a report. */
export function decodeIds(base64: string): Uint32Array {
  const bytes = Buffer.from(base64, 'base64');
  const out = new Uint32Array(bytes.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readUInt32LE(i * 4);
  return out;
}

/**
 * JSON that is safe inside <script type="application/json">: '<' is
 * written as \u003c, so no '</script>' or '<!--' can end or change the
 * block whatever the file names hold.
 */
export function embeddableJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

function elfDescription(elf: ElfSummary | null): string | null {
  if (!elf) return null;
  const machine = MACHINES[elf.machine] ?? `machine ${elf.machine}`;
  return `ELF${elf.class} ${elf.data.toUpperCase()} ${machine} ${elfTypeName(elf.type)}`;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
