/**
 * Deterministic synthetic pages for tests, the swap bench and the start-up
 * cost measurement: a seeded mixture of the contents that matter to swap.
 *
 * - zero: all zero bytes;
 * - same: one random non-zero 8-byte word repeated (zram same-filled);
 * - text: words from a small vocabulary (compresses about 2-3x with LZ4);
 * - table: little-endian records with slowly changing fields (heap-like
 *   data, compresses well);
 * - random: uniform bytes (incompressible: zram huge, zswap as-is);
 * - duplicate: a byte copy of an earlier non-zero page (dedup-first's case).
 *
 * All pages are written into one contiguous buffer; page i is
 * bytes [i * pageSize, (i + 1) * pageSize).
 */
import { mulberry32 } from '../../util/prng.js';

export const PAGE_KINDS = ['zero', 'same', 'text', 'table', 'random', 'duplicate'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];
export type PageMix = Readonly<Record<PageKind, number>>;

/** A mixture close to anonymous memory under pressure, with many zero and duplicate pages. */
export const DEFAULT_MIX: PageMix = { zero: 15, same: 5, text: 25, table: 25, random: 10, duplicate: 20 };

export interface SamplePages {
  pageSize: number;
  count: number;
  /** count * pageSize bytes. */
  bytes: Uint8Array;
  /** Kind of each page, an index into PAGE_KINDS. */
  kinds: Uint8Array;
  page(i: number): Uint8Array;
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her all she there would their we him been has when who will more no if out so said what up its ' +
  'about into than them can only other new some could time these two may then do first any my now such like ' +
  'page frame swap memory kernel compress zram zswap process heap stack mapping shared anonymous file cache'
).split(' ');

export function samplePages(count: number, pageSize = 4096, seed = 1, mix: PageMix = DEFAULT_MIX): SamplePages {
  const bytes = new Uint8Array(count * pageSize);
  const kinds = new Uint8Array(count);
  const next = mulberry32(seed);
  const total = PAGE_KINDS.reduce((sum, k) => sum + mix[k], 0);
  const nonZero: number[] = [];
  for (let i = 0; i < count; i++) {
    let pick = (next() / 2 ** 32) * total;
    let kind = 0;
    while (kind < PAGE_KINDS.length - 1 && pick >= mix[PAGE_KINDS[kind]!]) pick -= mix[PAGE_KINDS[kind++]!];
    if (PAGE_KINDS[kind] === 'duplicate' && nonZero.length === 0) kind = PAGE_KINDS.indexOf('text');
    const page = bytes.subarray(i * pageSize, (i + 1) * pageSize);
    fill(page, PAGE_KINDS[kind]!, next, bytes, nonZero, pageSize);
    kinds[i] = kind;
    if (PAGE_KINDS[kind] !== 'zero') nonZero.push(i);
  }
  return { pageSize, count, bytes, kinds, page: (i) => bytes.subarray(i * pageSize, (i + 1) * pageSize) };
}

function fill(
  page: Uint8Array,
  kind: PageKind,
  next: () => number,
  all: Uint8Array,
  nonZero: number[],
  pageSize: number,
): void {
  switch (kind) {
    case 'zero':
      return;
    case 'same': {
      let lo = next();
      const hi = next();
      if (lo === 0 && hi === 0) lo = 1;
      for (let o = 0; o < page.length; o += 8) {
        for (let b = 0; b < 4; b++) {
          page[o + b] = (lo >>> (8 * b)) & 0xff;
          page[o + 4 + b] = (hi >>> (8 * b)) & 0xff;
        }
      }
      return;
    }
    case 'text': {
      let o = 0;
      while (o < page.length) {
        const word = WORDS[next() % WORDS.length]!;
        for (let c = 0; c < word.length && o < page.length; c++) page[o++] = word.charCodeAt(c);
        if (o < page.length) page[o++] = next() % 13 === 0 ? 10 : 32;
      }
      return;
    }
    case 'table': {
      let id = next() & 0xffff;
      let value = next();
      for (let o = 0; o + 16 <= page.length; o += 16) {
        id += 1;
        value = (value + (next() & 0xff)) >>> 0;
        writeU32(page, o, id);
        writeU32(page, o + 4, value);
        writeU32(page, o + 8, next() & 0x3);
        writeU32(page, o + 12, 0);
      }
      return;
    }
    case 'random':
      for (let o = 0; o < page.length; o += 4) writeU32(page, o, next());
      return;
    case 'duplicate': {
      const source = nonZero[next() % nonZero.length]!;
      page.set(all.subarray(source * pageSize, (source + 1) * pageSize));
      return;
    }
    default:
      throw new RangeError(`unknown page kind ${String(kind)}`);
  }
}

function writeU32(page: Uint8Array, o: number, v: number): void {
  page[o] = v & 0xff;
  page[o + 1] = (v >>> 8) & 0xff;
  page[o + 2] = (v >>> 16) & 0xff;
  page[o + 3] = (v >>> 24) & 0xff;
}
