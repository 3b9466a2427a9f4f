/**
 * MachineHeapHost: the allocator model's view of one simulated process
 * (the HeapHost interface of src/malloc/host.ts), on top of Machine.
 * Every store, memset and memcpy is a user access through the page-fault
 * path, so calloc's zeroing commits frames exactly where it writes, and
 * discard (MADV_DONTNEED) returns private anonymous pages to the zero page.
 *
 * mremap moves page tables as Linux does (Machine.mremap), so a realloc of
 * an mmapped block copies nothing.
 */
import { SimulationError } from '../errors.js';
import { PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import type { Machine } from '../mm/machine.js';
import type { HeapHost } from '../malloc/host.js';

export type { HeapHost } from '../malloc/host.js';

/** Bytes moved per machine call by writeZero and copy (the buffers are reused). */
const CHUNK = 256 * 1024;

export class MachineHeapHost implements HeapHost {
  readonly pageSize: number;
  /** What the allocator did through this host (bytes), for reports. */
  readonly counters = {
    wordsStored: 0,
    bytesZeroed: 0,
    bytesCopied: 0,
    bytesDiscarded: 0,
    mmaps: 0,
    munmaps: 0,
    mremaps: 0,
  };
  private readonly zeros: Uint8Array;
  private readonly word = new Uint8Array(8);
  private readonly wordView = new DataView(this.word.buffer);

  constructor(
    readonly machine: Machine,
    readonly pid: number,
  ) {
    this.pageSize = machine.pageSize;
    this.zeros = new Uint8Array(CHUNK);
  }

  get startBrk(): number {
    return this.machine.getBrk(this.pid).startBrk;
  }

  get brk(): number {
    return this.machine.getBrk(this.pid).brk;
  }

  setBrk(newBrk: number): boolean {
    return this.machine.brk(this.pid, newBrk);
  }

  mmapAnon(length: number): number | null {
    try {
      const addr = this.machine.mmap(this.pid, { length, prot: PROT_READ | PROT_WRITE });
      this.counters.mmaps++;
      return addr;
    } catch (err) {
      if (err instanceof SimulationError && err.code === 'E_NOMEM') return null;
      throw err;
    }
  }

  munmap(addr: number, length: number): void {
    this.machine.munmap(this.pid, addr, length);
    this.counters.munmaps++;
  }

  mremap(addr: number, oldLength: number, newLength: number): number | null {
    const to = this.machine.mremap(this.pid, addr, oldLength, newLength);
    if (to !== null) this.counters.mremaps++;
    return to;
  }

  storeWord(addr: number, value: number): void {
    // Sizes and pointers are below 2^53; the high half of a 64-bit word is value / 2^32.
    this.wordView.setUint32(0, value >>> 0, true);
    this.wordView.setUint32(4, Math.floor(value / 0x1_0000_0000) >>> 0, true);
    this.machine.write(this.pid, addr, this.word);
    this.counters.wordsStored++;
  }

  writeZero(addr: number, length: number): void {
    for (let done = 0; done < length; done += CHUNK) {
      const n = Math.min(CHUNK, length - done);
      this.machine.write(this.pid, addr + done, n === CHUNK ? this.zeros : this.zeros.subarray(0, n));
    }
    this.counters.bytesZeroed += length;
  }

  copy(dst: number, src: number, length: number): void {
    for (let done = 0; done < length; done += CHUNK) {
      const n = Math.min(CHUNK, length - done);
      this.machine.write(this.pid, dst + done, this.machine.read(this.pid, src + done, n));
    }
    this.counters.bytesCopied += length;
  }

  discard(addr: number, length: number): void {
    this.machine.madvise(this.pid, addr, length, 'dontneed');
    this.counters.bytesDiscarded += length;
  }
}
