/**
 * The heap model behind malloc, calloc, realloc and free steps.
 *
 * The glibc allocator model (src/sim/malloc, `GlibcMalloc`) is developed on
 * its own branch. Until it is merged, `heapModel` is undefined and a
 * scenario with heap steps is refused before it runs, naming the first such
 * step. Wiring it is a few lines:
 *
 *   import { GlibcMalloc } from './malloc/index.js';
 *   export const heapModel: HeapModel | undefined = {
 *     name: 'glibc 2.36 malloc (src/sim/malloc)',
 *     create: (host, callocMode) => new GlibcMalloc(host, { callocMode }),
 *   };
 */
import type { HeapHost } from './heap-host.js';
import type { CallocMode } from './policy.js';

/** One process's allocator: addresses in and out, 0 is NULL. */
export interface HeapAllocator {
  malloc(size: number): number;
  calloc(count: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

export interface HeapModel {
  /** Named in reports. */
  name: string;
  /** A fresh allocator for a process just exec'd. */
  create(host: HeapHost, callocMode: CallocMode): HeapAllocator;
  /**
   * The child's allocator after fork: a copy of the parent's state working on
   * the child's memory. Without it, heap steps in a forked child are refused.
   */
  fork?(parent: HeapAllocator, childHost: HeapHost): HeapAllocator;
}

/** This build's heap model, or undefined while src/sim/malloc is not merged. */
export const heapModel: HeapModel | undefined = undefined;

export const HEAP_MODEL_MISSING = 'the glibc malloc model (src/sim/malloc) is not merged into this build yet';
