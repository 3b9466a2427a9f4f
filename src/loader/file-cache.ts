/**
 * The page-cache state of the files a program maps, before it starts: which
 * of their pages are cached, and in which folio sizes. Linux 6.18 on ext4
 * keeps a file's page cache in folios of 2^order pages whose sizes depend
 * on how the pages got there (src/mm/folio.ts), and a fault maps a whole
 * large folio where it fits (finish_fault, filemap_map_pages), so the same
 * program shows a different text Rss depending on how its files were
 * written or read.
 *
 * - `faulted` (the default): nothing is cached beforehand; a page enters the
 *   cache in a 4 KiB folio when a fault reads it, and fault-around maps
 *   only pages some process already faulted in. Memory counts are those of
 *   the workload alone (the page cache holds only what is mapped).
 * - `pages`: every page of every mapped file is cached, in 4 KiB folios: a
 *   warm cache as mmap read faults leave it (do_sync_mmap_readahead sets
 *   ra->order = 0), or a file written in 4 KiB write() calls. What this
 *   machine's /usr/bin and /usr/lib files showed in /proc/kpageflags.
 * - `write` (`write:BYTES`): every page cached in the folios write() calls
 *   of BYTES (default: one write of the whole file) leave, then fsync: a
 *   program just built, copied or installed with large writes.
 *
 * Cold caches (a file read from disk by the first exec, with readahead's
 * growing folio orders) are not modelled.
 *
 * With the content-shared page cache (`pageCache: 'content'`) folios do not
 * exist (every page is 4 KiB, docs/notes/mm.md), so `pages` and `write`
 * both fill that cache with every page of the file.
 */
import type { FileBacking } from '../abi/file-backing.js';
import { UsageError } from '../errors.js';
import type { Machine } from '../mm/machine.js';

/** How the mapped files sit in the page cache before the program runs. */
export type FileCacheState = { how: 'faulted' } | { how: 'pages' } | { how: 'write'; writeSize?: number };

export const DEFAULT_FILE_CACHE: FileCacheState = { how: 'faulted' };

/** The states' names, as the CLI and scenarios spell them. */
export const FILE_CACHE_NAMES = ['faulted', 'pages', 'write', 'write:BYTES'] as const;

/** Largest write() Linux does in one call (MAX_RW_COUNT, INT_MAX rounded down to a page). */
const MAX_RW_COUNT = 0x7ffff000;

/**
 * Parses `faulted`, `pages`, `write` or `write:BYTES` (BYTES a whole number,
 * optionally with K/M/G or KiB/MiB/GiB); undefined when it is none of them.
 */
export function parseFileCacheState(text: string): FileCacheState | undefined {
  const t = text.trim();
  if (t === 'faulted' || t === 'pages' || t === 'write') return { how: t };
  const m = /^write:(\d+)\s*(k|kib|m|mib|g|gib)?$/i.exec(t);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const bytes = Number(m[1]) * scale;
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_RW_COUNT) return undefined;
  return { how: 'write', writeSize: bytes };
}

/** parseFileCacheState for a command-line flag: a UsageError naming the flag when the text is not a state. */
export function fileCacheOption(flag: string, text: string): FileCacheState {
  const state = parseFileCacheState(text);
  if (state === undefined) {
    throw new UsageError(
      `${flag} must be faulted, pages, write or write:BYTES (BYTES from 1 to ${MAX_RW_COUNT}), not "${text}"`,
    );
  }
  return state;
}

/** The state as parseFileCacheState reads it back. */
export function formatFileCacheState(state: FileCacheState): string {
  return state.how === 'write' && state.writeSize !== undefined ? `write:${state.writeSize}` : state.how;
}

/** Whether the state puts whole files into the page cache (the Machine must keep unmapped pages cached). */
export function fillsPageCache(state: FileCacheState): boolean {
  return state.how !== 'faulted';
}

const filled = new WeakMap<Machine, WeakSet<FileBacking>>();

/**
 * Puts each file into `machine`'s page cache as `state` says, once per
 * Machine and file (a file already filled, or already partly cached, keeps
 * what it has). `faulted` does nothing. The Machine must have been made
 * with keepPageCache for the pages to stay cached.
 */
export function fillFileCache(machine: Machine, backings: Iterable<FileBacking>, state: FileCacheState): void {
  if (state.how === 'faulted') return;
  let done = filled.get(machine);
  if (done === undefined) {
    done = new WeakSet();
    filled.set(machine, done);
  }
  const content = machine.pageCacheMode === 'content';
  for (const backing of backings) {
    if (done.has(backing)) continue;
    done.add(backing);
    if (backing.size === 0) continue;
    if (content) machine.readahead(backing);
    else if (state.how === 'pages') machine.cacheFile(backing, { how: 'pages' });
    else
      machine.cacheFile(
        backing,
        state.writeSize === undefined ? { how: 'write' } : { how: 'write', writeSize: state.writeSize },
      );
  }
}
