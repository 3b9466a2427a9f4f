/**
 * _int_realloc of glibc 2.36 (malloc/malloc.c) for arena chunks:
 * - the chunk is already large enough: keep it, free the tail if it is at
 *   least MINSIZE;
 * - the next chunk is top and top can spare nb + MINSIZE: grow in place;
 * - the next chunk is free and large enough: absorb it, free the tail;
 * - otherwise _int_malloc a new chunk (no tcache), copy the old contents,
 *   free the old chunk; when the new chunk happens to be the next one (top
 *   grew by sysmalloc), merge instead of copying.
 * Mmapped chunks are resized with mremap (mremap_chunk) by GlibcMalloc.
 */
import type { MainArena } from './arena.js';
import { type Chunk, MINSIZE, SIZE_SZ } from './chunk.js';

export function intRealloc(av: MainArena, oldp: Chunk, nb: number): Chunk | null {
  const oldsize = oldp.size;
  const next = av.nextChunk(oldp);
  const newp = oldp;
  let newsize = oldsize;

  if (oldsize < nb) {
    const top = av.top;
    if (next === top && top !== null && oldsize + top.size >= nb + MINSIZE) {
      const topSize = top.size;
      av.dropChunk(top);
      oldp.size = nb;
      const rest = av.addChunk(oldp.addr + nb, oldsize + topSize - nb, 'top');
      av.top = rest;
      av.writeHead(oldp);
      av.writeHead(rest);
      return oldp;
    }
    if (next !== top && next.state === 'bin' && oldsize + next.size >= nb) {
      av.unlink(next);
      av.dropChunk(next);
      newsize = oldsize + next.size;
    } else {
      const fresh = av.intMalloc(nb);
      if (fresh === null) return null;
      if (fresh.addr === next.addr) {
        av.dropChunk(fresh);
        newsize = oldsize + fresh.size;
      } else {
        av.host.copy(fresh.mem, oldp.mem, oldsize - SIZE_SZ);
        av.intFree(oldp);
        return fresh;
      }
    }
  }

  const remainderSize = newsize - nb;
  if (remainderSize < MINSIZE) {
    newp.size = newsize;
    av.writeHead(newp);
    av.writeNextHead(newp);
  } else {
    newp.size = nb;
    const remainder = av.addChunk(newp.addr + nb, remainderSize, 'inuse');
    av.writeHead(newp);
    av.writeHead(remainder);
    av.writeNextHead(remainder);
    av.intFree(remainder);
  }
  return newp;
}
