/**
 * scan(paths, options): walk the paths (walk.ts), scan every file into one
 * page index (scanner.ts), and return plain data (result.ts).
 */
import { InputError, type PagestackError, UsageError } from '../errors.js';
import type { PageHash64 } from './hash.js';
import type { ScanResult, ScannedFile, SkippedPath } from './result.js';
import { checkPageSize } from '../abi/page-size.js';
import { PageScanner } from './scanner.js';
import { reasonOf, walkPaths } from './walk.js';

export interface ScanOptions {
  /** 4096 (default), 16384 or 65536. */
  pageSize?: number;
  /** Scan files without the ELF magic too (as pages only). Default false: they are skipped. */
  allFiles?: boolean;
  /** Throw (InputError E_STRICT) at the first skipped file or warning. */
  strict?: boolean;
  /** Hash function to use instead of XXH64 (tests inject colliding ones). */
  hash?: PageHash64;
  /** Bytes read at a time, a multiple of the page size (default 4 MiB). */
  chunkBytes?: number;
  /** false: hash through the package API, copying each page (the fallback; for tests). Default true. */
  inPlaceHashing?: boolean;
  /** Also find the file pages dynamic relocation writes (ScannedFile.relocatedPages). Default false. */
  relocations?: boolean;
  /** Called after each file with bytes done and bytes in all files found. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export async function scan(paths: string[], options: ScanOptions = {}): Promise<ScanResult> {
  if (paths.length === 0) throw new UsageError('no paths given');
  const pageSize = checkPageSize(options.pageSize ?? 4096);
  const walk = walkPaths(paths);
  const strict = options.strict ?? false;
  if (strict) for (const s of walk.skipped) throw strictError(s);
  const totalBytes = walk.files.reduce((sum, f) => sum + f.size, 0);
  const scanner = await PageScanner.create({
    pageSize,
    hash: options.hash,
    chunkBytes: options.chunkBytes,
    inPlaceHashing: options.inPlaceHashing,
    relocations: options.relocations,
    expectedPages: Math.ceil(totalBytes / pageSize) + walk.files.length,
  });
  try {
    const files: ScannedFile[] = [];
    const skipped: SkippedPath[] = [...walk.skipped];
    let doneBytes = 0;
    for (const entry of walk.files) {
      try {
        const file = scanner.scanOrSkip(entry.path, !options.allFiles);
        if ('reason' in file) {
          if (entry.explicit) throw new InputError(file.code, `${entry.path}: ${file.reason}`, { file: entry.path });
          if (strict) throw strictError({ path: entry.path, ...file });
          skipped.push({ path: entry.path, ...file });
          doneBytes += entry.size;
          options.onProgress?.(doneBytes, totalBytes);
          continue;
        }
        files.push(file);
        if (strict && file.warnings.length > 0) {
          const w = file.warnings[0]!;
          throw strictError({ path: file.path, code: w.code, reason: w.message });
        }
      } catch (err) {
        if (!(err instanceof InputError) || entry.explicit || err.code === 'E_STRICT') throw err;
        const s: SkippedPath = { path: entry.path, code: err.code, reason: reasonOf(err.message, entry.path) };
        if (strict) throw strictError(s);
        skipped.push(s);
      }
      doneBytes += entry.size;
      options.onProgress?.(doneBytes, totalBytes);
    }
    scanner.finishCounts(files);
    return resultOf(scanner, files, skipped, walk.links);
  } finally {
    scanner.close();
  }
}

function strictError(s: SkippedPath): PagestackError {
  return new InputError('E_STRICT', `${s.path}: ${s.reason} (--strict)`, { file: s.path, cause: s.code });
}

function resultOf(
  scanner: PageScanner,
  files: ScannedFile[],
  skipped: SkippedPath[],
  links: ScanResult['links'],
): ScanResult {
  let bytes = 0;
  let pages = 0;
  let zeroPages = 0;
  for (const f of files) {
    bytes += f.size;
    pages += f.pages;
    zeroPages += f.zeroPages;
  }
  const uniquePages = scanner.index.distinct;
  return {
    pageSize: scanner.pageSize,
    totals: {
      files: files.length,
      bytes,
      pages,
      zeroPages,
      uniquePages,
      duplicatePages: pages - zeroPages - uniquePages,
    },
    files,
    skipped,
    links,
    contents: {
      count: uniquePages,
      pages: scanner.contentPages,
      firstFile: scanner.firstFile,
      firstPage: scanner.firstPage,
    },
  };
}
