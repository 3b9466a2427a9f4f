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
 * 3. Files are written to a temporary name, each page checked as it is read,
 *    and moved into place only when complete (restore-file.ts).
 *
 * Order: directories and symlinks in table order (parents first), then the
 * regular files (in worker threads when there is enough to do: each worker
 * opens the container itself), then hard links, then directory modes and
 * mtimes, deepest first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError, PagestackError, fsError } from '../errors.js';
import { openContainer, type Container, type ContainerEntry } from './reader.js';
import { timeOf, writeRegular } from './restore-file.js';
import type { RestoreJob, RestoreReply } from './unpack-worker.js';
import { compiledModule } from './workers.js';
import { osPath } from './name-bytes.js';

export interface UnpackOptions {
  /** Replace existing files, links and non-directories in the way. */
  force?: boolean;
  /** Worker threads writing files; default one per CPU (at most 4), 0 for containers under 8 MiB of content. */
  threads?: number;
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

interface FileJob {
  index: number;
  to: string;
  replace: boolean;
  size: number;
}

const THREADS_MIN_BYTES = 8 << 20;
const JOB_BYTES = 4 << 20;
const WORKER = compiledModule('./unpack-worker.js', import.meta.url);

export async function unpack(input: string, directory: string, options: UnpackOptions = {}): Promise<UnpackSummary> {
  const c = await openContainer(input);
  try {
    try {
      fs.mkdirSync(directory, { recursive: true });
    } catch (err) {
      throw fsError(err, directory);
    }
    const target = (e: ContainerEntry): string => path.join(directory, ...e.path.split('/'));
    const existing = checkTargets(c, target, options.force === true);
    const interrupted = (): void => {
      if (options.signal?.aborted) throw new PagestackError('E_INTERRUPTED', 'interrupted', {}, 130);
    };

    const jobs: FileJob[] = [];
    const directories: ContainerEntry[] = [];
    for (const e of c.files) {
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
          jobs.push({ index: e.index, to, replace: there !== undefined, size: e.size });
          break;
        case 'symlink':
          if (there !== undefined) remove(to);
          try {
            fs.symlinkSync(osPath(e.linkTarget!), osPath(to));
            fs.lutimesSync(osPath(to), timeOf(e), timeOf(e));
          } catch (err) {
            throw fsError(err, to);
          }
          break;
        case 'hardlink':
          break;
        default: {
          const unknown: never = e.kind;
          throw new InputError('E_CORRUPT', `unknown kind ${String(unknown)}`);
        }
      }
    }

    const total = jobs.reduce((sum, j) => sum + j.size, 0);
    const threads =
      options.threads ?? (WORKER && total >= THREADS_MIN_BYTES ? Math.min(4, os.availableParallelism()) : 0);
    if (threads > 0 && WORKER) await writeInWorkers(c.path, jobs, threads, total, options, interrupted);
    else {
      const buffer = new Uint8Array(1 << 20);
      let done = 0;
      for (const j of jobs) {
        interrupted();
        writeRegular(c, c.files[j.index]!, j.to, buffer, j.replace);
        done += j.size;
        options.onProgress?.(done, total);
      }
    }

    for (const e of c.files) {
      if (e.kind !== 'hardlink') continue;
      const to = target(e);
      if (existing.get(e.index) !== undefined) remove(to);
      try {
        fs.linkSync(osPath(target(c.files[e.linkIndex!]!)), osPath(to));
      } catch (err) {
        throw fsError(err, to);
      }
    }
    for (let i = directories.length - 1; i >= 0; i--) {
      const e = directories[i]!;
      const to = target(e);
      try {
        fs.chmodSync(osPath(to), e.mode);
        fs.utimesSync(osPath(to), timeOf(e), timeOf(e));
      } catch (err) {
        throw fsError(err, to);
      }
    }
    return {
      input: c.path,
      directory,
      files: c.files.length,
      regularFiles: jobs.length,
      directories: directories.length,
      symlinks: c.files.filter((f) => f.kind === 'symlink').length,
      hardlinks: c.files.filter((f) => f.kind === 'hardlink').length,
      bytes: total,
      pages: c.totalPages,
    };
  } finally {
    c.close();
  }
}

/**
 * Hands the regular files to `threads` workers, about 4 MiB at a time, the
 * next batch to whichever worker finishes first. On the first failure no
 * more batches go out; the error is thrown once the others have finished.
 */
async function writeInWorkers(
  container: string,
  jobs: FileJob[],
  threads: number,
  total: number,
  options: UnpackOptions,
  interrupted: () => void,
): Promise<void> {
  const batches: RestoreJob[] = [];
  let current: RestoreJob | undefined;
  let currentBytes = 0;
  for (const j of jobs) {
    if (!current || currentBytes >= JOB_BYTES) {
      current = { container, files: [] };
      currentBytes = 0;
      batches.push(current);
    }
    current.files.push({ index: j.index, to: j.to, replace: j.replace });
    currentBytes += j.size;
  }
  const workers = Array.from({ length: Math.min(threads, batches.length) }, () => new Worker(WORKER!));
  let next = 0;
  let done = 0;
  let failure: unknown;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const send = (): void => {
              try {
                interrupted();
              } catch (err) {
                failure ??= err;
              }
              if (failure !== undefined || next >= batches.length) {
                resolve();
                return;
              }
              worker.postMessage(batches[next++]);
            };
            worker.on('message', (reply: RestoreReply) => {
              if (reply.ok) {
                done += reply.bytes;
                options.onProgress?.(done, total);
              } else {
                failure ??= new PagestackError(reply.code, reply.message, reply.data, reply.exitCode);
              }
              send();
            });
            worker.on('error', (err) => {
              failure ??= err;
              resolve();
            });
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
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
      st = fs.lstatSync(osPath(to));
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

function mkdir(to: string): void {
  try {
    fs.mkdirSync(osPath(to), 0o700);
  } catch (err) {
    throw fsError(err, to);
  }
}

function remove(to: string): void {
  try {
    fs.unlinkSync(osPath(to));
  } catch (err) {
    throw fsError(err, to);
  }
}
