/**
 * Questions about single pages of a scan result, for reports: where is a
 * page (segments with their permissions, sections), and which contents
 * occur most often and where.
 */
import { loadSegmentsOfPage, sectionSpansOfPage } from './elfpages.js';
import type { ScanResult } from './result.js';

export interface PagePlace {
  /** Index into ScanResult.files. */
  fileIndex: number;
  path: string;
  /** Page index in the file; its file offset is page * pageSize. */
  page: number;
  /** Permissions of each PT_LOAD segment that maps the page ('r-x', ...); empty when none does. */
  perms: string[];
  /** Program header indexes of those segments. */
  segments: number[];
  /** Names of the sections whose bytes overlap the page ('' for an unnamed one). */
  sections: string[];
}

export interface DuplicatedContent {
  contentId: number;
  /** Pages holding this content. */
  copies: number;
  /** Distinct files holding it. */
  files: number;
  /** Its pages in scan order, at most `placesPerContent` of them. */
  places: PagePlace[];
}

export function describePage(result: ScanResult, fileIndex: number, page: number): PagePlace {
  const file = result.files[fileIndex];
  if (!file) throw new RangeError(`no file ${fileIndex} in the scan`);
  const segments = loadSegmentsOfPage(file.segments, page);
  return {
    fileIndex,
    path: file.path,
    page,
    perms: segments.map((s) => s.perms),
    segments: segments.map((s) => s.index),
    sections: sectionSpansOfPage(file.sections, page, result.pageSize).map((s) => s.name),
  };
}

/**
 * The non-zero contents held by the most pages (ties: first seen first),
 * at most `limit` of them, each with where it occurs.
 */
export function mostDuplicated(result: ScanResult, limit = 10, placesPerContent = 8): DuplicatedContent[] {
  const { pages, count } = result.contents;
  const ids: number[] = [];
  for (let id = 1; id <= count; id++) if (pages[id]! > 1) ids.push(id);
  ids.sort((a, b) => pages[b]! - pages[a]! || a - b);
  const top = ids.slice(0, limit);
  const entries = top.map((id): DuplicatedContent => ({ contentId: id, copies: pages[id]!, files: 0, places: [] }));
  if (entries.length === 0) return entries;
  // slotOf[id] = 1 + position in `entries`, 0 for contents not listed: one typed-array load per page.
  const slotOf = new Uint32Array(count + 1);
  entries.forEach((e, i) => (slotOf[e.contentId] = i + 1));
  const lastFile = new Int32Array(entries.length).fill(-1);
  result.files.forEach((file, fileIndex) => {
    const contentIds = file.contentIds;
    for (let p = 0; p < contentIds.length; p++) {
      const slot = slotOf[contentIds[p]!]!;
      if (slot === 0) continue;
      const entry = entries[slot - 1]!;
      if (lastFile[slot - 1] !== fileIndex) {
        lastFile[slot - 1] = fileIndex;
        entry.files++;
      }
      if (entry.places.length < placesPerContent) entry.places.push(describePage(result, fileIndex, p));
    }
  });
  return entries;
}
