/**
 * Page reclaim with active and inactive LRU lists, as Linux's classic
 * (non-MGLRU) reclaim does it (mm/vmscan.c): shrink_node → shrink_lruvec →
 * get_scan_count, shrink_active_list, shrink_inactive_list,
 * shrink_folio_list with folio_check_references.
 *
 * Direct reclaim runs where a frame is allocated at the frame limit
 * (core.reclaimHook): it reclaims SWAP_CLUSTER_MAX (32) pages per round
 * (1/32 of the frame limit on machines under 1024 frames, see batch()),
 * priority 12 down to 0, and retries while memory is still at the limit,
 * until MAX_RECLAIM_RETRIES (16) rounds made no progress (a round that
 * only cleared referenced bits prepares the next), then the allocation
 * fails with E_OOM. Background reclaim (kswapd) runs from
 * Machine.tick(): when free memory is under the low watermark it reclaims
 * up to the high watermark. Memory in use is frames plus the back end's RAM
 * (zram / zswap pool pages), since both come out of the same RAM.
 *
 * Per priority, get_scan_count decides how much of each list to scan:
 * `size >> priority`, split between anon and file:
 * - no swap, or swap full: file only (anonymous pages cannot be reclaimed);
 * - priority 0: every list in full (SCAN_EQUAL);
 * - file pages almost gone (file + free <= high watermark): anon only;
 * - enough inactive file pages and the inactive file list not low: file
 *   only (cache_trim_mode);
 * - else in proportion swappiness : 200 - swappiness (anon_cost and
 *   file_cost, which Linux learns from refaults, are taken as equal).
 * An active list is only aged while its inactive list is low (inactive ×
 * inactive_ratio < active, inactive_ratio = int_sqrt(10 × GiB), 1 below
 * 1 GiB), and the anon lists are rebalanced after every round if swap
 * exists.
 *
 * shrink_active_list: every isolated page is deactivated (referenced bits
 * cleared through the rmap), except referenced page-cache pages mapped
 * executable, which rotate back to the active list.
 * shrink_inactive_list, per page (folio_check_references):
 * - referenced PTEs and PG_referenced already set, or more than one
 *   referenced PTE, or an executable file page: activate;
 * - referenced PTEs otherwise: set PG_referenced, keep (second chance);
 * - no referenced PTE: reclaim.
 * Reclaiming: an anonymous page goes to swap (swap-space.ts; refused →
 * activate); a clean page-cache page is unmapped and dropped (reading it
 * again is a major fault); a dirty page-cache page (written through
 * MAP_SHARED) is activated, because FileBackings are read-only and the
 * model has no writeback (direct reclaim in Linux does not write file pages
 * either); shmem pages are activated (shmem swap-out is not modelled).
 * A pinned page (refcount above mapcount + page cache + swap cache: a fault
 * is copying it) is kept.
 *
 * Counters carry vmstat's names: pgscan_direct/kswapd (pages isolated from
 * inactive lists), pgsteal_direct/kswapd (pages reclaimed), pgrefill (pages
 * isolated from active lists), pgactivate, pgdeactivate, allocstall (direct
 * reclaim entries), pageoutrun (kswapd runs), pgrotated (pages kept for
 * another trip), oom_kill (allocations that failed: the model has no OOM
 * killer, the allocation throws E_OOM).
 */
import { PROT_EXEC } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_FILE, FRAME_REFERENCED, FRAME_SWAPCACHE } from './frames.js';
import { LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE } from './lru.js';
import { PTE_DIRTY, PTE_YOUNG } from './pte.js';
import { tryToUnmap } from './rmap-walk.js';
import type { RestoreIndex } from './restore-index.js';
import type { SwapSpace } from './swap-space.js';
import {
  inactiveIsLow,
  watermarks,
  type ReclaimCounters,
  type ReclaimOptions,
  type Watermarks,
} from './reclaim-limits.js';
import { findVmaIndex } from './vma.js';

export const SWAP_CLUSTER_MAX = 32;
export const DEF_PRIORITY = 12;
export const MAX_RECLAIM_RETRIES = 16;
/** vm.swappiness range and default. */
export const MAX_SWAPPINESS = 200;
export const DEFAULT_SWAPPINESS = 60;

enum Ref {
  Activate,
  Keep,
  Reclaim,
}

/** Scan targets per list, indexed by LRU list number. */
const NR_EVICTABLE = 4;

export class Reclaim {
  readonly swappiness: number;
  readonly counters: ReclaimCounters = {
    pgscan_direct: 0,
    pgscan_kswapd: 0,
    pgsteal_direct: 0,
    pgsteal_kswapd: 0,
    pgrefill: 0,
    pgactivate: 0,
    pgdeactivate: 0,
    pgrotated: 0,
    allocstall: 0,
    pageoutrun: 0,
    oom_kill: 0,
  };
  private readonly nr = new Float64Array(NR_EVICTABLE);
  private readonly isolated = new Int32Array(SWAP_CLUSTER_MAX);
  private kswapd = false;
  private mayDeactivateAnon = false;
  private mayDeactivateFile = false;

  constructor(
    private readonly core: MmCore,
    private readonly swap: SwapSpace | null,
    options: ReclaimOptions = {},
    /** merge-on-restore's index: anonymous pages reclaim keeps resident are noted in it. */
    private readonly restore: RestoreIndex | null = null,
  ) {
    const swappiness = options.swappiness ?? DEFAULT_SWAPPINESS;
    if (!Number.isInteger(swappiness) || swappiness < 0 || swappiness > MAX_SWAPPINESS) {
      throw new RangeError(`swappiness must be an integer from 0 to ${MAX_SWAPPINESS}, not ${swappiness}`);
    }
    this.swappiness = swappiness;
  }

  /** Memory in use: frames plus the swap back end's RAM. */
  used(): number {
    return this.core.frames.used + this.core.swapRamPages;
  }

  /** The zone watermarks for the current frame limit (reclaim-limits.ts). */
  watermarks(): Watermarks {
    return watermarks(this.core.frameLimit, this.core.pageSize);
  }

  /** core.reclaimHook: direct reclaim before an allocation at the limit. Returns pages reclaimed. */
  direct(): number {
    const core = this.core;
    this.kswapd = false;
    this.counters.allocstall++;
    let reclaimed = 0;
    // should_reclaim_retry: up to MAX_RECLAIM_RETRIES rounds without progress (memory in use not going down;
    // a round that only cleared referenced bits sets up the next one). Bounded in total as well.
    let stalls = 0;
    for (
      let round = 0;
      round < 4 * MAX_RECLAIM_RETRIES && stalls < MAX_RECLAIM_RETRIES && this.used() >= core.frameLimit;
      round++
    ) {
      const before = this.used();
      reclaimed += this.shrinkNode(this.batch());
      if (this.used() >= before) stalls++;
    }
    if (this.used() >= core.frameLimit) this.counters.oom_kill++;
    return reclaimed;
  }

  /**
   * Pages a direct reclaim round aims for: SWAP_CLUSTER_MAX, or 1/32 of
   * the frame limit when that is less (at least 1), so that a machine of a
   * few dozen frames does not throw all of its memory out for one page.
   */
  batch(): number {
    return Math.max(1, Math.min(SWAP_CLUSTER_MAX, Math.floor(this.core.frameLimit / 32)));
  }

  /** kswapd's balance_pgdat: if free memory is under the low watermark, reclaim up to the high one. */
  background(): number {
    const core = this.core;
    const { low, high } = this.watermarks();
    if (core.frameLimit - this.used() >= low) return 0;
    this.kswapd = true;
    this.counters.pageoutrun++;
    let reclaimed = 0;
    let stalls = 0;
    for (
      let round = 0;
      round < 4 * MAX_RECLAIM_RETRIES && stalls < MAX_RECLAIM_RETRIES && core.frameLimit - this.used() < high;
      round++
    ) {
      const before = this.used();
      reclaimed += this.shrinkNode(Math.max(SWAP_CLUSTER_MAX, high - (core.frameLimit - this.used())));
      if (this.used() >= before) stalls++;
    }
    this.kswapd = false;
    return reclaimed;
  }

  /** Reclaims until memory in use is under `limit` or nothing more can be freed (setting a lower frame limit). */
  shrinkTo(limit: number): number {
    let reclaimed = 0;
    this.kswapd = false;
    let stalls = 0;
    for (
      let round = 0;
      round < 4 * MAX_RECLAIM_RETRIES && stalls < MAX_RECLAIM_RETRIES && this.used() > limit;
      round++
    ) {
      const before = this.used();
      reclaimed += this.shrinkNode(Math.max(SWAP_CLUSTER_MAX, this.used() - limit));
      if (this.used() >= before) stalls++;
    }
    return reclaimed;
  }

  /** do_try_to_free_pages: priority 12 down to 0 until `target` pages are reclaimed. */
  shrinkNode(target: number): number {
    let reclaimed = 0;
    for (let priority = DEF_PRIORITY; priority >= 0 && reclaimed < target; priority--) {
      reclaimed += this.shrinkLruvec(priority, target - reclaimed);
    }
    return reclaimed;
  }

  private canReclaimAnon(): boolean {
    return this.swap?.hasSpace() ?? false;
  }

  private shrinkLruvec(priority: number, target: number): number {
    const lru = this.core.lru;
    this.mayDeactivateAnon = inactiveIsLow(
      lru.count[LRU_INACTIVE_ANON]!,
      lru.count[LRU_ACTIVE_ANON]!,
      this.core.pageSize,
    );
    this.mayDeactivateFile = inactiveIsLow(
      lru.count[LRU_INACTIVE_FILE]!,
      lru.count[LRU_ACTIVE_FILE]!,
      this.core.pageSize,
    );
    this.getScanCount(priority);
    const nr = this.nr;
    let reclaimed = 0;
    while (nr[LRU_INACTIVE_ANON]! > 0 || nr[LRU_ACTIVE_FILE]! > 0 || nr[LRU_INACTIVE_FILE]! > 0) {
      for (let list = 0; list < NR_EVICTABLE; list++) {
        const n = Math.min(nr[list]!, SWAP_CLUSTER_MAX);
        if (n === 0) continue;
        nr[list]! -= n;
        reclaimed += this.shrinkList(list, n);
      }
      if (reclaimed >= target) break;
    }
    // Rebalance the anon lists even when anon was not scanned (shrink_lruvec).
    if (
      this.canReclaimAnon() &&
      inactiveIsLow(lru.count[LRU_INACTIVE_ANON]!, lru.count[LRU_ACTIVE_ANON]!, this.core.pageSize)
    ) {
      this.shrinkActiveList(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
    }
    return reclaimed;
  }

  /** get_scan_count: fills this.nr with the pages to scan per list at `priority`. */
  private getScanCount(priority: number): void {
    const core = this.core;
    const count = core.lru.count;
    const nr = this.nr;
    for (let list = 0; list < NR_EVICTABLE; list++) nr[list] = Math.floor(count[list]! / 2 ** priority);
    let anonShare: number;
    let fileShare: number;
    const anonPages = count[LRU_INACTIVE_ANON]! + count[LRU_ACTIVE_ANON]!;
    const filePages = count[LRU_INACTIVE_FILE]! + count[LRU_ACTIVE_FILE]!;
    const free = core.frameLimit - this.used();
    if (!this.canReclaimAnon()) {
      anonShare = 0;
      fileShare = 1;
    } else if (priority === 0 && this.swappiness > 0) {
      anonShare = 1;
      fileShare = 1;
    } else if (
      filePages + free <= this.watermarks().high &&
      !this.mayDeactivateAnon &&
      Math.floor(anonPages / 2 ** priority) > 0
    ) {
      anonShare = 1; // file_is_tiny
      fileShare = 0;
    } else if (Math.floor(count[LRU_INACTIVE_FILE]! / 2 ** priority) > 0 && !this.mayDeactivateFile) {
      anonShare = 0; // cache_trim_mode
      fileShare = 1;
    } else {
      const ap = this.swappiness;
      const fp = MAX_SWAPPINESS - this.swappiness;
      anonShare = ap / (ap + fp);
      fileShare = fp / (ap + fp);
    }
    nr[LRU_INACTIVE_ANON] = Math.floor(nr[LRU_INACTIVE_ANON]! * anonShare);
    nr[LRU_ACTIVE_ANON] = Math.floor(nr[LRU_ACTIVE_ANON]! * anonShare);
    nr[LRU_INACTIVE_FILE] = Math.floor(nr[LRU_INACTIVE_FILE]! * fileShare);
    nr[LRU_ACTIVE_FILE] = Math.floor(nr[LRU_ACTIVE_FILE]! * fileShare);
  }

  private shrinkList(list: number, n: number): number {
    if (list === LRU_ACTIVE_ANON || list === LRU_ACTIVE_FILE) {
      if (list === LRU_ACTIVE_ANON ? this.mayDeactivateAnon : this.mayDeactivateFile) this.shrinkActiveList(n, list);
      return 0;
    }
    return this.shrinkInactiveList(n, list);
  }

  /** Takes up to n pages off the tail (oldest end) of `list`. Returns how many. */
  private isolate(n: number, list: number): number {
    const lru = this.core.lru;
    let taken = 0;
    while (taken < n) {
      const frame = lru.oldest(list);
      if (frame === -1) break;
      lru.remove(frame);
      this.isolated[taken++] = frame;
    }
    return taken;
  }

  private shrinkActiveList(n: number, list: number): void {
    const core = this.core;
    const inactive = list === LRU_ACTIVE_ANON ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
    const taken = this.isolate(n, list);
    this.counters.pgrefill += taken;
    for (let i = 0; i < taken; i++) {
      const frame = this.isolated[i]!;
      const young = this.referencedPtes(frame, list === LRU_ACTIVE_FILE);
      if (young > 0 && this.lastExec && list === LRU_ACTIVE_FILE) {
        core.lru.addHead(frame, list);
        continue;
      }
      core.lru.addHead(frame, inactive);
      this.counters.pgdeactivate++;
      this.noteResident(frame);
    }
  }

  /** merge-on-restore: a resident anonymous page reclaim looked at goes into the content index. */
  private noteResident(frame: number): void {
    if (this.restore !== null && (this.core.frames.flags[frame]! & FRAME_ANON) !== 0) this.restore.noteResident(frame);
  }

  private shrinkInactiveList(n: number, list: number): number {
    const core = this.core;
    const active = list === LRU_INACTIVE_ANON ? LRU_ACTIVE_ANON : LRU_ACTIVE_FILE;
    const taken = this.isolate(n, list);
    if (this.kswapd) this.counters.pgscan_kswapd += taken;
    else this.counters.pgscan_direct += taken;
    let reclaimed = 0;
    for (let i = 0; i < taken; i++) {
      const frame = this.isolated[i]!;
      let outcome = this.pinned(frame) ? Ref.Keep : this.checkReferences(frame, list === LRU_INACTIVE_FILE);
      if (outcome === Ref.Reclaim) outcome = this.reclaimPage(frame) ? Ref.Reclaim : Ref.Activate;
      switch (outcome) {
        case Ref.Reclaim:
          reclaimed++;
          break;
        case Ref.Activate:
          core.lru.addHead(frame, active);
          this.counters.pgactivate++;
          this.noteResident(frame);
          break;
        case Ref.Keep:
          core.lru.addHead(frame, list);
          this.counters.pgrotated++;
          this.noteResident(frame);
          break;
        default:
          throw new Error(`unknown reclaim outcome ${String(outcome)}`);
      }
    }
    if (this.kswapd) this.counters.pgsteal_kswapd += reclaimed;
    else this.counters.pgsteal_direct += reclaimed;
    return reclaimed;
  }

  /** A fault holds a reference of its own on the frame (it is copying it). */
  private pinned(frame: number): boolean {
    const f = this.core.frames;
    const expected =
      f.mapcount[frame]! + (f.mappingId[frame]! >= 0 ? 1 : 0) + ((f.flags[frame]! & FRAME_SWAPCACHE) !== 0 ? 1 : 0);
    return f.refcount[frame]! > expected;
  }

  /** folio_check_references. */
  private checkReferences(frame: number, file: boolean): Ref {
    const f = this.core.frames;
    const young = this.referencedPtes(frame, file);
    const referencedFolio = (f.flags[frame]! & FRAME_REFERENCED) !== 0;
    f.flags[frame]! &= ~FRAME_REFERENCED;
    if (young > 0) {
      f.flags[frame]! |= FRAME_REFERENCED;
      if (referencedFolio || young > 1) return Ref.Activate;
      if (file && this.lastExec) return Ref.Activate;
      return Ref.Keep;
    }
    return Ref.Reclaim;
  }

  /** Whether the last referencedPtes() call met a young PTE in an executable VMA (vm_flags & VM_EXEC). */
  private lastExec = false;

  /**
   * folio_referenced: counts and clears the young bits of the frame's PTEs.
   * For page-cache frames it also notes whether a young PTE lies in an
   * executable mapping (this.lastExec).
   */
  private referencedPtes(frame: number, file: boolean): number {
    const core = this.core;
    const pt = core.pt;
    let young = 0;
    this.lastExec = false;
    for (let s = core.frames.rmapHead[frame]!; s !== -1; s = pt.rmapNext[s]!) {
      const pte = pt.pte[s]!;
      if ((pte & PTE_YOUNG) === 0) continue;
      young++;
      pt.pte[s] = pte & ~PTE_YOUNG;
      if (file && !this.lastExec) {
        const proc = core.procs.get(pt.slotPid(s));
        const vma = proc?.vmas[findVmaIndex(proc.vmas, pt.slotVpn(s) * core.pageSize)];
        if (vma !== undefined && (vma.prot & PROT_EXEC) !== 0) this.lastExec = true;
      }
    }
    return young;
  }

  /** shrink_folio_list's reclaim of one unreferenced page. False: it could not be freed (activate it). */
  private reclaimPage(frame: number): boolean {
    const core = this.core;
    const f = core.frames;
    const flags = f.flags[frame]!;
    if ((flags & FRAME_ANON) !== 0) {
      if (this.swap === null || !this.swap.hasSpace()) return false;
      return this.swap.pageout(frame);
    }
    if ((flags & FRAME_FILE) === 0) return false; // shmem: its swap-out is not modelled
    if ((flags & FRAME_DIRTY) !== 0 || this.anyDirtyPte(frame)) return false; // no writeback of files
    tryToUnmap(core, frame, 0);
    core.cacheDelete(frame);
    return true;
  }

  private anyDirtyPte(frame: number): boolean {
    const pt = this.core.pt;
    for (let s = this.core.frames.rmapHead[frame]!; s !== -1; s = pt.rmapNext[s]!) {
      if ((pt.pte[s]! & PTE_DIRTY) !== 0) return true;
    }
    return false;
  }
}
