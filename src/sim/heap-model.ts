/**
 * The heap model behind malloc, calloc, realloc and free steps.
 *
 * The allocator is the glibc 2.36 model of src/malloc (GlibcMalloc),
 * one per process, created by the process's first heap step with the
 * policy's calloc mode, and copied into the child by fork (its fork()).
 * Another allocator model plugs in by implementing HeapModel.
 */
import type { HeapHost } from './heap-host.js';
import { GlibcMalloc } from '../malloc/index.js';
import type { CallocMode } from './policy.js';

/** One process's allocator: addresses in and out, 0 is NULL. */
export interface HeapAllocator {
  malloc(size: number): number;
  calloc(count: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  /**
   * fork(2): the child's allocator, a copy of this one's state working on the
   * child's memory. Without it, heap steps in a forked child are refused.
   */
  fork?(childHost: HeapHost): HeapAllocator;
  /** mallopt(3); false if refused. */
  mallopt?(
    param: 'M_MMAP_THRESHOLD' | 'M_TRIM_THRESHOLD' | 'M_TOP_PAD' | 'M_MMAP_MAX' | 'M_MXFAST',
    value: number,
  ): boolean;
  /** malloc_trim(3); whether memory was given back. */
  mallocTrim?(pad: number): boolean;
  /** Checks the allocator's own invariants (throws on a broken one). */
  check?(): void;
  /** What the allocator holds and did (src/malloc MallocStats; these fields at least). */
  stats?(): HeapCounters;
}

/** The allocator figures a report shows (bytes, counts). */
export interface HeapCounters {
  /** brk heap bytes held now; bytes in mmapped blocks now. */
  arenaBytes: number;
  mmappedBytes: number;
  /** sbrk and mmap calls so far. */
  brkCalls: number;
  mmapCalls: number;
  /** Bytes calloc wrote with zeros, and bytes it sent back to the zero page (on-commit). */
  callocBytesZeroed: number;
  callocBytesDiscarded: number;
}

export interface HeapModel {
  /** Named in reports. */
  name: string;
  /** A fresh allocator for a process just exec'd. */
  create(host: HeapHost, callocMode: CallocMode, options: HeapOptions): HeapAllocator;
}

/** Allocator tunables a policy may set (glibc's mallopt and tunables; src/malloc GlibcMallocOptions). */
export interface HeapOptions {
  mmapThreshold?: number;
  trimThreshold?: number;
  topPad?: number;
  mmapMax?: number;
  maxFast?: number;
  tcacheCount?: number;
}

/** The heap model heap steps run on: glibc 2.36 malloc (src/malloc). */
export const heapModel: HeapModel = {
  name: 'glibc 2.36 malloc (src/malloc)',
  create: (host, callocMode, options) => new GlibcMalloc(host, { ...options, callocMode }),
};
