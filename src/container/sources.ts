/**
 * Where pack first saw each distinct page, so a hash match can be confirmed
 * byte for byte without keeping pages in memory: 8 bytes per stored page
 * (file index, page index), and a small cache of open source files.
 */
import fs from 'node:fs';
import { InternalError, fsError } from '../errors.js';
import { GrowableU32 } from './growable.js';
import type { WalkEntry } from './walk.js';
import { osPath } from './name-bytes.js';

const OPEN_FILES = 64;

export class SourceFiles {
  private readonly entries: readonly WalkEntry[];
  private readonly pageSize: number;
  private readonly firstFile = new GrowableU32(1 << 14);
  private readonly firstPage = new GrowableU32(1 << 14);
  /** file index -> fd; Map order is least recently used first. */
  private readonly open = new Map<number, number>();

  constructor(entries: readonly WalkEntry[], pageSize: number) {
    this.entries = entries;
    this.pageSize = pageSize;
  }

  /** Records the next stored page id (1, 2, ...) as page `pageIndex` of entry `fileIndex`. */
  recordFirstOccurrence(fileIndex: number, pageIndex: number): void {
    this.firstFile.push(fileIndex);
    this.firstPage.push(pageIndex);
  }

  /** Reads stored page `id` again from the file it was first seen in, zero-padded. */
  readFirstOccurrence(id: number, into: Uint8Array): void {
    const fileIndex = this.firstFile.data[id - 1]!;
    const pageIndex = this.firstPage.data[id - 1]!;
    const fd = this.fd(fileIndex);
    const position = pageIndex * this.pageSize;
    let done = 0;
    while (done < into.length) {
      let n: number;
      try {
        n = fs.readSync(fd, into, done, into.length - done, position + done);
      } catch (err) {
        throw fsError(err, this.entries[fileIndex]!.source);
      }
      if (n === 0) break;
      done += n;
    }
    into.fill(0, done);
  }

  close(): void {
    for (const fd of this.open.values()) {
      try {
        fs.closeSync(fd);
      } catch {
        // nothing to do
      }
    }
    this.open.clear();
  }

  private fd(fileIndex: number): number {
    const cached = this.open.get(fileIndex);
    if (cached !== undefined) {
      this.open.delete(fileIndex);
      this.open.set(fileIndex, cached);
      return cached;
    }
    if (this.open.size >= OPEN_FILES) {
      const [oldest, fd] = this.open.entries().next().value as [number, number];
      this.open.delete(oldest);
      fs.closeSync(fd);
    }
    const entry = this.entries[fileIndex];
    if (!entry) throw new InternalError(`no source file ${fileIndex}`);
    let fd: number;
    try {
      fd = fs.openSync(osPath(entry.source), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      throw fsError(err, entry.source);
    }
    this.open.set(fileIndex, fd);
    return fd;
  }
}
