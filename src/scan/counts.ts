/**
 * The page counts that depend on the whole scan: sharedPages of each file,
 * and every count of each segment. Shared by the in-process scanner and the
 * parallel scan, which index pages the same way.
 */
import { ZERO_CONTENT_ID } from './pageindex.js';
import type { PageContents, ScannedFile } from './result.js';

/** Fills those counts; `files` are every file scanned, in scan order (the order firstFile indexes). */
export function finishCounts(files: readonly ScannedFile[], contents: Omit<PageContents, 'count'>): void {
  const c = new Float64Array(4);
  for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
    const file = files[fileIndex]!;
    countRange(c, contents, file.contentIds, fileIndex, 0, file.pages);
    file.sharedPages = c[3]!;
    for (const s of file.segments) {
      countRange(c, contents, file.contentIds, fileIndex, s.firstPage, s.firstPage + s.pages);
      s.zeroPages = c[0]!;
      s.newPages = c[1]!;
      s.duplicatePages = c[2]!;
      s.sharedPages = c[3]!;
    }
  }
}

/** Zero, new, duplicate and shared pages among ids[from, to) of file `fileIndex`, into c. */
function countRange(
  c: Float64Array,
  contents: Omit<PageContents, 'count'>,
  ids: Uint32Array,
  fileIndex: number,
  from: number,
  to: number,
): void {
  const { pages, firstFile, firstPage } = contents;
  let zero = 0;
  let first = 0;
  let shared = 0;
  for (let p = from; p < to; p++) {
    const id = ids[p]!;
    if (id === ZERO_CONTENT_ID) zero++;
    else {
      if (firstFile[id] === fileIndex && firstPage[id] === p) first++;
      if (pages[id]! > 1) shared++;
    }
  }
  c[0] = zero;
  c[1] = first;
  c[2] = to - from - zero - first;
  c[3] = shared;
}
