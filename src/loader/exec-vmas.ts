/**
 * The new process's VMA list while execve builds it (ExecVmas): just enough
 * of mm/mmap.c and mm/vma.c to place mappings where the kernel places them.
 * The merge rule and the placement search are the memory model's
 * (src/mm/vma-rules.ts), so execve and mmap agree.
 *
 * - mapFixed(): MAP_FIXED semantics, replacing whatever overlaps (do_mmap
 *   unmaps first), then merging with neighbours (canMergeVmas).
 * - getUnmappedArea(): a mapping without MAP_FIXED (vma-rules.ts).
 * - Kernel writes (padzero, the argument pages) are recorded in order; a
 *   later unmap of the range drops them, as it drops the dirty page.
 *
 * Addresses are bigint (see x86-64.ts). A handful of VMAs per process: plain
 * arrays, no cleverness.
 */
import { PROT_WRITE } from '../abi/exec-plan.js';
import { InternalError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';
import { canMergeVmas, getUnmappedArea, type MergeView } from '../mm/vma-rules.js';
import { MMAP_MIN_ADDR, PAGE_SIZE, PMD_SIZE, STACK_GUARD_GAP, TASK_SIZE } from './x86-64.js';

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
  /** The VMA's anon_vma (a private page was written), 0 or absent when none: two different ones never merge. */
  anonVma?: number;
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

export class ExecVmas {
  readonly areas: Area[] = [];
  readonly writes: Write[] = [];
  readonly mmapBase: bigint;
  private nextAnonVma = 1;

  constructor(mmapBase: bigint) {
    this.mmapBase = mmapBase;
  }

  /**
   * MAP_FIXED: replace what is in [start, end) by `area`, then merge with
   * neighbours. With `brkOnly` (do_brk_flags) the new range may only extend
   * the VMA ending at `start` (just_expand); it never merges with the next one.
   */
  mapFixed(area: Area, brkOnly = false): void {
    if (area.start >= area.end || area.start % PAGE_SIZE !== 0n || area.end % PAGE_SIZE !== 0n) {
      throw new InternalError(
        `mapping [0x${area.start.toString(16)}, 0x${area.end.toString(16)}) is empty or not page-aligned`,
      );
    }
    this.unmap(area.start, area.end);
    let i = this.areas.findIndex((a) => a.start >= area.end);
    if (i < 0) i = this.areas.length;
    this.areas.splice(i, 0, { ...area });
    this.mergeAround(i, brkOnly);
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
      if (a.end > addr && a.start < end && !a.anonVma) a.anonVma = this.nextAnonVma++;
    }
    this.writes.push({ addr, bytes });
  }

  /** The VMA containing `addr`, if any. */
  find(addr: bigint): Area | undefined {
    return this.areas.find((a) => a.start <= addr && addr < a.end);
  }

  /**
   * get_unmapped_area for a mapping without MAP_FIXED: the hint when that
   * range is free, else the highest fitting gap below mmap_base (vma-rules.ts).
   * Returns undefined when nothing fits (ENOMEM).
   */
  getUnmappedArea(hint: bigint, len: bigint, file?: PlacementFile): bigint | undefined {
    if (len > TASK_SIZE) return undefined;
    const ranges = this.areas
      .map((a) => ({ start: Number(a.start), end: Number(a.end), growsDown: a.growsDown ?? false }))
      .sort((x, y) => x.start - y.start);
    const found = getUnmappedArea(ranges, Number(len), LIMITS(this.mmapBase), {
      hint: hint < TASK_SIZE ? Number(hint) : 0,
      ...(file?.thpAligned ? { thpOffset: Number(file.offset % PMD_SIZE) } : {}),
    });
    return found === undefined ? undefined : BigInt(found);
  }

  private mergeAround(i: number, prevOnly: boolean): void {
    // Merge with the next VMA first, then with the previous one, as vma_merge_new_range does.
    const cur = this.areas[i]!;
    const next = prevOnly ? undefined : this.areas[i + 1];
    if (next && canMerge(cur, next)) {
      cur.end = next.end;
      cur.anonVma ||= next.anonVma;
      this.areas.splice(i + 1, 1);
    }
    const prev = this.areas[i - 1];
    if (prev && canMerge(prev, cur)) {
      prev.end = cur.end;
      prev.anonVma ||= cur.anonVma;
      this.areas.splice(i, 1);
    }
  }
}

const LIMITS = (mmapBase: bigint) => ({
  mmapBase: Number(mmapBase),
  taskSize: Number(TASK_SIZE),
  mmapMinAddr: Number(MMAP_MIN_ADDR),
  stackGuardGap: Number(STACK_GUARD_GAP),
  pageSize: Number(PAGE_SIZE),
});

/** The part [start, end) of `a`, with the file offset moved along. */
function slice(a: Area, start: bigint, end: bigint): Area {
  const out: Area = { ...a, start, end };
  if (a.file) out.file = { backing: a.file.backing, offset: a.file.offset + (start - a.start) };
  return out;
}

/** An execve VMA as the merge rule sees it: private, file offset in pages, VM_ACCOUNT when writable. */
function mergeView(a: Area): MergeView {
  return {
    start: Number(a.start),
    end: Number(a.end),
    prot: a.prot,
    shared: false,
    object: a.file?.backing ?? null,
    pgoff: a.file ? Number(a.file.offset / PAGE_SIZE) : 0,
    name: a.name,
    growsDown: a.growsDown ?? false,
    mergeable: false,
    account: (a.prot & PROT_WRITE) !== 0,
    special: a.special ?? false,
    anonVma: a.anonVma ?? 0,
  };
}

function canMerge(a: Area, b: Area): boolean {
  return canMergeVmas(mergeView(a), mergeView(b), Number(PAGE_SIZE));
}
