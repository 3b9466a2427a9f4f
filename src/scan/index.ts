/**
 * The page scanner: pages, hashes, duplicates, and where each page lies in
 * its ELF file. `scan()` is the whole job; `PageScanner` is the session
 * underneath it, for callers that add files one at a time (the loader's
 * content ids for plain ELF files); `fileContentIds` is the one-file case.
 */
export { scan, type ScanOptions } from './scan.js';
export { PageScanner, DEFAULT_CHUNK_BYTES, type PageScannerOptions, type ScanFileOptions } from './scanner.js';
export { walkPaths, type WalkEntry, type WalkResult } from './walk.js';
export { describePage, mostDuplicated, type PagePlace, type DuplicatedContent } from './describe.js';
export {
  toScanJson,
  savingsOf,
  elfTypeName,
  SCAN_SCHEMA,
  type ScanJson,
  type FileJson,
  type SegmentJson,
} from './json.js';
export { PageIndex, ZERO_CONTENT_ID, type ReadCanonical } from './pageindex.js';
export { loadPageHasher, createPageHasher, type PageHash64, type PageHasher } from './hash.js';
export * from './result.js';
export { PAGE_SIZES, checkPageSize, parsePageSize, type PageSize } from '../abi/page-size.js';

import { PageScanner } from './scanner.js';

/**
 * Content ids of every page of one file (0 = all-zero page). Pass a
 * scanner to number contents consistently across files (two pages of
 * different files get the same id exactly when their bytes are equal);
 * without one, ids are local to this file. ELF magic is not required.
 */
export async function fileContentIds(
  path: string,
  options: { pageSize?: number; scanner?: PageScanner } = {},
): Promise<Uint32Array> {
  const scanner = options.scanner ?? (await PageScanner.create({ pageSize: options.pageSize }));
  try {
    return scanner.scanFile(path, { requireElf: false }).contentIds;
  } finally {
    if (!options.scanner) scanner.close();
  }
}
