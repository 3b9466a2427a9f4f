/**
 * checkArena: the model's own do_check_malloc_state. Throws InternalError
 * when an invariant glibc keeps does not hold:
 * - the arena's chunks tile each of its regions without gaps or overlaps,
 *   and the top chunk ends the last one (at the break, when contiguous);
 * - every chunk in a bin is linked in the bin its size selects (or the
 *   unsorted bin) and marked free; no two free bin chunks touch, and none
 *   touches the top chunk (frees always coalesce);
 * - tcache bins hold at most tcache_count chunks of their size, fastbins
 *   chunks of their size;
 * - system_mem equals the bytes the regions span, mmapped_mem the mappings.
 * Meant for tests and for the simulator's per-step invariant checks.
 */
import { InternalError } from '../errors.js';
import type { MainArena } from './arena.js';
import { type Chunk, binIndex, fastbinIndex, tcacheIndex } from './chunk.js';

export function checkArena(av: MainArena): void {
  const fail = (what: string, c?: Chunk): never => {
    throw new InternalError(
      `malloc model: ${what}${c ? ` (chunk 0x${c.addr.toString(16)} size 0x${c.size.toString(16)} ${c.state})` : ''}`,
    );
  };

  const sorted = [...av.chunks.values()].sort((a, b) => a.addr - b.addr);
  let spanned = 0;
  let regionStart: number | null = null;
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    const next = sorted[i + 1];
    if (c.size <= 0 || c.size % 16 !== 0) fail('bad size', c);
    if (regionStart === null) regionStart = c.addr;
    if (next && next.addr < c.end) fail('chunks overlap', c);
    if (!next || next.addr !== c.end) {
      // A region ends here: with the top chunk, or (non-contiguous arenas) with fenceposts.
      if (c !== av.top && c.state !== 'internal')
        fail('a region ends with a chunk that is neither top nor a fencepost', c);
      spanned += c.end - regionStart;
      regionStart = null;
    }
    if (c.state === 'bin') {
      if (!c.bin) fail('free chunk in no bin', c);
      if (c.bin!.index !== 1 && c.bin!.index !== binIndex(c.size)) fail(`chunk in bin ${c.bin!.index}`, c);
      if (next && next.addr === c.end && (next.state === 'bin' || next === av.top))
        fail('free chunks not coalesced', c);
    } else if (c.bin) {
      fail('chunk linked in a bin but not free', c);
    }
  }
  if (av.top) {
    if (sorted[sorted.length - 1] !== av.top && av.contiguous) fail('top is not the last chunk', av.top);
    if (av.contiguous && av.top.end !== av.host.brk)
      fail(`top ends at 0x${av.top.end.toString(16)}, break at 0x${av.host.brk.toString(16)}`);
  }
  // system_mem also counts the bytes skipped to align a region's first chunk (< 16).
  if (spanned > av.systemMem || av.systemMem - spanned >= 16)
    fail(`system_mem ${av.systemMem} but chunks span ${spanned}`);

  for (const bin of av.bins) {
    for (const c of bin) if (c.bin !== bin || c.state !== 'bin') fail(`bad link in bin ${bin.index}`, c);
  }
  av.fastbins.forEach((fb, i) => {
    for (const c of fb) if (c.state !== 'fastbin' || fastbinIndex(c.size) !== i) fail(`bad chunk in fastbin ${i}`, c);
  });
  av.tcache?.forEach((tb, i) => {
    if (tb.length > av.params.tcacheCount && tb.length > 0) fail(`tcache bin ${i} holds ${tb.length}`);
    for (const c of tb) if (c.state !== 'tcache' || tcacheIndex(c.size) !== i) fail(`bad chunk in tcache bin ${i}`, c);
  });

  let mapped = 0;
  for (const c of av.mmapped.values()) mapped += c.mmapOffset + c.size;
  if (mapped !== av.mmappedMem) fail(`mmapped_mem ${av.mmappedMem} but mappings hold ${mapped}`);
}
