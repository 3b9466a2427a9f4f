/**
 * unpack: restores a container's tree under a directory, bit-exactly.
 *
 * Safety, in the order it is enforced:
 * 1. openContainer checks every table before anything is written: paths are
 *    relative with no '..' or empty component, and every parent is an
 *    earlier *directory* entry (so nothing is ever created inside a symbolic
 *    link the container made).
 * 2. Before writing, every target path is lstat'ed: an existing file, link
 *    or non-directory is refused (E_EXIST) unless `force`; with `force` it is
 *    replaced, never written through. An existing real directory is merged
 *    into. Paths below a directory that did not exist are not looked at.
 * 3. Files are written to a temporary name in their directory, each page
 *    checked as it is read, and moved into place only when complete; a
 *    damaged page leaves no file under the member's name.
 * Directory permissions and mtimes are set last, deepest first.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InputError, PagestackError, fsError } from '../errors.js';
import { openContainer, type Container, type ContainerEntry } from './reader.js';

export interface UnpackOptions {
  /** Replace existing files, links and non-directories in the way. */
  force?: boolean;
  signal?: AbortSignal;
  /** Called with (content bytes written, content bytes in all). */
  onProgress?: (done: number, total: number) => void;
}

export interface UnpackSummary {
  input: string;
  directory: string;
  files: number;
  regularFiles: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of file content written (hard links not counted again). */
  bytes: number;
  pages: number;
}

const WRITE_BUFFER_BYTES = 1 << 20;

export async function unpack(input: string, directory: string, options: UnpackOptions = {}): Promise<UnpackSummary> {
  const container = await openContainer(input);
  try {
    return restore(container, directory, options);
  } finally {
    container.close();
  }
}

function restore(c: Container, directory: string, options: UnpackOptions): UnpackSummary {
  try {
    fs.mkdirSync(directory, { recursive: true });
  } catch (err) {
    throw fsError(err, directory);
  }
  const target = (e: ContainerEntry): string => path.join(directory, ...e.path.split('/'));
  const existing = checkTargets(c, target, options.force === true);

  const total = c.files.reduce((sum, f) => sum + (f.kind === 'regular' ? f.size : 0), 0);
  const buffer = new Uint8Array(Math.max(WRITE_BUFFER_BYTES, c.pageSize));
  let done = 0;
  const directories: ContainerEntry[] = [];
  for (const e of c.files) {
    if (options.signal?.aborted) throw new PagestackError('E_INTERRUPTED', 'interrupted', {}, 130);
    const to = target(e);
    const there = existing.get(e.index);
    switch (e.kind) {
      case 'directory':
        if (there !== 'directory') {
          if (there !== undefined) remove(to);
          mkdir(to);
        }
        directories.push(e);
        break;
      case 'regular':
        writeRegular(c, e, to, buffer, there !== undefined);
        done += e.size;
        options.onProgress?.(done, total);
        break;
      case 'symlink':
        if (there !== undefined) remove(to);
        try {
          fs.symlinkSync(e.linkTarget!, to);
          fs.lutimesSync(to, timeOf(e), timeOf(e));
        } catch (err) {
          throw fsError(err, to);
        }
        break;
      case 'hardlink':
        if (there !== undefined) remove(to);
        try {
          fs.linkSync(target(c.files[e.linkIndex!]!), to);
        } catch (err) {
          throw fsError(err, to);
        }
        break;
      default: {
        const unknown: never = e.kind;
        throw new InputError('E_CORRUPT', `unknown kind ${String(unknown)}`);
      }
    }
  }
  for (let i = directories.length - 1; i >= 0; i--) {
    const e = directories[i]!;
    const to = target(e);
    try {
      fs.chmodSync(to, e.mode);
      fs.utimesSync(to, timeOf(e), timeOf(e));
    } catch (err) {
      throw fsError(err, to);
    }
  }
  return {
    input: c.path,
    directory,
    files: c.files.length,
    regularFiles: c.files.filter((f) => f.kind === 'regular').length,
    directories: directories.length,
    symlinks: c.files.filter((f) => f.kind === 'symlink').length,
    hardlinks: c.files.filter((f) => f.kind === 'hardlink').length,
    bytes: total,
    pages: c.totalPages,
  };
}

type Existing = 'directory' | 'other';

/**
 * lstat of every target that could exist: a map from entry index to what is
 * there. Refuses (E_EXIST) anything but a real directory where a directory
 * goes, unless `force`.
 */
function checkTargets(c: Container, target: (e: ContainerEntry) => string, force: boolean): Map<number, Existing> {
  const existing = new Map<number, Existing>();
  /** Directory paths that exist on disk as real directories before we start. */
  const realDirectories = new Set<string>(['']);
  for (const e of c.files) {
    const slash = e.path.lastIndexOf('/');
    const parent = slash < 0 ? '' : e.path.slice(0, slash);
    if (!realDirectories.has(parent)) continue; // created fresh by us: nothing below it can exist
    const to = target(e);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, to);
    }
    if (!st) continue;
    if (e.kind === 'directory' && st.isDirectory()) {
      existing.set(e.index, 'directory');
      realDirectories.add(e.path);
      continue;
    }
    if (st.isDirectory()) {
      throw new InputError('E_EXIST', `${to}: is a directory where the container has a ${e.kind}`, { file: to });
    }
    if (!force) throw new InputError('E_EXIST', `${to}: already exists (use --force to replace it)`, { file: to });
    existing.set(e.index, 'other');
  }
  return existing;
}

function writeRegular(c: Container, e: ContainerEntry, to: string, buffer: Uint8Array, replace: boolean): void {
  const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(4).toString('hex')}.pagestack-tmp`);
  let fd: number;
  try {
    fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
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
    if (replace) fs.renameSync(temp, to);
    else {
      fs.linkSync(temp, to); // fails with EEXIST rather than replace something that appeared meanwhile
      fs.unlinkSync(temp);
    }
  } catch (err) {
    if (fd >= 0) fs.closeSync(fd);
    try {
      fs.unlinkSync(temp);
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

function mkdir(to: string): void {
  try {
    fs.mkdirSync(to, 0o700);
  } catch (err) {
    throw fsError(err, to);
  }
}

function remove(to: string): void {
  try {
    fs.unlinkSync(to);
  } catch (err) {
    throw fsError(err, to);
  }
}

/**
 * mtime in the form Node's utimes takes. As a number of seconds, libuv
 * truncates it to the microsecond, and a double near 1.7e9 s is only exact
 * to ~240 ns, so we aim at the middle of the microsecond: the result is the
 * stored mtime truncated to the microsecond. Node turns a negative number
 * into "now", so times before 1970 go as a Date (millisecond precision).
 */
export function timeOf(e: { mtimeSeconds: number; mtimeNanoseconds: number }): number | Date {
  if (e.mtimeSeconds < 0) return new Date(e.mtimeSeconds * 1000 + Math.floor(e.mtimeNanoseconds / 1e6));
  return e.mtimeSeconds + (Math.floor(e.mtimeNanoseconds / 1000) * 1000 + 500) / 1e9;
}
