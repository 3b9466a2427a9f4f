/**
 * The reader API: openContainer(path) checks the header and every table
 * (FORMAT.md section 9, steps 1-10) and returns a Container that reads any
 * page of any file in O(1): one share-map lookup, one page-table lookup,
 * one read of the stored bytes. Every page read is checked (stored
 * checksum, decoding to exactly one page, page checksum) before its bytes
 * are handed out.
 *
 * Each member can be handed to the memory model as a FileBacking whose
 * contentId is the stored page id, so pages shared in the container are
 * shared in the content-keyed page cache too.
 */
import fs from 'node:fs';
import { ContainerError, InternalError, UsageError, fsError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';
import { loadPageHasher, type PageHash64 } from '../scan/hash.js';
import { Lz4Wasm } from '../codec/lz4-wasm.js';
import { xxh64Low32In } from '../scan/xxh64-wasm.js';
import {
  OPTIONAL_PAGE_ALIGNED,
  PAGE_ENTRY,
  REQUIRED_LZ4,
  REQUIRED_ZSTD,
  REQUIRED_ZSTD_PAGES,
  PAGE_ENTRY_SIZE,
  SectionKind,
  checksum32,
  damage,
  u64At,
  type Header,
  type SectionEntry,
} from './format.js';
import { readHeader } from './header-check.js';
import { createPageCodec, createZstdFrameCodec, loadCodec, type PageCodec } from '../codec/index.js';
import { normalizeMemberName } from './paths.js';
import { displayName } from './name-bytes.js';
import { readTables, type ContainerEntry } from './table-check.js';
import { openRegular } from '../util/open-regular.js';

export type { ContainerEntry } from './table-check.js';

/** Where a stored page lies and how it is coded. */
export interface StoredPageInfo {
  id: number;
  offset: number;
  storedLength: number;
  codec: 'raw' | 'lz4' | 'zstd';
}

/** Most pages readPages and readStoredPages read with one read call. */
const MAX_RUN_PAGES = 256;

export class Container {
  readonly path: string;
  readonly header: Header;
  readonly pageSize: number;
  readonly files: readonly ContainerEntry[];
  readonly storedPageCount: number;
  readonly totalPages: number;
  /** True for the page-aligned, uncompressed layout (`pack --codec none`). */
  readonly pageAligned: boolean;
  readonly sections: ReadonlyMap<number, SectionEntry>;
  readonly unknownSections: readonly SectionEntry[];

  private fd: number | undefined;
  private readonly pageTable: DataView;
  private readonly shareMap: DataView;
  private readonly hash: PageHash64;
  private readonly codec: PageCodec;
  /** The codec of the pages stored shorter than a page (FORMAT.md section 3.1). */
  readonly compressedCodec: 'lz4' | 'zstd';
  private readonly stored: Uint8Array;
  private byPath: Map<string, number> | undefined;
  private readonly pageStoreEnd: number;
  private readonly runBuffer: Uint8Array;
  /** The whole-run path of readStoredPages (see readRunInPlace); undefined: page by page. */
  private inPlace: { lz4: Lz4Wasm; low32: (ptr: number, length: number) => number; lengths: Uint32Array } | undefined;

  /** Use openContainer(). */
  constructor(path: string, fd: number, hash: PageHash64) {
    this.path = path;
    this.fd = fd;
    this.hash = hash;
    const realSize = fs.fstatSync(fd).size;
    const checked = readHeader(fd, realSize, path, hash);
    const tables = readTables(fd, checked.header, checked.sections, path, hash);
    this.header = checked.header;
    this.sections = checked.sections;
    this.unknownSections = checked.unknownSections;
    this.pageSize = checked.header.pageSize;
    this.storedPageCount = checked.header.storedPageCount;
    this.totalPages = checked.header.totalPages;
    this.pageAligned = (checked.header.optionalFlags & OPTIONAL_PAGE_ALIGNED) !== 0n;
    this.files = tables.files;
    this.pageTable = tables.pageTable;
    this.shareMap = tables.shareMap;
    const flags = checked.header.requiredFlags;
    this.compressedCodec = (flags & (REQUIRED_ZSTD | REQUIRED_ZSTD_PAGES)) !== 0n ? 'zstd' : 'lz4';
    // ZSTD (bit 1): whole frames, as earlier writers stored them; ZSTD_PAGES (bit 2): tagged blocks.
    this.codec = (flags & REQUIRED_ZSTD) !== 0n ? createZstdFrameCodec() : createPageCodec(this.compressedCodec);
    this.stored = new Uint8Array(this.pageSize);
    const store = checked.sections.get(SectionKind.PageStore)!;
    this.pageStoreEnd = store.offset + store.length;
    this.runBuffer = new Uint8Array(MAX_RUN_PAGES * this.pageSize);
  }

  /** The index of the member with this path (leading './' and trailing '/' ignored), or undefined. */
  findFile(member: string): number | undefined {
    if (!this.byPath) {
      this.byPath = new Map();
      this.files.forEach((f) => this.byPath!.set(f.path, f.index));
    }
    const name = normalizeMemberName(member);
    const exact = this.byPath.get(name);
    if (exact !== undefined) return exact;
    // A name that is not UTF-8 can be asked for as ls shows it (\xNN escapes).
    if (!name.includes('\\')) return undefined;
    return this.files.find((f) => displayName(f.path) === name)?.index;
  }

  /** The stored page id of page `pageIndex` of file `fileIndex` (0: the zero page). */
  pageRef(fileIndex: number, pageIndex: number): number {
    const f = this.file(fileIndex);
    if (!Number.isInteger(pageIndex) || pageIndex < 0 || pageIndex >= f.pageCount) {
      throw new UsageError(
        `${this.path}: page ${pageIndex} of ${f.path} does not exist (it has ${f.pageCount} pages)`,
        { file: this.path },
      );
    }
    return this.shareMap.getUint32((f.firstPage + pageIndex) * 4, true);
  }

  /** Reads page `pageIndex` of file `fileIndex` into `into` (pageSize bytes; the last page zero-padded). */
  readPage(fileIndex: number, pageIndex: number, into: Uint8Array): void {
    const id = this.pageRef(fileIndex, pageIndex);
    if (id === 0) {
      if (into.length !== this.pageSize)
        throw new InternalError(`page buffer of ${into.length} bytes, expected ${this.pageSize}`);
      into.fill(0);
    } else {
      this.readStoredPage(id, into);
    }
  }

  storedPageInfo(id: number): StoredPageInfo {
    if (!Number.isInteger(id) || id < 1 || id > this.storedPageCount)
      throw new UsageError(`${this.path}: no stored page ${id}`, { file: this.path });
    const at = (id - 1) * PAGE_ENTRY_SIZE;
    const offset = u64At(this.pageTable, at + PAGE_ENTRY.offset);
    const end =
      id < this.storedPageCount ? u64At(this.pageTable, at + PAGE_ENTRY_SIZE + PAGE_ENTRY.offset) : this.pageStoreEnd;
    const storedLength = end - offset;
    return { id, offset, storedLength, codec: storedLength === this.pageSize ? 'raw' : this.compressedCodec };
  }

  /**
   * Reads stored page `id` (1..storedPageCount) into `into` (pageSize bytes):
   * checks the stored bytes' checksum, decodes, checks the page checksum.
   * Throws ContainerError naming the page and its offset on any damage.
   */
  readStoredPage(id: number, into: Uint8Array): void {
    if (into.length !== this.pageSize)
      throw new InternalError(`page buffer of ${into.length} bytes, expected ${this.pageSize}`);
    const info = this.storedPageInfo(id);
    const bytes = info.codec === 'raw' ? into : this.stored.subarray(0, info.storedLength);
    this.readAt(bytes, info.offset);
    this.checkAndDecode(id, info.offset, bytes, into);
  }

  /**
   * Reads pages [first, first + count) of file `fileIndex` into `into`
   * (count * pageSize bytes), every page checked as readStoredPage does.
   * Pages stored back to back are read with one read call (pack stores a
   * file's new pages in order), so a sequential reader such as unpack makes
   * a few large reads instead of one per page.
   */
  readPages(fileIndex: number, first: number, count: number, into: Uint8Array): void {
    const { pageSize } = this;
    if (into.length !== count * pageSize) throw new InternalError(`buffer of ${into.length} bytes for ${count} pages`);
    if (count > 0) this.pageRef(fileIndex, first + count - 1); // range check once
    const f = this.files[fileIndex]!;
    for (let p = 0; p < count; ) {
      const id = this.shareMap.getUint32((f.firstPage + first + p) * 4, true);
      const page = into.subarray(p * pageSize, (p + 1) * pageSize);
      if (id === 0) {
        page.fill(0);
        p++;
        continue;
      }
      let run = 1;
      while (
        p + run < count &&
        run < MAX_RUN_PAGES &&
        this.shareMap.getUint32((f.firstPage + first + p + run) * 4, true) === id + run
      )
        run++;
      this.readStoredPages(id, run, into.subarray(p * pageSize, (p + run) * pageSize));
      p += run;
    }
  }

  /**
   * Reads stored pages [firstId, firstId + count) into `into` (count * pageSize
   * bytes) with one read (count at most 256), each checked as readStoredPage does.
   */
  readStoredPages(firstId: number, count: number, into: Uint8Array): void {
    const { pageSize } = this;
    if (count < 1 || count > MAX_RUN_PAGES || into.length !== count * pageSize)
      throw new InternalError(`bad stored page run of ${count} pages`);
    if (this.inPlace && this.readRunInPlace(firstId, count, into)) return;
    const start = this.storedPageInfo(firstId).offset;
    const last = this.storedPageInfo(firstId + count - 1);
    const bytes = this.runBuffer.subarray(0, last.offset + last.storedLength - start);
    this.readAt(bytes, start);
    for (let k = 0; k < count; k++) {
      const info = this.storedPageInfo(firstId + k);
      const stored = bytes.subarray(info.offset - start, info.offset - start + info.storedLength);
      this.checkAndDecode(firstId + k, info.offset, stored, into.subarray(k * pageSize, (k + 1) * pageSize));
    }
  }

  /**
   * readStoredPages with the run's stored bytes read straight into the LZ4
   * module's memory, every checksum computed there in place (no copy, no
   * bigint) and the whole run decoded in one call. Returns false, having
   * handed out nothing, when anything does not check: the page-by-page path
   * then reads the run again and reports the first damage exactly.
   */
  private readRunInPlace(firstId: number, count: number, into: Uint8Array): boolean {
    const { lz4, low32, lengths } = this.inPlace!;
    const { pageSize } = this;
    const start = this.storedPageInfo(firstId).offset;
    const last = this.storedPageInfo(firstId + count - 1);
    const area = lz4.inputArea(last.offset + last.storedLength - start);
    this.readAt(area, start);
    const table = this.pageTable;
    let rel = 0;
    for (let k = 0; k < count; k++) {
      const info = this.storedPageInfo(firstId + k);
      if (info.offset !== start + rel) return false;
      const at = (firstId + k - 1) * PAGE_ENTRY_SIZE;
      const storedChecksum = table.getUint32(at + PAGE_ENTRY.storedChecksum, true);
      if (low32(area.byteOffset + rel, info.storedLength) !== storedChecksum) return false;
      // A raw page's page checksum is its stored checksum.
      if (info.storedLength === pageSize && table.getUint32(at + PAGE_ENTRY.pageChecksum, true) !== storedChecksum)
        return false;
      lengths[k] = info.storedLength;
      rel += info.storedLength;
    }
    let pages: Uint8Array;
    try {
      pages = lz4.decodeStored(lengths, count, pageSize);
    } catch {
      return false;
    }
    for (let k = 0; k < count; k++) {
      if (lengths[k] === pageSize) continue;
      const pageChecksum = table.getUint32((firstId + k - 1) * PAGE_ENTRY_SIZE + PAGE_ENTRY.pageChecksum, true);
      if (low32(pages.byteOffset + k * pageSize, pageSize) !== pageChecksum) return false;
    }
    into.set(pages);
    return true;
  }

  /** Sets up readRunInPlace when the container holds only raw and LZ4 pages and the modules are built. */
  async prepareInPlace(): Promise<void> {
    if ((this.header.requiredFlags & ~REQUIRED_LZ4) !== 0n) return;
    const lz4 = new Lz4Wasm();
    const low32 = await xxh64Low32In(lz4.memory);
    if (low32) this.inPlace = { lz4, low32, lengths: new Uint32Array(MAX_RUN_PAGES) };
  }

  /** Checks `stored` (the stored bytes of page `id`), decodes it into `into`, checks the page. */
  private checkAndDecode(id: number, offset: number, stored: Uint8Array, into: Uint8Array): void {
    const at = (id - 1) * PAGE_ENTRY_SIZE;
    const storedChecksum = this.pageTable.getUint32(at + PAGE_ENTRY.storedChecksum, true);
    const pageChecksum = this.pageTable.getUint32(at + PAGE_ENTRY.pageChecksum, true);
    const where = `stored page ${id}`;
    const raw = stored.length === this.pageSize;
    const actualStored = checksum32(this.hash(stored));
    if (actualStored !== storedChecksum) {
      throw damage(
        this.path,
        'E_CHECKSUM',
        where,
        offset,
        `stored bytes checksum mismatch (stored ${hex32(storedChecksum)}, computed ${hex32(actualStored)})`,
        {
          id,
          expected: storedChecksum,
          actual: actualStored,
        },
      );
    }
    if (!raw) {
      try {
        this.codec.decompress(stored, into);
      } catch (err) {
        if (err instanceof ContainerError) throw damage(this.path, err.code, where, offset, err.message, { id });
        throw err;
      }
    } else if (stored !== into) {
      into.set(stored);
    }
    const actualPage = raw ? actualStored : checksum32(this.hash(into));
    if (actualPage !== pageChecksum) {
      throw damage(
        this.path,
        'E_CHECKSUM',
        where,
        offset,
        `decoded page checksum mismatch (stored ${hex32(pageChecksum)}, computed ${hex32(actualPage)})`,
        {
          id,
          expected: pageChecksum,
          actual: actualPage,
        },
      );
    }
  }

  /** A FileBacking for member `fileIndex` (a regular file or a hard link), for the memory model. */
  backing(fileIndex: number): FileBacking {
    const f = this.file(fileIndex);
    if (f.kind !== 'regular' && f.kind !== 'hardlink') {
      throw new UsageError(`${this.path}: ${f.path} is a ${f.kind}, not a file with contents`, { file: this.path });
    }
    const pageSize = this.pageSize;
    return {
      path: f.path,
      size: f.size,
      pageSize,
      pageCount: f.pageCount,
      readPage: (pageIndex, into) => {
        if (pageIndex >= f.pageCount && Number.isInteger(pageIndex)) into.fill(0);
        else this.readPage(fileIndex, pageIndex, into);
      },
      contentId: (pageIndex) =>
        pageIndex >= f.pageCount && Number.isInteger(pageIndex) ? 0 : this.pageRef(fileIndex, pageIndex),
    };
  }

  /** Reads raw bytes of the container (for verify). */
  readAt(into: Uint8Array, offset: number): void {
    const fd = this.openFd();
    let done = 0;
    while (done < into.length) {
      let n: number;
      try {
        n = fs.readSync(fd, into, done, into.length - done, offset + done);
      } catch (err) {
        throw fsError(err, this.path);
      }
      if (n === 0)
        throw damage(
          this.path,
          'E_TRUNCATED',
          'file',
          offset + done,
          'ends early (did it shrink after it was opened?)',
        );
      done += n;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private file(fileIndex: number): ContainerEntry {
    const f = Number.isInteger(fileIndex) ? this.files[fileIndex] : undefined;
    if (!f)
      throw new UsageError(`${this.path}: no file ${fileIndex} (the container has ${this.files.length})`, {
        file: this.path,
      });
    return f;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new UsageError(`${this.path}: container is closed`, { file: this.path });
    return this.fd;
  }
}

/** Opens and checks a container (header and tables; pages are checked as they are read). */
export async function openContainer(path: string): Promise<Container> {
  const hash = await loadPageHasher();
  const { fd } = openRegular(path);
  try {
    // zstd's module loads asynchronously: peek at requiredFlags (checked in full by the constructor).
    const flags = Buffer.alloc(8);
    if (
      fs.readSync(fd, flags, 0, 8, 16) === 8 &&
      (flags.readBigUInt64LE(0) & (REQUIRED_ZSTD | REQUIRED_ZSTD_PAGES)) !== 0n
    )
      await loadCodec('zstd');
    const c = new Container(path, fd, hash);
    await c.prepareInPlace();
    return c;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
