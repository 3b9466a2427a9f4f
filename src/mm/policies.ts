/**
 * The memory policies, wired into one Machine: reclaim (always on),
 * a swap back end (optional), merge-on-restore (optional) and KSM (always
 * present, running only when configured, as CONFIG_KSM=y with run=0 by
 * default), with simulated time for ksmd and kswapd.
 *
 * The Machine builds one Policies from its options and forwards its system
 * calls here (madvise, prctl, tick, setFrameLimit) and its stats.
 */
import { SimulationError } from '../errors.js';
import type { PageHash64 } from '../scan/hash.js';
import type { MmCore } from './core.js';
import { FRAME_KSM } from './frames.js';
import { Ksm } from './ksm.js';
import type { KsmOptions } from './ksm-types.js';
import { xxh32Page } from './page-hash.js';
import { Reclaim } from './reclaim.js';
import type { ReclaimOptions } from './reclaim-limits.js';
import { RestoreIndex } from './restore-index.js';
import { createSwapBackend, type SwapConfig } from './swap/index.js';
import { DedupFirstSwap } from './swap/dedup-first.js';
import type { PageCodec, SwapBackend, SwapBackendName } from './swap/types.js';
import { ZswapSwap, type ZswapOptions } from './swap/zswap.js';
import { SwapSpace } from './swap-space.js';
import type { Process } from './process.js';
import { zapRange } from './vma-ops.js';

export interface SwapOptions {
  /** The swap device: 'disk' (an SSD model), 'zram' (compressed RAM), 'zswap' (a compressed pool in front of a disk). */
  backend: SwapBackendName;
  /** The linux-mm-cc thread's dedup-first: identical pages going to swap are stored once, refcounted, before compression. Default false. */
  dedupFirst?: boolean;
  /** Swap size in pages. Default unlimited. */
  capacityPages?: number;
  /** The swap layer's zeromap (Linux 6.12+): zero pages are a bit, never written. Default true. */
  zeromap?: boolean;
  /** Page codec for zram and zswap. Default: defaultPageCodec() of src/mm/swap. */
  codec?: PageCodec;
  /** Content hash for dedup-first. Default: XXH32 of the page (page-hash.ts); pass loadPageHasher()'s XXH64 for fewer collisions. */
  hash?: PageHash64;
  /** zram: CONFIG_ZSMALLOC_CHAIN_SIZE (4 … 16, default 8) and mem_limit in bytes (0 = none, default). */
  zram?: { chainSize?: number; memLimitBytes?: number };
  /** zswap's parameters (max_pool_percent, accept_threshold_percent, writeback, ...); its RAM size is the frame limit. */
  zswap?: Omit<ZswapOptions, 'codec' | 'totalRamPages' | 'pageSize' | 'capacityPages' | 'cost'>;
}

/** madvise(2) advice the model implements. */
export type MadviseAdvice = 'mergeable' | 'unmergeable' | 'dontneed';

/** XXH32 widened to the bigint PageHash64 type dedup-first takes. */
const xxh32Hash: PageHash64 = (page) => BigInt(xxh32Page(page));

export class Policies {
  readonly reclaim: Reclaim;
  readonly swap: SwapSpace | null;
  readonly restore: RestoreIndex | null;
  readonly ksm: Ksm;
  readonly swapOptions: SwapOptions | null;
  /** Simulated time, milliseconds since the Machine was made. */
  clockMs = 0;

  constructor(
    private readonly core: MmCore,
    options: { swap?: SwapOptions; mergeOnRestore?: boolean; ksm?: KsmOptions; reclaim?: ReclaimOptions },
  ) {
    this.swapOptions = options.swap ?? null;
    this.restore = options.mergeOnRestore ? new RestoreIndex(core) : null;
    if (options.mergeOnRestore && options.swap === undefined) {
      throw new SimulationError('E_INVAL', 'mergeOnRestore needs a swap back end (option swap)', {
        field: 'mergeOnRestore',
      });
    }
    this.swap =
      options.swap === undefined
        ? null
        : new SwapSpace(core, this.makeBackend(options.swap), this.restore, options.swap.capacityPages ?? Infinity);
    core.swap = this.swap;
    this.reclaim = wrapRange(() => new Reclaim(core, this.swap, options.reclaim ?? {}, this.restore), 'reclaim');
    this.ksm = new Ksm(core, options.ksm);
    core.reclaimHook = () => this.reclaim.direct();
    core.ksmZeroHook = (slot, delta) => this.ksm.zeroPte(slot, delta);
    const restore = this.restore;
    const ksm = this.ksm;
    core.frameReleaseHook = (frame, flags) => {
      if (restore !== null) restore.forget(frame);
      if ((flags & FRAME_KSM) !== 0) ksm.ksmFrameFreed(frame);
    };
  }

  /** Simulated time passes: ksmd runs its batches, then kswapd balances. Returns KSM pages scanned. */
  tick(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0)
      throw new SimulationError('E_INVAL', `tick needs a non-negative number of milliseconds, not ${ms}`, {
        field: 'ms',
      });
    this.clockMs += ms;
    const scanned = this.ksm.runUntil(this.clockMs);
    this.reclaim.background();
    return scanned;
  }

  /** madvise(2) on [start, end) of `proc` (see Machine.madvise). */
  madvise(proc: Process, start: number, end: number, advice: MadviseAdvice): void {
    switch (advice) {
      case 'mergeable':
        this.ksm.madviseMergeable(proc, start, end);
        break;
      case 'unmergeable':
        this.ksm.madviseUnmergeable(proc, start, end);
        break;
      case 'dontneed':
        for (const vma of proc.vmas) {
          if (vma.end > start && vma.start < end)
            zapRange(this.core, proc, Math.max(start, vma.start), Math.min(end, vma.end));
        }
        break;
      default:
        throw new SimulationError(
          'E_INVAL',
          `madvise advice must be 'mergeable', 'unmergeable' or 'dontneed', not ${String(advice)}`,
          { field: 'advice' },
        );
    }
    let covered = start;
    for (const vma of proc.vmas) {
      if (vma.end <= covered || vma.start >= end) continue;
      if (vma.start > covered) break;
      covered = vma.end;
    }
    if (covered < end) {
      throw new SimulationError(
        'E_NOMEM',
        `pid ${proc.pid}: madvise range has unmapped pages at 0x${covered.toString(16)}`,
        { pid: proc.pid, addr: covered },
      );
    }
  }

  /** A new frame limit (memory.max-like): reclaims down to it; what cannot be freed stays, and allocations fail until it is. */
  setFrameLimit(n: number): void {
    this.core.frameLimit = n;
    const zswap = this.zswapDevice();
    if (zswap !== null) zswap.totalRamPages = n;
    this.reclaim.shrinkTo(n);
  }

  private zswapDevice(): ZswapSwap | null {
    const b = this.swap?.backend;
    const inner = b instanceof DedupFirstSwap ? b.inner : b;
    return inner instanceof ZswapSwap ? inner : null;
  }

  private makeBackend(o: SwapOptions): SwapBackend {
    if (o.backend !== 'disk' && o.backend !== 'zram' && o.backend !== 'zswap') {
      throw new SimulationError('E_INVAL', `swap backend must be 'disk', 'zram' or 'zswap', not ${String(o.backend)}`, {
        field: 'swap.backend',
      });
    }
    const config: SwapConfig = {
      backend: o.backend,
      pageSize: this.core.pageSize,
      capacityPages: o.capacityPages,
      zeromap: o.zeromap,
      codec: o.codec,
      cost: this.core.cost,
      zramChainSize: o.zram?.chainSize,
      zramMemLimitBytes: o.zram?.memLimitBytes,
      totalRamPages: this.core.frameLimit,
      zswap: o.zswap,
      dedupFirst: o.dedupFirst ? { hash: o.hash ?? xxh32Hash } : undefined,
    };
    return wrapRange(() => createSwapBackend(config), 'swap');
  }
}

/** Turns the RangeErrors of option checks into E_INVAL. */
function wrapRange<T>(make: () => T, field: string): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError) throw new SimulationError('E_INVAL', e.message, { field });
    throw e;
  }
}
