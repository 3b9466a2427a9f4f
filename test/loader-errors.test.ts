/** Bad input to the execve planner: one typed, one-line error each; mutated headers never crash it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import { buildElf, R, W, X, type ElfSpec } from './loader-elf-builder.js';
import { FAKE_LDSO, loaderFixture, sample, type LoaderFixture } from './loader-fixtures.js';
import { mulberry32 } from '../src/util/prng.js';

let fx: LoaderFixture;
let root: string;
let tmp: string;

beforeAll(async () => {
  fx = await loaderFixture();
  ({ root, tmp } = fx);
});

afterAll(() => fx.cleanup());

const plan: LoaderFixture['plan'] = (file, options) => fx.plan(file, options);
const synthetic: LoaderFixture['synthetic'] = (name, spec) => fx.synthetic(name, spec);

describe('bad input is refused with one typed error', () => {
  const load = (spec: ElfSpec, mutate?: (b: Uint8Array) => Uint8Array) => {
    const bytes = buildElf(spec);
    return synthetic(`bad-${Math.random().toString(36).slice(2)}`, mutate ? mutate(bytes) : bytes);
  };
  const ok: ElfSpec = {
    type: 2,
    entry: 0x400000,
    phdrs: [{ flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x100 }],
  };
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(PagestackError);
      expect((err as Error).message).not.toContain('\n');
      return (err as PagestackError).code;
    }
    throw new Error('no error');
  };

  it.each([
    ['not ELF', () => synthetic('text', new TextEncoder().encode('#!/bin/sh\necho hi\n')), 'E_ELF_MAGIC'],
    ['aarch64', () => load({ ...ok, machine: 183 }), 'E_EXEC_ARCH'],
    ['ELF32', () => load({ ...ok, elfClass: 1 }), 'E_EXEC_ARCH'],
    ['a relocatable object', () => load({ ...ok, type: 1 }), 'E_EXEC_TYPE'],
    ['a segment past the end of the file', () => load(ok, (b) => b.subarray(0, 0xc0)), 'E_EXEC_TRUNCATED'],
    ['a program header table past the end', () => load(ok, (b) => b.subarray(0, 80)), 'E_EXEC_TRUNCATED'],
    ['a wrong e_phentsize', () => load({ ...ok, phentsize: 32 }), 'E_EXEC_PHDRS'],
    [
      'p_filesz > p_memsz',
      () => load({ ...ok, phdrs: [{ flags: R, offset: 0, vaddr: 0x400000, filesz: 0x100, memsz: 0x10 }] }),
      'E_EXEC_SEGMENT',
    ],
    [
      'p_offset and p_vaddr out of step',
      () => load({ ...ok, phdrs: [{ flags: R, offset: 0x10, vaddr: 0x400000, filesz: 0x100 }] }),
      'E_EXEC_SEGMENT',
    ],
    [
      'a segment beyond user space',
      () => load({ ...ok, phdrs: [{ flags: R, offset: 0, vaddr: 0x7ffffffff000, filesz: 0x100 }] }),
      'E_EXEC_SEGMENT',
    ],
    ['a missing interpreter', () => load({ ...ok, interp: { path: '/lib/none.so', offset: 0x200 } }), 'E_NOENT'],
    [
      'an interpreter that is a directory',
      () => load({ ...ok, interp: { path: '/usr/lib', offset: 0x200 } }),
      'E_ISDIR',
    ],
    [
      'an interpreter path through a file',
      () => load({ ...ok, interp: { path: '/lib64/ld-2.36.so/x', offset: 0x200 } }),
      'E_NOTDIR',
    ],
    ['a missing file', () => path.join(tmp, 'nothing-here'), 'E_NOENT'],
  ])('%s', (_name, make, code) => {
    const file = make();
    expect(codeOf(() => plan(file))).toBe(code);
  });

  it('overlapping PT_LOADs are mapped as the kernel maps them: the later one MAP_FIXED over the earlier', () => {
    const file = load({
      ...ok,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x3000 },
        { flags: R | W, offset: 0x1000, vaddr: 0x401000, filesz: 0x10 },
      ],
    });
    const vmas = plan(file).vmas.filter((v) => v.file);
    expect(vmas.map((v) => [v.start, v.end, v.prot, v.file!.offset])).toEqual([
      [0x400000, 0x401000, 5, 0],
      [0x401000, 0x402000, 3, 0x1000],
      [0x402000, 0x403000, 5, 0x2000],
    ]);
  });

  it('a program with no PT_LOAD maps nothing from its file; brk is 0 (ET_EXEC)', () => {
    const file = load({ ...ok, phdrs: [{ type: 4, flags: R, offset: 0, vaddr: 0, filesz: 0x10 }] });
    const p = plan(file);
    expect(p.vmas.filter((v) => v.file)).toEqual([]);
    expect(p.startBrk).toBe(0);
  });

  it('an interpreter with no PT_LOAD fails in load_elf_interp, killing the process with SIGSEGV', () => {
    fs.writeFileSync(
      path.join(root, 'usr/lib/noload.so'),
      buildElf({ ...FAKE_LDSO, phdrs: [{ type: 4, flags: R, offset: 0, vaddr: 0, filesz: 0x10 }] }),
    );
    const file = load({ ...ok, interp: { path: '/usr/lib/noload.so', offset: 0x200 } });
    expect(codeOf(() => plan(file))).toBe('E_EXEC_NOLOAD');
    expect(() => plan(file)).toThrow(/SIGSEGV/);
  });

  it('an interpreter with a foreign e_machine', () => {
    fs.writeFileSync(path.join(root, 'usr/lib/arm.so'), buildElf({ ...FAKE_LDSO, machine: 183 }));
    const file = load({ ...ok, interp: { path: '/usr/lib/arm.so', offset: 0x200 } });
    expect(codeOf(() => plan(file))).toBe('E_EXEC_ARCH');
  });

  it('PT_INTERP without its NUL', () => {
    const file = load({ ...ok, interp: { path: '/lib64/ld-linux-x86-64.so.2', offset: 0x200 } }, (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      v.setBigUint64(64 + 32, v.getBigUint64(64 + 32, true) - 1n, true); // PT_INTERP comes first: drop the NUL from p_filesz
      return b;
    });
    expect(codeOf(() => plan(file))).toBe('E_EXEC_INTERP');
  });

  it('argument lists the kernel would refuse with E2BIG', () => {
    expect(codeOf(() => plan(sample('hello'), { envp: [`X=${'y'.repeat(200_000)}`] }))).toBe('E_2BIG');
    expect(codeOf(() => plan(sample('hello'), { argv: Array.from({ length: 40 }, () => 'z'.repeat(100_000)) }))).toBe(
      'E_2BIG',
    );
  });
});

describe('mutated headers', () => {
  it('every mutation of the ELF and program headers plans or fails with a typed input error', () => {
    const next = mulberry32(0x9e3779b9);
    const rand = (n: number) => next() % n;
    const originals = ['hello', 'static', 'static-pie'].map((n) => fs.readFileSync(sample(n)));
    const outcomes = { planned: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const bytes = Uint8Array.from(originals[i % originals.length]!);
      const phEnd = 64 + 56 * new DataView(bytes.buffer).getUint16(56, true);
      for (let k = 1 + rand(4); k > 0; k--) {
        const at = rand(phEnd);
        bytes[at] = rand(4) === 0 ? 0xff : rand(256);
      }
      const file = synthetic(`fuzz-${i}`, bytes);
      try {
        plan(file);
        outcomes.planned++;
      } catch (err) {
        expect(err).toBeInstanceOf(PagestackError);
        expect((err as PagestackError).code).not.toBe('E_INTERNAL');
        expect((err as Error).message).not.toContain('\n');
        outcomes.refused++;
      }
      fs.rmSync(file);
    }
    expect(outcomes.planned).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 60_000);
});
