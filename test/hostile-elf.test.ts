/**
 * ELF programs the kernel refuses or runs oddly, against the real kernel.
 * - elf-kernel-mutants: mutations of samples/bin/static (two PT_GNU_STACK,
 *   unknown p_type values, p_memsz of 2^46 and 2^34, PT_LOADs overlapping
 *   another's tail, middle, whole or bss, a segment past the end of the
 *   file, no PT_LOAD in an ET_EXEC or ET_DYN, ...), and the overlaps again on
 *   the ET_DYN samples/bin/static-pie and samples/bin/hello. Each is exec'd
 *   under ptrace, stopped before its first instruction
 *   (`setarch -R gdb -batch -ex starti`); `pagestack maps` must succeed
 *   exactly when the kernel does, with the same file and bss mappings, and
 *   fail in one line (with SIGSEGV named when the kernel kills the process
 *   during execve) when it does not. Known gaps are listed and printed.
 * - elf-huge-memsz: `load` and `maps` end at once on a 64 TiB p_memsz.
 * - elf-gnu-stack-last-wins: the last PT_GNU_STACK sets the stack flags.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelProbeUnavailable, probeKernel, removeProbeScript } from './loader-kernel-probe.js';
import { removeTree, tempDir } from './container-helpers.js';
import { runCli } from './sim-helpers.js';

const STATIC = fileURLToPath(new URL('../samples/bin/static', import.meta.url));
const STATIC_PIE = fileURLToPath(new URL('../samples/bin/static-pie', import.meta.url));
const HELLO = fileURLToPath(new URL('../samples/bin/hello', import.meta.url));
const PT_LOAD = 1;
const PT_GNU_STACK = 0x6474e551;

interface Phdr {
  at: number;
  type: number;
  flags: number;
}

function phdrs(b: Buffer): Phdr[] {
  const phoff = Number(b.readBigUInt64LE(32));
  const n = b.readUInt16LE(56);
  return Array.from({ length: n }, (_, i) => ({
    at: phoff + 56 * i,
    type: b.readUInt32LE(phoff + 56 * i),
    flags: b.readUInt32LE(phoff + 56 * i + 4),
  }));
}

type Mutation = (b: Buffer) => Buffer;
/** Writes a u64 at `at` and returns the buffer. */
const set64 = (b: Buffer, at: number, v: bigint): Buffer => {
  b.writeBigUInt64LE(v, at);
  return b;
};
const get64 = (b: Buffer, at: number): bigint => b.readBigUInt64LE(at);
const loads = (b: Buffer) => phdrs(b).filter((p) => p.type === PT_LOAD);
const lastLoad = (b: Buffer) => loads(b).at(-1)!;

/** name -> mutation; each starts from a fresh copy of samples/bin/static (ET_EXEC, 4 PT_LOADs, one PT_GNU_STACK). */
const MUTANTS: Record<string, Mutation> = {
  'memsz-2^46': (b) => set64(b, lastLoad(b).at + 40, 2n ** 46n),
  'memsz-2^34': (b) => set64(b, lastLoad(b).at + 40, 2n ** 34n),
  'memsz-2^47': (b) => set64(b, lastLoad(b).at + 40, 2n ** 47n),
  'two-gnu-stack-first-rwx': (b) => {
    const note = phdrs(b).find((p) => p.type === 4)!; // a PT_NOTE becomes an RWX PT_GNU_STACK before the real one
    b.writeUInt32LE(PT_GNU_STACK, note.at);
    b.writeUInt32LE(7, note.at + 4);
    return b;
  },
  'unknown-p-types': (b) => {
    const notes = phdrs(b).filter((p) => p.type === 4);
    b.writeUInt32LE(0x12345678, notes[0]!.at);
    b.writeUInt32LE(0x6fffffff, notes[1]!.at);
    return b;
  },
  'vaddr-beyond-task-size': (b) => set64(b, lastLoad(b).at + 16, 0x800000000000n),
  'offset-vaddr-incongruent': (b) => set64(b, lastLoad(b).at + 8, get64(b, lastLoad(b).at + 8) + 1n),
  'filesz-past-eof': (b) => {
    const at = lastLoad(b).at;
    set64(b, at + 32, get64(b, at + 32) + 0x100000n);
    return set64(b, at + 40, get64(b, at + 40) + 0x100000n);
  },
  'overlapping-loads': (b) => {
    const [, second] = loads(b);
    return set64(b, second!.at + 40, get64(b, second!.at + 40) + 0x2000n); // text runs into rodata
  },
  'overlap-middle': (b) => {
    const [, , rodata] = loads(b);
    return set64(b, rodata!.at + 16, 0x420000n); // read-only data mapped MAP_FIXED over the middle of the text
  },
  'overlap-covers': (b) => {
    const [first, text] = loads(b);
    const end = get64(b, text!.at + 16) + get64(b, text!.at + 32);
    set64(b, text!.at + 8, 0n); // the text segment now starts at file offset 0 and covers the first PT_LOAD entirely
    set64(b, text!.at + 16, get64(b, first!.at + 16));
    set64(b, text!.at + 32, end - get64(b, first!.at + 16));
    return set64(b, text!.at + 40, end - get64(b, first!.at + 16));
  },
  'overlap-bss': (b) => {
    const [, , rodata] = loads(b);
    return set64(b, rodata!.at + 40, get64(b, rodata!.at + 40) + 0x40000n); // rodata's bss runs under the data segment
  },
  'no-pt-load': (b) => {
    for (const p of loads(b)) b.writeUInt32LE(0x6fffffff, p.at);
    return b;
  },
  'no-pt-load-dyn': (b) => {
    for (const p of loads(b)) b.writeUInt32LE(0x6fffffff, p.at);
    b.writeUInt16LE(3, 16); // ET_DYN without PT_INTERP
    return b;
  },
  'filesz-over-memsz': (b) => set64(b, lastLoad(b).at + 32, get64(b, lastLoad(b).at + 40) + 0x1000n),
  'phnum-zero': (b) => {
    b.writeUInt16LE(0, 56);
    return b;
  },
  'entry-unmapped': (b) => set64(b, 24, 0x10000000n),
};

/**
 * ET_DYN mutants: the kernel reserves total_mapping_size (first PT_LOAD's page
 * to the last PT_LOAD's end, in header order) at the first segment, unmaps the
 * rest, then maps the others MAP_FIXED. Run on samples/bin/static-pie (no
 * PT_INTERP) and samples/bin/hello (dynamic PIE; the interpreter is untouched).
 */
const PIE_MUTANTS: Record<string, Mutation> = {
  'overlapping-loads': MUTANTS['overlapping-loads']!,
  'overlap-middle': (b) => {
    const [, text, rodata] = loads(b);
    const mid = get64(b, text!.at + 16) + ((get64(b, text!.at + 40) / 2n) & ~0xfffn);
    return set64(b, rodata!.at + 16, mid); // rodata mapped MAP_FIXED over the middle of the text
  },
  'overlap-covers': MUTANTS['overlap-covers']!,
  'overlap-bss': MUTANTS['overlap-bss']!, // rodata now ends past the last PT_LOAD: beyond total_mapping_size
  'no-pt-load': MUTANTS['no-pt-load']!,
  'loads-unsorted': (b) => {
    const [first, text] = loads(b); // the text PT_LOAD comes first: elf_map places it, the lowest one goes below
    const saved = Buffer.from(b.subarray(first!.at, first!.at + 56));
    b.copy(b, first!.at, text!.at, text!.at + 56);
    saved.copy(b, text!.at);
    return b;
  },
};
const HELLO_MUTANTS = ['overlapping-loads', 'overlap-covers', 'overlap-bss', 'loads-unsorted'];

/** Test name -> [base program, mutation]. */
const CASES = new Map<string, [string, Mutation]>([
  ...Object.entries(MUTANTS).map(([n, m]): [string, [string, Mutation]] => [n, [STATIC, m]]),
  ...Object.entries(PIE_MUTANTS).map(([n, m]): [string, [string, Mutation]] => [`pie-${n}`, [STATIC_PIE, m]]),
  ...HELLO_MUTANTS.map((n): [string, [string, Mutation]] => [`hello-${n}`, [HELLO, PIE_MUTANTS[n]!]]),
]);

/** Mutants where this model still refuses what the kernel runs (docs/notes/loader.md); printed, and checked to stay exactly these. */
const KNOWN_GAPS = new Set(['filesz-past-eof']);

const unavailable = kernelProbeUnavailable();
if (unavailable)
  console.log(`elf-kernel-mutants: the kernel cannot be asked here (${unavailable}); the comparison is skipped`);

let work: string;
const files = new Map<string, string>();
beforeAll(() => {
  work = tempDir('elf-mutants');
  for (const [name, [base, mutate]] of CASES) {
    const f = path.join(work, name);
    fs.writeFileSync(f, mutate(Buffer.from(fs.readFileSync(base))), { mode: 0o755 });
    files.set(name, f);
  }
});
afterAll(() => {
  removeTree(work);
  removeProbeScript();
});

/**
 * start-end perms offset of the program's own mappings: file-backed, the
 * anonymous bss/brk below the mmap area, and anonymous mappings right after
 * one of the program's (a PIE's bss, wherever it was loaded).
 */
function ownLines(maps: string, file: string): string[] {
  let end = '';
  return maps
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ +/))
    .filter((f) => {
      // Anonymous lines end in a space: their sixth field is '' (or absent).
      const [start, stop] = f[0]!.split('-') as [string, string];
      const own = f[5] === file || (!f[5] && (start === end || BigInt(`0x${start}`) < 0x10000000000n));
      end = own ? stop : '';
      return own;
    })
    .map((f) => `${f[0]} ${f[1]} ${f[2]}`);
}

describe('elf-kernel-mutants: maps agrees with the kernel on damaged programs', () => {
  const gaps: string[] = [];
  afterAll(() => {
    if (gaps.length)
      console.log(`elf-kernel-mutants: known gaps (the model refuses, the kernel runs): ${gaps.join(', ')}`);
  });
  for (const name of CASES.keys()) {
    it.skipIf(unavailable !== undefined)(
      name,
      async () => {
        const file = files.get(name)!;
        const kernel = await probeKernel(file).then(
          // On ENOEXEC glibc's execvp (gdb's fork_inferior) runs the file with /bin/sh: the kernel refused it.
          (k) =>
            /\/(dash|bash|sh)$/m.test(k.maps)
              ? { ok: false as const, why: 'ENOEXEC (gdb fell back to /bin/sh)' }
              : { ok: true as const, maps: k.maps, startBrk: k.stat[47] },
          (e: Error) => ({ ok: false as const, why: e.message }),
        );
        const ours = await runCli('maps', file, '--no-special');
        const oursOk = ours.status === 0;
        if (!oursOk) {
          expect(ours.stderr.split('\n').filter(Boolean), name).toHaveLength(1);
          if (!kernel.ok && /SIGSEGV/.test(kernel.why))
            expect(ours.stderr, `${name}: the kernel killed it with SIGSEGV`).toMatch(/SIGSEGV/);
        }
        if (KNOWN_GAPS.has(name) && kernel.ok && !oursOk) {
          gaps.push(name);
          return;
        }
        expect(
          oursOk,
          `${name}: kernel ${kernel.ok ? 'runs it' : `refuses it (${kernel.ok ? '' : kernel.why.slice(0, 200)})`}, pagestack ${oursOk ? 'maps it' : `refuses it: ${ours.stderr}`}`,
        ).toBe(kernel.ok);
        if (kernel.ok && oursOk) {
          expect(ownLines(ours.stdout, file)).toEqual(ownLines(kernel.maps, file));
          if (/^(pie-|hello-)?overlap/.test(name)) expect(ownLines(kernel.maps, file).length, name).toBeGreaterThan(2);
          // mm->start_brk (/proc/PID/stat field 47), also where nothing was mapped from the file.
          const json = await runCli('maps', file, '--json');
          expect(BigInt(JSON.parse(json.stdout).startBrk), `${name}: start_brk`).toBe(kernel.startBrk);
        }
      },
      90_000,
    );
  }
});

describe('elf-huge-memsz: a 64 TiB p_memsz ends load and maps at once', () => {
  it('load and maps fail in one line, naming ENOMEM and SIGSEGV', async () => {
    for (const cmd of ['maps', 'load']) {
      const started = Date.now();
      const r = await runCli(cmd, files.get('memsz-2^46')!);
      expect(r.status, cmd).toBe(1);
      expect(r.stderr, cmd).toMatch(/more than RAM and swap .*ENOMEM; execve kills the process with SIGSEGV\n$/);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  });
});

describe('elf-gnu-stack-last-wins: the last PT_GNU_STACK decides, unknown types are ignored', () => {
  it('maps the stack rw- when an RWX PT_GNU_STACK is followed by an RW one', async () => {
    const r = await runCli('maps', files.get('two-gnu-stack-first-rwx')!);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ rw-p 00000000 00:00 0 +\[stack\]/);
    const u = await runCli('maps', files.get('unknown-p-types')!);
    expect(u.status).toBe(0);
  });
});
