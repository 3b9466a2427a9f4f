// The random-sequence driver of the model-based tests (not a test file
// itself): random exec, fork, read, write, touch, mmap, munmap, mprotect,
// exit and drop_caches — and, for the policy runs, madvise (mergeable,
// unmergeable, dontneed), prctl(PR_SET_MEMORY_MERGE), tick and frame-limit
// changes — on a Machine and on the plain reference model
// (test/mm-reference.ts). Every read must equal the reference, the
// invariants must hold after every step, and once every process has exited
// no frame, page-table page, slab slot or swap slot may be left.
import { expect } from 'vitest';
import {
  ContentIndex,
  Machine,
  MemoryBacking,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type ExecPlan,
  type MachineOptions,
  type MachineStats,
} from '../src/mm/index.js';
import { SimulationError } from '../src/errors.js';
import { machineCore } from '../src/mm/machine.js';
import { PAGE, STACK_TOP } from './mm-helpers.js';
import { RefProcess } from './mm-reference.js';
import { seededRandom } from '../src/util/prng.js';

export type Rand = () => number;

export interface RunConfig {
  /** Machine options (frames defaults to 4096). */
  machine: Omit<MachineOptions, 'frames'> & { frames?: number };
  steps: number;
  /** Policy runs: madvise, prctl, tick and frame-limit steps too, and random bytes in some writes. */
  policyOps?: boolean;
  /**
   * Keep memory pressure on: before every step the frame limit is set to
   * `base` pages beyond what cannot be reclaimed (shmem frames) and the swap
   * back end's RAM, so every allocation reclaims.
   */
  pressure?: { base: number };
  /** For messages. */
  name?: string;
  /** Called after some steps and at the end with the machine and the reference, for extra checks. */
  check?: (m: Machine, ref: Map<number, RefProcess>) => void;
  /** How often (in steps) `check` runs; default every 10 steps. */
  checkEvery?: number;
}

export interface RunResult {
  /** The step at which an allocation failed with E_OOM (the sequence stops there), or -1. */
  oomAt: number;
  machine: Machine;
  /** stats() before the processes exited. */
  before: MachineStats;
}

/** Byte equality without vitest's slow element-by-element diff of typed arrays. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array | undefined, what: string): void {
  if (expected === undefined) throw new Error(`${what}: the reference faults here`);
  if (Buffer.compare(actual, expected) === 0) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  throw new Error(
    `${what}: byte ${i} is ${actual[i]}, the reference has ${expected[i]} (lengths ${actual.length}, ${expected.length})`,
  );
}
export const int = (r: Rand, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** A few files whose pages repeat across and inside files, with zero pages. */
export function makeFiles(r: Rand): MemoryBacking[] {
  const index = new ContentIndex(PAGE);
  const files: MemoryBacking[] = [];
  for (let f = 0; f < 3; f++) {
    const pages = 3 + int(r, 5);
    const bytes = new Uint8Array(pages * PAGE - int(r, PAGE)); // a partial last page
    for (let p = 0; p < pages; p++) {
      const kind = int(r, 4);
      if (kind === 0) continue; // zero page
      const fill = 1 + int(r, 3); // few contents: many duplicates
      for (let i = p * PAGE; i < Math.min(bytes.length, (p + 1) * PAGE); i++) bytes[i] = (fill * 31 + (i % 7)) & 0xff;
    }
    files.push(new MemoryBacking(`/bin/f${f}`, bytes, { index }));
  }
  return files;
}

export function makePlan(r: Rand, file: MemoryBacking, base: number): ExecPlan {
  const text = 1 + int(r, file.pageCount - 1);
  const dataStart = base + text * PAGE;
  const vmas: ExecPlan['vmas'] = [
    { start: base, end: dataStart, prot: PROT_READ | PROT_EXEC, shared: false, file: { backing: file, offset: 0 } },
    {
      start: dataStart,
      end: dataStart + PAGE,
      prot: PROT_READ | PROT_WRITE,
      shared: false,
      file: { backing: file, offset: text * PAGE },
    },
    { start: dataStart + PAGE, end: dataStart + 3 * PAGE, prot: PROT_READ | PROT_WRITE, shared: false },
  ];
  if (r() < 0.3)
    vmas.push({ start: dataStart + 5 * PAGE, end: dataStart + 7 * PAGE, prot: PROT_READ | PROT_WRITE, shared: true });
  vmas.push({
    start: STACK_TOP - 8 * PAGE,
    end: STACK_TOP,
    prot: PROT_READ | PROT_WRITE,
    shared: false,
    name: '[stack]',
  });
  const pad = int(r, PAGE);
  const argv = new Uint8Array(1 + int(r, 300)).map(() => int(r, 256));
  return {
    path: file.path,
    vmas,
    writes: [
      { addr: dataStart + pad, bytes: new Uint8Array(PAGE - pad) },
      { addr: STACK_TOP - argv.length, bytes: argv },
    ],
    entry: base,
    loadBias: base,
    startBrk: dataStart + 3 * PAGE,
    stackTop: STACK_TOP,
  };
}

function isOom(e: unknown): boolean {
  return e instanceof SimulationError && e.code === 'E_OOM';
}

export function runSequence(seed: number, config: RunConfig, log: string[]): RunResult {
  const r = seededRandom(seed);
  const files = makeFiles(r);
  const frames = config.machine.frames ?? 4096;
  const m = new Machine({ ...config.machine, frames, verifyContent: true });
  const ref = new Map<number, RefProcess>();
  const checkEvery = config.checkEvery ?? 10;

  const randomAddr = (p: RefProcess): number => {
    const v = p.vmas.length > 0 && r() < 0.9 ? pick(r, p.vmas) : undefined;
    if (!v) return 0x10000000 + int(r, 64) * PAGE;
    return v.start + int(r, v.end - v.start + PAGE) - (r() < 0.1 ? PAGE : 0);
  };
  const expectFault = (fn: () => void, what: string): void => {
    try {
      fn();
    } catch (e) {
      if (e instanceof SimulationError && (e.code === 'E_SEGV' || e.code === 'E_NOMEM')) return;
      throw e;
    }
    throw new Error(`${what}: expected a fault`);
  };
  const applyPressure = (): void => {
    if (!config.pressure) return;
    const core = machineCore(m);
    m.setFrameLimit(Math.min(frames, config.pressure.base + core.nrShmem + core.swapRamPages));
  };

  let oomAt = -1;
  for (let step = 0; step < config.steps && oomAt === -1; step++) {
    applyPressure();
    const pids = [...ref.keys()];
    const op = pids.length === 0 ? 0 : int(r, config.policyOps ? 16 : 12);
    const pid = pids.length > 0 ? pick(r, pids) : 0;
    const p = ref.get(pid)!;
    try {
      doStep(op, pid, p, pids);
    } catch (e) {
      if (!isOom(e)) throw e;
      oomAt = step;
      const st = m.stats();
      log.push(
        `E_OOM at step ${step}: ${JSON.stringify({ memory: st.memory, lru: st.lru, shmem: st.shmem, pageCache: st.pageCache, anon: st.anonymous })}`,
      );
      if (process.env.MM_OOM_FAIL) throw e;
    }
    m.checkInvariants();
    if (config.check && (step + 1) % checkEvery === 0 && oomAt === -1) config.check(m, ref);
  }

  function doStep(op: number, pid: number, p: RefProcess, pids: number[]): void {
    switch (op) {
      case 0: {
        const plan = makePlan(r, pick(r, files), 0x555555554000 + int(r, 4) * 0x100000);
        const replace = pids.length > 0 && r() < 0.3;
        log.push(`exec ${plan.path}${replace ? ` into ${pid}` : ''}`);
        const got = m.exec(plan, replace ? pid : undefined);
        ref.set(got, RefProcess.exec(plan, PAGE));
        break;
      }
      case 1: {
        if (pids.length >= 6) break;
        log.push(`fork ${pid}`);
        ref.set(m.fork(pid), p.fork());
        break;
      }
      case 2:
      case 3: {
        const addr = randomAddr(p);
        const len = 1 + int(r, 2 * PAGE);
        log.push(`read ${pid} 0x${addr.toString(16)} ${len}`);
        const want = p.read(addr, len);
        if (want.bytes) expectBytes(m.read(pid, addr, len), want.bytes, `read ${pid} 0x${addr.toString(16)}`);
        else expectFault(() => m.read(pid, addr, len), `read at 0x${want.faultAt!.toString(16)}`);
        break;
      }
      case 4:
      case 5: {
        const addr = randomAddr(p);
        const len = 1 + int(r, 2 * PAGE);
        const random = config.policyOps === true && r() < 0.15;
        const bytes = random ? new Uint8Array(len).map(() => int(r, 256)) : new Uint8Array(len).fill(1 + int(r, 255));
        log.push(`write ${pid} 0x${addr.toString(16)} ${bytes.length}${random ? ' random' : ''}`);
        const faultAt = p.faultAt(addr, bytes.length, true);
        if (faultAt === undefined) {
          m.write(pid, addr, bytes);
          p.write(addr, bytes);
        } else {
          p.write(addr, bytes);
          expectFault(() => m.write(pid, addr, bytes), `write at 0x${faultAt.toString(16)}`);
        }
        break;
      }
      case 6: {
        const addr = randomAddr(p);
        const len = 1 + int(r, 3 * PAGE);
        const access = r() < 0.5 ? 'read' : 'write';
        log.push(`touch ${pid} 0x${addr.toString(16)} ${len} ${access}`);
        if (p.faultAt(addr, len, access === 'write') === undefined) m.touch(pid, addr, len, access);
        else expectFault(() => m.touch(pid, addr, len, access), 'touch');
        break;
      }
      case 7: {
        const len = (1 + int(r, 4)) * PAGE;
        const fixed = r() < 0.3 ? Math.min(Math.floor(randomAddr(p) / PAGE) * PAGE, STACK_TOP - len) : undefined;
        const kind = int(r, 3);
        const prot = pick(r, [PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC]);
        const file = pick(r, files);
        const offset = int(r, file.pageCount) * PAGE;
        const shared = kind === 2;
        log.push(
          `mmap ${pid} ${fixed === undefined ? 'any' : `0x${fixed.toString(16)}`} ${len} kind=${kind} prot=${prot}`,
        );
        const at = m.mmap(pid, {
          addr: fixed,
          length: len,
          prot,
          shared,
          ...(kind === 1 ? { file: { backing: file, offset } } : {}),
        });
        if (fixed !== undefined) expect(at).toBe(fixed);
        else for (const v of p.vmas) expect(v.end <= at || v.start >= at + len).toBe(true);
        if (kind === 1 && offset + len > file.pageCount * PAGE) {
          // pages past the end of the file raise SIGBUS: keep them out of the reference
          const valid = Math.max(0, file.pageCount * PAGE - offset);
          p.add({ start: at, end: at + len, prot: 0, file: { backing: file, offset } });
          m.munmap(pid, at + valid, len - valid);
          p.unmap(at + valid, at + len);
          if (valid > 0) p.vmas.find((v) => v.start === at)!.prot = prot;
        } else {
          p.add({
            start: at,
            end: at + len,
            prot,
            ...(kind === 1 ? { file: { backing: file, offset } } : {}),
            ...(shared ? { shm: { obj: { pages: new Map() }, pgoff: 0 } } : {}),
          });
        }
        break;
      }
      case 8: {
        const len = (1 + int(r, 4)) * PAGE;
        const start = Math.min(Math.floor(randomAddr(p) / PAGE) * PAGE, STACK_TOP - len);
        log.push(`munmap ${pid} 0x${start.toString(16)} ${len}`);
        m.munmap(pid, start, len);
        p.unmap(start, start + len);
        break;
      }
      case 9: {
        const len = (1 + int(r, 3)) * PAGE;
        const start = Math.min(Math.floor(randomAddr(p) / PAGE) * PAGE, STACK_TOP - len);
        const prot = pick(r, [0, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_WRITE]);
        log.push(`mprotect ${pid} 0x${start.toString(16)} ${len} ${prot}`);
        if (p.protect(start, start + len, prot)) m.mprotect(pid, start, len, prot);
        else expectFault(() => m.mprotect(pid, start, len, prot), 'mprotect');
        break;
      }
      case 10: {
        log.push(`exit ${pid}`);
        m.exit(pid);
        ref.delete(pid);
        break;
      }
      case 11: {
        log.push('dropCaches');
        m.dropCaches();
        break;
      }
      case 12: {
        const len = (1 + int(r, 8)) * PAGE;
        const start = Math.min(Math.floor(randomAddr(p) / PAGE) * PAGE, STACK_TOP - len);
        const advice = pick(r, ['mergeable', 'mergeable', 'unmergeable', 'dontneed'] as const);
        log.push(`madvise ${pid} 0x${start.toString(16)} ${len} ${advice}`);
        const mapped = everyPageMapped(p, start, len);
        if (advice === 'dontneed') p.dontneed(start, start + len);
        if (mapped) m.madvise(pid, start, len, advice);
        else expectFault(() => m.madvise(pid, start, len, advice), 'madvise');
        break;
      }
      case 13:
      case 14: {
        const ms = pick(r, [20, 20, 60, 200]);
        log.push(`tick ${ms}`);
        m.tick(ms);
        break;
      }
      case 15: {
        const on = r() < 0.7;
        log.push(`prctl ${pid} PR_SET_MEMORY_MERGE ${on ? 1 : 0}`);
        m.prctlMemoryMerge(pid, on);
        break;
      }
    }
  }

  // Every byte of every readable page equals the reference (no OOM in these reads: they may swap in).
  if (oomAt === -1) {
    if (config.check) config.check(m, ref);
    for (const [pid, p] of ref) {
      for (const v of p.vmas) {
        if (!p.readable(v)) continue;
        applyPressure();
        try {
          expectBytes(
            m.read(pid, v.start, v.end - v.start),
            p.read(v.start, v.end - v.start).bytes,
            `final read ${pid} 0x${v.start.toString(16)}`,
          );
        } catch (e) {
          if (isOom(e) && process.env.MM_OOM_FAIL) {
            const st = m.stats();
            console.log(
              JSON.stringify({
                memory: st.memory,
                lru: st.lru,
                shmem: st.shmem,
                pageCache: st.pageCache,
                anon: st.anonymous,
                vm: st.vmstat,
              }),
            );
            for (let f = 1; f < machineCore(m).frames.highWater; f++)
              if (machineCore(m).frames.flags[f])
                console.log(
                  f,
                  machineCore(m).frames.flags[f]!.toString(2),
                  machineCore(m).frames.mapcount[f],
                  machineCore(m).frames.refcount[f],
                  machineCore(m).frames.lruList[f],
                );
          }
          if (!isOom(e) || process.env.MM_OOM_FAIL) throw e;
          oomAt = config.steps;
          break;
        }
      }
      const machineVmas = m.maps(pid);
      for (const v of p.vmas) {
        // madvise may split a VMA the reference keeps whole: compare page by page.
        for (let a = v.start; a < v.end; a += PAGE) {
          const mv = machineVmas.find((x) => x.start <= a && a < x.end);
          if (mv?.prot !== v.prot) expect(mv?.prot, `pid ${pid} prot at 0x${a.toString(16)}`).toBe(v.prot);
        }
      }
    }
  }
  m.checkInvariants();
  const before = m.stats();
  for (const pid of m.pids()) m.exit(pid); // an exec that failed with E_OOM left a process the reference lacks
  m.dropCaches();
  m.checkInvariants();
  const s = m.stats();
  expect(s.frames.used).toBe(0);
  expect(s.pageTablePages).toBe(0);
  expect(s.materialized).toBe(0);
  if (s.swap !== null) {
    expect(s.swap.usedPages, 'swap slots leaked').toBe(0);
    expect(s.swap.swapCachePages).toBe(0);
    expect(s.memory.swapRam, 'swap back end RAM left').toBe(0);
  }
  expect(s.ksm.ksm_zero_pages).toBe(0);
  if (s.ksm.rmap_items + s.ksm.pages_shared + s.ksm.pages_sharing > 0) {
    // exited mms keep their rmap_items until ksmd's cursor reaches them (__ksm_exit): one more full scan frees them
    expect(s.ksm.run, 'KSM items left with ksmd stopped').toBe(1);
    const scans = s.ksm.full_scans;
    for (let i = 0; i < 100_000 && m.stats().ksm.full_scans === scans; i++) m.tick(s.ksm.sleep_millisecs);
    m.checkInvariants();
  }
  const k = m.stats().ksm;
  expect(k.rmap_items + k.pages_shared + k.pages_sharing + k.ksm_zero_pages).toBe(0);
  return { oomAt, machine: m, before };
}

function everyPageMapped(p: RefProcess, start: number, len: number): boolean {
  for (let a = start; a < start + len; a += PAGE) if (!p.vmaAt(a)) return false;
  return true;
}
