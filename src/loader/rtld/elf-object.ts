/**
 * What ld.so reads from a shared object or program once it is mapped: the
 * PT_DYNAMIC entries (elf/get-dynamic-info.h), PT_TLS, PT_GNU_RELRO, the
 * dynamic symbol table with its version tables, and the relocation tables
 * (DT_RELA, DT_REL, DT_JMPREL, DT_RELR). Read from the file's bytes through
 * the PT_LOAD that holds each address, with the bounds-checked reader, so a
 * corrupt table is a one-line error naming the file, never a wild read.
 *
 * Addresses are link-time virtual addresses (before l_addr is added), as
 * numbers: they stay far below 2^53 for any object ld.so can map.
 */
import { ElfError } from '../../errors.js';
import { ByteReader } from '../../util/reader.js';
import type { ExecImage } from '../elf-image.js';

export const PT_DYNAMIC = 2;
export const PT_TLS = 7;
export const PT_GNU_RELRO = 0x6474e552;

export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_PLTRELSZ = 2;
export const DT_HASH = 4;
export const DT_STRTAB = 5;
export const DT_SYMTAB = 6;
export const DT_RELA = 7;
export const DT_RELASZ = 8;
export const DT_STRSZ = 10;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_REL = 17;
export const DT_RELSZ = 18;
export const DT_PLTREL = 20;
export const DT_DEBUG = 21;
export const DT_TEXTREL = 22;
export const DT_JMPREL = 23;
export const DT_BIND_NOW = 24;
export const DT_FLAGS = 30;
export const DT_RUNPATH = 29;
export const DT_RELRSZ = 35;
export const DT_RELR = 36;
export const DT_GNU_HASH = 0x6ffffef5;
export const DT_VERSYM = 0x6ffffff0;
export const DT_FLAGS_1 = 0x6ffffffb;
export const DT_VERDEF = 0x6ffffffc;
export const DT_VERDEFNUM = 0x6ffffffd;
export const DT_VERNEED = 0x6ffffffe;
export const DT_VERNEEDNUM = 0x6fffffff;

export const DF_BIND_NOW = 0x8;
export const DF_1_NOW = 0x1;

/** One dynamic symbol (Elf64_Sym) with its name and version. */
export interface DynSymbol {
  index: number;
  name: string;
  /** st_info >> 4: STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2, STB_GNU_UNIQUE 10. */
  bind: number;
  /** st_info & 0xf: STT_OBJECT 1, STT_FUNC 2, STT_TLS 6, STT_GNU_IFUNC 10. */
  type: number;
  /** st_other & 3: STV_DEFAULT 0, STV_INTERNAL 1, STV_HIDDEN 2, STV_PROTECTED 3. */
  visibility: number;
  shndx: number;
  value: bigint;
  size: bigint;
  /** The version index from DT_VERSYM (0x7fff bits), 0 without a version table. */
  versionIndex: number;
  /** VERSYM_HIDDEN: a non-default version (name@VER, not name@@VER). */
  hidden: boolean;
}

/** One relocation: Elf64_Rela (addend 0n for Elf64_Rel, whose addend is in place). */
export interface Relocation {
  offset: number;
  type: number;
  symbol: number;
  addend: bigint;
  /** From DT_REL: the addend is the word at `offset`. */
  implicitAddend: boolean;
}

/** A version a symbol is defined with (verdef) or needed at (vernaux), by index. */
export interface VersionName {
  name: string;
  hash: number;
  /** For a needed version: the file (vn_file) it must come from. */
  file?: string;
  /** VER_FLG_WEAK on a needed version. */
  weak?: boolean;
}

export interface TlsSegment {
  /** p_vaddr, p_filesz (the initialisation image), p_memsz (the block), p_align. */
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfObject {
  path: string;
  image: ExecImage;
  /** The link-time address of PT_DYNAMIC, and its entries in order. */
  dynamicAddr?: number;
  dynamicWritable: boolean;
  dynamic: Array<{ tag: bigint; value: bigint }>;
  needed: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  /** DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW: relocated as with LD_BIND_NOW. */
  bindNow: boolean;
  textrel: boolean;
  tls?: TlsSegment;
  relro?: { vaddr: number; memsz: number };
  symbols: DynSymbol[];
  /** Defined, non-local dynamic symbols by name, in symbol-table order. */
  definitions: Map<string, DynSymbol[]>;
  /** Version names by index: verdef entries (index 1 is the file's own base version) and vernaux entries. */
  versions: Map<number, VersionName>;
  /** DT_VERSYM is present: symbols carry version indexes. */
  hasVersym: boolean;
  /** Highest version index of DT_VERNEED and DT_VERDEF (the size of l_versions minus one), 0 without. */
  versionIndexHigh: number;
  rela: Relocation[];
  rel: Relocation[];
  /** DT_JMPREL entries (PLT relocations), Elf64_Rela or Elf64_Rel by DT_PLTREL. */
  jmprel: Relocation[];
  /** DT_RELR decoded: the addresses to add l_addr to. */
  relr: number[];
  /** Link-time ranges ld.so reads through the mapping: .dynamic, the symbol, string, hash, version and relocation tables. */
  readRanges: Array<[number, number]>;
}

const fail = (file: string, problem: string) => new ElfError('E_RTLD_DYNAMIC', `${file}: ${problem}`, { file });

/** Reads the dynamic section and everything ld.so takes from it. */
export function readElfObject(image: ExecImage): ElfObject {
  const path = image.backing.path;
  const r = new ByteReader(image.bytes, path, true, (message, data) => new ElfError('E_RTLD_DYNAMIC', message, data));
  const loads = image.loads;
  /** File offset of link-time address `addr` with `size` bytes after it inside one PT_LOAD's file part. */
  const offsetOf = (addr: number, size: number, field: string): number => {
    for (const s of loads) {
      const v = Number(s.vaddr);
      if (addr >= v && addr + size <= v + Number(s.filesz)) return r.check(Number(s.offset) + (addr - v), size, field);
    }
    throw fail(path, `${field} at 0x${addr.toString(16)} (${size} bytes) lies in no PT_LOAD's file bytes`);
  };

  const obj: ElfObject = {
    path,
    image,
    dynamicWritable: false,
    dynamic: [],
    needed: [],
    bindNow: false,
    textrel: false,
    symbols: [],
    definitions: new Map(),
    versions: new Map(),
    hasVersym: false,
    versionIndexHigh: 0,
    rela: [],
    rel: [],
    jmprel: [],
    relr: [],
    readRanges: [],
  };
  for (const ph of image.programHeaders) {
    if (ph.type === PT_TLS && ph.memsz > 0n && obj.tls === undefined) {
      obj.tls = {
        vaddr: Number(ph.vaddr),
        filesz: Number(ph.filesz),
        memsz: Number(ph.memsz),
        align: Number(ph.align) || 1,
      };
    } else if (ph.type === PT_GNU_RELRO && obj.relro === undefined) {
      obj.relro = { vaddr: Number(ph.vaddr), memsz: Number(ph.memsz) };
    }
  }
  const dynPh = image.programHeaders.find((p) => p.type === PT_DYNAMIC);
  if (!dynPh) return obj;
  obj.dynamicAddr = Number(dynPh.vaddr);
  obj.dynamicWritable = (dynPh.flags & 2) !== 0;
  const dynOff = r.check(dynPh.offset, dynPh.filesz, 'PT_DYNAMIC');
  const count = Math.floor(Number(dynPh.filesz) / 16);
  const info = new Map<number, bigint>();
  const neededOffsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const tag = r.u64(dynOff + i * 16, 'd_tag');
    const value = r.u64(dynOff + i * 16 + 8, 'd_val');
    obj.dynamic.push({ tag, value });
    if (tag === 0n) break;
    const t = Number(tag);
    if (t === DT_NEEDED) neededOffsets.push(Number(value));
    else if (!info.has(t)) info.set(t, value);
  }
  const num = (tag: number): number | undefined => {
    const v = info.get(tag);
    return v === undefined ? undefined : Number(v);
  };
  const strtab = num(DT_STRTAB);
  const strsz = num(DT_STRSZ) ?? 0;
  const strOff = strtab === undefined ? undefined : offsetOf(strtab, strsz, 'DT_STRTAB');
  const str = (off: number, field: string): string => {
    if (strOff === undefined) throw fail(path, `${field} without DT_STRTAB`);
    if (off >= strsz) throw fail(path, `${field} string offset ${off} is past DT_STRSZ ${strsz}`);
    return r.cstring(strOff + off, field, strOff + strsz);
  };
  obj.needed = neededOffsets.map((o) => str(o, 'DT_NEEDED'));
  if (info.has(DT_SONAME)) obj.soname = str(num(DT_SONAME)!, 'DT_SONAME');
  if (info.has(DT_RPATH)) obj.rpath = str(num(DT_RPATH)!, 'DT_RPATH');
  if (info.has(DT_RUNPATH)) obj.runpath = str(num(DT_RUNPATH)!, 'DT_RUNPATH');
  const flags = num(DT_FLAGS) ?? 0;
  const flags1 = num(DT_FLAGS_1) ?? 0;
  obj.bindNow = info.has(DT_BIND_NOW) || (flags & DF_BIND_NOW) !== 0 || (flags1 & DF_1_NOW) !== 0;
  obj.textrel = info.has(DT_TEXTREL) || (flags & 0x4) !== 0;

  // Relocation tables.
  const readRela = (
    addr: number | undefined,
    size: number | undefined,
    field: string,
    implicit: boolean,
  ): Relocation[] => {
    if (addr === undefined || !size) return [];
    const ent = implicit ? 16 : 24;
    const off = offsetOf(addr, size, field);
    const out: Relocation[] = [];
    for (let p = off; p + ent <= off + size; p += ent) {
      const info64 = r.u64(p + 8, field);
      out.push({
        offset: Number(r.u64(p, field)),
        type: Number(info64 & 0xffffffffn),
        symbol: Number(info64 >> 32n),
        addend: implicit ? 0n : BigInt.asIntN(64, r.u64(p + 16, field)),
        implicitAddend: implicit,
      });
    }
    return out;
  };
  obj.rela = readRela(num(DT_RELA), num(DT_RELASZ), 'DT_RELA', false);
  obj.rel = readRela(num(DT_REL), num(DT_RELSZ), 'DT_REL', true);
  obj.jmprel = readRela(num(DT_JMPREL), num(DT_PLTRELSZ), 'DT_JMPREL', num(DT_PLTREL) === DT_REL);
  // The PLT relocations usually sit at the end of DT_RELA's range: ld.so skips them there (elf/dynamic-link.h).
  if (obj.jmprel.length && obj.rela.length) {
    const ja = num(DT_JMPREL)!;
    const ra = num(DT_RELA)!;
    const rs = num(DT_RELASZ)!;
    if (ja >= ra && ja < ra + rs) obj.rela = obj.rela.slice(0, (ja - ra) / 24);
  }
  const relrAddr = num(DT_RELR);
  const relrSize = num(DT_RELRSZ);
  if (relrAddr !== undefined && relrSize) {
    const off = offsetOf(relrAddr, relrSize, 'DT_RELR');
    let where = 0;
    for (let p = off; p + 8 <= off + relrSize; p += 8) {
      const entry = r.u64(p, 'DT_RELR');
      if ((entry & 1n) === 0n) {
        where = Number(entry);
        obj.relr.push(where);
        where += 8;
      } else {
        let bits = entry >> 1n;
        for (let i = 0; bits !== 0n; i++, bits >>= 1n) if (bits & 1n) obj.relr.push(where + i * 8);
        where += 63 * 8;
      }
    }
  }

  // Symbols: DT_SYMTAB has no size; the hash table gives the count (as ld.so's lookups bound it).
  const symtab = num(DT_SYMTAB);
  const versym = num(DT_VERSYM);
  if (symtab !== undefined && strOff !== undefined) {
    const nsyms = symbolCount(r, obj, num(DT_HASH), num(DT_GNU_HASH), offsetOf);
    const symOff = offsetOf(symtab, nsyms * 24, 'DT_SYMTAB');
    obj.hasVersym = versym !== undefined;
    const versymOff = versym === undefined ? undefined : offsetOf(versym, nsyms * 2, 'DT_VERSYM');
    for (let i = 0; i < nsyms; i++) {
      const p = symOff + i * 24;
      const st = r.u8(p + 4, 'st_info');
      const vs = versymOff === undefined ? 0 : r.u16(versymOff + i * 2, 'versym');
      const sym: DynSymbol = {
        index: i,
        name: str(r.u32(p, 'st_name'), 'st_name'),
        bind: st >> 4,
        type: st & 0xf,
        visibility: r.u8(p + 5, 'st_other') & 3,
        shndx: r.u16(p + 6, 'st_shndx'),
        value: r.u64(p + 8, 'st_value'),
        size: r.u64(p + 16, 'st_size'),
        versionIndex: vs & 0x7fff,
        hidden: (vs & 0x8000) !== 0,
      };
      obj.symbols.push(sym);
      if (sym.shndx !== 0 && sym.bind !== 0 && i !== 0) {
        const list = obj.definitions.get(sym.name);
        if (list) list.push(sym);
        else obj.definitions.set(sym.name, [sym]);
      }
    }
  }
  readVersions(r, obj, num(DT_VERDEF), num(DT_VERNEED), str, offsetOf);
  const ranges = obj.readRanges;
  ranges.push([obj.dynamicAddr, Number(dynPh.memsz)]);
  const add = (addr: number | undefined, size: number | undefined) => {
    if (addr !== undefined && size) ranges.push([addr, size]);
  };
  add(strtab, strsz);
  add(symtab, obj.symbols.length * 24);
  add(versym, obj.symbols.length * 2);
  add(num(DT_HASH), 8 + 4 * obj.symbols.length);
  add(num(DT_GNU_HASH), 16);
  add(num(DT_VERDEF), 20);
  add(num(DT_VERNEED), 16);
  add(num(DT_RELA), num(DT_RELASZ));
  add(num(DT_REL), num(DT_RELSZ));
  add(num(DT_JMPREL), num(DT_PLTRELSZ));
  add(relrAddr, relrSize);
  return obj;
}

/** The number of dynamic symbols: nchain of DT_HASH, or one past the last symbol in DT_GNU_HASH's chains. */
function symbolCount(
  r: ByteReader,
  obj: ElfObject,
  hash: number | undefined,
  gnuHash: number | undefined,
  offsetOf: (addr: number, size: number, field: string) => number,
): number {
  if (hash !== undefined) return r.u32(offsetOf(hash, 8, 'DT_HASH') + 4, 'nchain');
  if (gnuHash === undefined) return 0;
  const h = offsetOf(gnuHash, 16, 'DT_GNU_HASH');
  const nbuckets = r.u32(h, 'nbuckets');
  const symoffset = r.u32(h + 4, 'symoffset');
  const bloomSize = r.u32(h + 8, 'bloom_size');
  const buckets = h + 16 + bloomSize * 8;
  r.check(buckets, nbuckets * 4, 'gnu hash buckets');
  let last = 0;
  for (let i = 0; i < nbuckets; i++) last = Math.max(last, r.u32(buckets + i * 4, 'bucket'));
  if (last < symoffset) return symoffset;
  const chains = buckets + nbuckets * 4;
  for (let i = last; ; i++) {
    if (i - symoffset > 1 << 24) throw fail(obj.path, 'DT_GNU_HASH chain does not end');
    if (r.u32(chains + (i - symoffset) * 4, 'gnu hash chain') & 1) return i + 1;
  }
}

function readVersions(
  r: ByteReader,
  obj: ElfObject,
  verdef: number | undefined,
  verneed: number | undefined,
  str: (off: number, field: string) => string,
  offsetOf: (addr: number, size: number, field: string) => number,
): void {
  let high = 0;
  if (verneed !== undefined) {
    let p = offsetOf(verneed, 16, 'DT_VERNEED');
    for (let n = 0; n < 4096; n++) {
      const cnt = r.u16(p + 2, 'vn_cnt');
      const file = str(r.u32(p + 4, 'vn_file'), 'vn_file');
      let a = p + r.u32(p + 8, 'vn_aux');
      for (let i = 0; i < cnt; i++) {
        const other = r.u16(a + 6, 'vna_other') & 0x7fff;
        obj.versions.set(other, {
          name: str(r.u32(a + 8, 'vna_name'), 'vna_name'),
          hash: r.u32(a, 'vna_hash'),
          file,
          weak: (r.u16(a + 4, 'vna_flags') & 2) !== 0,
        });
        high = Math.max(high, other);
        const next = r.u32(a + 12, 'vna_next');
        if (!next) break;
        a += next;
      }
      const next = r.u32(p + 12, 'vn_next');
      if (!next) break;
      p += next;
    }
  }
  if (verdef !== undefined) {
    let p = offsetOf(verdef, 20, 'DT_VERDEF');
    for (let n = 0; n < 65536; n++) {
      const ndx = r.u16(p + 4, 'vd_ndx') & 0x7fff;
      const aux = p + r.u32(p + 12, 'vd_aux');
      obj.versions.set(ndx, { name: str(r.u32(aux, 'vda_name'), 'vda_name'), hash: r.u32(p + 8, 'vd_hash') });
      high = Math.max(high, ndx);
      const next = r.u32(p + 16, 'vd_next');
      if (!next) break;
      p += next;
    }
  }
  obj.versionIndexHigh = high;
}
