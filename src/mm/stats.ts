/**
 * System-wide memory figures (the model's /proc/meminfo and vmstat).
 */
import type { MmCore } from './core.js';
import { LRU_NAMES } from './lru.js';
import type { MachineStats } from './types.js';

export function machineStats(core: MmCore, processes: number): MachineStats {
  const f = core.frames;
  const lru = Object.fromEntries(LRU_NAMES.map((name, i) => [name, core.lru.count[i]!])) as MachineStats['lru'];
  return {
    pageSize: core.pageSize,
    pageCacheMode: core.cacheMode,
    frames: { total: f.total, used: f.used, free: f.total - f.used, limit: core.frameLimit },
    pageCache: core.nrFile,
    shmem: core.nrShmem,
    anonymous: core.nrAnon,
    zeroPageMappings: f.mapcount[0]!,
    materialized: core.slab.used,
    pageTablePages: core.pt.pagesInUse,
    faults: { ...core.counters },
    bytesRead: core.bytesRead,
    processes,
    lru,
  };
}
