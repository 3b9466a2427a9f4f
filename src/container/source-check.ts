/**
 * Files that change while pack reads them (docs/notes/container.md, "Files
 * that change during pack").
 *
 * The walk records each regular file's stamp: device, inode, size, mtime and
 * ctime (nanoseconds). Pack compares the stamp of the descriptor it opens
 * with it, reads the file, then compares again and checks that nothing is
 * left past the recorded size. Any difference fails the pack with one line
 * naming the file (E_CHANGED); the output was never renamed into place.
 *
 * A timestamp only moves when the clock ticks (a few milliseconds on many
 * filesystems), so a write in the same tick as the stamp leaves it alone.
 * As git does for its index ("racy git"), a file whose mtime or ctime is
 * within RACY_NS of the moment pack started reading it is read a second
 * time and its page hashes compared; a difference is a change too.
 *
 * At the end, before the output is committed, every regular file is stat'ed
 * once more: a duplicate page is confirmed by re-reading its first
 * occurrence, so a file changed after its own read could still have lent
 * its bytes.
 */
import fs from 'node:fs';
import { InputError, fsError } from '../errors.js';
import { osPath } from './name-bytes.js';

/** What identifies one version of a file's content without reading it. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A file whose mtime or ctime is this close (or later) to the start of its read is read twice. */
export const RACY_NS = 2_000_000_000n;

export function stampOf(st: fs.BigIntStats): FileStamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** The first field that differs ("size", "mtime", ...), or undefined when the stamps agree. */
export function stampDifference(a: FileStamp, b: FileStamp): string | undefined {
  if (a.dev !== b.dev || a.ino !== b.ino) return 'inode';
  if (a.size !== b.size) return 'size';
  if (a.mtimeNs !== b.mtimeNs) return 'mtime';
  if (a.ctimeNs !== b.ctimeNs) return 'ctime';
  return undefined;
}

export function changedError(file: string, what: string): InputError {
  return new InputError(
    'E_CHANGED',
    `${file}: changed while it was being packed (${what}); pack again when it is not being written`,
    { file, field: what },
  );
}

export function fstampOf(fd: number, file: string): FileStamp {
  try {
    return stampOf(fs.fstatSync(fd, { bigint: true }));
  } catch (err) {
    throw fsError(err, file);
  }
}

/** Fails unless the file open on `fd` still has stamp `expected`. */
export function checkStamp(fd: number, file: string, expected: FileStamp, when: string): void {
  const diff = stampDifference(expected, fstampOf(fd, file));
  if (diff) throw changedError(file, `${diff} differs ${when}`);
}

/** Fails when the file open on `fd` has bytes past `size` (it grew, whatever its stat says). */
export function checkNothingPast(fd: number, file: string, size: number, scratch: Uint8Array): void {
  let n: number;
  try {
    n = fs.readSync(fd, scratch, 0, 1, size);
  } catch (err) {
    throw fsError(err, file);
  }
  if (n !== 0) throw changedError(file, `more than the ${size} bytes it had when the walk saw it`);
}

/** Whether a file with this stamp may have been written in the same clock tick as `nowNs`. */
export function isRacy(stamp: FileStamp, nowNs: bigint): boolean {
  return stamp.mtimeNs >= nowNs - RACY_NS || stamp.ctimeNs >= nowNs - RACY_NS;
}

/** Wall clock in nanoseconds, the clock file timestamps use. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Fails when any regular file's stamp (by path, without following links) differs from the walk's. */
export function checkAllUnchanged(files: ReadonlyArray<{ source: string; stamp?: FileStamp }>): void {
  for (const f of files) {
    if (!f.stamp) continue;
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(osPath(f.source), { bigint: true });
    } catch (err) {
      throw changedError(f.source, `it can no longer be stat'ed: ${fsError(err, f.source).message}`);
    }
    const diff = stampDifference(f.stamp, stampOf(st));
    if (diff) throw changedError(f.source, `${diff} differs at the end of the pack`);
  }
}

/**
 * Reads the file open on `fd` again, page by page (zero-padded), and fails
 * unless every page hashes as in `expected` (the hashes of the first read).
 */
export function checkSecondRead(
  fd: number,
  file: string,
  size: number,
  pageSize: number,
  hash: (page: Uint8Array) => bigint,
  expected: readonly bigint[],
  chunk: Uint8Array,
): void {
  let page = 0;
  for (let position = 0; position < size; ) {
    const want = Math.min(chunk.length, size - position);
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        n = fs.readSync(fd, chunk, done, want - done, position + done);
      } catch (err) {
        throw fsError(err, file);
      }
      if (n === 0) throw changedError(file, 'shorter on a second read');
      done += n;
    }
    const padded = Math.ceil(want / pageSize) * pageSize;
    chunk.fill(0, want, padded);
    for (let at = 0; at < padded; at += pageSize, page++) {
      if (hash(chunk.subarray(at, at + pageSize)) !== expected[page])
        throw changedError(file, `page ${page} differs on a second read`);
    }
    position += want;
  }
}
