/**
 * A container image as a report source. Pages come from its share map:
 * the content id of a page is its stored page id (0: a zero page), so
 * nothing is decoded to know which pages are equal. The ELF structure of a
 * member (segments, sections) is parsed from its bytes, reading only the
 * pages that hold its headers and tables (member-elf.ts).
 *
 * Members follow the scan's rules: regular files with the ELF magic are
 * reported (all regular files with --all-files), the others listed as
 * skipped; hard links and symbolic links are listed as links, not read
 * twice.
 */
import fs from 'node:fs';
import { MAGIC } from '../container/format.js';
import { openContainer, type Container } from '../container/index.js';
import { isElf } from '../elf/parse.js';
import type { ReportFileInput, ReportModel, SkippedInput } from './model.js';
import { memberElf } from './member-elf.js';
import type { ContentSource } from './unify.js';

/** True when `path` is a regular file that starts with the container magic ("\x89PGSTK\n\x1a"). */
export function isContainerImage(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return false; // the scan names the problem
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    const head = new Uint8Array(MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.every((b, i) => b === MAGIC[i]);
  } finally {
    fs.closeSync(fd);
  }
}

export class ContainerSource implements ContentSource {
  readonly image: string;
  readonly container: Container;
  readonly contentCount: number;
  readonly pageSize: number;

  private constructor(image: string, container: Container) {
    this.image = image;
    this.container = container;
    this.contentCount = container.storedPageCount;
    this.pageSize = container.pageSize;
  }

  /** Opens and checks the container (header and tables; pages are checked as they are read). */
  static async open(image: string): Promise<ContainerSource> {
    return new ContainerSource(image, await openContainer(image));
  }

  /**
   * The members to report, as input number `input`; `name(member)` gives
   * the path shown. Non-ELF members (without allFiles) go to `skipped`,
   * links to `links`.
   */
  files(
    input: number,
    allFiles: boolean,
    name: (member: string) => string,
    skipped: SkippedInput[],
    links: ReportModel['links'],
  ): ReportFileInput[] {
    const c = this.container;
    const page = new Uint8Array(this.pageSize);
    const out: ReportFileInput[] = [];
    for (const entry of c.files) {
      const path = name(entry.path);
      switch (entry.kind) {
        case 'directory':
          continue;
        case 'symlink':
          links.push({ path, kind: 'symlink', target: entry.linkTarget ?? '' });
          continue;
        case 'hardlink':
          links.push({ path, kind: 'hardlink', target: name(c.files[entry.linkIndex ?? -1]?.path ?? '') });
          continue;
        case 'regular':
          break;
        default:
          throw new Error(`unknown member kind ${String(entry.kind satisfies never)}`);
      }
      if (entry.pageCount > 0) c.readPage(entry.index, 0, page);
      if (!allFiles && (entry.size < 4 || !isElf(page.subarray(0, Math.min(4, entry.size))))) {
        skipped.push({
          path,
          code: 'E_NOT_ELF',
          reason: `not an ELF file (${entry.size === 0 ? 'empty' : entry.size < 4 ? `${entry.size} bytes` : 'no ELF magic'})`,
        });
        continue;
      }
      const contentIds = new Uint32Array(entry.pageCount);
      for (let p = 0; p < entry.pageCount; p++) contentIds[p] = c.pageRef(entry.index, p);
      const structure = memberElf((p, into) => c.readPage(entry.index, p, into), entry.size, this.pageSize, path);
      out.push({ path, input, size: entry.size, contentIds, ...structure });
    }
    return out;
  }

  readContent(id: number, into: Uint8Array): void {
    this.container.readStoredPage(id, into);
  }

  /** Stored pages [first, first + count) with one read (count at most 256), each checked. */
  readContents(first: number, count: number, into: Uint8Array): void {
    this.container.readStoredPages(first, count, into);
  }

  close(): void {
    this.container.close();
  }
}
