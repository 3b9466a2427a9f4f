/**
 * Worker thread of the parallel scan (parallel.ts): reads, hashes and
 * indexes the pages of every file it is sent, in order, through one
 * PageScanner without ELF structure (the main thread reads that), and
 * posts the results back in batches, then the content tables. It takes one
 * job and ends.
 *
 * Messages to the main thread: { files: PageResult[] } (content id arrays
 * transferred), then { done: PageTables }, or { fatal: message } when
 * something other than an input error failed.
 */
import { parentPort } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { PageScanner } from './scanner.js';
import type { ScanWarning } from './result.js';
import type { ErrorCode } from '../error-codes.js';

export interface PageJob {
  paths: string[];
  /** Skip files without the ELF magic (scan without allFiles). */
  requireElf: boolean;
  pageSize: number;
  chunkBytes?: number;
  expectedPages: number;
}

/** One file's pages, or why it has none. */
export type PageResult =
  | {
      size: number;
      contentIds: Uint32Array;
      zeroPages: number;
      newPages: number;
      duplicatePages: number;
      warnings: ScanWarning[];
    }
  | { skip: ErrorCode; reason: string }
  | { error: ErrorCode; message: string };

export interface PageTables {
  distinct: number;
  contentPages: Uint32Array;
  firstFile: Int32Array;
  firstPage: Uint32Array;
}

/** Files per message: fewer messages, and the first results still arrive early. */
const BATCH = 16;

async function run(job: PageJob): Promise<void> {
  const port = parentPort!;
  const scanner = await PageScanner.create({
    pageSize: job.pageSize,
    chunkBytes: job.chunkBytes,
    expectedPages: job.expectedPages,
    structure: false,
  });
  try {
    let batch: PageResult[] = [];
    let transfer: ArrayBuffer[] = [];
    for (const path of job.paths) {
      try {
        const file = scanner.scanOrSkip(path, job.requireElf);
        if ('reason' in file) batch.push({ skip: file.code, reason: file.reason });
        else {
          batch.push({
            size: file.size,
            contentIds: file.contentIds,
            zeroPages: file.zeroPages,
            newPages: file.newPages,
            duplicatePages: file.duplicatePages,
            warnings: file.warnings,
          });
          transfer.push(file.contentIds.buffer as ArrayBuffer);
        }
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        batch.push({ error: err.code, message: err.message });
      }
      if (batch.length >= BATCH) {
        port.postMessage({ files: batch }, transfer);
        batch = [];
        transfer = [];
      }
    }
    if (batch.length > 0) port.postMessage({ files: batch }, transfer);
    const done: PageTables = {
      distinct: scanner.index.distinct,
      contentPages: scanner.contentPages,
      firstFile: scanner.firstFile,
      firstPage: scanner.firstPage,
    };
    port.postMessage({ done }, [
      done.contentPages.buffer as ArrayBuffer,
      done.firstFile.buffer as ArrayBuffer,
      done.firstPage.buffer as ArrayBuffer,
    ]);
  } finally {
    scanner.close();
  }
}

if (parentPort) {
  parentPort.once('message', (job: PageJob) => {
    run(job).catch((err: unknown) => {
      parentPort!.postMessage({ fatal: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    });
  });
}
