/**
 * The new process's VMA list while execve builds it: just enough of
 * mm/mmap.c and mm/vma.c to place mappings where the kernel places them.
 *
 * - mapFixed(): MAP_FIXED semantics, replacing whatever overlaps (do_mmap
 *   unmaps first), then merging with neighbours the way vma_merge does
 *   (same protection, same file at a contiguous offset, or both plain
 *   anonymous).
 * - getUnmappedArea(): arch_get_unmapped_area_topdown (arch/x86/kernel/
 *   sys_x86_64.c) over unmapped_area_topdown (mm/vma.c): a free hint is
 *   taken as is, otherwise the highest gap below mmap_base that fits, with
 *   stack_guard_gap kept below the stack; for files on filesystems whose
 *   get_unmapped_area is thp_get_unmapped_area, the 2 MiB alignment of
 *   __thp_get_unmapped_area (mm/huge_memory.c).
 * - Kernel writes (padzero, the argument pages) are recorded in order; a
 *   later unmap of the range drops them, as it drops the dirty page.
 *
 * Addresses are bigint (see x86-64.ts). A handful of VMAs per process: plain
 * arrays, no cleverness.
 */
import { InternalError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, PMD_SIZE, STACK_GUARD_GAP, TASK_SIZE, u64 } from './x86-64.js';

export interface Area {
  start: bigint;
  end: bigint;
  /** PROT_READ | PROT_WRITE | PROT_EXEC. */
  prot: number;
  file?: { backing: FileBacking; offset: bigint };
  /** '[stack]', '[vdso]', ...; undefined for plain anonymous memory and files. */
  name?: string;
  /** VM_GROWSDOWN: the stack. */
  growsDown?: boolean;
  /** A kernel special mapping (vDSO pages), not user memory. */
  special?: boolean;
  /** The VMA has an anon_vma (a private page was written): vma_merge refuses to join two such VMAs. */
  anonVma?: boolean;
}

export interface Write {
  addr: bigint;
  bytes: Uint8Array;
}

/** How a file mapping may be placed: thp_get_unmapped_area applies on ext4, xfs and others. */
export interface PlacementFile {
  thpAligned: boolean;
  /** File offset of the mapping (pgoff << PAGE_SHIFT). */
  offset: bigint;
}

export class AddressSpace {
  readonly areas: Area[] = [];
  readonly writes: Write[] = [];
  readonly mmapBase: bigint;

  constructor(mmapBase: bigint) {
    this.mmapBase = mmapBase;
  }

  /** True when [start, end) touches no VMA, counting the stack guard gap. */
  isFree(start: bigint, end: bigint): boolean {
    return this.areas.every((a) => end <= startGap(a) || start >= a.end);
  }

  /** MAP_FIXED: replace what is in [start, end) by `area`, then merge with neighbours. */
  mapFixed(area: Area): void {
    if (area.start >= area.end || area.start % PAGE_SIZE !== 0n || area.end % PAGE_SIZE !== 0n) {
      throw new InternalError(`mapping [0x${area.start.toString(16)}, 0x${area.end.toString(16)}) is empty or not page-aligned`);
    }
    this.unmap(area.start, area.end);
    let i = this.areas.findIndex((a) => a.start >= area.end);
    if (i < 0) i = this.areas.length;
    this.areas.splice(i, 0, { ...area });
    this.mergeAround(i);
  }

  /** munmap: remove [start, end), splitting VMAs that straddle it, and drop kernel writes inside it. */
  unmap(start: bigint, end: bigint): void {
    if (start >= end) return;
    const kept: Area[] = [];
    for (const a of this.areas) {
      if (a.end <= start || a.start >= end) {
        kept.push(a);
        continue;
      }
      if (a.start < start) kept.push(slice(a, a.start, start));
      if (a.end > end) kept.push(slice(a, end, a.end));
    }
    this.areas.splice(0, this.areas.length, ...kept);
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const w = this.writes[i]!;
      const wEnd = w.addr + BigInt(w.bytes.length);
      if (wEnd <= start || w.addr >= end) continue;
      const parts: Write[] = [];
      if (w.addr < start) parts.push({ addr: w.addr, bytes: w.bytes.subarray(0, Number(start - w.addr)) });
      if (wEnd > end) parts.push({ addr: end, bytes: w.bytes.subarray(Number(end - w.addr)) });
      this.writes.splice(i, 1, ...parts);
    }
  }

  /** A kernel write into mapped memory; a write into a private file mapping gives it an anon_vma. */
  write(addr: bigint, bytes: Uint8Array): void {
    const end = addr + BigInt(bytes.length);
    for (const a of this.areas) {
      if (a.end > addr && a.start < end) a.anonVma = true;
    }
    this.writes.push({ addr, bytes });
  }

  /** The VMA containing `addr`, if any. */
  find(addr: bigint): Area | undefined {
    return this.areas.find((a) => a.start <= addr && addr < a.end);
  }

  /**
   * get_unmapped_area for a mapping without MAP_FIXED: the hint when that
   * range is free, else the highest fitting gap below mmap_base. Returns
   * undefined when nothing fits (ENOMEM).
   */
  getUnmappedArea(hint: bigint, len: bigint, file?: PlacementFile): bigint | undefined {
    if (len > TASK_SIZE) return undefined;
    if (file?.thpAligned) {
      const aligned = this.thpUnmappedArea(hint, len, file.offset);
      if (aligned !== undefined) return aligned;
    }
    return this.topDown(hint, len);
  }

  /** __thp_get_unmapped_area with size = PMD_SIZE, for a top-down mm. */
  private thpUnmappedArea(hint: bigint, len: bigint, off: bigint): bigint | undefined {
    const offEnd = roundDown(off + len, PMD_SIZE);
    const offAlign = roundUp(off, PMD_SIZE);
    if (offEnd <= offAlign || offEnd - offAlign < PMD_SIZE) return undefined;
    const lenPad = len + PMD_SIZE;
    const ret = this.topDown(hint, lenPad);
    if (ret === undefined) return undefined;
    // "Do not try to align to THP boundary if allocation at the address hint succeeds."
    if (ret === hint) return hint;
    const offSub = u64(off - ret) & (PMD_SIZE - 1n);
    if (offSub === 0n) return ret + PMD_SIZE;
    return ret + offSub;
  }

  /** arch_get_unmapped_area_topdown: the hint if free, else unmapped_area_topdown below mmap_base. */
  private topDown(hint: bigint, len: bigint): bigint | undefined {
    if (hint !== 0n) {
      const addr = hint & ~(PAGE_SIZE - 1n);
      // mmap_address_hint_valid(), and the range must be free of VMAs and guard gaps.
      if (TASK_SIZE - len >= addr && addr >= MMAP_MIN_ADDR && this.isFree(addr, addr + len)) return addr;
    }
    const lowLimit = MMAP_MIN_ADDR > PAGE_SIZE ? MMAP_MIN_ADDR : PAGE_SIZE;
    let top = this.mmapBase;
    const descending = [...this.areas].sort((a, b) => (a.start > b.start ? -1 : a.start < b.start ? 1 : 0));
    for (const a of descending) {
      const aStart = startGap(a);
      if (aStart >= top) continue;
      if (a.end < top && top - a.end >= len && top - len >= lowLimit) return top - len;
      top = aStart;
    }
    if (top >= lowLimit + len) return top - len;
    return undefined;
  }

  private mergeAround(i: number): void {
    // Merge with the next VMA first, then with the previous one, as vma_merge_new_range does.
    const cur = this.areas[i]!;
    const next = this.areas[i + 1];
    if (next && canMerge(cur, next)) {
      cur.end = next.end;
      cur.anonVma = cur.anonVma || next.anonVma;
      this.areas.splice(i + 1, 1);
    }
    const prev = this.areas[i - 1];
    if (prev && canMerge(prev, cur)) {
      prev.end = cur.end;
      prev.anonVma = prev.anonVma || cur.anonVma;
      this.areas.splice(i, 1);
    }
  }
}

/** vm_start_gap(): a VM_GROWSDOWN VMA keeps stack_guard_gap free below it. */
function startGap(a: Area): bigint {
  if (!a.growsDown) return a.start;
  return a.start > STACK_GUARD_GAP ? a.start - STACK_GUARD_GAP : 0n;
}

/** The part [start, end) of `a`, with the file offset moved along. */
function slice(a: Area, start: bigint, end: bigint): Area {
  const out: Area = { ...a, start, end };
  if (a.file) out.file = { backing: a.file.backing, offset: a.file.offset + (start - a.start) };
  return out;
}

/** vma_merge's test, for the VMAs execve makes: adjacent, same flags, same file at a contiguous offset, compatible anon_vma. */
function canMerge(a: Area, b: Area): boolean {
  if (a.end !== b.start || a.prot !== b.prot) return false;
  if (a.name !== undefined || b.name !== undefined || a.special || b.special || a.growsDown || b.growsDown) return false;
  if (a.anonVma && b.anonVma) return false;
  if (!a.file && !b.file) return true;
  if (!a.file || !b.file) return false;
  return a.file.backing === b.file.backing && a.file.offset + (a.end - a.start) === b.file.offset;
}

const roundDown = (v: bigint, to: bigint): bigint => v - (v % to);
const roundUp = (v: bigint, to: bigint): bigint => roundDown(v + to - 1n, to);
