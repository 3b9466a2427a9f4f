/**
 * How calloc makes its block read as zero. All three modes get the block
 * the same way (glibc 2.36's __libc_calloc: straight to _int_malloc, never
 * from the tcache), so addresses are the same in each; they differ only in
 * what they write.
 *
 * - `eager`: a naive calloc, malloc + memset(p, 0, n * size): every byte is
 *   written, so every page of the block is committed.
 * - `glibc`: __libc_calloc's rules. An mmapped chunk is not cleared (the
 *   kernel gave zero pages). A chunk carved from the old top that had to
 *   grow is cleared only over the first `oldtopsize` bytes (the old top's
 *   size), since memory fresh from sbrk is zero (MORECORE_CLEARS). Any
 *   other chunk (reused from a bin, carved from an existing top) is cleared
 *   over chunksize - SIZE_SZ bytes.
 *   The malloc.c source also raises `oldtopsize` to the arena's high-water
 *   mark (sbrk_base + max_system_mem - oldtop), so memory trimmed and taken
 *   back would be cleared again; Debian 12's glibc 2.36 does not (its
 *   __libc_calloc compares with chunksize(top) only, and mincore shows the
 *   re-grown pages untouched), and the model follows the binary.
 * - `on-commit`: the linux-mm-cc thread's proposal. The range glibc would clear is made to
 *   map the shared zero page instead: its whole pages are discarded
 *   (MADV_DONTNEED: any frame they had is freed), and only the partial pages
 *   at its two ends are written with zeros. A frame is then committed only
 *   when the program first writes a page, for brk memory as for mmap.
 *
 * glibc's own metadata writes (chunk headers, the new top's header) happen
 * in every mode: they are why a large calloc from the brk heap still commits
 * the page of its header and the page after its end.
 */
import type { HeapHost } from './host.js';
import { SIZE_SZ, alignDown, alignUp } from './chunk.js';

export type CallocMode = 'eager' | 'glibc' | 'on-commit';

export const CALLOC_MODES: readonly CallocMode[] = ['eager', 'glibc', 'on-commit'];

export interface CallocClearing {
  /** Bytes written with zeros. */
  zeroed: number;
  /** Bytes of whole pages discarded back to the zero page (on-commit). */
  discarded: number;
}

/** What glibc's calloc would clear for a chunk: [mem, mem + length). */
export function glibcClearLength(opts: {
  mmapped: boolean;
  chunkAddr: number;
  chunkSize: number;
  oldTopAddr: number | null;
  oldTopSize: number;
}): number {
  if (opts.mmapped) return 0;
  let csz = opts.chunkSize;
  if (opts.chunkAddr === opts.oldTopAddr && csz > opts.oldTopSize) csz = opts.oldTopSize;
  return csz - SIZE_SZ;
}

/**
 * Zeroes a calloc block according to `mode`. `requested` is n * size;
 * `glibcLength` is what glibc would clear (glibcClearLength).
 */
export function clearCallocBlock(
  host: HeapHost,
  mode: CallocMode,
  mem: number,
  requested: number,
  glibcLength: number,
): CallocClearing {
  switch (mode) {
    case 'eager':
      if (requested > 0) host.writeZero(mem, requested);
      return { zeroed: requested, discarded: 0 };
    case 'glibc':
      if (glibcLength > 0) host.writeZero(mem, glibcLength);
      return { zeroed: Math.max(glibcLength, 0), discarded: 0 };
    case 'on-commit':
      return zeroByDiscarding(host, mem, glibcLength);
    default:
      throw new Error(`unknown calloc mode ${String(mode)}`);
  }
}

/** Whole pages of [start, start + length) back to the zero page; partial ends written. */
function zeroByDiscarding(host: HeapHost, start: number, length: number): CallocClearing {
  if (length <= 0) return { zeroed: 0, discarded: 0 };
  const end = start + length;
  const firstWhole = alignUp(start, host.pageSize);
  const endWhole = alignDown(end, host.pageSize);
  if (endWhole <= firstWhole) {
    host.writeZero(start, length);
    return { zeroed: length, discarded: 0 };
  }
  let zeroed = 0;
  if (firstWhole > start) {
    host.writeZero(start, firstWhole - start);
    zeroed += firstWhole - start;
  }
  host.discard(firstWhole, endWhole - firstWhole);
  if (end > endWhole) {
    host.writeZero(endWhole, end - endWhole);
    zeroed += end - endWhole;
  }
  return { zeroed, discarded: endWhole - firstWhole };
}
