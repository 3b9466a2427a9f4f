/**
 * The swap map of one swap device: the count of every slot (swap_map in
 * mm/swapfile.c) and the zeromap bit (swap_info_struct->zeromap, 6.12+:
 * a zero-filled page is recorded as a bit and never written).
 *
 * Slots are numbered from 0. A freed slot is reused before a new one is
 * taken (a LIFO stack), so the highest slot number stays near the peak
 * number of entries. Capacity is the device size in pages; with the default
 * (Infinity) the arrays grow by doubling.
 */
import { InternalError } from '../../errors.js';
import { NO_SLOT } from './types.js';

export class SwapMap {
  /** Device size in pages (Infinity: grows as needed). */
  readonly capacity: number;
  /** Slots with a count > 0. */
  inUse = 0;
  private counts: Int32Array;
  private zero: Uint8Array;
  private freeStack: Int32Array;
  private freeTop = 0;
  /** Slots ever handed out: 0..highWater-1. */
  private highWater = 0;

  constructor(capacity = Infinity, initialSlots = 1024) {
    if (!(capacity > 0)) throw new RangeError(`swap device capacity must be positive, not ${capacity}`);
    this.capacity = capacity;
    const n = Math.max(16, Math.min(initialSlots, capacity));
    this.counts = new Int32Array(n);
    this.zero = new Uint8Array(n);
    this.freeStack = new Int32Array(n);
  }

  /** Size of the per-slot arrays; back ends size their own per-slot arrays to match. */
  get length(): number {
    return this.counts.length;
  }

  /** Takes a free slot with count 1, or returns NO_SLOT when the device is full. */
  allocate(): number {
    let slot: number;
    if (this.freeTop > 0) {
      slot = this.freeStack[--this.freeTop]!;
    } else {
      if (this.highWater >= this.capacity) return NO_SLOT;
      if (this.highWater === this.counts.length) this.grow();
      slot = this.highWater++;
    }
    this.counts[slot] = 1;
    this.zero[slot] = 0;
    this.inUse++;
    return slot;
  }

  /** swap_duplicate: one more reference. */
  duplicate(slot: number): void {
    this.check(slot);
    this.counts[slot]!++;
  }

  /** swap_free: one reference fewer; returns the count left. At 0 the caller discards the data, then calls release(). */
  put(slot: number): number {
    this.check(slot);
    return --this.counts[slot]!;
  }

  /** Returns a slot whose count reached 0 to the free stack. */
  release(slot: number): void {
    if (this.counts[slot] !== 0) throw new InternalError(`swap slot ${slot} released with count ${this.counts[slot]}`);
    this.counts[slot] = -1;
    this.zero[slot] = 0;
    this.freeStack[this.freeTop++] = slot;
    this.inUse--;
  }

  count(slot: number): number {
    return slot >= 0 && slot < this.highWater ? Math.max(0, this.counts[slot]!) : 0;
  }

  /** Throws unless `slot` holds a live entry. */
  check(slot: number): void {
    if (!(slot >= 0 && slot < this.highWater) || !(this.counts[slot]! > 0)) {
      throw new InternalError(`swap slot ${slot} is not in use`);
    }
  }

  setZero(slot: number): void {
    this.zero[slot] = 1;
  }

  isZero(slot: number): boolean {
    return this.zero[slot] === 1;
  }

  /** Called when the arrays grow, so a back end can grow its per-slot arrays to `length`. */
  onGrow: (length: number) => void = () => {};

  private grow(): void {
    const n = Math.min(this.counts.length * 2, this.capacity);
    this.counts = growInt32(this.counts, n);
    const zero = new Uint8Array(n);
    zero.set(this.zero);
    this.zero = zero;
    this.freeStack = growInt32(this.freeStack, n);
    this.onGrow(n);
  }
}

export function growInt32(a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

export function growUint32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

export function growUint8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
