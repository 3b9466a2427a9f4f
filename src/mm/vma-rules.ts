/**
 * The two VMA rules both execve (src/loader) and the memory model's mmap
 * follow, in one place:
 *
 * - canMergeVmas(): vma_merge's test (mm/vma.c is_mergeable_vma,
 *   is_mergeable_anon_vma, and a contiguous file offset);
 * - getUnmappedArea(): where a mapping without MAP_FIXED goes:
 *   arch_get_unmapped_area_topdown (arch/x86/kernel/sys_x86_64.c) over
 *   unmapped_area_topdown (mm/vma.c): a free hint is taken as is, otherwise
 *   the highest gap below mmap_base that fits, with stack_guard_gap kept
 *   below a VM_GROWSDOWN VMA; for files on filesystems whose
 *   get_unmapped_area is thp_get_unmapped_area, the 2 MiB alignment of
 *   __thp_get_unmapped_area (mm/huge_memory.c); when nothing fits below
 *   mmap_base, the lowest gap above it.
 *
 * Addresses are numbers (x86-64 user space ends at 2^47).
 */

/** A VMA as the merge rule sees it. */
export interface MergeView {
  start: number;
  end: number;
  /** PROT_* bits. */
  prot: number;
  /** MAP_SHARED. */
  shared: boolean;
  /** The mapped object (file or shmem), compared by identity; null for private anonymous memory. */
  object: unknown;
  /** Page offset of `start` in `object` (vm_pgoff). */
  pgoff: number;
  /** '[heap]', '[stack]', '[vdso]', ... or undefined. */
  name: string | undefined;
  growsDown: boolean;
  /** VM_MERGEABLE (KSM). */
  mergeable: boolean;
  /** VM_ACCOUNT. */
  account: boolean;
  /** VM_SPECIAL (kernel special mappings such as the vDSO): never merged. */
  special: boolean;
  /** anon_vma identity; 0 when the VMA has none yet. */
  anonVma: number;
}

/** Whether `a`, ending where `b` starts, and `b` can be one VMA. */
export function canMergeVmas(a: MergeView, b: MergeView, pageSize: number): boolean {
  if (a.end !== b.start || a.special || b.special) return false;
  if (a.prot !== b.prot || a.shared !== b.shared || a.object !== b.object) return false;
  if (a.name !== b.name || a.growsDown !== b.growsDown || a.mergeable !== b.mergeable || a.account !== b.account)
    return false;
  if (a.anonVma !== 0 && b.anonVma !== 0 && a.anonVma !== b.anonVma) return false;
  if (a.object !== null && a.pgoff + (a.end - a.start) / pageSize !== b.pgoff) return false;
  return true;
}

/** A mapped range as the placement search sees it. */
export interface PlacedRange {
  start: number;
  end: number;
  growsDown: boolean;
}

export interface PlacementLimits {
  /** Top of the top-down mmap region (mm->mmap_base). */
  mmapBase: number;
  /** End of user space (TASK_SIZE). */
  taskSize: number;
  /** vm.mmap_min_addr. */
  mmapMinAddr: number;
  /** stack_guard_gap in bytes. */
  stackGuardGap: number;
  pageSize: number;
}

export interface PlacementRequest {
  /** Address hint (0: none). Taken when the page-aligned range is free. */
  hint?: number;
  /** A file mapping on a filesystem that uses thp_get_unmapped_area: its file offset modulo 2 MiB. */
  thpOffset?: number;
}

const PMD_SIZE = 2 * 1024 * 1024;

/**
 * Where a `len`-byte mapping goes among `ranges` (sorted by start, not
 * overlapping); undefined when no gap fits (ENOMEM).
 */
export function getUnmappedArea(
  ranges: readonly PlacedRange[],
  len: number,
  limits: PlacementLimits,
  request: PlacementRequest = {},
): number | undefined {
  if (!(len > 0) || len > limits.taskSize) return undefined;
  const hint = request.hint ?? 0;
  if (request.thpOffset !== undefined) {
    const aligned = thpUnmappedArea(ranges, hint, len, request.thpOffset, limits);
    if (aligned !== undefined) return aligned;
  }
  return topDown(ranges, hint, len, limits) ?? bottomUp(ranges, len, limits);
}

/** __thp_get_unmapped_area with size = PMD_SIZE, for a top-down mm. */
function thpUnmappedArea(
  ranges: readonly PlacedRange[],
  hint: number,
  len: number,
  off: number,
  limits: PlacementLimits,
): number | undefined {
  const offEnd = Math.floor((off + len) / PMD_SIZE) * PMD_SIZE;
  const offAlign = Math.ceil(off / PMD_SIZE) * PMD_SIZE;
  if (offEnd <= offAlign || offEnd - offAlign < PMD_SIZE) return undefined;
  const ret = topDown(ranges, hint, len + PMD_SIZE, limits);
  if (ret === undefined) return undefined;
  // "Do not try to align to THP boundary if allocation at the address hint succeeds."
  if (ret === hint) return hint;
  const offSub = (((off - ret) % PMD_SIZE) + PMD_SIZE) % PMD_SIZE;
  return offSub === 0 ? ret + PMD_SIZE : ret + offSub;
}

/** vm_start_gap(): a VM_GROWSDOWN VMA keeps stack_guard_gap free below it. */
function startGap(r: PlacedRange, guard: number): number {
  return r.growsDown ? Math.max(r.start - guard, 0) : r.start;
}

function isFree(ranges: readonly PlacedRange[], start: number, end: number, guard: number): boolean {
  return ranges.every((r) => end <= startGap(r, guard) || start >= r.end);
}

/** arch_get_unmapped_area_topdown: the hint if free, else unmapped_area_topdown below mmap_base. */
function topDown(
  ranges: readonly PlacedRange[],
  hint: number,
  len: number,
  limits: PlacementLimits,
): number | undefined {
  const { mmapBase, taskSize, mmapMinAddr, stackGuardGap: guard, pageSize } = limits;
  if (hint !== 0) {
    const addr = Math.floor(hint / pageSize) * pageSize;
    // mmap_address_hint_valid(), and the range must be free of VMAs and guard gaps.
    if (taskSize - len >= addr && addr >= mmapMinAddr && isFree(ranges, addr, addr + len, guard)) return addr;
  }
  const lowLimit = Math.max(mmapMinAddr, pageSize);
  let top = Math.floor(mmapBase / pageSize) * pageSize;
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i]!;
    const rStart = startGap(r, guard);
    if (rStart >= top) continue;
    if (r.end < top && top - r.end >= len && top - len >= lowLimit) return top - len;
    top = Math.min(top, rStart);
  }
  return top >= lowLimit + len ? top - len : undefined;
}

/** The lowest gap above mmap_base, when nothing fits below it. */
function bottomUp(ranges: readonly PlacedRange[], len: number, limits: PlacementLimits): number | undefined {
  const base = Math.floor(limits.mmapBase / limits.pageSize) * limits.pageSize;
  for (let i = 0; i <= ranges.length; i++) {
    const below = ranges[i - 1];
    const above = ranges[i];
    const gapStart = Math.max(below === undefined ? limits.mmapMinAddr : below.end, base);
    const gapEnd = above === undefined ? limits.taskSize : startGap(above, limits.stackGuardGap);
    if (gapEnd - gapStart >= len) return gapStart;
  }
  return undefined;
}
