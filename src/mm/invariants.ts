/**
 * A full consistency check of the model, recomputed from scratch (slow:
 * it walks every page table and every frame). Tests run it after every
 * step. It proves:
 *
 * - mapcounts equal the PTEs that map each frame; each frame's rmap list
 *   holds exactly those PTE slots;
 * - refcount = mapcount + 1 if in a page cache + 1 if in the swap cache,
 *   and is positive for every frame in use: no frame is leaked (in use but
 *   unreachable) and none is freed while mapped;
 * - COW safety: a writable PTE of a private mapping maps an anonymous
 *   frame that no other PTE maps; no PTE outside a VMA; no write bit in a
 *   read-only VMA;
 * - page-table pages, page-cache indexes, LRU lists, the page slab and the
 *   per-kind counters agree with the frames.
 */
import { InternalError } from '../errors.js';
import { PROT_WRITE } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import { FRAME_ANON, FRAME_FILE, FRAME_SHMEM, FRAME_SWAPCACHE, FRAME_USED, ZERO_FRAME } from './frames.js';
import { NR_LRU_LISTS } from './lru.js';
import { PTRS_PER_PTE } from './page-table.js';
import type { Process } from './process.js';
import { PTE_WRITE, pteFrame } from './pte.js';
import { findVmaIndex } from './vma.js';

export function checkInvariants(core: MmCore, procs: readonly Process[]): void {
  const problems: string[] = [];
  const fail = (msg: string): void => {
    if (problems.length < 20) problems.push(msg);
  };
  const f = core.frames;
  const pt = core.pt;
  const ps = core.pageSize;
  const mapped = new Int32Array(f.highWater);
  const spaceRefs = new Map<number, number>();
  let ptPages = 0;

  for (const proc of procs) {
    let prevEnd = 0;
    for (const vma of proc.vmas) {
      if (vma.start < prevEnd || vma.end <= vma.start || vma.start % ps !== 0 || vma.end % ps !== 0) {
        fail(`pid ${proc.pid}: bad VMA order or alignment at 0x${vma.start.toString(16)}`);
      }
      prevEnd = vma.end;
      if (vma.space !== null) spaceRefs.set(vma.space.id, (spaceRefs.get(vma.space.id) ?? 0) + 1);
    }
    for (const [d, page] of proc.dir) {
      ptPages++;
      if (pt.ownerPid[page] !== proc.pid || pt.baseVpn[page] !== d * PTRS_PER_PTE)
        fail(`PT page ${page}: wrong owner or base`);
      const used = scanPtPage(core, proc, d, page, mapped, fail);
      if (used !== pt.usedEntries[page]) fail(`PT page ${page}: usedEntries ${pt.usedEntries[page]} but ${used} PTEs`);
    }
  }
  if (ptPages !== pt.pagesInUse) fail(`pagesInUse ${pt.pagesInUse} but ${ptPages} PT pages in directories`);
  if (f.mapcount[ZERO_FRAME] !== mapped[ZERO_FRAME])
    fail(`zero page mapcount ${f.mapcount[ZERO_FRAME]} but ${mapped[ZERO_FRAME]} PTEs`);

  let used = 0;
  let anon = 0;
  let file = 0;
  let shmem = 0;
  let slabbed = 0;
  const slots = new Set<number>();
  for (let frame = 1; frame < f.highWater; frame++) {
    const flags = f.flags[frame]!;
    if ((flags & FRAME_USED) === 0) {
      if (
        flags !== 0 ||
        f.mapcount[frame] !== 0 ||
        f.refcount[frame] !== 0 ||
        f.lruList[frame] !== -1 ||
        f.dataSlot[frame] !== -1
      ) {
        fail(`free frame ${frame} has state`);
      }
      continue;
    }
    used++;
    const kinds = (flags & FRAME_ANON ? 1 : 0) + (flags & FRAME_FILE ? 1 : 0) + (flags & FRAME_SHMEM ? 1 : 0);
    if (kinds !== 1) fail(`frame ${frame}: ${kinds} kinds`);
    if (flags & FRAME_ANON) anon++;
    if (flags & FRAME_FILE) file++;
    if (flags & FRAME_SHMEM) shmem++;
    if (f.mapcount[frame] !== mapped[frame])
      fail(`frame ${frame}: mapcount ${f.mapcount[frame]} but ${mapped[frame]} PTEs`);
    let rmapLen = 0;
    for (let s = f.rmapHead[frame]!; s !== -1 && rmapLen <= mapped[frame]!; s = pt.rmapNext[s]!) {
      rmapLen++;
      if (pt.pte[s]! <= 0 || pteFrame(pt.pte[s]!) !== frame) fail(`frame ${frame}: rmap slot ${s} does not map it`);
    }
    if (rmapLen !== mapped[frame]) fail(`frame ${frame}: rmap has ${rmapLen} entries, ${mapped[frame]} PTEs`);
    const mappingId = f.mappingId[frame]!;
    const inCache = mappingId >= 0 ? 1 : 0;
    if (inCache) {
      const space = core.spaces[mappingId];
      if (space === undefined || space.pages.get(f.mappingIndex[frame]!) !== frame)
        fail(`frame ${frame}: page-cache index disagrees`);
    } else if (flags & (FRAME_FILE | FRAME_SHMEM)) {
      fail(`frame ${frame}: file or shmem page outside any page cache`);
    }
    const swapCache = flags & FRAME_SWAPCACHE ? 1 : 0;
    const expected = f.mapcount[frame]! + inCache + swapCache;
    if (f.refcount[frame] !== expected) fail(`frame ${frame}: refcount ${f.refcount[frame]}, expected ${expected}`);
    if (f.refcount[frame]! <= 0) fail(`frame ${frame}: in use with refcount 0 (leaked)`);
    if (f.lruList[frame] === -1) fail(`frame ${frame}: not on an LRU list`);
    const slot = f.dataSlot[frame]!;
    if (slot >= 0) {
      slabbed++;
      if (slots.has(slot)) fail(`slab slot ${slot} used twice`);
      slots.add(slot);
    }
  }
  if (used !== f.used) fail(`frames.used ${f.used} but ${used} frames in use`);
  if (anon !== core.nrAnon || file !== core.nrFile || shmem !== core.nrShmem) fail('per-kind frame counters disagree');
  if (slabbed !== core.slab.used) fail(`slab.used ${core.slab.used} but ${slabbed} frames hold bytes`);

  let onLists = 0;
  for (let list = 0; list < NR_LRU_LISTS; list++) {
    let n = 0;
    let prev = -1;
    for (let fr = core.lru.head[list]!; fr !== -1 && n <= used; fr = f.lruNext[fr]!) {
      if (f.lruList[fr] !== list || f.lruPrev[fr] !== prev) fail(`LRU list ${list}: bad links at frame ${fr}`);
      prev = fr;
      n++;
    }
    if (prev !== core.lru.tail[list] || n !== core.lru.count[list]) fail(`LRU list ${list}: count or tail wrong`);
    onLists += n;
  }
  if (onLists !== used) fail(`${onLists} frames on LRU lists, ${used} in use`);

  for (const space of core.spaces) {
    if (space === undefined) continue;
    if (space.kind !== 'content' && (spaceRefs.get(space.id) ?? 0) !== space.vmaRefs) {
      fail(`address space ${space.id}: vmaRefs ${space.vmaRefs} but ${spaceRefs.get(space.id) ?? 0} VMAs`);
    }
    for (const [index, frame] of space.pages) {
      if (f.mappingId[frame] !== space.id || f.mappingIndex[frame] !== index)
        fail(`address space ${space.id}: page ${index} → frame ${frame} disagrees`);
    }
  }

  if (problems.length > 0) {
    throw new InternalError(`memory model invariants broken: ${problems.join('; ')}`, { problems });
  }
}

/** Counts the PTEs of one PT page into `mapped` and checks each against its VMA. Returns the non-none entries. */
function scanPtPage(
  core: MmCore,
  proc: Process,
  d: number,
  page: number,
  mapped: Int32Array,
  fail: (msg: string) => void,
): number {
  const f = core.frames;
  const pte = core.pt.pte;
  const ps = core.pageSize;
  const base = page * PTRS_PER_PTE;
  let used = 0;
  let vi = -1;
  for (let i = 0; i < PTRS_PER_PTE; i++) {
    const e = pte[base + i]!;
    if (e === 0) continue;
    used++;
    const vpn = d * PTRS_PER_PTE + i;
    const addr = vpn * ps;
    let vma = vi >= 0 ? proc.vmas[vi] : undefined;
    if (vma === undefined || addr < vma.start || addr >= vma.end) {
      vi = findVmaIndex(proc.vmas, addr);
      vma = proc.vmas[vi];
    }
    if (vma === undefined) {
      fail(`pid ${proc.pid}: PTE outside any VMA at vpn 0x${vpn.toString(16)}`);
      continue;
    }
    if (e < 0) continue;
    const frame = pteFrame(e);
    if (frame >= f.highWater || (f.flags[frame]! & FRAME_USED) === 0) {
      fail(`pid ${proc.pid}: PTE at vpn 0x${vpn.toString(16)} maps free frame ${frame}`);
      continue;
    }
    mapped[frame]!++;
    if ((e & PTE_WRITE) !== 0) {
      if ((vma.prot & PROT_WRITE) === 0)
        fail(`pid ${proc.pid}: writable PTE in read-only VMA at vpn 0x${vpn.toString(16)}`);
      if (!vma.shared && (frame === ZERO_FRAME || (f.flags[frame]! & FRAME_ANON) === 0 || f.mapcount[frame] !== 1)) {
        fail(
          `pid ${proc.pid}: writable PTE at vpn 0x${vpn.toString(16)} maps a non-exclusive frame ${frame} (COW broken)`,
        );
      }
    }
  }
  return used;
}
