/**
 * The quick ELF read a page scan needs: the ELF header and program headers
 * as parseElf gives them, and the section header table and section-name
 * string table kept as raw bytes, decoded into sections only when asked
 * (`quickSections`). No section objects, no 64-bit fields as bigint, no
 * copy of the file: the tables are read through `read` where they lie.
 *
 * It answers only for files parseElf would read without a single warning:
 * every check of parse.ts and check.ts is made here too, on numbers, and
 * wherever one would warn (or wherever this code is not sure, such as
 * extended numbering or a value that is not a safe integer) quickElf returns
 * undefined and the caller runs parseElf, which gives the warnings. So for
 * every file the result is parseElf's, only cheaper on clean files;
 * test/elf-quick.test.ts checks this on real and mutated files.
 */
import { ElfError } from '../errors.js';
import { phdrCovered } from './check.js';
import { ByteReader } from '../util/reader.js';
import { elfFail, isElf, readHeader, readProgramHeader } from './parse.js';
import {
  ET_DYN,
  ET_EXEC,
  PN_XNUM,
  PT_DYNAMIC,
  PT_INTERP,
  PT_LOAD,
  PT_PHDR,
  SHN_XINDEX,
  SHT_DYNAMIC,
  SHT_DYNSYM,
  SHT_FINI_ARRAY,
  SHT_GNU_HASH,
  SHT_GNU_LIBLIST,
  SHT_GNU_VERDEF,
  SHT_GNU_VERNEED,
  SHT_GNU_VERSYM,
  SHT_GROUP,
  SHT_HASH,
  SHT_INIT_ARRAY,
  SHT_LOOS,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_NULL,
  SHT_PREINIT_ARRAY,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_RELR,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  type ElfClass,
  type ElfHeader,
  type ProgramHeader,
} from './types.js';

export interface QuickElf {
  header: ElfHeader;
  /** As parseElf reads them. */
  programHeaders: ProgramHeader[];
  /** A copy of the section header table (e_shnum entries of e_shentsize bytes); empty without sections. */
  sectionTable: Uint8Array;
  /** A copy of the section-name string table; empty when e_shstrndx is 0. */
  sectionNames: Uint8Array;
}

/** A section with file bytes, clipped to the file (the shape of the scan's SectionSpan). */
export interface QuickSection {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
}

/**
 * `length` bytes of the file from `offset`, or undefined when they cannot be
 * read whole. The view may be reused by the next call.
 */
export type ReadBytes = (offset: number, length: number) => Uint8Array | undefined;

const SHF_INFO_LINK = 0x40;
const SHF_GNU_MBIND = 0x01000000;
const EM_PARISC = 15;
const TWO_32 = 2 ** 32;
/** Largest section-name string table the quick read copies (real ones are a few hundred bytes). */
const MAX_NAMES = 1 << 20;
/** Above this a 64-bit field's high word means "not a plain file offset or size": leave it to parseElf. */
const MAX_HIGH_WORD = 1 << 20;

const EMPTY = new Uint8Array(0);
/** sh_type of every section of the file being read (reused; only the first e_shnum entries count). */
let typesScratch = new Uint32Array(64);
const DYNSTR = [0x2e, 0x64, 0x79, 0x6e, 0x73, 0x74, 0x72]; // ".dynstr"
const DYNAMIC = [0x2e, 0x64, 0x79, 0x6e, 0x61, 0x6d, 0x69, 0x63]; // ".dynamic"

/**
 * The quick read of a file of `size` bytes whose first bytes are `head`, or
 * undefined when parseElf would warn about it (or throw): then use parseElf.
 */
export function quickElf(head: Uint8Array, size: number, read: ReadBytes, file: string): QuickElf | undefined {
  const ehsize = head[4] === 2 ? 64 : 52;
  if (!isElf(head) || (head[4] !== 1 && head[4] !== 2) || (head[5] !== 1 && head[5] !== 2)) return undefined;
  if (head.length < ehsize || size < ehsize) return undefined;
  const cls: ElfClass = head[4] === 2 ? 64 : 32;
  const le = head[5] === 1;
  let h: ElfHeader;
  try {
    h = readHeader(new ByteReader(head, file, le, elfFail), cls, head);
  } catch (err) {
    if (err instanceof ElfError) return undefined;
    throw err;
  }
  // Extended numbering is parseElf's business; no sections is fine when nothing points at them.
  if (h.phnumRaw === PN_XNUM || h.shstrndxRaw === SHN_XINDEX) return undefined;
  if (h.shnum === 0 && (h.shoff !== 0n || h.shstrndx !== 0)) return undefined;
  const phoff = Number(h.phoff);
  const shoff = Number(h.shoff);
  const phent = cls === 64 ? 56 : 32;
  const shent = cls === 64 ? 64 : 40;
  const fetch = (offset: number, length: number): Uint8Array | undefined => {
    if (offset + length <= head.length) return head.subarray(offset, offset + length);
    const got = read(offset, length);
    return got && got.length >= length ? got.subarray(0, length) : undefined;
  };

  // Program headers: where parse.ts's locateTable would accept them without a warning.
  const programHeaders: ProgramHeader[] = [];
  if (h.phnum === 0) {
    if (phoff !== 0) return undefined;
  } else {
    if (phoff === 0 || h.phentsize !== phent || phoff + h.phnum * phent > size) return undefined;
    const table = fetch(phoff, h.phnum * phent);
    if (!table) return undefined;
    const r = new ByteReader(table, file, le, elfFail);
    for (let i = 0; i < h.phnum; i++) programHeaders.push(readProgramHeader(r, cls, i * phent, i));
  }

  // Section header table and names: the same for sections.
  const shnum = h.shnum;
  let sectionTable = EMPTY;
  let sectionNames = EMPTY;
  if (shnum > 0) {
    if (h.shstrndx >= shnum || shoff === 0 || h.shentsize !== shent || shoff + shnum * shent > size) return undefined;
    const table = fetch(shoff, shnum * shent);
    if (!table) return undefined;
    sectionTable = table.slice();
  }
  // checkTablePlacement: the ELF header and the two tables share no byte.
  const phEnd = phoff + h.phnum * phent;
  const shEnd = shoff + shnum * shent;
  if (h.phnum > 0 && phoff < ehsize) return undefined;
  if (shnum > 0 && shoff < ehsize) return undefined;
  if (h.phnum > 0 && shnum > 0 && phoff < shEnd && shoff < phEnd) return undefined;

  const t = new ByteReader(sectionTable, file, le, elfFail);
  const u64 = (o: number): number => {
    const a = t.u32(o, 'sh field');
    const b = t.u32(o + 4, 'sh field');
    const hi = le ? b : a;
    return hi >= MAX_HIGH_WORD ? Number.POSITIVE_INFINITY : (le ? a : b) + hi * TWO_32;
  };
  const at = (i: number) => i * shent;
  const typeAt = (i: number) => t.u32(at(i) + 4, 'sh_type');
  const offsetAt = (i: number) => (cls === 64 ? u64(at(i) + 24) : t.u32(at(i) + 16, 'sh_offset'));
  const sizeAt = (i: number) => (cls === 64 ? u64(at(i) + 32) : t.u32(at(i) + 20, 'sh_size'));

  if (shnum > 0 && h.shstrndx !== 0) {
    // nameSections: a string table with bytes in the file, and every sh_name inside it.
    const i = h.shstrndx;
    const offset = offsetAt(i);
    const length = sizeAt(i);
    if (typeAt(i) === SHT_NOBITS || length === 0 || offset + length > size) return undefined;
    // A name table this large is not a real one: leave it to parseElf rather than copy it.
    if (length > MAX_NAMES) return undefined;
    const names = fetch(offset, length);
    if (!names) return undefined;
    sectionNames = names.slice();
    for (let s = 0; s < shnum; s++) if (t.u32(at(s), 'sh_name') >= length) return undefined;
  }

  // checkSections.
  if (typesScratch.length < shnum) typesScratch = new Uint32Array(Math.max(shnum, 2 * typesScratch.length));
  const types = typesScratch;
  for (let s = 0; s < shnum; s++) types[s] = typeAt(s);
  const isLinked = h.type === ET_EXEC || h.type === ET_DYN;
  let dynsymSeen = false;
  let dynstrSeen = false;
  let dynamicSection = -1;
  for (let s = 0; s < shnum; s++) {
    const o = at(s);
    const type = types[s]!;
    const link = t.u32(o + (cls === 64 ? 40 : 24), 'sh_link');
    const info = t.u32(o + (cls === 64 ? 44 : 28), 'sh_info');
    const flagsLow = t.u32(o + (cls === 64 && !le ? 12 : 8), 'sh_flags');
    if (link >= shnum) return undefined;
    if (!linkFits(type, link, isLinked, types)) return undefined;
    if (!infoFits(type, info, flagsLow, shnum, isLinked, types)) return undefined;
    const fixed = fixedEntsize(type, cls);
    if (fixed !== 0 && (cls === 64 ? u64(o + 56) : t.u32(o + 36, 'sh_entsize')) !== fixed) return undefined;
    if (type === SHT_DYNSYM) {
      if (dynsymSeen) return undefined;
      dynsymSeen = true;
    }
    const nameOffset = t.u32(o, 'sh_name');
    if (type === SHT_STRTAB && named(sectionNames, nameOffset, DYNSTR)) {
      if (dynstrSeen) return undefined;
      dynstrSeen = true;
    }
    if (dynamicSection < 0 && named(sectionNames, nameOffset, DYNAMIC)) dynamicSection = s;
    if (type !== SHT_NOBITS && type !== SHT_NULL) {
      const length = sizeAt(s);
      if (length > 0 && offsetAt(s) + length > size) return undefined;
    }
  }

  // checkSegments, and readInterpreter's checks.
  const fileSize = BigInt(size);
  let previousLoad = false;
  let dynamicSeen = false;
  let interpSeen = false;
  for (const p of programHeaders) {
    switch (p.type) {
      case PT_LOAD:
        previousLoad = true;
        if (p.filesz > p.memsz || (p.filesz > 0n && p.offset + p.filesz > fileSize)) return undefined;
        break;
      case PT_PHDR: {
        if (p.index > 0 && previousLoad) return undefined;
        if (!phdrCovered(p, programHeaders) && h.machine !== EM_PARISC) return undefined;
        break;
      }
      case PT_DYNAMIC: {
        if (dynamicSeen) return undefined;
        dynamicSeen = true;
        if (shnum > 0) {
          if (dynamicSection < 0) return undefined;
          const length = sizeAt(dynamicSection);
          if (length === 0) return undefined;
          if (types[dynamicSection] !== SHT_NOBITS && offsetAt(dynamicSection) + length > size) return undefined;
        } else if (p.offset > fileSize || p.filesz > fileSize - p.offset) return undefined;
        break;
      }
      case PT_INTERP:
        if (!interpSeen && (p.filesz === 0n || p.offset + p.filesz > fileSize)) return undefined;
        interpSeen = true;
        break;
      default:
        break;
    }
  }
  return { header: h, programHeaders, sectionTable, sectionNames };
}

/** check.ts's sh_link rule for a section whose sh_link is already a valid index. */
function linkFits(type: number, link: number, isLinked: boolean, types: Uint32Array): boolean {
  if ((type === SHT_REL || type === SHT_RELA) && link === 0 && isLinked) return true;
  switch (type) {
    case SHT_REL:
    case SHT_RELA:
    case SHT_SYMTAB_SHNDX:
    case SHT_GROUP:
    case SHT_HASH:
    case SHT_GNU_HASH:
    case SHT_GNU_VERSYM:
      return link !== 0 && (types[link] === SHT_SYMTAB || types[link] === SHT_DYNSYM);
    case SHT_DYNAMIC:
    case SHT_SYMTAB:
    case SHT_DYNSYM:
    case SHT_GNU_VERNEED:
    case SHT_GNU_VERDEF:
    case SHT_GNU_LIBLIST:
      return link !== 0 && types[link] === SHT_STRTAB;
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return link === 0;
    default:
      return true;
  }
}

/** check.ts's sh_info rule (infoProblem) as a yes/no. */
function infoFits(
  type: number,
  info: number,
  flagsLow: number,
  count: number,
  isLinked: boolean,
  types: Uint32Array,
): boolean {
  switch (type) {
    case SHT_REL:
    case SHT_RELA: {
      if (info === 0 && isLinked) return true;
      if (info === 0 || info >= count) return false;
      const target = types[info]!;
      return (
        target === SHT_PROGBITS ||
        target === SHT_NOBITS ||
        target === SHT_NOTE ||
        target === SHT_INIT_ARRAY ||
        target === SHT_FINI_ARRAY ||
        target === SHT_PREINIT_ARRAY ||
        target >= SHT_LOOS
      );
    }
    case SHT_DYNAMIC:
    case SHT_HASH:
    case SHT_SYMTAB_SHNDX:
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return info === 0;
    case SHT_GROUP:
    case SHT_SYMTAB:
    case SHT_DYNSYM:
    case SHT_NOBITS:
      return true;
    default:
      if ((flagsLow & SHF_INFO_LINK) !== 0) return info >= 1 && info < count;
      return !(type < SHT_LOOS && (flagsLow & SHF_GNU_MBIND) === 0 && info !== 0);
  }
}

/** check.ts's FIXED_ENTSIZE, 0 for types without one. */
function fixedEntsize(type: number, cls: ElfClass): number {
  const wide = cls === 64;
  switch (type) {
    case SHT_SYMTAB:
    case SHT_DYNSYM:
      return wide ? 24 : 16;
    case SHT_REL:
      return wide ? 16 : 8;
    case SHT_RELA:
      return wide ? 24 : 12;
    case SHT_RELR:
      return wide ? 8 : 4;
    case SHT_GROUP:
      return 4;
    default:
      return 0;
  }
}

/** Whether the name at `offset` of the string table is `name`: ended by a NUL or by the end of the table, as parse.ts reads names. */
function named(names: Uint8Array, offset: number, name: readonly number[]): boolean {
  const end = offset + name.length;
  if (end > names.length) return false;
  for (let i = 0; i < name.length; i++) if (names[offset + i] !== name[i]) return false;
  return end === names.length || names[end] === 0;
}

const latin1 = new TextDecoder('latin1');

/**
 * The sections holding file bytes, clipped to the first `fileSize` bytes, in
 * table order: parseElf's sections through src/elf/layout.ts's
 * sectionFileRange, from the quick read's raw tables.
 */
export function quickSections(q: QuickElf, fileSize: number): QuickSection[] {
  const cls = q.header.class;
  const le = q.header.data === 'lsb';
  const shent = cls === 64 ? 64 : 40;
  const t = new ByteReader(q.sectionTable, '', le, elfFail);
  const names = q.sectionNames;
  const out: QuickSection[] = [];
  const count = q.sectionTable.length / shent;
  for (let i = 0; i < count; i++) {
    const o = i * shent;
    const type = t.u32(o + 4, 'sh_type');
    if (type === SHT_NOBITS || type === SHT_NULL) continue;
    let offset: number;
    let size: number;
    if (cls === 64) {
      const w = (at: number) =>
        le ? t.u32(at, 'sh') + t.u32(at + 4, 'sh') * TWO_32 : t.u32(at + 4, 'sh') + t.u32(at, 'sh') * TWO_32;
      offset = w(o + 24);
      size = w(o + 32);
    } else {
      offset = t.u32(o + 16, 'sh_offset');
      size = t.u32(o + 20, 'sh_size');
    }
    if (size === 0 || offset >= fileSize) continue;
    const end = Math.min(offset + size, fileSize);
    let name = '';
    if (names.length > 0) {
      const from = t.u32(o, 'sh_name');
      let j = from;
      while (j < names.length && names[j] !== 0) j++;
      name = latin1.decode(names.subarray(from, j));
    }
    out.push({ index: i, name, type, offset, size: end - offset });
  }
  return out;
}
