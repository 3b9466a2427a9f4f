/**
 * What glibc 2.36's ld.so does to the process between execve and the
 * program's entry point (elf/rtld.c dl_main, x86-64), as a list of system
 * calls and stores on top of the execve plan:
 *
 *  1. ld.so relocates itself (its .dynamic entries get l_addr added);
 *  2. link maps for the program and the vDSO, then the search paths, from
 *     the minimal malloc (its first mmap lands right below the vDSO);
 *  3. DT_NEEDED breadth-first: each new object costs its real name, its
 *     link map and its origin string from the minimal malloc, then is mapped
 *     by _dl_map_segments; /etc/ld.so.cache is mapped read-only at the
 *     first search that reaches it and stays until the end;
 *  4. the dependency lists, the version tables, then the static TLS block
 *     and thread descriptor (init_tls);
 *  5. relocation, dependencies first and the program last, each object's
 *     PT_GNU_RELRO made read-only right after; the TLS images copied in;
 *     ld.so relocated again against the global scope and its RELRO
 *     protected; the cache unmapped.
 *
 * Library constructors (and the malloc heap they make) are not run: what
 * is modelled is ld.so's own work. Library search itself is resolveWith()
 * (search.ts); this file replays its result the way ld.so performs it.
 */
import type { ExecPlan } from '../../abi/exec-plan.js';
import { PROT_READ, PROT_WRITE } from '../../abi/exec-plan.js';
import { readElfObject, type ElfObject } from './elf-object.js';
import { mapObject } from './map-object.js';
import { MinimalMalloc } from './minimal-malloc.js';
import { ProcessSpace, type RtldOp } from './process-space.js';
import { relocateObject, type RelocObject, type RelocStats } from './relocate.js';
import { DEBIAN_X86_64, substituteDst, type RtldMachine } from './search-path.js';
import { SymbolScope } from './symbols.js';
import { determineTlsOffsets, DTV_SURPLUS, TLS_SLOTINFO_SURPLUS, TLS_TCB_SIZE, type TlsModule } from './tls.js';
import type { LoadedObject, RtldResolution } from './types.js';

/** sizeof (struct link_map) in glibc 2.36 x86-64 (from the spacing of link maps in a real process). */
export const LINK_MAP_SIZE = 1192;
/** DL_NNS * sizeof (struct auditstate): reserved in the program's and the vDSO's link maps. */
const AUDIT_SPACE_WORST = 16 * 16;
/** sizeof (struct libname_list). */
const LIBNAME_LIST_SIZE = 24;
/** sizeof (struct r_search_path_elem) without its status array. */
const SEARCH_PATH_ELEM_SIZE = 40;
/** sizeof (struct r_found_version). */
const FOUND_VERSION_SIZE = 24;
/** The vDSO's highest version index (LINUX_2.6): its version table is allocated like any object's. */
const VDSO_VERSION_HIGH = 2;
/** do_lookup_unique's table: its first size, and sizeof (struct unique_sym). */
const INITIAL_NUNIQUE_SYM_TABLE = 31;
const UNIQUE_SYM_SIZE = 32;
/** _dl_higher_prime_number's table (elf/dl-misc.c). */
const PRIMES = [
  7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573,
];
const higherPrime = (n: number): number => PRIMES.find((p) => p >= n) ?? n;

/** What depends on the machine ld.so runs on rather than on the objects (see docs/notes/rtld.md). */
export interface RtldProfile {
  /**
   * Minimal-malloc bytes used by _dl_init_paths (glibc-hwcaps and legacy
   * hwcaps strings, the system directory list) before the first library:
   * they overflow ld.so's bss page, so the first malloc mmap holds them.
   */
  initPathsBytes: number;
  /** ncapstr: hwcaps subdirectory strings per search directory (sizes each RPATH/RUNPATH directory entry). */
  capstrCount: number;
  machine: RtldMachine;
}

/** This project's reference machine: Debian 12, glibc 2.36, an x86-64-v4 CPU. */
export const DEFAULT_RTLD_PROFILE: RtldProfile = { initPathsBytes: 480, capstrCount: 11, machine: DEBIAN_X86_64 };

export interface RtldOptions {
  /** LD_BIND_NOW=1: every PLT relocation resolved now. Default false (lazy), as ld.so. */
  bindNow?: boolean;
  /** Size of /etc/ld.so.cache in the root (0 or undefined: no cache, nothing mapped for it). */
  cacheSize?: number;
  profile?: RtldProfile;
}

export interface RtldObjectInfo {
  /** l_name (the path ld.so opened) and the file it maps. */
  name: string;
  path: string;
  base: number;
  mapStart: number;
  mapEnd: number;
  linkMap: number;
  tlsModid: number;
  tlsOffset: number;
  kind: 'program' | 'interpreter' | 'library';
}

export interface EntryPlan {
  exec: ExecPlan;
  /** ld.so's mmap/munmap/mprotect calls and the pages it writes, in order. */
  ops: RtldOp[];
  objects: RtldObjectInfo[];
  /** The thread pointer (%fs base) at entry. */
  threadPointer: number;
  /** The program's entry point (AT_ENTRY), where ld.so jumps. */
  entry: number;
  bindNow: boolean;
  relocations: RelocStats;
  /** Minimal-malloc blocks, for tests and the notes. */
  mallocBlocks: Array<{ addr: number; size: number; what: string }>;
}

interface ObjState extends RelocObject {
  loaded: LoadedObject;
  libnames: string[];
  sonameAdded: boolean;
  searchedDirs: boolean;
}

/** Dynamic information per file, parsed once however many processes load it. */
const parsed = new WeakMap<object, ElfObject>();

/** Replays ld.so's start-up on top of `exec` for the objects `resolution` found. */
export function planRtld(exec: ExecPlan, resolution: RtldResolution, options: RtldOptions = {}): EntryPlan {
  const profile = options.profile ?? DEFAULT_RTLD_PROFILE;
  const bindNow = options.bindNow === true;
  const space = new ProcessSpace(exec);
  const stats: RelocStats = { relocations: 0, unknown: 0, unresolved: [] };
  const elfOf = new Map<LoadedObject, ElfObject>();
  const elf = (o: LoadedObject): ElfObject => {
    let e = elfOf.get(o) ?? parsed.get(o.backing);
    if (!e) parsed.set(o.backing, (e = readElfObject(o.image)));
    elfOf.set(o, e);
    return e;
  };

  const mainLoaded = resolution.program;
  const rtldLoaded = resolution.interpreter;
  const state = new Map<LoadedObject, ObjState>();
  const newState = (o: LoadedObject, base: number): ObjState => {
    const s: ObjState = {
      loaded: o,
      elf: elf(o),
      base,
      isMain: o === mainLoaded,
      tlsModid: 0,
      tlsOffset: 0,
      linkMap: 0,
      libnames: [],
      sonameAdded: false,
      searchedDirs: false,
    };
    state.set(o, s);
    return s;
  };
  const main = newState(mainLoaded, exec.loadBias);
  const rtld = rtldLoaded ? newState(rtldLoaded, exec.interpBase ?? 0) : undefined;
  // ld.so's PT_INTERP name, and its SONAME in a static libname_list (rtld.c): matching it costs no allocation.
  if (rtld) {
    rtld.libnames.push(rtldLoaded!.name);
    if (rtld.elf.soname !== undefined) rtld.libnames.push(rtld.elf.soname);
    rtld.sonameAdded = true;
  }

  // 1. ld.so relocates itself: .dynamic, then its relocations (written again at the end with final values).
  if (rtld) adjustDynamic(space, rtld);

  const rtldEnd = rtld ? rtld.base + lastLoadEnd(rtld.elf) : 0;
  const malloc = new MinimalMalloc(rtldEnd, (len) => {
    const at = space.findArea(len);
    space.mmapFixed(at, len, PROT_READ | PROT_WRITE, 'ld.so minimal malloc');
    return at;
  });
  const alloc = (n: number, what: string, bytes?: Uint8Array): number => {
    const a = malloc.malloc(n, what);
    if (bytes) space.write(a, bytes);
    else space.touch(a, n);
    return a;
  };
  const cstr = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);

  // 2. Link maps for the program and the vDSO, the search paths.
  main.linkMap = newLinkMap(
    space,
    alloc,
    LINK_MAP_SIZE + AUDIT_SPACE_WORST + 8 + LIBNAME_LIST_SIZE + 1,
    'link_map (program)',
    main.base,
    '',
  );
  const hasVdso = (exec.specialMappings ?? []).some((v) => v.name === '[vdso]');
  if (hasVdso)
    newLinkMap(space, alloc, LINK_MAP_SIZE + AUDIT_SPACE_WORST + 8 + LIBNAME_LIST_SIZE + 1, 'link_map (vDSO)', 0, '');
  alloc(profile.initPathsBytes, 'search paths (_dl_init_paths)');
  const knownDirs = new Set(profile.machine.systemDirs);
  const decompose = (o: ObjState, rpath: string): void => {
    const copy = alloc(rpath.length + 1, 'RPATH copy', cstr(rpath));
    const colons = [...rpath].filter((c) => c === ':').length;
    alloc((colons + 2) * 8, 'RPATH directory list');
    const where = o.isMain ? '' : o.loaded.name;
    for (const element of rpath.split(':')) {
      if (element === '') continue;
      let expanded = element;
      let toFree: number;
      if (/\$(ORIGIN|\{ORIGIN\}|LIB|\{LIB\}|PLATFORM|\{PLATFORM\})/.test(element)) {
        if (o.isMain && !o.searchedDirs) {
          const dir = mainLoaded.origin;
          alloc(dir.length + 2, "program's origin (_dl_get_origin)", cstr(dir));
          o.searchedDirs = true;
        }
        expanded = substituteDst(element, o.loaded.origin, profile.machine);
        const repl = Math.max(o.loaded.origin.length, profile.machine.platform.length, profile.machine.lib.length);
        const count = (element.match(/\$/g) ?? []).length;
        toFree = alloc(element.length + (repl > 4 ? count * (repl - 4) : 0) + 1, 'RPATH element', cstr(expanded));
      } else {
        toFree = alloc(element.length + 1, 'RPATH element', cstr(element));
      }
      if (expanded === '') {
        malloc.free(toFree);
        continue;
      }
      let dir = expanded.replace(/(.)\/+$/, '$1');
      if (!dir.endsWith('/')) dir += '/';
      if (!knownDirs.has(dir)) {
        knownDirs.add(dir);
        alloc(SEARCH_PATH_ELEM_SIZE + profile.capstrCount * 4 + where.length + 1 + dir.length + 1, 'RPATH directory');
      }
      malloc.free(toFree);
    }
    malloc.free(copy);
  };
  const mainElf = main.elf;
  if (mainElf.runpath !== undefined) decompose(main, mainElf.runpath);
  else if (mainElf.rpath !== undefined) decompose(main, mainElf.rpath);
  main.searchedDirs = true;
  adjustDynamic(space, main);

  // 3. DT_NEEDED breadth-first.
  let cacheMapped: { addr: number; length: number } | undefined;
  const chain: ObjState[] = [main];
  const queue: ObjState[] = [main];
  const tlsModules: ObjState[] = [];
  if (main.elf.tls) tlsModules.push(main);
  const mapNew = (o: LoadedObject, requested: string, loader: ObjState): ObjState => {
    if (!requested.includes('/')) {
      searchDirsOf(loader, decompose);
      if (!cacheMapped && options.cacheSize && !foundInRpath(o, loader, profile.machine)) {
        const addr = space.findArea(options.cacheSize);
        space.mmapFixed(addr, options.cacheSize, PROT_READ, '/etc/ld.so.cache');
        cacheMapped = { addr, length: options.cacheSize };
      }
    }
    alloc(o.name.length + 1, 'real name', cstr(o.name));
    const lmSize = LINK_MAP_SIZE + 8 + LIBNAME_LIST_SIZE + requested.length + 1;
    const lm = malloc.malloc(lmSize, `link_map ${o.name}`);
    alloc(o.name.length + 1, 'origin', cstr(o.origin));
    const mapped = mapObject(space, elf(o), o.backing, o.image.thpAligned);
    const s = newState(o, mapped.base);
    s.linkMap = lm;
    writeLinkMap(space, lm, lmSize, mapped.base);
    s.libnames.push(requested);
    adjustDynamic(space, s);
    if (s.elf.tls) tlsModules.push(s);
    chain.push(s);
    return s;
  };
  for (let qi = 0; qi < queue.length; qi++) {
    const x = queue[qi]!;
    const needed = x.elf.needed;
    for (const name of needed) {
      let target = chain.find((c) => c.loaded.name === name || c.libnames.includes(name));
      if (!target && rtld && (rtld.loaded.name === name || rtld.libnames.includes(name))) target = rtld;
      if (!target) {
        const bySoname = [...chain, ...(rtld ? [rtld] : [])].find((c) => !c.sonameAdded && c.elf.soname === name);
        if (bySoname) {
          alloc(LIBNAME_LIST_SIZE + name.length + 1, 'soname', cstr(name));
          bySoname.libnames.push(name);
          bySoname.sonameAdded = true;
          target = bySoname;
        }
      }
      if (!target) {
        const dep =
          x.loaded.deps.find((d) => d.names.includes(name) || d.name === name) ?? x.loaded.deps[needed.indexOf(name)];
        if (!dep) continue;
        const known = state.get(dep);
        if (known) {
          // Found again under another name: the real name is allocated, freed, and the name added.
          const rn = alloc(dep.name.length + 1, 'real name');
          malloc.free(rn);
          alloc(LIBNAME_LIST_SIZE + name.length + 1, 'alias', cstr(name));
          known.libnames.push(name);
          target = known;
        } else {
          target = mapNew(dep, name, x);
        }
      }
      if (target && !queue.includes(target)) queue.push(target);
    }
    // The dependency list of every object but the program (and ld.so, whose l_ldnum stays 0).
    if (x !== main && x !== rtld && x.elf.dynamic.length > 0) alloc((2 * (needed.length + 1) + 1) * 8, 'l_initfini');
  }
  const searchList = queue;
  alloc((2 * searchList.length + 1) * 8, 'search list (program)');

  // 4. Version tables, in link-map chain order (ld.so re-inserted after its predecessor in the search list).
  const versionChain: Array<ObjState | 'vdso'> = [main, ...(hasVdso ? (['vdso'] as const) : []), ...chain.slice(1)];
  if (rtld) {
    const i = searchList.indexOf(rtld);
    const prev = i > 0 ? searchList[i - 1] : undefined;
    const at = prev ? versionChain.indexOf(prev) : -1;
    versionChain.splice(at >= 0 ? at + 1 : versionChain.length, 0, rtld);
  }
  for (const v of versionChain) {
    const high = v === 'vdso' ? VDSO_VERSION_HIGH : v.elf.versionIndexHigh;
    if (high > 0) alloc((high + 1) * FOUND_VERSION_SIZE, 'l_versions');
  }

  // init_tls: the slot list, the static block with the thread descriptor, the DTV.
  const mods: TlsModule[] = tlsModules.map((s) => ({
    blocksize: s.elf.tls!.memsz,
    align: s.elf.tls!.align,
    firstbyteOffset: s.elf.tls!.vaddr & (s.elf.tls!.align - 1),
  }));
  tlsModules.forEach((s, i) => (s.tlsModid = i + 1));
  const layout = determineTlsOffsets(mods);
  tlsModules.forEach((s, i) => (s.tlsOffset = mods[i]!.offset ?? 0));
  const nmods = tlsModules.length;
  malloc.malloc(16 + (nmods + 1 + TLS_SLOTINFO_SURPLUS) * 16, 'dtv slotinfo');
  const allocated = malloc.malloc(layout.staticSize + layout.staticAlign + 8, 'static TLS + TCB');
  const aligned = Math.ceil(allocated / layout.staticAlign) * layout.staticAlign;
  const tp = aligned + layout.staticSize - TLS_TCB_SIZE;
  const dtvCount = nmods + DTV_SURPLUS + 2;
  const dtv = malloc.malloc(dtvCount * 16, 'dtv');
  space.write(tp, new Uint8Array(TLS_TCB_SIZE));
  space.writeU64(tp, BigInt(tp));
  space.writeU64(tp + 8, BigInt(dtv + 16));
  space.writeU64(tp + 16, BigInt(tp));
  space.writeU64(dtv, BigInt(nmods + DTV_SURPLUS));

  // DT_DEBUG of the program points at ld.so's r_debug.
  const rDebug = rtld?.elf.definitions.get('_r_debug')?.[0];
  writeDynamicTag(space, main, 21n, rtld && rDebug ? BigInt(rtld.base) + rDebug.value : 0n);

  // What ld.so reads through the mappings: every object's program headers, dynamic section and tables.
  for (const s of [main, ...(rtld ? [rtld] : []), ...chain.slice(1)]) {
    space.fault(
      s.base + Number(s.elf.image.loads[0]?.vaddr ?? 0n) - (Number(s.elf.image.loads[0]?.vaddr ?? 0n) % 4096),
      4096,
    );
    for (const [addr, size] of s.elf.readRanges) space.fault(s.base + addr, size);
  }

  // 5. Relocation, dependencies first, the program last; RELRO right after each.
  const scopeObjects = resolution.scope.map((o) => state.get(o)).filter((s): s is ObjState => s !== undefined);
  const scope = new SymbolScope(scopeObjects);
  // STB_GNU_UNIQUE definitions go into a hash table ld.so grows with the minimal malloc (do_lookup_unique).
  const unique = new Set<string>();
  let uniqueSize = 0;
  scope.onUnique = (name) => {
    if (unique.has(name)) return;
    if (uniqueSize === 0) {
      uniqueSize = INITIAL_NUNIQUE_SYM_TABLE;
      alloc(uniqueSize * UNIQUE_SYM_SIZE, 'unique symbol table');
    } else if (uniqueSize * 3 <= unique.size * 4) {
      uniqueSize = higherPrime(uniqueSize + 1);
      alloc(uniqueSize * UNIQUE_SYM_SIZE, 'unique symbol table');
    }
    unique.add(name);
  };
  for (let i = searchList.length - 1; i >= 0; i--) {
    const s = searchList[i]!;
    if (s === rtld) continue;
    relocateObject(space, s, scope, main, !bindNow && !s.elf.bindNow, stats);
    protectRelro(space, s);
  }
  for (const s of tlsModules) {
    const t = s.elf.tls!;
    const block = tp - s.tlsOffset;
    const init = space.read(s.base + t.vaddr, t.filesz);
    const bytes = new Uint8Array(t.memsz);
    bytes.set(init);
    space.write(block, bytes);
  }
  // _dl_find_object_init: one entry per object but the program (and per PT_LOAD of a program with holes).
  const mainLoads = main.elf.image.loads;
  const mainContiguous = mainLoads.every(
    (l, i) =>
      i === 0 ||
      Math.floor(Number(l.vaddr) / 4096) * 4096 <=
        Math.ceil(Number(mainLoads[i - 1]!.vaddr + mainLoads[i - 1]!.memsz) / 4096) * 4096,
  );
  const nodelete = versionChain.length - 1 + (mainContiguous ? 0 : mainLoads.length);
  alloc(nodelete * 32, '_dl_find_object data');
  if (rtld) {
    scope.onUnique = undefined;
    relocateObject(space, rtld, scope, main, false, stats);
    for (const name of ['_rtld_global', '_rtld_global_ro']) {
      const sym = rtld.elf.definitions.get(name)?.[0];
      if (sym) space.touch(rtld.base + Number(sym.value), Number(sym.size));
    }
    protectRelro(space, rtld);
  }
  if (cacheMapped) space.munmap(cacheMapped.addr, cacheMapped.length, '/etc/ld.so.cache');
  space.flush();

  const info = (s: ObjState, kind: RtldObjectInfo['kind']): RtldObjectInfo => ({
    name: s.loaded.name,
    path: s.loaded.backing.path,
    base: s.base,
    mapStart: s.base,
    mapEnd: s.base + lastLoadEnd(s.elf),
    linkMap: s.linkMap,
    tlsModid: s.tlsModid,
    tlsOffset: s.tlsOffset,
    kind,
  });
  return {
    exec,
    ops: space.ops,
    objects: [
      info(main, 'program'),
      ...(rtld ? [info(rtld, 'interpreter')] : []),
      ...chain.slice(1).map((s) => info(s, 'library')),
    ],
    threadPointer: tp,
    entry: main.base + Number(main.elf.image.entry),
    bindNow,
    relocations: stats,
    mallocBlocks: malloc.blocks,
  };
}

/** End of the last PT_LOAD's memory (link-time), i.e. `_end`. */
function lastLoadEnd(e: ElfObject): number {
  let end = 0;
  for (const s of e.image.loads) end = Math.max(end, Number(s.vaddr + s.memsz));
  return end;
}

function newLinkMap(
  space: ProcessSpace,
  alloc: (n: number, what: string) => number,
  size: number,
  what: string,
  base: number,
  _name: string,
): number {
  const lm = alloc(size, what);
  writeLinkMap(space, lm, size, base);
  return lm;
}

/** The public head of struct link_map (l_addr ...) and the rest of the calloc'd block, which ld.so fills in. */
function writeLinkMap(space: ProcessSpace, lm: number, size: number, base: number): void {
  space.touch(lm, size);
  space.writeU64(lm, BigInt(base));
}

/** elf_get_dynamic_info: with l_addr != 0 and a writable PT_DYNAMIC, the address entries get l_addr added in place. */
const ADJUSTED_TAGS = new Set([4n, 3n, 5n, 6n, 7n, 17n, 23n, 36n, 0x6ffffff0n, 0x6ffffef5n]);
function adjustDynamic(space: ProcessSpace, s: { elf: ElfObject; base: number }): void {
  const e = s.elf;
  if (e.dynamicAddr === undefined || s.base === 0 || !e.dynamicWritable) return;
  const seen = new Set<bigint>();
  e.dynamic.forEach((d, i) => {
    if (d.tag === 0n || !ADJUSTED_TAGS.has(d.tag)) return;
    // info[tag] keeps the last entry of each tag; ld.so adjusts that one.
    const later = e.dynamic.slice(i + 1).some((x) => x.tag === d.tag);
    if (later || seen.has(d.tag)) return;
    seen.add(d.tag);
    space.writeU64(s.base + e.dynamicAddr! + i * 16 + 8, d.value + BigInt(s.base));
  });
}

function writeDynamicTag(space: ProcessSpace, s: { elf: ElfObject; base: number }, tag: bigint, value: bigint): void {
  const e = s.elf;
  if (e.dynamicAddr === undefined) return;
  const i = e.dynamic.findIndex((d) => d.tag === tag);
  if (i >= 0) space.writeU64(s.base + e.dynamicAddr + i * 16 + 8, value);
}

/** _dl_protect_relro: [l_addr + relro, l_addr + relro + size) rounded down at both ends, made PROT_READ. */
function protectRelro(space: ProcessSpace, s: { elf: ElfObject; base: number }): void {
  const r = s.elf.relro;
  if (!r) return;
  const start = Math.floor((s.base + r.vaddr) / 4096) * 4096;
  const end = Math.floor((s.base + r.vaddr + r.memsz) / 4096) * 4096;
  if (end > start) space.mprotect(start, end - start, PROT_READ, `RELRO of ${s.elf.path}`);
}

/** The RPATH/RUNPATH lists ld.so decomposes on the first search by `loader` (its own, then its loaders' RPATHs). */
function searchDirsOf(loader: ObjState, decompose: (o: ObjState, rpath: string) => void): void {
  if (loader.searchedDirs) return;
  loader.searchedDirs = true;
  if (loader.elf.runpath !== undefined) decompose(loader, loader.elf.runpath);
  else if (loader.elf.rpath !== undefined) decompose(loader, loader.elf.rpath);
}

/** Whether `o` was found in a directory searched before the cache: the loader's RUNPATH, or its RPATH. */
function foundInRpath(o: LoadedObject, loader: ObjState, machine: RtldMachine): boolean {
  const list = loader.elf.runpath ?? loader.elf.rpath;
  if (list === undefined) return false;
  const dir = o.name.slice(0, o.name.lastIndexOf('/'));
  return list.split(':').some((d) => substituteDst(d, loader.loaded.origin, machine).replace(/\/+$/, '') === dir);
}
