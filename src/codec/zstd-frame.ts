/**
 * The strict walk of one Zstandard frame holding one page (RFC 8878,
 * section 3.1.1), made before a frame is handed to the decoder:
 * - the magic number 28 B5 2F FD; no skippable frame, no dictionary ID;
 * - a Frame_Content_Size field equal to the page size (so the decoder's
 *   output buffer is sized by the page, never by what a header claims);
 * - blocks (3-byte headers, raw, RLE or compressed, each at most 128 KiB)
 *   up to the one marked last, then the 4-byte checksum if the header
 *   announces one, ending exactly at the end of the stored bytes.
 * So a stored page is exactly one frame; the decoder then checks the
 * compressed blocks themselves and the decoded size.
 */
import { ContainerError } from '../errors.js';

export const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_SIZE_MAX = 128 * 1024;

function fail(problem: string, offset: number, expected?: unknown, actual?: unknown): never {
  throw new ContainerError('E_ZSTD', `zstd frame: ${problem} (frame byte ${offset})`, {
    field: 'zstd frame',
    offset,
    expected,
    actual,
  });
}

/** Checks that src is exactly one zstd frame declaring pageSize bytes of content; throws ContainerError 'E_ZSTD'. */
export function checkZstdFrame(src: Uint8Array, pageSize: number): void {
  const n = src.length;
  if (n < 4 + 1 + 3) fail(`${n} bytes is shorter than any frame`, 0, '>= 8', n);
  const magic = (src[0]! | (src[1]! << 8) | (src[2]! << 16) | (src[3]! << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC)
    fail(
      `magic ${magic.toString(16).padStart(8, '0')} is not a zstd frame's`,
      0,
      ZSTD_MAGIC.toString(16),
      magic.toString(16),
    );
  const descriptor = src[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const reserved = (descriptor >> 3) & 1;
  const hasChecksum = (descriptor >> 2) & 1;
  const dictFlag = descriptor & 3;
  if (reserved !== 0) fail('reserved bit of the frame header descriptor is set', 4);
  if (dictFlag !== 0) fail('frame names a dictionary', 4);
  let at = 5;
  if (singleSegment === 0) at++; // Window_Descriptor
  const fcsBytes = [singleSegment, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) fail('frame does not declare its content size', 4);
  if (at + fcsBytes > n) fail('frame header runs past the end of the stored bytes', at);
  let contentSize = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + src[at + i]!;
  if (fcsBytes === 2) contentSize += 256;
  if (contentSize !== pageSize)
    fail(`frame content size ${contentSize}, expected ${pageSize}`, at, pageSize, contentSize);
  at += fcsBytes;
  for (;;) {
    if (at + 3 > n) fail('block header runs past the end of the stored bytes', at);
    const header = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) fail('reserved block type', at);
    if (size > BLOCK_SIZE_MAX) fail(`block size ${size} above 128 KiB`, at, `<= ${BLOCK_SIZE_MAX}`, size);
    at += 3;
    const content = type === 1 ? 1 : size;
    if (at + content > n)
      fail(`block of ${content} bytes runs past the end of the stored bytes`, at, `<= ${n - at}`, content);
    at += content;
    if (last) break;
  }
  if (hasChecksum) at += 4;
  if (at !== n) fail(`frame ends at byte ${at} of ${n} stored bytes`, Math.min(at, n), n, at);
}
