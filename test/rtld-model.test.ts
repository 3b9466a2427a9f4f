/**
 * Model-based test of processes with their libraries: several programs of
 * this machine are run to their entry point (execve plus ld.so, replayed
 * into one Machine), then random sequences of fork, exit, writes into
 * their data pages and reads. A plain reference (a map of the bytes each
 * process must see on the pages ld.so and the test wrote) is checked on
 * every read; the memory model's invariants are checked after every step;
 * when every process has exited no frame is left in use.
 * The seed is printed on failure: rerun with RTLD_SEED=<seed> RTLD_SEQUENCES=1.
 */
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileTable } from '../src/loader/file-backing.js';
import { planEntry, runEntry } from '../src/loader/rtld/entry.js';
import type { EntryPlan } from '../src/loader/rtld/rtld.js';
import { Machine } from '../src/mm/machine.js';

const PROGRAMS = ['/usr/bin/ls', '/usr/bin/cat', '/usr/bin/python3', '/usr/bin/bash'].filter((p) => fs.existsSync(p));
const SEQUENCES = Number(process.env.RTLD_SEQUENCES ?? 12);
const FIRST_SEED = Number(process.env.RTLD_SEED ?? 1);
const STEPS = 30;
const PAGE = 4096;

const missing = PROGRAMS.length < 2 ? 'fewer than two of ls, cat, python3, bash in /usr/bin' : undefined;
if (missing) console.warn(`rtld-model: skipped: ${missing}`);

/** xorshift32: a small deterministic generator. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Proc {
  pid: number;
  plan: EntryPlan;
  /** Page address -> the bytes this process must read there. */
  expected: Map<number, Uint8Array>;
}

describe.skipIf(missing !== undefined)('processes with libraries: fork, write, exit against a reference', () => {
  const plans: EntryPlan[] = [];

  beforeAll(async () => {
    const files = await FileTable.create();
    for (const p of PROGRAMS) plans.push(planEntry(files, p, { bindNow: true }));
  }, 120_000);

  it(`${SEQUENCES} sequences of ${STEPS} steps`, () => {
    for (let i = 0; i < SEQUENCES; i++) {
      const seed = FIRST_SEED + i;
      const log: string[] = [];
      try {
        runSequence(seed, plans, log);
      } catch (e) {
        console.error(
          `rtld model test failed: RTLD_SEED=${seed} RTLD_SEQUENCES=1\nlast steps:\n  ${log.slice(-10).join('\n  ')}`,
        );
        throw e;
      }
    }
  }, 600_000);
});

function runSequence(seed: number, plans: EntryPlan[], log: string[]): void {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const m = new Machine({ frames: 1 << 20, pageCache: seed % 2 ? 'file' : 'content' });
  const procs: Proc[] = [];
  const start = (plan: EntryPlan) => {
    const pid = runEntry(m, plan);
    const expected = new Map<number, Uint8Array>();
    for (const op of plan.ops)
      if (op.op === 'write' && op.bytes.length === PAGE && op.addr % PAGE === 0) expected.set(op.addr, op.bytes);
    for (const op of plan.ops)
      if (op.op === 'munmap' || op.op === 'mmap') {
        // A page written before a later munmap or remap is not what the process holds: keep only the last word.
        for (let a = op.addr; a < op.addr + op.length; a += PAGE) if (op.op === 'munmap') expected.delete(a);
      }
    procs.push({ pid, plan, expected });
    log.push(`exec ${plan.exec.path} -> ${pid}`);
  };
  start(pick(plans));
  for (let step = 0; step < STEPS; step++) {
    const action = r();
    if (procs.length === 0 || action < 0.15) {
      start(pick(plans));
    } else if (action < 0.35) {
      const parent = pick(procs);
      const pid = m.fork(parent.pid);
      procs.push({ pid, plan: parent.plan, expected: new Map(parent.expected) });
      log.push(`fork ${parent.pid} -> ${pid}`);
    } else if (action < 0.5) {
      const p = pick(procs);
      m.exit(p.pid);
      procs.splice(procs.indexOf(p), 1);
      log.push(`exit ${p.pid}`);
    } else if (action < 0.75) {
      // A write into a writable page of the process: a library's data, its bss, the program's.
      const p = pick(procs);
      const writable = m.maps(p.pid).filter((v) => v.perms === 'rw-p' && v.path !== '[stack]');
      const vma = pick(writable);
      const page = vma.start + Math.floor(r() * ((vma.end - vma.start) / PAGE)) * PAGE;
      const off = Math.floor(r() * (PAGE - 8));
      const bytes = Uint8Array.from({ length: 8 }, () => Math.floor(r() * 256));
      const before = p.expected.get(page) ?? m.read(p.pid, page, PAGE);
      const after = before.slice();
      after.set(bytes, off);
      m.write(p.pid, page + off, bytes);
      p.expected.set(page, after);
      log.push(`write ${p.pid} 0x${(page + off).toString(16)} (${vma.path || 'anon'})`);
    } else {
      // Read back every page ld.so or the test wrote, in one process.
      const p = pick(procs);
      for (const [page, bytes] of p.expected) {
        const got = m.read(p.pid, page, PAGE);
        if (Buffer.compare(Buffer.from(got), Buffer.from(bytes)) !== 0)
          throw new Error(`pid ${p.pid}: page 0x${page.toString(16)} differs from the reference`);
      }
      log.push(`read ${p.pid} (${p.expected.size} pages)`);
    }
    m.checkInvariants();
  }
  // RELRO pages stay private dirty copies after fork: Shared_Dirty across the family, never clean.
  for (const p of procs) {
    for (const e of m.smaps(p.pid)) {
      if (e.perms === 'r--p' && e.path.startsWith('/') && e.privateDirty + e.sharedDirty > 0)
        expect(e.anonymous).toBe(e.privateDirty + e.sharedDirty);
    }
  }
  for (const p of [...procs]) m.exit(p.pid);
  m.checkInvariants();
  expect(m.stats().frames.used).toBe(0);
}
