/**
 * Getting memory from the system and giving it back, as glibc 2.36's
 * sysmalloc, systrim, munmap_chunk and mremap_chunk do for the main arena
 * (malloc/malloc.c). MORECORE is sbrk: HeapHost.brk and HeapHost.setBrk.
 *
 * - nb >= mmap_threshold (and fewer than mmap_max mappings): the chunk gets
 *   its own mapping of ALIGN_UP(nb + SIZE_SZ, pagesize) bytes.
 * - Otherwise the break grows by ALIGN_UP(nb + top_pad + MINSIZE - old top
 *   size, pagesize) and the top chunk grows with it. The first time, and
 *   after a foreign sbrk, a second sbrk aligns the end to a page.
 * - If sbrk is refused, an mmap (a whole number of MiB) becomes the new top
 *   and the arena is no longer contiguous; the old top is fenced off and freed.
 * - systrim: when the top chunk exceeds trim_threshold after a free, the
 *   break shrinks so that top_pad bytes (plus less than a page) remain.
 */
import { SimulationError } from '../errors.js';
import type { MainArena } from './arena.js';
import {
  CHUNK_HDR_SZ,
  Chunk,
  IS_MMAPPED,
  MALLOC_ALIGNMENT,
  MINSIZE,
  MMAP_AS_MORECORE_SIZE,
  SIZE_SZ,
  alignDown,
  alignUp,
} from './chunk.js';

/** sbrk(increment): the old break, or null (MORECORE_FAILURE). */
function morecore(av: MainArena, increment: number): number | null {
  const old = av.host.brk;
  if (increment === 0) return old;
  av.counters.brkCalls++;
  return av.host.setBrk(old + increment) ? old : null;
}

/** sysmalloc's mmap path: a chunk with a mapping of its own. */
export function mmapChunk(av: MainArena, nb: number): Chunk | null {
  const size = alignUp(nb + SIZE_SZ, av.host.pageSize);
  const mm = av.host.mmapAnon(size);
  if (mm === null) return null;
  av.counters.mmapCalls++;
  const p = new Chunk(mm, size, 'mmapped');
  av.host.storeWord(mm, 0); // prev_size = 0
  av.host.storeWord(mm + 8, size + IS_MMAPPED);
  av.mmapped.set(mm, p);
  av.mmappedMem += size;
  return p;
}

/** munmap_chunk. */
export function munmapChunk(av: MainArena, p: Chunk): void {
  const total = p.mmapOffset + p.size;
  av.mmapped.delete(p.addr);
  av.mmappedMem -= total;
  av.counters.munmapCalls++;
  av.host.munmap(p.addr - p.mmapOffset, total);
}

/** mremap_chunk: resizes a mapping for a new chunk size `nb`. Null if the host cannot. */
export function mremapChunk(av: MainArena, p: Chunk, nb: number): Chunk | null {
  if (!av.host.mremap) return null;
  const total = p.mmapOffset + p.size;
  const newTotal = alignUp(nb + p.mmapOffset + SIZE_SZ, av.host.pageSize);
  if (newTotal === total) return p;
  const block = av.host.mremap(p.addr - p.mmapOffset, total, newTotal);
  if (block === null) return null;
  av.counters.mremapCalls++;
  av.mmapped.delete(p.addr);
  av.mmappedMem += newTotal - total;
  p.addr = block + p.mmapOffset;
  p.size = newTotal - p.mmapOffset;
  av.mmapped.set(p.addr, p);
  av.host.storeWord(p.addr + 8, p.size + IS_MMAPPED);
  return p;
}

/** sysmalloc: top cannot serve `nb`; returns the chunk, or null (ENOMEM). */
export function sysmalloc(av: MainArena, nb: number): Chunk | null {
  const params = av.params;
  const pagesize = av.host.pageSize;
  if (nb >= params.mmapThreshold && av.mmapped.size < params.mmapMax) {
    const p = mmapChunk(av, nb);
    if (p) return p;
  }

  const oldTop = av.top;
  const oldSize = oldTop ? oldTop.size : 0;
  const oldEnd = oldTop ? oldTop.end : null;

  let size = nb + params.topPad + MINSIZE;
  if (av.contiguous) size -= oldSize;
  size = alignUp(size, pagesize);

  let brk: number | null = null;
  let sndBrk: number | null = null;
  if (size > 0) brk = morecore(av, size);
  if (brk === null) {
    // MORECORE failed: use mmap as a backup; the space is not contiguous.
    // glibc 2.35-2.36 pass (pagesize, MMAP_AS_MORECORE_SIZE) to
    // sysmalloc_mmap_fallback's parameters (minsize, pagesize): the first
    // time (still contiguous) the size is rounded up to a whole MiB, and the
    // 1 MiB minimum becomes one page (observed: a 3 MiB mmap for 2.1 MiB).
    if (av.contiguous) size = alignUp(size + oldSize, MMAP_AS_MORECORE_SIZE);
    if (size < pagesize) size = pagesize;
    if (size > nb) {
      const mbrk = av.host.mmapAnon(size);
      if (mbrk !== null) {
        av.counters.mmapCalls++;
        brk = mbrk;
        sndBrk = brk + size;
        av.contiguous = false;
      }
    }
  }

  if (brk !== null) {
    if (av.sbrkBase === null) av.sbrkBase = brk;
    av.systemMem += size;

    if (oldTop && brk === oldEnd && sndBrk === null) {
      oldTop.size = size + oldSize;
      av.writeHead(oldTop);
    } else if (av.contiguous && oldSize > 0 && oldEnd !== null && brk < oldEnd) {
      throw new SimulationError('E_MALLOC_CORRUPT', 'malloc: break adjusted to free malloc space');
    } else {
      let alignedBrk = brk;
      let correction = 0;
      if (av.contiguous) {
        if (oldSize > 0 && oldEnd !== null) av.systemMem += brk - oldEnd; // foreign sbrk
        const frontMisalign = (brk + CHUNK_HDR_SZ) % MALLOC_ALIGNMENT;
        if (frontMisalign > 0) {
          correction = MALLOC_ALIGNMENT - frontMisalign;
          alignedBrk += correction;
        }
        correction += oldSize;
        const endMisalign = brk + size + correction;
        correction += alignUp(endMisalign, pagesize) - endMisalign;
        // sbrk returns the break from before the correction.
        sndBrk = morecore(av, correction);
        if (sndBrk === null) {
          correction = 0;
          sndBrk = morecore(av, 0);
        }
      } else if (sndBrk === null) {
        sndBrk = morecore(av, 0);
      }

      if (sndBrk !== null) {
        const top = av.addChunk(alignedBrk, sndBrk - alignedBrk + correction, 'top');
        av.top = top;
        av.writeHead(top);
        av.systemMem += correction;
        if (oldTop && oldSize !== 0) fenceOldTop(av, oldTop, oldSize);
      }
    }
  }

  if (av.systemMem > av.maxSystemMem) av.maxSystemMem = av.systemMem;

  const top = av.top;
  if (top && top.size >= nb + MINSIZE) return av.splitTop(nb);
  return null;
}

/**
 * The old top cannot merge with new, non-adjacent space: shrink it, put two
 * 16-byte in-use fenceposts at its end, and free the rest.
 */
function fenceOldTop(av: MainArena, oldTop: Chunk, oldSize: number): void {
  const keep = alignDown(oldSize - 2 * CHUNK_HDR_SZ, MALLOC_ALIGNMENT);
  av.dropChunk(oldTop);
  const fence1 = av.addChunk(oldTop.addr + keep, CHUNK_HDR_SZ, 'internal');
  const fence2 = av.addChunk(oldTop.addr + keep + CHUNK_HDR_SZ, CHUNK_HDR_SZ, 'internal');
  av.writeHead(fence1);
  av.writeHead(fence2);
  if (keep === 0) return;
  const rest = av.addChunk(oldTop.addr, keep, keep >= MINSIZE ? 'inuse' : 'internal');
  av.writeHead(rest);
  if (keep >= MINSIZE) av.intFree(rest);
}

/**
 * systrim: gives the top chunk's memory beyond `pad` back with a negative
 * sbrk, in whole pages. Returns whether anything was released.
 */
export function systrim(av: MainArena, pad: number): boolean {
  const top = av.top;
  if (!top) return false;
  const pagesize = av.host.pageSize;
  const topArea = top.size - MINSIZE - 1;
  if (topArea <= pad) return false;
  const extra = alignDown(topArea - pad, pagesize);
  if (extra === 0) return false;
  const currentBrk = av.host.brk;
  if (currentBrk !== top.end) return false; // foreign sbrk, or top is not in the brk heap
  morecore(av, -extra);
  const released = currentBrk - av.host.brk;
  if (released === 0) return false;
  av.systemMem -= released;
  top.size -= released;
  av.writeHead(top);
  av.counters.trims++;
  return true;
}
