/**
 * The execve planner on the samples and on synthetic files, without the
 * real kernel (test/loader-kernel.test.ts compares with it). Interpreters
 * come from a temporary root (test/loader-fixtures.ts), so nothing here
 * depends on the machine's /lib64.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planExecWith } from '../src/loader/execve.js';
import type { ExecFileSource } from '../src/loader/file-backing.js';
import { formatMaps } from '../src/loader/maps.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan } from '../src/abi/exec-plan.js';
import { resolveInRoot } from '../src/loader/resolve.js';
import type { FileBacking } from '../src/abi/file-backing.js';
import { buildElf, R, W, X, type ElfSpec } from './loader-elf-builder.js';
import { FAKE_LDSO, loaderFixture, sample, type LoaderFixture } from './loader-fixtures.js';

const RW = PROT_READ | PROT_WRITE;

let fx: LoaderFixture;
let root: string;
let ldso: string;

beforeAll(async () => {
  fx = await loaderFixture();
  ({ root, ldso } = fx);
});

afterAll(() => fx.cleanup());

const plan: LoaderFixture['plan'] = (file, options) => fx.plan(file, options);
const synthetic: LoaderFixture['synthetic'] = (name, spec) => fx.synthetic(name, spec);

/** The VMAs as [start, end, prot, file offset or name] for compact expectations. */
function layout(p: ExecPlan): Array<[number, number, number, number | string]> {
  return p.vmas.map((v) => [v.start, v.end, v.prot, v.file ? v.file.offset : (v.name ?? '')]);
}

describe('a dynamic PIE (samples/bin/hello)', () => {
  it('is based at 0x555555554000 with the interpreter top-down below 0x7ffff7fff000', () => {
    const p = plan(sample('hello'));
    expect(layout(p)).toEqual([
      [0x555555554000, 0x555555555000, PROT_READ, 0],
      [0x555555555000, 0x555555556000, PROT_READ | PROT_EXEC, 0x1000],
      [0x555555556000, 0x555555557000, PROT_READ, 0x2000],
      [0x555555557000, 0x555555559000, RW, 0x2000],
      // the fake ld.so: span 0x5800 rounds to 0x6000 below mmap_base
      [0x7ffff7ff9000, 0x7ffff7ffa000, PROT_READ, 0],
      [0x7ffff7ffa000, 0x7ffff7ffc000, PROT_READ | PROT_EXEC, 0x1000],
      [0x7ffff7ffd000, 0x7ffff7ffe000, RW, 0x3000],
      [0x7ffff7ffe000, 0x7ffff7fff000, RW, ''],
      [0x7ffffffde000, 0x7ffffffff000, RW, '[stack]'],
    ]);
    expect(p.loadBias).toBe(0x555555554000);
    expect(p.interpBase).toBe(0x7ffff7ff9000);
    expect(p.entry).toBe(0x7ffff7ffa000);
    expect(p.startBrk).toBe(0x555555559000);
    expect(p.mmapBase).toBe(0x7ffff7fff000);
    expect(p.interpreter).toBe(fs.realpathSync(ldso));
    expect(p.vmas[0]!.file!.backing.path).toBe(fs.realpathSync(sample('hello')));
  });

  it('zeroes the rest of the last data page (padzero) and writes only the stack otherwise', () => {
    const p = plan(sample('hello'));
    // .data+.bss: p_vaddr 0x3dd0, p_filesz 0x248: zero from 0x4018 to the page end.
    const pad = p.writes.filter((w) => w.addr < 0x7ffff0000000 && w.addr >= 0x555555554000 && w.addr < 0x555555559000);
    expect(pad).toHaveLength(1);
    expect(pad[0]!.addr).toBe(0x555555558018);
    expect(pad[0]!.bytes.length).toBe(0x1000 - 0x18);
    expect(pad[0]!.bytes.every((b) => b === 0)).toBe(true);
    // The fake ld.so's rw segment ends its file part at 0x4a00: padzero there too.
    expect(p.writes.some((w) => w.addr === 0x7ffff7ffda00 && w.bytes.length === 0x600)).toBe(true);
  });

  it('lays out argv, envp, the filename and the auxiliary vector as create_elf_tables does', () => {
    const file = sample('hello');
    const p = plan(file, { argv: ['hello', 'world'], envp: ['A=1', 'HOME=/root'] });
    const top = 0x7ffffffff000;
    const execfnAt = top - 8 - (Buffer.byteLength(file) + 1);
    expect(Number(p.mm!.envEnd)).toBe(execfnAt);
    expect(Number(p.mm!.envStart)).toBe(execfnAt - ('A=1'.length + 1 + 'HOME=/root'.length + 1));
    expect(Number(p.mm!.argStart)).toBe(Number(p.mm!.envStart) - ('hello'.length + 1 + 'world'.length + 1));
    expect(p.stackPointer! % 16).toBe(0);
    const aux = new Map(p.auxv!.map((e) => [e.name, e.value]));
    expect(aux.get('AT_PHDR')).toBe(0x555555554040n);
    expect(aux.get('AT_PHNUM')).toBe(13n);
    expect(aux.get('AT_ENTRY')).toBe(0x555555555070n);
    expect(aux.get('AT_BASE')).toBe(0x7ffff7ff9000n);
    expect(aux.get('AT_EXECFN')).toBe(BigInt(execfnAt));
    expect(aux.get('AT_PAGESZ')).toBe(4096n);

    // Read the stack back from the writes: argc, argv[], envp[], auxv.
    const mem = new Map<number, number>();
    for (const w of p.writes) w.bytes.forEach((b, i) => mem.set(w.addr + i, b));
    const word = (a: number) => {
      let v = 0n;
      for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(mem.get(a + i) ?? 0);
      return v;
    };
    const cstr = (a: number) => {
      let s = '';
      for (let c = mem.get(a); c; c = mem.get(++a)) s += String.fromCharCode(c);
      return s;
    };
    const sp = p.stackPointer!;
    expect(word(sp)).toBe(2n);
    expect(cstr(Number(word(sp + 8)))).toBe('hello');
    expect(cstr(Number(word(sp + 16)))).toBe('world');
    expect(word(sp + 24)).toBe(0n);
    expect(cstr(Number(word(sp + 32)))).toBe('A=1');
    expect(cstr(Number(word(sp + 40)))).toBe('HOME=/root');
    expect(word(sp + 48)).toBe(0n);
    expect(word(sp + 56)).toBe(33n); // AT_SYSINFO_EHDR comes first
    expect(cstr(Number(aux.get('AT_PLATFORM')!))).toBe('x86_64');
    expect(cstr(Number(aux.get('AT_EXECFN')!))).toBe(file);
  });

  it('grows the stack VMA with the strings, and caps it at RLIMIT_STACK', () => {
    const big = plan(sample('hello'), { envp: [`X=${'y'.repeat(20000)}`] });
    const stack = big.vmas.find((v) => v.name === '[stack]')!;
    // 20 KiB of strings touch 5 pages below the top page... plus 128 KiB.
    const stringPages = Math.ceil((0x7ffffffff000 - Number(big.mm!.argStart)) / 4096);
    expect(stack.end - stack.start).toBe(stringPages * 4096 + 131072);
    const unlimited = plan(sample('hello'), { rlimitStack: (1n << 64n) - 1n });
    expect(unlimited.mmapBase).toBe(0x155555556000);
    expect(unlimited.interpBase).toBe(0x155555550000);
  });
});

describe('other program types', () => {
  it('hello-2m (p_align 2 MiB) loads at 0x555555400000, holes left unmapped', () => {
    const p = plan(sample('hello-2m'));
    expect(p.loadBias).toBe(0x555555400000);
    expect(
      layout(p)
        .slice(0, 4)
        .map(([s, e]) => [s, e]),
    ).toEqual([
      [0x555555400000, 0x555555401000],
      [0x555555600000, 0x555555601000],
      [0x555555800000, 0x555555801000],
      [0x555555bff000, 0x555555c01000],
    ]);
  });

  it('static (ET_EXEC) maps at its p_vaddr, its bss beyond the file page anonymous, brk after it, no interpreter', () => {
    const p = plan(sample('static'));
    expect(layout(p)).toEqual([
      [0x400000, 0x401000, PROT_READ, 0],
      [0x401000, 0x479000, PROT_READ | PROT_EXEC, 0x1000],
      [0x479000, 0x4a0000, PROT_READ, 0x79000],
      [0x4a0000, 0x4a7000, RW, 0xa0000],
      [0x4a7000, 0x4ac000, RW, ''],
      [0x7ffffffde000, 0x7ffffffff000, RW, '[stack]'],
    ]);
    expect(p.entry).toBe(0x401560);
    expect(p.loadBias).toBe(0);
    expect(p.interpBase).toBeUndefined();
    expect(p.startBrk).toBe(0x4ac000);
    expect(p.specialMappings!.map((v) => [v.start, v.name])).toEqual([
      [0x7ffff7ff7000, '[vvar]'],
      [0x7ffff7ffb000, '[vvar_vclock]'],
      [0x7ffff7ffd000, '[vdso]'],
    ]);
  });

  it('static-pie (ET_DYN without PT_INTERP) goes top-down below mmap_base; brk moves to 0x555555555000', () => {
    const p = plan(sample('static-pie'));
    const last = p.vmas.filter((v) => v.name !== '[stack]').at(-1)!;
    expect(last.end).toBe(0x7ffff7fff000);
    expect(p.loadBias).toBe(p.vmas[0]!.start);
    expect(p.startBrk).toBe(0x555555555000);
    expect(p.interpBase).toBeUndefined();
  });

  it('a static PIE with p_align 2 MiB is aligned down after a discovery mapping', () => {
    const file = synthetic('sp2m', {
      type: 3,
      entry: 0x201000,
      phdrs: [
        { flags: R | W, offset: 0, vaddr: 0, filesz: 0x900, memsz: 0x3000, align: 0x200000 },
        { flags: R | X, offset: 0x1000, vaddr: 0x201000, filesz: 0x100, align: 0x200000 },
      ],
    });
    const p = plan(file);
    // span 0x202000 top-down: 0x7ffff7fff000 - 0x202000 = 0x7ffff7dfd000, aligned down to 2 MiB.
    expect(p.loadBias).toBe(0x7ffff7c00000);
    expect(layout(p).slice(0, 3)).toEqual([
      [0x7ffff7c00000, 0x7ffff7c01000, RW, 0],
      [0x7ffff7c01000, 0x7ffff7c03000, RW, ''],
      [0x7ffff7e01000, 0x7ffff7e02000, PROT_READ | PROT_EXEC, 0x1000],
    ]);
    // the discovery mapping's padzero was undone with it: one padzero remains
    expect(p.writes.filter((w) => w.addr < 0x7ffff7f00000).map((w) => w.addr)).toEqual([0x7ffff7c00900]);
  });

  it('a segment mapped over the last page of the previous one replaces it, as MAP_FIXED does', () => {
    const file = synthetic('shared-page', {
      type: 2,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1234 },
        { flags: R | W, offset: 0x1234, vaddr: 0x401234, filesz: 0x100, memsz: 0x2000 },
      ],
    });
    expect(layout(plan(file)).slice(0, 3)).toEqual([
      [0x400000, 0x401000, PROT_READ | PROT_EXEC, 0],
      [0x401000, 0x402000, RW, 0x1000],
      [0x402000, 0x404000, RW, ''],
    ]);
  });

  it('read-only bss is not zeroed (padzero faults) but still gets a read-write anonymous mapping', () => {
    const file = synthetic('ro-bss', {
      type: 2,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1800 },
        { flags: R, offset: 0x2000, vaddr: 0x402000, filesz: 0x234, memsz: 0x3000 },
      ],
    });
    const p = plan(file);
    expect(layout(p).slice(1, 3)).toEqual([
      [0x402000, 0x403000, PROT_READ, 0x2000],
      [0x403000, 0x405000, RW, ''],
    ]);
    expect(p.writes.some((w) => w.addr < 0x500000)).toBe(false);
  });

  it('contiguous segments with the same protection merge into one VMA, as vma_merge does', () => {
    const file = synthetic('merge', {
      type: 2,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x800 },
        { flags: R | W, offset: 0xd78, vaddr: 0x401d78, filesz: 0x2a8, memsz: 0x2b0 },
        { flags: R | W, offset: 0x2000, vaddr: 0x403000, filesz: 0x1d0 },
        { flags: R | W, offset: 0, vaddr: 0x404000, filesz: 0, memsz: 0x2000 },
      ],
    });
    expect(layout(plan(file)).slice(0, 3)).toEqual([
      [0x400000, 0x401000, PROT_READ | PROT_EXEC, 0],
      [0x401000, 0x404000, RW, 0],
      [0x404000, 0x406000, RW, ''],
    ]);
  });

  it('PT_GNU_STACK with PF_X makes the stack executable; without PT_GNU_STACK it is not', () => {
    const spec = (gnuStack?: number): ElfSpec => ({
      type: 2,
      entry: 0x400000,
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x100 }],
      gnuStack,
    });
    const stackProt = (file: string) => plan(file).vmas.find((v) => v.name === '[stack]')!.prot;
    expect(stackProt(synthetic('xstack', spec(R | W | X)))).toBe(RW | PROT_EXEC);
    expect(stackProt(synthetic('nostack', spec()))).toBe(RW);
  });
});

describe('resolveInRoot', () => {
  it('follows absolute and relative symlinks without leaving the root', () => {
    expect(resolveInRoot(root, '/lib64/ld-linux-x86-64.so.2', 'interpreter')).toBe(fs.realpathSync(ldso));
    expect(resolveInRoot(root, '/../../../../lib64/./ld-linux-x86-64.so.2', 'interpreter')).toBe(fs.realpathSync(ldso));
    fs.symlinkSync('/../../../../../etc', path.join(root, 'escape'));
    expect(() => resolveInRoot(root, '/escape/passwd', 'interpreter')).toThrow(/no such file/);
  });

  it('stops after 40 symlinks', () => {
    fs.symlinkSync('loop-b', path.join(root, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(root, 'loop-b'));
    expect(() => resolveInRoot(root, '/loop-a', 'interpreter')).toThrow(/more than 40 symbolic links/);
  });

  it('an empty argv becomes one empty string, as in the kernel', () => {
    const p = plan(sample('hello'), { argv: [] });
    expect(p.mm!.argEnd - p.mm!.argStart).toBe(1n);
  });
});

describe('/proc/PID/maps text', () => {
  it('pads the path to column 73 and leaves the trailing space of an unnamed line', () => {
    const text = formatMaps(plan(sample('static')));
    const lines = text.split('\n');
    const first = lines[0]!;
    expect(first.indexOf('/')).toBe(73);
    expect(first).toMatch(/^00400000-00401000 r--p 00000000 [0-9a-f]{2}:[0-9a-f]{2} \d+ +\/.*\/static$/);
    expect(lines[4]).toBe('004a7000-004ac000 rw-p 00000000 00:00 0 ');
    expect(lines).toContain('7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]');
    expect(lines.at(-2)).toBe('ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('uses the device and inode of the file', () => {
    const st = fs.statSync(sample('static'), { bigint: true });
    const line = formatMaps(plan(sample('static'))).split('\n')[0]!;
    expect(line.split(/ +/)[4]).toBe(String(st.ino));
  });
});

describe('FileBacking', () => {
  it('gives identical pages of different files one content id and zero pages id 0', () => {
    const a = plan(sample('tables')).vmas[0]!.file!.backing;
    const b = plan(sample('tables2')).vmas[0]!.file!.backing;
    expect(a).not.toBe(b);
    const idsA = Array.from({ length: a.pageCount }, (_, i) => a.contentId(i));
    const idsB = Array.from({ length: b.pageCount }, (_, i) => b.contentId(i));
    // Check against the bytes: equal ids exactly when equal pages.
    const page = (bk: typeof a, i: number) => {
      const p = new Uint8Array(4096);
      bk.readPage(i, p);
      return Buffer.from(p).toString('hex');
    };
    const byContent = new Map<string, number>();
    for (const [bk, ids] of [
      [a, idsA],
      [b, idsB],
    ] as const) {
      ids.forEach((id, i) => {
        const key = page(bk, i);
        if (/^0+$/.test(key)) expect(id).toBe(0);
        else if (byContent.has(key)) expect(id).toBe(byContent.get(key));
        else {
          expect([...byContent.values()]).not.toContain(id);
          byContent.set(key, id);
        }
      });
    }
    expect(new Set(idsB).size).toBeLessThan(idsB.length); // tables2 repeats a page within itself
    expect(idsB.some((id) => id !== 0 && idsA.includes(id))).toBe(true); // and shares pages with tables
  });

  it('one backing per file per table, shared by every exec of it', () => {
    const p1 = plan(sample('hello'));
    const p2 = plan(sample('hello'));
    expect(p1.vmas[0]!.file!.backing).toBe(p2.vmas[0]!.file!.backing);
  });

  it('regression: a deleted file whose inode number is reused does not bring back its bytes', () => {
    const first = synthetic('inode-a', {
      type: 2,
      entry: 0x400000,
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x100 }],
    });
    plan(first);
    fs.rmSync(first);
    const second = synthetic('inode-b', {
      type: 2,
      entry: 0x500000,
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0x500000, filesz: 0x200 }],
    });
    const p = plan(second);
    expect(p.entry).toBe(0x500000);
    expect(p.vmas[0]!.file!.backing.size).toBe(fs.statSync(second).size);
  });

  it('reads zeros past the end of the file', () => {
    const bk = plan(sample('hello')).vmas[0]!.file!.backing;
    const p = new Uint8Array(4096).fill(9);
    bk.readPage(bk.pageCount, p);
    expect(p.every((b) => b === 0)).toBe(true);
    expect(bk.contentId(bk.pageCount + 3)).toBe(0);
  });
});

describe('a source other than the disk (as a container reader provides)', () => {
  class MemoryBacking implements FileBacking {
    readonly pageSize = 4096;
    readonly size: number;
    readonly pageCount: number;
    constructor(
      readonly path: string,
      private readonly data: Uint8Array,
    ) {
      this.size = data.length;
      this.pageCount = Math.ceil(data.length / 4096);
    }
    readPage(i: number, into: Uint8Array): void {
      into.fill(0);
      into.set(this.data.subarray(i * 4096, Math.min((i + 1) * 4096, this.size)));
    }
    contentId(i: number): number {
      return i + 1;
    }
  }

  it('plans from FileBackings alone; maps shows 00:00 0 for device and inode', () => {
    const members = new Map<string, FileBacking>([
      ['/bin/hello', new MemoryBacking('/bin/hello', fs.readFileSync(sample('hello')))],
      ['/lib64/ld-linux-x86-64.so.2', new MemoryBacking('/lib64/ld-linux-x86-64.so.2', buildElf(FAKE_LDSO))],
    ]);
    const source: ExecFileSource = {
      program: (p) => members.get(p)!,
      interpreter: (p) => members.get(p)!,
    };
    const p = planExecWith(source, '/bin/hello');
    expect(layout(p)).toEqual(layout(plan(sample('hello'))));
    const lines = formatMaps(p).split('\n');
    expect(lines[0]).toBe('555555554000-555555555000 r--p 00000000 00:00 0                          /bin/hello');
    expect(lines).toContain(
      '7ffff7ff9000-7ffff7ffa000 r--p 00000000 00:00 0                          /lib64/ld-linux-x86-64.so.2',
    );
  });
});
