/**
 * What one virtual page maps to, as plain data (for tests and debugging:
 * "is this page still shared with the parent?").
 */
import type { MmCore } from './core.js';
import {
  FRAME_ACTIVE,
  FRAME_ANON,
  FRAME_DIRTY,
  FRAME_FILE,
  FRAME_KSM,
  FRAME_LRU,
  FRAME_REFERENCED,
  FRAME_SHMEM,
  FRAME_SWAPCACHE,
  FRAME_ZERO,
} from './frames.js';
import type { Process } from './process.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG, pteFrame, pteSwapSlot } from './pte.js';
import type { PageInfo } from './types.js';

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FRAME_ANON, 'anon'],
  [FRAME_FILE, 'file'],
  [FRAME_SHMEM, 'shmem'],
  [FRAME_ZERO, 'zero'],
  [FRAME_DIRTY, 'dirty'],
  [FRAME_REFERENCED, 'referenced'],
  [FRAME_ACTIVE, 'active'],
  [FRAME_LRU, 'lru'],
  [FRAME_SWAPCACHE, 'swapcache'],
  [FRAME_KSM, 'ksm'],
];

export function frameFlagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

export function pageInfoOf(core: MmCore, proc: Process, addr: number): PageInfo {
  const slot = core.pt.lookup(proc.dir, Math.floor(addr / core.pageSize));
  const pte = slot < 0 ? 0 : core.pt.pte[slot]!;
  const none: PageInfo = {
    state: 'none',
    frame: -1,
    swapSlot: -1,
    zeroPage: false,
    kind: 'none',
    mapcount: 0,
    writable: false,
    dirty: false,
    young: false,
    flags: [],
  };
  if (pte === 0) return none;
  if (pte < 0) return { ...none, state: 'swap', swapSlot: pteSwapSlot(pte) };
  const frame = pteFrame(pte);
  const flags = core.frames.flags[frame]!;
  const kind = flags & FRAME_ZERO ? 'zero' : flags & FRAME_ANON ? 'anon' : flags & FRAME_SHMEM ? 'shmem' : 'file';
  return {
    state: 'present',
    frame,
    swapSlot: -1,
    zeroPage: frame === 0,
    kind,
    mapcount: core.frames.mapcount[frame]!,
    writable: (pte & PTE_WRITE) !== 0,
    dirty: (pte & PTE_DIRTY) !== 0 || (flags & FRAME_DIRTY) !== 0,
    young: (pte & PTE_YOUNG) !== 0,
    flags: frameFlagNames(flags),
  };
}
