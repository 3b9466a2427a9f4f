/**
 * Codec 'zstd' as the container stores it (requiredFlags bit 2, FORMAT.md
 * "zstd pages"): one zstd block per page, without the bytes every frame of
 * a page repeats, behind a one-byte tag.
 *
 *   stored bytes = tag, then the Block_Content of the page's single block
 *   tag bits 0-1   Block_Type: 1 RLE (content 1 byte), 2 compressed
 *   tag bits 2-3   branch filter (branch-filter.ts): 0 none, 1 x86, 2 AArch64, 3 x86-64
 *   tag bits 4-7   reserved, 0
 *
 * The standard frame is rebuilt on read: magic 28 B5 2F FD, descriptor
 * 0x60 (single segment, 2-byte Frame_Content_Size, no checksum, no
 * dictionary), pageSize - 256 as u16, and a 3-byte block header (last
 * block, the tag's type, Block_Size = stored length - 1, or pageSize for
 * RLE), then the content. That frame is what `zstd -d` reads; decoding it
 * gives the page with its branch filter applied, which is then undone.
 * Compared with storing the frame, this saves 9 bytes per page; the filter
 * saves about 8.8% on pages of x86-64 code (docs/notes/zstd-size.md).
 */
import { ContainerError } from '../errors.js';
import type { PageCodec } from './codec.js';
import { type BranchFilter, decodeBranches, encodeBranches } from './branch-filter.js';
import { ZSTD_MAGIC } from './zstd-frame.js';
import { ZstdCodec } from './zstd.js';

export const TAG_TYPE_RLE = 1;
export const TAG_TYPE_COMPRESSED = 2;
const FRAME_HEADER = 7;
const BLOCK_HEADER = 3;
const MIN_PAGE = 256;
const MAX_PAGE = 65536;

function fail(problem: string, actual?: unknown): never {
  throw new ContainerError('E_ZSTD', `zstd page: ${problem}`, { field: 'zstd page', actual });
}

/** The frame header and block header the stored form leaves out, for a page of pageSize bytes. */
export function zstdFramePrefix(pageSize: number, type: number, blockSize: number): Uint8Array {
  const fcs = pageSize - 256;
  const header = 1 | (type << 1) | (blockSize << 3);
  return Uint8Array.of(
    ZSTD_MAGIC & 0xff,
    (ZSTD_MAGIC >>> 8) & 0xff,
    (ZSTD_MAGIC >>> 16) & 0xff,
    ZSTD_MAGIC >>> 24,
    0x60,
    fcs & 0xff,
    fcs >>> 8,
    header & 0xff,
    (header >>> 8) & 0xff,
    header >>> 16,
  );
}

function isOneByte(page: Uint8Array): boolean {
  const first = page[0];
  for (let i = 1; i < page.length; i++) if (page[i] !== first) return false;
  return true;
}

export class ZstdPageCodec implements PageCodec {
  readonly name = 'zstd' as const;
  private readonly frames: ZstdCodec;
  private scratch = new Uint8Array(0);
  private frame = new Uint8Array(0);

  constructor(level?: number) {
    this.frames = new ZstdCodec(level);
  }

  get level(): number {
    return this.frames.level;
  }

  /**
   * Compresses src (one page) into dst as a tag and one block, with branch
   * filter `filter` applied first. Returns a length above src.length when
   * the page does not come out as one RLE or compressed block (the caller
   * then stores it raw).
   */
  compress(src: Uint8Array, dst: Uint8Array, filter: BranchFilter = 0): number {
    // The rebuilt frame's 2-byte content size holds 256..65791: every page size (4, 16 and 64 KiB).
    if (src.length < MIN_PAGE || src.length > MAX_PAGE) return src.length + 1;
    let input = src;
    if (filter !== 0) {
      if (this.scratch.length < src.length) this.scratch = new Uint8Array(src.length);
      input = this.scratch.subarray(0, src.length);
      input.set(src);
      encodeBranches(filter, input);
    }
    if (isOneByte(input)) {
      // libzstd writes a compressed block even here; an RLE block is 2 stored bytes.
      if (dst.length >= 2) {
        dst[0] = TAG_TYPE_RLE | (filter << 2);
        dst[1] = input[0]!;
      }
      return 2;
    }
    if (this.frame.length < src.length + 64) this.frame = new Uint8Array(src.length + 64);
    const n = this.frames.compress(input, this.frame);
    if (n > this.frame.length) return src.length + 1;
    const f = this.frame;
    // The frame's shape as libzstd writes a page: single segment, 2-byte size, no checksum, one last block.
    if (f[4] !== 0x60 || (f[5]! | (f[6]! << 8)) + 256 !== src.length) return src.length + 1;
    const header = f[7]! | (f[8]! << 8) | (f[9]! << 16);
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    const content = type === TAG_TYPE_RLE ? 1 : size;
    const last = header & 1;
    if (!last || (type !== TAG_TYPE_RLE && type !== TAG_TYPE_COMPRESSED)) return src.length + 1;
    if (FRAME_HEADER + BLOCK_HEADER + content !== n) return src.length + 1;
    const stored = 1 + content;
    if (stored <= dst.length) {
      dst[0] = type | (filter << 2);
      dst.set(f.subarray(FRAME_HEADER + BLOCK_HEADER, n), 1);
    }
    return stored;
  }

  /** Decodes one stored page into exactly dst.length bytes; throws ContainerError 'E_ZSTD' otherwise. */
  decompress(src: Uint8Array, dst: Uint8Array): void {
    if (dst.length < MIN_PAGE || dst.length > MAX_PAGE) fail(`no tagged form for ${dst.length}-byte pages`, dst.length);
    if (src.length < 2) fail(`${src.length} bytes is shorter than a tag and a block`, src.length);
    const tag = src[0]!;
    if (tag & 0xf0) fail(`reserved bits of tag 0x${tag.toString(16).padStart(2, '0')} are set`, tag);
    const type = tag & 3;
    const filter = ((tag >>> 2) & 3) as BranchFilter;
    if (type !== TAG_TYPE_RLE && type !== TAG_TYPE_COMPRESSED) fail(`block type ${type} in the tag`, type);
    if (type === TAG_TYPE_RLE && src.length !== 2) fail(`RLE page of ${src.length} bytes, expected 2`, src.length);
    const blockSize = type === TAG_TYPE_RLE ? dst.length : src.length - 1;
    const need = FRAME_HEADER + BLOCK_HEADER + src.length - 1;
    if (this.frame.length < need) this.frame = new Uint8Array(Math.max(need, dst.length + 64));
    const frame = this.frame.subarray(0, need);
    frame.set(zstdFramePrefix(dst.length, type, blockSize));
    frame.set(src.subarray(1), FRAME_HEADER + BLOCK_HEADER);
    this.frames.decompress(frame, dst);
    decodeBranches(filter, dst);
  }
}
