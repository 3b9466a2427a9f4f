/**
 * The container format, version 1: every constant and byte layout of
 * docs/FORMAT.md, with the encoder and decoder of each fixed-size structure
 * side by side. Little-endian throughout.
 *
 * Decoders here read one structure and check what can be checked on it
 * alone (reserved fields zero, values in range, safe integers). Checks that
 * relate structures to each other (bounds against the file, tiling, tree
 * order) are in reader.ts, in the fixed order FORMAT.md section 9 gives.
 */
import type { ErrorCode } from '../error-codes.js';
import { ContainerError } from '../errors.js';

export const MAGIC = Uint8Array.of(0x89, 0x50, 0x47, 0x53, 0x54, 0x4b, 0x0a, 0x1a);
export const FORMAT_VERSION = 1;

export const HEADER_FIXED_SIZE = 64;
export const SECTION_ENTRY_SIZE = 32;
export const HEADER_CHECKSUM_SIZE = 8;
export const MAX_SECTIONS = 64;
export const PAGE_ENTRY_SIZE = 16;
export const FILE_ENTRY_SIZE = 64;
export const SHARE_ENTRY_SIZE = 4;

export const MAX_PATH_BYTES = 4095;
export const MAX_NAME_BYTES = 255;
export const MAX_LINK_BYTES = 4095;

/** requiredFlags bit 0: some stored pages are LZ4 blocks. */
export const REQUIRED_LZ4 = 1n << 0n;
/** requiredFlags bit 1: some stored pages are whole zstd frames (earlier writers; never together with LZ4). */
export const REQUIRED_ZSTD = 1n << 1n;
/** requiredFlags bit 2: some stored pages are tagged zstd blocks (FORMAT.md "zstd pages"; one codec flag per container). */
export const REQUIRED_ZSTD_PAGES = 1n << 2n;
export const CODEC_FLAGS = REQUIRED_LZ4 | REQUIRED_ZSTD | REQUIRED_ZSTD_PAGES;
export const KNOWN_REQUIRED_FLAGS = CODEC_FLAGS;
/** optionalFlags bit 0: every stored page is raw and starts at a multiple of pageSize. */
export const OPTIONAL_PAGE_ALIGNED = 1n << 0n;

export const SECTION_REQUIRED = 1 << 0;
export const SECTION_CHECKSUMMED = 1 << 1;
export const KNOWN_SECTION_FLAGS = SECTION_REQUIRED | SECTION_CHECKSUMMED;

export const SectionKind = {
  PageStore: 1,
  PageTable: 2,
  FileTable: 3,
  ShareMap: 4,
  StringTable: 5,
} as const;
export type SectionKind = (typeof SectionKind)[keyof typeof SectionKind];

/** The sections of version 1, in the order the writer lays them out. */
export const SECTION_KINDS: readonly SectionKind[] = [
  SectionKind.PageStore,
  SectionKind.PageTable,
  SectionKind.FileTable,
  SectionKind.ShareMap,
  SectionKind.StringTable,
];

export function sectionName(kind: number): string {
  switch (kind) {
    case SectionKind.PageStore:
      return 'page store';
    case SectionKind.PageTable:
      return 'page table';
    case SectionKind.FileTable:
      return 'file table';
    case SectionKind.ShareMap:
      return 'share map';
    case SectionKind.StringTable:
      return 'string table';
    default:
      return `section of kind ${kind}`;
  }
}

export type FileKind = 'regular' | 'directory' | 'symlink' | 'hardlink';

export function fileKindCode(kind: FileKind): number {
  switch (kind) {
    case 'regular':
      return 1;
    case 'directory':
      return 2;
    case 'symlink':
      return 3;
    case 'hardlink':
      return 4;
    default: {
      const unknown: never = kind;
      throw new Error(`unknown file kind ${String(unknown)}`);
    }
  }
}

export function fileKindFromCode(code: number): FileKind | undefined {
  switch (code) {
    case 1:
      return 'regular';
    case 2:
      return 'directory';
    case 3:
      return 'symlink';
    case 4:
      return 'hardlink';
    default:
      return undefined;
  }
}

export function headerSizeFor(sectionCount: number): number {
  return HEADER_FIXED_SIZE + SECTION_ENTRY_SIZE * sectionCount + HEADER_CHECKSUM_SIZE;
}

export interface SectionEntry {
  kind: number;
  flags: number;
  offset: number;
  length: number;
  checksum: bigint;
}

export interface Header {
  formatVersion: number;
  sectionCount: number;
  headerSize: number;
  requiredFlags: bigint;
  optionalFlags: bigint;
  pageSize: number;
  fileCount: number;
  storedPageCount: number;
  totalPages: number;
  containerSize: number;
  sections: SectionEntry[];
  headerChecksum: bigint;
}

/** Where a structure lies, for error messages: `file table entry 3 at offset 0x1234`. */
export function damage(
  file: string,
  code: ErrorCode,
  structure: string,
  offset: number,
  problem: string,
  extra: Record<string, unknown> = {},
): ContainerError {
  return new ContainerError(code, `${file}: ${structure} at offset 0x${offset.toString(16)}: ${problem}`, {
    file,
    structure,
    offset,
    ...extra,
  });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The mtimes a container may hold (FORMAT.md section 5): seconds in
 * [-2^33, 2^33), about the years 1697 to 2242. Inside it every microsecond
 * survives the double that Node's utimes takes, so unpack restores what it
 * reads; writers refuse files outside it and readers refuse entries outside it.
 */
export const MTIME_MIN_SECONDS = -(2 ** 33);
export const MTIME_MAX_SECONDS = 2 ** 33 - 1;

/** A u64 field that must be a safe integer, or undefined when it is not. */
function safeU64(view: DataView, at: number): number | undefined {
  const v = view.getBigUint64(at, true);
  return v > MAX_SAFE ? undefined : Number(v);
}

/**
 * Encodes the header (fixed part, section directory, checksum) into a new
 * buffer of headerSize bytes. `hash` is XXH64.
 */
export function encodeHeader(
  h: Omit<Header, 'headerSize' | 'headerChecksum' | 'sectionCount' | 'formatVersion'>,
  hash: (b: Uint8Array) => bigint,
): Uint8Array {
  const sectionCount = h.sections.length;
  const size = headerSizeFor(sectionCount);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, sectionCount, true);
  view.setUint32(12, size, true);
  view.setBigUint64(16, h.requiredFlags, true);
  view.setBigUint64(24, h.optionalFlags, true);
  view.setUint32(32, h.pageSize, true);
  view.setUint32(36, h.fileCount, true);
  view.setUint32(40, h.storedPageCount, true);
  view.setUint32(44, 0, true);
  view.setBigUint64(48, BigInt(h.totalPages), true);
  view.setBigUint64(56, BigInt(h.containerSize), true);
  h.sections.forEach((s, i) => {
    const at = HEADER_FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    view.setUint16(at, s.kind, true);
    view.setUint16(at + 2, s.flags, true);
    view.setUint32(at + 4, 0, true);
    view.setBigUint64(at + 8, BigInt(s.offset), true);
    view.setBigUint64(at + 16, BigInt(s.length), true);
    view.setBigUint64(at + 24, s.checksum, true);
  });
  view.setBigUint64(size - HEADER_CHECKSUM_SIZE, hash(bytes.subarray(0, size - HEADER_CHECKSUM_SIZE)), true);
  return bytes;
}

/** The fields of the fixed part that locate the rest of the header. */
export function peekHeader(fixed: Uint8Array): {
  magicOk: boolean;
  formatVersion: number;
  sectionCount: number;
  headerSize: number;
} {
  const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  let magicOk = fixed.length >= MAGIC.length;
  for (let i = 0; magicOk && i < MAGIC.length; i++) if (fixed[i] !== MAGIC[i]) magicOk = false;
  return {
    magicOk,
    formatVersion: view.getUint16(8, true),
    sectionCount: view.getUint16(10, true),
    headerSize: view.getUint32(12, true),
  };
}

/**
 * Decodes a whole header whose checksum and version have been checked.
 * Throws (code E_CORRUPT) on values no version-1 writer produces.
 */
export function decodeHeader(bytes: Uint8Array, file: string): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const peek = peekHeader(bytes);
  const bad = (offset: number, field: string, problem: string): ContainerError =>
    damage(file, 'E_CORRUPT', `header field ${field}`, offset, problem, { field });
  const totalPages = safeU64(view, 48);
  if (totalPages === undefined) throw bad(48, 'totalPages', 'value too large');
  const containerSize = safeU64(view, 56);
  if (containerSize === undefined) throw bad(56, 'containerSize', 'value too large');
  if (view.getUint32(44, true) !== 0) throw bad(44, 'reserved', 'reserved field is not zero');
  const sections: SectionEntry[] = [];
  for (let i = 0; i < peek.sectionCount; i++) {
    const at = HEADER_FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    const where = `section directory entry ${i}`;
    const offset = safeU64(view, at + 8);
    const length = safeU64(view, at + 16);
    if (offset === undefined || length === undefined)
      throw damage(file, 'E_CORRUPT', where, at, 'offset or length too large');
    if (view.getUint32(at + 4, true) !== 0) throw damage(file, 'E_CORRUPT', where, at, 'reserved field is not zero');
    sections.push({
      kind: view.getUint16(at, true),
      flags: view.getUint16(at + 2, true),
      offset,
      length,
      checksum: view.getBigUint64(at + 24, true),
    });
  }
  return {
    formatVersion: peek.formatVersion,
    sectionCount: peek.sectionCount,
    headerSize: peek.headerSize,
    requiredFlags: view.getBigUint64(16, true),
    optionalFlags: view.getBigUint64(24, true),
    pageSize: view.getUint32(32, true),
    fileCount: view.getUint32(36, true),
    storedPageCount: view.getUint32(40, true),
    totalPages,
    containerSize,
    sections,
    headerChecksum: view.getBigUint64(bytes.length - HEADER_CHECKSUM_SIZE, true),
  };
}

/** The low 32 bits of an XXH64: the page-table checksums (FORMAT.md section 4). */
export function checksum32(h: bigint): number {
  return Number(h & 0xffffffffn);
}

/** One page-table entry, written at `at` in `view`: offset, storedChecksum, pageChecksum. */
export function encodePageEntry(
  view: DataView,
  at: number,
  offset: number,
  storedChecksum: number,
  pageChecksum: number,
): void {
  // The u64 offset as two words: no bigint per page (offset is a safe integer).
  view.setUint32(at, offset >>> 0, true);
  view.setUint32(at + 4, Math.floor(offset / 0x100000000), true);
  view.setUint32(at + 8, storedChecksum, true);
  view.setUint32(at + 12, pageChecksum, true);
}

/** Field offsets inside a page-table entry. */
export const PAGE_ENTRY = { offset: 0, storedChecksum: 8, pageChecksum: 12 } as const;

/** A little-endian u64 read as a number without a bigint; NaN when it is not a safe integer. */
export function u64At(view: DataView, at: number): number {
  const hi = view.getUint32(at + 4, true);
  return hi >= 0x200000 ? NaN : hi * 0x100000000 + view.getUint32(at, true);
}

/** A file-table entry as the writer knows it: strings already placed in the string table. */
export interface RawFileEntry {
  pathOffset: number;
  pathLength: number;
  kind: FileKind;
  mode: number;
  mtimeSeconds: number;
  mtimeNanoseconds: number;
  linkOffset: number;
  linkLength: number;
  linkIndex: number;
  size: number;
  firstPage: number;
}

export function encodeFileEntry(view: DataView, at: number, e: RawFileEntry): void {
  view.setUint32(at, e.pathOffset, true);
  view.setUint32(at + 4, e.pathLength, true);
  view.setUint32(at + 8, fileKindCode(e.kind), true); // kind byte, then three reserved zero bytes
  view.setUint32(at + 12, e.mode, true);
  view.setBigInt64(at + 16, BigInt(e.mtimeSeconds), true);
  view.setUint32(at + 24, e.mtimeNanoseconds, true);
  view.setUint32(at + 28, e.linkOffset, true);
  view.setUint32(at + 32, e.linkLength, true);
  view.setUint32(at + 36, e.linkIndex, true);
  view.setBigUint64(at + 40, BigInt(e.size), true);
  view.setBigUint64(at + 48, BigInt(e.firstPage), true);
  view.setBigUint64(at + 56, 0n, true);
}

/**
 * Decodes file-table entry `index` (at `at` in `view`, whose absolute file
 * offset is `base + at`). Checks the fields that need no other structure:
 * kind, reserved bytes, mode bits, nanoseconds, safe integers, and that a
 * kind has only the fields it may have.
 */
export function decodeFileEntry(view: DataView, at: number, index: number, base: number, file: string): RawFileEntry {
  const where = `file table entry ${index}`;
  const bad = (problem: string, field: string): ContainerError =>
    damage(file, 'E_CORRUPT', where, base + at, problem, { field, index });
  const kind = fileKindFromCode(view.getUint8(at + 8));
  if (kind === undefined) throw bad(`unknown kind ${view.getUint8(at + 8)}`, 'kind');
  if (view.getUint8(at + 9) !== 0 || view.getUint16(at + 10, true) !== 0 || view.getBigUint64(at + 56, true) !== 0n) {
    throw bad('reserved field is not zero', 'reserved');
  }
  const mode = view.getUint32(at + 12, true);
  if ((mode & ~0o7777) !== 0) throw bad(`mode 0x${mode.toString(16)} has bits other than permission bits`, 'mode');
  const seconds = view.getBigInt64(at + 16, true);
  if (seconds > BigInt(MTIME_MAX_SECONDS) || seconds < BigInt(MTIME_MIN_SECONDS))
    throw bad(`mtime ${seconds} s is outside the range a container holds (-2^33 to 2^33-1 s)`, 'mtimeSeconds');
  const nanoseconds = view.getUint32(at + 24, true);
  if (nanoseconds > 999_999_999) throw bad(`mtime nanoseconds ${nanoseconds} out of range`, 'mtimeNanoseconds');
  const size = safeU64(view, at + 40);
  const firstPage = safeU64(view, at + 48);
  if (size === undefined) throw bad('size too large', 'size');
  if (firstPage === undefined) throw bad('firstPage too large', 'firstPage');
  const e: RawFileEntry = {
    pathOffset: view.getUint32(at, true),
    pathLength: view.getUint32(at + 4, true),
    kind,
    mode,
    mtimeSeconds: Number(seconds),
    mtimeNanoseconds: nanoseconds,
    linkOffset: view.getUint32(at + 28, true),
    linkLength: view.getUint32(at + 32, true),
    linkIndex: view.getUint32(at + 36, true),
    size,
    firstPage,
  };
  if (kind !== 'regular' && (e.size !== 0 || e.firstPage !== 0))
    throw bad(`a ${kind} entry has a size or pages`, 'size');
  if (kind !== 'symlink' && (e.linkOffset !== 0 || e.linkLength !== 0))
    throw bad(`a ${kind} entry has a link target`, 'linkLength');
  if (kind !== 'hardlink' && e.linkIndex !== 0) throw bad(`a ${kind} entry has a link index`, 'linkIndex');
  return e;
}
