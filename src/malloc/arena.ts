/**
 * The main arena of glibc 2.36's malloc, single-threaded: _int_malloc,
 * _int_free, malloc_consolidate and the tcache, following malloc/malloc.c
 * step by step so that chunk addresses come out as glibc's do.
 *
 * Order is part of the behaviour and is kept: tcache and fastbins are LIFO
 * stacks; the unsorted bin takes new chunks at the front and is scanned from
 * the back; small bins hold one size, filled at the front and taken from the
 * back; large bins are sorted by size (see BinList.insertSorted); the
 * `last_remainder` rule for runs of small requests is applied.
 *
 * Metadata writes glibc makes into the heap (size fields, the next chunk's
 * prev_size and PREV_INUSE bit, fd/bk links, tcache entries) are reported to
 * the host as 8-byte stores, so a page holding a chunk header is written
 * even if the program never touches it. Stores into *neighbouring* free
 * chunks while relinking a list are not reported (those chunks were written
 * when they were linked).
 */
import { SimulationError } from '../errors.js';
import type { HeapHost } from './host.js';
import {
  BinList,
  Chunk,
  DEFAULT_MAX_FAST,
  DEFAULT_MMAP_MAX,
  DEFAULT_MMAP_THRESHOLD,
  DEFAULT_TOP_PAD,
  DEFAULT_TRIM_THRESHOLD,
  FASTBIN_CONSOLIDATION_THRESHOLD,
  MAX_ITERS,
  MINSIZE,
  NBINS,
  NFASTBINS,
  PREV_INUSE,
  TCACHE_FILL_COUNT,
  TCACHE_MAX_BINS,
  fastbinIndex,
  inSmallbinRange,
  largebinIndex,
  smallbinIndex,
  tcacheIndex,
} from './chunk.js';
import { sysmalloc, systrim } from './sysmalloc.js';

/** mp_: the tunable parameters. */
export interface MallocParams {
  mmapThreshold: number;
  trimThreshold: number;
  topPad: number;
  mmapMax: number;
  /** global_max_fast: largest chunk size that goes to a fastbin. */
  maxFast: number;
  /** tcache_count: chunks per tcache bin (0 disables the tcache's use). */
  tcacheCount: number;
  /** Set by mallopt of a threshold: freeing mmapped chunks no longer moves them. */
  noDynThreshold: boolean;
}

export function defaultParams(): MallocParams {
  return {
    mmapThreshold: DEFAULT_MMAP_THRESHOLD,
    trimThreshold: DEFAULT_TRIM_THRESHOLD,
    topPad: DEFAULT_TOP_PAD,
    mmapMax: DEFAULT_MMAP_MAX,
    maxFast: DEFAULT_MAX_FAST,
    tcacheCount: TCACHE_FILL_COUNT,
    noDynThreshold: false,
  };
}

/** A made-up address for main_arena in libc's .data, used only as fd/bk values of bin heads. */
const MAIN_ARENA_ADDRESS = 0x7ffff7e19c80;

export class MainArena {
  /** Every chunk of the arena (not mmapped ones) by address, top included. */
  readonly chunks = new Map<number, Chunk>();
  /** Chunks in bins by end address: the prev_size lookup of backward coalescing. */
  private readonly freeByEnd = new Map<number, Chunk>();
  /** bins[1] unsorted, [2..63] small, [64..126] large. */
  readonly bins: BinList[] = [];
  readonly fastbins: Chunk[][] = [];
  /** tcache->entries as stacks (last element = head); null until tcache_init. */
  tcache: Chunk[][] | null = null;
  haveFastchunks = false;
  /** av->last_remainder, an address as in glibc (compared, never dereferenced). */
  lastRemainder = 0;
  /** av->top; null before the first sysmalloc (initial_top). */
  top: Chunk | null = null;
  contiguous = true;
  /** mp_.sbrk_base: the break glibc first got; null until then. */
  sbrkBase: number | null = null;
  systemMem = 0;
  maxSystemMem = 0;
  /** Mmapped chunks by address. */
  readonly mmapped = new Map<number, Chunk>();
  mmappedMem = 0;
  readonly counters = { brkCalls: 0, trims: 0, mmapCalls: 0, munmapCalls: 0, mremapCalls: 0 };

  constructor(
    readonly host: HeapHost,
    readonly params: MallocParams,
  ) {
    for (let i = 0; i < NBINS; i++) this.bins.push(new BinList(i, MAIN_ARENA_ADDRESS + 0x60 + 16 * i));
    for (let i = 0; i < NFASTBINS; i++) this.fastbins.push([]);
  }

  get unsorted(): BinList {
    return this.bins[1]!;
  }

  // ---------------------------------------------------------------- chunks

  addChunk(addr: number, size: number, state: Chunk['state']): Chunk {
    const c = new Chunk(addr, size, state);
    this.chunks.set(addr, c);
    return c;
  }

  dropChunk(c: Chunk): void {
    this.chunks.delete(c.addr);
  }

  /** The chunk that starts where `c` ends (next_chunk). */
  nextChunk(c: Chunk): Chunk {
    const next = this.chunks.get(c.end);
    if (!next) throw new SimulationError('E_MALLOC_INTERNAL', `no chunk after 0x${c.addr.toString(16)}`);
    return next;
  }

  /** set_head: the size word at chunk + 8. */
  writeHead(c: Chunk, flags = PREV_INUSE): void {
    this.host.storeWord(c.addr + 8, c.size + flags);
  }

  /** set_foot: the size into the next chunk's prev_size word. */
  writeFoot(c: Chunk): void {
    this.host.storeWord(c.end, c.size);
  }

  /** set_inuse_bit_at_offset / clear_inuse_bit_at_offset: rewrites the next chunk's size word. */
  writeNextHead(c: Chunk): void {
    const next = this.chunks.get(c.end);
    if (next) this.writeHead(next);
  }

  /** Makes `c` the top chunk. */
  setTop(c: Chunk): void {
    c.state = 'top';
    this.top = c;
  }

  // ------------------------------------------------------------------ bins

  private linkIntoBin(bin: BinList, c: Chunk, where: 'front' | 'sorted'): void {
    if (where === 'front') bin.insertFront(c);
    else bin.insertSorted(c);
    c.state = 'bin';
    this.freeByEnd.set(c.end, c);
    this.host.storeWord(c.addr + 16, c.fd!.addr);
    this.host.storeWord(c.addr + 24, c.bk!.addr);
    if (!inSmallbinRange(c.size)) {
      this.host.storeWord(c.addr + 32, 0);
      this.host.storeWord(c.addr + 40, 0);
    }
  }

  /** unlink_chunk. */
  unlink(c: Chunk): void {
    if (!c.bin) throw new SimulationError('E_MALLOC_INTERNAL', `chunk 0x${c.addr.toString(16)} is in no bin`);
    c.bin.remove(c);
    this.freeByEnd.delete(c.end);
  }

  /** Puts a free chunk at the front of the unsorted bin (set_head + set_foot). */
  toUnsorted(c: Chunk): void {
    this.linkIntoBin(this.unsorted, c, 'front');
    this.writeHead(c);
    this.writeFoot(c);
  }

  /** Records a chunk linked into a bin by other means than linkIntoBin (fork). */
  noteFree(c: Chunk): void {
    this.freeByEnd.set(c.end, c);
  }

  /** The chunk ending at `c`'s start if it is free in a bin (!prev_inuse). */
  freePrevious(c: Chunk): Chunk | undefined {
    return this.freeByEnd.get(c.addr);
  }

  /** Splits `c` at `nb`: the remainder is a new free chunk at the front of the unsorted bin. */
  private splitToUnsorted(c: Chunk, nb: number): Chunk {
    const remainder = this.addChunk(c.addr + nb, c.size - nb, 'bin');
    c.size = nb;
    this.toUnsorted(remainder);
    this.writeHead(c);
    return remainder;
  }

  // ---------------------------------------------------------------- tcache

  tcachePut(c: Chunk, idx: number): void {
    const bin = this.tcache![idx]!;
    const next = bin[bin.length - 1];
    bin.push(c);
    c.state = 'tcache';
    this.host.storeWord(c.mem, next ? next.mem : 0);
    this.host.storeWord(c.mem + 8, MAIN_ARENA_ADDRESS); // e->key = tcache_key
  }

  tcacheGet(idx: number): Chunk {
    const c = this.tcache![idx]!.pop()!;
    c.state = 'inuse';
    this.host.storeWord(c.mem + 8, 0); // e->key = 0
    return c;
  }

  /** Whether chunk size `nb` has a tcache bin with room. */
  private tcacheHasRoom(idx: number): boolean {
    return this.tcache !== null && idx < TCACHE_MAX_BINS && this.tcache[idx]!.length < this.params.tcacheCount;
  }

  // --------------------------------------------------------------- malloc

  /** _int_malloc for a normalized size `nb`; null when memory is exhausted. */
  intMalloc(nb: number): Chunk | null {
    const tcIdx = tcacheIndex(nb);

    if (nb <= this.params.maxFast) {
      const fb = this.fastbins[fastbinIndex(nb)]!;
      const victim = fb.pop();
      if (victim) {
        while (this.tcacheHasRoom(tcIdx) && fb.length > 0) this.tcachePut(fb.pop()!, tcIdx);
        victim.state = 'inuse';
        return victim;
      }
    }

    let idx: number;
    if (inSmallbinRange(nb)) {
      idx = smallbinIndex(nb);
      const bin = this.bins[idx]!;
      const victim = bin.last;
      if (victim) {
        this.unlink(victim);
        this.takeWhole(victim);
        for (let c = bin.last; c !== null && this.tcacheHasRoom(tcIdx); c = bin.last) {
          this.unlink(c);
          this.writeNextHead(c);
          this.tcachePut(c, tcIdx);
        }
        return victim;
      }
    } else {
      idx = largebinIndex(nb);
      if (this.haveFastchunks) this.consolidate();
    }

    const tcacheNb = this.tcache !== null && tcIdx < TCACHE_MAX_BINS;
    let returnCached = false;

    for (;;) {
      let iters = 0;
      for (let victim = this.unsorted.last; victim !== null; victim = this.unsorted.last) {
        const size = victim.size;
        if (
          inSmallbinRange(nb) &&
          this.unsorted.first === victim &&
          victim.addr === this.lastRemainder &&
          size > nb + MINSIZE
        ) {
          this.unlink(victim);
          const remainder = this.splitToUnsorted(victim, nb);
          this.lastRemainder = remainder.addr;
          victim.state = 'inuse';
          return victim;
        }
        this.unlink(victim);
        if (size === nb) {
          if (tcacheNb && this.tcacheHasRoom(tcIdx)) {
            this.writeNextHead(victim);
            this.tcachePut(victim, tcIdx);
            returnCached = true;
            continue;
          }
          this.takeWhole(victim);
          return victim;
        }
        if (inSmallbinRange(size)) this.linkIntoBin(this.bins[smallbinIndex(size)]!, victim, 'front');
        else this.linkIntoBin(this.bins[largebinIndex(size)]!, victim, 'sorted');
        if (++iters >= MAX_ITERS) break;
      }
      if (returnCached) return this.tcacheGet(tcIdx);

      if (!inSmallbinRange(nb)) {
        const victim = this.bestFitInLargeBin(this.bins[idx]!, nb);
        if (victim) return this.takeFromBin(victim, nb, false);
      }

      for (let i = idx + 1; i < NBINS; i++) {
        const victim = this.bins[i]!.last;
        if (victim) return this.takeFromBin(victim, nb, inSmallbinRange(nb));
      }

      const top = this.top;
      if (top && top.size >= nb + MINSIZE) return this.splitTop(nb);
      if (this.haveFastchunks) {
        this.consolidate();
        idx = inSmallbinRange(nb) ? smallbinIndex(nb) : largebinIndex(nb);
        continue;
      }
      return sysmalloc(this, nb);
    }
  }

  /**
   * The smallest chunk of at least `nb` in a large bin: the first of its size
   * run, or the second when the run has two (so the nextsize links stay).
   */
  private bestFitInLargeBin(bin: BinList, nb: number): Chunk | null {
    const first = bin.first;
    if (first === null || first.size < nb) return null;
    let best = bin.last!;
    while (best.size < nb) best = best.bk!;
    // `best` is the last chunk of its size run; go to the run's first.
    while (best.bk !== bin.head && best.bk!.size === best.size) best = best.bk!;
    if (best !== bin.last && best.fd!.size === best.size) best = best.fd!;
    return best;
  }

  /** Unlinks a bin chunk of size >= nb and either hands it out whole or splits off the rest. */
  private takeFromBin(victim: Chunk, nb: number, advertiseRemainder: boolean): Chunk {
    this.unlink(victim);
    if (victim.size - nb < MINSIZE) {
      this.takeWhole(victim);
    } else {
      const remainder = this.splitToUnsorted(victim, nb);
      if (advertiseRemainder) this.lastRemainder = remainder.addr;
      victim.state = 'inuse';
    }
    return victim;
  }

  /** A chunk leaves a bin whole: set_inuse_bit_at_offset on the next chunk. */
  private takeWhole(c: Chunk): void {
    c.state = 'inuse';
    this.writeNextHead(c);
  }

  /** Carves `nb` bytes off the front of the top chunk (which must be large enough). */
  splitTop(nb: number): Chunk {
    const top = this.top!;
    this.dropChunk(top);
    const victim = this.addChunk(top.addr, nb, 'inuse');
    const rest = this.addChunk(top.addr + nb, top.size - nb, 'top');
    this.top = rest;
    this.writeHead(victim);
    this.writeHead(rest);
    return victim;
  }

  // ----------------------------------------------------------------- free

  /** _int_free of an arena chunk (not mmapped). */
  intFree(p: Chunk): void {
    const tcIdx = tcacheIndex(p.size);
    if (this.tcacheHasRoom(tcIdx)) {
      this.tcachePut(p, tcIdx);
      return;
    }

    if (p.size <= this.params.maxFast) {
      const fb = this.fastbins[fastbinIndex(p.size)]!;
      const old = fb[fb.length - 1];
      fb.push(p);
      p.state = 'fastbin';
      this.haveFastchunks = true;
      this.host.storeWord(p.mem, old ? old.addr : 0);
      return;
    }

    const size = this.coalesce(p);
    if (size >= FASTBIN_CONSOLIDATION_THRESHOLD) {
      if (this.haveFastchunks) this.consolidate();
      if (this.top && this.top.size >= this.params.trimThreshold) systrim(this, this.params.topPad);
    }
  }

  /**
   * Merges a chunk with free neighbours and puts the result in the unsorted
   * bin, or into the top chunk. Returns the merged size (glibc's `size`
   * after consolidation, which counts the top chunk when merged into it).
   */
  private coalesce(chunk: Chunk): number {
    let p = chunk;
    const next = this.nextChunk(p);
    const prev = this.freePrevious(p);
    if (prev) {
      this.unlink(prev);
      this.dropChunk(p);
      prev.size += p.size;
      p = prev;
    }
    if (next !== this.top) {
      if (next.state === 'bin') {
        this.unlink(next);
        this.dropChunk(next);
        p.size += next.size;
      } else {
        this.writeHead(next, 0); // clear_inuse_bit_at_offset
      }
      this.toUnsorted(p);
      return p.size;
    }
    this.dropChunk(next);
    p.size += next.size;
    this.setTop(p);
    this.writeHead(p);
    return p.size;
  }

  /** malloc_consolidate: frees every fastbin chunk for real, coalescing. */
  consolidate(): void {
    this.haveFastchunks = false;
    for (const fb of this.fastbins) {
      // From the bin's head (the most recently freed chunk) to its tail.
      const chunks = fb.splice(0).reverse();
      for (const c of chunks) this.coalesce(c);
    }
  }
}
