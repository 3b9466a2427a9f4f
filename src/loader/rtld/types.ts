/**
 * What ld.so's library search produces: the objects of one process in the
 * order ld.so loads them, each with the names it goes by, the file it came
 * from and its dynamic section.
 */
import { InputError, type ErrorCode, type ErrorData } from '../../errors.js';
import type { FileBacking } from '../../abi/file-backing.js';
import type { ExecImage } from '../elf-image.js';
import type { DynamicInfo } from './dynamic.js';
import type { LdSoCache } from './ld-so-cache.js';
import type { RtldFiles } from './files.js';
import type { RtldMachine } from './search-path.js';

export interface LoadedObject {
  /** Position in `objects` (0: the program). */
  index: number;
  /** 'program': mapped by execve; 'interpreter': ld.so itself, mapped by execve; 'library': mapped by ld.so. */
  kind: 'program' | 'interpreter' | 'library';
  /**
   * l_name: the path ld.so opened, as ldd prints it after "=>" (a search
   * directory plus the name, or the cache's path; not symlink-resolved).
   * For the program, the path it was named by; for ld.so, its PT_INTERP path.
   */
  name: string;
  /** l_libname: every name this object was asked for (DT_NEEDED strings, SONAME once matched), first first. */
  names: string[];
  /** The path inside the root with symbolic links resolved, as /proc/PID/maps shows it. */
  realPath: string;
  /** Identity of the file (st_dev:st_ino, or a container member): one object per file. */
  identity: string;
  /** DT_SONAME, when present. */
  soname?: string;
  /** DT_NEEDED strings as written. */
  needed: string[];
  /** The objects those names resolved to, in DT_NEEDED order (missing ones left out). */
  deps: LoadedObject[];
  /** The object whose DT_NEEDED made ld.so load this one (l_loader); none for the program and ld.so. */
  loader?: LoadedObject;
  /** l_origin: what $ORIGIN expands to for this object's own paths. */
  origin: string;
  /** The file's pages. */
  backing: FileBacking;
  /** The checked ELF image (program headers, PT_LOADs, bytes). */
  image: ExecImage;
  /** PT_DYNAMIC; undefined for a static object. */
  dynamic?: DynamicInfo;
}

/** A DT_NEEDED name that nothing answered (only in trace mode, as ldd lists it). */
export interface MissingLibrary {
  name: string;
  neededBy: LoadedObject;
}

/** One line of ldd's output, in link-map order. */
export type LddEntry =
  | { kind: 'vdso'; name: string }
  | { kind: 'object'; object: LoadedObject; requestedAs: string }
  | { kind: 'missing'; name: string };

export interface RtldResolution {
  program: LoadedObject;
  /** ld.so itself (PT_INTERP); undefined for a program without one. */
  interpreter?: LoadedObject;
  /** The program, then every library ld.so maps, in the order it maps them. ld.so itself is not here. */
  objects: LoadedObject[];
  /**
   * The global scope (main_map->l_searchlist): the program and its
   * dependencies breadth-first, ld.so included where a DT_NEEDED names it.
   * Symbols are looked up in this order.
   */
  scope: LoadedObject[];
  /** The link-map chain as ldd prints it (trace mode order). */
  ldd: LddEntry[];
  /** Names not found (trace mode only; otherwise resolveLibraries throws). */
  missing: MissingLibrary[];
}

export interface ResolveOptions {
  /** Host directory used as the root file system (default '/'). Ignored when `files` is given. */
  root?: string;
  /** The file system to search; default: the host directory `root`. */
  files?: RtldFiles;
  /** LD_LIBRARY_PATH as one string (':' or ';' separated), as the environment holds it. */
  libraryPath?: string;
  /** The process's current directory inside the root (relative search directories start there). Default '/'. */
  cwd?: string;
  /** ld.so's build and the CPU (default: Debian 12 x86-64, x86-64-v4). */
  machine?: RtldMachine;
  /** The ld.so.cache to use: default read from /etc/ld.so.cache in the root; false: none (--inhibit-cache). */
  cache?: LdSoCache | false;
  /** ldd mode (LD_TRACE_LOADED_OBJECTS): a missing library is listed, not an error. */
  trace?: boolean;
  /** argv[0], for error messages. Default: the program path. */
  programName?: string;
  /**
   * How $ORIGIN of the program is found: 'exe' (execve: /proc/self/exe, the
   * resolved path) or 'path' (ld.so run as a command, as ldd does: the path
   * as given). Default 'exe'.
   */
  programOrigin?: 'exe' | 'path';
  /**
   * ld.so run as a command on the program (ldd runs /lib64/ld-linux-x86-64.so.2 FILE):
   * its path inside the root. The program's PT_INTERP then only names it, and
   * a program without PT_INTERP (a shared library) is searched too.
   */
  rtld?: string;
}

/**
 * ld.so's failure to load: one line in ld.so's words,
 * "PROG: error while loading shared libraries: NAME: cannot open shared object file: No such file or directory".
 */
export class RtldError extends InputError {
  constructor(code: ErrorCode, message: string, data: ErrorData = {}) {
    super(code, message, data);
  }
}

/** Stable codes of RtldError. */
export const RTLD_ERROR_CODES = {
  E_RTLD_NOT_FOUND: 'a DT_NEEDED library is in no search directory (cannot open shared object file)',
  E_RTLD_WRONG_CLASS: 'the only candidates found were ELFCLASS32',
  E_RTLD_BAD_OBJECT: 'a candidate opened but is not a loadable ELF object (invalid ELF header, file too short, ...)',
  E_RTLD_DST: 'a DT_NEEDED name with a dynamic string token that cannot be expanded',
} as const;
