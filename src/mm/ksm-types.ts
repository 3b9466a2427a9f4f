/** KSM's options and counters as plain data (sysfs, /proc/PID/ksm_stat). */

/** sizeof(struct ksm_rmap_item) on 64-bit, for general_profit (ksm.rst). */
export const KSM_RMAP_ITEM_SIZE = 64;

export interface KsmOptions {
  /** run: 0 stop (merged pages stay), 1 run, 2 stop and unmerge everything. Default 1 when the option is given, 0 without. */
  run?: 0 | 1 | 2;
  /** Pages per ksmd batch, 1 … 2^31−1. Default 100. Cost: a hash per page scanned, compares on hash hits. */
  pagesToScan?: number;
  /** Simulated milliseconds between batches, 1 … 2^31−1. Default 20. */
  sleepMillisecs?: number;
  /** Merge all-zero pages with the zero page (not counted in Rss or KSM). Default false. */
  useZeroPages?: boolean;
  /** Most rmap_items per KSM page, ≥ 2. Default 256. Changeable only while no KSM page exists. */
  maxPageSharing?: number;
  /** smart_scan: skip pages that repeatedly failed to merge. Default true. */
  smartScan?: boolean;
}

/** /sys/kernel/mm/ksm/ counters. */
export interface KsmStats {
  run: number;
  pages_to_scan: number;
  sleep_millisecs: number;
  use_zero_pages: number;
  max_page_sharing: number;
  smart_scan: number;
  pages_scanned: number;
  pages_skipped: number;
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
  pages_volatile: number;
  full_scans: number;
  ksm_zero_pages: number;
  general_profit: number;
  /** Not a sysfs file: rmap_items allocated (ksm_rmap_items). */
  rmap_items: number;
}

/** /proc/PID/ksm_stat. */
export interface KsmProcessStat {
  ksm_rmap_items: number;
  ksm_zero_pages: number;
  ksm_merging_pages: number;
  ksm_process_profit: number;
  ksm_merge_any: boolean;
  ksm_mergeable: boolean;
}
