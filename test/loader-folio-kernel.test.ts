/**
 * The loader's page-cache states (src/loader/file-cache.ts) against the
 * running kernel. Real binaries (python3, perl, bash, gdb of /usr/bin) and
 * gcc builds (a program with its own library, found through $ORIGIN, and
 * one with 1.5 MiB of text) are copied into a fresh directory, written
 * once in one write() and once in 4 KiB writes, and fsync'ed. The folio
 * layout the kernel made is read from /proc/kpageflags
 * (test/fixtures/folio-layout.py) and must be the one the model makes for
 * state `write` (one large write) and `pages` (4 KiB folios). Each copy
 * then runs to AT_ENTRY under `setarch -R gdb` (test/rtld-kernel-probe.ts)
 * and the model maps the same process with the same state for the copied
 * files: Rss, Pss, Shared_Clean, Private_Clean and Private_Dirty of every
 * read-only VMA of a copied file (ELF headers and the dynamic tables ld.so
 * reads, RELRO, .rodata) must be equal. While the probe runs, a helper
 * process keeps every page of the copies mapped (this machine's host
 * evicts idle unmapped page cache within seconds), and the model has the
 * same process, so Pss and Shared_Clean include it.
 *
 * Executable and writable VMAs are printed side by side, not compared:
 * library constructors run before AT_ENTRY and execute libraries' text
 * (not simulated); something before AT_ENTRY reads python3's .data (14
 * clean pages more than the model: not identified, constructors or gdb);
 * and gdb's read of the entry instruction
 * maps a 16-page fault-around window even where the entry's page table
 * has no entries yet (python3, gdb), where the model, following what user
 * faults do on this kernel, maps one page.
 *
 * gdb's own accesses are part of the real process: its int3 at AT_ENTRY
 * is a read of the entry page (to save the byte; a read fault, with
 * fault-around) then a forced write (a COW copy of that page, as
 * FOLL_FORCE does through a read-only private mapping); the model does
 * the same two accesses (mprotect around the write, as the kernel's
 * forced write needs no VM_WRITE). Files the process maps that this test
 * did not write (libc, ld.so) are in whatever state this machine left
 * them, and their code ran (library constructors), so they are not
 * compared.
 *
 * Skipped, with the reason printed, without gdb/setarch/ptrace, gcc,
 * python3, a readable /proc/kpageflags (root), or a file system that
 * makes no large folios on write (then `write` cannot be produced).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileBacking } from '../src/abi/file-backing.js';
import { FileTable } from '../src/loader/file-backing.js';
import { fillFileCache, type FileCacheState } from '../src/loader/file-cache.js';
import { entryFiles, entrySmaps, planEntry, runEntry } from '../src/loader/rtld/entry.js';
import { folioLayout } from '../src/mm/folio.js';
import { Machine } from '../src/mm/machine.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { kernelProbeUnavailable } from './loader-kernel-probe.js';
import { cleanupProbe, parseSmaps, probeEntry, type EntryProbe, type SmapsVma } from './rtld-kernel-probe.js';

const PAGE = 4096;
const LAYOUT = path.join(import.meta.dirname, 'fixtures', 'folio-layout.py');
const HOLDER = path.join(import.meta.dirname, 'fixtures', 'page-cache-holder.py');
const FIELDS = ['Rss', 'Pss', 'Shared_Clean', 'Private_Clean', 'Private_Dirty'] as const;
const SYSTEM = ['python3', 'perl', 'bash', 'gdb'];

interface Layout {
  path: string;
  pages: number;
  cached: number;
  folios: Array<[number, number]>;
}

function kernelLayouts(files: string[]): Layout[] {
  const r = spawnSync('python3', [LAYOUT, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`folio-layout.py: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Layout);
}

function unavailableReason(): string | undefined {
  const probe = kernelProbeUnavailable();
  if (probe) return probe;
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'gcc is not installed';
  }
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 is not installed';
  const fsType = spawnSync('stat', ['-f', '-c', '%T', os.tmpdir()], { encoding: 'utf8' }).stdout?.trim();
  if (fsType !== 'ext2/ext3')
    return `${os.tmpdir()} is not ext4 (${fsType || 'unknown'}): the write path folios are ext4's`;
  try {
    fs.accessSync('/proc/kpageflags', fs.constants.R_OK);
  } catch {
    return '/proc/kpageflags is not readable (needs root)';
  }
  return undefined;
}

const unavailable = unavailableReason();
if (unavailable) console.warn(`loader-folio-kernel: skipped: ${unavailable}`);

/** The two states the test can make on the kernel, and how it writes a file for each. */
const STATES: Array<{ name: string; state: FileCacheState; writeSize: (size: number) => number }> = [
  { name: 'write', state: { how: 'write' }, writeSize: (size) => Math.max(1, size) },
  { name: 'pages', state: { how: 'pages' }, writeSize: () => PAGE },
];

/** Writes `bytes` to a new file with write() calls of `chunk` bytes, then fsyncs it. */
function writeFile(file: string, bytes: Uint8Array, chunk: number): void {
  const fd = fs.openSync(file, 'w', 0o755);
  try {
    for (let off = 0; off < bytes.length; off += chunk)
      fs.writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const SOURCES: Record<string, string> = {
  'foo.c': '#include <stdio.h>\nint foo_data[100] = {1};\nint foo(void) { printf("foo\\n"); return foo_data[0]; }\n',
  'main.c': '#include <stdio.h>\nextern int foo(void);\nint main(void) { printf("%d\\n", foo()); return 0; }\n',
};

/** A C file with about 1.5 MiB of text: 3000 functions of ~500 bytes, and a table of them. */
function bigText(): string {
  let s = '#include <stdio.h>\n';
  for (let i = 0; i < 3000; i++)
    s += `int f${i}(int x) { volatile int a[32]; for (int k = 0; k < 32; k++) a[k] = x * ${i} + k; return a[x & 31] ^ a[(x >> 3) & 31] ^ a[(x >> 5) & 31] ^ a[(x >> 7) & 31]; }\n`;
  s += 'int (*tab[])(int) = {';
  for (let i = 0; i < 3000; i++) s += `f${i},`;
  s += '};\nint main(int c, char **v) { (void)v; printf("%d\\n", tab[c](c)); return 0; }\n';
  return s;
}

interface Case {
  name: string;
  state: (typeof STATES)[number];
  /** The program and every file of the case this test wrote (program first). */
  program: string;
  written: string[];
  /** The files they are copies of. */
  from: string[];
}

interface Outcome {
  name: string;
  state: string;
  file: string;
  perms: string;
  real: Record<string, number>;
  sim: Record<string, number>;
}

describe.skipIf(unavailable !== undefined)('loader page-cache states against the kernel at AT_ENTRY', () => {
  let dir = '';
  let files: FileTable;
  const cases: Case[] = [];
  const layouts = new Map<string, Layout>();
  const probes = new Map<string, EntryProbe | Error>();
  const outcomes: Outcome[] = [];
  let noLargeFolios: string | undefined;

  beforeAll(async () => {
    files = await FileTable.create();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-loader-folio-'));
    const build = path.join(dir, 'build');
    fs.mkdirSync(build);
    for (const [n, text] of Object.entries(SOURCES)) fs.writeFileSync(path.join(build, n), text);
    fs.writeFileSync(path.join(build, 'big.c'), bigText());
    const o = (n: string) => path.join(build, n);
    execFileSync('gcc', ['-shared', '-fPIC', '-o', o('libfoo.so'), o('foo.c')]);
    execFileSync('gcc', ['-o', o('runpath'), o('main.c'), `-L${build}`, '-Wl,-rpath,$ORIGIN', '-lfoo']);
    execFileSync('gcc', ['-O0', '-o', o('bigtext'), o('big.c')]);
    const sources: Array<{ name: string; files: Array<[string, string]> }> = [
      {
        name: 'runpath',
        files: [
          ['runpath', o('runpath')],
          ['libfoo.so', o('libfoo.so')],
        ],
      },
      { name: 'bigtext', files: [['bigtext', o('bigtext')]] },
    ];
    for (const p of SYSTEM) {
      const bin = path.join('/usr/bin', p);
      if (fs.existsSync(bin)) sources.push({ name: p, files: [[p, fs.realpathSync(bin)]] });
    }
    for (const state of STATES) {
      for (const s of sources) {
        const d = path.join(dir, `${s.name}.${state.name}`);
        fs.mkdirSync(d);
        const written = s.files.map(([n]) => path.join(d, n));
        cases.push({ name: s.name, state, program: written[0]!, written, from: s.files.map(([, f]) => f) });
      }
    }
    const probeCase = async (c: Case) => {
      // The page cache of the copies can be dropped by anything else on the machine: probe again
      // (at most twice) when a copy's layout changed while gdb ran.
      for (let attempt = 0; ; attempt++) {
        // Written just before the probe and held mapped at once: unmapped page cache is evicted here.
        c.written.forEach((to, i) => {
          const bytes = fs.readFileSync(c.from[i]!);
          fs.rmSync(to, { force: true });
          writeFile(to, bytes, c.state.writeSize(bytes.length));
        });
        const holder = await holdPageCache(c.written);
        const before = kernelLayouts(c.written);
        try {
          probes.set(`${c.name}.${c.state.name}`, await probeEntry(c.program));
        } catch (err) {
          probes.set(`${c.name}.${c.state.name}`, err as Error);
        }
        const after = kernelLayouts(c.written);
        holder.stdin!.end();
        await new Promise((resolve) => holder.once('exit', resolve));
        const same = JSON.stringify(before) === JSON.stringify(after) && after.every((l) => l.cached === l.pages);
        const expected = after.every((l) => sameFolios(l, c.state.state));
        for (const l of after) layouts.set(l.path, l);
        if ((same && expected) || attempt === 2) break;
        // A large folio allocation can fail on a busy machine (the write path then falls back to
        // smaller folios), and a folio was seen split into 4 KiB pages under load: write again.
        console.log(
          `loader-folio-kernel: ${c.name} (${c.state.name}): ${same ? 'not the folios of the state' : 'the page cache changed under the probe'}, again`,
        );
      }
    };
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await probeCase(c);
    };
    await Promise.all([worker(), worker()]);
    // A kernel or file system without large page-cache folios makes only 4 KiB ones, whatever the writes.
    const oneWrite = cases.filter((c) => c.state.name === 'write').flatMap((c) => c.written);
    if (oneWrite.every((f) => layouts.get(f)?.folios.every(([, n]) => n === 1)))
      noLargeFolios = `${os.tmpdir()} made only 4 KiB folios for files written in one write()`;
  }, 600_000);

  afterAll(() => {
    cleanupProbe();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    console.log('loader-folio-kernel: file VMAs at AT_ENTRY, kB (real / simulated):');
    console.log(`| case | state | VMA | ${FIELDS.join(' | ')} |\n|---|---|---|${FIELDS.map(() => '---|').join('')}`);
    for (const o of outcomes) {
      const cells = FIELDS.map((f) => (o.real[f] === o.sim[f] ? `${o.real[f]}` : `**${o.real[f]} / ${o.sim[f]}**`));
      console.log(`| ${o.name} | ${o.state} | ${o.file} ${o.perms} | ${cells.join(' | ')} |`);
    }
  });

  it("the kernel's folios for each written file are the model's for its state", () => {
    if (noLargeFolios) {
      console.log(`loader-folio-kernel: folio check skipped: ${noLargeFolios}`);
      return;
    }
    const failures: string[] = [];
    let largeFolios = 0;
    let modelLarge = 0;
    let fallbacks = 0;
    for (const c of cases) {
      for (const f of c.written) {
        const l = layouts.get(f)!;
        if (l.cached !== l.pages) {
          failures.push(`${f}: only ${l.cached} of ${l.pages} pages cached`);
          continue;
        }
        const real = l.folios.map(([, n]) => n);
        const model = modelFolios(l, c.state.state);
        if (!sameFolios(l, c.state.state)) {
          if (!fellBack(real, model)) {
            failures.push(`${f}: kernel folios ${real.join(',')}, model ${model.join(',')}`);
            continue;
          }
          fallbacks++;
          const lost = model.filter((n) => n > 1).length - real.filter((n) => n > 1).length;
          console.log(`loader-folio-kernel: ${f}: ${lost} large folio(s) of the write path came as 4 KiB pages`);
        }
        largeFolios += real.filter((n) => n > 1).length;
        modelLarge += model.filter((n) => n > 1).length;
      }
    }
    // A large folio that came as 4 KiB pages (allocation failure or split under load; the
    // model's allocations always succeed, a declared difference) is accepted, but most must be
    // there, every one of the model's size.
    console.log(
      `loader-folio-kernel: ${largeFolios} of the model's ${modelLarge} large folios found; ${fallbacks} file(s) with some as 4 KiB pages`,
    );
    expect(largeFolios).toBeGreaterThanOrEqual(modelLarge / 2);
    expect(failures).toEqual([]);
  });

  it('every VMA of a written file has the Rss, Pss, Shared and Private the kernel shows', () => {
    if (noLargeFolios) {
      console.log(`loader-folio-kernel: skipped: ${noLargeFolios}`);
      return;
    }
    const failures: string[] = [];
    let comparedVmas = 0;
    for (const c of cases) {
      const key = `${c.name}.${c.state.name}`;
      const real = probes.get(key);
      if (!real || real instanceof Error) {
        failures.push(`${key}: ${real?.message ?? 'no probe'}`);
        continue;
      }
      const plan = planEntry(files, c.program, { argv: real.argv, envp: real.envp, bindNow: true });
      const m = new Machine({ frames: 1 << 20, keepPageCache: true });
      const written = entryFiles(plan).filter((b) => c.written.includes(b.path));
      expect(written.length).toBe(c.written.length);
      for (const b of written) {
        const l = layouts.get(b.path)!;
        // Where the kernel fell back to 4 KiB pages, the model is given the kernel's folios.
        if (l.cached === l.pages && !sameFolios(l, c.state.state))
          m.cacheFile(b, { how: 'folios', pages: l.folios.map(([, n]) => n) });
      }
      fillFileCache(m, written, c.state.state);
      modelHolder(m, written);
      const pid = runEntry(m, plan);
      gdbBreakpoint(m, pid, plan.entry);
      m.checkInvariants();
      // The Machine's page cache holds the copies in the folios the kernel showed after the probe.
      for (const b of written) {
        const real = layouts.get(b.path)!.folios.map(([, n]) => n);
        const model = m.cachedFolios(b).map((f) => f.pages);
        if (JSON.stringify(model) !== JSON.stringify(real))
          failures.push(`${key}: ${b.path}: model folios ${model.join(',')}, kernel ${real.join(',')}`);
      }
      const sim = parseSmaps(entrySmaps(m, pid, plan));
      const at = (v: SmapsVma) => `${v.start.toString(16)} ${v.perms} ${v.path}`;
      for (const v of real.smaps) {
        if (!c.written.includes(v.path)) continue;
        // The model's forced write splits the entry page's VMA: its pieces are summed.
        const pieces = sim.filter((x) => x.path === v.path && x.start >= v.start && x.end <= v.end);
        const covered = pieces.reduce((t, x) => t + (x.end - x.start), 0n);
        if (covered !== v.end - v.start) {
          failures.push(`${key}: the model's VMAs do not cover ${at(v)}`);
          continue;
        }
        const s = { fields: {} as Record<string, number> };
        for (const f of FIELDS) s.fields[f] = pieces.reduce((t, x) => t + (x.fields[f] ?? 0), 0);
        const o: Outcome = {
          name: c.name,
          state: c.state.name,
          file: path.basename(v.path),
          perms: `${v.perms} ${v.offset.toString(16)}`,
          real: {},
          sim: {},
        };
        // Executable and writable VMAs are printed, not compared: see the header.
        const compared = v.perms === 'r--p';
        for (const f of FIELDS) {
          o.real[f] = v.fields[f] ?? -1;
          o.sim[f] = s.fields[f] ?? -1;
          if (compared && o.real[f] !== o.sim[f])
            failures.push(`${key}: ${at(v)} ${f} real ${o.real[f]} kB, model ${o.sim[f]} kB`);
        }
        if (compared) comparedVmas++;
        outcomes.push(o);
      }
    }
    expect(failures).toEqual([]);
    // Every case has at least its headers' VMA and its RELRO one.
    console.log(`loader-folio-kernel: ${comparedVmas} read-only VMAs of ${cases.length} processes compared`);
    expect(comparedVmas).toBeGreaterThanOrEqual(2 * cases.length);
  });
});

/** The folio sizes the model gives a file of the layout's size in `state`. */
function modelFolios(l: Layout, state: FileCacheState): number[] {
  const size = fs.statSync(l.path).size;
  const backing = { path: l.path, size, pageSize: PAGE, pageCount: Math.ceil(size / PAGE) } as FileBacking;
  return folioLayout(backing, state.how === 'write' ? { how: 'write' } : { how: 'pages' });
}

/**
 * Whether `real` is `model` with some large folios replaced by as many
 * 4 KiB pages, as this machine showed under load: __filemap_get_folio's
 * allocation of a large folio failing (__GFP_NORETRY), or a split soon
 * after; the test does not tell them apart.
 */
function fellBack(real: number[], model: number[]): boolean {
  let i = 0;
  for (const n of model) {
    if (real[i] === n) {
      i++;
      continue;
    }
    for (let k = 0; k < n; k++) if (real[i++] !== 1) return false;
  }
  return i === real.length;
}

function sameFolios(l: Layout, state: FileCacheState): boolean {
  return JSON.stringify(l.folios.map(([, n]) => n)) === JSON.stringify(modelFolios(l, state));
}

/** Starts test/fixtures/page-cache-holder.py on `files` and waits until every page is mapped. */
function holdPageCache(files: string[]): Promise<ChildProcess> {
  const child = spawn('python3', [HOLDER, ...files], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`page-cache-holder.py exited with ${code}`)));
  });
}

/** The holder in the model: a process that maps every page of each file read-only and shared. */
function modelHolder(m: Machine, backings: FileBacking[]): void {
  const top = 0x7ffffffff000;
  const pid = m.exec({
    path: '/holder',
    vmas: [{ start: top - 33 * PAGE, end: top, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' }],
    writes: [],
    entry: 0x400000,
    loadBias: 0,
    startBrk: 0x400000,
    stackTop: top,
  });
  for (const b of backings) {
    const addr = m.mmap(pid, { length: b.size, prot: PROT_READ, shared: true, file: { backing: b, offset: 0 } });
    m.touch(pid, addr, b.size, 'read');
  }
}

/**
 * gdb's temporary breakpoint at AT_ENTRY: it reads the instruction byte
 * (a read fault through ptrace, fault-around included), then writes int3
 * with FOLL_FORCE, which COWs the page although the VMA is not writable.
 * The model has no forced write, so the page is made writable around it.
 */
function gdbBreakpoint(m: Machine, pid: number, entry: number): void {
  m.read(pid, entry, 1);
  const page = Math.floor(entry / PAGE) * PAGE;
  m.mprotect(pid, page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
  m.write(pid, entry, Uint8Array.of(0xcc));
  m.mprotect(pid, page, PAGE, PROT_READ | PROT_EXEC);
}
