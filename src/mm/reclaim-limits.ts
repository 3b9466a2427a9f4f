/**
 * Reclaim's options, counters and the two sizing rules it takes from the
 * kernel: the zone watermarks kswapd works between, and inactive_is_low,
 * the inactive:active balance of an LRU list pair (mm/vmscan.c,
 * mm/page_alloc.c).
 */

export interface ReclaimOptions {
  /** vm.swappiness, 0 … 200 (default 60): how much anon is scanned relative to file. */
  swappiness?: number;
}

export interface ReclaimCounters {
  pgscan_direct: number;
  pgscan_kswapd: number;
  pgsteal_direct: number;
  pgsteal_kswapd: number;
  pgrefill: number;
  pgactivate: number;
  pgdeactivate: number;
  pgrotated: number;
  allocstall: number;
  pageoutrun: number;
  oom_kill: number;
}

export interface Watermarks {
  /** Free pages (frame limit minus memory in use) below which kswapd wakes. */
  low: number;
  /** Free pages kswapd reclaims up to. */
  high: number;
}

/**
 * min/low/high watermarks as init_per_zone_wmark_min and
 * __setup_per_zone_wmarks compute them for a zone of `frameLimit` pages:
 * min_free_kbytes = int_sqrt(KiB × 16) clamped to 128 … 262144, gap =
 * max(min / 4, pages × watermark_scale_factor (10) / 10000); low = min +
 * gap, high = min + 2 × gap. The frame limit stands for the min
 * watermark (allocations fail below it), so the model keeps low and high
 * as free pages above it, each at most a quarter of the limit.
 */
export function watermarks(frameLimit: number, pageSize: number): Watermarks {
  const pages = frameLimit;
  const pageKiB = pageSize / 1024;
  const minFreeKiB = Math.min(262144, Math.max(128, Math.floor(Math.sqrt(pages * pageKiB * 16))));
  const min = Math.floor(minFreeKiB / pageKiB);
  const gap = Math.max(Math.floor(min / 4), Math.floor((pages * 10) / 10000));
  const cap = Math.floor(pages / 4);
  return { low: Math.min(cap, min + gap), high: Math.min(cap, min + 2 * gap) };
}

/** inactive_is_low: inactive × int_sqrt(10 × GiB) < active (ratio 1 below 1 GiB). */
export function inactiveIsLow(inactive: number, active: number, pageSize: number): boolean {
  const gb = Math.floor(((inactive + active) * pageSize) / 2 ** 30);
  const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
  return inactive * ratio < active;
}
