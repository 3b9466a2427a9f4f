/**
 * `load` through the dynamic linker: for each program, the library search
 * (src/loader/rtld search) in the program's root file system (a host
 * directory, or a container laid over it) and ld.so's start-up replayed on
 * the exec plan (mappings, minimal malloc, TLS, relocation writes, RELRO).
 * A start-up then reads the pages of every object's PT_LOADs, not only the
 * program's and ld.so's.
 *
 * Library constructors, and the heap their mallocs make, are not simulated:
 * the process is the one at the program's entry point.
 */
import { ET_DYN } from '../elf/index.js';
import { planRtld, type EntryPlan } from '../loader/rtld/rtld.js';
import { HostRootFiles, type RtldFiles } from '../loader/rtld/files.js';
import { hostProgram, LD_SO_CACHE, resolveWith, type ProgramFile } from '../loader/rtld/search.js';
import type { RtldResolution } from '../loader/rtld/types.js';
import type { ExecPlan } from '../abi/exec-plan.js';
import { ContainerRootFiles } from './container-rtld-files.js';
import { ContainerFileSource } from './container-source.js';
import type { Program, ProgramSet } from './programs.js';

export interface ProgramEntry {
  entry: EntryPlan;
  resolution: RtldResolution;
  /** Every object's PT_LOADs at its load address: [start, end) and p_flags. */
  segments: Array<{ start: number; end: number; flags: number; object: string }>;
}

export interface RtldLoadOptions {
  root?: string;
  libraryPath?: string;
  bindNow?: boolean;
}

/** The library search and ld.so's start-up for `program`, on top of its exec plan. */
export function planProgramEntry(
  set: ProgramSet,
  program: Program,
  exec: ExecPlan,
  options: RtldLoadOptions = {},
): ProgramEntry {
  const host = new HostRootFiles(options.root ?? '/', (path) => set.files.open(path));
  let files: RtldFiles = host;
  let file: ProgramFile;
  if (program.source instanceof ContainerFileSource) {
    const source = program.source;
    files = new ContainerRootFiles(source, host);
    const index = source.resolve(program.execPath, program.execPath);
    const entry = index === undefined ? undefined : source.container.files[index];
    const path = `/${program.execPath.replace(/^\/+|^\.\//g, '')}`;
    file = {
      path,
      realPath: entry ? `/${entry.path.replace(/^\/+/, '')}` : path,
      identity: `member ${source.container.path}#${entry?.linkIndex ?? entry?.index ?? path}`,
      backing: program.backing,
    };
  } else {
    file = hostProgram(host, program.execPath, (path) => set.files.open(path));
    file.backing = program.backing;
  }
  const resolveOptions: Parameters<typeof resolveWith>[2] = {};
  if (options.root !== undefined) resolveOptions.root = options.root;
  if (options.libraryPath !== undefined) resolveOptions.libraryPath = options.libraryPath;
  const resolution = resolveWith(files, file, resolveOptions);
  const cacheSize = files.readFile(LD_SO_CACHE)?.length ?? 0;
  const entry = planRtld(exec, resolution, { bindNow: options.bindNow === true, cacheSize });

  const bases = new Map<string, number>();
  for (const o of entry.objects) bases.set(`${o.kind} ${o.path}`, o.base);
  const segments: ProgramEntry['segments'] = [];
  const objects = [...resolution.objects, ...(resolution.interpreter ? [resolution.interpreter] : [])];
  for (const o of objects) {
    let base = bases.get(`${o.kind} ${o.backing.path}`);
    if (base === undefined && o.kind === 'program') base = o.image.type === ET_DYN ? exec.loadBias : 0;
    if (base === undefined) continue;
    for (const s of o.image.loads) {
      if (s.memsz === 0n) continue;
      segments.push({
        start: base + Number(s.vaddr),
        end: base + Number(s.vaddr + s.memsz),
        flags: s.flags,
        object: o.realPath,
      });
    }
  }
  return { entry, resolution, segments };
}
