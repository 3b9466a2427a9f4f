/**
 * The dynamic linker's part of loading a program: which objects ld.so loads
 * and in what order (this folder's search), from plain files or a container.
 */
export * from './types.js';
export { readDynamic, fileRangeOf, type DynamicInfo, type DynamicEntry, type DynamicSource } from './dynamic.js';
export { parseLdSoCache, lookupCache, cacheLibcmp, type LdSoCache, type CacheEntry } from './ld-so-cache.js';
export { HostRootFiles, type RtldFiles, type RtldLookup } from './files.js';
export { DEBIAN_X86_64, type RtldMachine } from './search-path.js';
export { resolveLibraries, resolveWith, hostProgram, LD_SO_CACHE, VDSO_NAME, type ProgramFile } from './search.js';
