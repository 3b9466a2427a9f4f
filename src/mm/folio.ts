/**
 * Large page-cache folios, as Linux 6.18 makes and maps them on ext4.
 *
 * A file's page cache is made of folios of 2^order pages. Which sizes
 * depends on how the pages got there, so the layout is an input
 * (`Machine.cacheFile`):
 *
 * - `{ how: 'write', writeSize? }`: the file was written with write()
 *   calls of writeSize bytes (default: one write of the whole file) into an
 *   empty cache, then synced. generic_perform_write (mm/filemap.c) cuts each
 *   call into chunks of mapping_max_folio_size (2 MiB: ext4's largest
 *   order on 4 KiB pages is PMD order 9); ext4_write_begin asks
 *   __filemap_get_folio for FGP_WRITEBEGIN | fgf_set_order(len), i.e.
 *   order ilog2(len) − PAGE_SHIFT (0 for len ≤ 4 KiB), lowered to the
 *   alignment of the index (`__ffs(index)`) and until no cached page is in
 *   the way; a page already cached is written in place. One 256 KiB write
 *   is one folio; 800 KiB is 512 + 256 + 32 KiB.
 * - `{ how: 'pages' }`: 4 KiB folios only, as mmap read-around leaves them
 *   (do_sync_mmap_readahead sets ra->order = 0) and readahead() reads.
 *
 * read() and faults on a cold file make their own folios through readahead
 * (readahead.ts: order-0 first, then orders growing by 2 per window).
 * - `{ how: 'folios', pages: [...] }`: explicit folio sizes in pages, in
 *   file order (read them from /proc/kpageflags: KPF_COMPOUND_HEAD/TAIL).
 *
 * The kernel allocates large folios with __GFP_NORETRY and falls back to
 * smaller orders when memory is fragmented; the model assumes the
 * allocation succeeds.
 *
 * How folios are mapped (checked on this machine, test/mm-folio-kernel):
 *
 * - filemap_map_pages (fault-around in a page table that exists): a large
 *   folio that lies inside the VMA, inside one page table (2 MiB) and
 *   entirely before the file's last page (`file_end >= folio_next_index`,
 *   file_end being the last page index) is mapped whole, even beyond the
 *   16-page window; other folios only where they meet the window.
 * - finish_fault (the fault that reads or finds the page itself): the
 *   whole folio when it lies inside the VMA and one page table, ends by the
 *   end of the file, and none of its PTEs is set; otherwise one page.
 * - A read fault in a page table that does not exist yet faults around only
 *   when the first cached folio in the window ends before the file's last
 *   page (6.18 allocates the table behind that i_size check); otherwise it
 *   takes the finish_fault path (whole folio or one page); see `Machine`
 *   option faultAroundFreshTable.
 * - Dirtiness is per folio: a write through MAP_SHARED dirties the folio,
 *   and smaps counts every page of it as dirty in every mapping
 *   (folio_test_dirty in smaps_account).
 *
 * Folios live in the per-file page cache only; the content-shared cache
 * and shmem hold 4 KiB pages. When any page of a large folio leaves the
 * page cache (reclaim, drop_caches) the rest stay cached as 4 KiB pages
 * (the kernel evicts or splits whole folios).
 */
import { InternalError } from '../errors.js';
import type { AddressSpace } from './page-cache.js';
import type { FileBacking } from '../abi/file-backing.js';
import { PTRS_PER_PTE } from './page-table.js';

/** How a file's pages came into the page cache, which decides its folio sizes. */
export type PageCacheFill =
  | { how: 'write'; writeSize?: number }
  | { how: 'pages' }
  | { how: 'folios'; pages: readonly number[] };

/** ext4's largest page-cache folio on x86-64 with 4 KiB blocks: PMD order. */
export const MAX_PAGECACHE_ORDER = 9;

function ilog2(n: number): number {
  return Math.floor(Math.log2(n));
}

/** Lowest set bit of a positive index (__ffs). */
function ffs(n: number): number {
  let k = 0;
  while (n % 2 === 0) {
    n /= 2;
    k++;
  }
  return k;
}

/**
 * Folio sizes (pages, file order) a file of `size` bytes gets when written
 * from offset 0 by write() calls of `writeSize` bytes into an empty page
 * cache (generic_perform_write + __filemap_get_folio).
 */
export function writeFolioLayout(size: number, writeSize = size, pageSize = 4096): number[] {
  if (!Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(writeSize) || writeSize < 1) {
    throw new InternalError('writeFolioLayout: bad sizes', { size, writeSize });
  }
  const shift = ilog2(pageSize);
  const chunk = pageSize * 2 ** MAX_PAGECACHE_ORDER;
  const folioAt = new Map<number, number>(); // head index → pages
  const cached = new Set<number>();
  for (let start = 0; start < size; start += writeSize) {
    const end = Math.min(size, start + writeSize);
    let pos = start;
    while (pos < end) {
      const offset = pos % chunk;
      let bytes = Math.min(chunk - offset, end - pos);
      const index = Math.floor(pos / pageSize);
      let head = index;
      let nr = 1;
      if (cached.has(index)) {
        for (const [h, n] of folioAt) if (h <= index && index < h + n) [head, nr] = [h, n];
      } else {
        let order = Math.min(MAX_PAGECACHE_ORDER, Math.max(0, ilog2(bytes) - shift));
        if (index % 2 ** order !== 0) order = ffs(index);
        while (order > 0 && rangeTaken(cached, index, 2 ** order)) order--;
        nr = 2 ** order;
        folioAt.set(index, nr);
        for (let i = 0; i < nr; i++) cached.add(index + i);
      }
      bytes = Math.min(bytes, (head + nr) * pageSize - pos);
      pos += bytes;
    }
  }
  return [...folioAt.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
}

function rangeTaken(cached: Set<number>, first: number, nr: number): boolean {
  for (let i = 1; i < nr; i++) if (cached.has(first + i)) return true;
  return false;
}

/** Folio sizes for a PageCacheFill of `backing` (checked: positive, summing to at most the file's pages). */
export function folioLayout(backing: FileBacking, fill: PageCacheFill): number[] {
  if (fill.how === 'pages') return new Array<number>(backing.pageCount).fill(1);
  if (fill.how === 'write')
    return writeFolioLayout(backing.size, fill.writeSize ?? Math.max(1, backing.size), backing.pageSize);
  let total = 0;
  for (const n of fill.pages) {
    if (!Number.isSafeInteger(n) || n < 1 || 2 ** ilog2(n) !== n || n > 2 ** MAX_PAGECACHE_ORDER) {
      throw new InternalError(
        `${backing.path}: folio size ${n} is not a power of two from 1 to ${2 ** MAX_PAGECACHE_ORDER} pages`,
      );
    }
    if (total % n !== 0)
      throw new InternalError(`${backing.path}: a folio of ${n} pages at page ${total} is not aligned`);
    total += n;
  }
  if (total > backing.pageCount)
    throw new InternalError(`${backing.path}: folios cover ${total} pages, the file has ${backing.pageCount}`);
  return [...fill.pages];
}

/** Records large folios of `space` starting at page 0 (sizes from folioLayout). */
export function setFolios(space: AddressSpace, sizes: readonly number[]): void {
  let index = 0;
  for (const nr of sizes) {
    if (nr > 1) {
      for (let i = 0; i < nr; i++) space.folioHead.set(index + i, index);
      space.folioPages.set(index, nr);
    }
    index += nr;
  }
}

/** The folio holding page `index` of a file space: [head index, pages]. */
export function folioOf(space: AddressSpace, index: number): [number, number] {
  const head = space.folioHead.get(index);
  if (head === undefined) return [index, 1];
  return [head, space.folioPages.get(head)!];
}

/** A page left the page cache: its large folio (if any) falls apart into 4 KiB pages. */
export function dissolveFolio(space: AddressSpace, index: number): void {
  const head = space.folioHead.get(index);
  if (head === undefined) return;
  const nr = space.folioPages.get(head)!;
  for (let i = 0; i < nr; i++) space.folioHead.delete(head + i);
  space.folioPages.delete(head);
}

/**
 * Whether the folio [head, head + nr) of a file mapped at `vmaStartVpn`
 * (pgoff `pgoff`, `vmaPages` long) lies inside the VMA and inside one page
 * table: folio_within_vma plus the PMD test of filemap_map_folio_range and
 * finish_fault. Returns the folio's first vpn, or -1.
 */
export function folioMappableAt(
  head: number,
  nr: number,
  vmaStartVpn: number,
  pgoff: number,
  vmaPages: number,
): number {
  if (head < pgoff || head + nr > pgoff + vmaPages) return -1;
  const first = vmaStartVpn + (head - pgoff);
  if (Math.floor(first / PTRS_PER_PTE) !== Math.floor((first + nr - 1) / PTRS_PER_PTE)) return -1;
  return first;
}

/** folio_mark_dirty: a write through MAP_SHARED dirties every cached page of the folio holding `index`. */
export function folioMarkDirty(flags: Uint16Array, space: AddressSpace, index: number, dirtyBit: number): void {
  const [head, nr] = folioOf(space, index);
  for (let k = 0; k < nr; k++) {
    const frame = space.pages.get(head + k);
    if (frame !== undefined) flags[frame]! |= dirtyBit;
  }
}
