/**
 * merge-on-restore's content index: resident anonymous frames by the XXH32
 * of their bytes (page-hash.ts), so that a page coming back from swap can
 * be mapped onto a resident frame with the same bytes instead of taking a
 * new frame (the linux-mm-cc thread's "duplicates can be merged again when a page is
 * restored").
 *
 * What is indexed: every frame a swap-in fills (its hash is computed for
 * the lookup anyway), and every anonymous frame reclaim looks at and keeps
 * resident (noteResident): under memory pressure that is, over time, the
 * resident anonymous memory. Indexing a frame moves its PTEs' dirty bits
 * into the frame (as write_protect_page does), so a later scan that finds a
 * dirty PTE again knows the page was written since, and hashes it again.
 * Bytes can still change between scans, so an entry is only a candidate:
 * every hit is read back and compared byte for byte, never trusted on the
 * hash alone. A candidate whose bytes no longer hash to its key is stale
 * and dropped on the way; one that still does is a true hash collision and
 * stays. A freed frame leaves the index at once (core.frameReleaseHook).
 *
 * Layout: per frame, its key and links of a doubly linked chain of the
 * frames with that key (typed arrays, grown with the frame table); one
 * Map from key to the chain's first frame. No object per page.
 */
import type { MmCore } from './core.js';
import { CostOp } from './cost.js';
import { FRAME_ANON, FRAME_DIRTY, FRAME_USED } from './frames.js';
import { PTE_DIRTY } from './pte.js';
import { equalPages } from './swap/same-filled.js';
import { xxh32Page } from './page-hash.js';

export interface RestoreIndexStats {
  /** Frames in the index now. */
  indexed: number;
  /** Frames reclaim kept resident that were (re)hashed into the index. */
  noted: number;
  /** Lookups made (one per swap-in from the back end on a read fault). */
  lookups: number;
  /** Candidates compared byte for byte. */
  compares: number;
  /** Candidates with the right hash and other bytes that still hash to it (true collisions). */
  collisions: number;
  /** Candidates dropped because their bytes changed since they were indexed. */
  stale: number;
}

export class RestoreIndex {
  private key = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private member = new Uint8Array(0);
  private readonly heads = new Map<number, number>();
  private readonly candidate: Uint8Array;
  private count = 0;
  private noted = 0;
  private lookups = 0;
  private compares = 0;
  private collisions = 0;
  private stale = 0;

  constructor(private readonly core: MmCore) {
    this.candidate = new Uint8Array(core.pageSize);
  }

  /** Adds `frame` (an anonymous frame holding bytes that hash to `hash`). */
  insert(frame: number, hash: number): void {
    hash |= 0; // keys are int32, as stored in `key`
    this.ensure(frame);
    if (this.member[frame] === 1) this.remove(frame);
    const first = this.heads.get(hash) ?? -1;
    this.key[frame] = hash;
    this.prev[frame] = -1;
    this.next[frame] = first;
    if (first !== -1) this.prev[first] = frame;
    this.heads.set(hash, frame);
    this.member[frame] = 1;
    this.count++;
  }

  /**
   * Reclaim kept anonymous `frame` resident: index it, or index it again if
   * one of its PTEs was written since it was indexed. Costs a hash then.
   */
  noteResident(frame: number): void {
    const core = this.core;
    const pt = core.pt;
    let written = false;
    for (let s = core.frames.rmapHead[frame]!; s !== -1; s = pt.rmapNext[s]!) {
      const pte = pt.pte[s]!;
      if ((pte & PTE_DIRTY) !== 0) {
        written = true;
        pt.pte[s] = pte & ~PTE_DIRTY;
      }
    }
    if (!written && this.has(frame)) return;
    if (written) core.frames.flags[frame]! |= FRAME_DIRTY;
    this.noted++;
    core.cost.charge(CostOp.hash, core.pageSize);
    this.insert(frame, xxh32Page(core.contents.bytes(frame, this.candidate)));
  }

  /** Removes `frame` if it is indexed (a frame being freed). */
  forget(frame: number): void {
    if (frame < this.member.length && this.member[frame] === 1) this.remove(frame);
  }

  /**
   * A resident anonymous frame whose bytes equal `page` (which hashes to
   * `hash`), or -1. Each candidate costs a compare in the cost model.
   */
  find(page: Uint8Array, hash: number): number {
    hash |= 0;
    this.lookups++;
    const core = this.core;
    const f = core.frames;
    let frame = this.heads.get(hash) ?? -1;
    while (frame !== -1) {
      const after = this.next[frame]!;
      if ((f.flags[frame]! & (FRAME_USED | FRAME_ANON)) === (FRAME_USED | FRAME_ANON)) {
        core.contents.bytes(frame, this.candidate);
        this.compares++;
        core.cost.charge(CostOp.compare, core.pageSize);
        if (equalPages(page, this.candidate)) return frame;
        core.cost.charge(CostOp.hash, core.pageSize);
        if ((xxh32Page(this.candidate) | 0) === hash) {
          this.collisions++;
        } else {
          this.stale++;
          this.remove(frame);
        }
      } else {
        this.remove(frame);
      }
      frame = after;
    }
    return -1;
  }

  /** Whether `frame` is in the index (for invariants). */
  has(frame: number): boolean {
    return frame < this.member.length && this.member[frame] === 1;
  }

  stats(): RestoreIndexStats {
    return {
      indexed: this.count,
      noted: this.noted,
      lookups: this.lookups,
      compares: this.compares,
      collisions: this.collisions,
      stale: this.stale,
    };
  }

  private remove(frame: number): void {
    const p = this.prev[frame]!;
    const n = this.next[frame]!;
    if (p !== -1) this.next[p] = n;
    else if (n !== -1) this.heads.set(this.key[frame]!, n);
    else this.heads.delete(this.key[frame]!);
    if (n !== -1) this.prev[n] = p;
    this.member[frame] = 0;
    this.count--;
  }

  private ensure(frame: number): void {
    if (frame < this.member.length) return;
    const n = Math.max(frame + 1, this.core.frames.capacity, this.member.length * 2);
    const grow = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.key = grow(this.key);
    this.next = grow(this.next);
    this.prev = grow(this.prev);
    const m = new Uint8Array(n);
    m.set(this.member);
    this.member = m;
  }
}
