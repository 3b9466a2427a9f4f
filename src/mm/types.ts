/**
 * The memory model's public types. Results are plain data (numbers in
 * bytes unless named otherwise), safe to compare with toEqual or to print
 * as JSON.
 */
import type { FileBacking } from '../abi/file-backing.js';
import type { FaultCounters, PageCacheMode } from './core.js';
import type { CostEstimate, CostTable } from './cost.js';
import type { KsmOptions, KsmStats } from './ksm-types.js';
import type { SwapOptions } from './policies.js';
import type { ReclaimCounters, ReclaimOptions } from './reclaim-limits.js';
import type { RestoreIndexStats } from './restore-index.js';
import type { SwapSpaceCounters } from './swap-space.js';
import type { SwapBackendName, SwapStats } from './swap/types.js';

export type { FaultCounters, PageCacheMode } from './core.js';
export type { KsmOptions, KsmStats, KsmProcessStat } from './ksm-types.js';
export type { SwapOptions } from './policies.js';
export type { ReclaimCounters, ReclaimOptions } from './reclaim-limits.js';

export interface MachineOptions {
  /**
   * Physical frames in the pool (the zero page is extra). 1 ≤ frames ≤ 2^27 − 1.
   * Memory cost: about 51 bytes of metadata per frame actually used, plus
   * one page of bytes per frame whose content exists only in memory.
   */
  frames: number;
  /**
   * 'file' (default): the ordinary page cache keyed by (file, page index),
   * as Linux has it. 'content': MAP_PRIVATE file pages are keyed by
   * FileBacking.contentId, so identical pages of different files share one frame.
   */
  pageCache?: PageCacheMode;
  /** Bytes per page, a power of two from 1024 to 65536. Default 4096. Backings must use the same. */
  pageSize?: number;
  /**
   * false (default): a clean page-cache page is freed as soon as no PTE maps
   * it. true: it stays cached, as in Linux, until dropCaches() (or
   * reclaim); mapping it again is then a minor fault.
   */
  keepPageCache?: boolean;
  /**
   * fault_around_bytes / pageSize: a read fault on a file or shmem page also
   * maps the pages around it that are already cached (aligned window, within
   * the VMA and page-table page), as Linux does. Power of two, 1 … 512;
   * default 16 (Linux's 64 KiB); 1 turns it off. Cost: up to this many PTEs
   * per fault.
   */
  faultAround?: number;
  /**
   * Whether the first read fault in a page-table page that has no entries
   * always faults around, as kernels before 6.18 do. Default false: 6.18
   * allocates that page table in fault-around only when the first cached
   * folio in the window ends before the file's last page (the i_size check
   * in filemap_map_pages); otherwise the fault maps only its folio, or one
   * page (test/mm-kernel.test.ts, test/mm-folio-kernel.test.ts).
   */
  faultAroundFreshTable?: boolean;
  /**
   * ra_pages, the device's read_ahead_kb / 4: the largest readahead window,
   * of read() (Machine.readFile) and of mmap read-around on a major fault
   * (readahead.ts). Faults read ahead only with keepPageCache. 0 … 4096;
   * default 32 (read_ahead_kb 128). Cost: frames and bytesRead for pages
   * that may never be used.
   */
  readAround?: number;
  /**
   * bdi->io_pages, the device's max_sectors_kb / 4: a read() asking for
   * more than ra_pages may read ahead up to this many pages. 1 … 65536;
   * default 1024.
   */
  ioPages?: number;
  /**
   * Memory the workload may use, in pages: frames plus the RAM a swap back
   * end holds (zram's and zswap's pools). 1 … frames; default `frames`. At
   * the limit, direct reclaim runs (clean file pages are dropped; anonymous
   * pages go to swap if there is one); when nothing can be freed, the
   * allocation fails with E_OOM.
   */
  frameLimit?: number;
  /**
   * A swap device: `{ backend: 'disk' | 'zram' | 'zswap', dedupFirst?, ... }`
   * (policies.ts SwapOptions). Default none: anonymous pages cannot be
   * reclaimed. Cost: the back end's own (compression, disk time) in stats().cost.
   */
  swap?: SwapOptions;
  /**
   * merge-on-restore (needs `swap`): a page read back from swap on a read
   * fault that equals a resident anonymous page (or the zero page) is
   * mapped onto it, write-protected, instead of taking a new frame.
   * Default false. Cost: a hash per swap-in, a compare per candidate.
   */
  mergeOnRestore?: boolean;
  /**
   * KSM's tunables (run, pagesToScan, sleepMillisecs, useZeroPages,
   * maxPageSharing, smartScan). Given: ksmd runs (run = 1) on tick().
   * Absent: KSM is present but stopped (run = 0), as Linux boots.
   */
  ksm?: KsmOptions;
  /** Reclaim tunables: swappiness 0 … 200, default 60. */
  reclaim?: ReclaimOptions;
  /** The cost table operations are priced with (cost.ts). Default DOCUMENTED_COSTS. */
  costs?: CostTable;
  /**
   * Check on every content-shared cache hit that the page's bytes equal the
   * cached frame's bytes (catches FileBackings with wrong contentIds).
   * Slow; for tests. Default false.
   */
  verifyContent?: boolean;
}

/** Arguments of Machine.mmap, in mmap(2)'s terms. */
export interface MmapOptions {
  /** With addr: MAP_FIXED (whatever was mapped there is unmapped first). Without: the kernel picks, top-down. Page-aligned. */
  addr?: number;
  /** Bytes, rounded up to whole pages. */
  length: number;
  /** PROT_READ | PROT_WRITE | PROT_EXEC (from src/abi/exec-plan.ts). */
  prot: number;
  /** MAP_SHARED; default MAP_PRIVATE. */
  shared?: boolean;
  /** A file mapping: the file and a page-aligned offset. Without it: MAP_ANONYMOUS. */
  file?: { backing: FileBacking; offset: number };
  /** A name for anonymous memory, as '[heap]' or '[stack]' show in maps. */
  name?: string;
}

/** One VMA, as a /proc/PID/maps line says it. */
export interface VmaInfo {
  start: number;
  end: number;
  /** 'r-xp', 'rw-s', ... */
  perms: string;
  prot: number;
  shared: boolean;
  /** File offset of `start` (0 for anonymous memory). */
  offset: number;
  /** File path, '[heap]', '[stack]', '/dev/zero (deleted)' for shared anonymous memory, or '' */
  path: string;
  /** VmFlags mnemonics, in the kernel's order. */
  vmFlags: string[];
}

/** The sums smaps and smaps_rollup print, in bytes (Pss values are the kernel's fixed-point value >> PSS_SHIFT). */
export interface SmapsCounters {
  rss: number;
  pss: number;
  pssDirty: number;
  pssAnon: number;
  pssFile: number;
  pssShmem: number;
  sharedClean: number;
  sharedDirty: number;
  privateClean: number;
  privateDirty: number;
  referenced: number;
  anonymous: number;
  ksm: number;
  lazyFree: number;
  swap: number;
  swapPss: number;
  locked: number;
}

export interface SmapsEntry extends VmaInfo, SmapsCounters {
  /** vm_end − vm_start. */
  size: number;
  kernelPageSize: number;
  mmuPageSize: number;
}

export interface SmapsRollup extends SmapsCounters {
  /** First VMA's start and last VMA's end. */
  start: number;
  end: number;
}

/** What one virtual page maps to, for tests and debugging. */
export interface PageInfo {
  state: 'none' | 'present' | 'swap';
  /** Frame number (present) or swap slot (swap); -1 otherwise. */
  frame: number;
  swapSlot: number;
  zeroPage: boolean;
  kind: 'anon' | 'file' | 'shmem' | 'zero' | 'none';
  mapcount: number;
  writable: boolean;
  dirty: boolean;
  young: boolean;
  /** Frame flags by name (anon, file, shmem, zero, dirty, referenced, active, lru, swapcache, ksm, ...). */
  flags: string[];
}

export interface MachineStats {
  pageSize: number;
  pageCacheMode: PageCacheMode;
  frames: {
    /** Pool size. */
    total: number;
    used: number;
    free: number;
    limit: number;
  };
  /** Frames in a file page cache (content-shared or per-file). */
  pageCache: number;
  /** Frames of shared anonymous memory (shmem). */
  shmem: number;
  /** Anonymous frames (zero-fill writes, COW copies). */
  anonymous: number;
  /** PTEs mapping the shared zero page (which uses no pool frame). */
  zeroPageMappings: number;
  /** Frames holding bytes of their own (the page slab). */
  materialized: number;
  /** Page-table pages in use (512 PTEs each). */
  pageTablePages: number;
  faults: FaultCounters;
  /** Bytes read from FileBackings by major faults (one page each). */
  bytesRead: number;
  processes: number;
  /** LRU list lengths, in the kernel's list names. */
  lru: Record<'inactive_anon' | 'active_anon' | 'inactive_file' | 'active_file' | 'unevictable', number>;
  /** Memory against the frame limit, in pages: frames in use plus the swap back end's RAM. */
  memory: { used: number; peak: number; swapRam: number; limit: number };
  /** vmstat counters of reclaim and swap, in /proc/vmstat's names. */
  vmstat: ReclaimCounters & {
    pgmajfault: number;
    pswpin: number;
    pswpout: number;
    swpin_zero: number;
    swpout_zero: number;
    zswpin: number;
    zswpout: number;
    zswpwb: number;
    cow_ksm: number;
  };
  /** The swap device, or null without one. */
  swap: MachineSwapStats | null;
  /** /sys/kernel/mm/ksm/. */
  ksm: KsmStats;
  /** Simulated milliseconds passed through tick(). */
  clockMs: number;
  /** Every charged operation priced with the Machine's cost table: CPU and device time, swap and file I/O bytes. */
  cost: CostEstimate;
}

export interface MachineSwapStats extends SwapSpaceCounters {
  backend: SwapBackendName;
  dedupFirst: boolean;
  mergeOnRestore: boolean;
  /** Swap entries in use (SwapTotal − SwapFree), in pages and bytes. */
  usedPages: number;
  usedBytes: number;
  /** Pages of RAM the back end holds (zsmalloc pool pages; 0 for disk). */
  ramPages: number;
  /** Frames in the swap cache. */
  swapCachePages: number;
  /** merge-on-restore's content index, or null. */
  restoreIndex: RestoreIndexStats | null;
  /** The back end's own counters in the kernel's names (zram mm_stat and I/O counts, zswap debugfs, vmstat, dedup_*). */
  device: SwapStats;
}
