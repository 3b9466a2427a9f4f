/**
 * Where file pages come from. The memory model reads file content through
 * this interface only, so a program can be backed by a plain ELF file on
 * disk or by a member of a pagestack container.
 *
 * `contentId` is the key of the content-shared page cache: two pages with
 * the same contentId hold the same bytes (for a container, the stored-page
 * index of the page-share map; for plain files, the distinct-page index the
 * scanner assigns). 0 means an all-zero page. The ordinary per-file page
 * cache ignores it and keys by (file id, page index) instead.
 */
export interface FileBacking {
  /** A stable name for the file, used in /proc/PID/maps (the real path). */
  readonly path: string;
  /** File size in bytes. */
  readonly size: number;
  /** Page size the backing was cut with (4096 for the loader). */
  readonly pageSize: number;
  /** Number of pages, ceil(size / pageSize). */
  readonly pageCount: number;
  /** Copies page `pageIndex` (zero-padded past EOF) into `into` (length pageSize). */
  readPage(pageIndex: number, into: Uint8Array): void;
  /** Content identity of page `pageIndex`; 0 for an all-zero page (including pages past EOF). */
  contentId(pageIndex: number): number;
  /**
   * Which numbering the contentIds come from (a container, a scan's page
   * index, a MemoryBacking's ContentIndex). Backings with the same
   * contentSpace share frames in the content-shared page cache; backings
   * with different ones never do. Undefined: the default space, shared by
   * every backing that leaves it undefined.
   */
  readonly contentSpace?: unknown;
}
