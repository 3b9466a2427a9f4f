/**
 * The report's data model: every page of every file with its content id
 * (ids consistent across all inputs; 0 is the all-zero page), and the kind
 * of each page, which is what the page map colours:
 *
 * - zero: every byte is zero (a zero-padded tail counts);
 * - unique ("singleton"): the only page with this content anywhere in the report;
 * - shared-within: the content occurs on another page of this same file
 *   (it may occur in other files as well);
 * - shared-across: the content occurs once in this file and in at least
 *   one other file.
 * docs/vocabulary.md defines these words for every command.
 *
 * The kinds do not depend on the order of the files. "Saves" does, as in
 * `pagestack scan`: a page-deduplicating store keeps the first page of each
 * content and drops zero pages and later copies (duplicates).
 *
 * Hot part: one pass over all content ids with typed arrays (pages per
 * content, files per content, first occurrence); no object per page.
 */
import type { ErrorCode } from '../error-codes.js';
import { InternalError } from '../errors.js';
import type { ElfSummary, LoadSegment, ScanWarning, SectionSpan } from '../scan/result.js';

export const PAGE_KINDS = ['zero', 'unique', 'shared-within', 'shared-across'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

/** Kind codes, the index in PAGE_KINDS (what the typed arrays hold). */
export const KIND_ZERO = 0;
export const KIND_UNIQUE = 1;
export const KIND_SHARED_WITHIN = 2;
export const KIND_SHARED_ACROSS = 3;

/** One input named on the command line: a container image, or the plain paths (scanned together). */
export interface ReportInput {
  kind: 'paths' | 'container';
  /** The container's path, or the paths as given. */
  paths: string[];
}

/** A file as a source gives it, its content ids already consistent across the report. */
export interface ReportFileInput {
  path: string;
  /** Index into ReportModel.inputs. */
  input: number;
  size: number;
  /** Content id of every page (0 = zero page). */
  contentIds: Uint32Array;
  elf: ElfSummary | null;
  /** PT_LOAD segments with the file pages they map (their counts are not used). */
  segments: readonly LoadSegment[];
  sections: readonly SectionSpan[];
  warnings: readonly ScanWarning[];
  /** File pages the dynamic linker writes when it relocates this file; undefined when not known (no dynamic section, a container member). */
  relocatedPages?: readonly number[];
}

/** Pages of one file, or of all files, by kind, and what deduplication saves. */
export interface KindCounts {
  pages: number;
  zero: number;
  unique: number;
  sharedWithin: number;
  sharedAcross: number;
  /** Non-zero pages whose content occurred earlier (in file order): a deduplicating store does not keep them. */
  duplicate: number;
  /** zero + duplicate: pages a deduplicating store does not keep. */
  savedPages: number;
}

export interface ReportFile extends ReportFileInput {
  counts: KindCounts;
  /** Pages relocation writes, and how many of them are zero or shared pages (dedup counted on them; in memory they become private copies). */
  relocation?: { pages: number; sharedOrZero: number };
}

export interface ReportTotals extends KindCounts {
  files: number;
  bytes: number;
  /** Distinct non-zero contents: the pages a deduplicating store keeps (scan's `uniquePages`). */
  distinctContents: number;
  savedBytes: number;
}

/** Per content id (index 0: the zero page). */
export interface ContentTable {
  /** Distinct non-zero contents; ids run 1..count. */
  count: number;
  /** Pages holding the content. */
  pages: Uint32Array;
  /** Distinct files holding it. */
  files: Uint32Array;
  /** First occurrence in file order: file index (-1 for the zero page) and page. */
  firstFile: Int32Array;
  firstPage: Uint32Array;
}

export interface SkippedInput {
  path: string;
  code: ErrorCode;
  reason: string;
}

export interface ReportModel {
  pageSize: number;
  inputs: ReportInput[];
  files: ReportFile[];
  contents: ContentTable;
  totals: ReportTotals;
  /** Paths not reported (not ELF, unreadable, ...), as the scanner skipped them. */
  skipped: SkippedInput[];
  /** Symbolic links met in walks and second names of hard links (not read twice). */
  links: Array<{ path: string; kind: string; target: string }>;
}

export interface ModelParts {
  pageSize: number;
  inputs: ReportInput[];
  files: ReportFileInput[];
  /** Largest content id used (ids run 0..contentCount). */
  contentCount: number;
  skipped?: SkippedInput[];
  links?: ReportModel['links'];
}

/** Counts pages per content and per kind. Content ids must lie in 0..contentCount. */
export function buildModel(parts: ModelParts): ReportModel {
  const { files: inputs, contentCount } = parts;
  const pages = new Uint32Array(contentCount + 1);
  const fileCount = new Uint32Array(contentCount + 1);
  const lastFile = new Int32Array(contentCount + 1).fill(-1);
  const firstFile = new Int32Array(contentCount + 1).fill(-1);
  const firstPage = new Uint32Array(contentCount + 1);
  for (let f = 0; f < inputs.length; f++) {
    const ids = inputs[f]!.contentIds;
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p]!;
      if (id > contentCount)
        throw new InternalError(`content id ${id} of ${inputs[f]!.path} page ${p} is above the count ${contentCount}`);
      if (pages[id]!++ === 0 && id !== 0) {
        firstFile[id] = f;
        firstPage[id] = p;
      }
      if (lastFile[id] !== f) {
        lastFile[id] = f;
        fileCount[id]!++;
      }
    }
  }
  const contents: ContentTable = { count: contentCount, pages, files: fileCount, firstFile, firstPage };
  let distinct = 0;
  for (let id = 1; id <= contentCount; id++) if (pages[id]! > 0) distinct++;

  const totals: ReportTotals = {
    ...emptyCounts(),
    files: inputs.length,
    bytes: 0,
    distinctContents: distinct,
    savedBytes: 0,
  };
  const here = new Uint32Array(contentCount + 1);
  const files = inputs.map((input, f): ReportFile => {
    const counts = countKinds(contents, input.contentIds, f, here);
    addCounts(totals, counts);
    totals.bytes += input.size;
    const file: ReportFile = { ...input, counts };
    if (input.relocatedPages) {
      const pages = input.relocatedPages.filter((p) => p < input.contentIds.length);
      file.relocation = {
        pages: pages.length,
        sharedOrZero: pages.filter((p) => kindOf(contents, input.contentIds[p]!) !== KIND_UNIQUE).length,
      };
    }
    return file;
  });
  totals.savedBytes = totals.savedPages * parts.pageSize;
  return {
    pageSize: parts.pageSize,
    inputs: parts.inputs,
    files,
    contents,
    totals,
    skipped: parts.skipped ?? [],
    links: parts.links ?? [],
  };
}

/** The kind code of a page holding content `id`, which its file holds on `inThisFile` pages (default 1). */
export function kindOf(contents: ContentTable, id: number, inThisFile = 1): number {
  if (id === 0) return KIND_ZERO;
  if (inThisFile > 1) return KIND_SHARED_WITHIN;
  return contents.files[id]! > 1 ? KIND_SHARED_ACROSS : KIND_UNIQUE;
}

/** Kind code of every page of file `fileIndex`. */
export function pageKinds(model: ReportModel, fileIndex: number): Uint8Array {
  const file = model.files[fileIndex];
  if (!file) throw new RangeError(`no file ${fileIndex} in the report`);
  const ids = file.contentIds;
  const out = new Uint8Array(ids.length);
  const here = new Uint32Array(model.contents.count + 1);
  for (let p = 0; p < ids.length; p++) here[ids[p]!]!++;
  for (let p = 0; p < ids.length; p++) out[p] = kindOf(model.contents, ids[p]!, here[ids[p]!]);
  return out;
}

/** `here` is all zeros on entry and on return (scratch shared by every file). */
function countKinds(contents: ContentTable, ids: Uint32Array, fileIndex: number, here: Uint32Array): KindCounts {
  const c = emptyCounts();
  c.pages = ids.length;
  for (let p = 0; p < ids.length; p++) here[ids[p]!]!++;
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    switch (kindOf(contents, id, here[id])) {
      case KIND_ZERO:
        c.zero++;
        continue;
      case KIND_UNIQUE:
        c.unique++;
        break;
      case KIND_SHARED_WITHIN:
        c.sharedWithin++;
        break;
      default:
        c.sharedAcross++;
    }
    if (contents.firstFile[id] !== fileIndex || contents.firstPage[id] !== p) c.duplicate++;
  }
  for (let p = 0; p < ids.length; p++) here[ids[p]!] = 0;
  c.savedPages = c.zero + c.duplicate;
  return c;
}

function emptyCounts(): KindCounts {
  return { pages: 0, zero: 0, unique: 0, sharedWithin: 0, sharedAcross: 0, duplicate: 0, savedPages: 0 };
}

function addCounts(into: KindCounts, c: KindCounts): void {
  into.pages += c.pages;
  into.zero += c.zero;
  into.unique += c.unique;
  into.sharedWithin += c.sharedWithin;
  into.sharedAcross += c.sharedAcross;
  into.duplicate += c.duplicate;
  into.savedPages += c.savedPages;
}
