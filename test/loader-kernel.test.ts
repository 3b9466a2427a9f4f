/**
 * Kernel fidelity: for every sample and a deterministic spread of /usr/bin,
 * the plan must equal what the real kernel set up, read at the first user
 * instruction (`setarch -R gdb -batch -ex starti`):
 * - /proc/PID/maps: every line's start-end, perms, offset and path (dev and
 *   inode are left out; [vsyscall] too; [vvar], [vvar_vclock] and [vdso]
 *   only on 6.18, whose layout the loader models), [stack] included;
 * - rip (the entry) and rsp (the initial stack pointer);
 * - the mm fields of /proc/PID/stat: start/end code, start/end data,
 *   start_brk, start_stack, arg and env start/end;
 * - the auxiliary vector, entry by entry;
 * - the bytes of the initial stack from rsp to the top of the stack VMA
 *   (the machine-specific auxv values and the 16 random bytes are taken
 *   from the real process, everything else is computed);
 * - the first and last page of every file mapping (padzero's zeroes, or
 *   their absence on a read-only segment).
 * Besides real binaries, synthetic ELF files with unusual layouts
 * (test/loader-elf-builder.ts) are run too.
 * Skipped, with the reason printed, where gdb or ptrace is unavailable.
 *
 * PAGESTACK_FIDELITY_DIRS=/usr/bin:/usr/sbin runs every executable of those
 * directories instead of the spread (minutes, not for CI).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planExecWith } from '../src/loader/execve.js';
import { FileTable } from '../src/loader/file-backing.js';
import { mapsLines } from '../src/loader/maps.js';
import type { ExecPlan } from '../src/abi/exec-plan.js';
import { buildElf, INTERP_AT_FIXED_HINT, synthLayouts } from './loader-elf-builder.js';
import {
  kernelProbeUnavailable,
  probeKernel,
  removeProbeFile,
  type KernelExec,
  type ProbeOptions,
} from './loader-kernel-probe.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
const USR_BIN_COUNT = 24;

interface Case {
  name: string;
  binary: string;
  probe?: ProbeOptions;
}

/** The directory writeSynthetic fills (set while the cases are chosen, below), removed after the tests. */
let syntheticDir: string | undefined;
const unavailable = olderKernel() ?? kernelProbeUnavailable();
if (unavailable) console.warn(`loader-kernel: skipped: ${unavailable}`);
const cases = unavailable ? [] : chooseCases();
const compareVdso = os.release().startsWith('6.18');
afterAll(() => {
  removeProbeFile();
  if (syntheticDir) fs.rmSync(syntheticDir, { recursive: true, force: true });
});
if (!unavailable && !compareVdso)
  console.warn(`loader-kernel: kernel ${os.release()} is not 6.18: [vvar]/[vvar_vclock]/[vdso] lines are not compared`);

describe.skipIf(unavailable !== undefined)('execve plans match the real kernel', () => {
  const results = new Map<string, KernelExec | Error>();
  const outcomes = new Map<string, boolean>();
  let files: FileTable;

  beforeAll(
    async () => {
      files = await FileTable.create();
      // Two gdb runs at a time: the machine has two cores.
      const queue = [...cases];
      const worker = async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          try {
            results.set(c.name, await probeKernel(c.binary, c.probe));
          } catch (err) {
            results.set(c.name, err as Error);
          }
        }
      };
      await Promise.all([worker(), worker()]);
    },
    60_000 + cases.length * 10_000,
  );

  afterAll(() => {
    const matched = [...outcomes.values()].filter(Boolean).length;
    console.log(
      `loader-kernel: ${matched} of ${outcomes.size} executions match the kernel (maps, registers, mm fields, auxv, stack bytes)`,
    );
  });

  it.skipIf(process.env.PAGESTACK_FIDELITY_DIRS !== undefined)(
    'covers the samples and at least 20 binaries of /usr/bin',
    () => {
      expect(cases.filter((c) => c.binary.startsWith(SAMPLES)).length).toBeGreaterThanOrEqual(7);
      expect(cases.filter((c) => c.binary.startsWith('/usr/bin/')).length).toBeGreaterThanOrEqual(20);
    },
  );

  it.each(cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const real = results.get(name);
    if (real instanceof Error || real === undefined) throw real ?? new Error(`no result for ${c.binary}`);
    const problems = compare(real, planFor(files, real));
    outcomes.set(name, problems.length === 0);
    expect(problems).toEqual([]);
  });
});

/** The loader models 6.18 (brk of a static PIE, the vDSO layout, THP-aligned file mappings): older kernels differ on purpose. */
function olderKernel(): string | undefined {
  const [major = 0, minor = 0] = os.release().split(/[.-]/).map(Number);
  return major * 1000 + minor < 6018
    ? `kernel ${os.release()} is older than 6.18, whose execve the loader models`
    : undefined;
}

/** The plan for the same execve the kernel saw: same filename, argv, envp, stack limit and machine values. */
function planFor(files: FileTable, real: KernelExec): ExecPlan {
  const aux = new Map(real.auxv);
  const randomAt = Number(aux.get(25)! - real.rsp);
  return planExecWith(files, real.execfn, {
    argv: real.argv,
    envp: real.envp,
    rlimitStack: real.rlimitStack,
    auxv: {
      hwcap: aux.get(16)!,
      hwcap2: aux.get(26) ?? 0n,
      minsigstksz: aux.get(51)!,
      uid: aux.get(11)!,
      euid: aux.get(12)!,
      gid: aux.get(13)!,
      egid: aux.get(14)!,
      secure: aux.get(23)!,
      random: real.stack.slice(randomAt, randomAt + 16),
    },
  });
}

const VDSO_NAMES = new Set(['[vvar]', '[vvar_vclock]', '[vdso]']);

function compare(real: KernelExec, plan: ExecPlan): string[] {
  const problems: string[] = [];
  const key = (start: string, end: string, perms: string, offset: string, name: string) =>
    `${start}-${end} ${perms} ${offset} ${name}`;
  const realMaps = real.maps
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [range = '', perms = '', offset = '', , , ...rest] = line.split(/ +/);
      const [start = '', end = ''] = range.split('-');
      return { name: rest.join(' '), text: key(start, end, perms, offset, rest.join(' ')) };
    })
    .filter((l) => l.name !== '[vsyscall]' && (compareVdso || !VDSO_NAMES.has(l.name)))
    .map((l) => l.text);
  const ours = mapsLines(plan, { special: compareVdso }).map((l) => {
    const [range = '', perms = '', offset = ''] = l.text.split(' ');
    const [start = '', end = ''] = range.split('-');
    return key(start, end, perms, offset, l.pathname);
  });
  if (realMaps.join('\n') !== ours.join('\n'))
    problems.push(`maps differ:\nkernel:\n  ${realMaps.join('\n  ')}\npagestack:\n  ${ours.join('\n  ')}`);

  const hex = (v: bigint | number | undefined) => (v === undefined ? 'undefined' : `0x${v.toString(16)}`);
  if (BigInt(plan.entry) !== real.rip) problems.push(`entry: kernel rip ${hex(real.rip)}, plan ${hex(plan.entry)}`);
  if (BigInt(plan.stackPointer ?? -1) !== real.rsp)
    problems.push(`stack pointer: kernel rsp ${hex(real.rsp)}, plan ${hex(plan.stackPointer)}`);

  const mm = plan.mm!;
  const fields: Array<[number, string, bigint]> = [
    [26, 'start_code', mm.startCode],
    [27, 'end_code', mm.endCode],
    [28, 'start_stack', mm.startStack],
    [45, 'start_data', mm.startData],
    [46, 'end_data', mm.endData],
    [47, 'start_brk', mm.startBrk],
    [48, 'arg_start', mm.argStart],
    [49, 'arg_end', mm.argEnd],
    [50, 'env_start', mm.envStart],
    [51, 'env_end', mm.envEnd],
  ];
  for (const [n, name, ours] of fields) {
    if (real.stat[n] !== ours) problems.push(`${name}: kernel ${hex(real.stat[n])}, plan ${hex(ours)}`);
  }

  const realAuxv = real.auxv.map(([t, v]) => `${t}=${hex(v)}`).join(' ');
  const ourAuxv = (plan.auxv ?? []).map((e) => `${e.type}=${hex(e.value)}`).join(' ');
  if (realAuxv !== ourAuxv) problems.push(`auxv differs:\nkernel    ${realAuxv}\npagestack ${ourAuxv}`);

  const expected = new Uint8Array(Number(real.stackEnd - real.rsp));
  for (const w of plan.writes) {
    const at = w.addr - Number(real.rsp);
    if (at >= 0 && at + w.bytes.length <= expected.length) expected.set(w.bytes, at);
  }
  if (!Buffer.from(expected).equals(Buffer.from(real.stack))) {
    const first = expected.findIndex((b, i) => b !== real.stack[i]);
    problems.push(
      `stack bytes differ from rsp+${first} (${hex(real.rsp + BigInt(first))}): ${expected.length} expected, ${real.stack.length} read`,
    );
  }

  for (const [addr, bytes] of real.pages) {
    const ours = expectedPage(plan, Number(addr));
    if (ours === undefined) continue; // not a file page in the plan: the maps comparison reports it
    const same = ours === null || bytes === null ? ours === bytes : Buffer.from(ours).equals(Buffer.from(bytes));
    if (!same)
      problems.push(
        `page ${hex(addr)}: kernel ${bytes === null ? 'faults' : 'has other bytes'}, plan ${ours === null ? 'faults' : 'has other bytes'}`,
      );
  }
  return problems;
}

/** The page at `addr` as the plan leaves it: file bytes plus kernel writes; null past the end of the file. */
function expectedPage(plan: ExecPlan, addr: number): Uint8Array | null | undefined {
  const vma = plan.vmas.find((v) => v.start <= addr && addr < v.end);
  if (!vma?.file) return undefined;
  const offset = vma.file.offset + (addr - vma.start);
  if (offset >= Math.ceil(vma.file.backing.size / 4096) * 4096) return null;
  const page = new Uint8Array(4096);
  vma.file.backing.readPage(offset / 4096, page);
  for (const w of plan.writes) {
    const from = Math.max(w.addr, addr);
    const to = Math.min(w.addr + w.bytes.length, addr + 4096);
    if (from < to) page.set(w.bytes.subarray(from - w.addr, to - w.addr), from - addr);
  }
  return page;
}

/** Writes the synthetic layouts to a temporary directory, executable. */
function writeSynthetic(): Case[] {
  const interp = '/lib64/ld-linux-x86-64.so.2';
  if (!isX86Executable(interp)) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-synth-'));
  syntheticDir = dir;
  const write = (name: string, bytes: Uint8Array) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes, { mode: 0o755 });
    return file;
  };
  const ownInterp = write('interp-at-0x20000000.so', buildElf(INTERP_AT_FIXED_HINT));
  const cases = Object.entries(synthLayouts(interp, ownInterp)).map(([name, spec]) => ({
    name: `synthetic ${name}`,
    binary: write(name, buildElf(spec)),
  }));
  // A hard link: the same inode under a second name, which maps must print.
  const link = path.join(dir, 'ro-bss-hard-link');
  fs.linkSync(path.join(dir, 'ro-bss'), link);
  cases.push({ name: 'synthetic ro-bss through a hard link', binary: link });
  return cases;
}

/**
 * The samples, a deterministic spread of /usr/bin (the largest, the non-PIE,
 * any without an interpreter, then evenly spaced by name), the interpreter
 * and static binaries found elsewhere, synthetic layouts, and three runs that stress the stack
 * set-up (a 20 KiB environment, a 1 GB and an unlimited stack limit).
 */
function chooseCases(): Case[] {
  const dirs = process.env.PAGESTACK_FIDELITY_DIRS;
  if (dirs) return dirs.split(':').flatMap((d) => listExecutables(d).map((e) => ({ name: e.path, binary: e.path })));
  const cases: Case[] = [];
  for (const name of fs.readdirSync(SAMPLES).sort())
    cases.push({ name: `samples/bin/${name}`, binary: path.join(SAMPLES, name) });

  const usrBin = listExecutables('/usr/bin');
  const picked = new Set<string>();
  for (const e of [...usrBin].sort((a, b) => b.size - a.size).slice(0, 5)) picked.add(e.path);
  for (const e of usrBin.filter((e) => e.type === 2).slice(0, 4)) picked.add(e.path);
  for (const e of usrBin.filter((e) => !e.interp)) picked.add(e.path);
  const rest = usrBin.filter((e) => !picked.has(e.path));
  const want = Math.max(0, USR_BIN_COUNT - picked.size);
  for (let i = 0; i < want && rest.length > 0; i++) picked.add(rest[Math.floor((i * rest.length) / want)]!.path);
  for (const p of [...picked].sort()) cases.push({ name: p, binary: p });

  const elsewhere = [
    '/lib64/ld-linux-x86-64.so.2', // the interpreter run as a program: ET_DYN without PT_INTERP
    '/usr/sbin/ldconfig', // static PIE on Debian
    '/usr/libexec/valgrind/memcheck-amd64-linux', // static ET_EXEC at 0x58000000
  ];
  for (const p of elsewhere) if (isX86Executable(p)) cases.push({ name: p, binary: p });

  cases.push(...writeSynthetic());

  const hello = path.join(SAMPLES, 'hello');
  cases.push({
    name: 'hello with a 20 KiB environment',
    binary: hello,
    probe: { env: { ...process.env, PAGESTACK_BIG: 'x'.repeat(20 << 10) } },
  });
  cases.push({ name: 'hello with a 1 GB stack limit', binary: hello, probe: { stackLimitKiB: 1_000_000 } });
  cases.push({
    name: 'static with an unlimited stack limit',
    binary: path.join(SAMPLES, 'static'),
    probe: { stackLimitKiB: 'unlimited' },
  });
  return cases;
}

interface Executable {
  path: string;
  size: number;
  type: number;
  interp: boolean;
}

/** Regular x86-64 ELF executables in `dir`, symlinks resolved and deduplicated, setuid/setgid and scripts left out. */
function listExecutables(dir: string): Executable[] {
  const seen = new Set<string>();
  const out: Executable[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    let real: string;
    try {
      real = fs.realpathSync(p);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const info = readHeader(p);
    if (info) out.push({ path: p, ...info });
  }
  return out;
}

function isX86Executable(p: string): boolean {
  return readHeader(p) !== undefined;
}

function readHeader(p: string): Omit<Executable, 'path'> | undefined {
  let fd: number | undefined;
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || (st.mode & 0o111) === 0 || (st.mode & 0o6000) !== 0) return undefined;
    fd = fs.openSync(p, 'r');
    const h = Buffer.alloc(64);
    if (fs.readSync(fd, h, 0, 64, 0) < 64) return undefined;
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1 || h.readUInt16LE(18) !== 62) return undefined;
    const type = h.readUInt16LE(16);
    if (type !== 2 && type !== 3) return undefined;
    const phoff = Number(h.readBigUInt64LE(32));
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(56 * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    let interp = false;
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * 56) === 3) interp = true;
    // An ET_DYN without PT_INTERP in /usr/bin is a shared library or a static PIE; both run.
    return { size: st.size, type, interp };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
