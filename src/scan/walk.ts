/**
 * Which files a scan reads, by the rules of `du`:
 *
 * - Paths named on the command line are taken as given; a symbolic link
 *   named there is followed (like `du -D`), so `scan /lib/.../libc.so.6`
 *   scans the library. A named path that is missing or is neither a
 *   regular file nor a directory is an error (InputError).
 * - Directories are walked depth-first with entries sorted by name (byte
 *   order of the UTF-8 names). Symbolic links met in a walk are not
 *   followed; they are listed in `links`.
 * - A file reached twice (hard links, or a path named twice) is read once,
 *   under the first path met; later paths are listed in `links`.
 * - Inside a walk, anything that is not a regular file or a directory (a
 *   socket, a FIFO, a device) and a directory that cannot be read are listed
 *   in `skipped` with the reason.
 *
 * Whether a file is ELF is decided later, by the scanner, from its magic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError, fsError } from '../errors.js';
import type { LinkedPath, SkippedPath } from './result.js';

export interface WalkEntry {
  path: string;
  /** Size from lstat/stat at walk time. */
  size: number;
  /** Named on the command line (errors are fatal) rather than met in a walk (errors are skips). */
  explicit: boolean;
}

export interface WalkResult {
  files: WalkEntry[];
  skipped: SkippedPath[];
  links: LinkedPath[];
}

export function walkPaths(paths: string[]): WalkResult {
  const out: WalkResult = { files: [], skipped: [], links: [] };
  const seen = new Map<string, string>(); // "dev:ino" -> first path
  for (const given of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(given, { bigint: false });
    } catch (err) {
      throw fsError(err, given);
    }
    if (st.isDirectory()) {
      if (firstVisit(seen, st, given, out, true)) walkDirectory(given, seen, out, true);
    } else if (st.isFile()) {
      if (firstVisit(seen, st, given, out, false)) out.files.push({ path: given, size: st.size, explicit: true });
    } else {
      throw new InputError('E_NOT_REGULAR', `${given}: not a regular file (${kindOf(st)})`, { file: given });
    }
  }
  return out;
}

function walkDirectory(dir: string, seen: Map<string, string>, out: WalkResult, explicit: boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const e = fsError(err, dir);
    if (explicit) throw e;
    out.skipped.push({ path: dir, code: e.code, reason: reasonOf(e.message, dir) });
    return;
  }
  for (const name of sortByName(names)) {
    const p = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      const e = fsError(err, p);
      out.skipped.push({ path: p, code: e.code, reason: reasonOf(e.message, p) });
      continue;
    }
    if (st.isSymbolicLink()) {
      let target = '';
      try {
        target = fs.readlinkSync(p);
      } catch {
        // Unreadable link: list it without its target.
      }
      out.links.push({ path: p, kind: 'symlink', target });
    } else if (st.isDirectory()) {
      if (firstVisit(seen, st, p, out, true)) walkDirectory(p, seen, out, false);
    } else if (st.isFile()) {
      if (firstVisit(seen, st, p, out, false)) out.files.push({ path: p, size: st.size, explicit: false });
    } else {
      out.skipped.push({ path: p, code: 'E_NOT_REGULAR', reason: `not a regular file (${kindOf(st)})` });
    }
  }
}

/** Records dev+ino; false (and a `links` entry for files) when the inode was met before. */
function firstVisit(
  seen: Map<string, string>,
  st: fs.Stats,
  p: string,
  out: WalkResult,
  isDirectory: boolean,
): boolean {
  const key = `${st.dev}:${st.ino}`;
  const first = seen.get(key);
  if (first === undefined) {
    seen.set(key, p);
    return true;
  }
  if (!isDirectory && first !== p) out.links.push({ path: p, kind: 'hardlink', target: first });
  return false;
}

/** Names in byte order of their UTF-8 encoding (Unicode code point order), as `sorted()` in Python. */
function sortByName(names: string[]): string[] {
  // Without surrogates, UTF-16 code unit order is code point order: compare the strings themselves.
  if (!names.some((n) => SURROGATE.test(n))) return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names
    .map((name) => ({ name, key: Buffer.from(name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((e) => e.name);
}

const SURROGATE = /[\uD800-\uDFFF]/;

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'unknown file type';
}

/** fsError messages start with the path; the skipped list keeps path and reason apart. */
export function reasonOf(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}
