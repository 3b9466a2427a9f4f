/**
 * Which pages of a file hold machine code, for the zstd codec's branch
 * filter (src/codec/branch-filter.ts): the pages that overlap the file
 * bytes of an executable PT_LOAD segment (p_flags PF_X) of an ELF file
 * whose e_machine has a filter. Only the ELF header and the program headers
 * are read. This is a compression hint, never a check: a file that is not
 * ELF, or whose headers do not parse, simply gets no hint (pack stores
 * every file as bytes).
 */
import fs from 'node:fs';
import { type BranchFilter, BRANCH_NONE, branchFilterFor } from '../codec/index.js';
import { ByteReader } from '../util/reader.js';

const PT_LOAD = 1;
const PF_X = 1;
/** More program header bytes than this: no hint (real files have a few hundred). */
const MAX_PHDR_BYTES = 64 * 1024;

export interface CodePages {
  filter: BranchFilter;
  /** Page index ranges [start, end) of executable segments, as pairs. */
  ranges: number[];
}

/** The code pages of the open file fd (size bytes), or undefined when it has none to filter. */
export function codePages(fd: number, size: number, pageSize: number): CodePages | undefined {
  try {
    return readCodePages(fd, size, pageSize);
  } catch {
    return undefined;
  }
}

/** The branch filter of page `page` under `code` (BRANCH_NONE outside its executable segments). */
export function pageFilter(code: CodePages | undefined, page: number): BranchFilter {
  if (code === undefined) return BRANCH_NONE;
  const r = code.ranges;
  for (let i = 0; i < r.length; i += 2) if (page >= r[i]! && page < r[i + 1]!) return code.filter;
  return BRANCH_NONE;
}

function readCodePages(fd: number, size: number, pageSize: number): CodePages | undefined {
  const ident = Buffer.alloc(64);
  const got = fs.readSync(fd, ident, 0, Math.min(64, size), 0);
  if (got < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const elf64 = ident[4] === 2;
  if (!elf64 && ident[4] !== 1) return undefined;
  if (ident[5] !== 1 && ident[5] !== 2) return undefined;
  const littleEndian = ident[5] === 1;
  const header = new ByteReader(ident.subarray(0, got), 'ELF header', littleEndian);
  const filter = branchFilterFor(header.u16(18, 'e_machine'), littleEndian);
  if (filter === BRANCH_NONE) return undefined;
  const phoff = elf64 ? header.u64Number(32, 'e_phoff') : header.u32(28, 'e_phoff');
  const phentsize = header.u16(elf64 ? 54 : 42, 'e_phentsize');
  const phnum = header.u16(elf64 ? 56 : 44, 'e_phnum');
  const entry = elf64 ? 56 : 32;
  const bytes = phnum * phentsize;
  if (phentsize < entry || bytes === 0 || bytes > MAX_PHDR_BYTES || phoff + bytes > size) return undefined;
  const table = Buffer.alloc(bytes);
  if (fs.readSync(fd, table, 0, bytes, phoff) !== bytes) return undefined;
  const ph = new ByteReader(table, 'program headers', littleEndian);
  const ranges: number[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    if (ph.u32(at, 'p_type') !== PT_LOAD) continue;
    const flags = ph.u32(at + (elf64 ? 4 : 24), 'p_flags');
    if ((flags & PF_X) === 0) continue;
    const offset = elf64 ? ph.u64Number(at + 8, 'p_offset') : ph.u32(at + 4, 'p_offset');
    const filesz = elf64 ? ph.u64Number(at + 32, 'p_filesz') : ph.u32(at + 16, 'p_filesz');
    const end = Math.min(offset + filesz, size);
    if (filesz === 0 || offset >= end) continue;
    ranges.push(Math.floor(offset / pageSize), Math.ceil(end / pageSize));
  }
  return ranges.length > 0 ? { filter, ranges } : undefined;
}
