/**
 * The page scanner: reads files in chunks into one reused buffer, cuts them
 * by file offset into pages (the last one zero-padded) and gives every page
 * a content id through one PageIndex shared by all files of a session.
 *
 * Hot path: one WebAssembly call hashes every page of a chunk in place
 * (hash.ts), then per page a probe of the index's typed arrays and a
 * memcmp against the zero page or the first occurrence. No object per page.
 *
 * Where each content first occurred (file, page) is kept in typed arrays.
 * When the index needs those bytes to confirm a match, they are copied from
 * the buffer if the page is in the current chunk, otherwise re-read with
 * fs.readSync from the file (a few descriptors stay open for that).
 *
 * Buffer: `chunkBytes` (default 4 MiB, a multiple of the page size) inside
 * the hasher's WebAssembly memory. 4 MiB keeps each chunk in cache between
 * the read and the hash and costs one read(2) per 4 MiB; a larger chunk is
 * no faster on warm files, a much smaller one pays more system calls.
 */
import fs from 'node:fs';
import { InputError, InternalError, UsageError, fsError } from '../errors.js';
import { isElf } from '../elf/parse.js';
import { createPageHasher, PAGES_PER_CALL, type PageHash64, type PageHasher } from './hash.js';
import { PageIndex, ZERO_CONTENT_ID } from './pageindex.js';
import { loadSegments, readPageStructure, releaseSparseImage, type PageStructure } from './elfpages.js';
import { checkPageSize, type PageSize } from '../abi/page-size.js';
import type { ScannedFile, ScanWarning, SectionSpan } from './result.js';
import { reasonOf } from './walk.js';
import { relocatedPagesInFile, WINDOW, type ElfHeaders } from './relocations.js';

export interface PageScannerOptions {
  /** 4096 (default), 16384 or 65536; anything else is a UsageError. */
  pageSize?: number;
  /** Hash function to use instead of XXH64; tests inject colliding ones. */
  hash?: PageHash64;
  /** Bytes read at a time, a multiple of the page size (default 4 MiB). */
  chunkBytes?: number;
  /** false: hash through the package API, copying each page (the fallback; for tests). Default true. */
  inPlaceHashing?: boolean;
  /**
   * Pages the session will probably see (a hint): the index and the content
   * tables are sized for it up front instead of growing (28 to 44 bytes per page,
   * up to 4 Mi slots; beyond that they grow as needed).
   */
  expectedPages?: number;
  /** Also find, per ELF file, the file pages dynamic relocation writes (ScannedFile.relocatedPages). Default false. */
  relocations?: boolean;
  /**
   * false: pages only; every file comes back with elf null and no segments or
   * sections (the parallel scan reads ELF structure on another thread). Default true.
   */
  structure?: boolean;
}

/** Largest index sized up front from expectedPages: 4 Mi slots, 48 MiB. */
const MAX_INITIAL_SLOTS = 1 << 22;

export const DEFAULT_CHUNK_BYTES = 4 << 20;
/** Bytes read before the ELF magic is known: a multiple of every page size. */
const FIRST_READ = 64 << 10;
const NOT_ELF: PageStructure = { elf: null, warnings: [], sections: () => [] };

/** Descriptors kept open for re-reading first occurrences. */
const OPEN_FILES = 32;

export interface ScanFileOptions {
  /** Refuse a file without the ELF magic (InputError E_NOT_ELF). Default true. */
  requireElf?: boolean;
}

export class PageScanner {
  readonly pageSize: PageSize;
  readonly index: PageIndex;
  /** Paths of the files scanned so far; a content's firstFile indexes this. */
  readonly paths: string[] = [];
  /** Pages per content id (index 0: zero pages). */
  contentPages: Uint32Array;
  firstFile: Int32Array;
  firstPage: Uint32Array;

  private readonly hasher: PageHasher;
  private readonly bulkHashing: boolean;
  private readonly chunk: Uint8Array;
  /** The same memory as `chunk`, as a Buffer for copies without views. */
  private readonly chunkBuffer: Buffer;
  private readonly openFiles = new Map<number, number>();
  private readonly relocations: boolean;
  private readonly structure: boolean;
  /** Where the relocation count reads tables that lie past the first chunk. */
  private window: Uint8Array | undefined;
  /** Zero, new, duplicate (and, in finishCounts, shared) pages of the file being scanned. */
  private readonly counts = new Uint32Array(4);
  /** Which pages `chunk` holds: file index and first page, and how many. */
  private chunkFile = -1;
  private chunkFirstPage = 0;
  private chunkPages = 0;
  /** The file being scanned; its descriptor stays out of openFiles until it is done. */
  private currentFile = -1;
  private currentFd = -1;

  private constructor(
    pageSize: PageSize,
    hasher: PageHasher,
    hash: PageHash64,
    chunkBytes: number,
    expectedPages: number,
    relocations: boolean,
    structure: boolean,
  ) {
    this.pageSize = pageSize;
    this.relocations = relocations;
    this.structure = structure;
    this.hasher = hasher;
    // Bulk hashing gives the hasher's own hashes, so only when no other hash function was injected.
    this.bulkHashing = hasher.bulk && hash === hasher.hash;
    this.chunk = hasher.buffer(chunkBytes);
    this.chunkBuffer = Buffer.from(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    const expected = Math.min(Math.max(1024, expectedPages + 1), MAX_INITIAL_SLOTS / 2);
    this.index = new PageIndex(
      pageSize,
      hash,
      (id, into) => this.readCanonical(id, into),
      Math.ceil((expected * 4) / 3) + 2,
    );
    this.contentPages = new Uint32Array(expected + 1);
    this.firstFile = new Int32Array(expected + 1).fill(-1);
    this.firstPage = new Uint32Array(expected + 1);
  }

  static async create(options: PageScannerOptions = {}): Promise<PageScanner> {
    const pageSize = checkPageSize(options.pageSize ?? 4096);
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < pageSize || chunkBytes % pageSize !== 0) {
      throw new UsageError(`chunk size must be a positive multiple of the page size ${pageSize} (got ${chunkBytes})`);
    }
    const hasher = await createPageHasher({ inPlace: options.inPlaceHashing });
    const expectedPages =
      Number.isSafeInteger(options.expectedPages) && options.expectedPages! > 0 ? options.expectedPages! : 0;
    return new PageScanner(
      pageSize,
      hasher,
      options.hash ?? hasher.hash,
      chunkBytes,
      expectedPages,
      options.relocations === true,
      options.structure !== false,
    );
  }

  /** Whether pages are hashed in place (false: the slower copying fallback). */
  get hashesInPlace(): boolean {
    return this.hasher.inPlace;
  }

  /**
   * Scans one file into the session. Throws InputError when it cannot be
   * opened, is not a regular file, or (requireElf) lacks the ELF magic. A
   * read error part-way is a warning; the pages read so far are kept.
   * Segment and page counts that depend on later files (sharedPages) are
   * filled by `finishCounts`.
   */
  scanFile(path: string, options: ScanFileOptions = {}): ScannedFile {
    const out = this.scanOrSkip(path, options.requireElf ?? true);
    if ('reason' in out) throw new InputError(out.code, `${path}: ${out.reason}`, { file: path });
    return out;
  }

  /**
   * scanFile, except that a file without the ELF magic (requireElf) comes
   * back as a reason rather than a thrown error: a walk meets many such
   * files, and building an Error (with its stack) for each costs.
   */
  scanOrSkip(path: string, requireElf: boolean): ScannedFile | { code: 'E_NOT_ELF'; reason: string } {
    let fd: number;
    let size: number;
    try {
      // O_NONBLOCK: a FIFO swapped in after the walk must not block the scan (no effect on regular files).
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw fsError(err, path);
    }
    let keepOpen = false;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new InputError('E_NOT_REGULAR', `${path}: not a regular file`, { file: path });
      size = st.size;
      const ps = this.pageSize;
      const chunk = this.chunk;
      const warnings: ScanWarning[] = [];
      // A first read of at most FIRST_READ bytes decides ELF or not, so a big file without the magic is not read
      // further; an ELF file's first chunk is then read whole (its tables usually lie in it).
      const firstRead = Math.min(FIRST_READ, chunk.length);
      // Before the magic is known a read error is the file's error (it is skipped), not a warning.
      let got = this.readChunk(fd, 0, Math.min(firstRead, size), path, warnings, 0, requireElf);
      const elfMagic = isElf(chunk.subarray(0, got));
      if (requireElf && !elfMagic) {
        return {
          code: 'E_NOT_ELF',
          reason: `not an ELF file (${size === 0 ? 'empty' : size < 4 ? `${size} bytes` : 'no ELF magic'})`,
        };
      }
      if (got === firstRead && size > firstRead)
        got += this.readChunk(fd, got, Math.min(chunk.length, size) - got, path, warnings, got);
      const structure =
        elfMagic && this.structure ? readPageStructure(fd, size, chunk.subarray(0, got), path) : NOT_ELF;
      warnings.unshift(...structure.warnings);
      // Counted now, while the first chunk is in memory: relocation tables usually lie in it.
      const relocatedPages =
        this.relocations && structure.elf ? this.relocationsOf(structure.elf, fd, size, got) : undefined;

      const fileIndex = this.paths.length;
      this.paths.push(path);
      this.currentFile = fileIndex;
      this.currentFd = fd;

      const ids = new Uint32Array(Math.ceil(size / ps));
      const counts = this.counts.fill(0);
      let page = 0;
      let position = 0;
      while (got > 0) {
        let end = got;
        if (got % ps !== 0) {
          end = got + ps - (got % ps);
          chunk.fill(0, got, end);
        }
        this.chunkFile = fileIndex;
        this.chunkFirstPage = page;
        this.chunkPages = end / ps;
        this.indexChunk(fileIndex, ids, page, end);
        page += end / ps;
        position += got;
        if (got % ps !== 0 || position >= size) break;
        got = this.readChunk(fd, position, Math.min(chunk.length, size - position), path, warnings);
      }
      const zeroPages = counts[0]!;
      const newPages = counts[1]!;
      const duplicatePages = counts[2]!;
      this.chunkFile = -1;
      this.currentFile = -1;
      this.openFiles.set(fileIndex, fd);
      keepOpen = true;
      this.trimOpenFiles();

      const elf = structure.elf;
      const fileSize = position;
      let sections: SectionSpan[] | undefined;
      return {
        path,
        size: position,
        contentIds: page === ids.length ? ids : ids.slice(0, page),
        pages: page,
        zeroPages,
        newPages,
        duplicatePages,
        sharedPages: 0,
        elf: elf
          ? { class: elf.header.class, data: elf.header.data, type: elf.header.type, machine: elf.header.machine }
          : null,
        segments: elf ? loadSegments(elf, position, ps) : [],
        // Decoded when first read: a scan report names the sections of a few pages only.
        get sections(): SectionSpan[] {
          sections ??= structure.sections(fileSize);
          return sections;
        },
        set sections(value: SectionSpan[]) {
          sections = value;
        },
        warnings,
        ...(relocatedPages === undefined ? {} : { relocatedPages }),
      };
    } finally {
      this.currentFile = -1;
      if (!keepOpen) fs.closeSync(fd);
    }
  }

  /**
   * Fills the counts that depend on the whole session: sharedPages of each
   * file, and every count of each segment. Call after the last scanFile
   * with every file scanned, in scan order.
   */
  finishCounts(files: readonly ScannedFile[]): void {
    const c = this.counts;
    for (let fileIndex = 0; fileIndex < files.length; fileIndex++) {
      const file = files[fileIndex]!;
      if (this.paths[fileIndex] !== file.path) {
        throw new InternalError(`finishCounts: file ${fileIndex} is ${file.path}, scanned as ${this.paths[fileIndex]}`);
      }
      this.countRange(file.contentIds, fileIndex, 0, file.pages);
      file.sharedPages = c[3]!;
      for (const s of file.segments) {
        this.countRange(file.contentIds, fileIndex, s.firstPage, s.firstPage + s.pages);
        s.zeroPages = c[0]!;
        s.newPages = c[1]!;
        s.duplicatePages = c[2]!;
        s.sharedPages = c[3]!;
      }
    }
  }

  /** Zero, new, duplicate and shared pages among ids[from, to) of file `fileIndex`, into this.counts. */
  private countRange(ids: Uint32Array, fileIndex: number, from: number, to: number): void {
    const pages = this.contentPages;
    const firstFile = this.firstFile;
    const firstPage = this.firstPage;
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
    const c = this.counts;
    c[0] = zero;
    c[1] = first;
    c[2] = to - from - zero - first;
    c[3] = shared;
  }

  /** Closes the descriptors kept for re-reading. The scanner must not be used afterwards. */
  close(): void {
    for (const fd of this.openFiles.values()) fs.closeSync(fd);
    this.openFiles.clear();
    releaseSparseImage();
  }

  /**
   * The hot loop: gives every page of chunk[0, end) a content id, from page
   * `firstPage` of file `fileIndex` on. Kept small and apart from scanFile
   * so the JIT optimizes it early and cheaply.
   */
  private indexChunk(fileIndex: number, ids: Uint32Array, firstPage: number, end: number): void {
    const ps = this.pageSize;
    if (!this.bulkHashing) {
      for (let offset = 0; offset < end; offset += ps)
        this.countPage(this.index.addAt(this.chunk, offset), fileIndex, ids, firstPage + offset / ps);
      return;
    }
    const index = this.index;
    const chunk = this.chunk;
    const pages = end / ps;
    for (let run = 0; run < pages; run += PAGES_PER_CALL) {
      const count = Math.min(PAGES_PER_CALL, pages - run);
      const hashes = this.hasher.hashPages(run * ps, ps, count);
      for (let i = 0; i < count; i++) {
        const id = index.addHashed(chunk, (run + i) * ps, hashes[2 * i]!, hashes[2 * i + 1]!);
        this.countPage(id, fileIndex, ids, firstPage + run + i);
      }
    }
  }

  private countPage(id: number, fileIndex: number, ids: Uint32Array, page: number): void {
    const counts = this.counts;
    ids[page] = id;
    if (id === ZERO_CONTENT_ID) counts[0]!++;
    else if (this.index.isNew) {
      this.recordFirst(id, fileIndex, page);
      counts[1]!++;
    } else counts[2]!++;
    this.contentPages[id]!++;
  }

  /** The pages relocation writes in the file open as `fd`, whose first `got` bytes are in the chunk. */
  private relocationsOf(elf: ElfHeaders, fd: number, size: number, got: number): Uint32Array | null {
    this.window ??= new Uint8Array(WINDOW);
    return relocatedPagesInFile(elf, fd, size, this.chunk.subarray(0, got), this.pageSize, this.window);
  }

  /** Reads up to `length` bytes at `position` into the chunk from `at`; a read error ends the file with a warning (`fatal`: throws it). */
  private readChunk(
    fd: number,
    position: number,
    length: number,
    path: string,
    warnings: ScanWarning[],
    at = 0,
    fatal = false,
  ): number {
    let got = 0;
    try {
      while (got < length) {
        const n = fs.readSync(fd, this.chunk, at + got, length - got, position + got);
        if (n <= 0) break;
        got += n;
      }
    } catch (err) {
      const e = fsError(err, path);
      if (fatal) throw e;
      warnings.push({
        code: 'E_READ',
        message: `read failed at offset ${position + got}: ${reasonOf(e.message, path)}; pages after it not scanned`,
      });
    }
    return got;
  }

  private recordFirst(id: number, fileIndex: number, page: number): void {
    if (id >= this.firstFile.length) {
      const n = Math.max(id + 1, this.firstFile.length * 2);
      const pages = new Uint32Array(n);
      pages.set(this.contentPages);
      this.contentPages = pages;
      const files = new Int32Array(n).fill(-1);
      files.set(this.firstFile);
      this.firstFile = files;
      const first = new Uint32Array(n);
      first.set(this.firstPage);
      this.firstPage = first;
    }
    this.firstFile[id] = fileIndex;
    this.firstPage[id] = page;
  }

  /** PageIndex's callback: the bytes of the first page with content `id`, zero-padded. */
  private readCanonical(id: number, into: Uint8Array): void {
    const ps = this.pageSize;
    const fileIndex = this.firstFile[id]!;
    const page = this.firstPage[id]!;
    if (fileIndex === this.chunkFile && page >= this.chunkFirstPage && page < this.chunkFirstPage + this.chunkPages) {
      const from = (page - this.chunkFirstPage) * ps;
      this.chunkBuffer.copy(into, 0, from, from + ps);
      return;
    }
    let got = 0;
    try {
      const fd = this.descriptor(fileIndex);
      while (got < ps) {
        const n = fs.readSync(fd, into, got, ps - got, page * ps + got);
        if (n <= 0) break;
        got += n;
      }
    } catch {
      // Unreadable now: the zero fill below cannot equal a non-zero page, so nothing merges.
    }
    into.fill(0, got);
  }

  private descriptor(fileIndex: number): number {
    if (fileIndex === this.currentFile) return this.currentFd;
    const open = this.openFiles.get(fileIndex);
    if (open !== undefined) {
      // Most recently used goes last.
      this.openFiles.delete(fileIndex);
      this.openFiles.set(fileIndex, open);
      return open;
    }
    const fd = fs.openSync(this.paths[fileIndex]!, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    this.openFiles.set(fileIndex, fd);
    this.trimOpenFiles();
    return fd;
  }

  private trimOpenFiles(): void {
    while (this.openFiles.size > OPEN_FILES) {
      const oldest = this.openFiles.keys().next().value as number;
      fs.closeSync(this.openFiles.get(oldest)!);
      this.openFiles.delete(oldest);
    }
  }
}
