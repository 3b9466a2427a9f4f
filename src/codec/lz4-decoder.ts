/**
 * A safe LZ4 block decoder for untrusted input (container pages).
 *
 * Standard LZ4 block format (lz4-block.ts). The decoded size is known in
 * advance (one page), and the block must decode to exactly that size. Every
 * length and offset is checked before a byte moves, so the decoder never
 * reads past the block nor writes past the page, and its work is bounded by
 * src.length + dst.length: it cannot hang. Any violation throws
 * ContainerError 'E_LZ4' naming the problem and the byte offset in the block.
 *
 * The rules are those of the reference decoder, LZ4_decompress_safe:
 * - a sequence whose literals end less than MFLIMIT (12) bytes before the
 *   end of the output, or with fewer than 8 input bytes after its literals,
 *   must be the last one, and must end the input exactly;
 * - offsets are 1..(bytes already decoded): more reaches before the page,
 *   and 0 is corrupt by the format specification (liblz4 1.9.4 alone
 *   accepts it, copying whatever its output buffer held: we refuse it);
 * - a match may not reach into the last LASTLITERALS (5) output bytes;
 * - the block ends with a literal-only sequence;
 * - an empty page is the one-byte block 0x00.
 * So we accept exactly the blocks LZ4_decompress_safe accepts with the exact
 * page size as capacity, offset 0 aside: test/codec-fuzz.test.ts checks it
 * case by case on random, synthesized and corrupted blocks, and
 * test/codec-native.test.ts on real blocks of liblz4, the CLI and lz4js.
 *
 * checkLz4Block walks the same sequences without copying, for decoders that
 * do not check (lz4js's decompressBlock).
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
  if (src.length !== 1 || src[0] !== 0) fail('an empty page must be the one-byte block 0x00', 0, '00', Buffer.from(src.subarray(0, 8)).toString('hex'));
}

/** Pages up to this size decode without growing the work buffer. */
const DEFAULT_CAPACITY = 64 * 1024;
/** Slack after each region: the 4-byte copies may run up to 3 bytes past a run. */
const PAD = 8;

/**
 * Decodes blocks through a work buffer that holds the block (from 0) and
 * the page being rebuilt (from outStart), so that literals and matches move
 * 4 bytes at a time through one long-lived DataView. The page is copied to
 * the caller's dst only once it has decoded completely and exactly.
 */
export class Lz4BlockDecoder {
  private bytes = new Uint8Array(0);
  private view = new DataView(this.bytes.buffer);
  private outStart = 0;
  private capacity = 0;

  constructor() {
    this.allocate(DEFAULT_CAPACITY);
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.outStart = compressBound(capacity) + PAD;
    this.bytes = new Uint8Array(this.outStart + capacity + PAD);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Decodes the LZ4 block src into dst; throws ContainerError 'E_LZ4' unless it fills dst exactly. */
  decode(src: Uint8Array, dst: Uint8Array): void {
    const srcLength = src.length;
    const dstLength = dst.length;
    // No valid block for dstLength bytes is longer than the bound: refuse before copying anything.
    if (srcLength > compressBound(dstLength)) {
      fail(`block of ${srcLength} bytes is longer than any block for a ${dstLength}-byte page`, 0, `<= ${compressBound(dstLength)}`, srcLength);
    }
    if (dstLength === 0) return checkEmptyBlock(src);
    if (dstLength > this.capacity) this.allocate(dstLength);
    const bytes = this.bytes;
    const view = this.view;
    bytes.set(src);

    const outStart = this.outStart;
    const outEnd = outStart + dstLength;
    /** Literals ending after this must belong to the last sequence. */
    const lastLiteralsFrom = outEnd - MFLIMIT;
    /** No match may end after this. */
    const matchEndLimit = outEnd - LASTLITERALS;
    let ip = 0;
    let op = outStart;

    for (;;) {
      if (ip >= srcLength) fail(ip === 0 ? 'empty block' : 'block ends after a match, without its last literals', ip);
      const token = bytes[ip++]!;

      // Literal length, then the literals.
      let literalLength = token >>> 4;
      if (literalLength === RUN_MASK) {
        let b: number;
        do {
          if (ip >= srcLength) fail('literal length runs past the end of the block', ip);
          b = bytes[ip++]!;
          literalLength += b;
        } while (b === 255);
      }
      if (ip + literalLength > srcLength) {
        fail(`${literalLength} literals run past the end of the block`, ip, `<= ${srcLength - ip}`, literalLength);
      }
      const literalEnd = op + literalLength;
      if (literalEnd > outEnd) {
        fail('literals run past the end of the page', ip, `<= ${dstLength}`, literalEnd - outStart);
      }
      for (let i = ip, o = op; o < literalEnd; i += 4, o += 4) view.setInt32(o, view.getInt32(i, true), true);
      ip += literalLength;
      op = literalEnd;

      if (ip === srcLength) {
        if (op !== outEnd) fail(`block decodes to ${op - outStart} bytes, expected ${dstLength}`, ip, dstLength, op - outStart);
        dst.set(bytes.subarray(outStart, outEnd));
        return;
      }
      if (op > lastLiteralsFrom) fail(`a match starts within the last ${MFLIMIT} bytes of the page`, ip, `<= ${lastLiteralsFrom - outStart}`, op - outStart);
      if (srcLength - ip < MIN_TAIL) fail(`block ends ${srcLength - ip} bytes after literals that are not the last`, ip, `>= ${MIN_TAIL}`, srcLength - ip);

      // Offset, match length, then the match (it may overlap its own output).
      const offset = bytes[ip]! | (bytes[ip + 1]! << 8);
      if (offset === 0) fail('match offset 0', ip);
      if (offset > op - outStart) {
        fail(`match offset ${offset} reaches before the start of the page`, ip, `<= ${op - outStart}`, offset);
      }
      ip += 2;
      let matchLength = token & ML_MASK;
      if (matchLength === ML_MASK) {
        let b: number;
        do {
          if (ip >= srcLength) fail('match length runs past the end of the block', ip);
          b = bytes[ip++]!;
          matchLength += b;
        } while (b === 255);
      }
      const matchEnd = op + matchLength + MINMATCH;
      if (matchEnd > matchEndLimit) {
        fail('match runs into the last 5 bytes of the page', ip, `<= ${matchEndLimit - outStart}`, matchEnd - outStart);
      }
      let ref = op - offset;
      if (offset >= 4) {
        // Each 4-byte read lies wholly before the write position: already decoded.
        for (; op < matchEnd; op += 4, ref += 4) view.setInt32(op, view.getInt32(ref, true), true);
      } else {
        for (; op < matchEnd; op++, ref++) bytes[op] = bytes[ref]!;
      }
      op = matchEnd;
    }
  }
}

const sharedDecoder = new Lz4BlockDecoder();

/** Decodes the LZ4 block src into dst with a module-wide decoder; throws unless it fills dst exactly. */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array): void {
  sharedDecoder.decode(src, dst);
}

/**
 * Checks that the LZ4 block src decodes to exactly outputLength bytes under
 * the same rules as decodeLz4Block, without decoding it. Throws the same
 * errors.
 */
export function checkLz4Block(src: Uint8Array, outputLength: number): void {
  const srcLength = src.length;
  if (srcLength > compressBound(outputLength)) {
    fail(`block of ${srcLength} bytes is longer than any block for a ${outputLength}-byte page`, 0, `<= ${compressBound(outputLength)}`, srcLength);
  }
  if (outputLength === 0) return checkEmptyBlock(src);
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
    if (op > lastLiteralsFrom) fail(`a match starts within the last ${MFLIMIT} bytes of the page`, ip, `<= ${lastLiteralsFrom}`, op);
    if (srcLength - ip < MIN_TAIL) fail(`block ends ${srcLength - ip} bytes after literals that are not the last`, ip, `>= ${MIN_TAIL}`, srcLength - ip);
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
