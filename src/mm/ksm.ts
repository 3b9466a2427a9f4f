/**
 * KSM, kernel samepage merging (mm/ksm.c, Documentation/admin-guide/mm/
 * ksm.rst, LINUX.md §3): ksmd scans the VM_MERGEABLE areas of registered
 * mms and merges pages with identical bytes into one write-protected KSM
 * page; a write to it copies it (cow_ksm).
 *
 * Registration: madvise(MADV_MERGEABLE) on a compatible VMA (private: not
 * VM_SHARED) marks it VM_MERGEABLE and puts its mm on the scan list, just
 * behind the cursor (__ksm_enter); prctl(PR_SET_MEMORY_MERGE, 1) does it for
 * every current and future compatible VMA (MMF_VM_MERGE_ANY, kept across
 * fork and exec). fork registers the child of a registered parent.
 *
 * Scanning (ksm_do_scan, scan_get_next_rmap_item): Machine.tick() runs one
 * batch of pages_to_scan pages every sleep_millisecs of simulated time. The
 * cursor walks the mms in list order, their VM_MERGEABLE VMAs that have an
 * anon_vma, and each address; an address with a present anonymous page
 * (not the zero page) gets an rmap_item (created zeroed on first visit) and
 * goes through smart scan's skip test, then cmp_and_merge_page. Items of
 * addresses that had no such page in a pass are freed when the cursor
 * leaves the mm (remove_trailing_rmap_items); an mm with no VM_MERGEABLE
 * VMA left leaves the list. A batch ends early when a full scan completes
 * (full_scans++); the unstable tree is emptied as the next one starts.
 *
 * cmp_and_merge_page(page, rmap_item):
 * 1. a KSM page whose node already holds this item: nothing; a KSM page
 *    reached through another mm (fork): the item joins its node;
 * 2. otherwise the item leaves its tree; checksum = XXH32(page); if it
 *    differs from oldchecksum, store it and stop (volatile: a page must look
 *    the same on two visits);
 * 3. use_zero_pages and the zero page's checksum: map the zero page
 *    (ksm_zero_pages);
 * 4. a stable node with these bytes and room (0 < items < max_page_sharing):
 *    the page is replaced by that KSM page;
 * 5. an unstable-tree item with these bytes: both pages merge into a new KSM
 *    page (the page becomes it, the other PTE is pointed at it), a new stable
 *    node holds both items; else the item joins the unstable tree.
 * Every hash hit is confirmed byte for byte (pages_identical).
 *
 * Teardown is lazy, as in mm/ksm.c (ksm-control.ts): rmap_items of
 * unmapped or unmerged ranges and of exited mms are freed when the cursor
 * passes them; a stable node whose KSM page was freed stays, stale, until
 * it is looked up. Between batches (where tick() lets anyone look) the
 * counters read as Linux's do.
 *
 * Where the model is simpler than mm/ksm.c, and why:
 * - Items the cursor passed without finding a page are freed at the end of
 *   the batch (Linux: at once, inside the batch); only a stable node's
 *   length within that batch can differ (max_page_sharing).
 * - A stable-tree search prunes the stale nodes in its hash chain; Linux
 *   prunes those on its memcmp path through the red-black tree.
 * - A KSM page that is swapped out loses its KSM identity; the swap cache
 *   keeps it shared between the PTEs that held it, and ksmd may merge it
 *   again. (Linux keeps KSM pages KSM in the swap cache.)
 * - stable_node_chains_prune_millisecs, merge_across_nodes, NUMA and the
 *   scan-time advisor are not modelled; stable_node_chains/dups are not
 *   reported.
 */
import type { MmCore } from './core.js';
import { CostOp } from './cost.js';
import { FRAME_ANON, FRAME_KSM, ZERO_FRAME } from './frames.js';
import { ITEM_STABLE, type KsmMm } from './ksm-tree.js';
import { makeKsmPage, mergeable, replaceWithKsmPage, replaceWithZeroPage } from './ksm-merge.js';
import { xxh32Page, zeroPageChecksum } from './page-hash.js';
import { PTRS_PER_PTE } from './page-table.js';
import { pteFrame } from './pte.js';
import { firstEndingAfter } from './vma.js';
import type { Process } from './process.js';
import { equalPages } from './swap/same-filled.js';
import { KsmControl } from './ksm-control.js';
import { KSM_RMAP_ITEM_SIZE, type KsmOptions, type KsmProcessStat, type KsmStats } from './ksm-types.js';

export class Ksm extends KsmControl {
  pagesScanned = 0;
  pagesSkipped = 0;
  ksmZeroPages = 0;
  /** Simulated time of the next ksmd batch. */
  nextBatchAt: number;
  // The scan cursor: index into `slots` (-1: at the list head, between passes) and the next vpn.
  private cursorSlot = -1;
  private cursorVpn = 0;
  /** The cursor met a VM_MERGEABLE VMA in its current mm (Linux: ksm_scan.address != 0). */
  private cursorSawMergeable = false;
  private curSlot = -1;
  private curFrame = -1;
  private readonly page: Uint8Array;
  private readonly other: Uint8Array;
  private readonly zeroes: Uint8Array;
  private readonly zeroChecksum: number;

  constructor(core: MmCore, options: KsmOptions | undefined) {
    super(core, options);
    this.page = new Uint8Array(core.pageSize);
    this.other = new Uint8Array(core.pageSize);
    this.zeroes = new Uint8Array(core.pageSize);
    this.zeroChecksum = zeroPageChecksum(core.pageSize) | 0;
    this.nextBatchAt = this.sleepMillisecs;
    this.tree.mmOf = (pid) => this.mmOf(pid);
  }

  /** Runs the ksmd batches due by simulated time `now` (ms). Returns pages scanned. */
  runUntil(now: number): number {
    let scanned = 0;
    while (this.nextBatchAt <= now) {
      if (this.run !== 1 || this.slots.length === 0) {
        // ksmd sleeps until there is work: skip the idle batches at once.
        this.nextBatchAt += Math.ceil((now - this.nextBatchAt + 1) / this.sleepMillisecs) * this.sleepMillisecs;
        break;
      }
      scanned += this.doScan(this.pagesToScan);
      this.nextBatchAt += this.sleepMillisecs;
    }
    return scanned;
  }

  /** ksm_do_scan: up to `n` pages, fewer if a full scan completes. */
  doScan(n: number): number {
    let done = 0;
    while (done < n) {
      const item = this.nextItem();
      if (item === -1) break;
      this.cmpAndMerge(item);
      this.pagesScanned++;
      done++;
    }
    this.freePassedItems();
    return done;
  }

  /** get_next_rmap_item: items of the current mm below the cursor that it found no page for this time are freed. */
  private freePassedItems(): void {
    if (this.cursorSlot < 0 || this.cursorSlot >= this.slots.length) return;
    const mm = this.mmOf(this.slots[this.cursorSlot]!);
    for (const [vpn, item] of mm.items) {
      if (vpn >= this.cursorVpn || this.tree.itemSeen[item] === this.seqnr) continue;
      this.tree.removeFromTree(item, mm, this.seqnr);
      this.tree.freeItem(mm, item);
    }
  }

  /** A KSM frame is being freed: its stable node goes stale (ksm_get_folio will prune it). */
  ksmFrameFreed(frame: number): void {
    const node = frame < this.tree.nodeOfFrame.length ? this.tree.nodeOfFrame[frame]! : -1;
    if (node !== -1) this.tree.markStale(node);
  }

  /** core.ksmZeroHook: a KSM zero-page PTE appeared or went. */
  zeroPte(slot: number, delta: number): void {
    this.ksmZeroPages += delta;
    this.mmOf(this.core.pt.slotPid(slot)).zeroPages += delta;
  }

  stats(): KsmStats {
    const t = this.tree;
    const volatile = t.rmapItems - t.pagesShared - t.pagesSharing - t.pagesUnshared;
    return {
      run: this.run,
      pages_to_scan: this.pagesToScan,
      sleep_millisecs: this.sleepMillisecs,
      use_zero_pages: this.useZeroPages ? 1 : 0,
      max_page_sharing: this.maxPageSharing,
      smart_scan: this.smartScan ? 1 : 0,
      pages_scanned: this.pagesScanned,
      pages_skipped: this.pagesSkipped,
      pages_shared: t.pagesShared,
      pages_sharing: t.pagesSharing,
      pages_unshared: t.pagesUnshared,
      pages_volatile: Math.max(0, volatile),
      full_scans: this.seqnr,
      ksm_zero_pages: this.ksmZeroPages,
      general_profit: (t.pagesSharing + this.ksmZeroPages) * this.core.pageSize - t.rmapItems * KSM_RMAP_ITEM_SIZE,
      rmap_items: t.rmapItems,
    };
  }

  processStat(pid: number): KsmProcessStat {
    const mm = this.mms.get(pid);
    const items = mm?.rmapItems ?? 0;
    const merging = mm?.mergingPages ?? 0;
    const zero = mm?.zeroPages ?? 0;
    return {
      ksm_rmap_items: items,
      ksm_zero_pages: zero,
      ksm_merging_pages: merging,
      ksm_process_profit: (merging + zero) * this.core.pageSize - items * KSM_RMAP_ITEM_SIZE,
      ksm_merge_any: mm?.mergeAny ?? false,
      ksm_mergeable: mm?.registered ?? false,
    };
  }

  // ---- the scan list ----

  protected override insertSlot(pid: number): void {
    if (this.cursorSlot === -1) {
      this.slots.push(pid);
    } else {
      this.slots.splice(this.cursorSlot, 0, pid);
      this.cursorSlot++;
    }
  }

  protected override underCursor(pid: number): boolean {
    return this.cursorSlot >= 0 && this.slots[this.cursorSlot] === pid;
  }

  protected override moveExitedSlot(pid: number, exited: number): void {
    const i = this.slots.indexOf(pid);
    if (i === -1) return;
    if (i === this.cursorSlot) {
      this.slots[i] = exited;
      return;
    }
    this.slots.splice(i, 1);
    if (i < this.cursorSlot) this.cursorSlot--;
    this.slots.splice(this.cursorSlot + 1, 0, exited); // list_move after ksm_scan.mm_slot (the head: first)
  }

  protected override resetScan(): void {
    this.tree.resetUnstable();
    this.cursorSlot = -1;
    this.cursorVpn = 0;
    this.cursorSawMergeable = false;
    this.seqnr = 0;
  }

  protected override removeSlot(pid: number): void {
    const i = this.slots.indexOf(pid);
    if (i === -1) return;
    this.slots.splice(i, 1);
    if (this.cursorSlot === -1) return;
    if (i < this.cursorSlot) this.cursorSlot--;
    else if (i === this.cursorSlot) {
      this.cursorVpn = 0;
      this.cursorSawMergeable = false;
    }
    if (this.cursorSlot >= this.slots.length) this.endPass();
  }

  /** A full scan is complete: seqnr++; the unstable tree is emptied now (Linux: as the next scan starts, which is the same to every observer). */
  private endPass(): void {
    this.tree.resetUnstable();
    this.cursorSlot = -1;
    this.cursorVpn = 0;
    this.cursorSawMergeable = false;
    this.seqnr++;
  }

  /** scan_get_next_rmap_item: the next item to look at (curFrame/curSlot set), or -1 at the end of a full scan. */
  private nextItem(): number {
    const core = this.core;
    const ps = core.pageSize;
    const pt = core.pt;
    if (this.slots.length === 0) return -1;
    if (this.cursorSlot === -1) {
      this.tree.resetUnstable();
      this.cursorSlot = 0;
      this.cursorVpn = 0;
    }
    for (;;) {
      const pid = this.slots[this.cursorSlot]!;
      const mm = this.mmOf(pid);
      const proc = core.procs.get(pid);
      if (proc !== undefined) {
        for (let vi = firstEndingAfter(proc.vmas, this.cursorVpn * ps); vi < proc.vmas.length; vi++) {
          const vma = proc.vmas[vi]!;
          if (!vma.mergeable) continue;
          this.cursorSawMergeable = true;
          if (vma.anonVmaId === 0) continue;
          let vpn = Math.max(this.cursorVpn, vma.start / ps);
          const end = vma.end / ps;
          while (vpn < end) {
            const d = Math.floor(vpn / PTRS_PER_PTE);
            const ptPage = proc.dir.get(d);
            if (ptPage === undefined) {
              vpn = (d + 1) * PTRS_PER_PTE;
              continue;
            }
            const slot = ptPage * PTRS_PER_PTE + (vpn - d * PTRS_PER_PTE);
            const pte = pt.pte[slot]!;
            vpn++;
            if (pte <= 0) continue;
            const frame = pteFrame(pte);
            if (frame === ZERO_FRAME || (core.frames.flags[frame]! & FRAME_ANON) === 0) continue;
            const item = mm.items.get(vpn - 1) ?? this.tree.allocItem(mm, vpn - 1);
            this.tree.itemSeen[item] = this.seqnr;
            this.cursorVpn = vpn;
            if (this.shouldSkip(item, frame, mm)) continue;
            this.curSlot = slot;
            this.curFrame = frame;
            return item;
          }
          this.cursorVpn = Math.max(this.cursorVpn, end);
        }
      }
      // Past the last VMA of this mm: free the items no page was found for this pass (all of an exited mm's).
      for (const item of mm.items.values()) {
        if (this.tree.itemSeen[item] !== this.seqnr || proc === undefined) {
          this.tree.removeFromTree(item, mm, this.seqnr);
          this.tree.freeItem(mm, item);
        }
      }
      if (!this.cursorSawMergeable) {
        mm.registered = false;
        mm.mergeAny = false;
        this.slots.splice(this.cursorSlot, 1);
        if (proc === undefined) this.mms.delete(pid);
      } else {
        this.cursorSlot++;
      }
      this.cursorVpn = 0;
      this.cursorSawMergeable = false;
      if (this.cursorSlot >= this.slots.length) {
        this.endPass();
        return -1;
      }
    }
  }

  /** should_skip_rmap_item (smart_scan). */
  private shouldSkip(item: number, frame: number, mm: KsmMm): boolean {
    if (!this.smartScan || (this.core.frames.flags[frame]! & FRAME_KSM) !== 0) return false;
    const t = this.tree;
    const age = t.itemAge[item]!;
    if (age !== 255) t.itemAge[item] = age + 1;
    if (age < 3) return false;
    if (t.itemSkips[item] === 0) {
      t.itemSkips[item] = age <= 3 ? 1 : age <= 5 ? 2 : age <= 8 ? 4 : 8;
      return false;
    }
    this.pagesSkipped++;
    t.itemSkips[item]!--;
    t.removeFromTree(item, mm, this.seqnr);
    return true;
  }

  private cmpAndMerge(item: number): void {
    const core = this.core;
    const t = this.tree;
    const frame = this.curFrame;
    const slot = this.curSlot;
    const mm = this.mmOf(t.itemPid[item]!);
    if ((core.frames.flags[frame]! & FRAME_KSM) !== 0) {
      const node = t.nodeOfFrame[frame]!;
      if (t.itemFlags[item] === ITEM_STABLE && t.itemNode[item] === node) return;
      // A KSM page reached through a forked mm: the item joins its node (max_page_sharing bypassed).
      t.removeFromTree(item, mm, this.seqnr);
      t.appendStable(item, node, mm);
      return;
    }
    t.removeFromTree(item, mm, this.seqnr);
    const page = core.contents.bytes(frame, this.page);
    const checksum = xxh32Page(page) | 0;
    core.cost.charge(CostOp.hash, core.pageSize);
    if (t.itemChecksum[item] !== checksum) {
      t.itemChecksum[item] = checksum;
      return;
    }
    if (this.useZeroPages && checksum === this.zeroChecksum && this.vmaMergeable(t.itemPid[item]!, t.itemVpn[item]!)) {
      if (replaceWithZeroPage(core, slot, frame, this.page, this.zeroes)) return;
    }
    const node = this.stableSearch(page, checksum);
    if (node !== -1) {
      if (replaceWithKsmPage(core, slot, frame, t.nodeFrame[node]!, this.page, this.other))
        t.appendStable(item, node, mm);
      return;
    }
    const treeItem = this.unstableSearchInsert(item, page, checksum);
    if (treeItem === -1) return;
    const treeMm = this.mmOf(t.itemPid[treeItem]!);
    const treeSlot = this.curTreeSlot;
    const treeFrame = this.curTreeFrame;
    if (!makeKsmPage(core, frame)) return;
    if (!replaceWithKsmPage(core, treeSlot, treeFrame, frame, this.page, this.other)) {
      core.frames.flags[frame]! &= ~FRAME_KSM; // nothing else maps it as KSM yet: undo (break_cow)
      return;
    }
    t.removeFromTree(treeItem, treeMm, this.seqnr);
    const newNode = t.insertNode(frame, checksum);
    t.appendStable(treeItem, newNode, treeMm);
    t.appendStable(item, newNode, mm);
  }

  /** stable_tree_search: a KSM page with `page`'s bytes that can take one more sharer, or -1. */
  private stableSearch(page: Uint8Array, key: number): number {
    const t = this.tree;
    const core = this.core;
    for (let node = t.stableByKey.get(key) ?? -1, next = -1; node !== -1; node = next) {
      next = t.nodeNext[node]!;
      if (t.nodeFrame[node] === -1) {
        t.removeNode(node, t.mmOf); // stale: its KSM page was freed
        continue;
      }
      const len = t.nodeLen[node]!;
      if (len === 0 || len >= this.maxPageSharing) continue;
      core.cost.charge(CostOp.compare, core.pageSize);
      if (equalPages(page, core.contents.bytes(t.nodeFrame[node]!, this.other))) return node;
    }
    return -1;
  }

  private curTreeSlot = -1;
  private curTreeFrame = -1;

  /**
   * unstable_tree_search_insert: an unstable item whose page (still mapped
   * and mergeable) has `page`'s bytes — its slot and frame go to
   * curTreeSlot/curTreeFrame — or -1 after inserting `item`. The page
   * itself found under another item (a page shared by fork) is no match
   * and `item` is not inserted.
   */
  private unstableSearchInsert(item: number, page: Uint8Array, key: number): number {
    const t = this.tree;
    const core = this.core;
    for (let other = t.unstableByKey.get(key) ?? -1; other !== -1; other = t.itemNext[other]!) {
      const slot = this.mergeableSlot(t.itemPid[other]!, t.itemVpn[other]!);
      if (slot === -1) continue;
      const frame = pteFrame(core.pt.pte[slot]!);
      if (frame === this.curFrame) return -1;
      core.cost.charge(CostOp.compare, core.pageSize);
      if (!equalPages(page, core.contents.bytes(frame, this.other))) continue;
      this.curTreeSlot = slot;
      this.curTreeFrame = frame;
      return other;
    }
    t.insertUnstable(item, key, this.seqnr);
    return -1;
  }

  /** get_mergeable_page: the slot of (pid, vpn) if it maps an unpinned anonymous page in a VM_MERGEABLE VMA, else -1. */
  private mergeableSlot(pid: number, vpn: number): number {
    const proc = this.core.procs.get(pid);
    if (proc === undefined || !this.vmaMergeable(pid, vpn)) return -1;
    const slot = this.core.pt.lookup(proc.dir, vpn);
    if (slot === -1) return -1;
    const pte = this.core.pt.pte[slot]!;
    if (pte <= 0 || !mergeable(this.core, pteFrame(pte))) return -1;
    return slot;
  }

  private vmaMergeable(pid: number, vpn: number): boolean {
    const proc: Process | undefined = this.core.procs.get(pid);
    if (proc === undefined) return false;
    const i = firstEndingAfter(proc.vmas, vpn * this.core.pageSize);
    const vma = proc.vmas[i];
    return vma !== undefined && vma.start <= vpn * this.core.pageSize && vma.mergeable && vma.anonVmaId !== 0;
  }
}
