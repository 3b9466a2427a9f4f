/**
 * scan(paths, options): walk the paths (walk.ts), scan every file into one
 * page index (scanner.ts), and return plain data (result.ts).
 */
import { InputError, type PagestackError, UsageError } from '../errors.js';
import type { PageHash64 } from './hash.js';
import type { PageContents, ScanResult, ScannedFile, SkippedPath } from './result.js';
import { checkPageSize, type PageSize } from '../abi/page-size.js';
import { PageScanner } from './scanner.js';
import { finishCounts } from './counts.js';
import { joinFile, PageWorker, pageWorkerAvailable, StructureReader, type FileStructure } from './parallel.js';
import { reasonOf, walkPaths, type WalkEntry, type WalkResult } from './walk.js';

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
  /**
   * Read and index pages on a worker thread while this thread reads ELF
   * structure (parallel.ts); the result is the same. Default: when the
   * compiled worker exists, no hash function is injected, and the files hold
   * at least PARALLEL_MIN_BYTES (a worker costs tens of milliseconds to start).
   */
  parallel?: boolean;
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
  const expectedPages = Math.ceil(totalBytes / pageSize) + walk.files.length;
  const parallel =
    options.hash === undefined &&
    options.inPlaceHashing !== false &&
    (options.parallel ?? totalBytes >= PARALLEL_MIN_BYTES) &&
    pageWorkerAvailable();
  if (parallel) return scanParallel(walk, pageSize, expectedPages, totalBytes, options);
  const scanner = await PageScanner.create({
    pageSize,
    hash: options.hash,
    chunkBytes: options.chunkBytes,
    inPlaceHashing: options.inPlaceHashing,
    relocations: options.relocations,
    expectedPages,
  });
  try {
    const files = await collect(walk, options, totalBytes, (entry) =>
      scanner.scanOrSkip(entry.path, !options.allFiles),
    );
    scanner.finishCounts(files);
    return resultOf(pageSize, files, walk, {
      count: scanner.index.distinct,
      pages: scanner.contentPages,
      firstFile: scanner.firstFile,
      firstPage: scanner.firstPage,
    });
  } finally {
    scanner.close();
  }
}

/** Below this many bytes in all a scan stays on one thread. */
export const PARALLEL_MIN_BYTES = 16 << 20;

async function scanParallel(
  walk: WalkResult,
  pageSize: PageSize,
  expectedPages: number,
  totalBytes: number,
  options: ScanOptions,
): Promise<ScanResult> {
  const worker = new PageWorker();
  let finished = false;
  try {
    worker.start({
      paths: walk.files.map((f) => f.path),
      requireElf: !options.allFiles,
      pageSize,
      chunkBytes: options.chunkBytes,
      expectedPages,
    });
    const relocations = options.relocations === true;
    const reader = new StructureReader(pageSize, relocations);
    const structures: Array<FileStructure | undefined> = walk.files.map((f) => reader.read(f.path));
    let i = 0;
    const files = await collect(walk, options, totalBytes, async (entry) => {
      const at = i++;
      const r = await worker.result(at);
      if ('error' in r) throw new InputError(r.error, r.message, { file: entry.path });
      if ('skip' in r) return { code: 'E_NOT_ELF', reason: r.reason };
      return joinFile(entry.path, r, structures[at], pageSize, relocations);
    });
    const tables = await worker.done();
    finished = true;
    const contents = {
      count: tables.distinct,
      pages: tables.contentPages,
      firstFile: tables.firstFile,
      firstPage: tables.firstPage,
    };
    finishCounts(files, contents);
    return resultOf(pageSize, files, walk, contents);
  } finally {
    if (!finished) worker.stop();
  }
}

type Scanned = ScannedFile | { code: 'E_NOT_ELF'; reason: string };

/** The files of the walk in order, each through `next`, with the rules for skips, explicit paths and strict. */
async function collect(
  walk: WalkResult,
  options: ScanOptions,
  totalBytes: number,
  next: (entry: WalkEntry) => Scanned | Promise<Scanned>,
): Promise<ScannedFile[]> {
  const strict = options.strict ?? false;
  const files: ScannedFile[] = [];
  const skipped = walk.skipped;
  let doneBytes = 0;
  for (const entry of walk.files) {
    try {
      const file = await next(entry);
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
  return files;
}

function strictError(s: SkippedPath): PagestackError {
  return new InputError('E_STRICT', `${s.path}: ${s.reason} (--strict)`, { file: s.path, cause: s.code });
}

function resultOf(pageSize: PageSize, files: ScannedFile[], walk: WalkResult, contents: PageContents): ScanResult {
  let bytes = 0;
  let pages = 0;
  let zeroPages = 0;
  for (const f of files) {
    bytes += f.size;
    pages += f.pages;
    zeroPages += f.zeroPages;
  }
  const uniquePages = contents.count;
  return {
    pageSize,
    totals: {
      files: files.length,
      bytes,
      pages,
      zeroPages,
      uniquePages,
      duplicatePages: pages - zeroPages - uniquePages,
    },
    files,
    skipped: walk.skipped,
    links: walk.links,
    contents,
  };
}
