/**
 * System-wide memory figures (the model's /proc/meminfo, /proc/vmstat,
 * /sys/kernel/mm/ksm and the swap device's files).
 */
import type { MmCore } from './core.js';
import { LRU_NAMES } from './lru.js';
import type { Policies } from './policies.js';
import { DedupFirstSwap } from './swap/dedup-first.js';
import type { SwapStats } from './swap/types.js';
import type { MachineStats, MachineSwapStats } from './types.js';

export function machineStats(core: MmCore, processes: number, policies: Policies): MachineStats {
  const f = core.frames;
  const lru = Object.fromEntries(LRU_NAMES.map((name, i) => [name, core.lru.count[i]!])) as MachineStats['lru'];
  const swap = swapStats(core, policies);
  const device: SwapStats = swap?.device ?? {};
  const io = deviceIo(swap?.backend ?? null, device);
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
    memory: {
      used: f.used + core.swapRamPages,
      peak: core.peakUsed,
      swapRam: core.swapRamPages,
      limit: core.frameLimit,
    },
    vmstat: {
      ...policies.reclaim.counters,
      oom_kill: core.oomEvents,
      pgmajfault: core.counters.major,
      pswpin: io.pswpin,
      pswpout: io.pswpout,
      swpin_zero: device.swpin_zero ?? 0,
      swpout_zero: device.swpout_zero ?? 0,
      zswpin: device.zswpin ?? 0,
      zswpout: device.zswpout ?? 0,
      zswpwb: device.zswpwb ?? 0,
      cow_ksm: core.counters.cowKsm,
    },
    swap,
    ksm: policies.ksm.stats(),
    clockMs: policies.clockMs,
    cost: core.cost.estimate(),
  };
}

/** pswpin / pswpout: pages read from and written to a swap block device (zram is one; zswap hits and the zeromap are not). */
function deviceIo(backend: string | null, device: SwapStats): { pswpin: number; pswpout: number } {
  switch (backend) {
    case null:
      return { pswpin: 0, pswpout: 0 };
    case 'zram':
      return {
        pswpin: device.num_reads ?? 0,
        pswpout: (device.num_writes ?? 0) - (device.failed_writes ?? 0),
      };
    case 'disk':
    case 'zswap':
      return { pswpin: device.pswpin ?? 0, pswpout: device.pswpout ?? 0 };
    default:
      throw new Error(`unknown swap back end ${backend}`);
  }
}

function swapStats(core: MmCore, policies: Policies): MachineSwapStats | null {
  const space = policies.swap;
  if (space === null) return null;
  const backend = space.backend;
  return {
    backend: backend.name,
    dedupFirst: backend instanceof DedupFirstSwap,
    mergeOnRestore: space.restore !== null,
    usedPages: backend.slotsInUse(),
    usedBytes: backend.slotsInUse() * core.pageSize,
    ramPages: backend.ramPages(),
    swapCachePages: space.swapCachePages(),
    ...space.counters,
    restoreIndex: space.restore?.stats() ?? null,
    device: backend.stats(),
  };
}
