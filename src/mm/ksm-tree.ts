/**
 * KSM's bookkeeping (mm/ksm.c): rmap_items, the stable tree and the
 * unstable tree, and the counters defined on them (LINUX.md §3.3), in
 * typed arrays. No object per page.
 *
 * - An rmap_item stands for one scanned address of one mm: (pid, vpn),
 *   its oldchecksum, its state (in the stable tree, in the unstable tree,
 *   or neither: "volatile"), smart scan's age and remaining skips. Each
 *   mm keeps a Map from vpn to its items.
 * - A stable node is one KSM page (a write-protected frame with FRAME_KSM)
 *   and the hlist of rmap_items merged with it. When the KSM page is freed
 *   the node stays, stale (nodeFrame −1), its items still counted, until
 *   something looks it up (ksm_get_folio finds it stale and calls
 *   remove_node_from_stable_tree): an item of it leaving the tree, or a
 *   stable-tree search meeting it. Linux orders stable nodes
 *   in a red-black tree by memcmp; here they are chained per content hash
 *   (XXH32) and every hit is compared byte for byte. Several nodes with
 *   the same bytes exist when max_page_sharing was reached (Linux's chain
 *   of dups).
 * - The unstable tree: rmap_items whose page did not change since the last
 *   visit, chained per checksum. It is emptied at the start of every full
 *   scan: items inserted in an earlier pass keep their UNSTABLE flag (and
 *   count in pages_unshared) until they are visited again, as in Linux
 *   where the flag and the tree's seqnr tell them apart.
 *
 * Counters, exactly as mm/ksm.c keeps them:
 * - pages_shared: stable_tree_append of a node's first item (+1), removal
 *   of a node's last item (-1);
 * - pages_sharing: every further item (+1 / -1);
 * - pages_unshared: items flagged UNSTABLE;
 * - rmap_items: items allocated; pages_volatile is derived from these.
 * Per mm: rmap_items, merging_pages (its items in the stable tree),
 * zero_pages (its KSM zero-page PTEs).
 */
import { InternalError } from '../errors.js';

export const ITEM_STABLE = 1;
export const ITEM_UNSTABLE = 2;

/** One mm registered with KSM (struct ksm_mm_slot plus mm->ksm_* counters). */
export interface KsmMm {
  readonly pid: number;
  /** vpn → rmap_item. */
  readonly items: Map<number, number>;
  rmapItems: number;
  mergingPages: number;
  zeroPages: number;
  /** MMF_VM_MERGE_ANY (prctl PR_SET_MEMORY_MERGE). */
  mergeAny: boolean;
  /** On the scan list (MMF_VM_MERGEABLE). */
  registered: boolean;
}

function grow32(a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

function grow8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

export class KsmTree {
  // ---- rmap_items ----
  itemPid = new Int32Array(256);
  itemVpn = new Float64Array(256);
  itemChecksum = new Int32Array(256);
  itemFlags = new Uint8Array(256);
  /** Stable node of a STABLE item; unstable key (checksum) of an UNSTABLE one. */
  itemNode = new Int32Array(256).fill(-1);
  itemNext = new Int32Array(256).fill(-1);
  itemPrev = new Int32Array(256).fill(-1);
  /** Pass (seqnr) an UNSTABLE item was inserted in. */
  itemSeq = new Int32Array(256);
  /** Pass the item was last visited in. */
  itemSeen = new Int32Array(256).fill(-1);
  itemAge = new Uint8Array(256);
  itemSkips = new Uint8Array(256);
  private itemFree: number[] = [];
  private itemHigh = 0;

  // ---- stable nodes ----
  nodeFrame = new Int32Array(64).fill(-1);
  nodeKey = new Int32Array(64);
  nodeHead = new Int32Array(64).fill(-1);
  nodeLen = new Int32Array(64);
  nodeNext = new Int32Array(64).fill(-1);
  nodePrev = new Int32Array(64).fill(-1);
  private nodeFree: number[] = [];
  private nodeHigh = 0;
  /** Stable nodes by content hash: the first node of each chain. */
  readonly stableByKey = new Map<number, number>();
  /** Stable node of each KSM frame (valid where the frame has FRAME_KSM). */
  nodeOfFrame = new Int32Array(0);

  // ---- unstable tree ----
  readonly unstableByKey = new Map<number, number>();

  // ---- counters ----
  pagesShared = 0;
  pagesSharing = 0;
  pagesUnshared = 0;
  rmapItems = 0;
  stableNodes = 0;

  /** A new rmap_item for (mm, vpn), zeroed as kmem_cache_zalloc gives it. */
  allocItem(mm: KsmMm, vpn: number): number {
    let item = this.itemFree.pop();
    if (item === undefined) {
      item = this.itemHigh++;
      if (item >= this.itemPid.length) this.growItems();
    }
    this.itemPid[item] = mm.pid;
    this.itemVpn[item] = vpn;
    this.itemChecksum[item] = 0;
    this.itemFlags[item] = 0;
    this.itemNode[item] = -1;
    this.itemNext[item] = -1;
    this.itemPrev[item] = -1;
    this.itemSeq[item] = 0;
    this.itemSeen[item] = -1;
    this.itemAge[item] = 0;
    this.itemSkips[item] = 0;
    mm.items.set(vpn, item);
    mm.rmapItems++;
    this.rmapItems++;
    return item;
  }

  /** Frees an item that is in no tree. */
  freeItem(mm: KsmMm, item: number): void {
    if (this.itemFlags[item] !== 0) throw new InternalError(`KSM rmap_item ${item} freed while in a tree`);
    mm.items.delete(this.itemVpn[item]!);
    mm.rmapItems--;
    this.rmapItems--;
    this.itemPid[item] = -1;
    this.itemFree.push(item);
  }

  // ---- stable tree ----

  /** stable_tree_insert: a new stable node for KSM frame `frame` whose bytes hash to `key`. */
  insertNode(frame: number, key: number): number {
    let node = this.nodeFree.pop();
    if (node === undefined) {
      node = this.nodeHigh++;
      if (node >= this.nodeFrame.length) this.growNodes();
    }
    this.nodeFrame[node] = frame;
    this.nodeKey[node] = key;
    this.nodeHead[node] = -1;
    this.nodeLen[node] = 0;
    const first = this.stableByKey.get(key) ?? -1;
    this.nodePrev[node] = -1;
    this.nodeNext[node] = first;
    if (first !== -1) this.nodePrev[first] = node;
    this.stableByKey.set(key, node);
    if (frame >= this.nodeOfFrame.length)
      this.nodeOfFrame = grow32(this.nodeOfFrame, Math.max(frame + 1, this.nodeOfFrame.length * 2, 1024), -1);
    this.nodeOfFrame[frame] = node;
    this.stableNodes++;
    return node;
  }

  /** remove_node_from_stable_tree: every item leaves it, then the node is freed. */
  removeNode(node: number, mmOf: (pid: number) => KsmMm): void {
    while (this.nodeHead[node] !== -1)
      this.removeStable(this.nodeHead[node]!, mmOf(this.itemPid[this.nodeHead[node]!]!));
    const p = this.nodePrev[node]!;
    const n = this.nodeNext[node]!;
    const key = this.nodeKey[node]!;
    if (p !== -1) this.nodeNext[p] = n;
    else if (n !== -1) this.stableByKey.set(key, n);
    else this.stableByKey.delete(key);
    if (n !== -1) this.nodePrev[n] = p;
    const frame = this.nodeFrame[node]!;
    if (frame >= 0 && this.nodeOfFrame[frame] === node) this.nodeOfFrame[frame] = -1;
    this.nodeFrame[node] = -1;
    this.nodeFree.push(node);
    this.stableNodes--;
  }

  /** stable_tree_append. */
  appendStable(item: number, node: number, mm: KsmMm): void {
    const first = this.nodeHead[node]!;
    this.itemPrev[item] = -1;
    this.itemNext[item] = first;
    if (first !== -1) this.itemPrev[first] = item;
    this.nodeHead[node] = item;
    this.itemNode[item] = node;
    this.itemFlags[item] = ITEM_STABLE;
    if (this.nodeLen[node]! > 0) this.pagesSharing++;
    else this.pagesShared++;
    this.nodeLen[node]!++;
    mm.mergingPages++;
  }

  // ---- both trees ----

  /** Finds the KSM state of an item's pid (set by Ksm), for pruning stale nodes. */
  mmOf: (pid: number) => KsmMm = () => {
    throw new InternalError('KsmTree.mmOf not set');
  };

  /** The KSM page of `node` was freed: the node stays, stale, until looked up. */
  markStale(node: number): void {
    const frame = this.nodeFrame[node]!;
    if (frame >= 0 && this.nodeOfFrame[frame] === node) this.nodeOfFrame[frame] = -1;
    this.nodeFrame[node] = -1;
  }

  /** remove_all_stable_nodes (run = 2). */
  removeAllNodes(mmOf: (pid: number) => KsmMm): void {
    for (const head of [...this.stableByKey.values()]) {
      for (let node = head; node !== -1; ) {
        const next = this.nodeNext[node]!;
        this.removeNode(node, mmOf);
        node = next;
      }
    }
  }

  /** remove_rmap_item_from_tree: takes `item` out of whichever tree holds it. */
  removeFromTree(item: number, mm: KsmMm, seqnr: number): void {
    const flags = this.itemFlags[item]!;
    if (flags === ITEM_STABLE && this.nodeFrame[this.itemNode[item]!] === -1)
      this.removeNode(this.itemNode[item]!, this.mmOf);
    else if (flags === ITEM_STABLE) this.removeStable(item, mm);
    else if (flags === ITEM_UNSTABLE) this.removeUnstable(item, seqnr);
  }

  /** Inserts `item` into this pass's unstable tree under `key`. */
  insertUnstable(item: number, key: number, seqnr: number): void {
    const first = this.unstableByKey.get(key) ?? -1;
    this.itemPrev[item] = -1;
    this.itemNext[item] = first;
    if (first !== -1) this.itemPrev[first] = item;
    this.unstableByKey.set(key, item);
    this.itemNode[item] = key;
    this.itemSeq[item] = seqnr;
    this.itemFlags[item] = ITEM_UNSTABLE;
    this.pagesUnshared++;
  }

  /** Empties the unstable tree (the start of a full scan). */
  resetUnstable(): void {
    this.unstableByKey.clear();
  }

  private removeStable(item: number, mm: KsmMm): void {
    const node = this.itemNode[item]!;
    const p = this.itemPrev[item]!;
    const n = this.itemNext[item]!;
    if (p !== -1) this.itemNext[p] = n;
    else this.nodeHead[node] = n;
    if (n !== -1) this.itemPrev[n] = p;
    this.nodeLen[node]!--;
    if (this.nodeLen[node]! > 0) this.pagesSharing--;
    else this.pagesShared--;
    mm.mergingPages--;
    this.clearItemLinks(item);
  }

  private removeUnstable(item: number, seqnr: number): void {
    if (this.itemSeq[item] === seqnr) {
      const key = this.itemNode[item]!;
      const p = this.itemPrev[item]!;
      const n = this.itemNext[item]!;
      if (p !== -1) this.itemNext[p] = n;
      else if (n !== -1) this.unstableByKey.set(key, n);
      else this.unstableByKey.delete(key);
      if (n !== -1) this.itemPrev[n] = p;
    }
    this.pagesUnshared--;
    this.clearItemLinks(item);
  }

  private clearItemLinks(item: number): void {
    this.itemFlags[item] = 0;
    this.itemNode[item] = -1;
    this.itemNext[item] = -1;
    this.itemPrev[item] = -1;
  }

  private growItems(): void {
    const n = this.itemPid.length * 2;
    this.itemPid = grow32(this.itemPid, n);
    const vpn = new Float64Array(n);
    vpn.set(this.itemVpn);
    this.itemVpn = vpn;
    this.itemChecksum = grow32(this.itemChecksum, n);
    this.itemFlags = grow8(this.itemFlags, n);
    this.itemNode = grow32(this.itemNode, n, -1);
    this.itemNext = grow32(this.itemNext, n, -1);
    this.itemPrev = grow32(this.itemPrev, n, -1);
    this.itemSeq = grow32(this.itemSeq, n);
    this.itemSeen = grow32(this.itemSeen, n, -1);
    this.itemAge = grow8(this.itemAge, n);
    this.itemSkips = grow8(this.itemSkips, n);
  }

  private growNodes(): void {
    const n = this.nodeFrame.length * 2;
    this.nodeFrame = grow32(this.nodeFrame, n, -1);
    this.nodeKey = grow32(this.nodeKey, n);
    this.nodeHead = grow32(this.nodeHead, n, -1);
    this.nodeLen = grow32(this.nodeLen, n);
    this.nodeNext = grow32(this.nodeNext, n, -1);
    this.nodePrev = grow32(this.nodePrev, n, -1);
  }
}
