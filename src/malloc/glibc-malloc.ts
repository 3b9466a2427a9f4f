/**
 * GlibcMalloc: the public face of the allocator model. malloc, calloc,
 * realloc and free return and take addresses (numbers; 0 is NULL), as
 * glibc 2.36's __libc_malloc, __libc_calloc, __libc_realloc and __libc_free
 * do in a single-threaded x86-64 process. See arena.ts, sysmalloc.ts and
 * calloc.ts for the rules, and docs/notes/malloc.md for what is exact and
 * what is approximated.
 *
 *   const heap = new GlibcMalloc(host, { callocMode: 'on-commit' });
 *   const p = heap.calloc(256, 4096);
 *   heap.free(p);
 */
import { SimulationError } from '../errors.js';
import { MainArena, defaultParams, type MallocParams } from './arena.js';
import { checkArena } from './check.js';
import { cloneArena } from './fork.js';
import { type CallocMode, CALLOC_MODES, clearCallocBlock, glibcClearLength } from './calloc.js';
import {
  CHUNK_HDR_SZ,
  type Chunk,
  DEFAULT_MMAP_THRESHOLD_MAX,
  IS_MMAPPED,
  MAX_FAST_SIZE,
  MINSIZE,
  SIZE_SZ,
  TCACHE_MAX_BINS,
  TCACHE_STRUCT_BYTES,
  request2size,
  tcacheIndex,
} from './chunk.js';
import type { HeapHost } from './host.js';
import { intRealloc } from './realloc.js';
import { mremapChunk, munmapChunk, systrim } from './sysmalloc.js';

export interface GlibcMallocOptions {
  /** How calloc zeroes (see calloc.ts). Default 'glibc'. */
  callocMode?: CallocMode;
  /**
   * M_MMAP_THRESHOLD in bytes, 0..32 MiB. Default 128 KiB, and dynamic:
   * freeing an mmapped chunk larger than the threshold (up to 32 MiB) raises
   * it to that chunk's size and the trim threshold to twice that. Setting
   * this, trimThreshold, topPad or mmapMax turns the dynamic rule off, as
   * mallopt does.
   */
  mmapThreshold?: number;
  /** M_TRIM_THRESHOLD: top chunk size that makes free() shrink the break. Default 128 KiB. */
  trimThreshold?: number;
  /** M_TOP_PAD: extra bytes each sbrk asks for and each trim keeps. Default 128 KiB. */
  topPad?: number;
  /** M_MMAP_MAX: most mmapped chunks at once; 0 disables the mmap path. Default 65536. */
  mmapMax?: number;
  /** M_MXFAST: largest request served by fastbins, 0..160. Default 120 (chunks up to 128 bytes). */
  maxFast?: number;
  /** glibc.malloc.tcache_count: chunks per tcache bin, 0..65535. Default 7; 0 disables the tcache. */
  tcacheCount?: number;
}

export type MalloptParam = 'M_MMAP_THRESHOLD' | 'M_TRIM_THRESHOLD' | 'M_TOP_PAD' | 'M_MMAP_MAX' | 'M_MXFAST';

/** mallinfo2(), with glibc's field names and meanings. */
export interface Mallinfo2 {
  /** Bytes of the brk heap (system_mem). */
  arena: number;
  /** Free chunks in bins, plus the top chunk. */
  ordblks: number;
  /** Free chunks in fastbins. */
  smblks: number;
  /** Mmapped chunks. */
  hblks: number;
  /** Bytes in mmapped chunks. */
  hblkhd: number;
  /** Arena bytes in use (tcache chunks count as in use). */
  uordblks: number;
  /** Arena bytes free: bins, fastbins and top. */
  fordblks: number;
  /** Bytes in fastbins. */
  fsmblks: number;
  /** Size of the top chunk (what malloc_trim could release at most). */
  keepcost: number;
}

export interface MallocStats {
  /** Bytes of the brk heap glibc holds now, and at most. */
  arenaBytes: number;
  maxArenaBytes: number;
  /** Arena bytes in chunks held by the program (chunk sizes, headers included). */
  inUseBytes: number;
  inUseChunks: number;
  /** Arena bytes free in bins, fastbins, tcache and top. */
  freeBytes: number;
  topBytes: number;
  mmappedChunks: number;
  mmappedBytes: number;
  /** Break changes (sbrk with a non-zero increment), of which trims. */
  brkCalls: number;
  trims: number;
  mmapCalls: number;
  munmapCalls: number;
  mremapCalls: number;
  callocCalls: number;
  /** Bytes calloc wrote with zeros, and bytes it discarded to the zero page (on-commit). */
  callocBytesZeroed: number;
  callocBytesDiscarded: number;
  /** Current thresholds (they move with the dynamic rule). */
  mmapThreshold: number;
  trimThreshold: number;
}

/** sizeof (struct malloc_chunk): prev_size, size, fd, bk, fd_nextsize, bk_nextsize. */
const MALLOC_CHUNK_STRUCT = 48;

export class GlibcMalloc {
  readonly callocMode: CallocMode;
  private av: MainArena;
  private callocCalls = 0;
  private callocBytesZeroed = 0;
  private callocBytesDiscarded = 0;

  constructor(
    readonly host: HeapHost,
    options: GlibcMallocOptions = {},
  ) {
    this.callocMode = options.callocMode ?? 'glibc';
    if (!CALLOC_MODES.includes(this.callocMode)) {
      throw new SimulationError('E_MALLOC_OPTION', `unknown calloc mode "${String(this.callocMode)}"`);
    }
    this.av = new MainArena(host, defaultParams());
    const settings: Array<[MalloptParam, number | undefined]> = [
      ['M_MMAP_THRESHOLD', options.mmapThreshold],
      ['M_TRIM_THRESHOLD', options.trimThreshold],
      ['M_TOP_PAD', options.topPad],
      ['M_MMAP_MAX', options.mmapMax],
      ['M_MXFAST', options.maxFast],
    ];
    for (const [param, value] of settings) {
      if (value !== undefined && !this.mallopt(param, value)) {
        throw new SimulationError('E_MALLOC_OPTION', `${param} ${value} is out of range`, {
          field: param,
          actual: value,
        });
      }
    }
    if (options.tcacheCount !== undefined) {
      if (!Number.isInteger(options.tcacheCount) || options.tcacheCount < 0 || options.tcacheCount > 65535) {
        throw new SimulationError('E_MALLOC_OPTION', `tcacheCount ${options.tcacheCount} is out of range`);
      }
      this.av.params.tcacheCount = options.tcacheCount;
    }
  }

  /** The parameters now in force (mp_). */
  get params(): Readonly<MallocParams> {
    return this.av.params;
  }

  malloc(bytes: number): number {
    const nb = request2size(bytes);
    if (nb === undefined) return 0;
    this.initTcache();
    const tcIdx = tcacheIndex(nb);
    const tcache = this.av.tcache;
    if (tcache && tcIdx < TCACHE_MAX_BINS && tcache[tcIdx]!.length > 0) return this.av.tcacheGet(tcIdx).mem;
    return this.av.intMalloc(nb)?.mem ?? 0;
  }

  calloc(count: number, size: number): number {
    const bytes = count * size;
    if (!Number.isSafeInteger(bytes) || bytes < 0) return 0;
    const nb = request2size(bytes);
    if (nb === undefined) return 0;
    this.initTcache();
    const av = this.av;
    // glibc 2.36 compares with the top chunk's size only (see calloc.ts).
    const oldTop = av.top;
    const oldTopSize = oldTop ? oldTop.size : 0;
    const p = av.intMalloc(nb);
    if (p === null) return 0;
    const glibcLength = glibcClearLength({
      mmapped: p.state === 'mmapped',
      chunkAddr: p.addr,
      chunkSize: p.size,
      oldTopAddr: oldTop ? oldTop.addr : null,
      oldTopSize,
    });
    const done = clearCallocBlock(this.host, this.callocMode, p.mem, bytes, glibcLength);
    this.callocCalls++;
    this.callocBytesZeroed += done.zeroed;
    this.callocBytesDiscarded += done.discarded;
    return p.mem;
  }

  free(mem: number): void {
    if (mem === 0) return;
    const p = this.chunkOf(mem, 'free');
    const av = this.av;
    if (p.state === 'mmapped') {
      const params = av.params;
      // chunksize_nomask includes the IS_MMAPPED bit in both comparisons.
      const sizeWithFlags = p.size + IS_MMAPPED;
      if (
        !params.noDynThreshold &&
        sizeWithFlags > params.mmapThreshold &&
        sizeWithFlags <= DEFAULT_MMAP_THRESHOLD_MAX
      ) {
        params.mmapThreshold = p.size;
        params.trimThreshold = 2 * p.size;
      }
      munmapChunk(av, p);
      return;
    }
    this.initTcache();
    av.intFree(p);
  }

  realloc(mem: number, bytes: number): number {
    if (bytes === 0 && mem !== 0) {
      this.free(mem);
      return 0;
    }
    if (mem === 0) return this.malloc(bytes);
    const oldp = this.chunkOf(mem, 'realloc');
    if (oldp.state !== 'mmapped') this.initTcache();
    const nb = request2size(bytes);
    if (nb === undefined) return 0;
    const av = this.av;

    if (oldp.state === 'mmapped') {
      const moved = mremapChunk(av, oldp, nb);
      if (moved) return moved.mem;
      if (oldp.size - SIZE_SZ >= nb) return mem;
      const fresh = this.malloc(bytes);
      if (fresh === 0) return 0;
      this.host.copy(fresh, mem, oldp.size - CHUNK_HDR_SZ);
      munmapChunk(av, oldp);
      return fresh;
    }
    return intRealloc(av, oldp, nb)?.mem ?? 0;
  }

  /** malloc_usable_size. */
  usableSize(mem: number): number {
    if (mem === 0) return 0;
    const p = this.chunkOf(mem, 'malloc_usable_size');
    return p.state === 'mmapped' ? p.size - CHUNK_HDR_SZ : p.size - SIZE_SZ;
  }

  /** mallopt: false if the value is refused (glibc returns 0). */
  mallopt(param: MalloptParam, value: number): boolean {
    if (!Number.isSafeInteger(value) || value < 0) return false;
    const params = this.av.params;
    this.av.consolidate();
    switch (param) {
      case 'M_MMAP_THRESHOLD':
        if (value > DEFAULT_MMAP_THRESHOLD_MAX) return false; // HEAP_MAX_SIZE / 2
        params.mmapThreshold = value;
        break;
      case 'M_TRIM_THRESHOLD':
        params.trimThreshold = value;
        break;
      case 'M_TOP_PAD':
        params.topPad = value;
        break;
      case 'M_MMAP_MAX':
        params.mmapMax = value;
        break;
      case 'M_MXFAST':
        if (value > MAX_FAST_SIZE) return false;
        params.maxFast = value === 0 ? MINSIZE / 2 : value + SIZE_SZ - ((value + SIZE_SZ) % 16);
        return true;
      default:
        throw new SimulationError('E_MALLOC_OPTION', `unknown mallopt parameter ${String(param)}`);
    }
    params.noDynThreshold = true;
    return true;
  }

  /**
   * malloc_trim(pad): consolidates, discards the whole pages inside free
   * chunks (MADV_DONTNEED), then trims the top chunk down to `pad`.
   */
  mallocTrim(pad = 0): boolean {
    const av = this.av;
    av.consolidate();
    const ps = this.host.pageSize;
    let result = false;
    const firstBin = 99; // bin_index(4096): smaller bins cannot hold a whole page
    for (let i = 1; i < av.bins.length; i++) {
      if (i !== 1 && i < firstBin) continue;
      for (const c of av.bins[i]!) {
        if (c.size <= ps - 1 + MALLOC_CHUNK_STRUCT) continue;
        // The first whole page past the chunk's header and links.
        const pagedMem = Math.ceil((c.addr + MALLOC_CHUNK_STRUCT) / ps) * ps;
        const size = c.size - (pagedMem - c.addr);
        if (size >= ps) {
          this.host.discard(pagedMem, size - (size % ps));
          result = true;
        }
      }
    }
    return systrim(av, pad) || result;
  }

  mallinfo2(): Mallinfo2 {
    const av = this.av;
    const top = av.top ? av.top.size : 0;
    let fsmblks = 0;
    let smblks = 0;
    for (const fb of av.fastbins)
      for (const c of fb) {
        smblks++;
        fsmblks += c.size;
      }
    let ordblks = 1;
    let binned = 0;
    for (let i = 1; i < av.bins.length; i++)
      for (const c of av.bins[i]!) {
        ordblks++;
        binned += c.size;
      }
    const fordblks = top + fsmblks + binned;
    return {
      arena: av.systemMem,
      ordblks,
      smblks,
      hblks: av.mmapped.size,
      hblkhd: av.mmappedMem,
      uordblks: av.systemMem - fordblks,
      fordblks,
      fsmblks,
      keepcost: top,
    };
  }

  stats(): MallocStats {
    const av = this.av;
    let inUseBytes = 0;
    let inUseChunks = 0;
    let freeBytes = 0;
    for (const c of av.chunks.values()) {
      if (c.state === 'inuse') {
        inUseBytes += c.size;
        inUseChunks++;
      } else if (c.state !== 'internal') freeBytes += c.size;
    }
    return {
      arenaBytes: av.systemMem,
      maxArenaBytes: av.maxSystemMem,
      inUseBytes,
      inUseChunks,
      freeBytes,
      topBytes: av.top ? av.top.size : 0,
      mmappedChunks: av.mmapped.size,
      mmappedBytes: av.mmappedMem,
      ...av.counters,
      callocCalls: this.callocCalls,
      callocBytesZeroed: this.callocBytesZeroed,
      callocBytesDiscarded: this.callocBytesDiscarded,
      mmapThreshold: av.params.mmapThreshold,
      trimThreshold: av.params.trimThreshold,
    };
  }

  /**
   * fork(2): the child's allocator, a copy of this one's state (same blocks
   * at the same addresses) over the child's memory. Statistics start at 0.
   */
  fork(childHost: HeapHost): GlibcMalloc {
    const child = new GlibcMalloc(childHost, { callocMode: this.callocMode });
    child.av = cloneArena(this.av, childHost);
    return child;
  }

  /** Checks the model's invariants (see check.ts); throws InternalError if one is broken. */
  check(): void {
    checkArena(this.av);
  }

  /** The chunk behind a block held by the program: its size and whether it has its own mapping. */
  chunkAt(mem: number): { size: number; mmapped: boolean } | undefined {
    const p = this.av.chunks.get(mem - CHUNK_HDR_SZ) ?? this.av.mmapped.get(mem - CHUNK_HDR_SZ);
    if (p === undefined || (p.state !== 'inuse' && p.state !== 'mmapped')) return undefined;
    return { size: p.size, mmapped: p.state === 'mmapped' };
  }

  /** tcache_init: the first call allocates tcache_perthread_struct (a 0x290 chunk) and clears it. */
  private initTcache(): void {
    const av = this.av;
    if (av.tcache !== null) return;
    const nb = request2size(TCACHE_STRUCT_BYTES)!;
    const p = av.intMalloc(nb);
    if (p === null) return;
    p.state = 'internal';
    this.host.writeZero(p.mem, TCACHE_STRUCT_BYTES);
    av.tcache = Array.from({ length: TCACHE_MAX_BINS }, () => [] as Chunk[]);
  }

  private chunkOf(mem: number, caller: string): Chunk {
    const p = this.av.chunks.get(mem - CHUNK_HDR_SZ) ?? this.av.mmapped.get(mem - CHUNK_HDR_SZ);
    if (p && (p.state === 'inuse' || p.state === 'mmapped')) return p;
    const why =
      p === undefined
        ? 'invalid pointer'
        : p.state === 'tcache'
          ? 'double free detected in tcache 2'
          : p.state === 'fastbin' || p.state === 'bin'
            ? 'double free or corruption'
            : 'invalid pointer';
    throw new SimulationError('E_MALLOC_BAD_POINTER', `${caller}(): ${why} 0x${mem.toString(16)}`, {
      field: caller,
      actual: mem,
    });
  }
}
