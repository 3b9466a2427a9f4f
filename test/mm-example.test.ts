// The example from docs/notes/mm.md ("API"): a user's own test of a
// simulated program, written against the public API only.
import { describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan } from '../src/mm/index.js';

const PAGE = 4096;

/** A small program: 2 pages of text, 1 page of .data (0x200 bytes of file), 2 pages of bss, a stack. */
function toyProgram(): { plan: ExecPlan; data: number } {
  const file = new Uint8Array(4 * PAGE);
  file.fill(0x90, 0, 2 * PAGE); // text
  file.fill(7, 2 * PAGE, 2 * PAGE + 0x200); // .data: p_filesz = 0x200
  file.fill(0xee, 2 * PAGE + 0x200, 3 * PAGE); // what follows .data in the file (symbols, ...)
  const backing = new MemoryBacking('/bin/toy', file);
  const base = 0x555555554000;
  const stackTop = 0x7ffffffff000;
  return {
    data: base + 2 * PAGE,
    plan: {
      path: '/bin/toy',
      vmas: [
        { start: base, end: base + 2 * PAGE, prot: PROT_READ | PROT_EXEC, shared: false, file: { backing, offset: 0 } },
        {
          start: base + 2 * PAGE,
          end: base + 3 * PAGE,
          prot: PROT_READ | PROT_WRITE,
          shared: false,
          file: { backing, offset: 2 * PAGE },
        },
        { start: base + 3 * PAGE, end: base + 5 * PAGE, prot: PROT_READ | PROT_WRITE, shared: false },
        { start: stackTop - 33 * PAGE, end: stackTop, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' },
      ],
      writes: [
        // padzero: the rest of the last file page of .data is cleared
        { addr: base + 2 * PAGE + 0x200, bytes: new Uint8Array(PAGE - 0x200) },
        // argv, envp, auxv at the top of the stack
        { addr: stackTop - 256, bytes: new Uint8Array(256).fill(1) },
      ],
      entry: base + 0x40,
      loadBias: base,
      startBrk: base + 5 * PAGE,
      stackTop,
    },
  };
}

describe('a user test of the memory model', () => {
  it("after fork and a write to .data, the child's Private_Dirty is one page", () => {
    const { plan, data } = toyProgram();
    const m = new Machine({ frames: 256 });
    const parent = m.exec(plan);
    const child = m.fork(parent);

    // Right after fork the child shares every dirty page with its parent.
    expect(m.smapsRollup(child).privateDirty).toBe(0);

    m.write(child, data, Uint8Array.of(42));

    expect(m.smapsRollup(child).privateDirty).toBe(PAGE);
    expect(m.read(child, data, 2)).toEqual(Uint8Array.of(42, 7));
    expect(m.read(parent, data, 2)).toEqual(Uint8Array.of(7, 7));
    expect(m.stats().faults.cow).toBeGreaterThanOrEqual(1);
  });

  it('exec leaves the padzero page and the stack page dirty and private', () => {
    const { plan, data } = toyProgram();
    const m = new Machine({ frames: 256 });
    const pid = m.exec(plan);
    const rollup = m.smapsRollup(pid);
    expect(rollup.privateDirty).toBe(2 * PAGE); // .data page (COW copy) + top stack page
    expect(rollup.anonymous).toBe(2 * PAGE);
    expect(m.read(pid, data + 0x1ff, 2)).toEqual(Uint8Array.of(7, 0)); // padzero cleared the 0xee bytes
  });
});
