/**
 * Writing one regular file of a container to disk: the part of unpack that
 * runs in worker threads too (unpack-worker.ts).
 *
 * Every page is checked as it is read (Container.readPages), and the file
 * gets its mode and mtime through its descriptor before it is closed.
 *
 * - Replacing something (`replace`, unpack --force): the file is written
 *   under a temporary name in its directory and renamed over the old one
 *   when complete, so the old file stays whole until then.
 * - Nothing there (checked by unpack before it starts): the file is created
 *   under its own name with O_EXCL | O_NOFOLLOW, which fails rather than
 *   write into anything that appeared meanwhile (or through a symlink), and
 *   is unlinked again if a page turns out damaged or a write fails. Nothing
 *   that existed before can be lost, and each file costs no temporary name,
 *   link and unlink. A crash part-way can leave that one new file short
 *   (as with cp or unsquashfs); unpack's exit status then says it failed.
 *
 * Either way, a damaged page leaves no file under the member's name.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PagestackError, fsError } from '../errors.js';
import type { Container, ContainerEntry } from './reader.js';
import { osPath } from './name-bytes.js';

export function writeRegular(c: Container, e: ContainerEntry, to: string, buffer: Uint8Array, replace: boolean): void {
  // Replacing: a short temporary name whatever the length of the final one (NAME_MAX is 255 bytes), in the
  // same directory so the rename stays on one filesystem. A new file is created under its own name.
  const temp = replace ? path.join(path.dirname(to), `.${randomBytes(6).toString('hex')}.pagestack-tmp`) : to;
  let fd: number;
  try {
    fd = fs.openSync(
      osPath(temp),
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    throw fsError(err, temp);
  }
  try {
    const { pageSize } = c;
    const pagesPerBuffer = Math.floor(buffer.length / pageSize);
    let written = 0;
    for (let p = 0; p < e.pageCount; p += pagesPerBuffer) {
      const n = Math.min(pagesPerBuffer, e.pageCount - p);
      c.readPages(e.index, p, n, buffer.subarray(0, n * pageSize));
      const bytes = Math.min(n * pageSize, e.size - written);
      writeFully(fd, buffer.subarray(0, bytes), written, temp);
      written += bytes;
    }
    fs.fchmodSync(fd, e.mode);
    fs.futimesSync(fd, timeOf(e), timeOf(e));
    fs.closeSync(fd);
    fd = -1;
    if (replace) fs.renameSync(osPath(temp), osPath(to));
  } catch (err) {
    if (fd >= 0) fs.closeSync(fd);
    try {
      fs.unlinkSync(osPath(temp));
    } catch {
      // already gone
    }
    throw err instanceof PagestackError ? err : fsError(err, to);
  }
}

function writeFully(fd: number, bytes: Uint8Array, position: number, file: string): void {
  let done = 0;
  try {
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  } catch (err) {
    throw fsError(err, file);
  }
}

/**
 * mtime in the form Node's utimes takes. As a number of seconds, libuv
 * truncates it to the microsecond, and a double near 1.7e9 s is only exact
 * to ~240 ns, so we aim at the middle of the microsecond: the result is the
 * stored mtime truncated to the microsecond (toward earlier times, before
 * 1970 too). Exact for every mtime a container holds (|seconds| < 2^33).
 */
export function timeOf(e: { mtimeSeconds: number; mtimeNanoseconds: number }): number | string {
  // libuv turns the double into a timespec truncated to the microsecond (toward zero, then borrowing a second
  // when negative); half a microsecond toward the wanted side keeps that truncation on the stored microsecond.
  const micros = Math.floor(e.mtimeNanoseconds / 1000);
  if (e.mtimeSeconds >= 0) return e.mtimeSeconds + (micros + 0.5) / 1e6;
  // Node replaces a negative number by "now" but passes a numeric string through.
  return String(e.mtimeSeconds + (micros - 0.5) / 1e6);
}
