/**
 * Constants of the LZ4 block format, as the specification names them
 * (lz4/doc/lz4_Block_format.md, and lz4.c for MFLIMIT and LASTLITERALS).
 *
 * A block is a series of sequences. Each sequence is a token byte (high
 * nibble: literal length, low nibble: match length minus MINMATCH), optional
 * length bytes when a nibble is 15 (each adds its value; 255 means another
 * follows), the literals, a 2-byte little-endian offset (1..65535) and
 * optional match length bytes. The last sequence has literals only.
 *
 * End-of-block rules, which the reference decoder (LZ4_decompress_safe)
 * enforces and so do we:
 * - the last LASTLITERALS (5) bytes of the output are literals;
 * - the last match starts at least MFLIMIT (12) bytes before the end;
 * - so an input shorter than 13 bytes cannot contain a match.
 */

export const MINMATCH = 4;
export const LASTLITERALS = 5;
export const MFLIMIT = 12;
/** Smallest input that can hold a match (MFLIMIT + 1). */
export const LZ4_MIN_LENGTH = MFLIMIT + 1;
/** Largest match offset the 2-byte field can hold. */
export const MAX_DISTANCE = 65535;
/** A length nibble of 15 means that length bytes follow. */
export const RUN_MASK = 15;
export const ML_MASK = 15;

/**
 * Worst-case size of a compressed block for n input bytes: a literal-only
 * block is 1 token + ceil((n - 14) / 255) length bytes + n literals; this is
 * LZ4_COMPRESSBOUND from lz4.h, which covers it with room to spare.
 */
export function compressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/**
 * Writes a literal-only last sequence for src[anchor, end) at dst[op] and
 * returns the new output position. Used by both encoders for the tail of a
 * block, and for inputs too short or too random to hold a match.
 */
export function writeLastLiterals(src: Uint8Array, anchor: number, end: number, dst: Uint8Array, op: number): number {
  const literalLength = end - anchor;
  if (literalLength >= RUN_MASK) {
    dst[op++] = RUN_MASK << 4;
    let rest = literalLength - RUN_MASK;
    for (; rest >= 255; rest -= 255) dst[op++] = 255;
    dst[op++] = rest;
  } else {
    dst[op++] = literalLength << 4;
  }
  dst.set(src.subarray(anchor, end), op);
  return op + literalLength;
}
