/**
 * Reading and checking the tables: steps 9 and 10 of FORMAT.md section 9.
 * Each table is read only after its section passed the bounds checks of
 * header-check.ts (so its size is backed by real bytes), then checksummed,
 * then its entries are checked one by one and against each other.
 */
import type { ErrorCode } from '../error-codes.js';
import type { PageHash64 } from '../scan/hash.js';
import {
  FILE_ENTRY_SIZE,
  MAX_LINK_BYTES,
  OPTIONAL_PAGE_ALIGNED,
  PAGE_ENTRY,
  PAGE_ENTRY_SIZE,
  CODEC_FLAGS,
  REQUIRED_ZSTD,
  REQUIRED_ZSTD_PAGES,
  SectionKind,
  damage,
  decodeFileEntry,
  u64At,
  sectionName,
  type FileKind,
  type Header,
  type SectionEntry,
} from './format.js';
import { hex, readRange } from './header-check.js';
import { memberPathProblem, parentOf } from './paths.js';
import { decodeName } from './name-bytes.js';

/** One file of the container, as the reader API gives it. */
export interface ContainerEntry {
  index: number;
  path: string;
  kind: FileKind;
  /** Permission bits (for a hard link: those of the file it links to). */
  mode: number;
  mtimeSeconds: number;
  mtimeNanoseconds: number;
  /** Content size in bytes (a hard link: that of the file it links to; 0 for directories and symlinks). */
  size: number;
  /** Index of the first page in the share map (hard links: that of the file they link to). */
  firstPage: number;
  /** ceil(size / pageSize). */
  pageCount: number;
  /** Symbolic links: the target. */
  linkTarget?: string;
  /** Hard links: the index of the regular-file entry they link to. */
  linkIndex?: number;
}

export interface CheckedTables {
  pageTable: DataView;
  shareMap: DataView;
  files: ContainerEntry[];
}

export function readTables(
  fd: number,
  header: Header,
  sections: Map<number, SectionEntry>,
  file: string,
  hash: PageHash64,
): CheckedTables {
  // 9. Checksums, in a fixed order.
  const tables = new Map<number, Uint8Array>();
  for (const kind of [SectionKind.PageTable, SectionKind.FileTable, SectionKind.ShareMap, SectionKind.StringTable]) {
    const s = sections.get(kind)!;
    const bytes = readRange(fd, s.offset, s.length, file);
    const actual = hash(bytes);
    if (actual !== s.checksum) {
      throw damage(
        file,
        'E_CHECKSUM',
        sectionName(kind),
        s.offset,
        `checksum mismatch (stored ${hex(s.checksum)}, computed ${hex(actual)})`,
        {
          expected: s.checksum,
          actual,
        },
      );
    }
    tables.set(kind, bytes);
  }
  const view = (kind: number): DataView => {
    const b = tables.get(kind)!;
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  // 10. Structure.
  const pageTable = view(SectionKind.PageTable);
  checkPageTable(
    pageTable,
    header,
    sections.get(SectionKind.PageStore)!,
    sections.get(SectionKind.PageTable)!.offset,
    file,
  );
  const shareMap = view(SectionKind.ShareMap);
  checkShareMap(shareMap, header, sections.get(SectionKind.ShareMap)!.offset, file);
  const files = checkFileTable(
    view(SectionKind.FileTable),
    tables.get(SectionKind.StringTable)!,
    header,
    sections.get(SectionKind.FileTable)!.offset,
    file,
  );
  return { pageTable, shareMap, files };
}

function checkPageTable(table: DataView, header: Header, store: SectionEntry, base: number, file: string): void {
  const { pageSize, storedPageCount } = header;
  const aligned = (header.optionalFlags & OPTIONAL_PAGE_ALIGNED) !== 0n;
  const storeEnd = store.offset + store.length;
  let compressedPages = 0;
  if (storedPageCount === 0 && store.length !== 0) {
    throw damage(
      file,
      'E_CORRUPT',
      'page table',
      base,
      `no stored pages, but the page store has ${store.length} bytes`,
    );
  }
  let offset = storedPageCount > 0 ? u64At(table, PAGE_ENTRY.offset) : store.offset;
  if (offset !== store.offset) {
    throw damage(
      file,
      'E_CORRUPT',
      'page table entry 0 (stored page 1)',
      base,
      `offset ${offset} is not the start of the page store (${store.offset})`,
    );
  }
  for (let i = 0; i < storedPageCount; i++) {
    const at = i * PAGE_ENTRY_SIZE;
    const end = i + 1 < storedPageCount ? u64At(table, at + PAGE_ENTRY_SIZE + PAGE_ENTRY.offset) : storeEnd;
    const length = end - offset;
    if (!(length >= 1 && length <= pageSize)) {
      throw damage(
        file,
        'E_CORRUPT',
        `page table entry ${i} (stored page ${i + 1})`,
        base + at,
        `stored length ${Number.isNaN(length) ? 'is not a safe integer' : length} (expected 1..${pageSize}: offsets must increase by at most a page)`,
        {
          index: i,
        },
      );
    }
    if (length < pageSize) compressedPages++;
    if (aligned && (length !== pageSize || offset % pageSize !== 0)) {
      throw damage(
        file,
        'E_CORRUPT',
        `page table entry ${i} (stored page ${i + 1})`,
        base + at,
        'not a raw page at a page-aligned offset, as PAGE_ALIGNED requires',
        { index: i },
      );
    }
    offset = end;
  }
  const codecFlags = header.requiredFlags & CODEC_FLAGS;
  if ((codecFlags & (codecFlags - 1n)) !== 0n)
    throw damage(
      file,
      'E_CORRUPT',
      'header field requiredFlags',
      16,
      'more than one of the LZ4, ZSTD and ZSTD_PAGES flags is set (a container uses one codec)',
    );
  if (compressedPages > 0 !== (codecFlags !== 0n)) {
    const flag = codecFlags === REQUIRED_ZSTD ? 'ZSTD' : codecFlags === REQUIRED_ZSTD_PAGES ? 'ZSTD_PAGES' : 'LZ4';
    throw damage(
      file,
      'E_CORRUPT',
      'header field requiredFlags',
      16,
      `${flag} flag does not match the page table (${compressedPages} compressed pages)`,
    );
  }
}

function checkShareMap(map: DataView, header: Header, base: number, file: string): void {
  const limit = header.storedPageCount;
  for (let i = 0; i < header.totalPages; i++) {
    const id = map.getUint32(i * 4, true);
    if (id > limit) {
      throw damage(
        file,
        'E_CORRUPT',
        `share map entry ${i}`,
        base + i * 4,
        `stored page id ${id} does not exist (${limit} stored pages)`,
        {
          expected: `<= ${limit}`,
          actual: id,
        },
      );
    }
  }
}

function checkFileTable(
  table: DataView,
  strings: Uint8Array,
  header: Header,
  base: number,
  file: string,
): ContainerEntry[] {
  const files: ContainerEntry[] = [];
  const byPath = new Map<string, number>();
  let nextPage = 0;
  for (let i = 0; i < header.fileCount; i++) {
    const at = i * FILE_ENTRY_SIZE;
    const raw = decodeFileEntry(table, at, i, base, file);
    const where = `file table entry ${i}`;
    const bad = (code: ErrorCode, problem: string): Error =>
      damage(file, code, where, base + at, problem, { index: i });
    const path = stringAt(strings, raw.pathOffset, raw.pathLength, () =>
      bad('E_CORRUPT', 'path lies outside the string table'),
    );
    const problem = memberPathProblem(path, raw.pathLength);
    if (problem) throw bad('E_PATH', `path ${JSON.stringify(path)} ${problem}`);
    if (byPath.has(path))
      throw bad('E_PATH', `path ${JSON.stringify(path)} appears twice (entries ${byPath.get(path)} and ${i})`);
    const parent = parentOf(path);
    if (parent !== '') {
      const p = byPath.get(parent);
      if (p === undefined) throw bad('E_PATH', `parent of ${JSON.stringify(path)} is not an earlier entry`);
      if (files[p]!.kind !== 'directory')
        throw bad('E_PATH', `parent of ${JSON.stringify(path)} is a ${files[p]!.kind}, not a directory`);
    }
    const entry: ContainerEntry = {
      index: i,
      path,
      kind: raw.kind,
      mode: raw.mode,
      mtimeSeconds: raw.mtimeSeconds,
      mtimeNanoseconds: raw.mtimeNanoseconds,
      size: raw.size,
      firstPage: raw.firstPage,
      pageCount: Math.ceil(raw.size / header.pageSize),
    };
    switch (raw.kind) {
      case 'regular':
        if (raw.firstPage !== nextPage)
          throw bad('E_CORRUPT', `firstPage ${raw.firstPage} does not follow the previous file (expected ${nextPage})`);
        nextPage += entry.pageCount;
        if (nextPage > header.totalPages)
          throw bad(
            'E_CORRUPT',
            `size ${raw.size} needs pages past the end of the share map (${header.totalPages} pages)`,
          );
        break;
      case 'directory':
        break;
      case 'symlink': {
        if (raw.linkLength < 1 || raw.linkLength > MAX_LINK_BYTES)
          throw bad('E_CORRUPT', `symbolic link target of ${raw.linkLength} bytes`);
        const target = stringAt(strings, raw.linkOffset, raw.linkLength, () =>
          bad('E_CORRUPT', 'link target lies outside the string table'),
        );
        if (target.includes('\0')) throw bad('E_CORRUPT', 'link target contains a NUL byte');
        entry.linkTarget = target;
        break;
      }
      case 'hardlink': {
        const target = raw.linkIndex < i ? files[raw.linkIndex] : undefined;
        if (target?.kind !== 'regular')
          throw bad('E_CORRUPT', `hard link to entry ${raw.linkIndex}, which is not an earlier regular file`);
        entry.linkIndex = raw.linkIndex;
        entry.mode = target.mode;
        entry.mtimeSeconds = target.mtimeSeconds;
        entry.mtimeNanoseconds = target.mtimeNanoseconds;
        entry.size = target.size;
        entry.firstPage = target.firstPage;
        entry.pageCount = target.pageCount;
        break;
      }
      default: {
        const unknown: never = raw.kind;
        throw bad('E_CORRUPT', `unknown kind ${String(unknown)}`);
      }
    }
    byPath.set(path, i);
    files.push(entry);
  }
  if (nextPage !== header.totalPages) {
    throw damage(
      file,
      'E_CORRUPT',
      'file table',
      base,
      `files use ${nextPage} pages, the share map has ${header.totalPages}`,
    );
  }
  return files;
}

function stringAt(strings: Uint8Array, offset: number, length: number, fail: () => Error): string {
  if (offset + length > strings.length) throw fail();
  return decodeName(strings.subarray(offset, offset + length));
}
