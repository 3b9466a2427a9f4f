/**
 * The process at its entry point: execve's plan, the library search, and
 * ld.so's start-up replayed into the memory model. `planEntry` gives the
 * plan; `runEntry` maps it into a Machine (exec, then every mmap, munmap,
 * mprotect and page write ld.so makes, through the ordinary fault paths);
 * `entryMaps` / `entrySmaps` print /proc/PID/maps and smaps at that point.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Machine } from '../../mm/machine.js';
import { formatSmaps } from '../../mm/smaps-format.js';
import type { SmapsEntry } from '../../mm/types.js';
import type { FileBacking } from '../../abi/file-backing.js';
import { planExecWith, type ExecOptions } from '../execve.js';
import type { FileTable } from '../file-backing.js';
import { DEFAULT_FILE_CACHE, fillFileCache, type FileCacheState } from '../file-cache.js';
import { formatMaps, mapsLines } from '../maps.js';
import type { ExecPlan, VmaPlan } from '../../abi/exec-plan.js';
import { HostRootFiles } from './files.js';
import { planRtld, type EntryPlan, type RtldProfile } from './rtld.js';
import { hostProgram, resolveWith, LD_SO_CACHE } from './search.js';

export interface EntryOptions extends ExecOptions {
  /** LD_BIND_NOW=1. Default false. */
  bindNow?: boolean;
  /** LD_LIBRARY_PATH. */
  libraryPath?: string;
  profile?: RtldProfile;
  /** false: stop where execve stops (no library search, no ld.so work). Default true. */
  libraries?: boolean;
}

/** execve, the library search and ld.so's start-up of `file`, with the files of one FileTable. */
export function planEntry(files: FileTable, file: string, options: EntryOptions = {}): EntryPlan {
  const exec = planExecWith(files, file, options);
  if (exec.interpreter === undefined || options.libraries === false) {
    return {
      exec,
      ops: [],
      objects: [],
      threadPointer: 0,
      entry: exec.entry,
      bindNow: options.bindNow === true,
      relocations: { relocations: 0, unknown: 0, unresolved: [] },
      mallocBlocks: [],
    };
  }
  const root = options.root ?? '/';
  const rootFiles = new HostRootFiles(root, (host) => files.open(host));
  const program = hostProgram(rootFiles, file, (host) => files.open(host));
  const resolveOptions: Parameters<typeof resolveWith>[2] = { root };
  if (options.libraryPath !== undefined) resolveOptions.libraryPath = options.libraryPath;
  const resolution = resolveWith(rootFiles, program, resolveOptions);
  let cacheSize = 0;
  try {
    cacheSize = fs.statSync(path.join(root, LD_SO_CACHE)).size;
  } catch {
    cacheSize = 0;
  }
  const rtldOptions: Parameters<typeof planRtld>[2] = { bindNow: options.bindNow === true, cacheSize };
  if (options.profile) rtldOptions.profile = options.profile;
  return planRtld(exec, resolution, rtldOptions);
}

/** Every file the entry plan maps (the program, ld.so, the libraries, ld.so.cache), in first-mapped order. */
export function entryFiles(plan: EntryPlan): FileBacking[] {
  const out = new Set<FileBacking>();
  for (const v of plan.exec.vmas) if (v.file) out.add(v.file.backing);
  for (const op of plan.ops) if (op.op === 'mmap' && op.file) out.add(op.file.backing);
  return [...out];
}

/**
 * Maps the entry plan into `machine`: returns the pid. With a `fileCache`
 * state other than `faulted`, every file the plan maps is first put into
 * the page cache as that state says (file-cache.ts; the Machine needs
 * keepPageCache).
 */
export function runEntry(machine: Machine, plan: EntryPlan, fileCache: FileCacheState = DEFAULT_FILE_CACHE): number {
  fillFileCache(machine, entryFiles(plan), fileCache);
  const pid = machine.exec(plan.exec);
  for (const op of plan.ops) {
    switch (op.op) {
      case 'mmap':
        machine.mmap(
          pid,
          op.file
            ? { addr: op.addr, length: op.length, prot: op.prot, file: op.file }
            : { addr: op.addr, length: op.length, prot: op.prot },
        );
        break;
      case 'munmap':
        machine.munmap(pid, op.addr, op.length);
        break;
      case 'mprotect':
        machine.mprotect(pid, op.addr, op.length, op.prot);
        break;
      case 'write':
        machine.write(pid, op.addr, op.bytes);
        break;
      case 'read':
        machine.touch(pid, op.addr, op.length, 'read');
        break;
    }
  }
  return pid;
}

/** The process's VMAs as plan VMAs (with their files), plus the vDSO mappings. */
function entryVmas(machine: Machine, pid: number, plan: EntryPlan): { vmas: VmaPlan[]; exec: ExecPlan } {
  const backings = new Map<string, FileBacking>();
  for (const v of plan.exec.vmas) if (v.file) backings.set(v.file.backing.path, v.file.backing);
  for (const op of plan.ops) if (op.op === 'mmap' && op.file) backings.set(op.file.backing.path, op.file.backing);
  const vmas: VmaPlan[] = machine.maps(pid).map((v) => {
    const backing = backings.get(v.path);
    const out: VmaPlan = { start: v.start, end: v.end, prot: v.prot, shared: v.shared };
    if (backing) out.file = { backing, offset: v.offset };
    else if (v.path !== '') out.name = v.path;
    return out;
  });
  return { vmas, exec: { ...plan.exec, vmas } };
}

/** The exec plan with the VMAs the process has now (for formatMaps, mapsLines and --json). */
export function entryExecPlan(machine: Machine, pid: number, plan: EntryPlan): ExecPlan {
  const exec = entryVmas(machine, pid, plan).exec;
  return { ...exec, entry: plan.entry };
}

/** /proc/PID/maps at the entry point, in the kernel's format. */
export function entryMaps(machine: Machine, pid: number, plan: EntryPlan, special = true): string {
  return formatMaps(entryVmas(machine, pid, plan).exec, { special });
}

/** /proc/PID/smaps at the entry point: the model's counters under the kernel's header lines. */
export function entrySmaps(machine: Machine, pid: number, plan: EntryPlan): string {
  const { exec } = entryVmas(machine, pid, plan);
  const lines = mapsLines(exec);
  const byStart = new Map<number, SmapsEntry>(machine.smaps(pid).map((e) => [e.start, e]));
  let out = '';
  for (const line of lines) {
    const e = byStart.get(line.start) ?? specialEntry(line.start, line.end, line.perms);
    const text = formatSmaps([e]);
    out += line.text + text.slice(text.indexOf('\n'));
  }
  const vsyscall = formatMaps({ ...exec, vmas: [], specialMappings: [] }, { special: true }).trimEnd();
  const v = formatSmaps([specialEntry(0xffffffffff600000, 0xffffffffff601000, '--xp')]);
  return out + vsyscall + v.slice(v.indexOf('\n'));
}

/** A kernel special mapping: no user pages in the model. */
function specialEntry(start: number, end: number, perms: string): SmapsEntry {
  const zero = {
    rss: 0,
    pss: 0,
    pssDirty: 0,
    pssAnon: 0,
    pssFile: 0,
    pssShmem: 0,
    sharedClean: 0,
    sharedDirty: 0,
    privateClean: 0,
    privateDirty: 0,
    referenced: 0,
    anonymous: 0,
    ksm: 0,
    lazyFree: 0,
    swap: 0,
    swapPss: 0,
    locked: 0,
  };
  return {
    ...zero,
    start,
    end,
    perms,
    prot: 0,
    shared: false,
    offset: 0,
    path: '',
    vmFlags: [],
    size: end - start,
    kernelPageSize: 4096,
    mmuPageSize: 4096,
  };
}
