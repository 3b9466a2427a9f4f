/**
 * FileBacking for plain files on disk, and the FileTable that opens them for
 * one load.
 *
 * A FileTable holds one PageIndex for every file it opens, so identical
 * pages of different files get the same contentId (0 for an all-zero page,
 * as the scanner numbers them); it also hands out one backing per real path,
 * so two execs of the same program share a page cache in the memory model.
 * Hard links (one inode under two names, as /usr/bin/perl and perl5.36.0)
 * get one backing per name, because /proc/PID/maps shows the name that was
 * opened; they share the bytes and the content ids.
 *
 * The whole file is read once (execve reads through the page cache; the
 * simulator keeps the bytes). Content ids are computed on the first call to
 * contentId(), one pass over the file's pages, so `pagestack maps` never
 * hashes anything.
 */
import * as fs from 'node:fs';
import { fsError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';
import { loadPageHasher, type PageHash64 } from '../scan/hash.js';
import { PageIndex, ZERO_CONTENT_ID } from '../scan/pageindex.js';
import { resolveInRoot } from './resolve.js';
import { openRegular, readOpened } from '../util/open-regular.js';

export const LOADER_PAGE_SIZE = 4096;

/**
 * statfs f_type of filesystems whose file_operations.get_unmapped_area is
 * thp_get_unmapped_area in 6.18, so that a file mapping of 2 MiB or more is
 * placed 2 MiB-aligned relative to its file offset: ext2/3/4 (one magic) and
 * XFS. Others (overlayfs, tmpfs without huge=, NFS, 9p) place page-aligned.
 */
const THP_ALIGNING_FILESYSTEMS = new Set<number>([0xef53, 0x58465342]);

/** A plain file as a FileBacking, with the identity /proc/PID/maps prints. */
export class PlainFileBacking implements FileBacking {
  readonly path: string;
  readonly size: number;
  readonly pageSize = LOADER_PAGE_SIZE;
  readonly pageCount: number;
  /** The file's bytes. */
  readonly bytes: Uint8Array;
  /** st_dev split as the kernel's MAJOR()/MINOR(), and st_ino. */
  readonly major: number;
  readonly minor: number;
  readonly inode: bigint;
  /** The filesystem places large mappings 2 MiB-aligned (thp_get_unmapped_area). */
  readonly thpAligned: boolean;

  private readonly inodeContent: InodeContent;
  private readonly table: FileTable;

  constructor(table: FileTable, path: string, content: InodeContent, stat: fs.BigIntStats, thpAligned: boolean) {
    this.table = table;
    this.path = path;
    this.inodeContent = content;
    const bytes = content.bytes;
    this.bytes = bytes;
    this.size = bytes.length;
    this.pageCount = Math.ceil(bytes.length / LOADER_PAGE_SIZE);
    // new_decode_dev(): the 64-bit st_dev glibc and Node report.
    const dev = stat.dev;
    this.major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    this.minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
    this.inode = stat.ino;
    this.thpAligned = thpAligned;
  }

  readPage(pageIndex: number, into: Uint8Array): void {
    const start = pageIndex * LOADER_PAGE_SIZE;
    if (start >= this.size) {
      into.fill(0, 0, LOADER_PAGE_SIZE);
      return;
    }
    const end = Math.min(start + LOADER_PAGE_SIZE, this.size);
    into.set(this.bytes.subarray(start, end));
    if (end - start < LOADER_PAGE_SIZE) into.fill(0, end - start, LOADER_PAGE_SIZE);
  }

  contentId(pageIndex: number): number {
    if (pageIndex < 0 || pageIndex >= this.pageCount) return ZERO_CONTENT_ID;
    this.inodeContent.ids ??= this.table.indexPages(this);
    return this.inodeContent.ids[pageIndex]!;
  }
}

/** The bytes of one inode and, once computed, its pages' content ids. */
interface InodeContent {
  bytes: Uint8Array;
  ids?: Int32Array;
}

/**
 * Where execve finds its files. FileTable reads them from disk; a container
 * reader can answer from its members (then /proc/PID/maps shows 00:00 0 for
 * device and inode, and no THP alignment applies).
 */
export interface ExecFileSource {
  /** The program named to execve. Throws InputError when it cannot be opened. */
  program(path: string): FileBacking;
  /**
   * The interpreter named by PT_INTERP of `programPath`; `root` is
   * ExecOptions.root (undefined: the real root, relative paths from the cwd).
   */
  interpreter(path: string, root: string | undefined, programPath: string): FileBacking;
}

/** The files of one load, from disk, sharing one distinct-page index. */
export class FileTable implements ExecFileSource {
  private readonly byPath = new Map<string, PlainFileBacking>();
  private readonly byInode = new Map<string, InodeContent>();
  private readonly hash: PageHash64;
  private index: PageIndex | undefined;
  /** Files in the order they were indexed; content id i was first seen in file firstSeenFile[i-1], page firstSeenPage[i-1]. */
  private readonly indexed: PlainFileBacking[] = [];
  private firstSeenFile = new Int32Array(1024);
  private firstSeenPage = new Int32Array(1024);
  private readonly scratch = new Uint8Array(LOADER_PAGE_SIZE);

  private readonly thpAligned: boolean | undefined;

  /**
   * `hash` is the page hash for content ids. `options.thpAligned` overrides
   * the statfs check of whether a file's filesystem places large mappings
   * 2 MiB-aligned (default: ask the filesystem).
   */
  constructor(hash: PageHash64, options: { thpAligned?: boolean } = {}) {
    this.hash = hash;
    this.thpAligned = options.thpAligned;
  }

  /** A table hashing with XXH64 (src/scan/hash.ts). */
  static async create(options: { thpAligned?: boolean } = {}): Promise<FileTable> {
    return new FileTable(await loadPageHasher(), options);
  }

  program(path: string): PlainFileBacking {
    let realPath: string;
    try {
      realPath = fs.realpathSync(path);
    } catch (err) {
      throw fsError(err, path);
    }
    return this.open(realPath);
  }

  interpreter(path: string, root: string | undefined, programPath: string): PlainFileBacking {
    const cwd = root === undefined ? process.cwd() : '/';
    return this.open(resolveInRoot(root ?? '/', path, `${programPath}: interpreter`, cwd));
  }

  /** The backing of the regular file at `realPath` (already resolved), opened once per table. */
  open(realPath: string): PlainFileBacking {
    const known = this.byPath.get(realPath);
    if (known) return known;
    // Opened without blocking and checked on the descriptor: a FIFO or a device is refused by what it is.
    const { fd } = openRegular(realPath);
    try {
      let stat: fs.BigIntStats;
      try {
        stat = fs.fstatSync(fd, { bigint: true });
      } catch (err) {
        throw fsError(err, realPath);
      }
      // ctime too: an inode number freed by a deleted file can come back for a new one.
      const inode = `${stat.dev}:${stat.ino}:${stat.ctimeNs}:${stat.size}`;
      let content = this.byInode.get(inode);
      if (!content) {
        content = { bytes: readOpened(fd, Number(stat.size), realPath) };
        this.byInode.set(inode, content);
      }
      const backing = new PlainFileBacking(
        this,
        realPath,
        content,
        stat,
        this.thpAligned ?? placesThpAligned(realPath),
      );
      this.byPath.set(realPath, backing);
      return backing;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Content ids for every page of `backing`, through the shared index. */
  indexPages(backing: PlainFileBacking): Int32Array {
    this.index ??= new PageIndex(LOADER_PAGE_SIZE, this.hash, (id, into) =>
      this.indexed[this.firstSeenFile[id - 1]!]!.readPage(this.firstSeenPage[id - 1]!, into),
    );
    const index = this.index;
    const fileNumber = this.indexed.push(backing) - 1;
    const ids = new Int32Array(backing.pageCount);
    const fullPages = Math.floor(backing.size / LOADER_PAGE_SIZE);
    for (let p = 0; p < backing.pageCount; p++) {
      let page: Uint8Array;
      if (p < fullPages) {
        page = backing.bytes.subarray(p * LOADER_PAGE_SIZE, (p + 1) * LOADER_PAGE_SIZE);
      } else {
        backing.readPage(p, this.scratch);
        page = this.scratch;
      }
      const id = index.add(page);
      ids[p] = id;
      if (index.isNew && id !== ZERO_CONTENT_ID) this.remember(id, fileNumber, p);
    }
    return ids;
  }

  private remember(id: number, fileNumber: number, page: number): void {
    if (id > this.firstSeenPage.length) {
      this.firstSeenFile = grow(this.firstSeenFile);
      this.firstSeenPage = grow(this.firstSeenPage);
    }
    this.firstSeenFile[id - 1] = fileNumber;
    this.firstSeenPage[id - 1] = page;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(a.length * 2);
  grown.set(a);
  return grown;
}

function placesThpAligned(path: string): boolean {
  try {
    return THP_ALIGNING_FILESYSTEMS.has(fs.statfsSync(path).type);
  } catch {
    return false;
  }
}
