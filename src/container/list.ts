/**
 * ls: what a container holds, file by file, with the sharing figures:
 * for every file its pages split into zero pages, shared pages (their
 * stored page is used more than once anywhere in the container) and unique
 * pages; for the container the dedup and compression figures.
 */
import { openContainer, type ContainerEntry } from './reader.js';

export interface ListedFile {
  path: string;
  kind: ContainerEntry['kind'];
  mode: number;
  mtimeSeconds: number;
  mtimeNanoseconds: number;
  size: number;
  pages: number;
  zeroPages: number;
  sharedPages: number;
  uniquePages: number;
  linkTarget?: string;
  /** Hard links: the path of the file they link to. */
  linkTo?: string;
}

export interface ListResult {
  file: string;
  pageSize: number;
  pageAligned: boolean;
  files: ListedFile[];
  totals: {
    files: number;
    /** Content bytes of regular files (hard links not counted again). */
    inputBytes: number;
    pages: number;
    zeroPages: number;
    /** Non-zero pages whose content is stored for an earlier page. */
    duplicatePages: number;
    storedPages: number;
    lz4Pages: number;
    zstdPages: number;
    rawPages: number;
    storedBytes: number;
    containerBytes: number;
    /** storedPages / non-zero pages: what dedup keeps of the non-zero pages. */
    dedupRatio: number;
    /** storedBytes / (storedPages * pageSize): what LZ4 keeps of the stored pages. */
    compressionRatio: number;
    /** containerBytes / inputBytes. */
    ratio: number;
  };
}

export async function list(input: string): Promise<ListResult> {
  const c = await openContainer(input);
  try {
    const uses = new Uint32Array(c.storedPageCount + 1);
    for (const f of c.files) {
      if (f.kind !== 'regular') continue;
      for (let p = 0; p < f.pageCount; p++) uses[c.pageRef(f.index, p)]!++;
    }
    const files = c.files.map((f): ListedFile => {
      let zeroPages = 0;
      let sharedPages = 0;
      for (let p = 0; p < f.pageCount; p++) {
        const id = c.pageRef(f.index, p);
        if (id === 0) zeroPages++;
        else if (uses[id]! > 1) sharedPages++;
      }
      const listed: ListedFile = {
        path: f.path,
        kind: f.kind,
        mode: f.mode,
        mtimeSeconds: f.mtimeSeconds,
        mtimeNanoseconds: f.mtimeNanoseconds,
        size: f.size,
        pages: f.pageCount,
        zeroPages,
        sharedPages,
        uniquePages: f.pageCount - zeroPages - sharedPages,
      };
      if (f.linkTarget !== undefined) listed.linkTarget = f.linkTarget;
      if (f.linkIndex !== undefined) listed.linkTo = c.files[f.linkIndex]!.path;
      return listed;
    });
    let lz4Pages = 0;
    let zstdPages = 0;
    let storedBytes = 0;
    for (let id = 1; id <= c.storedPageCount; id++) {
      const info = c.storedPageInfo(id);
      if (info.codec === 'lz4') lz4Pages++;
      else if (info.codec === 'zstd') zstdPages++;
      storedBytes += info.storedLength;
    }
    const inputBytes = c.files.reduce((s, f) => s + (f.kind === 'regular' ? f.size : 0), 0);
    const zeroPages = uses[0]!;
    const nonZero = c.totalPages - zeroPages;
    return {
      file: input,
      pageSize: c.pageSize,
      pageAligned: c.pageAligned,
      files,
      totals: {
        files: c.files.length,
        inputBytes,
        pages: c.totalPages,
        zeroPages,
        duplicatePages: nonZero - c.storedPageCount,
        storedPages: c.storedPageCount,
        lz4Pages,
        zstdPages,
        rawPages: c.storedPageCount - lz4Pages - zstdPages,
        storedBytes,
        containerBytes: c.header.containerSize,
        dedupRatio: nonZero > 0 ? c.storedPageCount / nonZero : 1,
        compressionRatio: c.storedPageCount > 0 ? storedBytes / (c.storedPageCount * c.pageSize) : 1,
        ratio: inputBytes > 0 ? c.header.containerSize / inputBytes : 0,
      },
    };
  } finally {
    c.close();
  }
}
