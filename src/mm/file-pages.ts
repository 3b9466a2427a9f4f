/**
 * File pages in the page cache: the lookups and reads behind file faults
 * (mm/filemap.c filemap_fault), readahead (readahead-cache.ts) and
 * readahead(2).
 *
 * - Every page read counts one page in bytesRead.
 * - A page past the end of the file is SIGBUS.
 */
import { InternalError, SimulationError } from '../errors.js';
import type { AddressSpace } from './page-cache.js';
import type { MmCore } from './core.js';
import { CostOp } from './cost.js';
import { FRAME_FILE } from './frames.js';

function sigbus(core: MmCore, space: AddressSpace, index: number): SimulationError {
  const backing = space.backing!;
  return new SimulationError(
    'E_SIGBUS',
    `${backing.path}: access to page ${index} beyond the end of the file (${backing.pageCount} pages)`,
    {
      file: backing.path,
      offset: index * core.pageSize,
    },
  );
}

/** The cached frame of page `index` of file `space`, or -1. No counters change. */
export function lookupFilePage(core: MmCore, space: AddressSpace, index: number, viaPrivate: boolean): number {
  const cache = core.cacheOf(space, viaPrivate);
  const frame = cache.pages.get(core.cacheKey(space, index, viaPrivate));
  if (frame === undefined) return -1;
  if (core.verifyContent && cache === core.content) verifySameContent(core, frame, space, index);
  return frame;
}

/** Reads page `index` into the page cache (it must not be cached). Counts bytesRead, not a fault. */
export function readFilePage(core: MmCore, space: AddressSpace, index: number, viaPrivate: boolean): number {
  const frame = core.allocFrame(FRAME_FILE);
  core.frames.srcSpace[frame] = space.id;
  core.frames.srcIndex[frame] = index;
  core.cacheInsert(core.cacheOf(space, viaPrivate), core.cacheKey(space, index, viaPrivate), frame);
  core.bytesRead += core.pageSize;
  core.cost.charge(CostOp.fileRead, core.pageSize);
  return frame;
}

/** A fault on page `index` of a file past its end is SIGBUS. */
export function checkFileIndex(core: MmCore, space: AddressSpace, index: number): void {
  if (index >= space.backing!.pageCount) throw sigbus(core, space, index);
}

/** Reads the uncached pages of [first, end) (clipped to the file) into the page cache; returns pages read. */
export function readIntoCache(
  core: MmCore,
  space: AddressSpace,
  first: number,
  end: number,
  viaPrivate: boolean,
): number {
  const last = Math.min(end, space.backing!.pageCount);
  let read = 0;
  for (let i = Math.max(0, first); i < last; i++) {
    if (core.frames.used + core.swapRamPages >= core.frameLimit) break;
    if (lookupFilePage(core, space, i, viaPrivate) >= 0) continue;
    readFilePage(core, space, i, viaPrivate);
    read++;
  }
  return read;
}

function verifySameContent(core: MmCore, frame: number, space: AddressSpace, index: number): void {
  const mine = new Uint8Array(core.pageSize);
  const cached = new Uint8Array(core.pageSize);
  space.backing!.readPage(index, mine);
  core.contents.bytes(frame, cached);
  if (Buffer.compare(mine, cached) !== 0) {
    throw new InternalError(`${space.backing!.path}: page ${index} shares a content id with a different page`, {
      file: space.backing!.path,
      offset: index * core.pageSize,
    });
  }
}
