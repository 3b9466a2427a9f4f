/**
 * FakeHeapHost: a HeapHost without a memory model, for tests and quick
 * experiments. It keeps the break, a list of anonymous mappings (placed
 * top-down below `mmapBase`, first fit from the top, as Linux's mmap does)
 * and the set of committed pages: a page is committed by the first write to
 * it (a store, a memset, a memcpy destination) and uncommitted by discard,
 * munmap or a shrinking break. Reads commit nothing (the zero page).
 *
 * Every access is checked against the mappings, so an allocator bug that
 * writes outside the heap or a mapping throws instead of passing silently.
 */
import { SimulationError } from '../errors.js';
import type { HeapHost } from './host.js';

export interface FakeHeapHostOptions {
  /** Default 4096. */
  pageSize?: number;
  /** mm->start_brk, page-aligned. Default 0x555555559000. */
  startBrk?: number;
  /** Mappings are placed below this address. Default 0x7ffff7fc0000. */
  mmapBase?: number;
  /** The break may not move above this (like RLIMIT_DATA). Default: only other mappings limit it. */
  brkLimit?: number;
}

interface Mapping {
  start: number;
  end: number;
}

export class FakeHeapHost implements HeapHost {
  readonly pageSize: number;
  readonly startBrk: number;
  private currentBrk: number;
  private readonly mmapBase: number;
  private readonly brkLimit: number;
  /** Anonymous mappings, sorted by start, never merged. */
  private readonly maps: Mapping[] = [];
  private readonly committed = new Set<number>();
  /** What the allocator did, for tests. */
  readonly counters = { wordsStored: 0, bytesZeroed: 0, bytesCopied: 0, pagesDiscarded: 0 };

  constructor(options: FakeHeapHostOptions = {}) {
    this.pageSize = options.pageSize ?? 4096;
    this.startBrk = options.startBrk ?? 0x555555559000;
    this.mmapBase = options.mmapBase ?? 0x7ffff7fc0000;
    this.brkLimit = options.brkLimit ?? Number.MAX_SAFE_INTEGER;
    if (this.startBrk % this.pageSize !== 0) throw new RangeError('startBrk must be page-aligned');
    this.currentBrk = this.startBrk;
  }

  /** A child process's memory after fork(2): the same break, mappings and (shared) committed pages. */
  fork(): FakeHeapHost {
    const child = new FakeHeapHost({
      pageSize: this.pageSize,
      startBrk: this.startBrk,
      mmapBase: this.mmapBase,
      brkLimit: this.brkLimit,
    });
    child.currentBrk = this.currentBrk;
    for (const m of this.maps) child.maps.push({ ...m });
    for (const page of this.committed) child.committed.add(page);
    return child;
  }

  get brk(): number {
    return this.currentBrk;
  }

  /** End of the [heap] VMA: the break rounded up to a page. */
  get heapEnd(): number {
    return this.pageUp(this.currentBrk);
  }

  setBrk(newBrk: number): boolean {
    if (!Number.isSafeInteger(newBrk) || newBrk < this.startBrk || newBrk > this.brkLimit) return false;
    const newEnd = this.pageUp(newBrk);
    // Linux's brk(2) keeps a page between the heap and the next mapping.
    if (newEnd + this.pageSize > this.mmapBase) return false;
    if (this.maps.some((m) => m.start < newEnd + this.pageSize && m.end > this.startBrk)) return false;
    if (newEnd < this.heapEnd) this.uncommit(newEnd, this.heapEnd - newEnd);
    this.currentBrk = newBrk;
    return true;
  }

  mmapAnon(length: number): number | null {
    this.checkPageRange(0, length, 'mmap');
    const start = this.findGap(length);
    if (start === null) return null;
    this.insertMapping({ start, end: start + length });
    return start;
  }

  /**
   * mmap(addr, length, ..., MAP_FIXED_NOREPLACE): a mapping at a chosen
   * place, e.g. just above the heap to make brk fail. False if it overlaps.
   */
  mapFixed(addr: number, length: number): boolean {
    this.checkPageRange(addr, length, 'mmap');
    const end = addr + length;
    if (addr < this.heapEnd && end > this.startBrk) return false;
    if (this.maps.some((m) => m.start < end && m.end > addr)) return false;
    this.insertMapping({ start: addr, end });
    return true;
  }

  munmap(addr: number, length: number): void {
    this.checkPageRange(addr, length, 'munmap');
    const end = addr + length;
    const kept: Mapping[] = [];
    for (const m of this.maps) {
      if (m.end <= addr || m.start >= end) kept.push(m);
      else {
        if (m.start < addr) kept.push({ start: m.start, end: addr });
        if (m.end > end) kept.push({ start: end, end: m.end });
      }
    }
    this.maps.splice(0, this.maps.length, ...kept);
    this.uncommit(addr, length);
  }

  mremap(addr: number, oldLength: number, newLength: number): number | null {
    this.checkPageRange(addr, oldLength, 'mremap');
    this.checkPageRange(0, newLength, 'mremap');
    const i = this.maps.findIndex((m) => m.start === addr && m.end === addr + oldLength);
    if (i < 0) throw new SimulationError('E_FAULT', `mremap: no mapping at 0x${addr.toString(16)}`);
    const m = this.maps[i]!;
    if (newLength <= oldLength) {
      this.uncommit(addr + newLength, oldLength - newLength);
      m.end = addr + newLength;
      return addr;
    }
    const next = this.maps[i + 1];
    const roomEnd = next ? next.start : this.mmapBase;
    if (addr + newLength <= roomEnd) {
      m.end = addr + newLength;
      return addr;
    }
    const to = this.findGap(newLength);
    if (to === null) return null;
    const moved: number[] = [];
    for (let page = addr / this.pageSize; page < (addr + oldLength) / this.pageSize; page++) {
      if (this.committed.delete(page)) moved.push(page - addr / this.pageSize);
    }
    for (const offset of moved) this.committed.add(to / this.pageSize + offset);
    this.maps.splice(i, 1);
    this.insertMapping({ start: to, end: to + newLength });
    return to;
  }

  storeWord(addr: number, _value: number): void {
    this.checkMapped(addr, 8, 'store');
    this.counters.wordsStored++;
    this.commit(addr, 8);
  }

  writeZero(addr: number, length: number): void {
    if (length === 0) return;
    this.checkMapped(addr, length, 'memset');
    this.counters.bytesZeroed += length;
    this.commit(addr, length);
  }

  copy(dst: number, src: number, length: number): void {
    if (length === 0) return;
    this.checkMapped(src, length, 'memcpy source');
    this.checkMapped(dst, length, 'memcpy destination');
    this.counters.bytesCopied += length;
    this.commit(dst, length);
  }

  discard(addr: number, length: number): void {
    this.checkPageRange(addr, length, 'madvise');
    this.checkMapped(addr, length, 'madvise');
    this.counters.pagesDiscarded += length / this.pageSize;
    this.uncommit(addr, length);
  }

  /** The program's own writes into its memory (what a benchmark touches). */
  touch(addr: number, length: number): void {
    this.checkMapped(addr, length, 'write');
    this.commit(addr, length);
  }

  /** Pages with a frame of their own. */
  committedPages(): number {
    return this.committed.size;
  }

  /** Committed pages in [addr, addr + length). */
  committedIn(addr: number, length: number): number {
    let n = 0;
    for (let page = Math.floor(addr / this.pageSize); page * this.pageSize < addr + length; page++) {
      if (this.committed.has(page)) n++;
    }
    return n;
  }

  isCommitted(addr: number): boolean {
    return this.committed.has(Math.floor(addr / this.pageSize));
  }

  /** The mappings, heap first: [start, end) pairs. */
  mappings(): Array<{ start: number; end: number; kind: 'heap' | 'anon' }> {
    const heap = { start: this.startBrk, end: this.heapEnd, kind: 'heap' as const };
    return [heap, ...this.maps.map((m) => ({ ...m, kind: 'anon' as const }))];
  }

  private pageUp(addr: number): number {
    return Math.ceil(addr / this.pageSize) * this.pageSize;
  }

  private commit(addr: number, length: number): void {
    const last = Math.floor((addr + length - 1) / this.pageSize);
    for (let page = Math.floor(addr / this.pageSize); page <= last; page++) this.committed.add(page);
  }

  private uncommit(addr: number, length: number): void {
    const end = (addr + length) / this.pageSize;
    for (let page = addr / this.pageSize; page < end; page++) this.committed.delete(page);
  }

  /** Highest gap of `length` bytes below mmapBase and above the heap (and brkLimit). */
  private findGap(length: number): number | null {
    const areaFloor = Math.max(
      this.heapEnd,
      this.brkLimit === Number.MAX_SAFE_INTEGER ? 0 : this.pageUp(this.brkLimit),
    );
    let ceiling = this.mmapBase;
    for (let i = this.maps.length - 1; i >= 0; i--) {
      const m = this.maps[i]!;
      if (ceiling - length >= Math.max(m.end, areaFloor)) return ceiling - length;
      ceiling = Math.min(ceiling, m.start);
    }
    return ceiling - length >= areaFloor ? ceiling - length : null;
  }

  private insertMapping(m: Mapping): void {
    let i = 0;
    while (i < this.maps.length && this.maps[i]!.start < m.start) i++;
    this.maps.splice(i, 0, m);
  }

  private checkPageRange(addr: number, length: number, what: string): void {
    if (
      !Number.isSafeInteger(addr) ||
      !Number.isSafeInteger(length) ||
      length <= 0 ||
      addr % this.pageSize !== 0 ||
      length % this.pageSize !== 0
    ) {
      throw new SimulationError('E_FAULT', `${what}: 0x${addr.toString(16)}+${length} is not whole pages`);
    }
  }

  private checkMapped(addr: number, length: number, what: string): void {
    const end = addr + length;
    const inHeap = addr >= this.startBrk && end <= this.heapEnd;
    if (inHeap || this.maps.some((m) => addr >= m.start && end <= m.end)) return;
    throw new SimulationError('E_FAULT', `${what} outside any mapping: 0x${addr.toString(16)}+${length}`);
  }
}
