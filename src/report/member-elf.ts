/**
 * ELF structure of a file that is only readable page by page (a container
 * member): PT_LOAD segments and sections with file bytes, as the scanner
 * gives them for files on disk.
 *
 * Only the pages parseElf needs are read: the ELF header, section 0, the
 * program and section header tables, the section-name string table and
 * PT_INTERP (the ranges scan/elfpages.ts copies for big files). They go
 * into a zero-filled image of the file's size (memory the kernel commits
 * only where written), and parsing repeats until no new page is needed, so
 * the last parse reads only real bytes and equals a parse of the whole
 * file. A damaged or unreadable header is a warning (elf: null); the pages
 * are reported all the same.
 */
import { PagestackError } from '../errors.js';
import { isElf, parseElf } from '../elf/parse.js';
import { PT_INTERP, SHT_NOBITS, type ElfFile } from '../elf/types.js';
import { loadSegments, sectionSpans } from '../scan/elfpages.js';
import type { ElfSummary, LoadSegment, ScanWarning, SectionSpan } from '../scan/result.js';

/** Reads page `page` of the file (zero-padded past its end) into `into` (one page). */
export type PageReader = (page: number, into: Uint8Array) => void;

export interface MemberElf {
  elf: ElfSummary | null;
  segments: LoadSegment[];
  sections: SectionSpan[];
  warnings: ScanWarning[];
}

/** Parse rounds at most; real files need 2 or 3. */
const MAX_ROUNDS = 8;
const ELF_HEADER_BYTES = 64;

/** The ELF structure of a `size`-byte file read through `read`, or no structure when it lacks the ELF magic. */
export function memberElf(read: PageReader, size: number, pageSize: number, name: string): MemberElf {
  const none: MemberElf = { elf: null, segments: [], sections: [], warnings: [] };
  if (size < 4) return none;
  const page = new Uint8Array(pageSize);
  read(0, page);
  if (!isElf(page)) return none;
  let image: Uint8Array;
  try {
    image = new Uint8Array(size);
  } catch {
    return {
      ...none,
      warnings: [
        {
          code: 'E_ELF_TOO_LARGE',
          message: `file too large (${size} bytes) to read its ELF structure; shown as pages only`,
        },
      ],
    };
  }
  const loaded = new Set<number>();
  const load = (start: number, end: number): boolean => {
    let added = false;
    for (let p = Math.floor(start / pageSize); p * pageSize < end; p++) {
      if (loaded.has(p)) continue;
      read(p, page);
      image.set(page.subarray(0, Math.min(pageSize, size - p * pageSize)), p * pageSize);
      loaded.add(p);
      added = true;
    }
    return added;
  };
  try {
    load(0, Math.min(size, ELF_HEADER_BYTES));
    let elf = parseElf(image, name);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let added = false;
      for (const [start, end] of rangesRead(elf, size)) if (load(start, end)) added = true;
      if (!added) break;
      elf = parseElf(image, name);
    }
    const h = elf.header;
    return {
      elf: { class: h.class, data: h.data, type: h.type, machine: h.machine },
      segments: loadSegments(elf, size, pageSize),
      sections: sectionSpans(elf, size),
      warnings: elf.warnings.map((w) => ({ code: w.code, message: w.message })),
    };
  } catch (err) {
    if (err instanceof PagestackError) {
      const message = err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message;
      return { ...none, warnings: [{ code: err.code, message }] };
    }
    throw err;
  }
}

/** The byte ranges parseElf reads beyond the ELF header, clipped to the file. */
function rangesRead(elf: ElfFile, size: number): Array<[number, number]> {
  const h = elf.header;
  const out: Array<[number, number]> = [];
  const add = (offset: bigint, length: bigint) => {
    if (offset >= BigInt(size) || length <= 0n) return;
    const end = offset + length > BigInt(size) ? size : Number(offset + length);
    out.push([Number(offset), end]);
  };
  if (h.shoff !== 0n) {
    add(h.shoff, BigInt(h.shentsize)); // section 0: extended numbering
    add(h.shoff, BigInt(h.shnum) * BigInt(h.shentsize));
  }
  if (h.phoff !== 0n) add(h.phoff, BigInt(h.phnum) * BigInt(h.phentsize));
  const strtab = elf.sections[h.shstrndx];
  if (h.shstrndx !== 0 && strtab && strtab.type !== SHT_NOBITS) add(strtab.offset, strtab.size);
  for (const p of elf.programHeaders) if (p.type === PT_INTERP) add(p.offset, p.filesz);
  return out;
}
