// The seams the policies build on: swap PTEs with a swap back end, rmap walks
// (referenced bits, try_to_unmap), LRU lists, and the reclaim hook at the
// frame limit. A toy swap device stands in for zram/disk.
import { describe, expect, it } from 'vitest';
import { Machine, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import type { MmCore, SwapHooks } from '../src/mm/core.js';
import { machineCore } from '../src/mm/machine.js';
import { FRAME_ANON, FRAME_DIRTY } from '../src/mm/frames.js';
import { mkSwapPte } from '../src/mm/pte.js';
import { folioReferenced, tryToUnmap, writeProtect } from '../src/mm/rmap-walk.js';
import { PAGE, fileOf } from './mm-helpers.js';

const RW = PROT_READ | PROT_WRITE;
const bare = (m: Machine): number =>
  m.exec({ path: 'bare', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });

/** A swap device that keeps pages in a Map, with swap counts like swap_map. */
class ToySwap implements SwapHooks {
  readonly slots = new Map<number, { bytes: Uint8Array; count: number }>();
  private next = 0;
  constructor(private readonly core: MmCore) {}
  store(bytes: Uint8Array, count: number): number {
    const slot = this.next++;
    this.slots.set(slot, { bytes, count });
    return slot;
  }
  dup(slot: number): void {
    this.slots.get(slot)!.count++;
  }
  free(slot: number): void {
    const e = this.slots.get(slot)!;
    if (--e.count === 0) this.slots.delete(slot);
  }
  swapIn(slot: number): number {
    const frame = this.core.allocFrame(FRAME_ANON | FRAME_DIRTY);
    this.core.contents.write(frame, 0, this.slots.get(slot)!.bytes, 0, PAGE);
    this.core.get(frame);
    return frame;
  }
  count(slot: number): number {
    return this.slots.get(slot)?.count ?? 0;
  }
}

describe('seams for reclaim and swap', () => {
  it('an anonymous page shared after fork swaps out through the rmap and back in on a fault', () => {
    const m = new Machine({ frames: 16 });
    const swap = new ToySwap(machineCore(m));
    machineCore(m).swap = swap;
    const pid = bare(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    m.write(pid, a, Uint8Array.of(1, 2, 3));
    const child = m.fork(pid);
    const frame = m.pageInfo(pid, a).frame;

    const bytes = machineCore(m).contents.bytes(frame, new Uint8Array(PAGE));
    const slot = swap.store(bytes, machineCore(m).frames.mapcount[frame]!);
    expect(tryToUnmap(machineCore(m), frame, mkSwapPte(slot))).toBe(2);
    expect(m.stats().frames.used).toBe(0);
    expect(m.pageInfo(child, a)).toMatchObject({ state: 'swap', swapSlot: slot });
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 0, swap: PAGE, swapPss: PAGE / 2 });
    m.checkInvariants();

    const grandchild = m.fork(child); // fork duplicates the swap entry
    expect(swap.count(slot)).toBe(3);
    expect(m.read(child, a, 3)).toEqual(Uint8Array.of(1, 2, 3)); // do_swap_page
    expect(m.pageInfo(child, a).state).toBe('present');
    expect(swap.count(slot)).toBe(2);
    m.write(pid, a, Uint8Array.of(9)); // swap-in, then a write on an exclusive page: reuse
    expect(m.read(pid, a, 3)).toEqual(Uint8Array.of(9, 2, 3));
    expect(m.read(child, a, 3)).toEqual(Uint8Array.of(1, 2, 3));
    m.checkInvariants();
    for (const p of [pid, child, grandchild]) m.exit(p);
    expect(swap.slots.size).toBe(0); // no swap slot leaked
    expect(m.stats().frames.used).toBe(0);
  });

  it('folioReferenced counts and clears young PTEs; tryToUnmap of a file page makes the next access a fault', () => {
    const m = new Machine({ frames: 16, keepPageCache: true });
    const f = fileOf('/lib/f', [4]);
    const pids = [bare(m), bare(m)];
    const at = pids.map((pid) => m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } }));
    pids.forEach((pid, i) => m.touch(pid, at[i]!, 1, 'read'));
    const frame = m.pageInfo(pids[0]!, at[0]!).frame;
    expect(folioReferenced(machineCore(m), frame)).toBe(2);
    expect(folioReferenced(machineCore(m), frame)).toBe(0);
    expect(m.smapsRollup(pids[0]!).referenced).toBe(0);
    m.touch(pids[1]!, at[1]!, 1, 'read');
    expect(folioReferenced(machineCore(m), frame)).toBe(1);

    expect(tryToUnmap(machineCore(m), frame, 0)).toBe(2);
    expect(m.stats().pageCache).toBe(1); // still cached: keepPageCache
    expect(m.pageInfo(pids[0]!, at[0]!).state).toBe('none');
    const before = m.stats().faults.minor;
    expect(m.read(pids[0]!, at[0]!, 1)[0]).toBe(4);
    expect(m.stats().faults.minor).toBe(before + 1);
    m.checkInvariants();
  });

  it('writeProtect lets a resident frame be mapped into another process without breaking COW', () => {
    // what merge-on-restore or KSM does: point a second PTE at an existing anonymous frame
    const m = new Machine({ frames: 16 });
    const swap = new ToySwap(machineCore(m));
    machineCore(m).swap = swap;
    const [p1, p2] = [bare(m), bare(m)];
    const a1 = m.mmap(p1, { length: PAGE, prot: RW });
    const a2 = m.mmap(p2, { length: PAGE, prot: RW });
    m.write(p1, a1, Uint8Array.of(5));
    m.write(p2, a2, Uint8Array.of(5));
    const shared = m.pageInfo(p1, a1).frame;
    const other = m.pageInfo(p2, a2).frame;
    expect(writeProtect(machineCore(m), shared)).toBe(1);
    // swap p2's identical page out, and have the back end "restore" it as the resident frame
    const slot = swap.store(machineCore(m).contents.bytes(other, new Uint8Array(PAGE)), 1);
    tryToUnmap(machineCore(m), other, mkSwapPte(slot));
    swap.swapIn = () => {
      machineCore(m).get(shared);
      return shared;
    };
    expect(m.read(p2, a2, 1)[0]).toBe(5);
    expect(m.pageInfo(p2, a2)).toMatchObject({ frame: shared, mapcount: 2 });
    m.checkInvariants();
    m.write(p1, a1, Uint8Array.of(6)); // COW: p2 keeps its 5
    expect(m.read(p2, a2, 1)[0]).toBe(5);
    expect(m.stats().faults.cow).toBe(1);
    m.checkInvariants();
  });

  it('keeps every frame on an LRU list: anon and shmem on the anon lists, page cache on the file lists', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    m.touch(pid, m.mmap(pid, { length: 2 * PAGE, prot: RW }), 2 * PAGE, 'write');
    m.touch(pid, m.mmap(pid, { length: PAGE, prot: RW, shared: true }), PAGE, 'write');
    m.touch(
      pid,
      m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: fileOf('/f', [1]), offset: 0 } }),
      1,
      'read',
    );
    expect(m.stats().lru).toEqual({
      inactive_anon: 3,
      active_anon: 0,
      inactive_file: 1,
      active_file: 0,
      unevictable: 0,
    });
    m.checkInvariants();
  });

  it('calls the reclaim hook when the frame limit is reached', () => {
    const m = new Machine({ frames: 8, frameLimit: 2, keepPageCache: true });
    const calls: number[] = [];
    machineCore(m).reclaimHook = (core, wanted) => {
      calls.push(wanted);
      return core.dropCaches();
    };
    const f = fileOf('/f', [1, 2]);
    const pid = bare(m);
    const at = m.mmap(pid, { length: 2 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.touch(pid, at, 2 * PAGE, 'read');
    m.munmap(pid, at, 2 * PAGE); // both pages stay cached, unmapped
    const anon = m.mmap(pid, { length: PAGE, prot: RW });
    m.touch(pid, anon, 1, 'write'); // needs a frame: reclaim drops the clean cache
    expect(calls).toEqual([1]);
    expect(m.stats()).toMatchObject({ pageCache: 0, anonymous: 1 });
    m.checkInvariants();
  });
});
