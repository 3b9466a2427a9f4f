/**
 * The sorted walk over pack's inputs: the file-table order of FORMAT.md
 * section 5. Depth first, parents before children, names inside each
 * directory (and the top-level names) sorted by their UTF-8 bytes, so the
 * order depends on nothing but the tree itself.
 *
 * Symbolic links are recorded, never followed (lstat, readlink). A regular
 * file seen again through another hard link becomes a 'hardlink' entry
 * pointing at the first one. Device files, FIFOs and sockets are refused:
 * the format has no place for them and silently dropping them would make
 * the round trip inexact; with skipSpecial they are left out and reported
 * through onSkip. Entries matching an exclude pattern, and the output
 * container itself, are left out the same way (walk-filter.ts). Names are
 * kept byte for byte (name-bytes.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError, UsageError, fsError } from '../errors.js';
import { MAX_LINK_BYTES, MAX_PATH_BYTES, MTIME_MAX_SECONDS, MTIME_MIN_SECONDS, type FileKind } from './format.js';
import { WalkFilter, type WalkFilterOptions, type WalkSkip } from './walk-filter.js';
import { stampOf, type FileStamp } from './source-check.js';
import { decodeName, encodeName, nameByteLength, osPath } from './name-bytes.js';

export interface WalkEntry {
  /** Path inside the container. */
  path: string;
  /** Path on disk. */
  source: string;
  kind: FileKind;
  /** Permission bits (st_mode & 07777); 0777 for symbolic links. */
  mode: number;
  mtimeSeconds: number;
  mtimeNanoseconds: number;
  /** Regular files: size in bytes; 0 otherwise. */
  size: number;
  /** Symbolic links: the target. */
  linkTarget: string;
  /** Hard links: index of the first entry of the same inode. */
  linkIndex: number;
  /** Regular files: what the walk saw, compared again while and after pack reads the file. */
  stamp?: FileStamp;
}

export interface WalkOptions extends WalkFilterOptions {
  /** SOURCE_DATE_EPOCH: mtimes later than this (in seconds) are clamped to it. */
  clampMtimeSeconds?: number;
  /** Called for every entry left out (excluded, special, the output itself). */
  onSkip?: (skip: WalkSkip) => void;
}

const NS_PER_S = 1_000_000_000n;

/** Walks every PATH (each stored under its own base name) and returns the entries in file-table order. */
export function walkInputs(inputs: readonly string[], options: WalkOptions = {}): WalkEntry[] {
  if (inputs.length === 0) throw new UsageError('no input paths given');
  const tops = inputs.map((input) => {
    const name = path.basename(path.resolve(input));
    if (name === '' || name === '.' || name === '..') {
      throw new UsageError(`${input}: cannot be packed under a name of its own (give a directory below the root)`, {
        file: input,
      });
    }
    return { name, bytes: encodeName(name), source: input };
  });
  tops.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  for (let i = 1; i < tops.length; i++) {
    if (tops[i]!.name === tops[i - 1]!.name) {
      throw new UsageError(
        `${tops[i]!.source}: two inputs have the same name '${tops[i]!.name}' at the top of the container`,
        {
          file: tops[i]!.source,
        },
      );
    }
  }

  const filter = new WalkFilter(options);
  const skip = (s: WalkSkip): void => options.onSkip?.(s);
  const entries: WalkEntry[] = [];
  const inodes = new Map<string, number>();
  // Explicit stack of pending (source, member path) pairs, popped in order.
  const stack: Array<{ source: string; member: string }> = [];
  for (let i = tops.length - 1; i >= 0; i--) stack.push({ source: tops[i]!.source, member: tops[i]!.name });

  while (stack.length > 0) {
    const { source, member } = stack.pop()!;
    if (nameByteLength(member) > MAX_PATH_BYTES) {
      throw new InputError(
        'E_PATH_TOO_LONG',
        `${source}: path inside the container is longer than ${MAX_PATH_BYTES} bytes`,
        { file: source },
      );
    }
    const pattern = filter.excludedBy(member);
    if (pattern !== undefined) {
      skip({ path: member, source, reason: 'excluded', detail: `matches --exclude ${pattern}` });
      continue;
    }
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(osPath(source), { bigint: true });
    } catch (err) {
      throw fsError(err, source);
    }
    if (st.isFile() && filter.isOutput(st.dev, st.ino)) {
      skip({ path: member, source, reason: 'output', detail: 'the output container itself' });
      continue;
    }
    const mtime = mtimeOf(st.mtimeNs, options.clampMtimeSeconds);
    if (mtime.seconds < MTIME_MIN_SECONDS || mtime.seconds > MTIME_MAX_SECONDS) {
      throw new InputError(
        'E_MTIME',
        `${source}: mtime ${st.mtimeNs} ns is outside the range a container holds (-2^33 to 2^33-1 s, years 1697 to 2242)`,
        { file: source },
      );
    }
    const base: WalkEntry = {
      path: member,
      source,
      kind: 'regular',
      mode: Number(st.mode & 0o7777n),
      mtimeSeconds: mtime.seconds,
      mtimeNanoseconds: mtime.nanoseconds,
      size: 0,
      linkTarget: '',
      linkIndex: 0,
    };
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const leader = st.nlink > 1n ? inodes.get(key) : undefined;
      if (leader !== undefined) {
        const first = entries[leader]!;
        entries.push({
          ...base,
          kind: 'hardlink',
          mode: first.mode,
          mtimeSeconds: first.mtimeSeconds,
          mtimeNanoseconds: first.mtimeNanoseconds,
          linkIndex: leader,
        });
      } else {
        if (st.nlink > 1n) inodes.set(key, entries.length);
        if (st.size > BigInt(Number.MAX_SAFE_INTEGER))
          throw new InputError('E_TOO_LARGE', `${source}: file too large`, { file: source });
        entries.push({ ...base, size: Number(st.size), stamp: stampOf(st) });
      }
    } else if (st.isDirectory()) {
      entries.push({ ...base, kind: 'directory' });
      const children = listDirectory(source);
      for (let i = children.length - 1; i >= 0; i--) {
        const name = children[i]!;
        stack.push({ source: path.join(source, name), member: `${member}/${name}` });
      }
    } else if (st.isSymbolicLink()) {
      entries.push({ ...base, kind: 'symlink', mode: 0o777, linkTarget: readLink(source) });
    } else {
      const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device file';
      if (filter.skipSpecial) {
        skip({ path: member, source, reason: 'special', detail: `${what}, which a container cannot hold` });
        continue;
      }
      throw new InputError(
        'E_NOT_REGULAR',
        `${source}: is ${what}, which a container cannot hold (--skip-special leaves such files out)`,
        { file: source },
      );
    }
  }
  return entries;
}

/** Directory entries sorted by the bytes of their names (names are bytes: see name-bytes.ts). */
function listDirectory(dir: string): string[] {
  let raw: Buffer[];
  try {
    raw = fs.readdirSync(osPath(dir), { encoding: 'buffer' });
  } catch (err) {
    throw fsError(err, dir);
  }
  raw.sort(Buffer.compare);
  return raw.map((bytes) => decodeName(bytes));
}

function readLink(source: string): string {
  let target: Buffer;
  try {
    target = fs.readlinkSync(osPath(source), { encoding: 'buffer' });
  } catch (err) {
    throw fsError(err, source);
  }
  if (target.length === 0 || target.length > MAX_LINK_BYTES) {
    throw new InputError('E_LINK', `${source}: symbolic link target of ${target.length} bytes cannot be stored`, {
      file: source,
    });
  }
  return decodeName(target);
}

/** Splits st_mtim (ns since the epoch) into seconds and nanoseconds, clamped to SOURCE_DATE_EPOCH. */
export function mtimeOf(mtimeNs: bigint, clampSeconds: number | undefined): { seconds: number; nanoseconds: number } {
  let ns = mtimeNs;
  if (clampSeconds !== undefined && ns > BigInt(clampSeconds) * NS_PER_S) ns = BigInt(clampSeconds) * NS_PER_S;
  let seconds = ns / NS_PER_S;
  let rest = ns % NS_PER_S;
  if (rest < 0n) {
    rest += NS_PER_S;
    seconds -= 1n;
  }
  return { seconds: Number(seconds), nanoseconds: Number(rest) };
}
