// Model-based test: thousands of random sequences of exec, fork, read,
// write, touch, mmap, munmap, mprotect and exit, run on the Machine and on
// a plain reference model (test/mm-reference.ts). Every read must equal
// the reference, every fault the reference predicts must happen, the
// invariants must hold after every step, and once every process has
// exited no frame may be left. The seed is printed on failure; rerun one
// with MM_SEED=<seed> MM_SEQUENCES=1.
import { describe, expect, it } from 'vitest';
import {
  ContentIndex,
  Machine,
  MemoryBacking,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SimulationError,
  type ExecPlan,
} from '../src/index.js';
import { PAGE, STACK_TOP, prng } from './mm-helpers.js';
import { RefProcess } from './mm-reference.js';

const SEQUENCES = Number(process.env['MM_SEQUENCES'] ?? 2000);
const FIRST_SEED = Number(process.env['MM_SEED'] ?? 1);
const STEPS = 40;

type Rand = () => number;

/** Byte equality without vitest's slow element-by-element diff of typed arrays. */
function expectBytes(actual: Uint8Array, expected: Uint8Array | undefined, what: string): void {
  if (expected === undefined) throw new Error(`${what}: the reference faults here`);
  if (Buffer.compare(actual, expected) === 0) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  throw new Error(`${what}: byte ${i} is ${actual[i]}, the reference has ${expected[i]} (lengths ${actual.length}, ${expected.length})`);
}
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** A few files whose pages repeat across and inside files, with zero pages. */
function makeFiles(r: Rand): MemoryBacking[] {
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

function makePlan(r: Rand, file: MemoryBacking, base: number): ExecPlan {
  const text = 1 + int(r, file.pageCount - 1);
  const dataStart = base + text * PAGE;
  const vmas: ExecPlan['vmas'] = [
    { start: base, end: dataStart, prot: PROT_READ | PROT_EXEC, shared: false, file: { backing: file, offset: 0 } },
    { start: dataStart, end: dataStart + PAGE, prot: PROT_READ | PROT_WRITE, shared: false, file: { backing: file, offset: text * PAGE } },
    { start: dataStart + PAGE, end: dataStart + 3 * PAGE, prot: PROT_READ | PROT_WRITE, shared: false },
  ];
  if (r() < 0.3) vmas.push({ start: dataStart + 5 * PAGE, end: dataStart + 7 * PAGE, prot: PROT_READ | PROT_WRITE, shared: true });
  vmas.push({ start: STACK_TOP - 8 * PAGE, end: STACK_TOP, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' });
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

function runSequence(seed: number, config: { pageCache: 'content' | 'file'; keepPageCache: boolean }, log: string[]): void {
  const r = prng(seed);
  const files = makeFiles(r);
  const m = new Machine({ frames: 4096, ...config, verifyContent: true });
  const ref = new Map<number, RefProcess>();

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

  for (let step = 0; step < STEPS; step++) {
    const pids = [...ref.keys()];
    const op = pids.length === 0 ? 0 : int(r, 12);
    const pid = pids.length > 0 ? pick(r, pids) : 0;
    const p = ref.get(pid)!;
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
        const bytes = new Uint8Array(1 + int(r, 2 * PAGE)).fill(1 + int(r, 255));
        log.push(`write ${pid} 0x${addr.toString(16)} ${bytes.length}`);
        const faultAt = p.write(addr, bytes);
        if (faultAt === undefined) m.write(pid, addr, bytes);
        else expectFault(() => m.write(pid, addr, bytes), `write at 0x${faultAt.toString(16)}`);
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
        log.push(`mmap ${pid} ${fixed === undefined ? 'any' : '0x' + fixed.toString(16)} ${len} kind=${kind} prot=${prot}`);
        const at = m.mmap(pid, { addr: fixed, length: len, prot, shared, ...(kind === 1 ? { file: { backing: file, offset } } : {}) });
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
          p.add({ start: at, end: at + len, prot, ...(kind === 1 ? { file: { backing: file, offset } } : {}), ...(shared ? { shm: { obj: { pages: new Map() }, pgoff: 0 } } : {}) });
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
    }
    m.checkInvariants();
  }

  // Every byte of every readable page equals the reference.
  for (const [pid, p] of ref) {
    for (const v of p.vmas) {
      if (!p.readable(v)) continue;
      expectBytes(m.read(pid, v.start, v.end - v.start), p.read(v.start, v.end - v.start).bytes, `final read ${pid} 0x${v.start.toString(16)}`);
    }
    const machineVmas = m.maps(pid);
    for (const v of p.vmas) {
      const mv = machineVmas.find((x) => x.start <= v.start && v.end <= x.end);
      expect(mv?.prot).toBe(v.prot);
    }
  }
  for (const pid of ref.keys()) m.exit(pid);
  m.dropCaches();
  m.checkInvariants();
  const s = m.stats();
  expect(s.frames.used).toBe(0);
  expect(s.pageTablePages).toBe(0);
  expect(s.materialized).toBe(0);
}

describe('model-based: random sequences against a reference model', () => {
  const configs = [
    { pageCache: 'content', keepPageCache: false },
    { pageCache: 'file', keepPageCache: false },
    { pageCache: 'content', keepPageCache: true },
    { pageCache: 'file', keepPageCache: true },
  ] as const;

  it(`${SEQUENCES} sequences of ${STEPS} steps read back what the reference holds`, () => {
    for (let i = 0; i < SEQUENCES; i++) {
      const seed = FIRST_SEED + i;
      const config = configs[i % configs.length]!;
      const log: string[] = [];
      try {
        runSequence(seed, config, log);
      } catch (e) {
        console.error(
          `mm model test failed: MM_SEED=${seed} MM_SEQUENCES=1 (config ${JSON.stringify(config)})\n` +
            `last steps:\n  ${log.slice(-12).join('\n  ')}`,
        );
        throw e;
      }
    }
  });
});
