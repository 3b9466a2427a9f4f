/**
 * The strict LZ4 block walk: checks that a block decodes to exactly one
 * page under the rules of LZ4_decompress_safe with the page size as
 * capacity (offset 0 refused too), without decoding it. For decoders that
 * do not check (lz4js's decompressBlock); the WebAssembly decoder
 * (src/codec/lz4-wasm.ts) applies the same rules and words its errors the
 * same way (src/codec/lz4-errors.ts).
 */
import { ContainerError } from '../errors.js';
import { LASTLITERALS, MFLIMIT, MINMATCH, ML_MASK, RUN_MASK, compressBound } from './lz4-block.js';

/** Input bytes a non-last sequence leaves after its literals: offset (2), a token (1), 5 last literals. */
const MIN_TAIL = 2 + 1 + LASTLITERALS;

function fail(problem: string, offset: number, expected?: unknown, actual?: unknown): never {
  throw new ContainerError('E_LZ4', `LZ4 block: ${problem} (block byte ${offset})`, {
    field: 'lz4 block',
    offset,
    expected,
    actual,
  });
}

/** An empty output is the one-byte block 0x00, as LZ4_decompress_safe has it. */
function checkEmptyBlock(src: Uint8Array): void {
  if (src.length !== 1 || src[0] !== 0)
    fail('an empty page must be the one-byte block 0x00', 0, '00', Buffer.from(src.subarray(0, 8)).toString('hex'));
}

/**
 * Checks that the LZ4 block src decodes to exactly outputLength bytes under
 * the same rules as decodeLz4Block, without decoding it. Throws the same
 * errors.
 */
export function checkLz4Block(src: Uint8Array, outputLength: number): void {
  const srcLength = src.length;
  if (srcLength > compressBound(outputLength)) {
    fail(
      `block of ${srcLength} bytes is longer than any block for a ${outputLength}-byte page`,
      0,
      `<= ${compressBound(outputLength)}`,
      srcLength,
    );
  }
  if (outputLength === 0) {
    checkEmptyBlock(src);
    return;
  }
  const lastLiteralsFrom = outputLength - MFLIMIT;
  const matchEndLimit = outputLength - LASTLITERALS;
  let ip = 0;
  let op = 0;

  for (;;) {
    if (ip >= srcLength) fail(ip === 0 ? 'empty block' : 'block ends after a match, without its last literals', ip);
    const token = src[ip++]!;
    let literalLength = token >>> 4;
    if (literalLength === RUN_MASK) {
      let b: number;
      do {
        if (ip >= srcLength) fail('literal length runs past the end of the block', ip);
        b = src[ip++]!;
        literalLength += b;
      } while (b === 255);
    }
    if (ip + literalLength > srcLength) {
      fail(`${literalLength} literals run past the end of the block`, ip, `<= ${srcLength - ip}`, literalLength);
    }
    if (op + literalLength > outputLength) {
      fail(`literals run past the end of the page`, ip, `<= ${outputLength}`, op + literalLength);
    }
    ip += literalLength;
    op += literalLength;

    if (ip === srcLength) {
      if (op !== outputLength) fail(`block decodes to ${op} bytes, expected ${outputLength}`, ip, outputLength, op);
      return;
    }
    if (op > lastLiteralsFrom)
      fail(`a match starts within the last ${MFLIMIT} bytes of the page`, ip, `<= ${lastLiteralsFrom}`, op);
    if (srcLength - ip < MIN_TAIL)
      fail(
        `block ends ${srcLength - ip} bytes after literals that are not the last`,
        ip,
        `>= ${MIN_TAIL}`,
        srcLength - ip,
      );
    const offset = src[ip]! | (src[ip + 1]! << 8);
    if (offset === 0) fail('match offset 0', ip);
    if (offset > op) fail(`match offset ${offset} reaches before the start of the page`, ip, `<= ${op}`, offset);
    ip += 2;
    let matchLength = token & ML_MASK;
    if (matchLength === ML_MASK) {
      let b: number;
      do {
        if (ip >= srcLength) fail('match length runs past the end of the block', ip);
        b = src[ip++]!;
        matchLength += b;
      } while (b === 255);
    }
    op += matchLength + MINMATCH;
    if (op > matchEndLimit) {
      fail('match runs into the last 5 bytes of the page', ip, `<= ${matchEndLimit}`, op);
    }
  }
}
