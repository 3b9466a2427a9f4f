/**
 * pack: a tree of files in, a container out (docs/FORMAT.md).
 *
 * Streaming with bounded memory: the walk keeps only file metadata; file
 * contents are read 1 MiB at a time; every page goes through the PageIndex
 * (src/scan/pageindex.ts), which holds only hashes of distinct pages; a hash
 * match is confirmed by re-reading the first occurrence from its source
 * file; distinct pages go to the page store as they are found. What grows
 * with the input is 12-24 bytes per distinct page in the index, 32 bytes per
 * stored page in the page table, 8 bytes per stored page for where it was
 * first seen, and 4 bytes per page in the share map.
 *
 * The header is written last at offset 0; the file is written under a
 * temporary name and renamed at the end (output.ts).
 */
import { checkPageSize } from '../abi/page-size.js';
import fs from 'node:fs';
import { PagestackError, UsageError, fsError, type InputError } from '../errors.js';
import { PAGES_PER_CALL, createPageHasher, loadPageHasher, type PageHash64 } from '../scan/hash.js';
import { PageIndex, ZERO_CONTENT_ID } from '../scan/pageindex.js';
import {
  FILE_ENTRY_SIZE,
  OPTIONAL_PAGE_ALIGNED,
  REQUIRED_LZ4,
  REQUIRED_ZSTD_PAGES,
  SECTION_CHECKSUMMED,
  SECTION_REQUIRED,
  SectionKind,
  encodeFileEntry,
  encodeHeader,
  headerSizeFor,
  type SectionEntry,
} from './format.js';
import { GrowableBytes, GrowableU32 } from './growable.js';
import { ZSTD_DEFAULT_LEVEL, checkZstdLevel, loadZstd } from '../codec/zstd.js';
import { OutputFile } from './output.js';
import { defaultThreads, workersAvailable } from './compress-workers.js';
import { PageStoreWriter, type PageLayout } from './page-store.js';
import { SourceFiles } from './sources.js';
import { walkInputs, type WalkEntry } from './walk.js';
import { capturePseudoFiles } from './pseudo-files.js';
import { encodeName, osPath } from './name-bytes.js';
import {
  changedError,
  checkAllUnchanged,
  checkNothingPast,
  checkStamp,
  stampDifference,
  stampOf,
} from './source-check.js';
import type { WalkSkip } from './walk-filter.js';
import { RacyFiles, nowNs } from './racy-files.js';

export interface PackOptions {
  /** Bytes per page: 4096 (default), 16384 or 65536. */
  pageSize?: number;
  /**
   * 'lz4' (default): LZ4 where it saves space. 'zstd': one zstd frame per
   * page where it saves space. 'none': raw, page-aligned pages (mmap-able).
   */
  codec?: PageLayout;
  /** zstd's compression level, 1..19 (default 3). Only with codec 'zstd'. */
  level?: number;
  /** Fail (E_TOO_LARGE) when the container would exceed this many bytes. */
  maxSize?: number;
  /** Clamp mtimes to this time in seconds (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /**
   * Compression worker threads; default: one fewer than the CPUs (at most 3;
   * the main thread compresses too when the workers are behind), 0 for
   * inputs under 8 MiB.
   */
  threads?: number;
  signal?: AbortSignal;
  /** Called with (input bytes done, input bytes in all). */
  onProgress?: (done: number, total: number) => void;
  /** Glob patterns of paths inside the container to leave out (walk-filter.ts). */
  exclude?: readonly string[];
  /** Leave out FIFOs, sockets and device files (reported through onSkip) instead of failing. */
  skipSpecial?: boolean;
  /** Called for every entry left out: excluded, special, or the output container itself. */
  onSkip?: (skip: WalkSkip) => void;
  /**
   * For tests: the hash the page index uses to find candidate duplicates
   * (default XXH64). A weak one forces the byte-for-byte confirmation path;
   * the container must come out the same. Checksums always use XXH64.
   */
  indexHash?: PageHash64;
  /**
   * For tests: called after each read of a source file with the file and
   * the offset read up to, so a test can change the file mid-pack.
   */
  afterSourceRead?: (source: string, position: number) => void;
  /** For tests: called before a racily clean file is read the second time (racy-files.ts). */
  beforeSecondRead?: (source: string) => void;
}

export interface PackSummary {
  output: string;
  pageSize: number;
  codec: PageLayout;
  /** zstd's level, for codec 'zstd'. */
  level?: number;
  files: number;
  regularFiles: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of file content read (each hard-linked file once). */
  inputBytes: number;
  pages: number;
  zeroPages: number;
  /** Non-zero pages whose content was already stored. */
  duplicatePages: number;
  storedPages: number;
  lz4Pages: number;
  zstdPages: number;
  rawPages: number;
  /** Bytes of the page store. */
  storedBytes: number;
  containerBytes: number;
  /** containerBytes / inputBytes (0 when there is no input). */
  ratio: number;
  /** Entries left out: by --exclude, by --skip-special, and the output container itself. */
  excluded: number;
}

const CHUNK_BYTES = 1 << 20;
const THREADS_MIN_INPUT = 8 << 20;

export async function pack(inputs: readonly string[], output: string, options: PackOptions = {}): Promise<PackSummary> {
  const pageSize = checkPageSize(options.pageSize ?? 4096);
  const layout = options.codec ?? 'lz4';
  if (options.level !== undefined && layout !== 'zstd')
    throw new UsageError(`a level applies to --codec zstd only, not ${layout}`, { field: 'level' });
  const level = layout === 'zstd' ? checkZstdLevel(options.level ?? ZSTD_DEFAULT_LEVEL) : undefined;
  // zstd's WebAssembly module loads asynchronously; the LZ4 codec needs nothing first.
  if (layout === 'zstd') await loadZstd();
  // The code-page hints (ELF program headers, the codec registry) only for zstd: an LZ4 pack loads fewer modules.
  const codeHints = layout === 'zstd' ? await import('./code-pages.js') : undefined;
  let excluded = 0;
  const entries = walkInputs(inputs, {
    clampMtimeSeconds: options.sourceDateEpoch,
    exclude: options.exclude,
    skipSpecial: options.skipSpecial,
    output: existingFile(output),
    onSkip: (s) => {
      excluded++;
      options.onSkip?.(s);
    },
  });
  const pseudo = capturePseudoFiles(entries);
  try {
    return await packEntries(entries, output, pageSize, layout, level, excluded, options, codeHints);
  } finally {
    pseudo.dispose();
  }
}

async function packEntries(
  entries: WalkEntry[],
  output: string,
  pageSize: number,
  layout: PageLayout,
  level: number | undefined,
  excluded: number,
  options: PackOptions,
  codeHints: typeof import('./code-pages.js') | undefined,
): Promise<PackSummary> {
  const inputBytes = entries.reduce((sum, e) => sum + e.size, 0);
  const threads = options.threads ?? (workersAvailable() && inputBytes >= THREADS_MIN_INPUT ? defaultThreads() : 0);
  if (threads > 0 && !workersAvailable())
    throw new UsageError('compression threads need the compiled worker (npm run build)');

  const sources = new SourceFiles(entries, pageSize);
  const out = OutputFile.create(output, options.maxSize);
  const headerSpace = layout === 'none' ? pageSize : headerSizeFor(5);
  let store: PageStoreWriter | undefined;
  try {
    out.padTo(headerSpace);
    // The compression workers first: they start up while the hashers load.
    store = await PageStoreWriter.create(out, pageSize, layout, threads, level);
    const h64 = await loadPageHasher();
    // Pages are read into the hasher's buffer and hashed a run at a time, in place (src/scan/hash.ts).
    const hasher = await createPageHasher();
    // Sized for twice the input's page count (at most 2^21 slots, 24 MiB) so that it seldom grows.
    const index = new PageIndex(
      pageSize,
      options.indexHash ?? hasher.hash,
      (id, into) => sources.readFirstOccurrence(id, into),
      Math.min(1 << 21, Math.max(1 << 16, 2 * Math.ceil(inputBytes / pageSize))),
    );
    const shareMap = new GrowableU32(1 << 16);
    const counts = { zero: 0, duplicate: 0 };
    const chunk = hasher.buffer(CHUNK_BYTES);
    const racy = new RacyFiles(pageSize);
    let done = 0;
    for (let f = 0; f < entries.length; f++) {
      const entry = entries[f]!;
      if (entry.kind !== 'regular') continue;
      const fd = openSource(entry);
      // zstd converts branches in code pages (branch-filter.ts); the hint comes from the ELF program headers.
      const code = codeHints?.codePages(fd, entry.size, pageSize);
      // Files written moments ago are read again once any write in progress has finished (racy-files.ts).
      const pageHashes = entry.stamp && racy.begin(entry.source, entry.size, entry.stamp, nowNs());
      try {
        for (let position = 0; position < entry.size; ) {
          if (options.signal?.aborted) throw new PagestackError('E_INTERRUPTED', 'interrupted', {}, 130);
          const want = Math.min(CHUNK_BYTES, entry.size - position);
          readExactly(fd, chunk, want, position, entry.source);
          options.afterSourceRead?.(entry.source, position + want);
          const padded = Math.ceil(want / pageSize) * pageSize;
          chunk.fill(0, want, padded);
          const pages = padded / pageSize;
          for (let run = 0; run < pages; run += PAGES_PER_CALL) {
            const count = Math.min(PAGES_PER_CALL, pages - run);
            const hashes = hasher.hashPages(run * pageSize, pageSize, count);
            for (let i = 0; i < count; i++) {
              const at = (run + i) * pageSize;
              const lo = hashes[2 * i]!;
              if (pageHashes) {
                pageHashes.push(lo);
                pageHashes.push(hashes[2 * i + 1]!);
              }
              // An injected index hash (tests) gets the page as its own array, as PageHash64 callers may assume.
              const id = options.indexHash
                ? index.add(chunk.subarray(at, at + pageSize))
                : index.addHashed(chunk, at, lo, hashes[2 * i + 1]!);
              shareMap.push(id);
              if (id === ZERO_CONTENT_ID) counts.zero++;
              else if (!index.isNew) counts.duplicate++;
              else {
                sources.recordFirstOccurrence(f, (position + at) / pageSize);
                // checksum32 of the page's XXH64 is its low word.
                const filter = code ? codeHints!.pageFilter(code, (position + at) / pageSize) : 0;
                const wait = store.put(chunk, at, lo, filter);
                if (wait) await wait;
              }
            }
          }
          // The chunk is read into again next: the store copies the pages it has not yet.
          store.release();
          position += want;
          done += want;
          options.onProgress?.(done, inputBytes);
        }
        if (entry.stamp) {
          checkNothingPast(fd, entry.source, entry.size, chunk);
          checkStamp(fd, entry.source, entry.stamp, 'after it was read');
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    await store.finish();
    const hashPages = (offset: number, size: number, count: number) => hasher.hashPages(offset, size, count);
    await racy.verify(chunk, hashPages, PAGES_PER_CALL, options.signal, options.beforeSecondRead);
    sources.close();
    checkAllUnchanged(entries);

    // Tables after the page store, then the header at offset 0.
    const pageStore = section(SectionKind.PageStore, store.startOffset, store.storedBytes, 0n, false);
    const tables = buildTables(entries, pageSize, shareMap.contents());
    const sections: SectionEntry[] = [pageStore];
    for (const [kind, bytes] of [
      [SectionKind.PageTable, store.pageTable.contents()],
      [SectionKind.FileTable, tables.fileTable],
      [SectionKind.ShareMap, tables.shareMap],
      [SectionKind.StringTable, tables.stringTable],
    ] as const) {
      sections.push(section(kind, out.position, bytes.length, h64(bytes), true));
      out.write(bytes);
    }
    const header = encodeHeader(
      {
        requiredFlags: store.compressedPages === 0 ? 0n : layout === 'zstd' ? REQUIRED_ZSTD_PAGES : REQUIRED_LZ4,
        optionalFlags: layout === 'none' ? OPTIONAL_PAGE_ALIGNED : 0n,
        pageSize,
        fileCount: entries.length,
        storedPageCount: store.storedPages,
        totalPages: shareMap.length,
        containerSize: out.position,
        sections,
      },
      h64,
    );
    out.writeAt(header, 0);
    out.commit();
    // The workers were told to stop in finish(); they exit while the tables above are written.
    await store.close();
    return {
      output,
      pageSize,
      codec: layout,
      ...(level === undefined ? {} : { level }),
      files: entries.length,
      regularFiles: entries.filter((e) => e.kind === 'regular').length,
      directories: entries.filter((e) => e.kind === 'directory').length,
      symlinks: entries.filter((e) => e.kind === 'symlink').length,
      hardlinks: entries.filter((e) => e.kind === 'hardlink').length,
      inputBytes,
      pages: shareMap.length,
      zeroPages: counts.zero,
      duplicatePages: counts.duplicate,
      storedPages: store.storedPages,
      lz4Pages: layout === 'lz4' ? store.compressedPages : 0,
      zstdPages: layout === 'zstd' ? store.compressedPages : 0,
      rawPages: store.storedPages - store.compressedPages,
      storedBytes: store.storedBytes,
      containerBytes: out.position,
      ratio: inputBytes > 0 ? out.position / inputBytes : 0,
      excluded,
    };
  } catch (err) {
    out.abandon();
    await store?.close();
    sources.close();
    throw err;
  }
}

function section(kind: number, offset: number, length: number, checksum: bigint, checksummed: boolean): SectionEntry {
  return { kind, flags: SECTION_REQUIRED | (checksummed ? SECTION_CHECKSUMMED : 0), offset, length, checksum };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The file table, string table and share map bytes (FORMAT.md sections 5 and 6). */
function buildTables(
  entries: WalkEntry[],
  pageSize: number,
  shareMap: Uint32Array,
): { fileTable: Uint8Array; stringTable: Uint8Array; shareMap: Uint8Array } {
  const fileTable = new Uint8Array(entries.length * FILE_ENTRY_SIZE);
  const view = new DataView(fileTable.buffer);
  const strings = new GrowableBytes();
  let firstPage = 0;
  entries.forEach((e, i) => {
    const pathBytes = encodeName(e.path);
    const pathOffset = strings.append(pathBytes);
    const linkBytes = e.kind === 'symlink' ? encodeName(e.linkTarget) : new Uint8Array(0);
    const linkOffset = e.kind === 'symlink' ? strings.append(linkBytes) : 0;
    encodeFileEntry(view, i * FILE_ENTRY_SIZE, {
      pathOffset,
      pathLength: pathBytes.length,
      kind: e.kind,
      mode: e.mode,
      mtimeSeconds: e.mtimeSeconds,
      mtimeNanoseconds: e.mtimeNanoseconds,
      linkOffset,
      linkLength: linkBytes.length,
      linkIndex: e.linkIndex,
      size: e.size,
      firstPage: e.kind === 'regular' ? firstPage : 0,
    });
    if (e.kind === 'regular') firstPage += Math.ceil(e.size / pageSize);
  });
  let shareBytes = new Uint8Array(shareMap.buffer, shareMap.byteOffset, shareMap.byteLength);
  if (!HOST_LITTLE_ENDIAN) {
    shareBytes = new Uint8Array(shareMap.length * 4);
    const v = new DataView(shareBytes.buffer);
    shareMap.forEach((id, i) => v.setUint32(i * 4, id, true));
  }
  return { fileTable, stringTable: strings.contents(), shareMap: shareBytes };
}

function openSource(entry: WalkEntry): number {
  let fd: number;
  try {
    fd = fs.openSync(osPath(entry.source), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    throw fsError(err, entry.source);
  }
  try {
    // One fstat for both checks.
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (err) {
      throw fsError(err, entry.source);
    }
    if (!st.isFile() || st.size !== BigInt(entry.size)) throw changed(entry.source);
    const diff = entry.stamp && stampDifference(entry.stamp, stampOf(st));
    if (diff) throw changedError(entry.source, `${diff} differs from when the walk saw it`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

function readExactly(fd: number, into: Uint8Array, length: number, position: number, file: string): void {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, length - done, position + done);
    } catch (err) {
      throw fsError(err, file);
    }
    if (n === 0) throw changed(file);
    done += n;
  }
}

function changed(file: string): InputError {
  return changedError(file, 'its size differs from when the walk saw it');
}

/** Device and inode of `file` when it exists: an earlier container at the output path is never packed into the new one. */
function existingFile(file: string): { dev: bigint; ino: bigint } | undefined {
  try {
    const st = fs.statSync(file, { bigint: true });
    return st.isFile() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}
