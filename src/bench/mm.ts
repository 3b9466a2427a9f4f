/**
 * Memory-model benchmark: `npm run bench -- mm [--procs N] [--pages N] [--scenario NAME] [--json]`.
 * For exact heap figures run node with --expose-gc (the bench then collects
 * garbage before measuring): `node --expose-gc dist/bench/main.js mm`.
 *
 * Rates are per CPU-second of this process (process.cpuUsage), so other
 * load on the machine does not skew them.
 *
 * Scenarios (default: all):
 * - shared-exec: N processes (default 1000) each exec a program whose text
 *   is P file pages (default 10 000) and read every text page: N × P mapped
 *   pages of one shared file (10 M by default). Measures exec/s, pages
 *   touched/s (one minor fault maps 16 of them, by fault-around), and the
 *   heap holding the mapped pages. --fault-around N sets the window (1 = off).
 * - fork-tree: one process writes P anonymous pages, then forks N − 1
 *   children (N × P mapped pages, all COW-shared), then every child writes
 *   1% of its pages. Measures fork PTE copies/s, COW faults/s, heap.
 * - zero-fill: one process write-touches P × 10 anonymous pages (no
 *   bytes), then writes real bytes to P pages. Measures zero-fill faults/s
 *   and the cost of materialised pages.
 */
import type { FileBacking } from '../abi/file-backing.js';
import { Machine, machineCore } from '../mm/machine.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan } from '../abi/exec-plan.js';
import { UsageError } from '../errors.js';

const PAGE = 4096;

/** A file of `pages` distinct pages whose bytes are made on demand (no 40 MB buffer). */
class SyntheticBacking implements FileBacking {
  readonly size: number;
  readonly pageSize = PAGE;
  constructor(
    readonly path: string,
    readonly pageCount: number,
  ) {
    this.size = pageCount * PAGE;
  }
  readPage(pageIndex: number, into: Uint8Array): void {
    into.fill(pageIndex & 0xff);
    into[0] = 1;
  }
  contentId(pageIndex: number): number {
    return pageIndex + 1;
  }
}

function planFor(backing: SyntheticBacking, textPages: number): ExecPlan {
  const base = 0x555555554000;
  const data = base + textPages * PAGE;
  const stackTop = 0x7ffffffff000;
  return {
    path: backing.path,
    vmas: [
      { start: base, end: data, prot: PROT_READ | PROT_EXEC, shared: false, file: { backing, offset: 0 } },
      {
        start: data,
        end: data + PAGE,
        prot: PROT_READ | PROT_WRITE,
        shared: false,
        file: { backing, offset: textPages * PAGE },
      },
      { start: data + PAGE, end: data + 3 * PAGE, prot: PROT_READ | PROT_WRITE, shared: false },
      { start: stackTop - 33 * PAGE, end: stackTop, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' },
    ],
    writes: [
      { addr: data + 0x100, bytes: new Uint8Array(PAGE - 0x100) },
      { addr: stackTop - 512, bytes: new Uint8Array(512).fill(0x41) },
    ],
    entry: base,
    loadBias: base,
    startBrk: data + 3 * PAGE,
    stackTop,
  };
}

interface Heap {
  heapUsedMB: number;
  arrayBuffersMB: number;
  totalMB: number;
}

function heap(): Heap {
  (globalThis as { gc?: () => void }).gc?.();
  const u = process.memoryUsage();
  const mb = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;
  return { heapUsedMB: mb(u.heapUsed), arrayBuffersMB: mb(u.arrayBuffers), totalMB: mb(u.heapUsed + u.arrayBuffers) };
}

/**
 * CPU milliseconds of this process (user + system). The model is single-threaded,
 * so CPU time is its cost; unlike wall time it does not depend on other load.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** MB reserved by the model's own typed arrays (frames, page tables, page slab). */
function modelMB(m: Machine): number {
  const c = machineCore(m);
  return Math.round(((c.frames.metadataBytes + c.pt.reservedBytes + c.slab.reservedBytes) / 2 ** 20) * 10) / 10;
}

function rate(count: number, ms: number): number {
  return Math.round(count / (ms / 1000));
}

function sharedExec(procs: number, pages: number, faultAround: number): Record<string, unknown> {
  const before = heap();
  const m = new Machine({ frames: pages + 4 * procs + 1024, pageCache: 'content', faultAround });
  const backing = new SyntheticBacking('/bench/prog', pages + 1);
  const plan = planFor(backing, pages);
  const pids: number[] = [];
  let t = cpuMs();
  for (let i = 0; i < procs; i++) pids.push(m.exec(plan));
  const execMs = cpuMs() - t;
  t = cpuMs();
  for (const pid of pids) m.touch(pid, 0x555555554000, pages * PAGE, 'read');
  const faultMs = cpuMs() - t;
  const after = heap();
  const s = m.stats();
  t = cpuMs();
  const rollup = m.smapsRollup(pids[0]!);
  const smapsMs = cpuMs() - t;
  t = cpuMs();
  for (const pid of pids) m.exit(pid);
  const exitMs = cpuMs() - t;
  return {
    scenario: 'shared-exec',
    procs,
    faultAround,
    mappedPages: procs * pages,
    execPerSec: rate(procs, execMs),
    execMappedPagesPerSec: rate(procs * (pages + 36), execMs),
    pagesTouchedPerSec: rate(procs * pages, faultMs),
    minorFaultsPerSec: rate(m.stats().faults.minor, faultMs),
    smapsRollupPagesPerSec: rate(pages + 2, smapsMs),
    exitPagesPerSec: rate(procs * pages, exitMs),
    framesUsed: s.frames.used,
    pageTablePages: s.pageTablePages,
    faults: s.faults,
    pss0KB: Math.floor(rollup.pss / 1024),
    heapBefore: before,
    heapWithPagesMapped: after,
    modelArraysMB: modelMB(m),
    bytesPerMappedPage: Math.round(((after.totalMB - before.totalMB) * 2 ** 20) / (procs * pages)),
  };
}

function forkTree(procs: number, pages: number): Record<string, unknown> {
  const before = heap();
  const m = new Machine({ frames: pages + procs * Math.ceil(pages / 100) + 4 * procs + 1024 });
  const backing = new SyntheticBacking('/bench/prog', 2);
  const parent = m.exec(planFor(backing, 1));
  const heapStart = m.mmap(parent, { length: pages * PAGE, prot: PROT_READ | PROT_WRITE, name: '[heap]' });
  m.touch(parent, heapStart, pages * PAGE, 'write');
  let t = cpuMs();
  const children: number[] = [];
  for (let i = 1; i < procs; i++) children.push(m.fork(parent));
  const forkMs = cpuMs() - t;
  const after = heap();
  t = cpuMs();
  const step = 100 * PAGE;
  for (const c of children) for (let a = heapStart; a < heapStart + pages * PAGE; a += step) m.touch(c, a, 1, 'write');
  const cowMs = cpuMs() - t;
  const s = m.stats();
  return {
    scenario: 'fork-tree',
    procs,
    mappedPages: procs * (pages + 3),
    forkPerSec: rate(procs - 1, forkMs),
    forkPtesCopiedPerSec: rate((procs - 1) * (pages + 3), forkMs),
    cowFaultsPerSec: rate(s.faults.cow, cowMs),
    cowFaults: s.faults.cow,
    framesUsed: s.frames.used,
    heapBefore: before,
    heapAfterFork: after,
    modelArraysMB: modelMB(m),
    bytesPerMappedPage: Math.round(((after.totalMB - before.totalMB) * 2 ** 20) / (procs * pages)),
  };
}

function zeroFill(pages: number): Record<string, unknown> {
  const n = pages * 10;
  const m = new Machine({ frames: n + 2 * pages + 16 });
  const pid = m.exec({ path: 'zero', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  const a = m.mmap(pid, { length: n * PAGE, prot: PROT_READ | PROT_WRITE });
  let t = cpuMs();
  m.touch(pid, a, n * PAGE, 'write');
  const touchMs = cpuMs() - t;
  const b = m.mmap(pid, { length: pages * PAGE, prot: PROT_READ | PROT_WRITE });
  const bytes = new Uint8Array(pages * PAGE).fill(7);
  t = cpuMs();
  m.write(pid, b, bytes);
  const writeMs = cpuMs() - t;
  t = cpuMs();
  const child = m.fork(pid);
  m.touch(child, b, pages * PAGE, 'write');
  const cowMs = cpuMs() - t;
  return {
    scenario: 'zero-fill',
    zeroFillFaultsPerSec: rate(n, touchMs),
    writtenPagesPerSec: rate(pages, writeMs),
    writeMBPerSec: Math.round((pages * PAGE) / 2 ** 20 / (writeMs / 1000)),
    forkAndCowCopyPagesPerSec: rate(pages, cowMs),
    materializedPages: m.stats().materialized,
  };
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${name} needs a positive integer`);
  return v;
}

export async function benchMm(args: string[]): Promise<void> {
  const procs = option(args, '--procs', 1000);
  const pages = option(args, '--pages', 10_000);
  const si = args.indexOf('--scenario');
  const which = si >= 0 ? args[si + 1] : 'all';
  const results: Record<string, unknown>[] = [];
  const faultAround = option(args, '--fault-around', 16);
  if (which === 'all' || which === 'shared-exec') results.push(sharedExec(procs, pages, faultAround));
  if (which === 'all' || which === 'fork-tree') results.push(forkTree(procs, pages));
  if (which === 'all' || which === 'zero-fill') results.push(zeroFill(pages));
  if (results.length === 0) throw new UsageError(`unknown scenario ${which}: use shared-exec, fork-tree or zero-fill`);
  if (!(globalThis as { gc?: () => void }).gc) console.error('note: run node with --expose-gc for exact heap figures');
  if (args.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const r of results) {
    console.log(`# ${String(r.scenario)}`);
    for (const [k, v] of Object.entries(r))
      if (k !== 'scenario') console.log(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
}
