/**
 * The bytes of a data pattern (docs/SCENARIOS.md, "Data"), generated into a
 * caller's buffer chunk by chunk, so a write of gigabytes never allocates
 * more than its chunk buffer.
 *
 * Patterns are laid out on the machine's pages: page k of a write is the
 * k-th page its range touches (k = 0 for the page holding its first byte),
 * so `{"random": {"seed": 1, "distinct": 4}}` over an aligned range gives
 * pages that repeat every 4 pages, and `{"word": ...}` places the word at
 * 8-byte aligned addresses, so each page repeats one machine word (zram's
 * same-filled test).
 *
 * Deterministic: the same pattern, address and length give the same bytes
 * on every run and every policy.
 */
import type { DataSpec } from './scenario/types.js';
import { mulberry32 } from '../util/prng.js';

/** What a fill needs to know about where the bytes go. */
export interface FillPlace {
  pageSize: number;
  /** Address of the write's first byte. */
  writeStart: number;
}

/**
 * Fills `buf` with the bytes the pattern puts at addresses
 * [addr, addr + buf.length). `copy` is not a generated pattern (the runner
 * reads its source) and throws here.
 */
export function fillPattern(spec: DataSpec, buf: Uint8Array, addr: number, place: FillPlace): void {
  switch (spec.kind) {
    case 'zero':
      buf.fill(0);
      return;
    case 'byte':
      buf.fill(spec.value);
      return;
    case 'word':
      fillWord(buf, addr, spec.value);
      return;
    case 'pattern': {
      const p = spec.bytes;
      let phase = (addr - place.writeStart) % p.length;
      for (let i = 0; i < buf.length; i++) {
        buf[i] = p[phase]!;
        if (++phase === p.length) phase = 0;
      }
      return;
    }
    case 'random':
    case 'text':
    case 'mix':
      forEachPagePiece(buf, addr, place, (k, piece, pageOffset) => fillPage(spec, k, piece, pageOffset, place));
      return;
    case 'copy':
      throw new Error('fillPattern: a copy is read from its source, not generated');
    default:
      throw new Error(`fillPattern: unknown pattern ${String((spec as { kind: unknown }).kind)}`);
  }
}

/** Calls fn for each part of buf that lies in one page: the page's index k in the write, the part, and its offset in the page. */
function forEachPagePiece(
  buf: Uint8Array,
  addr: number,
  place: FillPlace,
  fn: (k: number, piece: Uint8Array, pageOffset: number) => void,
): void {
  const ps = place.pageSize;
  const firstPage = Math.floor(place.writeStart / ps);
  let done = 0;
  while (done < buf.length) {
    const a = addr + done;
    const pageOffset = a % ps;
    const n = Math.min(ps - pageOffset, buf.length - done);
    fn(Math.floor(a / ps) - firstPage, buf.subarray(done, done + n), pageOffset);
    done += n;
  }
}

/** Fills `piece` with bytes [pageOffset, pageOffset + piece.length) of the pattern's page k. */
function fillPage(spec: DataSpec, k: number, piece: Uint8Array, pageOffset: number, place: FillPlace): void {
  switch (spec.kind) {
    case 'random': {
      const which = spec.distinct === undefined ? k : k % spec.distinct;
      randomBytes(mix32(spec.seed, which), piece, pageOffset);
      return;
    }
    case 'text':
      textBytes(mix32(spec.seed ^ 0x5bd1e995, k), piece, pageOffset);
      return;
    case 'mix': {
      const part = choosePart(spec, k);
      const pageStart = (Math.floor(place.writeStart / place.pageSize) + k) * place.pageSize;
      fillPattern(part, piece, pageStart + pageOffset, place);
      return;
    }
    default: {
      const pageStart = (Math.floor(place.writeStart / place.pageSize) + k) * place.pageSize;
      fillPattern(spec, piece, pageStart + pageOffset, place);
    }
  }
}

function choosePart(spec: Extract<DataSpec, { kind: 'mix' }>, k: number): DataSpec {
  let total = 0;
  for (const p of spec.parts) total += p.weight;
  let x = (mix32(spec.seed ^ 0x27d4eb2f, k) / 0x1_0000_0000) * total;
  for (const p of spec.parts) {
    if (x < p.weight) return p.data;
    x -= p.weight;
  }
  return spec.parts[spec.parts.length - 1]!.data;
}

function fillWord(buf: Uint8Array, addr: number, word: bigint): void {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, word, true);
  let phase = addr % 8;
  for (let i = 0; i < buf.length; i++) {
    buf[i] = bytes[phase]!;
    phase = (phase + 1) & 7;
  }
}

/** A 32-bit hash of (seed, index) (murmur3's finaliser over both), the seed of one page's generator. */
export function mix32(seed: number, index: number): number {
  let h =
    (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((index >>> 0) + Math.floor(index / 0x1_0000_0000), 0x85ebca77)) >>>
    0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32 from `state`: bytes [from, from + out.length) of the page's stream. */
function randomBytes(state: number, out: Uint8Array, from: number): void {
  let word = 0;
  const next = mulberry32(state);
  // Skip to the word holding byte `from`.
  for (let w = 0; w < Math.floor(from / 4); w++) next();
  let pos = from;
  if (pos % 4 !== 0) word = next();
  for (let i = 0; i < out.length; i++, pos++) {
    if (pos % 4 === 0) word = next();
    out[i] = (word >>> ((pos % 4) * 8)) & 0xff;
  }
}

/** Words (a small vocabulary, as text and logs have), so pages compress as text does with LZ4 (about 2:1). */
const WORDS = (
  'the of and to in is that for it as with was on be by at this from or an which are not have had but ' +
  'memory page frame process kernel swap zero shared copy write read cache file map fault table data ' +
  'system user time value number error request response server client buffer index store load merge'
).split(' ');

function textBytes(state: number, out: Uint8Array, from: number): void {
  const next = mulberry32(state);
  let pos = 0;
  let i = 0;
  const need = from + out.length;
  while (pos < need) {
    const s = next();
    const w = WORDS[(s >>> 8) % WORDS.length]!;
    for (let c = 0; c <= w.length && pos < need; c++, pos++) {
      if (pos < from) continue;
      out[i++] = c === w.length ? ((s & 0xf) === 0 ? 0x0a : 0x20) : w.charCodeAt(c);
    }
  }
}
