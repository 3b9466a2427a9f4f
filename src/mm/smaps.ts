/**
 * /proc/PID/smaps and smaps_rollup accounting (fs/proc/task_mmu.c:
 * smaps_pte_entry → smaps_account → smaps_page_accumulate), per LINUX.md §2.
 *
 * - Only present PTEs of normal frames count; the zero page contributes
 *   nothing (vm_normal_page returns NULL for it).
 * - Per page: Rss += PAGE_SIZE; Anonymous if the frame is anonymous (COW
 *   copies of file pages are); KSM if a KSM page; Referenced if the PTE is
 *   young or the frame referenced.
 * - Pss in fixed point, PSS_SHIFT = 12: PAGE_SIZE << 12, divided by the
 *   mapcount when it is ≥ 2 (integer division, as do_div). Private/Shared
 *   is mapcount < 2 / ≥ 2 — a page mapped twice by one process is Shared.
 * - Dirty if the PTE or the frame is dirty → Pss_Dirty, *_Dirty.
 * - Pss_Anon for anonymous frames, Pss_Shmem for shmem, Pss_File else.
 * - Swap PTEs: Swap += PAGE_SIZE; SwapPss += (PAGE_SIZE << 12) / swapcount
 *   when shared (the swap back end supplies the counts).
 * - smaps_rollup sums the fixed-point values of all VMAs before shifting,
 *   so its Pss is not the sum of the per-VMA kB values.
 */
import type { MmCore } from './core.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_KSM, FRAME_REFERENCED, FRAME_SHMEM, ZERO_FRAME } from './frames.js';
import type { Process } from './process.js';
import { PTE_DIRTY, PTE_YOUNG, pteFrame, pteSwapSlot } from './pte.js';
import type { SmapsCounters, SmapsEntry, SmapsRollup } from './types.js';
import { forEachPtPage } from './vma-ops.js';
import { vmaInfo } from './vma-info.js';
import type { Vma } from './vma.js';

export const PSS_SHIFT = 12;
const PSS_ONE = 1 << PSS_SHIFT;

/** Running sums; pss* fields in fixed point (bytes << PSS_SHIFT). */
class MemSizeStats {
  rss = 0;
  pss = 0;
  pssDirty = 0;
  pssAnon = 0;
  pssFile = 0;
  pssShmem = 0;
  sharedClean = 0;
  sharedDirty = 0;
  privateClean = 0;
  privateDirty = 0;
  referenced = 0;
  anonymous = 0;
  ksm = 0;
  swap = 0;
  swapPss = 0;

  counters(): SmapsCounters {
    const shift = (fixed: number): number => Math.floor(fixed / PSS_ONE);
    return {
      rss: this.rss,
      pss: shift(this.pss),
      pssDirty: shift(this.pssDirty),
      pssAnon: shift(this.pssAnon),
      pssFile: shift(this.pssFile),
      pssShmem: shift(this.pssShmem),
      sharedClean: this.sharedClean,
      sharedDirty: this.sharedDirty,
      privateClean: this.privateClean,
      privateDirty: this.privateDirty,
      referenced: this.referenced,
      anonymous: this.anonymous,
      ksm: this.ksm,
      lazyFree: 0,
      swap: this.swap,
      swapPss: shift(this.swapPss),
      locked: 0,
    };
  }
}

function accountVma(core: MmCore, proc: Process, vma: Vma, mss: MemSizeStats): void {
  const ps = core.pageSize;
  const f = core.frames;
  const pt = core.pt;
  const full = ps * PSS_ONE;
  forEachPtPage(core, proc, vma.start / ps, vma.end / ps, (_page, first, lo, hi) => {
    for (let vpn = lo; vpn < hi; vpn++) {
      const pte = pt.pte[first + vpn]!;
      if (pte === 0) continue;
      if (pte < 0) {
        const count = core.swapHooks().count(pteSwapSlot(pte));
        mss.swap += ps;
        mss.swapPss += count >= 2 ? Math.floor(full / count) : full;
        continue;
      }
      const frame = pteFrame(pte);
      if (frame === ZERO_FRAME) continue;
      const flags = f.flags[frame]!;
      const anon = (flags & FRAME_ANON) !== 0;
      mss.rss += ps;
      if (anon) mss.anonymous += ps;
      if (flags & FRAME_KSM) mss.ksm += ps;
      if ((pte & PTE_YOUNG) !== 0 || (flags & FRAME_REFERENCED) !== 0) mss.referenced += ps;
      const mapcount = f.mapcount[frame]!;
      const pss = mapcount >= 2 ? Math.floor(full / mapcount) : full;
      const dirty = (pte & PTE_DIRTY) !== 0 || (flags & FRAME_DIRTY) !== 0;
      mss.pss += pss;
      if (anon) mss.pssAnon += pss;
      else if (flags & FRAME_SHMEM) mss.pssShmem += pss;
      else mss.pssFile += pss;
      if (dirty) {
        mss.pssDirty += pss;
        if (mapcount >= 2) mss.sharedDirty += ps;
        else mss.privateDirty += ps;
      } else if (mapcount >= 2) {
        mss.sharedClean += ps;
      } else {
        mss.privateClean += ps;
      }
    }
  });
}

export function smapsOf(core: MmCore, proc: Process): SmapsEntry[] {
  return proc.vmas.map((vma) => {
    const mss = new MemSizeStats();
    accountVma(core, proc, vma, mss);
    return {
      ...vmaInfo(core, vma),
      size: vma.end - vma.start,
      kernelPageSize: core.pageSize,
      mmuPageSize: core.pageSize,
      ...mss.counters(),
    };
  });
}

export function smapsRollupOf(core: MmCore, proc: Process): SmapsRollup {
  const mss = new MemSizeStats();
  for (const vma of proc.vmas) accountVma(core, proc, vma, mss);
  const first = proc.vmas[0];
  const last = proc.vmas[proc.vmas.length - 1];
  return { start: first?.start ?? 0, end: last?.end ?? 0, ...mss.counters() };
}
