/**
 * Swap back ends for the memory model: `disk`, `zram`, `zswap`, and the
 * seed's `dedup-first` wrapper in front of any of them. See types.ts for
 * the interface and docs/notes/swap.md for the behaviour and its sources.
 */
import type { CostAccumulator } from '../cost.js';
import type { PageHash64 } from '../../scan/hash.js';
import { DedupFirstSwap } from './dedup-first.js';
import { DiskSwap } from './disk.js';
import { Lz4Codec } from '../../codec/lz4.js';
import type { PageCodec, SwapBackend, SwapBackendName } from './types.js';
import { ZramSwap, type ZramOptions } from './zram.js';
import { ZswapSwap, type ZswapOptions } from './zswap.js';

export * from './types.js';
export { DiskSwap, type DiskSwapOptions, type DiskSwapStats } from './disk.js';
export { ZramSwap, type ZramOptions, type ZramMmStat, type ZramStats } from './zram.js';
export {
  ZswapSwap,
  type ZswapOptions,
  type ZswapStats,
  type ZswapSameFilled,
  type ZswapIncompressible,
} from './zswap.js';
export type { SwapLayerStats, SwapLayerOptions } from './swap-layer.js';
export { DedupFirstSwap, type DedupFirstOptions } from './dedup-first.js';
export { ZsPool, sizeClasses, hugeClassSize, ZS_HANDLE_SIZE } from './zsmalloc.js';
export { SameFilledScanner, fillPage } from './same-filled.js';

/**
 * The page codec zram and zswap use unless given one: the project's LZ4
 * codec ('lz4', src/codec/lz4-wasm.ts), whose compressor is a port of the
 * kernel's lib/lz4 LZ4_compress_fast (acceleration 1), so compressed
 * lengths, and with them compr_data_size and zsmalloc's size classes, are
 * the kernel's (test/codec-kernel-lz4.test.ts compares them with a real
 * zram device). getCodec('lz4js') gives lz4js for
 * comparisons.
 */
export function defaultPageCodec(): PageCodec {
  return new Lz4Codec();
}

export interface SwapConfig {
  backend: SwapBackendName;
  pageSize?: number;
  /** Swap device size in pages. Default unlimited. */
  capacityPages?: number;
  /** The swap layer's zeromap (Linux 6.12+). Default true; zswap derives it from zswapSameFilled. */
  zeromap?: boolean;
  /** For zram and zswap. Default: defaultPageCodec(). */
  codec?: PageCodec;
  cost?: CostAccumulator;
  /** zram */
  zramChainSize?: number;
  zramMemLimitBytes?: number;
  /** zswap: RAM size in pages (the frame count), and the options of ZswapOptions. */
  totalRamPages?: number;
  zswap?: Omit<ZswapOptions, 'codec' | 'totalRamPages' | 'pageSize' | 'capacityPages' | 'cost'>;
  /** dedup-first in front of the back end: pass the page hash to switch it on. */
  dedupFirst?: { hash: PageHash64; passSameFilled?: boolean };
}

/** Builds a back end (and the dedup-first wrapper) from a plain configuration. */
export function createSwapBackend(config: SwapConfig): SwapBackend {
  const common = { pageSize: config.pageSize, capacityPages: config.capacityPages, cost: config.cost };
  let backend: SwapBackend;
  switch (config.backend) {
    case 'disk':
      backend = new DiskSwap({ ...common, zeromap: config.zeromap });
      break;
    case 'zram': {
      const options: ZramOptions = {
        ...common,
        zeromap: config.zeromap,
        codec: needCodec(config),
        chainSize: config.zramChainSize,
        memLimitBytes: config.zramMemLimitBytes,
      };
      backend = new ZramSwap(options);
      break;
    }
    case 'zswap': {
      if (config.totalRamPages === undefined) throw new RangeError('zswap needs totalRamPages (the RAM size in pages)');
      backend = new ZswapSwap({
        ...common,
        ...config.zswap,
        codec: needCodec(config),
        totalRamPages: config.totalRamPages,
      });
      break;
    }
    default:
      throw new RangeError(`unknown swap back end "${String(config.backend)}"`);
  }
  return config.dedupFirst ? new DedupFirstSwap(backend, config.dedupFirst) : backend;
}

function needCodec(config: SwapConfig): PageCodec {
  return config.codec ?? defaultPageCodec();
}
