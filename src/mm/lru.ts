/**
 * LRU lists (mm/vmscan.c, include/linux/mmzone.h `enum lru_list`), as
 * doubly linked lists threaded through the frame table's lruPrev/lruNext
 * arrays. No objects: a list is a head, a tail and a count.
 *
 * This file only keeps the lists right: a new frame goes to the head of
 * its inactive list (folio_add_lru), a freed frame leaves its list. Reclaim
 * (reclaim.ts) walks them from the tail (isolate_lru_folios), checks
 * referenced bits through the rmap, and moves frames between lists with
 * `move`. Anonymous and shmem frames are on the anon lists (swap-backed),
 * page-cache frames on the file lists, as in Linux.
 */
import { InternalError } from '../errors.js';
import { FRAME_ACTIVE, FRAME_LRU, type FrameTable } from './frames.js';

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
export const LRU_UNEVICTABLE = 4;
export const NR_LRU_LISTS = 5;

export const LRU_NAMES = ['inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable'] as const;

export class LruLists {
  readonly head = new Int32Array(NR_LRU_LISTS).fill(-1);
  readonly tail = new Int32Array(NR_LRU_LISTS).fill(-1);
  readonly count = new Int32Array(NR_LRU_LISTS);

  constructor(private readonly frames: FrameTable) {}

  /** Adds `frame` at the head (most recently added end) of `list`. */
  addHead(frame: number, list: number): void {
    const f = this.frames;
    if (f.lruList[frame] !== -1) throw new InternalError('frame already on an LRU list', { frame });
    const first = this.head[list]!;
    f.lruPrev[frame] = -1;
    f.lruNext[frame] = first;
    if (first !== -1) f.lruPrev[first] = frame;
    else this.tail[list] = frame;
    this.head[list] = frame;
    f.lruList[frame] = list;
    this.count[list]!++;
    f.flags[frame]! |= FRAME_LRU;
    if (list === LRU_ACTIVE_ANON || list === LRU_ACTIVE_FILE) f.flags[frame]! |= FRAME_ACTIVE;
    else f.flags[frame]! &= ~FRAME_ACTIVE;
  }

  /** Takes `frame` off whatever list it is on (no-op if none). */
  remove(frame: number): void {
    const f = this.frames;
    const list = f.lruList[frame]!;
    if (list === -1) return;
    const prev = f.lruPrev[frame]!;
    const next = f.lruNext[frame]!;
    if (prev !== -1) f.lruNext[prev] = next;
    else this.head[list] = next;
    if (next !== -1) f.lruPrev[next] = prev;
    else this.tail[list] = prev;
    f.lruPrev[frame] = -1;
    f.lruNext[frame] = -1;
    f.lruList[frame] = -1;
    this.count[list]!--;
    f.flags[frame]! &= ~(FRAME_LRU | FRAME_ACTIVE);
  }

  /** Moves `frame` to the head of `list` (activation, deactivation, rotation). */
  move(frame: number, list: number): void {
    this.remove(frame);
    this.addHead(frame, list);
  }

  /** The least recently added frame of `list`, or -1. */
  oldest(list: number): number {
    return this.tail[list]!;
  }
}
