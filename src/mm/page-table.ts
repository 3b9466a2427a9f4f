/**
 * Page tables and the reverse map, in one pool of typed arrays.
 *
 * Like x86-64's last level, a page-table page holds PTRS_PER_PTE = 512
 * PTEs and covers 512 consecutive virtual pages. All processes' PT pages
 * live in one pool; a PTE is named by its global slot number
 * (ptPage * 512 + index). A process finds its PT pages through a
 * directory, Map<dir index, PT page>, with dir index = floor(vpn / 512)
 * (the PMD level; one entry per 2 MiB of touched address space, not per page).
 *
 * The reverse map (rmap) threads every present PTE of a normal frame into
 * a doubly linked list per frame (frames.rmapHead + rmapNext/rmapPrev here,
 * indexed by slot), so unmapping is O(1) and reclaim can find
 * and clear every PTE of a frame (try_to_unmap, folio_referenced). Zero-page
 * PTEs and swap PTEs are not linked. A slot maps back to its owner and
 * virtual page through ownerPid/baseVpn of its PT page.
 *
 * Virtual page numbers reach 2^35, so they are never used with 32-bit
 * bitwise operators; slots and dir indices stay below 2^31.
 *
 * Memory: 12 bytes per PTE slot (pte, rmapNext, rmapPrev) + 16 per PT page.
 */
import type { FrameTable } from './frames.js';

export const PTRS_PER_PTE = 512;

export type PageDirectory = Map<number, number>;

export class PageTablePool {
  pte: Int32Array;
  rmapNext: Int32Array;
  rmapPrev: Int32Array;
  /** Per PT page: owning pid, first virtual page number, non-none PTEs. */
  ownerPid: Int32Array;
  baseVpn: Float64Array;
  usedEntries: Int32Array;
  /** PT pages in use. */
  pagesInUse = 0;
  private nextFresh = 0;
  private freeStack = new Int32Array(64);
  private freeTop = 0;

  constructor(initialPages = 256) {
    this.pte = new Int32Array(initialPages * PTRS_PER_PTE);
    this.rmapNext = new Int32Array(initialPages * PTRS_PER_PTE);
    this.rmapPrev = new Int32Array(initialPages * PTRS_PER_PTE);
    this.ownerPid = new Int32Array(initialPages).fill(-1);
    this.baseVpn = new Float64Array(initialPages);
    this.usedEntries = new Int32Array(initialPages);
  }

  /** PT pages the pool has room for, used or free. */
  get capacityPages(): number {
    return this.ownerPid.length;
  }

  /** Highest PT page number handed out so far, plus one. */
  get highWater(): number {
    return this.nextFresh;
  }

  /** The PTE slot of `vpn`, or -1 if its PT page does not exist. */
  lookup(dir: PageDirectory, vpn: number): number {
    const d = Math.floor(vpn / PTRS_PER_PTE);
    const page = dir.get(d);
    return page === undefined ? -1 : page * PTRS_PER_PTE + (vpn - d * PTRS_PER_PTE);
  }

  /** The PT page covering dir index `d`, allocated (all pte_none) if missing. */
  ensurePage(dir: PageDirectory, pid: number, d: number): number {
    let page = dir.get(d);
    if (page === undefined) {
      page = this.allocPage(pid, d * PTRS_PER_PTE);
      dir.set(d, page);
    }
    return page;
  }

  /** The PTE slot of `vpn`, allocating its PT page if missing. */
  ensureSlot(dir: PageDirectory, pid: number, vpn: number): number {
    const d = Math.floor(vpn / PTRS_PER_PTE);
    return this.ensurePage(dir, pid, d) * PTRS_PER_PTE + (vpn - d * PTRS_PER_PTE);
  }

  /** Frees a PT page whose entries are all pte_none and removes it from `dir`. */
  freePage(dir: PageDirectory, d: number, page: number): void {
    dir.delete(d);
    this.ownerPid[page] = -1;
    this.usedEntries[page] = 0;
    if (this.freeTop === this.freeStack.length) {
      const bigger = new Int32Array(this.freeStack.length * 2);
      bigger.set(this.freeStack);
      this.freeStack = bigger;
    }
    this.freeStack[this.freeTop++] = page;
    this.pagesInUse--;
  }

  /** Owner pid of the PT page holding `slot`. */
  slotPid(slot: number): number {
    return this.ownerPid[(slot / PTRS_PER_PTE) | 0]!;
  }

  /** Virtual page number that `slot` translates. */
  slotVpn(slot: number): number {
    return this.baseVpn[(slot / PTRS_PER_PTE) | 0]! + (slot % PTRS_PER_PTE);
  }

  /** Links present PTE `slot` into `frame`'s reverse map. */
  rmapLink(frames: FrameTable, frame: number, slot: number): void {
    const first = frames.rmapHead[frame]!;
    this.rmapPrev[slot] = -1;
    this.rmapNext[slot] = first;
    if (first !== -1) this.rmapPrev[first] = slot;
    frames.rmapHead[frame] = slot;
  }

  /** Unlinks `slot` from `frame`'s reverse map. */
  rmapUnlink(frames: FrameTable, frame: number, slot: number): void {
    const prev = this.rmapPrev[slot]!;
    const next = this.rmapNext[slot]!;
    if (prev !== -1) this.rmapNext[prev] = next;
    else frames.rmapHead[frame] = next;
    if (next !== -1) this.rmapPrev[next] = prev;
    this.rmapNext[slot] = -1;
    this.rmapPrev[slot] = -1;
  }

  /** Bytes held by the pool's arrays. */
  get reservedBytes(): number {
    return this.pte.byteLength * 3 + this.ownerPid.length * 16 + this.freeStack.byteLength;
  }

  private allocPage(pid: number, baseVpn: number): number {
    let page: number;
    if (this.freeTop > 0) {
      page = this.freeStack[--this.freeTop]!;
    } else {
      page = this.nextFresh++;
      if (page >= this.ownerPid.length) this.grow();
    }
    const base = page * PTRS_PER_PTE;
    this.pte.fill(0, base, base + PTRS_PER_PTE);
    this.rmapNext.fill(-1, base, base + PTRS_PER_PTE);
    this.rmapPrev.fill(-1, base, base + PTRS_PER_PTE);
    this.ownerPid[page] = pid;
    this.baseVpn[page] = baseVpn;
    this.usedEntries[page] = 0;
    this.pagesInUse++;
    return page;
  }

  private grow(): void {
    const pages = this.ownerPid.length * 2;
    const grow32 = (a: Int32Array, n: number): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.pte = grow32(this.pte, pages * PTRS_PER_PTE);
    this.rmapNext = grow32(this.rmapNext, pages * PTRS_PER_PTE);
    this.rmapPrev = grow32(this.rmapPrev, pages * PTRS_PER_PTE);
    const owner = new Int32Array(pages).fill(-1);
    owner.set(this.ownerPid);
    this.ownerPid = owner;
    const base = new Float64Array(pages);
    base.set(this.baseVpn);
    this.baseVpn = base;
    this.usedEntries = grow32(this.usedEntries, pages);
  }
}
