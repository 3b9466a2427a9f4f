/**
 * ld.so fidelity: the simulated process at its entry point (execve, then
 * ld.so's start-up replayed into the memory model) against the real one,
 * stopped at AT_ENTRY under `setarch -R gdb` with LD_BIND_NOW=1 and an empty
 * environment (test/rtld-kernel-probe.ts). For this machine's programs and
 * for builds made here with gcc (RUNPATH and RPATH with $ORIGIN, a 2 MiB
 * p_align library with holes and a large bss, DT_RELR, non-PIE, C++ with
 * libstdc++, -z lazy -z norelro), every /proc/PID/maps line must be equal
 * (start-end, permissions, offset, path; [heap] left out: library
 * constructors are not simulated), and Private_Dirty of every read-only,
 * non-executable file VMA (RELRO pages written by relocation) must be equal.
 * Executable VMAs are left out of the dirty comparison: gdb's breakpoints
 * (int3 at AT_ENTRY and in ld.so) dirty their pages. The rw-p file-backed
 * dirty totals are printed side by side (constructors write there too).
 * Three cases run again with lazy binding (no LD_BIND_NOW) on both sides.
 *
 * Skipped, with the reason printed, where gdb, setarch, gcc or ptrace is missing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTable } from '../src/loader/file-backing.js';
import { entrySmaps, planEntry, runEntry } from '../src/loader/rtld/entry.js';
import { Machine } from '../src/mm/machine.js';
import { kernelProbeUnavailable } from './loader-kernel-probe.js';
import { cleanupProbe, parseSmaps, probeEntry, type EntryProbe } from './rtld-kernel-probe.js';

interface Case {
  name: string;
  binary: string;
  /** Lazy binding (no LD_BIND_NOW) on both sides. */
  lazy?: boolean;
}

const PROGRAMS = [
  'ls',
  'cat',
  'bash',
  'python3',
  'perl',
  'gcc',
  'gdb',
  'env',
  'readelf',
  'vim.basic',
  'git',
  'ssh',
  'curl',
  'node',
];

const unavailable = kernelProbeUnavailable() ?? gccUnavailable();
if (unavailable) console.warn(`rtld-kernel: skipped: ${unavailable}`);

function gccUnavailable(): string | undefined {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'gcc or g++ is not installed';
  }
  return undefined;
}

const SOURCES: Record<string, string> = {
  'foo.c':
    '#include <stdio.h>\n__thread int tvar = 5;\nint foo_data[100] = {1};\nint foo(void) { printf("foo %d\\n", tvar); return foo_data[0]; }\n',
  'main.c': '#include <stdio.h>\nextern int foo(void);\nint main(void) { printf("%d\\n", foo()); return 0; }\n',
  'big.c':
    '#include <stdio.h>\nstatic char big_bss[3 << 20];\nchar big_data[1 << 16] = {1};\nint bigf(void) { big_bss[100] = 1; return big_data[0] + puts("x"); }\n',
  'mbig.c': 'extern int bigf(void);\nint main(void) { return bigf(); }\n',
  'cxx.cc':
    '#include <iostream>\n#include <string>\n#include <vector>\nint main() { std::vector<std::string> v{"a", "b"}; std::cout << v.size() << std::endl; }\n',
};

/** The builds: [output, compiler, args]. */
function builds(dir: string): Array<[string, string, string[]]> {
  const o = (n: string) => path.join(dir, n);
  const origin = [`-L${dir}`, '-Wl,-rpath,$ORIGIN'];
  const list: Array<[string, string, string[]]> = [
    ['libfoo.so', 'gcc', ['-shared', '-fPIC', '-o', o('libfoo.so'), o('foo.c')]],
    ['runpath', 'gcc', ['-o', o('runpath'), o('main.c'), ...origin, '-lfoo', '-Wl,--enable-new-dtags']],
    ['rpath', 'gcc', ['-o', o('rpath'), o('main.c'), ...origin, '-lfoo', '-Wl,--disable-new-dtags']],
    ['nopie', 'gcc', ['-no-pie', '-fno-pie', '-o', o('nopie'), o('main.c'), ...origin, '-lfoo']],
    ['libbig.so', 'gcc', ['-shared', '-fPIC', '-o', o('libbig.so'), o('big.c'), '-Wl,-z,max-page-size=0x200000']],
    ['big2m', 'gcc', ['-o', o('big2m'), o('mbig.c'), ...origin, '-lbig']],
    ['cxx', 'g++', ['-o', o('cxx'), o('cxx.cc')]],
    [
      'lazy-norelro',
      'gcc',
      ['-o', o('lazy-norelro'), o('main.c'), ...origin, '-lfoo', '-Wl,-z,lazy', '-Wl,-z,norelro'],
    ],
  ];
  if (relrSupported(dir))
    list.push(['relr', 'gcc', ['-o', o('relr'), o('main.c'), ...origin, '-lfoo', '-Wl,-z,pack-relative-relocs']]);
  return list;
}

function relrSupported(dir: string): boolean {
  const out = path.join(dir, 'relr-check');
  try {
    execFileSync(
      'gcc',
      ['-o', out, path.join(dir, 'mbig.c'), '-Wl,-z,pack-relative-relocs', '-Wl,--unresolved-symbols=ignore-all'],
      { stdio: 'ignore' },
    );
    const dyn = execFileSync('readelf', ['-d', out], { encoding: 'utf8' });
    return /\(RELR\)/.test(dyn);
  } catch {
    console.warn('rtld-kernel: DT_RELR build skipped: the toolchain does not support -z pack-relative-relocs');
    return false;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

interface Outcome {
  name: string;
  linesEqual: boolean;
  relroEqual: boolean;
  rwReal: number;
  rwSim: number;
  rssReal: number;
  rssSim: number;
}

describe.skipIf(unavailable !== undefined)('the process at AT_ENTRY matches the real ld.so', () => {
  let dir = '';
  const cases: Case[] = [];
  const probes = new Map<string, EntryProbe | Error>();
  const outcomes: Outcome[] = [];
  let files: FileTable;

  beforeAll(async () => {
    files = await FileTable.create();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-'));
    for (const [n, text] of Object.entries(SOURCES)) fs.writeFileSync(path.join(dir, n), text);
    for (const [out, cc, args] of builds(dir)) {
      execFileSync(cc, args, { stdio: 'pipe' });
      // Written back now: a page-cache page still dirty from the write counts as Private_Dirty in smaps.
      const fd = fs.openSync(path.join(dir, out), 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      if (!out.endsWith('.so')) cases.push({ name: out, binary: path.join(dir, out) });
    }
    const samples = path.resolve(__dirname, '../samples/bin');
    for (const n of fs.readdirSync(samples).sort()) {
      const bin = path.join(samples, n);
      if (
        (process.env.PAGESTACK_RTLD_PROGRAMS === undefined || process.env.PAGESTACK_RTLD_SAMPLES) &&
        fs.readFileSync(bin).includes('/lib64/ld-linux-x86-64.so.2')
      )
        cases.push({ name: `samples/${n}`, binary: bin });
    }
    const only = process.env.PAGESTACK_RTLD_PROGRAMS?.split(',');
    for (const p of only ?? PROGRAMS) {
      const bin = p.startsWith('/') ? p : path.join('/usr/bin', p);
      if (!fs.existsSync(bin)) continue;
      // Set-user/group-ID programs are exec'ed with address randomisation whatever setarch -R asks.
      if (fs.statSync(bin).mode & 0o6000) {
        console.log(`rtld-kernel: ${bin} skipped: set-user/group-ID, the kernel randomises its layout`);
        continue;
      }
      cases.push({ name: path.basename(bin), binary: bin });
    }
    // Lazy binding too, on a build and on a program: JUMP_SLOTs get only the load base, GOT[1] and GOT[2] are set.
    for (const c of cases.filter((x) => x.name === 'lazy-norelro' || x.name === 'python3' || x.name === 'runpath'))
      cases.push({ ...c, name: `${c.name} (lazy)`, lazy: true });
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          probes.set(c.name, await probeEntry(c.binary, c.lazy === true));
        } catch (err) {
          probes.set(c.name, err as Error);
        }
      }
    };
    await Promise.all([worker(), worker()]);
  }, 600_000);

  afterAll(() => {
    cleanupProbe();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const matched = outcomes.filter((o) => o.linesEqual && o.relroEqual).length;
    console.log(
      `rtld-kernel: ${matched} of ${outcomes.length} processes match the kernel at AT_ENTRY (every maps line but [heap]; RELRO Private_Dirty)`,
    );
    console.log(
      'File-backed VMAs at AT_ENTRY, kB: rw-p Private_Dirty and Rss (the real process also ran library constructors):',
    );
    console.log(
      '| program | rw-p dirty, real | rw-p dirty, simulated | file Rss, real | file Rss, simulated |\n|---|---|---|---|---|',
    );
    for (const o of outcomes) console.log(`| ${o.name} | ${o.rwReal} | ${o.rwSim} | ${o.rssReal} | ${o.rssSim} |`);
  });

  it.skipIf(process.env.PAGESTACK_RTLD_PROGRAMS !== undefined)(
    'covers synthetic builds and at least six programs of /usr/bin',
    () => {
      expect(cases.filter((c) => c.binary.startsWith('/usr/bin/')).length).toBeGreaterThanOrEqual(6);
      expect(cases.filter((c) => c.binary.startsWith(dir)).length).toBeGreaterThanOrEqual(6);
    },
  );

  it('matches every process', () => {
    const failures: string[] = [];
    for (const c of cases) {
      const real = probes.get(c.name);
      if (!real || real instanceof Error) {
        failures.push(`${c.name}: ${real?.message ?? 'no probe'}`);
        continue;
      }
      const plan = planEntry(files, c.binary, { argv: real.argv, envp: real.envp, bindNow: c.lazy !== true });
      const m = new Machine({ frames: 1 << 20 });
      const pid = runEntry(m, plan);
      m.checkInvariants();
      const simSmaps = parseSmaps(entrySmaps(m, pid, plan));
      const key = (v: { start: bigint; end: bigint; perms: string; offset: bigint; path: string }) =>
        `${v.start.toString(16)}-${v.end.toString(16)} ${v.perms} ${v.offset.toString(16)} ${v.path}`;
      const realLines = real.smaps.filter((v) => v.path !== '[heap]').map(key);
      const simLines = simSmaps.map(key);
      const linesEqual = realLines.join('\n') === simLines.join('\n');
      if (!linesEqual) failures.push(`${c.name}: maps differ\n${diff(realLines, simLines)}`);
      let relroEqual = true;
      const simByKey = new Map(simSmaps.map((v) => [key(v), v]));
      let rwReal = 0;
      let rwSim = 0;
      let rssReal = 0;
      let rssSim = 0;
      for (const v of real.smaps) {
        if (!v.path.startsWith('/')) continue;
        const s = simByKey.get(key(v));
        rssReal += v.fields.Rss ?? 0;
        rssSim += s?.fields.Rss ?? 0;
        if (v.perms === 'rw-p') {
          rwReal += v.fields.Private_Dirty ?? 0;
          rwSim += s?.fields.Private_Dirty ?? 0;
        }
        if (v.perms.includes('w') || v.perms.includes('x')) continue;
        if ((s?.fields.Private_Dirty ?? -1) !== v.fields.Private_Dirty) {
          relroEqual = false;
          failures.push(
            `${c.name}: ${key(v)} Private_Dirty real ${v.fields.Private_Dirty} kB, simulated ${s?.fields.Private_Dirty ?? 'missing'} kB`,
          );
        }
      }
      outcomes.push({ name: c.name, linesEqual, relroEqual, rwReal, rwSim, rssReal, rssSim });
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

function diff(real: string[], sim: string[]): string {
  const out: string[] = [];
  const r = new Set(real);
  const s = new Set(sim);
  for (const l of real) if (!s.has(l)) out.push(`  real only: ${l}`);
  for (const l of sim) if (!r.has(l)) out.push(`  sim only:  ${l}`);
  return out.join('\n');
}
