/**
 * The two halves of a parallel scan. A worker thread (page-worker.ts) reads,
 * hashes and indexes every page, byte-exact as the in-process scanner does
 * (it is the same PageScanner, so content ids are the same). Meanwhile this
 * thread reads each file's ELF structure with a few small reads (header,
 * tables, dynamic section and relocation tables) and counts relocated
 * pages; scan.ts then joins the two per file.
 *
 * The two threads open each file separately. When a file's size differs
 * between the two (it changed during the scan), its structure may not match
 * its pages: the file gets an E_CHANGED warning.
 */
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { takePageWorker } from './page-worker-start.js';
import { InternalError } from '../errors.js';
import { isElf } from '../elf/parse.js';
import { loadSegments, readPageStructure, type PageStructure } from './elfpages.js';
import type { PageJob, PageResult, PageTables } from './page-worker.js';
import { relocatedPagesInFile, WINDOW } from './relocations.js';
import type { ScannedFile, SectionSpan } from './result.js';

export { pageWorkerAvailable } from './page-worker-start.js';

/** The worker thread and the results it has sent so far. */
export class PageWorker {
  private readonly worker: Worker;
  private readonly results: PageResult[] = [];
  private tables: PageTables | undefined;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor() {
    this.worker = takePageWorker();
    this.worker.ref();
    this.worker.on('message', (m: { files?: PageResult[]; done?: PageTables; fatal?: string }) => {
      if (m.files) for (const r of m.files) this.results.push(r);
      if (m.done) {
        this.tables = m.done;
        // Its script ends by itself; the process need not wait for that.
        this.worker.unref();
      }
      if (m.fatal) this.failure = new InternalError(`scan worker failed: ${m.fatal}`);
      this.notify();
    });
    this.worker.on('error', (err) => {
      this.failure = err instanceof Error ? err : new InternalError(String(err));
      this.notify();
    });
    this.worker.on('exit', (code) => {
      if (!this.tables) this.failure ??= new InternalError(`scan worker stopped (exit code ${code})`);
      this.notify();
    });
  }

  start(job: PageJob): void {
    this.worker.postMessage(job);
  }

  /** The result for the job's path `i`. */
  async result(i: number): Promise<PageResult> {
    while (this.results.length <= i) await this.next();
    return this.results[i]!;
  }

  /** The content tables, once every file is done. */
  async done(): Promise<PageTables> {
    while (!this.tables) await this.next();
    return this.tables;
  }

  /** Ends the worker without waiting (after a failure on this side). */
  stop(): void {
    this.worker.unref();
    void this.worker.terminate();
  }

  private next(): Promise<void> {
    if (this.failure) throw this.failure;
    return new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** What this thread reads of one file: its size when opened, its ELF structure, its relocated pages. */
export interface FileStructure {
  size: number;
  structure: PageStructure;
  relocatedPages?: Uint32Array | null;
}

const NOT_ELF: PageStructure = { elf: null, warnings: [], sections: () => [] };
/** Bytes read from the start of each file: the ELF header and program headers, usually the relocation tables too. */
const HEAD_BYTES = 64 << 10;

/** Reads ELF structure for the parallel scan; one head buffer and relocation window for all files. */
export class StructureReader {
  private readonly head = new Uint8Array(HEAD_BYTES);
  private window: Uint8Array | undefined;

  constructor(
    private readonly pageSize: number,
    private readonly relocations: boolean,
  ) {}

  /** undefined when the file cannot be opened or is not a regular file (the worker reports why). */
  read(path: string): FileStructure | undefined {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return undefined;
      const size = st.size;
      const want = Math.min(size, this.head.length);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, this.head, got, want - got, got);
        if (n <= 0) break;
        got += n;
      }
      const head = this.head.subarray(0, got);
      if (!isElf(head)) return { size, structure: NOT_ELF };
      const structure = readPageStructure(fd, size, head, path);
      if (!this.relocations || !structure.elf) return { size, structure };
      this.window ??= new Uint8Array(WINDOW);
      const relocatedPages = relocatedPagesInFile(structure.elf, fd, size, head, this.pageSize, this.window);
      return { size, structure, relocatedPages };
    } catch {
      // Unreadable here: the worker's read of the same file says what went wrong.
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** One scanned file from the worker's pages and this thread's structure. */
export function joinFile(
  path: string,
  pages: Extract<PageResult, { size: number }>,
  read: FileStructure | undefined,
  pageSize: number,
  relocations: boolean,
): ScannedFile {
  const structure = read?.structure ?? NOT_ELF;
  const elf = structure.elf;
  const size = pages.size;
  const warnings = [...structure.warnings, ...pages.warnings];
  if (read?.size !== size && (elf !== null || read === undefined) && pages.warnings.length === 0) {
    warnings.push({
      code: 'E_CHANGED',
      message:
        read === undefined
          ? 'could not be read a second time for its ELF structure: scanned as pages only'
          : `changed during the scan (${read.size} bytes, then ${size}): its ELF structure may not match its pages`,
    });
  }
  let sections: SectionSpan[] | undefined;
  const relocatedPages = relocations && elf ? read?.relocatedPages : undefined;
  return {
    path,
    size,
    contentIds: pages.contentIds,
    pages: pages.contentIds.length,
    zeroPages: pages.zeroPages,
    newPages: pages.newPages,
    duplicatePages: pages.duplicatePages,
    sharedPages: 0,
    elf: elf
      ? { class: elf.header.class, data: elf.header.data, type: elf.header.type, machine: elf.header.machine }
      : null,
    segments: elf ? loadSegments(elf, size, pageSize) : [],
    get sections(): SectionSpan[] {
      sections ??= structure.sections(size);
      return sections;
    },
    set sections(value: SectionSpan[]) {
      sections = value;
    },
    warnings,
    ...(relocatedPages === undefined ? {} : { relocatedPages }),
  };
}
