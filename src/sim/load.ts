/**
 * loadPrograms (`pagestack load`): execs each program N times (or once and
 * forks N - 1 children), touches its pages as a start-up would, and
 * measures memory twice, on two Machines that differ only in the page
 * cache: the content-shared one (identical pages of any files share a
 * frame) and the ordinary per-file one (Linux today). The difference is
 * what content sharing saves for this set of programs.
 *
 * What a start-up touches (`touch`):
 * - 'text': every page of the executable PT_LOADs of the program and its
 *   interpreter is read (the code runs).
 * - 'all' (default): every page of every PT_LOAD of both is read (code,
 *   read-only data, data, bss), and the pages the dynamic linker writes are
 *   written: PT_GNU_RELRO, .got and .got.plt (relocations) of both, and the
 *   interpreter's own .data and .bss.
 * - a fraction f in (0, 1]: as 'all', but of each PT_LOAD only a fraction f
 *   of the pages is read, spread evenly; the relocation writes stay.
 * Forked children (fork: true) share their parent's written pages and read
 * the same pages again (file mappings are not copied by fork, so they fault
 * them in from the page cache); they write nothing.
 */
import { UsageError } from '../errors.js';
import type { ExecPlan } from '../abi/exec-plan.js';
import { Machine } from '../mm/machine.js';
import type { SmapsRollup } from '../mm/types.js';
import type { OpenContainer } from './container-reader.js';
import { resolveImages, type SkippedMember } from './images.js';
import { ProgramSet, interpBias, type ElfLayout, type Program } from './programs.js';
import { entryFiles, runEntry } from '../loader/rtld/entry.js';
import {
  DEFAULT_FILE_CACHE,
  fillFileCache,
  fillsPageCache,
  formatFileCacheState,
  type FileCacheState,
} from '../loader/file-cache.js';
import { planProgramEntry, type ProgramEntry, type RtldLoadOptions } from './load-rtld.js';

export type TouchMode = 'all' | 'text' | number;

export interface LoadOptions {
  /** Copies of each program, 1 … 10 000. Default 1. */
  procs?: number;
  /** Start copies 2..N by fork from the first instead of execve. Default false. */
  fork?: boolean;
  /** What each start-up touches. Default 'all'. */
  touch?: TouchMode;
  /** Where PT_INTERP is resolved (as if chrooted there). Default '/'. */
  root?: string;
  /** A container reader to use instead of this build's (tests). */
  openContainer?: OpenContainer;
  /**
   * Run each dynamically linked program through ld.so (its libraries found,
   * mapped and relocated as at the entry point). Default true; false gives
   * the execve-only model (the program and ld.so, relocation writes guessed
   * from RELRO and .got).
   */
  libs?: boolean;
  /** LD_LIBRARY_PATH for the library search. */
  libraryPath?: string;
  /** How the mapped files sit in the page cache before the first process starts (loader/file-cache.ts). Default faulted. */
  fileCache?: FileCacheState;
  /** Called as processes start: (start-ups done, start-ups in all), over both machines. */
  onProgress?: (done: number, total: number) => void;
}

export const LOAD_SCHEMA = 'pagestack.load/1';

/** Three kinds of pages, counted in pages (4 KiB). */
export interface LoadSharing {
  /** Frames the content-shared page cache saves over the per-file one: identical pages of different files. */
  contentSharedFrames: number;
  /** Per-file cache: file pages mapped by more than one process (the same library in many processes), summed per mapping. */
  ordinarySharedPages: number;
  /** File pages ld.so wrote (relocation, RELRO, its own data): private dirty copies, identical on disk, private in memory. */
  rtldDirtiedPages: number;
}

export const CONSTRUCTOR_NOTE =
  'library constructors and the malloc heap they make are not simulated: processes are as at the program entry point';

/** System-wide figures of one Machine (bytes, except counts of frames and faults). */
export interface LoadSystem {
  framesUsed: number;
  pageCacheFrames: number;
  anonFrames: number;
  rssTotal: number;
  pssTotal: number;
  majorFaults: number;
  minorFaults: number;
  fileReadBytes: number;
}

export interface LoadProcess {
  pid: number;
  program: string;
  /** 0 for the first copy of a program. */
  copy: number;
  forked: boolean;
  /** smaps_rollup with the content-shared page cache and with the per-file one. */
  content: SmapsRollup;
  file: SmapsRollup;
}

export interface LoadResult {
  schema: typeof LOAD_SCHEMA;
  programs: Array<{ name: string; path: string; interpreter: string | null; libraries?: string[] }>;
  /** Regular members of the containers given that are not programs, with the reason; in container order. */
  skipped: SkippedMember[];
  /** Programs went through ld.so (libraries mapped and relocated). */
  libs: boolean;
  /** How the pages of the run are shared, and what the dynamic linker broke (with libs). */
  sharing?: LoadSharing;
  /** What the model leaves out. */
  notes: string[];
  procs: number;
  fork: boolean;
  touch: TouchMode;
  /** The page-cache state of the mapped files before the first start-up: faulted, pages, write or write:BYTES. */
  fileCache: string;
  processes: LoadProcess[];
  system: { content: LoadSystem; file: LoadSystem; saving: LoadSystem };
}

const MACHINE_FRAMES = 1 << 24;

/** Loads `images` (ELF files, containers, CONTAINER:MEMBER) and compares the two page caches. */
export async function loadPrograms(images: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const procs = options.procs ?? 1;
  if (!Number.isInteger(procs) || procs < 1 || procs > 10_000)
    throw new UsageError(`--procs must be an integer from 1 to 10000, not ${procs}`);
  const touch = options.touch ?? 'all';
  if (typeof touch === 'number' && !(touch > 0 && touch <= 1))
    throw new UsageError(`--touch must be all, text or a fraction in (0, 1], not ${touch}`);
  if (images.length === 0) throw new UsageError('give at least one program or container');
  const set = await ProgramSet.create({
    ...(options.root === undefined ? {} : { root: options.root }),
    ...(options.openContainer === undefined ? {} : { openContainer: options.openContainer }),
  });
  try {
    const { programs, skipped } = await resolveImages(images, set);
    const plans = programs.map((p) => set.plan(p));
    const fork = options.fork ?? false;
    const libs = options.libs ?? true;
    const rtldOptions: RtldLoadOptions = {};
    if (options.root !== undefined) rtldOptions.root = options.root;
    if (options.libraryPath !== undefined) rtldOptions.libraryPath = options.libraryPath;
    const entries = programs.map((p, i) =>
      libs && p.interp ? planProgramEntry(set, p, plans[i]!, rtldOptions) : undefined,
    );
    const fileCache = options.fileCache ?? DEFAULT_FILE_CACHE;
    const total = 2 * programs.length * procs;
    const progress = options.onProgress;
    const content = simulate(
      'content',
      programs,
      plans,
      procs,
      fork,
      touch,
      entries,
      fileCache,
      progress && ((done) => progress(done, total)),
    );
    const file = simulate(
      'file',
      programs,
      plans,
      procs,
      fork,
      touch,
      entries,
      fileCache,
      progress && ((done) => progress(total / 2 + done, total)),
    );
    const processes = content.processes.map(
      ({ rollup, ...p }, i): LoadProcess => ({ ...p, content: rollup, file: file.processes[i]!.rollup }),
    );
    return {
      schema: LOAD_SCHEMA,
      programs: programs.map((p, i) => {
        const out: LoadResult['programs'][number] = {
          name: p.name,
          path: p.backing.path,
          interpreter: p.interp?.backing.path ?? null,
        };
        const e = entries[i];
        if (e) out.libraries = e.resolution.objects.slice(1).map((o) => o.backing.path);
        return out;
      }),
      skipped,
      libs,
      ...(libs ? { sharing: sharingOf(content, file) } : {}),
      notes: libs
        ? [CONSTRUCTOR_NOTE]
        : ['--no-libs: only the program and ld.so are mapped; shared libraries are left out'],
      procs,
      fork,
      touch,
      fileCache: formatFileCacheState(fileCache),
      processes,
      system: { content: content.system, file: file.system, saving: difference(file.system, content.system) },
    };
  } finally {
    set.close();
  }
}

interface Simulated {
  processes: Array<Omit<LoadProcess, 'content' | 'file'> & { rollup: SmapsRollup }>;
  system: LoadSystem;
  /** Pages: file pages mapped by more than one process (summed per mapping), and private dirty file pages. */
  sharedFilePages: number;
  dirtyFilePages: number;
}

function simulate(
  pageCache: 'content' | 'file',
  programs: Program[],
  plans: ExecPlan[],
  procs: number,
  fork: boolean,
  touch: TouchMode,
  entries: Array<ProgramEntry | undefined> = [],
  fileCache: FileCacheState = DEFAULT_FILE_CACHE,
  onStarted?: (done: number) => void,
): Simulated {
  const m = new Machine({ frames: MACHINE_FRAMES, pageCache, keepPageCache: fillsPageCache(fileCache) });
  const started: Array<{ pid: number; program: string; copy: number; forked: boolean }> = [];
  programs.forEach((program, i) => {
    const plan = plans[i]!;
    const entry = entries[i];
    const pages = entry ? entryPages(entry, touch, m.pageSize) : startupPages(program, plan, touch, m.pageSize);
    const files = entry ? entryFiles(entry.entry) : plan.vmas.flatMap((v) => (v.file ? [v.file.backing] : []));
    fillFileCache(m, files, fileCache);
    const start = () => (entry ? runEntry(m, entry.entry) : m.exec(plan));
    const first = start();
    startUp(m, first, pages, true);
    started.push({ pid: first, program: program.name, copy: 0, forked: false });
    onStarted?.(started.length);
    for (let copy = 1; copy < procs; copy++) {
      const pid = fork ? m.fork(first) : start();
      startUp(m, pid, pages, !fork);
      started.push({ pid, program: program.name, copy, forked: fork });
      onStarted?.(started.length);
    }
  });
  const processes = started.map((s) => ({ ...s, rollup: m.smapsRollup(s.pid) }));
  let sharedFilePages = 0;
  let dirtyFilePages = 0;
  for (const s of started) {
    for (const e of m.smaps(s.pid)) {
      if (e.path === '' || e.path.startsWith('[') || e.path.startsWith('/dev/zero')) continue;
      sharedFilePages += (e.sharedClean + e.sharedDirty) / m.pageSize;
      dirtyFilePages += e.privateDirty / m.pageSize;
    }
  }
  const stats = m.stats();
  let minor = 0;
  let major = 0;
  for (const s of started) {
    const f = m.processFaults(s.pid);
    minor += f.minor;
    major += f.major;
  }
  return {
    processes,
    sharedFilePages,
    dirtyFilePages,
    system: {
      framesUsed: stats.frames.used,
      pageCacheFrames: stats.pageCache,
      anonFrames: stats.anonymous,
      rssTotal: processes.reduce((t, p) => t + p.rollup.rss, 0),
      pssTotal: processes.reduce((t, p) => t + p.rollup.pss, 0),
      majorFaults: major,
      minorFaults: minor,
      fileReadBytes: stats.bytesRead,
    },
  };
}

interface Range {
  addr: number;
  length: number;
}

/** The pages a start-up reads and writes. */
export interface StartupPages {
  reads: Range[];
  writes: Range[];
}

function startUp(m: Machine, pid: number, pages: StartupPages, write: boolean): void {
  for (const r of pages.reads) m.touch(pid, r.addr, r.length, 'read');
  if (write) for (const r of pages.writes) m.touch(pid, r.addr, r.length, 'write');
}

/** What a start-up of `program` touches under `touch` (see the header). */
export function startupPages(program: Program, plan: ExecPlan, touch: TouchMode, pageSize: number): StartupPages {
  const images: Array<{ layout: ElfLayout; bias: number; isInterp: boolean }> = [
    { layout: program.layout, bias: plan.loadBias, isInterp: false },
  ];
  if (program.interp) {
    const bias = interpBias(plan, program.interp.layout);
    if (bias !== undefined) images.push({ layout: program.interp.layout, bias, isInterp: true });
  }
  const reads: Range[] = [];
  const writes: Range[] = [];
  for (const { layout, bias, isInterp } of images) {
    for (const load of layout.loads) {
      if (touch === 'text' && (load.flags & 1) === 0) continue; // PF_X
      const start = Math.floor((load.vaddr + bias) / pageSize) * pageSize;
      const end = Math.ceil((load.vaddr + bias + load.memsz) / pageSize) * pageSize;
      reads.push(...spread(start, end, typeof touch === 'number' ? touch : 1, pageSize));
    }
    if (touch === 'text') continue;
    const relocated: Array<{ vaddr: number; size: number }> = [];
    if (layout.relro) relocated.push({ vaddr: layout.relro.vaddr, size: layout.relro.memsz });
    for (const name of isInterp ? ['.got', '.got.plt', '.data', '.bss'] : ['.got', '.got.plt']) {
      const s = layout.sections.get(name);
      if (s !== undefined) relocated.push({ vaddr: s.addr, size: s.size });
    }
    // Only what a writable PT_LOAD maps can be written (a damaged or unusual file may place these elsewhere).
    for (const r of relocated) {
      if (r.size > 0 && inWritableLoad(layout, r.vaddr, r.size)) writes.push({ addr: r.vaddr + bias, length: r.size });
    }
  }
  return { reads, writes };
}

/** What a start-up through ld.so touches: every object's PT_LOAD pages (ld.so's own writes are in the entry plan). */
function entryPages(entry: ProgramEntry, touch: TouchMode, pageSize: number): StartupPages {
  const reads: Range[] = [];
  for (const s of entry.segments) {
    if (touch === 'text' && (s.flags & 1) === 0) continue; // PF_X
    const start = Math.floor(s.start / pageSize) * pageSize;
    const end = Math.ceil(s.end / pageSize) * pageSize;
    reads.push(...spread(start, end, typeof touch === 'number' ? touch : 1, pageSize));
  }
  return { reads, writes: [] };
}

function sharingOf(content: Simulated, file: Simulated): LoadSharing {
  return {
    contentSharedFrames: file.system.pageCacheFrames - content.system.pageCacheFrames,
    ordinarySharedPages: file.sharedFilePages,
    rtldDirtiedPages: file.dirtyFilePages,
  };
}

function inWritableLoad(layout: ElfLayout, vaddr: number, size: number): boolean {
  return layout.loads.some((l) => (l.flags & 2) !== 0 && vaddr >= l.vaddr && vaddr + size <= l.vaddr + l.memsz); // PF_W
}

/** The pages of [start, end) to touch for a fraction f, spread evenly (page j iff floor((j+1)f) > floor(jf)). */
function spread(start: number, end: number, f: number, pageSize: number): Range[] {
  const pages = (end - start) / pageSize;
  if (f >= 1) return pages > 0 ? [{ addr: start, length: end - start }] : [];
  const out: Range[] = [];
  for (let j = 0; j < pages; j++) {
    if (Math.floor((j + 1) * f) > Math.floor(j * f)) out.push({ addr: start + j * pageSize, length: pageSize });
  }
  return out;
}

function difference(a: LoadSystem, b: LoadSystem): LoadSystem {
  return {
    framesUsed: a.framesUsed - b.framesUsed,
    pageCacheFrames: a.pageCacheFrames - b.pageCacheFrames,
    anonFrames: a.anonFrames - b.anonFrames,
    rssTotal: a.rssTotal - b.rssTotal,
    pssTotal: a.pssTotal - b.pssTotal,
    majorFaults: a.majorFaults - b.majorFaults,
    minorFaults: a.minorFaults - b.minorFaults,
    fileReadBytes: a.fileReadBytes - b.fileReadBytes,
  };
}
