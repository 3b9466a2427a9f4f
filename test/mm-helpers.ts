// Shared helpers for the memory-model tests (not a test file itself).
import { type ContentIndex, MemoryBacking, PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan } from '../src/mm/index.js';

export const PAGE = 4096;
export const BASE = 0x555555554000;
export const STACK_TOP = 0x7ffffffff000;

/** A file whose page i is filled with the byte fills[i] (0 = a zero page). */
export function fileOf(path: string, fills: number[], index?: ContentIndex): MemoryBacking {
  const bytes = new Uint8Array(fills.length * PAGE);
  fills.forEach((b, i) => bytes.fill(b, i * PAGE, (i + 1) * PAGE));
  return new MemoryBacking(path, bytes, index ? { index } : {});
}

/**
 * An ExecPlan shaped like a small PIE: text (r-x, `textPages` file pages),
 * .data (rw-, one file page after the text, p_filesz = 0x100 so padzero
 * clears the rest), bss (2 anonymous pages), and a stack whose top page
 * holds argv.
 */
export function programPlan(backing: MemoryBacking, textPages: number, base = BASE): ExecPlan {
  const dataStart = base + textPages * PAGE;
  return {
    path: backing.path,
    vmas: [
      { start: base, end: dataStart, prot: PROT_READ | PROT_EXEC, shared: false, file: { backing, offset: 0 } },
      {
        start: dataStart,
        end: dataStart + PAGE,
        prot: PROT_READ | PROT_WRITE,
        shared: false,
        file: { backing, offset: textPages * PAGE },
      },
      { start: dataStart + PAGE, end: dataStart + 3 * PAGE, prot: PROT_READ | PROT_WRITE, shared: false },
      { start: STACK_TOP - 33 * PAGE, end: STACK_TOP, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' },
    ],
    writes: [
      { addr: dataStart + 0x100, bytes: new Uint8Array(PAGE - 0x100) },
      { addr: STACK_TOP - 64, bytes: new Uint8Array(64).fill(0x41) },
    ],
    entry: base,
    loadBias: base,
    startBrk: dataStart + 3 * PAGE,
    stackTop: STACK_TOP,
  };
}
