/**
 * Pseudo-files: files of procfs, sysfs and the like, whose st_size says
 * nothing about their content (0 for most of /proc, 4096 for sysfs
 * attributes). Trusting st_size would store them empty or fail them as
 * "changed", so pack reads each such file to its end (at most
 * MAX_PSEUDO_BYTES), reads it a second time, and stores the content only
 * when both reads agree; a pseudo-file whose content changes between reads
 * (/proc/uptime, /proc/self/stat) is refused with a message that says so.
 * The agreed content is written to a private temporary file that the rest of
 * pack reads like any other file; it is removed when pack ends.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError, fsError } from '../errors.js';
import { stampOf, type FileStamp } from './source-check.js';
import { osPath } from './name-bytes.js';

/** Largest pseudo-file pack stores (each one is read twice, in memory). */
export const MAX_PSEUDO_BYTES = 16 << 20;

/** statfs(2) f_type of filesystems whose files have no meaningful st_size (linux/magic.h). */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpffs'],
  [0xde5e81e4, 'efivarfs'],
  [0x6165676c, 'pstore'],
]);

interface PackEntry {
  source: string;
  kind: string;
  size: number;
  stamp?: FileStamp;
}

/** The pseudo filesystem `dir` is on, or undefined for an ordinary one. */
function pseudoFilesystemOf(dir: string, cache: Map<string, string | undefined>): string | undefined {
  if (cache.has(dir)) return cache.get(dir);
  let name: string | undefined;
  try {
    name = PSEUDO_FILESYSTEMS.get(Number(fs.statfsSync(osPath(dir) as string).type));
  } catch {
    name = undefined; // the read itself names any problem
  }
  cache.set(dir, name);
  return name;
}

function readToEnd(file: string, fsName: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(osPath(file), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    throw fsError(err, file);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 << 10);
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        throw fsError(err, file);
      }
      if (n === 0) break;
      total += n;
      if (total > MAX_PSEUDO_BYTES) {
        throw new InputError(
          'E_PSEUDO_FILE',
          `${file}: is a ${fsName} pseudo-file of more than ${MAX_PSEUDO_BYTES} bytes, more than pack stores`,
          { file },
        );
      }
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces every regular file of `entries` that lives on a pseudo filesystem
 * by a temporary copy of its (twice-read, agreeing) content. Call dispose()
 * when pack ends, however it ends.
 */
export function capturePseudoFiles(entries: PackEntry[]): { captured: number; dispose(): void } {
  const cache = new Map<string, string | undefined>();
  let dir: string | undefined;
  let captured = 0;
  const dispose = (): void => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  try {
    for (const entry of entries) {
      if (entry.kind !== 'regular') continue;
      const fsName = pseudoFilesystemOf(path.dirname(entry.source), cache);
      if (!fsName) continue;
      const first = readToEnd(entry.source, fsName);
      const second = readToEnd(entry.source, fsName);
      if (!first.equals(second)) {
        throw new InputError(
          'E_PSEUDO_FILE',
          `${entry.source}: is a ${fsName} pseudo-file whose content changes from one read to the next; pack cannot store one version of it (copy it to a regular file first)`,
          { file: entry.source },
        );
      }
      dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-pseudo-'));
      const copy = path.join(dir, String(captured++));
      fs.writeFileSync(copy, first, { mode: 0o600 });
      entry.source = copy;
      entry.size = first.length;
      entry.stamp = stampOf(fs.lstatSync(copy, { bigint: true }));
    }
  } catch (err) {
    dispose();
    throw err;
  }
  return { captured, dispose };
}
