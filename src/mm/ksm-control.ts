/**
 * KSM's controls (mm/ksm.c, ksm.rst): the sysfs tunables, the mms on the
 * scan list, and the calls that register and unregister memory:
 * madvise(MADV_MERGEABLE / MADV_UNMERGEABLE), prctl(PR_SET_MEMORY_MERGE),
 * and what fork, exec, munmap and exit do to KSM state. The scanner itself
 * is ksm.ts.
 *
 * - MADV_MERGEABLE sets VM_MERGEABLE on compatible VMAs of the range
 *   (private mappings: ksm_compatible refuses VM_SHARED; the advice is
 *   ignored on the others) and registers the mm (__ksm_enter).
 * - MADV_UNMERGEABLE breaks every KSM page and KSM zero page of the range
 *   (unmerge_ksm_pages: each gets a private copy, which needs memory) and
 *   clears VM_MERGEABLE.
 * - PR_SET_MEMORY_MERGE 1 sets MMF_VM_MERGE_ANY: every compatible VMA, now
 *   and later (mmap, exec), is VM_MERGEABLE; 0 unmerges and clears
 *   VM_MERGEABLE on all VMAs (ksm_disable_merge_any).
 * - fork: a registered parent's child is registered, with MERGE_ANY copied;
 *   its VMAs keep VM_MERGEABLE (vma copies). exec: the old mm is torn down
 *   as on exit; MERGE_ANY survives and registers the new mm (ksm_execve).
 * - Teardown is lazy, as in mm/ksm.c: munmap and MADV_UNMERGEABLE free no
 *   rmap_item; ksmd frees the items of addresses it no longer finds a page
 *   for as its cursor passes them (get_next_rmap_item,
 *   remove_trailing_rmap_items). On exit (and for the old mm of an exec)
 *   __ksm_exit frees the mm's slot at once only when it has no items and the
 *   cursor is elsewhere; otherwise the slot moves just after the cursor and
 *   ksmd frees its items when it gets there. Until then they still count in
 *   pages_sharing, pages_volatile, general_profit.
 * - run = 2 unmerges every mm (unmerged pages are clean copies, as
 *   break_ksm's unshare fault makes them), frees every rmap_item and stable
 *   node and the slots of exited mms, keeps registrations, and resets the
 *   scan sequence (full_scans reads 0: unmerge_and_remove_all_rmap_items);
 *   run = 0 stops the scanner, merged pages stay.
 */
import { SimulationError } from '../errors.js';
import type { MmCore } from './core.js';
import { KsmTree, type KsmMm } from './ksm-tree.js';
import { unsharePte } from './ksm-merge.js';
import type { KsmOptions } from './ksm-types.js';
import type { Process } from './process.js';
import { forEachPtPage, mergeAround, splitAt } from './vma-ops.js';
import { firstEndingAfter, type Vma } from './vma.js';

const INT_MAX = 2 ** 31 - 1;

function invalid(message: string, field: string): SimulationError {
  return new SimulationError('E_INVAL', message, { field });
}

function checkInt(value: number, min: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > INT_MAX)
    throw invalid(`KSM ${field} must be an integer from ${min} to ${INT_MAX}, not ${value}`, field);
  return value;
}

/** ksm_compatible: KSM only merges private memory. */
export function ksmCompatible(vma: Vma): boolean {
  return !vma.shared;
}

export abstract class KsmControl {
  readonly tree = new KsmTree();
  /** ksm_scan.seqnr: completed full scans. */
  seqnr = 0;
  run: 0 | 1 | 2;
  pagesToScan = 100;
  sleepMillisecs = 20;
  useZeroPages = false;
  maxPageSharing = 256;
  smartScan = true;
  /** Every mm KSM has state for, by pid. */
  readonly mms = new Map<number, KsmMm>();
  /** The scan list (ksm_mm_head), pids in scan order. */
  protected readonly slots: number[] = [];

  constructor(
    protected readonly core: MmCore,
    options: KsmOptions | undefined,
  ) {
    this.run = options === undefined ? 0 : 1;
    if (options !== undefined) this.tune(options);
  }

  /** Sets sysfs tunables (/sys/kernel/mm/ksm/*). */
  tune(options: KsmOptions): void {
    if (options.pagesToScan !== undefined) this.pagesToScan = checkInt(options.pagesToScan, 1, 'pagesToScan');
    if (options.sleepMillisecs !== undefined)
      this.sleepMillisecs = checkInt(options.sleepMillisecs, 1, 'sleepMillisecs');
    if (options.useZeroPages !== undefined) this.useZeroPages = Boolean(options.useZeroPages);
    if (options.smartScan !== undefined) this.smartScan = Boolean(options.smartScan);
    if (options.maxPageSharing !== undefined) {
      const v = checkInt(options.maxPageSharing, 2, 'maxPageSharing');
      if (v !== this.maxPageSharing && this.tree.stableNodes > 0) {
        throw new SimulationError('E_BUSY', 'KSM max_page_sharing can only change while there are no KSM pages', {
          field: 'maxPageSharing',
        });
      }
      this.maxPageSharing = v;
    }
    if (options.run !== undefined) {
      if (options.run !== 0 && options.run !== 1 && options.run !== 2)
        throw invalid(`KSM run must be 0, 1 or 2, not ${String(options.run)}`, 'run');
      if (options.run === 2) this.unmergeAll();
      this.run = options.run;
    }
  }

  /** The KSM state of `pid`, created (unregistered) if missing. */
  mmOf(pid: number): KsmMm {
    let mm = this.mms.get(pid);
    if (mm === undefined) {
      mm = { pid, items: new Map(), rmapItems: 0, mergingPages: 0, zeroPages: 0, mergeAny: false, registered: false };
      this.mms.set(pid, mm);
    }
    return mm;
  }

  /** madvise(MADV_MERGEABLE) on [start, end) (whole pages, inside VMAs). */
  madviseMergeable(proc: Process, start: number, end: number): void {
    this.forEachVmaIn(proc, start, end, (vma) => {
      if (vma.mergeable || !ksmCompatible(vma)) return;
      vma.mergeable = true;
      this.enter(this.mmOf(proc.pid));
    });
  }

  /** madvise(MADV_UNMERGEABLE) on [start, end): pages are unmerged now, rmap_items go when ksmd passes. */
  madviseUnmergeable(proc: Process, start: number, end: number): void {
    this.forEachVmaIn(proc, start, end, (vma) => {
      if (!vma.mergeable) return;
      this.unmerge(proc, vma.start, vma.end);
      vma.mergeable = false;
    });
  }

  /** prctl(PR_SET_MEMORY_MERGE, on). */
  prctlMemoryMerge(proc: Process, on: boolean): void {
    const mm = this.mmOf(proc.pid);
    if (on) {
      if (mm.mergeAny) return;
      this.enter(mm);
      mm.mergeAny = true;
      for (const vma of proc.vmas) if (ksmCompatible(vma)) vma.mergeable = true;
      return;
    }
    if (!mm.mergeAny) return;
    for (const vma of proc.vmas) {
      if (!vma.mergeable) continue;
      this.unmerge(proc, vma.start, vma.end);
      vma.mergeable = false;
    }
    mm.mergeAny = false;
  }

  /** ksm_add_vma: a new VMA of a MERGE_ANY mm is VM_MERGEABLE if compatible. */
  newVma(pid: number, vma: Vma): void {
    if (this.mms.get(pid)?.mergeAny && ksmCompatible(vma)) vma.mergeable = true;
  }

  /** ksm_fork. */
  fork(parent: number, child: number): void {
    const pm = this.mms.get(parent);
    if (pm === undefined || !pm.registered) return;
    const cm = this.mmOf(child);
    cm.mergeAny = pm.mergeAny;
    this.enter(cm);
  }

  /** exec replaced the image of `pid`: the old mm goes as on exit; MERGE_ANY registers the new one (ksm_execve). */
  execve(pid: number): void {
    const mm = this.mms.get(pid);
    if (mm === undefined) return;
    const mergeAny = mm.mergeAny;
    this.retire(mm);
    if (mergeAny) {
      const fresh = this.mmOf(pid);
      fresh.mergeAny = true;
      this.enter(fresh);
    }
  }

  /** ksm_exit (after the process's memory was unmapped). */
  exit(pid: number): void {
    const mm = this.mms.get(pid);
    if (mm !== undefined) this.retire(mm);
  }

  /**
   * __ksm_exit: an mm without rmap_items, not under the cursor, leaves the
   * list at once; otherwise it stays, under a pid of its own (the process's
   * pid may get a new mm by exec), just after the cursor, for ksmd to free.
   */
  private retire(mm: KsmMm): void {
    this.mms.delete(mm.pid);
    if (!mm.registered) return;
    if (mm.items.size === 0 && !this.underCursor(mm.pid)) {
      this.removeSlot(mm.pid);
      return;
    }
    const old: KsmMm = {
      pid: this.nextExited--,
      items: mm.items,
      rmapItems: mm.rmapItems,
      mergingPages: mm.mergingPages,
      zeroPages: mm.zeroPages,
      mergeAny: false,
      registered: true,
    };
    for (const item of old.items.values()) this.tree.itemPid[item] = old.pid;
    this.mms.set(old.pid, old);
    this.moveExitedSlot(mm.pid, old.pid);
  }

  /** Ids of exited mms still on the list: negative, never a pid. */
  private nextExited = -1;

  /** Frees the rmap_items of [start, end) of `pid` (munmap, MADV_UNMERGEABLE). */
  forgetRange(pid: number, start: number, end: number): void {
    const mm = this.mms.get(pid);
    if (mm === undefined || mm.items.size === 0) return;
    const ps = this.core.pageSize;
    for (const [vpn, item] of mm.items) {
      if (vpn * ps < start || vpn * ps >= end) continue;
      this.tree.removeFromTree(item, mm, this.seqnr);
      this.tree.freeItem(mm, item);
    }
  }

  /** unmerge_ksm_pages over [start, end) of `proc`: every KSM page and KSM zero page gets a private copy. */
  unmerge(proc: Process, start: number, end: number): void {
    const ps = this.core.pageSize;
    const pt = this.core.pt;
    forEachPtPage(this.core, proc, start / ps, end / ps, (page, first, lo, hi) => {
      if (pt.usedEntries[page] === 0) return;
      for (let vpn = lo; vpn < hi; vpn++) unsharePte(this.core, first + vpn);
    });
  }

  /** run = 2 (unmerge_and_remove_all_rmap_items): unmerge every mm, free every rmap_item, stable node and exited mm. */
  unmergeAll(): void {
    for (const mm of [...this.mms.values()]) {
      const proc = this.core.procs.get(mm.pid);
      if (proc !== undefined) for (const vma of proc.vmas) if (vma.mergeable) this.unmerge(proc, vma.start, vma.end);
      this.forgetRange(mm.pid, 0, Infinity);
      if (proc === undefined && mm.pid < 0) {
        this.mms.delete(mm.pid);
        this.removeSlot(mm.pid);
      }
    }
    this.tree.removeAllNodes((pid) => this.mmOf(pid));
    this.resetScan();
  }

  /** __ksm_enter: puts `mm` on the scan list, behind the cursor. */
  protected enter(mm: KsmMm): void {
    if (mm.registered) return;
    mm.registered = true;
    this.insertSlot(mm.pid);
  }

  protected abstract insertSlot(pid: number): void;
  protected abstract removeSlot(pid: number): void;
  /** Whether the cursor is in `pid`'s mm (ksm_scan.mm_slot). */
  protected abstract underCursor(pid: number): boolean;
  /** The exited mm `pid`, now `exited`, moves just after the cursor (or stays under it). */
  protected abstract moveExitedSlot(pid: number, exited: number): void;
  /** ksm_scan back at the list head with seqnr 0. */
  protected abstract resetScan(): void;

  /** Splits VMAs at start and end, calls fn on each VMA inside, then merges neighbours again. */
  private forEachVmaIn(proc: Process, start: number, end: number, fn: (vma: Vma) => void): void {
    splitAt(this.core, proc, start);
    splitAt(this.core, proc, end);
    const lo = firstEndingAfter(proc.vmas, start);
    let hi = lo;
    for (; hi < proc.vmas.length && proc.vmas[hi]!.start < end; hi++) fn(proc.vmas[hi]!);
    mergeAround(this.core, proc, lo, hi - 1);
  }
}
