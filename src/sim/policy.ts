/**
 * Policy sets: the memory-management choices one run compares. A scenario
 * lists several; `pagestack run` runs the same steps under each on a fresh
 * Machine. Which of them this build can honour is decided in mechanisms.ts.
 */

import type { HeapOptions } from './heap-model.js';

/** How calloc clears memory (the glibc malloc model in src/malloc). */
export type CallocMode = 'eager' | 'glibc' | 'on-commit';
export const CALLOC_MODE_NAMES: readonly CallocMode[] = ['eager', 'glibc', 'on-commit'];

export type PageCachePolicy = 'file' | 'content';
export const PAGE_CACHE_NAMES: readonly PageCachePolicy[] = ['file', 'content'];

export type SwapBackendKind = 'disk' | 'zram' | 'zswap';
export const SWAP_BACKEND_NAMES: readonly SwapBackendKind[] = ['disk', 'zram', 'zswap'];

/** A swap device, with the options of src/mm/swap (docs/notes/swap.md). */
export interface SwapPolicy {
  backend: SwapBackendKind;
  /** Device size in pages; undefined: unlimited. */
  capacityPages?: number;
  /** The swap layer's zeromap (Linux 6.12+); default true. */
  zeromap?: boolean;
  /** zram: zsmalloc chain size (4..16, default 8) and mem_limit in bytes (0 = none). */
  zramChainSize?: number;
  zramMemLimitBytes?: number;
  /** zswap: pool cap in percent of RAM (default 20), the accept threshold (default 90), writeback (default true). */
  zswapMaxPoolPercent?: number;
  zswapAcceptThresholdPercent?: number;
  zswapWriteback?: boolean;
}

/** KSM's tunables (Documentation/admin-guide/mm/ksm.rst; defaults from mm/ksm.c). */
export interface KsmPolicy {
  /** Pages scanned per batch; default 100. */
  pagesToScan: number;
  /** Sleep between batches in milliseconds; default 20. */
  sleepMillisecs: number;
  /** Merge all-zero pages with the kernel zero page; default false. */
  useZeroPages: boolean;
}

export const KSM_DEFAULTS: KsmPolicy = { pagesToScan: 100, sleepMillisecs: 20, useZeroPages: false };

export interface PolicySet {
  /** Unique within a scenario; the column header of the comparison table. */
  name: string;
  /** 'file' (Linux today) or 'content' (the container's content-shared page cache). Default 'file'. */
  pageCache: PageCachePolicy;
  /** calloc's zeroing; default 'glibc'. */
  callocMode: CallocMode;
  /** Allocator tunables (glibc's mallopt/tunables); default none (glibc's defaults). */
  malloc?: HeapOptions;
  /** Frames the workload may use (reclaim runs at this point); undefined: the machine's frameLimit. */
  frameLimit?: number;
  /** Keep unmapped clean file pages cached (Linux's behaviour) until reclaim; undefined: the machine's setting. */
  keepPageCache?: boolean;
  /** The swap device; null: no swap. */
  swap: SwapPolicy | null;
  /** The linux-mm-cc thread's dedup-first: identical pages going to swap are stored once. Needs swap. */
  dedupFirst: boolean;
  /** The linux-mm-cc thread's merge-on-restore: a swapped-in page identical to a resident one is mapped shared COW. Needs swap. */
  mergeOnRestore: boolean;
  /** The KSM scanner; null: off. */
  ksm: KsmPolicy | null;
}

/** The policy a scenario without a `policies` list runs under. */
export function defaultPolicy(name = 'default'): PolicySet {
  return {
    name,
    pageCache: 'file',
    callocMode: 'glibc',
    swap: null,
    dedupFirst: false,
    mergeOnRestore: false,
    ksm: null,
  };
}

/** One line describing a policy's settings, for the text report. */
export function describePolicy(p: PolicySet): string {
  const parts = [`page cache ${p.pageCache}`, `calloc ${p.callocMode}`];
  if (p.malloc !== undefined && Object.keys(p.malloc).length > 0)
    parts.push(
      `malloc ${Object.entries(p.malloc)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  if (p.frameLimit !== undefined) parts.push(`frame limit ${p.frameLimit}`);
  if (p.keepPageCache !== undefined) parts.push(`keepPageCache ${p.keepPageCache}`);
  parts.push(p.swap === null ? 'no swap' : `swap ${p.swap.backend}`);
  if (p.dedupFirst) parts.push('dedup-first');
  if (p.mergeOnRestore) parts.push('merge-on-restore');
  if (p.ksm !== null)
    parts.push(`ksm ${p.ksm.pagesToScan} pages/${p.ksm.sleepMillisecs} ms${p.ksm.useZeroPages ? ', zero pages' : ''}`);
  return parts.join(', ');
}
