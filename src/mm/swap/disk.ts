/**
 * `disk`: plain swap on a block device (a swap partition on an SSD by
 * default). Every page is one write at swap-out and one read at swap-in,
 * priced by the cost model's diskWrite / diskRead entries (latency plus
 * bytes over bandwidth). Zero pages go to the zeromap when it is on.
 */
import { SwapDisk } from './swap-disk.js';
import { SwapLayer, type SwapLayerOptions, type SwapLayerStats } from './swap-layer.js';

export type DiskSwapOptions = SwapLayerOptions;

export type DiskSwapStats = SwapLayerStats & {
  /** vmstat pswpin / pswpout: pages read from and written to the disk. */
  pswpin: number;
  pswpout: number;
  read_bytes: number;
  written_bytes: number;
};

export class DiskSwap extends SwapLayer {
  readonly name = 'disk';
  private readonly disk: SwapDisk;

  constructor(options: DiskSwapOptions = {}) {
    super(options);
    this.disk = new SwapDisk(this.pageSize, this.cost);
  }

  ramPages(): number {
    return 0;
  }

  stats(): DiskSwapStats {
    return {
      ...this.layerStats(),
      pswpin: this.disk.pswpin,
      pswpout: this.disk.pswpout,
      read_bytes: this.disk.pswpin * this.pageSize,
      written_bytes: this.disk.pswpout * this.pageSize,
    };
  }

  protected writePage(slot: number, page: Uint8Array): boolean {
    this.disk.write(slot, page);
    return true;
  }

  protected readPage(slot: number, into: Uint8Array): void {
    this.disk.read(slot, into);
  }

  protected discardPage(): void {
    // A freed swap slot needs no I/O (discard/TRIM is not modelled).
  }

  protected growSlots(): void {
    // The disk grows on write.
  }
}
