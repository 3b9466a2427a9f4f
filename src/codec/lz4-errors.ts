/**
 * The words of LZ4 decoding errors: the WebAssembly decoder (assembly/lz4.ts)
 * returns a kind, the byte offset in the block and one value; these turn
 * them into ContainerError 'E_LZ4', with the same messages as the check walk
 * (checkLz4Block), so every decoder in the project says the same thing
 * about the same block.
 */
import { ContainerError } from '../errors.js';
import { LASTLITERALS, MFLIMIT, compressBound } from './lz4-block.js';

/** Input bytes a non-last sequence leaves after its literals: offset (2), a token (1), 5 last literals. */
const MIN_TAIL = 2 + 1 + LASTLITERALS;

function error(problem: string, offset: number, expected?: unknown, actual?: unknown): ContainerError {
  return new ContainerError('E_LZ4', `LZ4 block: ${problem} (block byte ${offset})`, {
    field: 'lz4 block',
    offset,
    expected,
    actual,
  });
}

/**
 * The checks made before a block is decoded: its length against the bound,
 * and the empty page. Returns true when the block is the (valid) empty page;
 * throws when it cannot be a block for this page.
 */
export function checkBlockLength(src: Uint8Array, dstLength: number): boolean {
  if (src.length > compressBound(dstLength)) {
    throw error(
      `block of ${src.length} bytes is longer than any block for a ${dstLength}-byte page`,
      0,
      `<= ${compressBound(dstLength)}`,
      src.length,
    );
  }
  if (dstLength !== 0) return false;
  if (src.length !== 1 || src[0] !== 0) {
    throw error(
      'an empty page must be the one-byte block 0x00',
      0,
      '00',
      Buffer.from(src.subarray(0, 8)).toString('hex'),
    );
  }
  return true;
}

/** The error for a decoder result `kind` (assembly/lz4.ts, E_* constants). */
export function lz4DecodeError(
  kind: number,
  at: number,
  value: number,
  decoded: number,
  srcLength: number,
  dstLength: number,
): ContainerError {
  switch (kind) {
    case 1:
      return error('empty block', at);
    case 2:
      return error('block ends after a match, without its last literals', at);
    case 3:
      return error('literal length runs past the end of the block', at);
    case 4:
      return error(`${value} literals run past the end of the block`, at, `<= ${srcLength - at}`, value);
    case 5:
      return error('literals run past the end of the page', at, `<= ${dstLength}`, value);
    case 6:
      return error(`block decodes to ${value} bytes, expected ${dstLength}`, at, dstLength, value);
    case 7:
      return error(
        `a match starts within the last ${MFLIMIT} bytes of the page`,
        at,
        `<= ${dstLength - MFLIMIT}`,
        value,
      );
    case 8:
      return error(`block ends ${value} bytes after literals that are not the last`, at, `>= ${MIN_TAIL}`, value);
    case 9:
      return error('match offset 0', at);
    case 10:
      return error(`match offset ${value} reaches before the start of the page`, at, `<= ${decoded}`, value);
    case 11:
      return error('match length runs past the end of the block', at);
    case 12:
      return error('match runs into the last 5 bytes of the page', at, `<= ${dstLength - LASTLITERALS}`, value);
    default:
      return error(`decoder error ${kind}`, at);
  }
}
