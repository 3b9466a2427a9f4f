/**
 * A simulated swap disk: the bytes of every written slot, plus the I/O
 * count and cost. It has no swap map of its own; DiskSwap and zswap put it
 * behind one (slot n is the page at byte n * pageSize, as a swap partition
 * is addressed by swap offset).
 *
 * Each page read or written is one I/O of pageSize bytes, charged to the
 * cost model as diskRead / diskWrite (latency + bytes / bandwidth, see
 * src/mm/cost.ts for the default device). Counters use vmstat's names:
 * pswpin and pswpout count pages read from and written to swap devices.
 */
import { CostOp, type CostAccumulator } from '../cost.js';

export class SwapDisk {
  readonly pageSize: number;
  /** Pages read from the disk (vmstat pswpin). */
  pswpin = 0;
  /** Pages written to the disk (vmstat pswpout). */
  pswpout = 0;
  private readonly cost: CostAccumulator;
  private data: Uint8Array;

  constructor(pageSize: number, cost: CostAccumulator, initialSlots = 256) {
    this.pageSize = pageSize;
    this.cost = cost;
    this.data = new Uint8Array(pageSize * initialSlots);
  }

  write(slot: number, page: Uint8Array): void {
    const offset = slot * this.pageSize;
    if (offset + this.pageSize > this.data.length) this.grow(offset + this.pageSize);
    this.data.set(page, offset);
    this.pswpout++;
    this.cost.charge(CostOp.diskWrite, this.pageSize);
  }

  read(slot: number, into: Uint8Array): void {
    const offset = slot * this.pageSize;
    into.set(this.data.subarray(offset, offset + this.pageSize));
    this.pswpin++;
    this.cost.charge(CostOp.diskRead, this.pageSize);
  }

  private grow(minBytes: number): void {
    let n = this.data.length * 2;
    while (n < minBytes) n *= 2;
    const data = new Uint8Array(n);
    data.set(this.data);
    this.data = data;
  }
}
