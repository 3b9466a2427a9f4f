/**
 * /etc/ld.so.cache in glibc's binary format (sysdeps/generic/dl-cache.h),
 * read and searched as glibc 2.36's ld.so does (elf/dl-cache.c):
 *
 * - new format only: "glibc-ld.so.cache1.1", a 48-byte header (nlibs,
 *   len_strings, flags, extension_offset), nlibs 24-byte entries
 *   (flags, key, value, osversion, hwcap), then the strings. String offsets
 *   count from the start of the new header.
 * - old format with the new one inside: "ld.so-1.7.0", nlibs 12-byte entries,
 *   then the new header at the next 8-byte boundary. ld.so uses the new part.
 * - old format alone: 12-byte entries; strings count from the end of the
 *   entry table.
 *
 * Lookup is search_cache(): binary search with _dl_cache_libcmp (digit runs
 * compare as numbers), back up to the first entry of the name, then take
 * the first whose flags are FLAG_ELF_LIBC6|FLAG_X8664_LIB64 (0x303), except
 * that glibc-hwcaps entries (hwcap bit 62, listed first) win by priority
 * when the CPU supports their subdirectory. Legacy hwcap entries are used
 * only when their bits are in what x86-64 ld.so keeps (none on this model).
 *
 * A file that is not one of these formats, whose entry table runs past its
 * end, or whose new header has the wrong byte order is no cache: ld.so then
 * searches without one, and so does this model. Every read is bounds-checked;
 * nothing is allocated from a count in the header.
 */
import { ByteReader } from '../../util/reader.js';

const MAGIC_NEW = 'glibc-ld.so.cache1.1';
const MAGIC_OLD = 'ld.so-1.7.0';
const NEW_HEADER_SIZE = 48;
const NEW_ENTRY_SIZE = 24;
const OLD_HEADER_SIZE = 16; // 11 magic bytes, padded to 12, then nlibs
const OLD_ENTRY_SIZE = 12;

/** _DL_CACHE_DEFAULT_ID on x86-64: FLAG_ELF_LIBC6 (3) | FLAG_X8664_LIB64 (0x300). */
export const CACHE_FLAGS_X86_64 = 0x303;
export const DL_CACHE_HWCAP_EXTENSION = 1n << 62n;
const ISA_LEVEL_MASK = (1n << 10n) - 1n;
const HWCAP_TLS_MASK = 1n << 63n;
const CACHE_EXTENSION_MAGIC = 0xeaa42174; // (uint32_t) -358342284
const CACHE_EXTENSION_TAG_GLIBC_HWCAPS = 1;

export interface CacheEntry {
  flags: number;
  key: string;
  value: string;
  hwcap: bigint;
}

export interface LdSoCache {
  format: 'new' | 'old+new' | 'old';
  /** The entries, in file order (sorted by name as ldconfig writes them). */
  entries: CacheEntry[];
  /** The glibc-hwcaps subdirectory names of the extension section, by index. */
  glibcHwcaps: string[];
  /** The glibc version that wrote the file (generator extension), when present. */
  generator?: string;
}

const latin1 = new TextDecoder('latin1');

/**
 * Parses a cache file. Returns undefined when ld.so would ignore it (not a
 * cache, damaged counts, wrong byte order).
 */
export function parseLdSoCache(bytes: Uint8Array, file = 'ld.so.cache'): LdSoCache | undefined {
  const r = new ByteReader(bytes, file);
  if (startsWith(bytes, 0, MAGIC_NEW)) {
    return readNew(r, 0, 'new');
  }
  if (startsWith(bytes, 0, MAGIC_OLD) && bytes.length > OLD_HEADER_SIZE) {
    const nlibs = r.u32(12, 'nlibs');
    if (Math.floor((bytes.length - OLD_HEADER_SIZE) / OLD_ENTRY_SIZE) < nlibs) return undefined;
    // ALIGN_CACHE: the new header starts at the next multiple of alignof(struct cache_file_new) = 8.
    const newAt = alignUp(OLD_HEADER_SIZE + nlibs * OLD_ENTRY_SIZE, 8);
    if (bytes.length >= newAt + NEW_HEADER_SIZE && startsWith(bytes, newAt, MAGIC_NEW)) {
      return readNew(r, newAt, 'old+new');
    }
    const stringsAt = OLD_HEADER_SIZE + nlibs * OLD_ENTRY_SIZE;
    const entries: CacheEntry[] = [];
    for (let i = 0; i < nlibs; i++) {
      const at = OLD_HEADER_SIZE + i * OLD_ENTRY_SIZE;
      const key = str(r, stringsAt, r.u32(at + 4, 'key'));
      const value = str(r, stringsAt, r.u32(at + 8, 'value'));
      if (key === undefined) break; // search_cache stops at a bogus key
      entries.push({ flags: r.i32(at, 'flags'), key, value: value ?? '', hwcap: 0n });
    }
    return { format: 'old', entries, glibcHwcaps: [] };
  }
  return undefined;
}

function readNew(r: ByteReader, base: number, format: 'new' | 'old+new'): LdSoCache | undefined {
  const size = r.length - base;
  if (size <= NEW_HEADER_SIZE) return undefined;
  const nlibs = r.u32(base + 20, 'nlibs');
  if (Math.floor((size - NEW_HEADER_SIZE) / NEW_ENTRY_SIZE) < nlibs) return undefined;
  const flags = r.u8(base + 28, 'flags');
  // cache_file_new_matches_endian: 0 (unknown) or little-endian (2).
  if (flags !== 0 && (flags & 3) !== 2) return undefined;
  const entries: CacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const at = base + NEW_HEADER_SIZE + i * NEW_ENTRY_SIZE;
    const key = str(r, base, r.u32(at + 4, 'key'));
    if (key === undefined) break;
    const value = str(r, base, r.u32(at + 8, 'value'));
    entries.push({ flags: r.i32(at, 'flags'), key, value: value ?? '', hwcap: r.u64(at + 16, 'hwcap') });
  }
  const cache: LdSoCache = { format, entries, glibcHwcaps: [] };
  readExtensions(r, base, r.u32(base + 32, 'extension_offset'), cache);
  return cache;
}

/** cache_extension_load(): the generator string and the glibc-hwcaps name table. A damaged directory is ignored. */
function readExtensions(r: ByteReader, base: number, offset: number, cache: LdSoCache): void {
  // The offset counts from the new header (which is the file start for the new format).
  const at = base + offset;
  if (offset === 0 || offset % 4 !== 0 || !r.has(at, 8)) return;
  if (r.u32(at, 'cache_extension.magic') !== CACHE_EXTENSION_MAGIC) return;
  const count = r.u32(at + 4, 'cache_extension.count');
  if (!r.has(at + 8, count * 16)) return;
  for (let i = 0; i < count; i++) {
    const s = at + 8 + i * 16;
    const tag = r.u32(s, 'tag');
    const dataAt = base + r.u32(s + 8, 'offset');
    const dataSize = r.u32(s + 12, 'size');
    if (!r.has(dataAt, dataSize)) continue;
    if (tag === 0) {
      cache.generator = latin1.decode(r.slice(dataAt, dataSize, 'generator'));
    } else if (tag === CACHE_EXTENSION_TAG_GLIBC_HWCAPS && dataSize % 4 === 0 && dataAt % 4 === 0) {
      for (let j = 0; j < dataSize / 4; j++)
        cache.glibcHwcaps.push(str(r, base, r.u32(dataAt + j * 4, 'hwcaps index')) ?? '');
    }
  }
}

/** A string at `index` of the table starting at `base`; undefined when past the end (_dl_cache_verify_ptr). */
function str(r: ByteReader, base: number, index: number): string | undefined {
  const at = base + index;
  if (at >= r.length) return undefined;
  try {
    return r.cstring(at, 'cache string');
  } catch {
    return undefined;
  }
}

function startsWith(bytes: Uint8Array, at: number, magic: string): boolean {
  if (bytes.length < at + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** _dl_cache_libcmp(): strcmp, except that runs of digits compare as numbers. */
export function cacheLibcmp(p1: string, p2: string): number {
  let i = 0;
  let j = 0;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  for (;;) {
    const c1 = i < p1.length ? p1.charCodeAt(i) : 0;
    const c2 = j < p2.length ? p2.charCodeAt(j) : 0;
    if (c1 === 0) return c1 - c2;
    if (isDigit(c1)) {
      if (!isDigit(c2)) return 1;
      let v1 = 0;
      let v2 = 0;
      while (i < p1.length && isDigit(p1.charCodeAt(i))) v1 = v1 * 10 + p1.charCodeAt(i++) - 48;
      while (j < p2.length && isDigit(p2.charCodeAt(j))) v2 = v2 * 10 + p2.charCodeAt(j++) - 48;
      if (v1 !== v2) return v1 < v2 ? -1 : 1;
    } else if (isDigit(c2)) {
      return -1;
    } else if (c1 !== c2) {
      return c1 - c2;
    } else {
      i++;
      j++;
    }
  }
}

/** What the CPU and ld.so bring to a lookup. */
export interface CacheLookupOptions {
  /** glibc-hwcaps subdirectory names the CPU supports, best first. */
  glibcHwcaps: string[];
  /** Legacy hwcap bits ld.so keeps (GLRO(dl_hwcap) & hwcap_mask); 0 on this model. */
  hwcap?: bigint;
  /** The x86-64 ISA level the CPU supports (for the ISA-level bits of glibc-hwcaps entries). */
  isaLevel?: number;
}

/** search_cache(): the path ld.so takes from the cache for `name`, or undefined. */
export function lookupCache(cache: LdSoCache, name: string, options: CacheLookupOptions): string | undefined {
  const entries = cache.entries;
  const hwcapExclude = ~((options.hwcap ?? 0n) | HWCAP_TLS_MASK) & ((1n << 64n) - 1n);
  let left = 0;
  let right = entries.length - 1;
  while (left <= right) {
    let middle = (left + right) >> 1;
    const cmp = cacheLibcmp(name, entries[middle]!.key);
    if (cmp === 0) {
      left = middle;
      while (middle > 0 && cacheLibcmp(name, entries[middle - 1]!.key) === 0) middle--;
      let best: string | undefined;
      let bestPriority = 0;
      for (; middle <= right; middle++) {
        const e = entries[middle]!;
        if (middle > left && cacheLibcmp(name, e.key) !== 0) break;
        if (e.flags !== CACHE_FLAGS_X86_64) continue;
        const named = isHwcapExtension(e.hwcap);
        if (named && !isaLevelCompatible(e.hwcap, options.isaLevel ?? 4)) continue;
        if (!named && best !== undefined) break;
        if (!named && (e.hwcap & hwcapExclude) !== 0n) continue;
        if (named) {
          const priority = hwcapsPriority(cache, Number(e.hwcap & 0xffffffffn), options.glibcHwcaps);
          if (priority === 0) continue;
          if (best === undefined || priority < bestPriority) bestPriority = priority;
          else continue;
        }
        best = e.value;
        if (!named) break;
      }
      return best;
    }
    if (cmp < 0) left = middle + 1;
    else right = middle - 1;
  }
  return undefined;
}

function isHwcapExtension(hwcap: bigint): boolean {
  return ((hwcap >> 32n) & ~ISA_LEVEL_MASK) === DL_CACHE_HWCAP_EXTENSION >> 32n;
}

/**
 * dl_cache_hwcap_isa_level_compatible() (sysdeps/x86): bits 32..41 hold an
 * ISA level number n (0 baseline, 1 x86-64-v2, 2 v3, 3 v4); the CPU must
 * support level n + 1.
 */
function isaLevelCompatible(hwcap: bigint, cpuLevel: number): boolean {
  const needed = Number((hwcap >> 32n) & ISA_LEVEL_MASK);
  return needed + 1 <= cpuLevel;
}

/** glibc_hwcaps_priority(): 1 for the best supported subdirectory, 2 for the next, ...; 0 when unsupported. */
function hwcapsPriority(cache: LdSoCache, index: number, supported: string[]): number {
  const name = cache.glibcHwcaps[index];
  if (name === undefined) return 0;
  const at = supported.indexOf(name);
  return at < 0 ? 0 : at + 1;
}
