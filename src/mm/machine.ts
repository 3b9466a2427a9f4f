/**
 * Machine: the memory model's public API. A pool of physical frames, page
 * caches, and processes with VMAs and page tables; exec from an ExecPlan,
 * fork, mmap, munmap, mprotect, brk, mremap, madvise, exit; reads and
 * writes that go through
 * page faults; accounting in /proc's terms. Every result is plain data.
 *
 *   const m = new Machine({ frames: 4096 });
 *   const pid = m.exec(plan);
 *   const child = m.fork(pid);
 *   m.write(child, dataAddr, new Uint8Array([1]));
 *   m.smapsRollup(child).privateDirty;   // bytes
 *
 * Memory policies (policies.ts): a frame limit with reclaim, a
 * swap back end (`swap: { backend: 'zram' }`, optionally `dedupFirst`),
 * `mergeOnRestore`, and KSM (`ksm: { pagesToScan, ... }`, with madvise
 * and prctlMemoryMerge); tick(ms) lets simulated time pass so ksmd and
 * kswapd run.
 *
 * Errors are SimulationError with a stable code: E_SEGV (access outside a
 * VMA or against its protection), E_SIGBUS (file page beyond EOF), E_OOM
 * (frameLimit reached), E_NOMEM (no address space; mprotect over a hole),
 * E_INVAL (bad arguments), E_NOPID (no such process), E_BUSY (a KSM
 * tunable that cannot change while KSM pages exist).
 */
import { SimulationError } from '../errors.js';
import type { ExecPlan } from '../abi/exec-plan.js';
import { accessRange, type AccessKind } from './access.js';
import { brk, mremap } from './brk-mremap.js';
import { checkIoPages, checkMachineOptions, checkPlan, invalid } from './machine-checks.js';
import { MmCore } from './core.js';
import type { FileBacking } from '../abi/file-backing.js';
import { readIntoCache } from './file-pages.js';
import { cacheFileFolios, type PageCacheFill } from './folio-cache.js';
import { type CachedFolio, cachedFolios } from './folio-layout.js';
import { copyMm } from './fork.js';
import { checkInvariants } from './invariants.js';
import { checkPolicyInvariants } from './invariants-policies.js';
import { pageInfoOf } from './page-info.js';
import { Process } from './process.js';
import { OpenFile, readFileRange, willNeed } from './readahead-cache.js';
import { smapsOf, smapsRollupOf } from './smaps.js';
import { machineStats } from './stats.js';
import type {
  MachineOptions,
  MachineStats,
  MmapOptions,
  PageCacheMode,
  PageInfo,
  SmapsEntry,
  SmapsRollup,
  VmaInfo,
} from './types.js';
import { vmaInfo } from './vma-info.js';
import { TASK_SIZE, getUnmappedArea, insertVma, mergeAround, protectRange, unmapRange } from './vma-ops.js';
import { Vma } from './vma.js';
import { CostAccumulator } from './cost.js';
import type { KsmOptions, KsmProcessStat } from './ksm-types.js';
import { Policies } from './policies.js';

export type { MadviseAdvice } from './policies.js';
import type { MadviseAdvice } from './policies.js';

/** The model's internals behind a Machine, for white-box tests and benchmarks; not exported by src/mm/index.ts. */
export function machineCore(machine: Machine): MmCore {
  return cores.get(machine)!;
}

const cores = new WeakMap<Machine, MmCore>();

export class Machine {
  private readonly core: MmCore;
  readonly pageSize: number;
  /** Reclaim, swap, merge-on-restore and KSM, for the simulator and tests. */
  readonly policies: Policies;
  private readonly procs = new Map<number, Process>();
  private readonly openFiles = new Map<FileBacking, OpenFile>();
  private nextPid = 1;

  constructor(options: MachineOptions) {
    const { pageSize, frames, frameLimit, pageCache, faultAround, readAround } = checkMachineOptions(options);
    this.pageSize = pageSize;
    this.core = new MmCore({
      faultAround,
      readAround,
      frames,
      pageSize,
      pageCache,
      keepPageCache: options.keepPageCache ?? false,
      verifyContent: options.verifyContent ?? false,
      frameLimit,
      cost: new CostAccumulator(options.costs),
    });
    this.core.procs = this.procs;
    this.core.faultAroundFreshTable = options.faultAroundFreshTable ?? false;
    this.core.raIoPages = checkIoPages(options.ioPages);
    cores.set(this, this.core);
    this.policies = new Policies(this.core, options);
  }

  /** Memory (frames plus swap back end RAM, in pages) the workload may use before reclaim. */
  get frameLimit(): number {
    return this.core.frameLimit;
  }

  set frameLimit(n: number) {
    this.setFrameLimit(n);
  }

  /**
   * Changes the frame limit. Lowering it reclaims down to the new limit at
   * once (as writing memory.max does); what cannot be freed stays, and
   * allocations fail with E_OOM until memory drops below the limit.
   */
  setFrameLimit(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > this.core.frames.total)
      throw invalid(`frameLimit out of range: ${n}`, { field: 'frameLimit' });
    this.policies.setFrameLimit(n);
  }

  /**
   * Simulated time passes: ksmd runs one batch of pages_to_scan pages per
   * sleep_millisecs, then kswapd reclaims if free memory is under the low
   * watermark. Returns the pages KSM scanned.
   */
  tick(ms: number): number {
    return this.policies.tick(ms);
  }

  /**
   * madvise(2) on [addr, addr + length) (page-aligned, rounded up to pages):
   * 'mergeable' / 'unmergeable' (MADV_MERGEABLE / MADV_UNMERGEABLE, for
   * KSM), 'dontneed' (MADV_DONTNEED: the range's PTEs are zapped; private
   * pages read back as the file or zeros). As in Linux, unmapped parts of
   * the range are E_NOMEM after the mapped parts were advised.
   */
  madvise(pid: number, addr: number, length: number, advice: MadviseAdvice): void {
    const proc = this.proc(pid);
    const len = Math.ceil(length / this.pageSize) * this.pageSize;
    this.checkRange(addr, len, 'madvise');
    this.policies.madvise(proc, addr, addr + len, advice);
  }

  /** brk(2): moves the program break; false when refused (below start_brk, or into another mapping). */
  brk(pid: number, newBrk: number): boolean {
    return brk(this, this.proc(pid), newBrk);
  }

  /** The program break: start_brk (set by exec) and the current brk. */
  getBrk(pid: number): { startBrk: number; brk: number } {
    const proc = this.proc(pid);
    return { startBrk: proc.startBrk, brk: proc.brk };
  }

  /** mremap(2) with MREMAP_MAYMOVE on private anonymous memory: the new address, or null if refused. */
  mremap(pid: number, addr: number, oldLength: number, newLength: number): number | null {
    return mremap(this, this.core, this.policies, this.proc(pid), addr, oldLength, newLength);
  }

  /** The cost ledger every fault, copy, hash, compression and disk transfer is charged to (cost.ts). */
  get cost(): CostAccumulator {
    return this.core.cost;
  }

  /** Frames in use now (what stats().frames.used reports, without building the rest). */
  get framesUsed(): number {
    return this.core.frames.used;
  }

  /** The page cache private file mappings use (MachineOptions.pageCache). */
  get pageCacheMode(): PageCacheMode {
    return this.core.cacheMode;
  }

  /** Whether page-cache pages stay cached when nothing maps them (MachineOptions.keepPageCache). */
  get keepPageCache(): boolean {
    return this.core.keepPageCache;
  }

  /** prctl(PR_SET_MEMORY_MERGE, on): KSM for every compatible VMA of the process, now and after mmap, fork and exec. */
  prctlMemoryMerge(pid: number, on: boolean): void {
    this.policies.ksm.prctlMemoryMerge(this.proc(pid), on);
  }

  /** prctl(PR_GET_MEMORY_MERGE). */
  prctlGetMemoryMerge(pid: number): boolean {
    this.proc(pid);
    return this.policies.ksm.mms.get(pid)?.mergeAny ?? false;
  }

  /** /proc/PID/ksm_stat (ksm_merging_pages is /proc/PID/ksm_merging_pages). */
  ksmStat(pid: number): KsmProcessStat {
    this.proc(pid);
    return this.policies.ksm.processStat(pid);
  }

  /** Writes KSM's sysfs tunables (run, pages_to_scan, sleep_millisecs, use_zero_pages, max_page_sharing, smart_scan). */
  ksmTune(options: KsmOptions): void {
    this.policies.ksm.tune(options);
  }

  /** Live pids, in creation order. */
  pids(): number[] {
    return [...this.procs.keys()];
  }

  /**
   * execve: maps the plan's VMAs into a new process (or replaces the image
   * of `pid`), then applies the kernel's writes (padzero, stack contents)
   * through write faults. Returns the pid.
   */
  exec(plan: ExecPlan, pid?: number): number {
    checkPlan(plan, this.pageSize);
    const fileSpaces = plan.vmas.map((v) => (v.file ? this.core.fileSpace(v.file.backing) : null));
    let proc: Process;
    if (pid === undefined) {
      proc = new Process(this.nextPid++, 0, plan.path);
      this.procs.set(proc.pid, proc);
    } else {
      proc = this.proc(pid);
      unmapRange(this.core, proc, 0, TASK_SIZE);
      this.policies.ksm.execve(proc.pid);
      proc.path = plan.path;
    }
    plan.vmas.forEach((v, i) => {
      const space = fileSpaces[i] ?? (v.shared ? this.core.newShmemSpace() : null);
      const vma = new Vma({
        start: v.start,
        end: v.end,
        prot: v.prot,
        shared: v.shared,
        space,
        pgoff: v.file ? v.file.offset / this.pageSize : 0,
        name: v.name,
        growsDown: v.name === '[stack]',
      });
      this.policies.ksm.newVma(proc.pid, vma);
      insertVma(proc, vma);
    });
    proc.startBrk = plan.startBrk;
    proc.brk = plan.startBrk;
    proc.stackTop = plan.stackTop;
    proc.entry = plan.entry;
    for (const w of plan.writes) accessRange(this.core, proc, w.addr, w.bytes.length, true, w.bytes, true);
    return proc.pid;
  }

  /** fork: a new process sharing every page copy-on-write. Returns the child's pid. */
  fork(pid: number): number {
    const parent = this.proc(pid);
    const child = new Process(this.nextPid++, parent.pid, parent.path);
    this.procs.set(child.pid, child);
    copyMm(this.core, parent, child);
    this.policies.ksm.fork(parent.pid, child.pid);
    return child.pid;
  }

  /** exit: unmaps everything; frames no longer mapped or cached are freed. */
  exit(pid: number): void {
    const proc = this.proc(pid);
    unmapRange(this.core, proc, 0, TASK_SIZE);
    this.policies.ksm.exit(pid);
    this.procs.delete(pid);
  }

  /** mmap: returns the start address. */
  mmap(pid: number, opts: MmapOptions): number {
    const proc = this.proc(pid);
    const ps = this.pageSize;
    if (!Number.isSafeInteger(opts.length) || opts.length <= 0)
      throw invalid(`mmap length must be positive, not ${opts.length}`, { field: 'length' });
    const len = Math.ceil(opts.length / ps) * ps;
    const shared = opts.shared ?? false;
    if (
      opts.file !== undefined &&
      (!Number.isSafeInteger(opts.file.offset) || opts.file.offset < 0 || opts.file.offset % ps !== 0)
    ) {
      throw invalid(`mmap file offset must be a non-negative multiple of ${ps}`, {
        field: 'offset',
        actual: opts.file.offset,
      });
    }
    if (!Number.isInteger(opts.prot) || opts.prot < 0 || opts.prot > 7)
      throw invalid(`prot must be a PROT_* combination, not ${opts.prot}`, { field: 'prot' });
    const fileSpace = opts.file === undefined ? null : this.core.fileSpace(opts.file.backing);
    let start: number;
    if (opts.addr !== undefined) {
      this.checkRange(opts.addr, len, 'mmap');
      start = opts.addr;
      unmapRange(this.core, proc, start, start + len);
    } else {
      start = getUnmappedArea(proc, len, ps);
    }
    const space = fileSpace ?? (shared ? this.core.newShmemSpace() : null);
    const pgoff = opts.file === undefined ? 0 : opts.file.offset / ps;
    const vma = new Vma({ start, end: start + len, prot: opts.prot, shared, space, pgoff, name: opts.name });
    this.policies.ksm.newVma(pid, vma);
    const i = insertVma(proc, vma);
    mergeAround(this.core, proc, i, i);
    return start;
  }

  /** munmap: removes [addr, addr + length) (rounded out to pages). Unmapped holes are fine. */
  munmap(pid: number, addr: number, length: number): void {
    const proc = this.proc(pid);
    const len = Math.ceil(length / this.pageSize) * this.pageSize;
    this.checkRange(addr, len, 'munmap');
    unmapRange(this.core, proc, addr, addr + len);
  }

  /** mprotect: the range must be fully mapped (E_NOMEM otherwise). */
  mprotect(pid: number, addr: number, length: number, prot: number): void {
    const proc = this.proc(pid);
    const len = Math.ceil(length / this.pageSize) * this.pageSize;
    this.checkRange(addr, len, 'mprotect');
    if (!Number.isInteger(prot) || prot < 0 || prot > 7)
      throw invalid(`prot must be a PROT_* combination, not ${prot}`, { field: 'prot' });
    protectRange(this.core, proc, addr, addr + len, prot);
  }

  /** Reads `len` bytes at `addr` through read faults. */
  read(pid: number, addr: number, len: number): Uint8Array {
    const proc = this.proc(pid);
    this.checkSpan(addr, len);
    const out = new Uint8Array(len);
    accessRange(this.core, proc, addr, len, false, out);
    return out;
  }

  /** Writes `bytes` at `addr` through write faults (COW breaks, zero-fill). */
  write(pid: number, addr: number, bytes: Uint8Array): void {
    const proc = this.proc(pid);
    this.checkSpan(addr, bytes.length);
    accessRange(this.core, proc, addr, bytes.length, true, bytes);
  }

  /** Faults in every page of the range for reading or writing, without copying bytes. */
  touch(pid: number, addr: number, len: number, access: AccessKind): void {
    const proc = this.proc(pid);
    this.checkSpan(addr, len);
    if (access !== 'read' && access !== 'write')
      throw invalid(`access must be 'read' or 'write', not ${String(access)}`);
    accessRange(this.core, proc, addr, len, access === 'write', null);
  }

  /** The process's VMAs, as /proc/PID/maps lists them. */
  maps(pid: number): VmaInfo[] {
    return this.proc(pid).vmas.map((v) => vmaInfo(this.core, v));
  }

  smaps(pid: number): SmapsEntry[] {
    return smapsOf(this.core, this.proc(pid));
  }

  smapsRollup(pid: number): SmapsRollup {
    return smapsRollupOf(this.core, this.proc(pid));
  }

  /** What the page at `addr` maps to. */
  pageInfo(pid: number, addr: number): PageInfo {
    return pageInfoOf(this.core, this.proc(pid), addr);
  }

  /** Per-process fault counters (/proc/PID/stat minflt, majflt). */
  processFaults(pid: number): { minor: number; major: number } {
    const p = this.proc(pid);
    return { minor: p.minorFaults, major: p.majorFaults };
  }

  stats(): MachineStats {
    return machineStats(this.core, this.procs.size, this.policies);
  }

  /**
   * readahead(2): reads [offset, offset + length) of a file into the page
   * cache (the cache private mappings use), as reading the file would.
   * Returns pages read. Without keepPageCache nothing maps them, so they
   * are freed again at once; use it with keepPageCache for a warm cache.
   */
  readahead(backing: FileBacking, offset = 0, length = backing.size): number {
    const ps = this.pageSize;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw invalid(`readahead range ${offset} + ${length} is not valid`, { offset, length });
    }
    const space = this.core.fileSpace(backing);
    const first = Math.floor(offset / ps);
    const read = readIntoCache(this.core, space, first, Math.ceil((offset + length) / ps), true);
    if (!this.core.keepPageCache) this.core.dropCaches();
    return read;
  }

  /** open(2) of a file for read(): a struct file with its own readahead state (ra_pages = readAround). */
  openFile(backing: FileBacking): OpenFile {
    this.core.fileSpace(backing);
    return new OpenFile(backing, this.core.readAround);
  }

  /**
   * posix_fadvise on an open file: 'normal', 'sequential' (ra_pages × 2)
   * and 'random' change its readahead state; 'willneed' reads
   * [offset, offset + length) (length 0: to the end) as readahead(2) does,
   * at most max(ioPages, ra_pages) pages of it.
   */
  fadvise(file: OpenFile, advice: 'normal' | 'sequential' | 'random' | 'willneed', offset = 0, length = 0): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw invalid(`fadvise range ${offset} + ${length} is not valid`, { offset, length });
    }
    if (advice !== 'willneed') file.fadvise(advice);
    else {
      willNeed(this.core, file, offset, length);
      if (!this.core.keepPageCache) this.core.dropCaches();
    }
  }

  /**
   * read(2) of `length` bytes at `offset`, cold or warm: pages not cached
   * are read with the readahead Linux 6.18 does (readahead.ts: window
   * ramp-up, growing folio orders, PG_readahead). `file` is an openFile(),
   * or a backing (one open file per backing, kept by the Machine). Returns
   * the bytes read. Without keepPageCache nothing keeps the pages cached.
   */
  readFile(file: OpenFile | FileBacking, offset: number, length: number): number {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw invalid(`read range ${offset} + ${length} is not valid`, { offset, length });
    }
    let open: OpenFile;
    if (file instanceof OpenFile) open = file;
    else {
      open = this.openFiles.get(file) ?? this.openFile(file);
      this.openFiles.set(file, open);
    }
    const read = readFileRange(this.core, open.backing, open.ra, offset, length);
    if (!this.core.keepPageCache) this.core.dropCaches();
    return read;
  }

  /**
   * Puts a whole file into the page cache in the folio sizes `fill` says
   * (folio.ts): written by write() calls, 4 KiB pages, or explicit sizes.
   * Pages already cached stay as they are; the file must not be cached
   * yet for the layout to apply. Returns pages read. Needs keepPageCache
   * for the pages to stay while nothing maps them.
   */
  cacheFile(backing: FileBacking, fill: PageCacheFill): number {
    return cacheFileFolios(this.core, backing, fill);
  }

  /** The file's cached folios in file order (index, pages), as /proc/kpageflags shows them. */
  cachedFolios(backing: FileBacking): CachedFolio[] {
    return cachedFolios(this.core, backing);
  }

  /** Frees clean page-cache pages that nothing maps (drop_caches). Returns frames freed. */
  dropCaches(): number {
    return this.core.dropCaches();
  }

  /**
   * Recomputes mapcounts, refcounts, rmap lists, LRU lists, page-table
   * counts, swap counts and the swap cache, and KSM's trees and counters
   * from scratch; throws InternalError on any mismatch.
   */
  checkInvariants(): void {
    const procs = [...this.procs.values()];
    checkInvariants(this.core, procs);
    checkPolicyInvariants(this.core, procs, this.policies);
  }

  private proc(pid: number): Process {
    const p = this.procs.get(pid);
    if (p === undefined) throw new SimulationError('E_NOPID', `no process ${pid}`, { pid });
    return p;
  }

  private checkSpan(addr: number, len: number): void {
    if (
      !Number.isSafeInteger(addr) ||
      !Number.isSafeInteger(len) ||
      addr < 0 ||
      len < 0 ||
      !Number.isSafeInteger(addr + len)
    ) {
      throw invalid(`bad address range ${addr} + ${len}`, { addr, len });
    }
  }

  private checkRange(addr: number, len: number, what: string): void {
    if (!Number.isSafeInteger(addr) || addr % this.pageSize !== 0 || addr < 0 || len <= 0 || addr + len > TASK_SIZE) {
      throw invalid(
        `${what}: address 0x${addr.toString(16)} and length ${len} must be page-aligned and inside user space`,
        { addr, len },
      );
    }
  }
}
