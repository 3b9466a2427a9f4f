/**
 * The cost model: what each simulated operation costs in simulated time.
 *
 * One table prices every operation. An entry is a fixed part plus a per-byte
 * part: `latencyNs + bytes / bytesPerSecond * 1e9`. CPU operations measured
 * per page have no fixed part; disk operations have both (a device latency
 * and a bandwidth).
 *
 * The memory model only records what happened: the swap back ends and the
 * fault paths call `charge(op, bytes)` on a CostAccumulator, which keeps a
 * count and a byte total per operation in typed arrays (no object per
 * event). Prices are applied when an estimate is asked for, so the same
 * events can be priced with another table (a scenario override, or the
 * measured instead of the documented table) without running again.
 *
 * Default tables:
 * - DOCUMENTED_COSTS: constants measured once on the reference machine or
 *   taken from a data sheet; each entry names its source. Deterministic.
 * - measureCosts() in cost-measure.ts: the CPU entries timed at start-up on
 *   the machine running pagestack (the page codec, a page copy, a hash, a
 *   compare), the rest from DOCUMENTED_COSTS.
 */

/** Operation numbers, used on the hot path (`charge(CostOp.compress, 4096)`). */
export const CostOp = {
  /** A fault that maps a page already in memory (page cache, swap cache, zero page), no allocation. */
  faultMinor: 0,
  /** The CPU side of a fault that needs a swap-in or a file read: allocating the frame and the fault path. The device work is charged separately (diskRead, decompress). */
  faultMajor: 1,
  /** A fault that allocates a new anonymous frame and clears it. */
  faultZeroFill: 2,
  /** Breaking COW on a write fault: a new frame and a copy of the page, fault included. */
  cowBreak: 3,
  /** Copying one page in memory (zram huge page in or out, zswap as-is pages). */
  pageCopy: 4,
  /** Hashing one page (XXH64), for KSM and dedup-first. */
  hash: 5,
  /** Comparing two pages byte for byte (a hash match is always confirmed). */
  compare: 6,
  /** Checking whether a page repeats one machine word (zram same-filled, the swap zeromap). */
  sameFilledCheck: 7,
  /** Compressing one page with the page codec. */
  compress: 8,
  /** Decompressing one page with the page codec. */
  decompress: 9,
  /** Reading from the swap disk. */
  diskRead: 10,
  /** Writing to the swap disk. */
  diskWrite: 11,
  /** Reading a file page from its disk (a major fault on a file page, read-around, readahead); kept apart from swap I/O. */
  fileRead: 12,
} as const;
export type CostOp = (typeof CostOp)[keyof typeof CostOp];
export type CostOpName = keyof typeof CostOp;

export const COST_OP_NAMES = Object.keys(CostOp) as CostOpName[];
const OP_COUNT = COST_OP_NAMES.length;

/** Disk operations are device time (I/O); everything else is CPU time. */
const IO_OPS: ReadonlySet<CostOpName> = new Set(['diskRead', 'diskWrite', 'fileRead']);

export interface CostEntry {
  /** Fixed time per operation, in nanoseconds. */
  readonly latencyNs: number;
  /** Throughput for the per-byte part; Infinity when the cost has no per-byte part. */
  readonly bytesPerSecond: number;
  /** Where the number comes from. */
  readonly source: string;
}

export type CostTable = Readonly<Record<CostOpName, CostEntry>>;

/** A partial table a scenario may give: any entry, any field. */
export type CostOverrides = Partial<Record<CostOpName, Partial<CostEntry>>>;

/** Bytes per second that make `bytes` cost `ns` nanoseconds. */
export function rateFor(bytes: number, ns: number): number {
  return (bytes / ns) * 1e9;
}

const PAGE = 4096;
const REFERENCE =
  'measured on the reference machine (AMD EPYC KVM guest, 2 vCPU, Linux 6.18) with the C program in docs/notes/swap.md';
const LZ4_BENCH =
  'measured on the reference machine: lz4 1.9.4 -b1 -B4096 on 32 MiB of /usr/lib/x86_64-linux-gnu/*.so* (ratio 1.91)';
const SSD =
  'Samsung 970 EVO Plus 1 TB specification: 4 KiB random QD1 read 19k IOPS, write 60k IOPS; sequential read 3500 MB/s, write 3300 MB/s. latency = 1/IOPS - 4096/bandwidth, so a 4 KiB transfer costs exactly 1/IOPS';

/**
 * Documented constants. Fault costs were timed in C on the reference machine
 * (a KVM guest: fresh-frame faults include EPT overhead, so they are higher
 * than on bare metal). Codec costs are native LZ4 (lz4 1.9.4 `-b1 -B4096`,
 * the algorithm the kernel's zram and zswap use) on the reference machine,
 * so this table prices a kernel, while measureCosts() prices this process.
 */
export const DOCUMENTED_COSTS: CostTable = {
  faultMinor: {
    latencyNs: 500,
    bytesPerSecond: Infinity,
    source: `${REFERENCE}: read fault on a cached file page, MADV_RANDOM (351..642 ns over 3 runs)`,
  },
  faultMajor: {
    latencyNs: 3800,
    bytesPerSecond: Infinity,
    source: `${REFERENCE}: [derived] same as faultZeroFill (a swap-in allocates a frame); the device work is charged as diskRead or decompress`,
  },
  faultZeroFill: {
    latencyNs: 3800,
    bytesPerSecond: Infinity,
    source: `${REFERENCE}: first write to anonymous memory, MADV_NOHUGEPAGE (3213..5181 ns over 3 runs)`,
  },
  cowBreak: {
    latencyNs: 4400,
    bytesPerSecond: Infinity,
    source: `${REFERENCE}: write after read on a MAP_PRIVATE file page (3446..5277 ns over 3 runs)`,
  },
  pageCopy: { latencyNs: 0, bytesPerSecond: rateFor(PAGE, 430), source: `${REFERENCE}: memcpy of 4 KiB, 423..515 ns` },
  hash: {
    latencyNs: 0,
    bytesPerSecond: 7.887e9,
    source: `${REFERENCE}: xxhsum 0.8.1 -b3 -B4K (XXH64 on 4 KiB), 7887 MB/s`,
  },
  compare: {
    latencyNs: 0,
    bytesPerSecond: rateFor(PAGE, 180),
    source: `${REFERENCE}: memcmp of two equal 4 KiB pages, 162..202 ns`,
  },
  sameFilledCheck: {
    latencyNs: 0,
    bytesPerSecond: rateFor(PAGE, 360),
    source: `${REFERENCE}: zram's page_same_filled() loop over a zero page, 354..461 ns; charged per byte scanned`,
  },
  compress: { latencyNs: 0, bytesPerSecond: 560e6, source: `${LZ4_BENCH}, compress 560 MB/s` },
  decompress: { latencyNs: 0, bytesPerSecond: 2130e6, source: `${LZ4_BENCH}, decompress 2130 MB/s` },
  diskRead: { latencyNs: 1e9 / 19_000 - (PAGE / 3.5e9) * 1e9, bytesPerSecond: 3.5e9, source: SSD },
  diskWrite: { latencyNs: 1e9 / 60_000 - (PAGE / 3.3e9) * 1e9, bytesPerSecond: 3.3e9, source: SSD },
  fileRead: {
    latencyNs: 1e9 / 19_000 - (PAGE / 3.5e9) * 1e9,
    bytesPerSecond: 3.5e9,
    source: `${SSD}; file pages are read from the same SSD as swap`,
  },
};

/** Returns `table` with the given entries (or fields of entries) replaced. */
export function withOverrides(table: CostTable, overrides: CostOverrides, source = 'scenario override'): CostTable {
  const out = { ...table } as Record<CostOpName, CostEntry>;
  for (const name of Object.keys(overrides) as CostOpName[]) {
    const base = table[name];
    if (base === undefined) throw new RangeError(`unknown cost entry "${name}"`);
    const o = overrides[name] ?? {};
    const entry: CostEntry = {
      latencyNs: o.latencyNs ?? base.latencyNs,
      bytesPerSecond: o.bytesPerSecond ?? base.bytesPerSecond,
      source: o.source ?? source,
    };
    if (!(entry.latencyNs >= 0) || !(entry.bytesPerSecond > 0)) {
      throw new RangeError(`cost entry "${name}" needs latencyNs >= 0 and bytesPerSecond > 0`);
    }
    out[name] = entry;
  }
  return out;
}

/** Time of `count` operations moving `bytes` bytes in total, in nanoseconds. */
export function entryNs(entry: CostEntry, count: number, bytes: number): number {
  const perByte = entry.bytesPerSecond === Infinity ? 0 : (bytes / entry.bytesPerSecond) * 1e9;
  return count * entry.latencyNs + perByte;
}

export interface CostEstimate {
  /** Estimated CPU time, nanoseconds. */
  cpuNs: number;
  /** Estimated device time (swap disk), nanoseconds. */
  ioNs: number;
  /** Bytes read from and written to the swap disk. */
  swapReadBytes: number;
  swapWriteBytes: number;
  /** Bytes of file pages read from disk. */
  fileReadBytes: number;
  /** Per operation: count, bytes and nanoseconds. */
  ops: Record<CostOpName, { count: number; bytes: number; ns: number }>;
}

/**
 * The event ledger every simulated component charges. Charging is a typed
 * array increment; nothing is allocated per event.
 */
export class CostAccumulator {
  table: CostTable;
  private readonly counts = new Float64Array(OP_COUNT);
  private readonly byteTotals = new Float64Array(OP_COUNT);

  constructor(table: CostTable = DOCUMENTED_COSTS) {
    this.table = table;
  }

  /** Records one operation moving `bytes` bytes. */
  charge(op: CostOp, bytes: number): void {
    this.counts[op]! += 1;
    this.byteTotals[op]! += bytes;
  }

  count(name: CostOpName): number {
    return this.counts[CostOp[name]]!;
  }

  bytes(name: CostOpName): number {
    return this.byteTotals[CostOp[name]]!;
  }

  /** Forgets every event. */
  reset(): void {
    this.counts.fill(0);
    this.byteTotals.fill(0);
  }

  /** Prices the recorded events with `table` (default: this accumulator's table). */
  estimate(table: CostTable = this.table): CostEstimate {
    let cpuNs = 0;
    let ioNs = 0;
    const ops = {} as CostEstimate['ops'];
    for (const name of COST_OP_NAMES) {
      const i = CostOp[name];
      const count = this.counts[i]!;
      const bytes = this.byteTotals[i]!;
      const ns = entryNs(table[name], count, bytes);
      ops[name] = { count, bytes, ns };
      if (IO_OPS.has(name)) ioNs += ns;
      else cpuNs += ns;
    }
    return {
      cpuNs,
      ioNs,
      swapReadBytes: this.bytes('diskRead'),
      swapWriteBytes: this.bytes('diskWrite'),
      fileReadBytes: this.bytes('fileRead'),
      ops,
    };
  }
}
