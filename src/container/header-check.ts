/**
 * Reading and checking the header and the section directory: steps 1 to 8
 * of FORMAT.md section 9, in that order, each before anything that depends
 * on it. Nothing is allocated from a claimed size before the claim is
 * checked against the real file size.
 */
import { PAGE_SIZES, isPageSize } from '../abi/page-size.js';
import fs from 'node:fs';
import { fsError } from '../errors.js';
import type { PageHash64 } from '../scan/hash.js';
import {
  FILE_ENTRY_SIZE,
  FORMAT_VERSION,
  HEADER_CHECKSUM_SIZE,
  HEADER_FIXED_SIZE,
  KNOWN_REQUIRED_FLAGS,
  KNOWN_SECTION_FLAGS,
  MAX_SECTIONS,
  PAGE_ENTRY_SIZE,
  SECTION_ENTRY_SIZE,
  SECTION_KINDS,
  SECTION_CHECKSUMMED,
  SECTION_REQUIRED,
  SHARE_ENTRY_SIZE,
  SectionKind,
  damage,
  decodeHeader,
  headerSizeFor,
  peekHeader,
  sectionName,
  type Header,
  type SectionEntry,
} from './format.js';

export interface CheckedHeader {
  header: Header;
  /** The five version-1 sections by kind. */
  sections: Map<number, SectionEntry>;
  /** Sections of kinds this reader does not know (not REQUIRED, so skipped). */
  unknownSections: SectionEntry[];
}

/** Reads `length` bytes at `offset` (the caller has checked the range against the file size). */
export function readRange(fd: number, offset: number, length: number, file: string): Uint8Array {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, bytes, done, length - done, offset + done);
    } catch (err) {
      throw fsError(err, file);
    }
    if (n === 0) throw damage(file, 'E_TRUNCATED', 'file', offset + done, 'ends while being read (did it shrink?)');
    done += n;
  }
  return bytes;
}

export function readHeader(fd: number, realSize: number, file: string, hash: PageHash64): CheckedHeader {
  // 1. Long enough for the fixed part.
  if (realSize < HEADER_FIXED_SIZE) {
    throw damage(
      file,
      'E_TRUNCATED',
      'header',
      0,
      `file is ${realSize} bytes, too short to be a container (at least ${HEADER_FIXED_SIZE})`,
      {
        expected: `>= ${HEADER_FIXED_SIZE}`,
        actual: realSize,
      },
    );
  }
  const fixed = readRange(fd, 0, HEADER_FIXED_SIZE, file);
  const peek = peekHeader(fixed);
  // 2. Magic.
  if (!peek.magicOk)
    throw damage(file, 'E_MAGIC', 'header field magic', 0, 'not a pagestack container (bad magic number)', {
      field: 'magic',
    });
  // 3. Section count and header size.
  if (peek.sectionCount < 1 || peek.sectionCount > MAX_SECTIONS) {
    throw damage(
      file,
      'E_CORRUPT',
      'header field sectionCount',
      10,
      `${peek.sectionCount} sections (expected 1..${MAX_SECTIONS})`,
      {
        field: 'sectionCount',
        actual: peek.sectionCount,
      },
    );
  }
  const headerSize = headerSizeFor(peek.sectionCount);
  if (peek.headerSize !== headerSize) {
    throw damage(
      file,
      'E_CORRUPT',
      'header field headerSize',
      12,
      `${peek.headerSize} does not match ${peek.sectionCount} sections (${headerSize})`,
      {
        field: 'headerSize',
        expected: headerSize,
        actual: peek.headerSize,
      },
    );
  }
  if (headerSize > realSize) {
    throw damage(
      file,
      'E_TRUNCATED',
      'header',
      0,
      `header of ${headerSize} bytes runs past the end of the file (${realSize} bytes)`,
      {
        expected: `>= ${headerSize}`,
        actual: realSize,
      },
    );
  }
  const bytes = readRange(fd, 0, headerSize, file);
  // 4. Header checksum.
  const stored = new DataView(bytes.buffer).getBigUint64(headerSize - HEADER_CHECKSUM_SIZE, true);
  const actual = hash(bytes.subarray(0, headerSize - HEADER_CHECKSUM_SIZE));
  if (stored !== actual) {
    if (peek.formatVersion !== FORMAT_VERSION)
      throw unsupportedVersion(file, peek.formatVersion, ' (or its header is damaged)');
    throw damage(
      file,
      'E_CHECKSUM',
      'header',
      0,
      `header checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`,
      {
        expected: stored,
        actual,
      },
    );
  }
  // 5. Version.
  if (peek.formatVersion !== FORMAT_VERSION) throw unsupportedVersion(file, peek.formatVersion, '');
  const header = decodeHeader(bytes, file);
  // 6. Required features.
  const unknownRequired = header.requiredFlags & ~KNOWN_REQUIRED_FLAGS;
  if (unknownRequired !== 0n) {
    throw damage(
      file,
      'E_FEATURE',
      'header field requiredFlags',
      16,
      `requires feature bits 0x${unknownRequired.toString(16)}, which this reader does not support (a newer pagestack wrote it)`,
      {
        field: 'requiredFlags',
        actual: header.requiredFlags,
      },
    );
  }
  // 7. Container size against the real size.
  if (header.containerSize !== realSize) {
    const problem =
      realSize < header.containerSize
        ? `truncated: the header says ${header.containerSize} bytes, the file has ${realSize}`
        : `${realSize - header.containerSize} bytes follow the end of the container (${header.containerSize} bytes)`;
    throw damage(
      file,
      realSize < header.containerSize ? 'E_TRUNCATED' : 'E_TRAILING',
      'file',
      Math.min(realSize, header.containerSize),
      problem,
      {
        expected: header.containerSize,
        actual: realSize,
      },
    );
  }
  // 8. Page size and sections.
  if (!isPageSize(header.pageSize)) {
    throw damage(
      file,
      'E_CORRUPT',
      'header field pageSize',
      32,
      `page size ${header.pageSize} is not one of ${PAGE_SIZES.join(', ')}`,
      {
        field: 'pageSize',
        actual: header.pageSize,
      },
    );
  }
  return { header, ...checkSections(header, file) };
}

function checkSections(
  header: Header,
  file: string,
): { sections: Map<number, SectionEntry>; unknownSections: SectionEntry[] } {
  const sections = new Map<number, SectionEntry>();
  const unknownSections: SectionEntry[] = [];
  const where = (i: number): number => HEADER_FIXED_SIZE + SECTION_ENTRY_SIZE * i;
  header.sections.forEach((s, i) => {
    const bad = (problem: string): Error =>
      damage(file, 'E_CORRUPT', `section directory entry ${i} (${sectionName(s.kind)})`, where(i), problem);
    if ((s.flags & ~KNOWN_SECTION_FLAGS) !== 0) throw bad(`unknown section flags 0x${s.flags.toString(16)}`);
    if (s.offset < header.headerSize || s.offset + s.length > header.containerSize) {
      throw damage(
        file,
        'E_CORRUPT',
        `section directory entry ${i} (${sectionName(s.kind)})`,
        where(i),
        `range [${s.offset}, ${s.offset + s.length}) lies outside [${header.headerSize}, ${header.containerSize})`,
        {
          expected: `within [${header.headerSize}, ${header.containerSize})`,
          actual: [s.offset, s.offset + s.length],
        },
      );
    }
    if ((SECTION_KINDS as readonly number[]).includes(s.kind)) {
      if (sections.has(s.kind)) throw bad(`a second ${sectionName(s.kind)}`);
      const flags = s.kind === SectionKind.PageStore ? SECTION_REQUIRED : SECTION_REQUIRED | SECTION_CHECKSUMMED;
      if (s.flags !== flags) throw bad(`section flags 0x${s.flags.toString(16)} (expected 0x${flags.toString(16)})`);
      if (s.kind === SectionKind.PageStore && s.checksum !== 0n)
        throw bad('the page store has a checksum field that is not 0');
      sections.set(s.kind, s);
    } else if ((s.flags & SECTION_REQUIRED) !== 0) {
      throw damage(
        file,
        'E_FEATURE',
        `section directory entry ${i}`,
        where(i),
        `requires section kind ${s.kind}, which this reader does not support (a newer pagestack wrote it)`,
      );
    } else {
      unknownSections.push(s);
    }
  });
  for (const kind of SECTION_KINDS) {
    if (!sections.has(kind))
      throw damage(file, 'E_CORRUPT', 'section directory', HEADER_FIXED_SIZE, `no ${sectionName(kind)} section`);
  }
  // No two non-empty sections overlap.
  const all = header.sections.filter((s) => s.length > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < all.length; i++) {
    const prev = all[i - 1]!;
    const next = all[i]!;
    if (next.offset < prev.offset + prev.length) {
      throw damage(
        file,
        'E_CORRUPT',
        'section directory',
        HEADER_FIXED_SIZE,
        `${sectionName(prev.kind)} and ${sectionName(next.kind)} overlap`,
      );
    }
  }
  // Lengths against the counts: this is where a claim of 2^40 pages is refused.
  const expectLength = (kind: number, count: number, entrySize: number, countField: string): void => {
    const s = sections.get(kind)!;
    if (s.length !== count * entrySize) {
      const i = header.sections.indexOf(s);
      throw damage(
        file,
        'E_CORRUPT',
        `section directory entry ${i} (${sectionName(kind)})`,
        where(i),
        `length ${s.length} does not match ${countField} ${count} × ${entrySize} bytes`,
        {
          expected: count * entrySize,
          actual: s.length,
        },
      );
    }
  };
  expectLength(SectionKind.PageTable, header.storedPageCount, PAGE_ENTRY_SIZE, 'storedPageCount');
  expectLength(SectionKind.FileTable, header.fileCount, FILE_ENTRY_SIZE, 'fileCount');
  expectLength(SectionKind.ShareMap, header.totalPages, SHARE_ENTRY_SIZE, 'totalPages');
  if (sections.get(SectionKind.StringTable)!.length > 0xffffffff) {
    throw damage(file, 'E_CORRUPT', 'section directory', HEADER_FIXED_SIZE, 'string table longer than 2^32 - 1 bytes');
  }
  return { sections, unknownSections };
}

function unsupportedVersion(file: string, version: number, suffix: string): Error {
  return damage(
    file,
    'E_VERSION',
    'header field formatVersion',
    8,
    `format version ${version} is not supported (this reader reads version ${FORMAT_VERSION})${suffix}`,
    {
      field: 'formatVersion',
      expected: FORMAT_VERSION,
      actual: version,
    },
  );
}

export function hex(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}
