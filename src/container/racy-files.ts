/**
 * Racily clean files: read while a write may still have been in progress
 * (docs/notes/container.md, "Racily clean files").
 *
 * Linux sets a file's mtime and ctime when a write() starts, before it
 * copies any byte (file_update_time in the write path), and not again when
 * it ends. A writer that is descheduled in the middle of one write() leaves
 * the file half old, half new under timestamps that no longer move: stat
 * before and after a read agree, and so do two reads made during the pause.
 *
 * So a file is trusted after one read only when its newest timestamp is
 * older than the read by more than one timestamp granule plus SETTLE_NS,
 * the longest a single write() is assumed to take: every write that could
 * have left that stamp has finished, and any later one moves it. Any other
 * file is "racy" (as git calls the same case for its index): pack records
 * its page hashes, waits once for the latest deadline of all racy files,
 * then reads them again. The stamp must be unchanged and every page must
 * hash the same, or the pack fails with E_CHANGED. A write that pauses for
 * longer than SETTLE_NS can still go unnoticed; so can writes through a
 * shared mapping, which update the timestamps only on the first store to a
 * clean page.
 */
import fs from 'node:fs';
import { PagestackError, fsError } from '../errors.js';
import { GrowableU32 } from './growable.js';
import { osPath } from './name-bytes.js';
import { changedError, checkNothingPast, checkStamp, type FileStamp } from './source-check.js';

/** The longest one write() call is assumed to take, pauses included. */
export const SETTLE_NS = 1_000_000_000n;
/** Timestamps with no sub-second part may come from a filesystem that counts in 2 s steps (FAT's mtime). */
const COARSE_GRANULE_NS = 2_000_000_000n;
/** Otherwise a timestamp is at most one kernel clock tick behind the write (HZ is 100 or more). */
const TICK_NS = 10_000_000n;

/** How far a timestamp can lag the moment of the write that set it. */
export function granuleOf(stamp: FileStamp): bigint {
  return stamp.mtimeNs % 1_000_000_000n === 0n && stamp.ctimeNs % 1_000_000_000n === 0n ? COARSE_GRANULE_NS : TICK_NS;
}

/**
 * When a file with `stamp`, read from `readStartNs` on, can be read again to
 * see it with no write in progress. A stamp in the future (clock skew,
 * utimes) counts from the read: any write would move it backwards.
 */
export function settledAt(stamp: FileStamp, readStartNs: bigint, settleNs: bigint = SETTLE_NS): bigint {
  // The newer of mtime and ctime, or the start of the read when that is earlier.
  let from = stamp.mtimeNs;
  if (stamp.ctimeNs > from) from = stamp.ctimeNs;
  if (readStartNs < from) from = readStartNs;
  return from + granuleOf(stamp) + settleNs;
}

/** Wall clock in nanoseconds, the clock file timestamps use. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

interface RacyFile {
  source: string;
  size: number;
  stamp: FileStamp;
  /** XXH64 of each page of the first read, low and high words. */
  hashes: GrowableU32;
}

/** Hashes the first `count` pages at `offset` of the hasher's buffer: (low, high) word pairs. */
export type HashPages = (offset: number, pageSize: number, count: number) => Uint32Array;

export class RacyFiles {
  private readonly files: RacyFile[] = [];
  private deadline = 0n;

  constructor(
    private readonly pageSize: number,
    private readonly settleNs: bigint = SETTLE_NS,
  ) {}

  /**
   * Called when pack starts reading a file: undefined when one read is
   * enough, else the list its page hashes go to (low, high word per page).
   */
  begin(source: string, size: number, stamp: FileStamp, readStartNs: bigint): GrowableU32 | undefined {
    const at = settledAt(stamp, readStartNs, this.settleNs);
    if (at <= readStartNs) return undefined;
    if (at > this.deadline) this.deadline = at;
    const hashes = new GrowableU32(Math.max(2, 2 * Math.ceil(size / this.pageSize)));
    this.files.push({ source, size, stamp, hashes });
    return hashes;
  }

  /**
   * Waits until every racy file has settled, then reads each again through
   * `chunk` (the hasher's buffer) and fails with E_CHANGED on any difference.
   */
  async verify(
    chunk: Uint8Array,
    hashPages: HashPages,
    pagesPerCall: number,
    signal?: AbortSignal,
    beforeSecondRead?: (source: string) => void,
  ): Promise<void> {
    if (this.files.length === 0) return;
    await sleepUntil(this.deadline, signal);
    for (const file of this.files) {
      beforeSecondRead?.(file.source);
      let fd: number;
      try {
        fd = fs.openSync(osPath(file.source), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      } catch (err) {
        throw changedError(file.source, `it can no longer be opened: ${fsError(err, file.source).message}`);
      }
      try {
        checkStamp(fd, file.source, file.stamp, 'when it was read again');
        readAgain(fd, file, this.pageSize, chunk, hashPages, pagesPerCall);
        checkNothingPast(fd, file.source, file.size, chunk);
        checkStamp(fd, file.source, file.stamp, 'after it was read again');
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}

function readAgain(
  fd: number,
  file: RacyFile,
  pageSize: number,
  chunk: Uint8Array,
  hashPages: HashPages,
  pagesPerCall: number,
): void {
  const expected = file.hashes.data;
  const chunkBytes = chunk.length - (chunk.length % pageSize);
  let page = 0;
  for (let position = 0; position < file.size; ) {
    const want = Math.min(chunkBytes, file.size - position);
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        n = fs.readSync(fd, chunk, done, want - done, position + done);
      } catch (err) {
        throw fsError(err, file.source);
      }
      if (n === 0) throw changedError(file.source, 'shorter when it was read again');
      done += n;
    }
    const padded = Math.ceil(want / pageSize) * pageSize;
    chunk.fill(0, want, padded);
    const pages = padded / pageSize;
    for (let run = 0; run < pages; run += pagesPerCall) {
      const count = Math.min(pagesPerCall, pages - run);
      const got = hashPages(run * pageSize, pageSize, count);
      for (let i = 0; i < count; i++, page++) {
        if (got[2 * i] !== expected[2 * page] || got[2 * i + 1] !== expected[2 * page + 1])
          throw changedError(file.source, `page ${page} differs when read again after any write settled`);
      }
    }
    position += want;
  }
}

async function sleepUntil(deadlineNs: bigint, signal?: AbortSignal): Promise<void> {
  // Timers may fire a little before the wall clock says they should: sleep until it agrees.
  for (let left = deadlineNs - nowNs(); left > 0n; left = deadlineNs - nowNs())
    await sleep(Number(left / 1_000_000n) + 1, signal);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const interrupted = () => {
      clearTimeout(timer);
      reject(new PagestackError('E_INTERRUPTED', 'interrupted', {}, 130));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', interrupted);
      resolve();
    }, ms);
    if (signal?.aborted) interrupted();
    else signal?.addEventListener('abort', interrupted, { once: true });
  });
}
