/**
 * ld.so benchmark: `npm run bench -- rtld [PROGRAM] [--procs 1,10,100]`.
 *
 * Times, beside each other on the same program (default /usr/bin/python3):
 * - exec plan: planExecWith (the kernel's execve, today's path);
 * - entry plan: planEntry (execve + library search + ld.so's start-up:
 *   mapping, malloc, TLS, every relocation with symbol lookup, RELRO);
 * - mapping N processes into one Machine, exec path (Machine.exec of the
 *   exec plan) against entry path (runEntry: exec plus ld.so's mmap,
 *   mprotect and page writes), for N in --procs.
 * Times are CPU milliseconds of this process (process.cpuUsage), the best
 * of 3 rounds, so other load on the machine skews them less.
 */
import { UsageError } from '../errors.js';
import { planExecWith } from '../loader/execve.js';
import { FileTable } from '../loader/file-backing.js';
import { planEntry, runEntry } from '../loader/rtld/entry.js';
import { Machine } from '../mm/machine.js';

function cpuMs(f: () => void): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.cpuUsage();
    f();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1000);
  }
  return best;
}

export async function run(args: string[]): Promise<void> {
  let program = '/usr/bin/python3';
  let procs = [1, 10, 100];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--procs') {
      procs = (args[++i] ?? '').split(',').map(Number);
      if (procs.some((n) => !Number.isInteger(n) || n < 1))
        throw new UsageError('--procs takes a comma-separated list of positive integers');
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else program = a;
  }
  const files = await FileTable.create();
  // Warm the file table (reads every file once) so the rounds time planning, not disk reads.
  const entry = planEntry(files, program, { bindNow: false });
  const exec = planExecWith(files, program);
  const execMs = cpuMs(() => planExecWith(files, program));
  const entryMs = cpuMs(() => planEntry(files, program, { bindNow: false }));
  const bindNowMs = cpuMs(() => planEntry(files, program, { bindNow: true }));
  const writes = entry.ops.filter((o) => o.op === 'write').length;
  console.log(
    `rtld bench: ${program}, ${entry.objects.length} objects, ${entry.relocations.relocations} relocations, ${entry.ops.length} ld.so operations (${writes} page writes)`,
  );
  console.log('| plan | CPU ms | ratio to exec plan |');
  console.log('|---|---|---|');
  console.log(`| exec plan (execve only) | ${execMs.toFixed(2)} | 1.0 |`);
  console.log(`| entry plan, lazy binding | ${entryMs.toFixed(2)} | ${(entryMs / execMs).toFixed(1)} |`);
  console.log(`| entry plan, LD_BIND_NOW=1 | ${bindNowMs.toFixed(2)} | ${(bindNowMs / execMs).toFixed(1)} |`);
  console.log('');
  console.log('| processes | exec path CPU ms | entry path CPU ms | ratio | frames (exec) | frames (entry) |');
  console.log('|---|---|---|---|---|---|');
  for (const n of procs) {
    let framesExec = 0;
    let framesEntry = 0;
    const e = cpuMs(() => {
      const m = new Machine({ frames: 1 << 22 });
      for (let i = 0; i < n; i++) m.exec(exec);
      framesExec = m.stats().frames.used;
    });
    const r = cpuMs(() => {
      const m = new Machine({ frames: 1 << 22 });
      for (let i = 0; i < n; i++) runEntry(m, entry);
      framesEntry = m.stats().frames.used;
    });
    console.log(
      `| ${n} | ${e.toFixed(2)} | ${r.toFixed(2)} | ${(r / e).toFixed(1)} | ${framesExec} | ${framesEntry} |`,
    );
  }
}
