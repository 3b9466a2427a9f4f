/**
 * readahead.ts on the model's page cache: RaCache for one file's
 * AddressSpace, the PG_readahead marks, the file_ra_state each process
 * uses for its faults on a file, and the fault and read() entry points.
 *
 * - Large folios are added only to a file's own cache (folio.ts); the
 *   content-shared cache takes order-0 pages (no large folio support).
 * - Readahead stops at the frame limit (RA_NOMEM) rather than reclaiming.
 * - A PG_readahead mark is kept as (folio head → frame) and counts only
 *   while that frame still holds the page, so it leaves with the page.
 * - A fault's file_ra_state is per process and file (one struct file per
 *   mmap'ing process); fork gives the child a fresh one.
 */
import type { FileBacking } from '../abi/file-backing.js';
import { PROT_EXEC } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import { lookupFilePage, readFilePage } from './file-pages.js';
import { folioOf } from './folio.js';
import type { AddressSpace } from './page-cache.js';
import type { Process } from './process.js';
import {
  FileRaState,
  RA_ADDED,
  RA_EXISTS,
  RA_NOMEM,
  type RaCache,
  type RaDevice,
  type RaVma,
  asyncMmapRa,
  fileRead,
  forceRa,
  syncMmapRa,
} from './readahead.js';
import type { Vma } from './vma.js';

/** An open file for read(): struct file's f_ra (and FMODE_RANDOM in it), per open(2). */
export class OpenFile {
  readonly backing: FileBacking;
  readonly ra: FileRaState;
  /** The device's ra_pages, for posix_fadvise. */
  private readonly bdiRaPages: number;

  constructor(backing: FileBacking, raPages: number) {
    this.backing = backing;
    this.ra = new FileRaState(raPages);
    this.bdiRaPages = raPages;
  }

  /** posix_fadvise NORMAL (ra_pages of the device), SEQUENTIAL (twice that) or RANDOM (no readahead window). */
  fadvise(advice: 'normal' | 'sequential' | 'random'): void {
    if (advice === 'random') {
      this.ra.random = true;
      return;
    }
    this.ra.random = false;
    this.ra.raPages = advice === 'sequential' ? 2 * this.bdiRaPages : this.bdiRaPages;
  }
}

/** PG_readahead marks per file space: folio head index → the frame that held it when marked. */
const marks = new WeakMap<AddressSpace, Map<number, number>>();
/** Each process's file_ra_state per file space, for its faults. */
const faultStates = new WeakMap<Process, Map<number, FileRaState>>();

export function raDevice(core: MmCore): RaDevice {
  return { ioPages: core.raIoPages };
}

function markMap(space: AddressSpace): Map<number, number> {
  let m = marks.get(space);
  if (m === undefined) {
    m = new Map();
    marks.set(space, m);
  }
  return m;
}

/** Whether the cached folio holding page `index` of `space` is marked PG_readahead. */
export function raMarked(core: MmCore, space: AddressSpace, index: number, viaPrivate: boolean): boolean {
  const m = marks.get(space);
  if (m === undefined || m.size === 0) return false;
  const head = core.cacheOf(space, viaPrivate) === space ? folioOf(space, index)[0] : index;
  const frame = m.get(head);
  if (frame === undefined) return false;
  if (lookupFilePage(core, space, head, viaPrivate) === frame) return true;
  m.delete(head);
  return false;
}

/** Whether `space` has any PG_readahead mark (a quick test before a per-page one). */
export function raHasMarks(space: AddressSpace): boolean {
  const m = marks.get(space);
  return m !== undefined && m.size !== 0;
}

/** RaCache over the cache `space`'s pages go to (the file's own, or the content cache for private mappings). */
export function raCache(core: MmCore, space: AddressSpace, viaPrivate: boolean): RaCache {
  const backing = space.backing!;
  const large = core.cacheOf(space, viaPrivate) === space;
  return {
    pageSize: core.pageSize,
    fileSize: backing.size,
    largeFolios: large,
    folio(index) {
      if (index < 0 || lookupFilePage(core, space, index, viaPrivate) < 0) return null;
      return large ? folioOf(space, index) : [index, 1];
    },
    add(index, order, mark) {
      const nr = 2 ** order;
      for (let k = 0; k < nr; k++) if (lookupFilePage(core, space, index + k, viaPrivate) >= 0) return RA_EXISTS;
      if (core.frames.used + core.swapRamPages + nr > core.frameLimit) return RA_NOMEM;
      let head = -1;
      for (let k = 0; k < nr; k++) {
        const frame = readFilePage(core, space, index + k, viaPrivate);
        if (k === 0) head = frame;
      }
      if (nr > 1) {
        for (let k = 0; k < nr; k++) space.folioHead.set(index + k, index);
        space.folioPages.set(index, nr);
      }
      if (mark) markMap(space).set(index, head);
      return RA_ADDED;
    },
    marked(head) {
      return raMarked(core, space, head, viaPrivate);
    },
    clearMark(head) {
      marks.get(space)?.delete(head);
    },
  };
}

/** The file_ra_state `proc` uses for faults on `space`. */
export function faultRaState(core: MmCore, proc: Process, space: AddressSpace): FileRaState {
  let m = faultStates.get(proc);
  if (m === undefined) {
    m = new Map();
    faultStates.set(proc, m);
  }
  let ra = m.get(space.id);
  if (ra === undefined) {
    ra = new FileRaState(core.readAround);
    m.set(space.id, ra);
  }
  return ra;
}

function raVma(core: MmCore, vma: Vma): RaVma {
  return {
    startPgoff: vma.pgoff,
    endPgoff: vma.pgoff + (vma.end - vma.start) / core.pageSize,
    exec: (vma.prot & PROT_EXEC) !== 0,
  };
}

/**
 * filemap_fault's page-cache part for page `index` through `vma`: the
 * frame, after the readahead the fault starts (sync read-around on a miss,
 * async on a PG_readahead folio). Sets core.lastFaultMajor.
 */
export function faultFilePage(core: MmCore, proc: Process, vma: Vma, index: number): number {
  const space = vma.space!;
  const viaPrivate = !vma.shared;
  let frame = lookupFilePage(core, space, index, viaPrivate);
  if (frame >= 0) {
    core.counters.minor++;
    core.lastFaultMajor = false;
    // do_async_mmap_readahead; the common case (no mark) without building a RaCache
    const ra = core.keepPageCache ? faultRaState(core, proc, space) : null;
    if (ra !== null && ra.raPages > 0) {
      if (raHasMarks(space) && raMarked(core, space, index, viaPrivate)) {
        const cache = raCache(core, space, viaPrivate);
        const [head, pages] = cache.folio(index)!;
        asyncMmapRa(ra, raDevice(core), cache, raVma(core, vma), index, head, pages);
      } else if (ra.mmapMiss > 0) ra.mmapMiss--;
    }
    return frame;
  }
  core.counters.major++;
  core.lastFaultMajor = true;
  if (core.keepPageCache) {
    const ra = faultRaState(core, proc, space);
    syncMmapRa(ra, raDevice(core), raCache(core, space, viaPrivate), raVma(core, vma), index);
  }
  frame = lookupFilePage(core, space, index, viaPrivate);
  return frame >= 0 ? frame : readFilePage(core, space, index, viaPrivate);
}

/** fault-around mapped `pages` pages of a file: filemap_map_pages lowers mmap_miss by them. */
export function faultAroundHits(core: MmCore, proc: Process, space: AddressSpace, pages: number): void {
  const ra = faultRaState(core, proc, space);
  ra.mmapMiss = Math.max(0, ra.mmapMiss - pages);
}

/**
 * read(2) of `length` bytes at `offset` through open file `ra` (cold or
 * warm: whatever the cache holds), with the readahead it starts. Returns
 * the bytes read.
 */
export function readFileRange(
  core: MmCore,
  backing: FileBacking,
  ra: FileRaState,
  offset: number,
  length: number,
): number {
  const space = core.fileSpace(backing);
  const cache = raCache(core, space, false);
  return fileRead(ra, raDevice(core), cache, offset, length, (index) => {
    readFilePage(core, space, index, false);
  });
}

/**
 * posix_fadvise(POSIX_FADV_WILLNEED) and readahead(2) (generic_fadvise →
 * force_page_cache_ra): the pages of [offset, offset + length) (length 0:
 * to the end) not cached, as order-0 folios, but at most
 * max(io_pages, ra_pages) of them, from the first.
 */
export function willNeed(core: MmCore, file: OpenFile, offset: number, length: number): void {
  const space = core.fileSpace(file.backing);
  const ps = core.pageSize;
  const endByte = length === 0 ? Number.MAX_SAFE_INTEGER : offset + length - 1;
  const first = Math.floor(offset / ps);
  const nr = Math.floor(endByte / ps) - first + 1;
  forceRa(file.ra, raDevice(core), raCache(core, space, false), first, nr);
}
