/**
 * A scan of plain paths as a report source: the scanner's content ids,
 * and the bytes of each content read back from the file and page where it
 * first occurred (needed only when several sources are unified).
 */
import fs from 'node:fs';
import { fsError } from '../errors.js';
import { relocatedFilePages } from '../loader/rtld/relocated-pages.js';
import type { ScanResult } from '../scan/result.js';
import type { ReportFileInput } from './model.js';
import type { ContentSource } from './unify.js';
import { openRegular } from '../util/open-regular.js';

/** Descriptors kept open while contents are read back. */
const OPEN_FILES = 32;

export class ScanSource implements ContentSource {
  readonly contentCount: number;
  private readonly result: ScanResult;
  private readonly open = new Map<number, number>();

  constructor(result: ScanResult) {
    this.result = result;
    this.contentCount = result.contents.count;
  }

  /** The scanned files, for input number `input` of the report. */
  files(input: number): ReportFileInput[] {
    return this.result.files.map((f) => {
      const file: ReportFileInput = {
        path: f.path,
        input,
        size: f.size,
        contentIds: f.contentIds,
        elf: f.elf,
        segments: f.segments,
        sections: f.sections,
        warnings: f.warnings,
      };
      // The scanner counted them from the bytes it read; a result scanned without them reads the file again.
      const relocated =
        f.relocatedPages !== undefined
          ? (f.relocatedPages ?? undefined)
          : f.elf?.class === 64 && f.elf.data === 'lsb'
            ? relocatedOf(f.path, this.result.pageSize)
            : undefined;
      if (relocated) file.relocatedPages = Array.from(relocated);
      return file;
    });
  }

  readContent(id: number, into: Uint8Array): void {
    const fileIndex = this.result.contents.firstFile[id]!;
    const page = this.result.contents.firstPage[id]!;
    const file = this.result.files[fileIndex]!;
    const fd = this.descriptor(fileIndex, file.path);
    const ps = into.length;
    let got = 0;
    try {
      while (got < ps) {
        const n = fs.readSync(fd, into, got, ps - got, page * ps + got);
        if (n <= 0) break;
        got += n;
      }
    } catch (err) {
      throw fsError(err, file.path);
    }
    into.fill(0, got);
  }

  close(): void {
    for (const fd of this.open.values()) fs.closeSync(fd);
    this.open.clear();
  }

  private descriptor(fileIndex: number, path: string): number {
    const fd = this.open.get(fileIndex);
    if (fd !== undefined) return fd;
    let opened: number;
    try {
      opened = openRegular(path).fd;
    } catch (err) {
      throw fsError(err, path);
    }
    this.open.set(fileIndex, opened);
    if (this.open.size > OPEN_FILES) {
      const [oldest, oldFd] = this.open.entries().next().value as [number, number];
      fs.closeSync(oldFd);
      this.open.delete(oldest);
    }
    return opened;
  }
}

/** The pages relocation writes in the file at `path` (read again), or undefined. */
function relocatedOf(path: string, pageSize: number): number[] | undefined {
  try {
    return relocatedFilePages(fs.readFileSync(path), path, pageSize);
  } catch {
    return undefined;
  }
}
