/**
 * The dynamic section (PT_DYNAMIC) of an ELF64 little-endian object, read
 * the way ld.so sees it after mapping: the entries at p_vaddr, up to DT_NULL;
 * addresses in them (DT_STRTAB, ...) are virtual addresses, turned into file
 * offsets through the PT_LOAD that holds them (p_vaddr..p_vaddr+p_filesz).
 *
 * This module reads the tags library search needs (DT_NEEDED, DT_SONAME,
 * DT_RPATH, DT_RUNPATH, DT_FLAGS, DT_FLAGS_1) and keeps every entry, so the
 * relocation reader can take its own tags from `entries`.
 *
 * Every read goes through the bounds-checked ByteReader; a dynamic section
 * that claims more entries than the file holds allocates nothing for them.
 */
import { ElfError, type ErrorData } from '../../errors.js';
import { PT_DYNAMIC, PT_LOAD, type ElfFile, type ProgramHeader } from '../../elf/index.js';
import { ByteReader } from '../../util/reader.js';

export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_STRTAB = 5;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_RUNPATH = 29;
export const DT_FLAGS = 30;
export const DT_AUXILIARY = 0x7ffffffd;
export const DT_FILTER = 0x7fffffff;
export const DT_FLAGS_1 = 0x6ffffffb;

/** DT_FLAGS bits. */
export const DF_ORIGIN = 0x1;
export const DF_BIND_NOW = 0x8;
/** DT_FLAGS_1 bits. */
export const DF_1_NOW = 0x1;
export const DF_1_NODEFLIB = 0x800;
export const DF_1_ORIGIN = 0x80;
export const DF_1_PIE = 0x8000000;

const ELF64_DYN_SIZE = 16;

/** One Elf64_Dyn: d_tag (as a number; every defined tag is far below 2^53) and d_un. */
export interface DynamicEntry {
  tag: number;
  value: bigint;
}

export interface DynamicInfo {
  /** Every entry before DT_NULL, in order. */
  entries: DynamicEntry[];
  /** Where the entries are: PT_DYNAMIC's p_vaddr and the file offset read. */
  vaddr: bigint;
  offset: number;
  /** DT_NEEDED strings, in order. */
  needed: string[];
  soname?: string;
  /** DT_RPATH and DT_RUNPATH strings, unsplit and unexpanded. */
  rpath?: string;
  runpath?: string;
  /** DT_AUXILIARY and DT_FILTER strings (not loaded by this model). */
  auxiliary: string[];
  filter: string[];
  /** DT_FLAGS and DT_FLAGS_1 (0 when absent). */
  flags: number;
  flags1: number;
  /** DT_STRTAB as a file range, when present. */
  strtab?: { vaddr: bigint; offset: number; size: number };
}

/** What readDynamic needs of an image: the parsed header and the file's bytes. */
export interface DynamicSource {
  elf: ElfFile;
  bytes: Uint8Array;
}

/**
 * The dynamic section of `image`, or undefined when it has no PT_DYNAMIC
 * (a static program). Throws ElfError (E_RTLD_DYNAMIC) when a needed piece is
 * outside the file.
 */
export function readDynamic(image: DynamicSource): DynamicInfo | undefined {
  const { elf, bytes } = image;
  const file = elf.file;
  const dynamic = elf.programHeaders.find((p) => p.type === PT_DYNAMIC);
  if (!dynamic) return undefined;
  const fail = (problem: string, data: ErrorData = {}) =>
    new ElfError('E_RTLD_DYNAMIC', `${file}: ${problem}`, { file, field: 'PT_DYNAMIC', ...data });
  const reader = new ByteReader(bytes, file, true, (message, data) => new ElfError('E_RTLD_DYNAMIC', message, data));
  const loads = elf.programHeaders.filter((p) => p.type === PT_LOAD);

  // ld.so reads the entries where they are mapped; a PT_DYNAMIC outside every PT_LOAD's file bytes is read at p_offset.
  const mapped = fileRangeOf(loads, dynamic.vaddr, 1n);
  const offset = mapped ?? (dynamic.offset <= BigInt(bytes.length) ? Number(dynamic.offset) : undefined);
  if (offset === undefined)
    throw fail(`PT_DYNAMIC at p_vaddr 0x${dynamic.vaddr.toString(16)} is not in the file`, { offset: dynamic.offset });
  // At most as many entries as fit in the file from there (and in p_memsz); the loop stops at DT_NULL.
  const room = Math.floor((bytes.length - offset) / ELF64_DYN_SIZE);
  const claimed = dynamic.memsz / BigInt(ELF64_DYN_SIZE);
  const count = claimed < BigInt(room) ? Number(claimed) : room;
  const entries: DynamicEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * ELF64_DYN_SIZE;
    const tag = BigInt.asIntN(64, reader.u64(at, 'd_tag'));
    if (tag === 0n) break;
    entries.push({ tag: Number(tag), value: reader.u64(at + 8, 'd_un') });
  }

  const info: DynamicInfo = {
    entries,
    vaddr: dynamic.vaddr,
    offset,
    needed: [],
    auxiliary: [],
    filter: [],
    flags: 0,
    flags1: 0,
  };
  const strtabAddr = last(entries, DT_STRTAB);
  const strsz = last(entries, DT_STRSZ);
  if (strtabAddr !== undefined) {
    const size = strsz ?? 0n;
    const start = fileRangeOf(loads, strtabAddr, 1n);
    if (start === undefined)
      throw fail(`DT_STRTAB 0x${strtabAddr.toString(16)} is not inside any PT_LOAD's file bytes`, {
        field: 'DT_STRTAB',
      });
    // The table may claim more than the file holds; strings are still bounded by the file.
    const available = BigInt(bytes.length - start);
    info.strtab = { vaddr: strtabAddr, offset: start, size: Number(size < available ? size : available) };
  }
  const string = (value: bigint, tag: string): string => {
    const table = info.strtab;
    if (!table) throw fail(`${tag} without DT_STRTAB`, { field: tag });
    if (value >= BigInt(table.size) && strsz !== undefined) {
      throw fail(`${tag} string offset 0x${value.toString(16)} is past DT_STRSZ 0x${strsz.toString(16)}`, {
        field: tag,
      });
    }
    return reader.cstring(
      table.offset + Number(value),
      `${tag} string`,
      table.offset + (strsz === undefined ? bytes.length : table.size),
    );
  };
  for (const e of entries) {
    switch (e.tag) {
      case DT_NEEDED:
        info.needed.push(string(e.value, 'DT_NEEDED'));
        break;
      case DT_SONAME:
        info.soname = string(e.value, 'DT_SONAME');
        break;
      case DT_RPATH:
        info.rpath = string(e.value, 'DT_RPATH');
        break;
      case DT_RUNPATH:
        info.runpath = string(e.value, 'DT_RUNPATH');
        break;
      case DT_AUXILIARY:
        info.auxiliary.push(string(e.value, 'DT_AUXILIARY'));
        break;
      case DT_FILTER:
        info.filter.push(string(e.value, 'DT_FILTER'));
        break;
      case DT_FLAGS:
        info.flags = Number(e.value & 0xffffffffn);
        break;
      case DT_FLAGS_1:
        info.flags1 = Number(e.value & 0xffffffffn);
        break;
    }
  }
  return info;
}

/** The last value of `tag` (ld.so's l_info keeps the last entry of a tag). */
function last(entries: DynamicEntry[], tag: number): bigint | undefined {
  let value: bigint | undefined;
  for (const e of entries) if (e.tag === tag) value = e.value;
  return value;
}

/**
 * The file offset of [vaddr, vaddr+size) when one PT_LOAD holds all of it in
 * its file bytes; undefined otherwise (bss, or outside every segment).
 */
export function fileRangeOf(loads: readonly ProgramHeader[], vaddr: bigint, size: bigint): number | undefined {
  for (const p of loads) {
    if (vaddr >= p.vaddr && vaddr + size <= p.vaddr + p.filesz) {
      const offset = p.offset + (vaddr - p.vaddr);
      return offset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(offset) : undefined;
    }
  }
  return undefined;
}
