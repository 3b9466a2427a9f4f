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
 * A stamp cannot see a write that was already under way when it was taken:
 * a file written recently is read a second time once any such write has
 * finished (racy-files.ts).
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
