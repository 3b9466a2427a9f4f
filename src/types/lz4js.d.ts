/**
 * Types for lz4js 0.2 (plain JavaScript, CommonJS, ships no types).
 * Only the block functions pagestack uses are declared; see
 * node_modules/lz4js/lz4.js for their behaviour.
 */
declare module 'lz4js' {
  /** Upper bound of a compressed block: (n + n/255 + 16) | 0. */
  export function compressBound(n: number): number;

  /**
   * Compresses src[sIndex, sIndex+sLength) into dst from index 0 and returns
   * the compressed length, or 0 when it found no match at all (the caller
   * must then store the bytes as a literal-only block itself). The hash table
   * (65536 entries) must be all zeros on entry: lz4js stores position+1 and
   * trusts every non-zero entry.
   */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;

  /**
   * Decodes the block src[sIndex, sIndex+sLength) into dst from dIndex and
   * returns the index after the last byte written. It checks nothing: not the
   * output size, not the offsets, not the input bounds.
   */
  export function decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
}
