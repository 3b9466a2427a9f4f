/**
 * Programs from a pagestack container: an ExecFileSource (src/loader) whose
 * files are the container's members, so execve maps them straight out of
 * the image and the content-shared page cache keys their pages by the
 * container's stored-page ids.
 *
 * - A program is named by its member path (`bin/ls`; a leading `/` or `./`
 *   is ignored). Symbolic links inside the container are followed (40 at
 *   most, as the kernel's MAXSYMLINKS), relative to the link's directory;
 *   `..` stops at the container's root.
 * - The interpreter (PT_INTERP, an absolute path such as
 *   /lib64/ld-linux-x86-64.so.2) is looked up in the container first, as if
 *   the container were the root file system; if it is not there, on disk
 *   through `fallback` (a FileTable: under --root DIR, or /).
 * - Each member gets one FileBacking for the whole load, carrying the
 *   container as its contentSpace, so its content ids never meet those of
 *   plain files (which number pages differently).
 *
 * The reader is anything shaped like src/container's Container; see
 * container-reader.ts for how the simulator opens one.
 */
import { InputError } from '../errors.js';
import type { ExecFileSource } from '../loader/file-backing.js';
import type { FileBacking } from '../abi/file-backing.js';

/** One entry of a container's file table (src/container ContainerEntry, the fields used here). */
export interface ContainerMember {
  index: number;
  path: string;
  kind: 'regular' | 'directory' | 'symlink' | 'hardlink';
  mode: number;
  size: number;
  linkTarget?: string;
  linkIndex?: number;
}

/** What the loader needs from an open container (src/container's Container has it). */
export interface ContainerReader {
  readonly path: string;
  readonly pageSize: number;
  readonly files: readonly ContainerMember[];
  /** Index of the member with this path, or undefined. */
  findFile(member: string): number | undefined;
  /** The member's contents as a FileBacking whose contentId is the stored page id. */
  backing(fileIndex: number): FileBacking;
  close(): void;
}

const MAXSYMLINKS = 40;

export class ContainerFileSource implements ExecFileSource {
  private readonly backings = new Map<number, FileBacking>();

  constructor(
    readonly container: ContainerReader,
    /** Where an interpreter missing from the container is looked for. */
    private readonly fallback: ExecFileSource,
  ) {}

  program(path: string): FileBacking {
    const index = this.resolve(path, path);
    if (index === undefined) {
      throw new InputError('E_NOENT', `${this.container.path}: ${path}: no such member`, {
        file: this.container.path,
        member: path,
      });
    }
    return this.backingOf(index);
  }

  interpreter(path: string, root: string | undefined, programPath: string): FileBacking {
    const index = this.resolve(path, `${programPath}: interpreter ${path}`);
    if (index !== undefined) return this.backingOf(index);
    return this.fallback.interpreter(path, root, programPath);
  }

  /** The member index `path` names after following symbolic links; undefined when nothing is there. */
  resolve(path: string, what: string): number | undefined {
    let parts = splitPath(path);
    let links = 0;
    for (;;) {
      // Walk component by component so that a symlinked directory is followed too.
      let resolved: string[] = [];
      let restarted = false;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        if (part === '..') {
          resolved.pop();
          continue;
        }
        resolved.push(part);
        const index = this.container.findFile(resolved.join('/'));
        if (index === undefined) return undefined;
        const entry = this.container.files[index]!;
        if (entry.kind !== 'symlink') {
          if (i === parts.length - 1) return this.checkFile(entry, what);
          if (entry.kind !== 'directory') return undefined;
          continue;
        }
        if (++links > MAXSYMLINKS) {
          throw new InputError('E_LOOP', `${this.container.path}: ${what}: too many levels of symbolic links`, {
            file: this.container.path,
          });
        }
        const target = entry.linkTarget ?? '';
        const base = target.startsWith('/') ? [] : resolved.slice(0, -1);
        parts = [...base, ...splitPath(target), ...parts.slice(i + 1)];
        resolved = [];
        restarted = true;
        break;
      }
      if (!restarted) return undefined;
    }
  }

  private checkFile(entry: ContainerMember, what: string): number {
    if (entry.kind === 'directory') {
      throw new InputError('E_ISDIR', `${this.container.path}: ${what}: is a directory`, { file: this.container.path });
    }
    // A hard link is a file of its own name; the reader's backing shares the linked file's pages.
    return entry.index;
  }

  private backingOf(index: number): FileBacking {
    let backing = this.backings.get(index);
    if (backing === undefined) {
      const inner = this.container.backing(index);
      const container = this.container;
      // One object per member for the whole load (the memory model keys file caches by backing), tagged
      // with the container as its content namespace.
      backing = {
        path: inner.path,
        size: inner.size,
        pageSize: inner.pageSize,
        pageCount: inner.pageCount,
        contentSpace: container,
        readPage: (pageIndex, into) => inner.readPage(pageIndex, into),
        contentId: (pageIndex) => inner.contentId(pageIndex),
      };
      this.backings.set(index, backing);
    }
    return backing;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
