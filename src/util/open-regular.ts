/**
 * Opening an input file that must be a regular file (a container, a scenario,
 * an ELF program), without ever blocking and without trusting what the path
 * turns out to be.
 *
 * - The open uses O_NONBLOCK, so opening a FIFO with no writer returns at
 *   once instead of waiting for one (O_NONBLOCK does nothing for a regular
 *   file's reads).
 * - The type is checked with fstat on the descriptor just opened (not a stat
 *   of the path before: the path may be swapped in between). A FIFO, a device
 *   (/dev/zero), a socket or a directory is refused with one line saying what
 *   it is.
 * - A caller that reads the whole file gives a byte limit, checked against
 *   st_size before anything is read, and the read stops at st_size + 1 so a
 *   file that grows while it is read cannot make it allocate more.
 */
import fs from 'node:fs';
import { fsError, InputError, type PagestackError } from '../errors.js';

type AnyStats = fs.Stats | fs.BigIntStats;

/** "a FIFO", "a character device", ... or undefined for a regular file. */
export function fileTypeName(st: AnyStats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The one-line refusal for a path that is not a regular file (E_ISDIR for a directory, E_NOT_REGULAR otherwise). */
export function notRegularError(file: string, st: AnyStats): PagestackError {
  const kind = fileTypeName(st) ?? 'not a regular file';
  if (st.isDirectory()) return new InputError('E_ISDIR', `${file}: is a directory`, { file });
  const message =
    kind === 'not a regular file' ? `${file}: not a regular file` : `${file}: is ${kind}, not a regular file`;
  return new InputError('E_NOT_REGULAR', message, { file, kind });
}

export interface OpenRegularOptions {
  /** Refuse a symbolic link as the last component (O_NOFOLLOW). */
  noFollow?: boolean;
  /** Refuse a file larger than this many bytes (checked on st_size before reading). */
  maxBytes?: number;
  /** What the file is, for the size message ("a scenario"). */
  what?: string;
}

export interface RegularFile {
  fd: number;
  stat: fs.Stats;
}

/** Display form of a path given as bytes or as a string. */
function shown(file: string | Buffer): string {
  return typeof file === 'string' ? file : file.toString('utf8');
}

/**
 * Opens `file` read-only without blocking and checks on the descriptor that it
 * is a regular file (and not larger than maxBytes). The caller closes fd.
 */
export function openRegular(file: string | Buffer, options: OpenRegularOptions = {}): RegularFile {
  const name = shown(file);
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (options.noFollow ? fs.constants.O_NOFOLLOW : 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // open(2) on a socket fails with ENXIO; with O_NOFOLLOW a link fails with ELOOP. Say what the path is.
    if (code === 'ENXIO' || (code === 'ELOOP' && options.noFollow)) {
      try {
        const st = fs.lstatSync(file);
        if (!st.isFile()) throw notRegularError(name, st);
      } catch (inner) {
        if ((inner as PagestackError).code === 'E_NOT_REGULAR' || (inner as PagestackError).code === 'E_ISDIR')
          throw inner;
      }
    }
    throw fsError(err, name);
  }
  try {
    let stat: fs.Stats;
    try {
      stat = fs.fstatSync(fd);
    } catch (err) {
      throw fsError(err, name);
    }
    if (!stat.isFile()) throw notRegularError(name, stat);
    if (options.maxBytes !== undefined && stat.size > options.maxBytes) {
      throw new InputError(
        'E_TOO_BIG',
        `${name}: ${stat.size} bytes is larger than ${options.what ?? 'the file'} may be (${options.maxBytes} bytes)`,
        { file: name, actual: stat.size, expected: options.maxBytes },
      );
    }
    return { fd, stat };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Reads all of regular file `file` (at most maxBytes), refusing anything else as openRegular does. */
export function readRegularFile(file: string | Buffer, options: OpenRegularOptions & { maxBytes: number }): Buffer {
  const { fd, stat } = openRegular(file, options);
  try {
    return readOpened(fd, stat.size, shown(file));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads the `size` bytes of the regular file open on `fd` (size from its
 * fstat). One byte of room more tells a file that grew since, without reading
 * an unbounded amount; a file that shrank comes back short.
 */
export function readOpened(fd: number, size: number, name: string): Buffer {
  const buf = Buffer.allocUnsafe(size + 1);
  let got = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, got, buf.length - got, got);
    } catch (err) {
      throw fsError(err, name);
    }
    if (n === 0) break;
    got += n;
    if (got === buf.length) {
      throw new InputError('E_CHANGED', `${name}: grew while it was being read (${size} bytes when opened)`, {
        file: name,
      });
    }
  }
  return buf.subarray(0, got);
}

/** stat(2) of `file` refusing anything but a regular file, for callers that only need the metadata. */
export function statRegular(file: string): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw fsError(err, file);
  }
  if (!st.isFile()) throw notRegularError(file, st);
  return st;
}
