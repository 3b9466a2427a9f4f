/**
 * Readahead, as Linux 6.18 does it (mm/readahead.c, mm/filemap.c): which
 * pages a cold read() or a page fault reads into the page cache, and in
 * which folio sizes.
 *
 * The state is one `struct file_ra_state` per open file (FileRaState):
 * the last window [start, start + size) with its async tail async_size,
 * the folio order the window was read in, prev_pos (where the last read()
 * ended), mmap_miss, and ra_pages (the device's read_ahead_kb / 4; ×2
 * after POSIX_FADV_SEQUENTIAL).
 *
 * - read() (filemap_read → filemap_get_pages): a page not cached starts
 *   page_cache_sync_ra; a cached folio marked PG_readahead that the read
 *   reaches starts page_cache_async_ra. The sync window starts at
 *   get_init_ra_size(request) (×4, ×2 or ra_pages), read in order-0
 *   folios; each async window moves past the last one, grows by
 *   get_next_ra_size (×4 below ra_pages/16, then ×2, up to ra_pages) and
 *   its folio order grows by 2 (ra->order += 2), capped by the window size
 *   and the file's largest folio order (ext4: PMD order 9), lowered where
 *   the index is not aligned (page_cache_ra_order). PG_readahead goes on
 *   the folio at start + size − async_size (rounded down to the folio).
 * - mmap (filemap_fault): a fault on a page not cached runs
 *   do_sync_mmap_readahead: read-around of ra_pages order-0 pages starting
 *   ra_pages/2 before the page, async_size ra_pages/4; for a VM_EXEC
 *   mapping the window starts at the page and ends ra_pages later or at the
 *   VMA's end, with no async part (exec_folio_order() is 0 on x86-64);
 *   nothing after mmap_miss passed MMAP_LOTSAMISS (100). A fault that finds
 *   a PG_readahead folio runs page_cache_async_ra (do_async_mmap_readahead).
 *   fault-around (filemap_map_pages) leaves PG_readahead folios unmapped, so
 *   that a fault reaches them.
 * - Where a large folio cannot be added because a page in its range is
 *   cached, page_cache_ra_order stops and reads the rest of the window in
 *   order-0 pages around the cached ones (page_cache_ra_unbounded).
 *
 * The page cache it reads into is behind RaCache (readahead-cache.ts binds
 * it to the model's AddressSpace). Reads complete at once (a folio is
 * uptodate when added), which does not change which folios are made.
 */
import { MAX_PAGECACHE_ORDER } from './folio.js';

/** struct file_ra_state, plus FMODE_RANDOM of the file. */
export class FileRaState {
  raPages: number;
  start = 0;
  size = 0;
  asyncSize = 0;
  order = 0;
  mmapMiss = 0;
  /** Byte after the last byte the previous read() returned; −1 before the first. */
  prevPos = -1;
  /** POSIX_FADV_RANDOM: reads go through force_page_cache_ra only. */
  random = false;

  constructor(raPages: number) {
    this.raPages = raPages;
  }
}

/** Result of adding a folio (filemap_add_folio / the allocation before it). */
export const RA_ADDED = 0;
export const RA_EXISTS = 1;
export const RA_NOMEM = 2;

/** The page cache of one file as readahead sees it. */
export interface RaCache {
  /** Page size in bytes. */
  readonly pageSize: number;
  /** File size in bytes (i_size). */
  readonly fileSize: number;
  /** Whether folios larger than a page can be added (mapping_large_folio_support). */
  readonly largeFolios: boolean;
  /** The folio holding page `index` as [head, pages], or null if it is not cached. */
  folio(index: number): readonly [number, number] | null;
  /** Adds an uptodate folio of 2^order pages at `index`, PG_readahead set when `mark`. */
  add(index: number, order: number, mark: boolean): number;
  /** PG_readahead of the folio whose head is `head`. */
  marked(head: number): boolean;
  clearMark(head: number): void;
}

/** The device's limits readahead uses besides ra_pages: bdi->io_pages (max_sectors_kb / 4). */
export interface RaDevice {
  ioPages: number;
}

const MMAP_LOTSAMISS = 100;

function ilog2(n: number): number {
  return 31 - Math.clz32(n);
}

/** __ffs: index of the lowest set bit (n > 0). */
function lowestBit(n: number): number {
  let k = 0;
  while (n % 2 === 0) {
    n /= 2;
    k++;
  }
  return k;
}

function roundupPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

function lastPage(cache: RaCache): number {
  return Math.floor((cache.fileSize - 1) / cache.pageSize);
}

/** get_init_ra_size */
export function initRaSize(size: number, max: number): number {
  const n = roundupPowerOfTwo(size);
  if (n <= Math.floor(max / 32)) return n * 4;
  if (n <= Math.floor(max / 4)) return n * 2;
  return max;
}

/** get_next_ra_size */
export function nextRaSize(cur: number, max: number): number {
  if (cur < Math.floor(max / 16)) return 4 * cur;
  if (cur <= Math.floor(max / 2)) return 2 * cur;
  return max;
}

function maxPages(ra: FileRaState, dev: RaDevice, req: number): number {
  if (req > ra.raPages && dev.ioPages > ra.raPages) return Math.min(req, dev.ioPages);
  return ra.raPages;
}

/** page_cache_prev_miss: the first index ≤ `index` not cached, −1 past page 0, or index − max. */
function prevMiss(cache: RaCache, index: number, max: number): number {
  for (let n = 0; n < max; n++) {
    const i = index - n;
    if (i < 0) return -1;
    if (cache.folio(i) === null) return i;
  }
  return index - max;
}

/** page_cache_next_miss: the first index ≥ `index` not cached, or index + max. */
function nextMiss(cache: RaCache, index: number, max: number): number {
  for (let n = 0; n < max; n++) if (cache.folio(index + n) === null) return index + n;
  return index + max;
}

/** page_cache_ra_unbounded: order-0 folios for the pages of [index, index + nr) not cached. */
function raUnbounded(cache: RaCache, index: number, nr: number, lookahead: number): void {
  const mark = lookahead <= nr ? nr - lookahead : -1;
  for (let i = 0; i < nr; i++) {
    if (cache.folio(index + i) !== null) continue;
    if (cache.add(index + i, 0, i === mark) === RA_NOMEM) break;
  }
}

/** do_page_cache_ra: page_cache_ra_unbounded clipped to the page holding the last byte. */
function doPageCacheRa(cache: RaCache, index: number, nr: number, lookahead: number): void {
  if (cache.fileSize === 0) return;
  const end = lastPage(cache);
  if (index > end) return;
  raUnbounded(cache, index, Math.min(nr, end - index + 1), lookahead);
}

/** force_page_cache_ra: `nr` pages (at most max(io_pages, ra_pages)) in 2 MiB chunks, no readahead state. */
export function forceRa(ra: FileRaState, dev: RaDevice, cache: RaCache, index: number, nr: number): void {
  let left = Math.min(nr, Math.max(dev.ioPages, ra.raPages));
  const chunk = Math.floor((2 * 1024 * 1024) / cache.pageSize);
  while (left > 0) {
    const n = Math.min(chunk, left);
    doPageCacheRa(cache, index, n, 0);
    index += n;
    left -= n;
  }
}

/** page_cache_ra_order: reads the window ra describes from `start` in folios of ra.order (capped). */
function raOrder(ra: FileRaState, cache: RaCache, start: number): void {
  if (cache.fileSize === 0) return;
  let index = start;
  if (cache.largeFolios) {
    const limit = Math.min(lastPage(cache), index + ra.size - 1);
    const mark = index + ra.size - ra.asyncSize;
    const newOrder = Math.min(MAX_PAGECACHE_ORDER, ra.order, ilog2(Math.max(1, ra.size)));
    ra.order = newOrder;
    let failed = false;
    while (index <= limit) {
      let order = newOrder;
      if (index % 2 ** order !== 0) order = lowestBit(index);
      while (order > 0 && index + 2 ** order - 1 > limit) order--;
      const nr = 2 ** order;
      if (cache.add(index, order, index === Math.floor(mark / nr) * nr) !== RA_ADDED) {
        failed = true;
        break;
      }
      index += nr;
    }
    if (!failed) return;
  } else {
    ra.order = 0;
  }
  if (ra.size > index - start) doPageCacheRa(cache, index, ra.size - (index - start), ra.asyncSize);
}

/** page_cache_sync_ra: `req` pages from `index` are wanted and page `index` is not cached. */
export function syncRa(ra: FileRaState, dev: RaDevice, cache: RaCache, index: number, req: number): void {
  if (ra.raPages === 0 || ra.random) {
    forceRa(ra, dev, cache, index, ra.raPages === 0 ? 1 : req);
    return;
  }
  const max = maxPages(ra, dev, req);
  // (unsigned long long)prev_pos >> PAGE_SHIFT, with prev_pos −1 before the first read
  const prevIndex = ra.prevPos < 0 ? 2 ** 52 - 1 : Math.floor(ra.prevPos / cache.pageSize);
  if (index === 0 || req > max || (index >= prevIndex && index - prevIndex <= 1)) {
    ra.start = index;
    ra.size = initRaSize(req, max);
    ra.asyncSize = ra.size > req ? ra.size - req : ra.size >> 1;
  } else {
    // The pages cached just before index tell how long a sequential stream has run.
    const miss = prevMiss(cache, index - 1, max);
    let contig = index - miss - 1;
    if (contig <= req) {
      doPageCacheRa(cache, index, req, 0);
      return;
    }
    if (miss === -1) contig *= 2;
    ra.start = index;
    ra.size = Math.min(contig + req, max);
    ra.asyncSize = 1;
  }
  ra.order = 0;
  raOrder(ra, cache, ra.start);
}

/**
 * page_cache_async_ra: a reader at `index` met folio [head, head + pages)
 * marked PG_readahead, wanting `req` pages. Clears the mark and reads the
 * next window.
 */
export function asyncRa(
  ra: FileRaState,
  dev: RaDevice,
  cache: RaCache,
  index: number,
  head: number,
  pages: number,
  req: number,
): void {
  if (ra.raPages === 0) return;
  cache.clearMark(head);
  const max = maxPages(ra, dev, req);
  const expected = Math.floor((ra.start + ra.size - ra.asyncSize) / pages) * pages;
  if (index === expected) {
    ra.start += ra.size;
    ra.size = Math.max(ra.size, nextRaSize(ra.size, max));
  } else {
    // A marked folio without the state that made it (interleaved readers): the cached run ahead is the old async_size.
    const start = nextMiss(cache, index + 1, max);
    if (start - index > max) return;
    ra.start = start;
    ra.size = nextRaSize(start - index + req, max);
  }
  ra.order += 2;
  const align = 2 ** Math.min(ra.order, lowestBit(max));
  const end = ra.start + ra.size;
  const alignedEnd = Math.floor(end / align) * align;
  if (alignedEnd > ra.start) ra.size -= end - alignedEnd;
  ra.asyncSize = ra.size;
  raOrder(ra, cache, ra.start);
}

/** The mapping a fault came through, as do_sync_mmap_readahead looks at it. */
export interface RaVma {
  /** vm_pgoff and the page index after the VMA's last. */
  startPgoff: number;
  endPgoff: number;
  /** VM_EXEC */
  exec: boolean;
  /** VM_SEQ_READ (MADV_SEQUENTIAL), VM_RAND_READ (MADV_RANDOM). */
  seqRead?: boolean;
  randRead?: boolean;
}

/** do_sync_mmap_readahead: a fault on page `pgoff`, which is not cached. */
export function syncMmapRa(ra: FileRaState, dev: RaDevice, cache: RaCache, vma: RaVma, pgoff: number): void {
  if (vma.randRead === true || ra.raPages === 0) return;
  if (vma.seqRead === true) {
    syncRa(ra, dev, cache, pgoff, ra.raPages);
    return;
  }
  if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
  if (ra.mmapMiss > MMAP_LOTSAMISS) return;
  if (vma.exec) {
    // exec_folio_order() is 0 on x86-64: no rounding.
    ra.order = 0;
    ra.start = Math.max(pgoff, vma.startPgoff);
    ra.size = Math.min(ra.start + ra.raPages, vma.endPgoff) - ra.start;
    ra.asyncSize = 0;
  } else {
    ra.start = Math.max(0, pgoff - Math.floor(ra.raPages / 2));
    ra.size = ra.raPages;
    ra.asyncSize = Math.floor(ra.raPages / 4);
    ra.order = 0;
  }
  raOrder(ra, cache, ra.start);
}

/** do_async_mmap_readahead: a fault on page `pgoff` found its folio [head, head + pages) cached. */
export function asyncMmapRa(
  ra: FileRaState,
  dev: RaDevice,
  cache: RaCache,
  vma: RaVma,
  pgoff: number,
  head: number,
  pages: number,
): void {
  if (vma.randRead === true || ra.raPages === 0) return;
  if (ra.mmapMiss > 0) ra.mmapMiss--;
  if (cache.marked(head)) asyncRa(ra, dev, cache, pgoff, head, pages, ra.raPages);
}

/**
 * filemap_read: read(fd, count) at byte `pos`, through the readahead it
 * starts. Returns the bytes read (0 at or past the end of the file).
 * `createFolio` adds the one page filemap_create_folio adds when readahead
 * left page `index` uncached (no frames for readahead, ra_pages 0).
 */
export function fileRead(
  ra: FileRaState,
  dev: RaDevice,
  cache: RaCache,
  pos: number,
  count: number,
  createFolio: (index: number) => void,
): number {
  const ps = cache.pageSize;
  const size = cache.fileSize;
  let lastPos = ra.prevPos;
  let left = count;
  let done = 0;
  if (left === 0) return 0;
  while (left > 0 && pos < size) {
    const index = Math.floor(pos / ps);
    const lastIndex = Math.ceil((pos + left) / ps);
    let batch = readBatch(cache, index, lastIndex - 1);
    if (batch.length === 0) {
      syncRa(ra, dev, cache, index, lastIndex - index);
      batch = readBatch(cache, index, lastIndex - 1);
    }
    if (batch.length === 0) {
      createFolio(index);
      batch = readBatch(cache, index, index);
    }
    const [head, pages] = batch[batch.length - 1]!;
    if (cache.marked(head)) asyncRa(ra, dev, cache, head, head, pages, lastIndex - head);
    const end = Math.min(size, pos + left);
    for (const [h, n] of batch) {
      if (pos >= end) break;
      const bytes = Math.min(end, (h + n) * ps) - pos;
      pos += bytes;
      left -= bytes;
      done += bytes;
      lastPos = pos;
    }
  }
  ra.prevPos = lastPos;
  return done;
}

/** filemap_get_read_batch: the cached folios from `index` to `max`, up to a gap or the first PG_readahead folio. */
function readBatch(cache: RaCache, index: number, max: number): [number, number][] {
  const out: [number, number][] = [];
  let i = index;
  while (i <= max) {
    const f = cache.folio(i);
    if (f === null) break;
    out.push([f[0], f[1]]);
    if (cache.marked(f[0])) break;
    i = f[0] + f[1];
  }
  return out;
}
