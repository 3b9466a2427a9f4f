/**
 * The consistency check of the policies' state (swap, KSM, merge-on-restore), recomputed from scratch after
 * checkInvariants (invariants.ts) for tests:
 *
 * - swap: every slot's swap count in the layer equals the swap PTEs that
 *   name it, and the back end's swap_map count equals those plus one for a
 *   swap-cache frame; every FRAME_SWAPCACHE frame is the cache's frame for
 *   its slot; slots in use equal the slots something refers to (none
 *   leaked); the back end's RAM is what counts against the frame limit;
 * - KSM: every stable node maps a live FRAME_KSM frame that points back to
 *   it, and its hlist has exactly nodeLen items, all STABLE and on it;
 *   every FRAME_KSM frame has its node; pages_shared, pages_sharing,
 *   pages_unshared and rmap_items, globally and per mm, equal recounts;
 *   the unstable tree holds only this pass's UNSTABLE items; ksm_zero_pages
 *   equals the zero-page PTEs with the dirty bit, globally and per mm; no
 *   PTE of a KSM frame is writable;
 * - merge-on-restore: every indexed frame is a live anonymous frame.
 */
import { InternalError } from '../errors.js';
import type { MmCore } from './core.js';
import { FRAME_ANON, FRAME_KSM, FRAME_SWAPCACHE, FRAME_USED, ZERO_FRAME } from './frames.js';
import { ITEM_STABLE, ITEM_UNSTABLE } from './ksm-tree.js';
import type { Ksm } from './ksm.js';
import { PTRS_PER_PTE } from './page-table.js';
import type { Policies } from './policies.js';
import type { Process } from './process.js';
import { PTE_DIRTY, PTE_WRITE, pteFrame, pteSwapSlot } from './pte.js';

export function checkPolicyInvariants(core: MmCore, procs: readonly Process[], policies: Policies): void {
  const ksm = policies.ksm;
  if (
    policies.swap === null &&
    policies.restore === null &&
    ksm.mms.size === 0 &&
    ksm.tree.stableNodes === 0 &&
    ksm.ksmZeroPages === 0
  )
    return;
  const problems: string[] = [];
  const fail = (msg: string): void => {
    if (problems.length < 20) problems.push(msg);
  };
  const swapRefs = new Map<number, number>();
  const zeroByPid = new Map<number, number>();
  let ksmZero = 0;
  const pte = core.pt.pte;
  const f = core.frames;
  for (const proc of procs) {
    for (const page of proc.dir.values()) {
      const base = page * PTRS_PER_PTE;
      for (let i = 0; i < PTRS_PER_PTE; i++) {
        const e = pte[base + i]!;
        if (e === 0) continue;
        if (e < 0) {
          const slot = pteSwapSlot(e);
          swapRefs.set(slot, (swapRefs.get(slot) ?? 0) + 1);
          continue;
        }
        const frame = pteFrame(e);
        if (frame === ZERO_FRAME) {
          if ((e & PTE_DIRTY) !== 0) {
            ksmZero++;
            zeroByPid.set(proc.pid, (zeroByPid.get(proc.pid) ?? 0) + 1);
          }
        } else if ((f.flags[frame]! & FRAME_KSM) !== 0 && (e & PTE_WRITE) !== 0) {
          fail(`pid ${proc.pid}: writable PTE of KSM frame ${frame}`);
        }
      }
    }
  }
  checkSwap(core, policies, swapRefs, fail);
  checkKsm(core, policies.ksm, ksmZero, zeroByPid, fail);
  const restore = policies.restore;
  if (restore !== null) {
    for (let frame = 1; frame < f.highWater; frame++) {
      if (restore.has(frame) && (f.flags[frame]! & (FRAME_USED | FRAME_ANON)) !== (FRAME_USED | FRAME_ANON))
        fail(`restore index holds frame ${frame}, not a live anonymous frame`);
    }
  }
  if (problems.length > 0) throw new InternalError(`policy invariants broken: ${problems.join('; ')}`, { problems });
}

function checkSwap(core: MmCore, policies: Policies, swapRefs: Map<number, number>, fail: (msg: string) => void): void {
  const space = policies.swap;
  if (space === null) {
    if (swapRefs.size > 0) fail('swap PTEs exist without a swap device');
    return;
  }
  const f = core.frames;
  const backend = space.backend;
  let inUse = 0;
  let cached = 0;
  const range = Math.max(space.slotRange, ...swapRefs.keys()) + 1;
  for (let slot = 0; slot < range; slot++) {
    const refs = swapRefs.get(slot) ?? 0;
    const cache = space.swapCacheFrame(slot);
    if (space.count(slot) !== refs) fail(`swap slot ${slot}: count ${space.count(slot)}, ${refs} swap PTEs`);
    const expected = refs + (cache !== -1 ? 1 : 0);
    if (backend.swapCount(slot) !== expected)
      fail(`swap slot ${slot}: back end count ${backend.swapCount(slot)}, expected ${expected}`);
    if (expected > 0) inUse++;
    if (cache !== -1) {
      cached++;
      if ((f.flags[cache]! & FRAME_SWAPCACHE) === 0 || f.swapSlot[cache] !== slot)
        fail(`swap slot ${slot}: swap-cache frame ${cache} does not point back`);
      if (refs === 0) fail(`swap slot ${slot}: frame ${cache} stays in the swap cache with no swap PTE`);
    }
  }
  if (backend.slotsInUse() !== inUse) fail(`swap: ${backend.slotsInUse()} slots in use, ${inUse} referred to (leak)`);
  if (space.swapCachePages() !== cached) fail(`swap cache: ${space.swapCachePages()} pages counted, ${cached} found`);
  for (let frame = 1; frame < f.highWater; frame++) {
    if ((f.flags[frame]! & FRAME_SWAPCACHE) !== 0 && space.swapCacheFrame(f.swapSlot[frame]!) !== frame)
      fail(`frame ${frame}: in the swap cache but not its slot's frame`);
  }
  if (core.swapRamPages !== backend.ramPages())
    fail(`swap RAM ${core.swapRamPages} pages counted, back end holds ${backend.ramPages()}`);
}

function checkKsm(
  core: MmCore,
  ksm: Ksm,
  ksmZero: number,
  zeroByPid: Map<number, number>,
  fail: (msg: string) => void,
): void {
  const t = ksm.tree;
  const f = core.frames;
  let shared = 0;
  let sharing = 0;
  let nodes = 0;
  const seenNodes = new Set<number>();
  for (const head of t.stableByKey.values()) {
    for (let node = head; node !== -1; node = t.nodeNext[node]!) {
      nodes++;
      seenNodes.add(node);
      const frame = t.nodeFrame[node]!;
      // frame −1: a stale node (its KSM page was freed), pruned when looked up
      if (
        frame !== -1 &&
        ((f.flags[frame]! & (FRAME_USED | FRAME_KSM)) !== (FRAME_USED | FRAME_KSM) || t.nodeOfFrame[frame] !== node)
      ) {
        fail(`KSM stable node ${node}: frame ${frame} is not its live KSM page`);
      }
      let len = 0;
      for (let item = t.nodeHead[node]!; item !== -1 && len <= t.nodeLen[node]!; item = t.itemNext[item]!) {
        len++;
        if (t.itemFlags[item] !== ITEM_STABLE || t.itemNode[item] !== node)
          fail(`KSM stable node ${node}: item ${item} is not on it`);
      }
      if (len !== t.nodeLen[node]) fail(`KSM stable node ${node}: ${len} items listed, nodeLen ${t.nodeLen[node]}`);
      if (len > 0) {
        shared++;
        sharing += len - 1;
      }
    }
  }
  if (nodes !== t.stableNodes) fail(`KSM: ${t.stableNodes} stable nodes counted, ${nodes} in the tree`);
  for (let frame = 1; frame < f.highWater; frame++) {
    if ((f.flags[frame]! & FRAME_KSM) === 0) continue;
    const node = frame < t.nodeOfFrame.length ? t.nodeOfFrame[frame]! : -1;
    if (node === -1 || !seenNodes.has(node)) fail(`KSM frame ${frame} has no stable node`);
  }
  if (shared !== t.pagesShared || sharing !== t.pagesSharing) {
    fail(`KSM: pages_shared ${t.pagesShared} / pages_sharing ${t.pagesSharing}, recounted ${shared} / ${sharing}`);
  }
  let items = 0;
  let unshared = 0;
  for (const mm of ksm.mms.values()) {
    let merging = 0;
    for (const [vpn, item] of mm.items) {
      items++;
      if (t.itemPid[item] !== mm.pid || t.itemVpn[item] !== vpn)
        fail(`KSM item ${item}: does not belong to pid ${mm.pid} at vpn ${vpn}`);
      if (t.itemFlags[item] === ITEM_STABLE) merging++;
      if (t.itemFlags[item] === ITEM_UNSTABLE) unshared++;
    }
    if (mm.items.size !== mm.rmapItems)
      fail(`KSM pid ${mm.pid}: ksm_rmap_items ${mm.rmapItems}, ${mm.items.size} items`);
    if (merging !== mm.mergingPages)
      fail(`KSM pid ${mm.pid}: ksm_merging_pages ${mm.mergingPages}, recounted ${merging}`);
    if ((zeroByPid.get(mm.pid) ?? 0) !== mm.zeroPages)
      fail(`KSM pid ${mm.pid}: ksm_zero_pages ${mm.zeroPages}, ${zeroByPid.get(mm.pid) ?? 0} KSM zero PTEs`);
  }
  for (const [pid, n] of zeroByPid)
    if (!ksm.mms.has(pid) && n > 0) fail(`KSM pid ${pid}: ${n} KSM zero PTEs but no KSM state`);
  if (items !== t.rmapItems) fail(`KSM: rmap_items ${t.rmapItems}, ${items} found`);
  if (unshared !== t.pagesUnshared) fail(`KSM: pages_unshared ${t.pagesUnshared}, ${unshared} UNSTABLE items`);
  for (const [key, head] of t.unstableByKey) {
    let n = 0;
    for (let item = head; item !== -1 && n <= items; item = t.itemNext[item]!) {
      n++;
      if (t.itemFlags[item] !== ITEM_UNSTABLE || t.itemSeq[item] !== ksm.seqnr || t.itemNode[item] !== key)
        fail(`KSM unstable tree: item ${item} under ${key} is not this pass's`);
    }
  }
  if (ksmZero !== ksm.ksmZeroPages) fail(`KSM: ksm_zero_pages ${ksm.ksmZeroPages}, ${ksmZero} KSM zero PTEs`);
}
