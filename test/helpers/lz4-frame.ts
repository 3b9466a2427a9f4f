/**
 * The minimal LZ4 frame (lz4/doc/lz4_Frame_format.md), only so that our
 * blocks can be checked by the `lz4` CLI and its blocks by our decoder.
 * Containers store bare blocks, never frames.
 *
 * Frame: magic 0x184D2204 (LE), FLG, BD, [content size 8], [dictionary id 4],
 * HC = (xxh32(descriptor, 0) >> 8) & 0xff, then blocks: a 4-byte LE size
 * (bit 31 set: stored uncompressed), [4-byte block checksum], the data; an
 * EndMark (size 0); [4-byte content checksum].
 */
import xxhash from 'xxhash-wasm';

export const LZ4_FRAME_MAGIC = 0x184d2204;

const FLG_VERSION = 0x40;
const FLG_VERSION_MASK = 0xc0;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BLOCK_UNCOMPRESSED = 0x80000000;

/** Block maximum size by BD id (4..7). */
const BLOCK_MAX_SIZE: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

export interface FrameBlock {
  data: Uint8Array;
  /** False when the block holds its bytes as they are (size bit 31 set). */
  compressed: boolean;
}

let xxhashApi: ReturnType<typeof xxhash> | undefined;

/**
 * A frame of independent blocks, no checksums except the header's.
 * `largest` is the largest decoded size of any block; the block maximum size
 * in BD is the smallest that holds it and every block's stored size.
 */
export async function encodeLz4Frame(blocks: readonly FrameBlock[], largest: number): Promise<Uint8Array> {
  const { h32Raw } = await (xxhashApi ??= xxhash());
  let needed = largest;
  let total = 4 + 3 + 4;
  for (const block of blocks) {
    needed = Math.max(needed, block.data.length);
    total += 4 + block.data.length;
  }
  const id = [4, 5, 6, 7].find((i) => BLOCK_MAX_SIZE[i]! >= needed);
  if (id === undefined) throw new RangeError(`LZ4 frame: a block of ${needed} bytes exceeds 4 MiB`);

  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, LZ4_FRAME_MAGIC, true);
  frame[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENCE;
  frame[5] = id << 4;
  frame[6] = (h32Raw(frame.subarray(4, 6), 0) >>> 8) & 0xff;
  let at = 7;
  for (const block of blocks) {
    view.setUint32(at, block.data.length | (block.compressed ? 0 : BLOCK_UNCOMPRESSED), true);
    frame.set(block.data, at + 4);
    at += 4 + block.data.length;
  }
  view.setUint32(at, 0, true);
  return frame;
}

function frameError(problem: string, offset: number): Error {
  return new Error(`LZ4 frame: ${problem} (frame byte ${offset})`);
}

/**
 * Splits one LZ4 frame into its blocks (views into `frame`), checking the
 * header checksum and every bound. Checksums of blocks and content are
 * skipped, not verified.
 */
export async function decodeLz4FrameBlocks(frame: Uint8Array): Promise<{ blocks: FrameBlock[]; blockMaxSize: number }> {
  const { h32Raw } = await (xxhashApi ??= xxhash());
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 7) throw frameError('shorter than a frame header', 0);
  if (view.getUint32(0, true) !== LZ4_FRAME_MAGIC) throw frameError('bad magic', 0);
  const flg = frame[4]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION) throw frameError(`unsupported version in FLG 0x${flg.toString(16)}`, 4);
  const id = (frame[5]! >>> 4) & 7;
  const blockMaxSize = BLOCK_MAX_SIZE[id];
  if (blockMaxSize === undefined) throw frameError(`unknown block maximum size id ${id}`, 5);
  let at = 6;
  if (flg & FLG_CONTENT_SIZE) at += 8;
  if (flg & FLG_DICT_ID) at += 4;
  if (at + 1 > frame.length) throw frameError('truncated frame descriptor', at);
  if (((h32Raw(frame.subarray(4, at), 0) >>> 8) & 0xff) !== frame[at]) throw frameError('header checksum mismatch', at);
  at += 1;

  const blocks: FrameBlock[] = [];
  for (;;) {
    if (at + 4 > frame.length) throw frameError('truncated block size', at);
    const word = view.getUint32(at, true);
    at += 4;
    if (word === 0) break;
    const size = word & ~BLOCK_UNCOMPRESSED;
    if (size > blockMaxSize) throw frameError(`block of ${size} bytes exceeds the maximum ${blockMaxSize}`, at - 4);
    if (at + size > frame.length) throw frameError('truncated block', at);
    blocks.push({ data: frame.subarray(at, at + size), compressed: (word & BLOCK_UNCOMPRESSED) === 0 });
    at += size;
    if (flg & FLG_BLOCK_CHECKSUM) at += 4;
  }
  if (flg & FLG_CONTENT_CHECKSUM) at += 4;
  if (at > frame.length) throw frameError('truncated content checksum', at);
  return { blocks, blockMaxSize };
}
