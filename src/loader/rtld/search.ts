/**
 * ld.so's library search (glibc 2.36, elf/dl-deps.c _dl_map_object_deps and
 * elf/dl-load.c _dl_map_object), for the initial objects of a process:
 *
 * - DT_NEEDED entries are walked breadth-first from the program; each new
 *   object is loaded when its name is first met, so the load order is the
 *   breadth-first order.
 * - A name is first matched against the objects already loaded: any name
 *   it was loaded under, its path, and its DT_SONAME. Then, for a name with
 *   no '/': DT_RPATH of the loader and of each object up its loader chain,
 *   then of the program (all only when the loader has no DT_RUNPATH);
 *   LD_LIBRARY_PATH; DT_RUNPATH of the loader; /etc/ld.so.cache; the system
 *   directories (these two skipped when the loader has DF_1_NODEFLIB). In
 *   each directory the glibc-hwcaps and legacy subdirectories come first.
 *   A name with a '/' is a path (after $ORIGIN, $LIB, $PLATFORM).
 * - A file already loaded under another name (same inode) is not loaded again.
 * - ld.so itself is loaded from the start under its PT_INTERP path and SONAME.
 *
 * Not modelled: LD_PRELOAD and /etc/ld.so.preload, DT_AUXILIARY/DT_FILTER
 * objects, symbol-version checks (ldd's "version `X' not found"), secure
 * (setuid) mode, the ISA-level rejection of x86 objects (the model's CPU
 * supports every level), and dlopen.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fsError, type ErrorCode } from '../../errors.js';
import { readExecImage } from '../elf-image.js';
import { FileTable } from '../file-backing.js';
import type { FileBacking } from '../../abi/file-backing.js';
import { DF_1_NODEFLIB, readDynamic } from './dynamic.js';
import { HostRootFiles, type RtldFiles } from './files.js';
import { lookupCache, parseLdSoCache, type LdSoCache } from './ld-so-cache.js';
import { openVerify, type Verified } from './open-verify.js';
import { DEBIAN_X86_64, hasDst, originOf, splitSearchPath, substituteDst, type RtldMachine } from './search-path.js';
import {
  RtldError,
  type LddEntry,
  type LoadedObject,
  type MissingLibrary,
  type ResolveOptions,
  type RtldResolution,
} from './types.js';

export const LD_SO_CACHE = '/etc/ld.so.cache';
/** The vDSO's SONAME: a DT_NEEDED of this name is answered by the vDSO. */
export const VDSO_NAME = 'linux-vdso.so.1';

/** A program to resolve: its path as named, inside the root, and its file. */
export interface ProgramFile {
  /** The path the program was named by (argv[0] / ldd's argument), inside the root. */
  path: string;
  /** Its path inside the root with links resolved. */
  realPath: string;
  identity: string;
  backing: FileBacking;
}

/**
 * Resolves the libraries of `program`, a host path (as `pagestack maps`
 * takes it) searched inside `options.root`, or a ProgramFile from `files`.
 */
export async function resolveLibraries(
  program: string | ProgramFile,
  options: ResolveOptions = {},
): Promise<RtldResolution> {
  const table = await FileTable.create();
  const files = options.files ?? new HostRootFiles(options.root ?? '/', (host) => table.open(host));
  const file = typeof program === 'string' ? hostProgram(files, program, (host) => table.open(host)) : program;
  // On the real root, relative paths (the program's, empty or relative search directories) start where we are.
  const onHost = options.files === undefined && (options.root === undefined || fs.realpathSync(options.root) === '/');
  return resolveWith(files, file, options.cwd === undefined && onHost ? { ...options, cwd: process.cwd() } : options);
}

/**
 * A host path as a ProgramFile: named inside the root when it lies there
 * (the root's own path for it), else opened from the host with `openHost`.
 */
export function hostProgram(files: RtldFiles, path: string, openHost: (hostPath: string) => FileBacking): ProgramFile {
  let real: string;
  try {
    real = fs.realpathSync(path);
  } catch (err) {
    throw fsError(err, path);
  }
  const hostRoot = files instanceof HostRootFiles ? files.hostRoot : '/';
  const inside = hostRoot === '/' ? real : real.startsWith(`${hostRoot}/`) ? real.slice(hostRoot.length) : undefined;
  if (inside !== undefined) {
    const found = files.lookup(inside);
    if (found.kind === 'file')
      return {
        path: hostRoot === '/' ? path : inside,
        realPath: found.realPath,
        identity: found.identity,
        backing: found.open(),
      };
  }
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(real, { bigint: true });
  } catch (err) {
    throw fsError(err, path);
  }
  return { path, realPath: real, identity: `${st.dev}:${st.ino}`, backing: openHost(real) };
}

/** The search itself, on a file system and an opened program. */
export function resolveWith(files: RtldFiles, program: ProgramFile, options: ResolveOptions = {}): RtldResolution {
  return new Search(files, options).run(program);
}

class Search {
  private readonly machine: RtldMachine;
  private readonly cwd: string;
  private readonly trace: boolean;
  private cache: LdSoCache | false | undefined;
  /** The namespace's link-map chain in load order (program, ld.so, then libraries and, in trace mode, faked entries). */
  private readonly chain: Array<LoadedObject | Faked> = [];
  private main!: LoadedObject;
  private rtld: LoadedObject | undefined;
  private programName = '';
  private readonly vdsoNames = [VDSO_NAME];
  private libraryPath: string[] = [];

  constructor(
    private readonly files: RtldFiles,
    private readonly options: ResolveOptions,
  ) {
    this.machine = options.machine ?? DEFAULT_MACHINE;
    this.cwd = options.cwd ?? '/';
    this.trace = options.trace === true;
    this.cache = options.cache === false ? false : options.cache;
  }

  run(program: ProgramFile): RtldResolution {
    this.programName = this.options.programName ?? program.path;
    const image = readExecImage(program.backing, 'program');
    const pathMode = this.options.programOrigin === 'path';
    const main: LoadedObject = {
      index: 0,
      kind: 'program',
      name: program.path,
      names: pathMode ? [program.path] : [],
      realPath: program.realPath,
      identity: program.identity,
      needed: [],
      deps: [],
      origin: pathMode ? originOf(program.path, this.cwd) : originOf(program.realPath, '/'),
      backing: program.backing,
      image,
    };
    this.load(main);
    this.main = main;
    this.chain.push(main);

    const rtldPath = this.options.rtld ?? image.interpreter;
    if (rtldPath !== undefined) this.rtld = this.openInterpreter(rtldPath, image.interpreter ?? rtldPath);
    if (this.rtld) this.chain.push(this.rtld);
    if (this.options.libraryPath)
      this.libraryPath = splitSearchPath(this.options.libraryPath, /[:;]/, main.origin, this.machine);

    // _dl_map_object_deps: the breadth-first list; new objects are appended as their names are met.
    const scope: Array<LoadedObject | Faked> = [main];
    const reserved = new Set<LoadedObject | Faked>([main]);
    const missing: MissingLibrary[] = [];
    if (this.rtld) {
      for (let i = 0; i < scope.length; i++) {
        const l = scope[i]!;
        if (isFaked(l) || !l.dynamic) continue;
        for (const raw of l.dynamic.needed) {
          const name = this.expandNeeded(l, raw);
          const dep = this.mapObject(l, name);
          if (dep === 'vdso') continue;
          if (!reserved.has(dep)) {
            reserved.add(dep);
            scope.push(dep);
          }
          if (isFaked(dep)) missing.push({ name, neededBy: l });
          else l.deps.push(dep);
        }
      }
    }

    const loaded = scope.filter((o): o is LoadedObject => !isFaked(o));
    const objects = this.chain.filter((o): o is LoadedObject => !isFaked(o) && o !== this.rtld);
    for (const [i, o] of objects.entries()) o.index = i;
    if (this.rtld) this.rtld.index = -1;
    const result: RtldResolution = { program: main, objects, scope: loaded, ldd: this.lddChain(loaded), missing };
    if (this.rtld) result.interpreter = this.rtld;
    return result;
  }

  /**
   * ld.so itself, as the kernel loaded it (named by PT_INTERP, also by its
   * SONAME), or as run by ldd (named by its own path, asked for as PT_INTERP).
   * Undefined when the file is not there (execve would have failed first).
   */
  private openInterpreter(path: string, requestedAs: string): LoadedObject | undefined {
    const found = this.files.lookup(path.startsWith('/') ? path : nodePath.posix.join(this.cwd, path));
    if (found.kind !== 'file') return undefined;
    const backing = found.open();
    const rtld: LoadedObject = {
      index: -1,
      kind: 'interpreter',
      name: path,
      names: [requestedAs],
      realPath: found.realPath,
      identity: found.identity,
      needed: [],
      deps: [],
      origin: originOf(path, this.cwd),
      backing,
      image: readExecImage(backing, 'interpreter'),
    };
    this.load(rtld);
    if (rtld.soname !== undefined && !rtld.names.includes(rtld.soname)) rtld.names.push(rtld.soname);
    return rtld;
  }

  /** Reads the dynamic section of a new object. */
  private load(o: LoadedObject): void {
    const dynamic = readDynamic(o.image);
    if (!dynamic) return;
    o.dynamic = dynamic;
    o.needed = dynamic.needed;
    if (dynamic.soname !== undefined) o.soname = dynamic.soname;
  }

  /** dl-deps.c expand_dst(): DT_NEEDED with tokens, expanded with the needing object's origin. */
  private expandNeeded(l: LoadedObject, name: string): string {
    if (!hasDst(name)) return name;
    const expanded = substituteDst(name, l.origin, this.machine);
    if (expanded === '') this.fail('E_RTLD_DST', `${name}: empty dynamic string token substitution`, name);
    return expanded;
  }

  /** _dl_map_object(): an object already loaded, one found now, or (trace mode) a faked entry. */
  private mapObject(loader: LoadedObject, name: string): LoadedObject | Faked | 'vdso' {
    for (const l of this.chain) {
      if (isFaked(l)) continue;
      if (l.name === name || l.names.includes(name)) return l;
      if (l.soname === name) {
        l.names.push(name);
        return l;
      }
    }
    if (this.vdsoNames.includes(name)) return 'vdso';

    let found: { path: string; verified: Extract<Verified, { ok: true }> } | undefined;
    const otherClass = { seen: false };
    if (!name.includes('/')) {
      found = this.search(loader, name, otherClass);
    } else {
      const path = hasDst(name) ? substituteDst(name, loader.origin, this.machine) : name;
      const verified = this.verify(path, otherClass);
      if (verified) found = { path, verified };
    }

    if (!found) {
      if (this.trace) {
        const faked: Faked = { faked: true, name };
        this.chain.push(faked);
        return faked;
      }
      if (otherClass.seen) this.fail('E_RTLD_WRONG_CLASS', `${name}: wrong ELF class: ELFCLASS32`, name);
      this.fail('E_RTLD_NOT_FOUND', `${name}: cannot open shared object file: No such file or directory`, name);
    }

    // _dl_map_object_from_fd: the same file already loaded under another name.
    const same = this.chain.find((l): l is LoadedObject => !isFaked(l) && l.identity === found!.verified.identity);
    if (same) {
      if (!same.names.includes(name)) same.names.push(name);
      return same;
    }
    const backing = found.verified.open();
    let image: ReturnType<typeof readExecImage>;
    try {
      image = readExecImage(backing, 'interpreter');
    } catch (err) {
      this.fail('E_RTLD_BAD_OBJECT', err instanceof Error ? err.message : String(err), name);
    }
    const o: LoadedObject = {
      index: this.chain.length,
      kind: 'library',
      name: found.path,
      names: [name],
      realPath: found.verified.realPath,
      identity: found.verified.identity,
      needed: [],
      deps: [],
      loader,
      origin: originOf(found.path, this.cwd),
      backing,
      image,
    };
    this.load(o);
    this.chain.push(o);
    return o;
  }

  /** The search directories of _dl_map_object for a name without '/'. */
  private search(loader: LoadedObject, name: string, otherClass: { seen: boolean }) {
    const inDirs = (dirs: string[]) => this.openPath(dirs, name, otherClass);
    let found: ReturnType<typeof inDirs>;
    if (loader.dynamic?.runpath === undefined) {
      let didMain = false;
      for (let l: LoadedObject | undefined = loader; l; l = l.loader) {
        const rpath = l.dynamic?.rpath;
        if (rpath === undefined) continue;
        found = inDirs(this.rpathDirs(l, rpath));
        if (found) return found;
        didMain ||= l === this.main;
      }
      const mainRpath = this.main.dynamic?.rpath;
      if (!didMain && mainRpath !== undefined) {
        found = inDirs(this.rpathDirs(this.main, mainRpath));
        if (found) return found;
      }
    }
    if (this.libraryPath.length > 0) {
      found = inDirs(this.libraryPath);
      if (found) return found;
    }
    const runpath = loader.dynamic?.runpath;
    if (runpath !== undefined) {
      found = inDirs(this.rpathDirs(loader, runpath));
      if (found) return found;
    }
    const nodeflib = ((loader.dynamic?.flags1 ?? 0) & DF_1_NODEFLIB) !== 0;
    const cached = this.cacheLookup(name);
    if (cached !== undefined && !(nodeflib && this.machine.systemDirs.some((d) => cached.startsWith(d)))) {
      const verified = this.verify(cached, otherClass);
      if (verified) return { path: cached, verified };
    }
    if (!nodeflib) return inDirs(this.machine.systemDirs);
    return undefined;
  }

  private rpathDirs(l: LoadedObject, list: string): string[] {
    return splitSearchPath(list, /:/, l.origin, this.machine);
  }

  /** open_path(): each directory, each subdirectory in it, the first file that verifies. */
  private openPath(dirs: string[], name: string, otherClass: { seen: boolean }) {
    for (const dir of dirs) {
      for (const sub of this.machine.subdirs) {
        const path = dir + (sub === '' ? '' : `${sub}/`) + name;
        const verified = this.verify(path, otherClass);
        if (verified) return { path, verified };
      }
    }
    return undefined;
  }

  /** open_verify(): the file at `path`, or undefined to keep searching; a fatal problem throws. */
  private verify(path: string, otherClass: { seen: boolean }): Extract<Verified, { ok: true }> | undefined {
    const inRoot = path.startsWith('/') ? path : nodePath.posix.join(this.cwd, path);
    const v = openVerify(this.files, inRoot);
    if (v.ok) return v;
    if ('fatal' in v) this.fail('E_RTLD_BAD_OBJECT', v.fatal.replace(inRoot, path), path);
    if (v.otherClass) otherClass.seen = true;
    return undefined;
  }

  private cacheLookup(name: string): string | undefined {
    if (this.cache === undefined) {
      const bytes = this.files.readFile(LD_SO_CACHE);
      this.cache = (bytes && parseLdSoCache(bytes, LD_SO_CACHE)) || false;
    }
    if (this.cache === false) return undefined;
    return lookupCache(this.cache, name, { glibcHwcaps: this.machine.glibcHwcaps, isaLevel: this.machine.isaLevel });
  }

  /**
   * The chain ldd prints: the vDSO after the program, the objects in load
   * order, and ld.so where the search list has it (after the object before
   * it there; faked entries are not in that list), or nowhere when no
   * DT_NEEDED names it.
   */
  private lddChain(scope: LoadedObject[]): LddEntry[] {
    const vdso = { faked: true, name: VDSO_NAME } as const;
    const chain: Array<LoadedObject | Faked | typeof vdso> = [
      this.main,
      vdso,
      ...this.chain.filter((o) => o !== this.rtld && o !== this.main),
    ];
    const at = this.rtld ? scope.indexOf(this.rtld) : -1;
    if (at > 0) chain.splice(chain.indexOf(scope[at - 1]!) + 1, 0, this.rtld!);
    const out: LddEntry[] = [];
    for (const o of chain.slice(1)) {
      if (o === vdso) out.push({ kind: 'vdso', name: VDSO_NAME });
      else if (isFaked(o)) out.push({ kind: 'missing', name: o.name });
      else out.push({ kind: 'object', object: o, requestedAs: o.names[0] ?? o.name });
    }
    return out;
  }

  private fail(code: ErrorCode, problem: string, name: string): never {
    throw new RtldError(code, `${this.programName}: error while loading shared libraries: ${problem}`, {
      file: this.programName,
      library: name,
    });
  }
}

const DEFAULT_MACHINE = DEBIAN_X86_64;

interface Faked {
  faked: true;
  name: string;
}

function isFaked(o: LoadedObject | Faked): o is Faked {
  return (o as Faked).faked === true;
}
