/**
 * fork(2) for the allocator: the child process starts with a copy of the
 * parent's malloc state (same chunks at the same addresses, same bin order,
 * tcache, thresholds), bound to the child's memory. Nothing is written: the
 * pages themselves are shared copy-on-write by the memory model.
 */
import { MainArena } from './arena.js';
import { Chunk } from './chunk.js';
import type { HeapHost } from './host.js';

export function cloneArena(from: MainArena, host: HeapHost): MainArena {
  const to = new MainArena(host, { ...from.params });
  const copies = new Map<Chunk, Chunk>();
  const copy = (c: Chunk): Chunk => {
    let d = copies.get(c);
    if (!d) {
      d = new Chunk(c.addr, c.size, c.state);
      d.mmapOffset = c.mmapOffset;
      copies.set(c, d);
    }
    return d;
  };
  for (const c of from.chunks.values()) to.chunks.set(c.addr, copy(c));
  for (const c of from.mmapped.values()) to.mmapped.set(c.addr, copy(c));
  from.bins.forEach((bin, i) => {
    const into = to.bins[i]!;
    for (const c of bin) {
      const d = copy(c);
      into.insertAfter(into.head.bk!, d);
      to.noteFree(d);
    }
  });
  from.fastbins.forEach((fb, i) => to.fastbins[i]!.push(...fb.map(copy)));
  to.tcache = from.tcache ? from.tcache.map((tb) => tb.map(copy)) : null;
  to.top = from.top ? copy(from.top) : null;
  to.haveFastchunks = from.haveFastchunks;
  to.lastRemainder = from.lastRemainder;
  to.contiguous = from.contiguous;
  to.sbrkBase = from.sbrkBase;
  to.systemMem = from.systemMem;
  to.maxSystemMem = from.maxSystemMem;
  to.mmappedMem = from.mmappedMem;
  return to;
}
