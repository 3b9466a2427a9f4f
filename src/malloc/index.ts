export { GlibcMalloc } from './glibc-malloc.js';
export type { GlibcMallocOptions, Mallinfo2, MallocStats, MalloptParam } from './glibc-malloc.js';
export type { HeapHost } from './host.js';
export { CALLOC_MODES } from './calloc.js';
export type { CallocMode } from './calloc.js';
export { FakeHeapHost } from './fake-host.js';
export type { FakeHeapHostOptions } from './fake-host.js';
export { parseMallocOps, runMallocOps } from './ops.js';
export type { MallocOp, RunMallocOpsOptions } from './ops.js';
