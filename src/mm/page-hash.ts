/**
 * XXH32 (seed 0) of one page, synchronously, in plain JavaScript: the
 * content hash KSM's checksum, the merge-on-restore index and (unless the
 * caller injects XXH64) dedup-first use inside the Machine. The kernel's
 * calc_checksum() is xxhash() truncated to 32 bits; the model uses XXH32,
 * the same family, because xxhash-wasm can only be loaded asynchronously
 * and the Machine is synchronous. A hash only finds candidates: every
 * match is confirmed byte for byte, so its quality affects speed, never
 * results.
 *
 * The page length must be a multiple of 16 (every page size is). Pages
 * whose byte offset is not 4-aligned are copied into a scratch buffer
 * first. Checked against `xxhsum -H0` in test/mm-page-hash.test.ts.
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

let scratch = new Uint8Array(4096);

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** XXH32 of `page` with seed 0, as an unsigned 32-bit number. */
export function xxh32Page(page: Uint8Array): number {
  const len = page.length;
  if (len % 16 !== 0 || len === 0) throw new RangeError(`page length ${len} is not a positive multiple of 16`);
  let src = page;
  if (page.byteOffset % 4 !== 0) {
    if (scratch.length < len) scratch = new Uint8Array(len);
    scratch.set(page);
    src = scratch;
  }
  const w = new Uint32Array(src.buffer, src.byteOffset, len >>> 2);
  let v1 = (PRIME1 + PRIME2) | 0;
  let v2 = PRIME2 | 0;
  let v3 = 0;
  let v4 = -PRIME1 | 0;
  for (let i = 0; i < w.length; i += 4) {
    v1 = Math.imul(rotl((v1 + Math.imul(w[i]!, PRIME2)) | 0, 13), PRIME1);
    v2 = Math.imul(rotl((v2 + Math.imul(w[i + 1]!, PRIME2)) | 0, 13), PRIME1);
    v3 = Math.imul(rotl((v3 + Math.imul(w[i + 2]!, PRIME2)) | 0, 13), PRIME1);
    v4 = Math.imul(rotl((v4 + Math.imul(w[i + 3]!, PRIME2)) | 0, 13), PRIME1);
  }
  let h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  h = (h + len) | 0;
  // No tail: the length is a multiple of 16. Avalanche:
  h = Math.imul(h ^ (h >>> 15), PRIME2);
  h = Math.imul(h ^ (h >>> 13), PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The XXH32 of an all-zero page of `pageSize` bytes (KSM's zero_checksum). */
export function zeroPageChecksum(pageSize: number): number {
  return xxh32Page(new Uint8Array(pageSize));
}

// PRIME3..5 are only needed for tails shorter than 16 bytes, which pages never have.
void PRIME4;
void PRIME5;
