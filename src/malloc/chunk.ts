/**
 * Chunks and bins of glibc's malloc (malloc/malloc.c, glibc 2.36), x86-64.
 *
 * A chunk starts 16 bytes (CHUNK_HDR_SZ) before the pointer malloc returns:
 * prev_size at +0 (used only while the previous chunk is free), size and
 * flag bits at +8, user data from +16. The next chunk's prev_size word is
 * usable by an in-use chunk, so a chunk of size S holds S - 8 user bytes.
 *
 * The model keeps chunk metadata in JavaScript objects, not in simulated
 * memory; GlibcMalloc reports the stores glibc makes to it through
 * HeapHost.storeWord so the host sees which pages are written.
 */

export const SIZE_SZ = 8;
export const CHUNK_HDR_SZ = 16;
export const MALLOC_ALIGNMENT = 16;
export const MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1;
/** Smallest chunk: header plus fd and bk. */
export const MINSIZE = 32;

/** Size-field flag bits. */
export const PREV_INUSE = 1;
export const IS_MMAPPED = 2;

/** Bins: 1 is the unsorted bin, 2..63 small bins (one size each), 64..126 large bins. */
export const NBINS = 128;
export const NSMALLBINS = 64;
export const MIN_LARGE_SIZE = NSMALLBINS * MALLOC_ALIGNMENT; // 1024
/** Fastbins hold chunk sizes 32..176 (MAX_FAST_SIZE 160 → request2size 176). */
export const NFASTBINS = 10;
/** Largest request mallopt(M_MXFAST) accepts. */
export const MAX_FAST_SIZE = 160;
/** DEFAULT_MXFAST 128 → global_max_fast 128: chunks of 32..128 bytes go to fastbins. */
export const DEFAULT_MAX_FAST = 128;
/** Freeing a chunk that coalesces to at least this size consolidates fastbins and may trim. */
export const FASTBIN_CONSOLIDATION_THRESHOLD = 65536;

/** tcache: 64 bins of chunk sizes 32..1040 (requests up to 1032 bytes), 7 chunks each. */
export const TCACHE_MAX_BINS = 64;
export const TCACHE_FILL_COUNT = 7;
/** sizeof(tcache_perthread_struct): uint16_t counts[64] + tcache_entry *entries[64]. */
export const TCACHE_STRUCT_BYTES = 2 * TCACHE_MAX_BINS + 8 * TCACHE_MAX_BINS;

export const DEFAULT_MMAP_THRESHOLD = 128 * 1024;
/** DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: 4 MiB * sizeof(long). */
export const DEFAULT_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024;
export const DEFAULT_TRIM_THRESHOLD = 128 * 1024;
/** glibc's effective default M_TOP_PAD (tunable glibc.malloc.top_pad). */
export const DEFAULT_TOP_PAD = 128 * 1024;
export const DEFAULT_MMAP_MAX = 65536;
/** sysmalloc's fallback mmap when sbrk fails is at least this large. */
export const MMAP_AS_MORECORE_SIZE = 1024 * 1024;
/** malloc_consolidate / unsorted scan gives up after this many chunks in one pass. */
export const MAX_ITERS = 10000;

/**
 * request2size: the chunk size for a request of `bytes`, or undefined when
 * the request is too large (checked_request2size fails: more than
 * PTRDIFF_MAX, here more than Number.MAX_SAFE_INTEGER).
 */
export function request2size(bytes: number): number | undefined {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > Number.MAX_SAFE_INTEGER - 64) return undefined;
  if (bytes + SIZE_SZ + MALLOC_ALIGN_MASK < MINSIZE) return MINSIZE;
  return alignDown(bytes + SIZE_SZ + MALLOC_ALIGN_MASK, MALLOC_ALIGNMENT);
}

export function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export function alignDown(value: number, to: number): number {
  return Math.floor(value / to) * to;
}

export function inSmallbinRange(size: number): boolean {
  return size < MIN_LARGE_SIZE;
}

export function smallbinIndex(size: number): number {
  return size >>> 4;
}

/** largebin_index_64. */
export function largebinIndex(size: number): number {
  const steps: ReadonlyArray<readonly [number, number, number]> = LARGEBIN_STEPS;
  for (const [shift, limit, base] of steps) {
    const q = Math.floor(size / 2 ** shift);
    if (q <= limit) return base + q;
  }
  return 126;
}

/** largebin_index_64 as (shift, limit, base): index = base + (size >> shift) while (size >> shift) <= limit. */
const LARGEBIN_STEPS = [
  [6, 48, 48],
  [9, 20, 91],
  [12, 10, 110],
  [15, 4, 119],
  [18, 2, 124],
] as const;

export function binIndex(size: number): number {
  return inSmallbinRange(size) ? smallbinIndex(size) : largebinIndex(size);
}

export function fastbinIndex(size: number): number {
  return (size >>> 4) - 2;
}

/** csize2tidx: tcache bin of a chunk size. */
export function tcacheIndex(size: number): number {
  return Math.floor((size - MINSIZE + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT);
}

/**
 * Where a chunk is. `inuse`: held by the program. `internal`: held by malloc
 * itself (the tcache_perthread_struct, sysmalloc's fenceposts). `tcache` and
 * `fastbin` chunks still count as in use for their neighbours (they are not
 * coalesced). `bin`: free, in the unsorted, a small or a large bin. `top`: the
 * top chunk. `mmapped`: a chunk with its own mapping.
 */
export type ChunkState = 'inuse' | 'internal' | 'tcache' | 'fastbin' | 'bin' | 'top' | 'mmapped' | 'head';

export class Chunk {
  /** Bin list links while state is 'bin' (and in list heads). */
  fd: Chunk | null = null;
  bk: Chunk | null = null;
  /** The bin the chunk is linked in. */
  bin: BinList | null = null;
  /** For mmapped chunks: bytes between the mapping's start and the chunk (prev_size). */
  mmapOffset = 0;

  constructor(
    public addr: number,
    public size: number,
    public state: ChunkState,
  ) {}

  /** chunk2mem: the address malloc returns. */
  get mem(): number {
    return this.addr + CHUNK_HDR_SZ;
  }

  get end(): number {
    return this.addr + this.size;
  }
}

/**
 * A bin: a circular doubly linked list through a head node, as in glibc.
 * `first` is bin->fd, `last` is bin->bk. The order matters: it decides
 * which equal chunk malloc takes.
 */
export class BinList {
  readonly head: Chunk;

  constructor(
    readonly index: number,
    /** A stand-in address of the bin head inside main_arena, stored as fd/bk values. */
    readonly headAddress: number,
  ) {
    this.head = new Chunk(headAddress, 0, 'head');
    this.head.fd = this.head;
    this.head.bk = this.head;
  }

  get first(): Chunk | null {
    return this.head.fd === this.head ? null : this.head.fd;
  }

  get last(): Chunk | null {
    return this.head.bk === this.head ? null : this.head.bk;
  }

  get isEmpty(): boolean {
    return this.head.fd === this.head;
  }

  /** Links `c` between `before` and `before.fd`. */
  insertAfter(before: Chunk, c: Chunk): void {
    const after = before.fd!;
    c.bk = before;
    c.fd = after;
    c.bin = this;
    before.fd = c;
    after.bk = c;
  }

  insertFront(c: Chunk): void {
    this.insertAfter(this.head, c);
  }

  remove(c: Chunk): void {
    c.bk!.fd = c.fd;
    c.fd!.bk = c.bk;
    c.fd = null;
    c.bk = null;
    c.bin = null;
  }

  /** Chunks from first to last. */
  *[Symbol.iterator](): IterableIterator<Chunk> {
    for (let c = this.head.fd!; c !== this.head; c = c.fd!) yield c;
  }

  /**
   * Inserts a chunk into a large bin, keeping glibc's order: sizes decrease
   * from first to last; a chunk of a size already present goes second in
   * that size's run (after the run's first chunk, which carries the
   * fd_nextsize/bk_nextsize links).
   */
  insertSorted(c: Chunk): void {
    const last = this.last;
    if (last === null || c.size < last.size) {
      this.insertAfter(this.head.bk!, c);
      return;
    }
    let node = this.head.fd!;
    while (c.size < node.size) node = node.fd!;
    if (c.size === node.size) this.insertAfter(node, c);
    else this.insertAfter(node.bk!, c);
  }
}
