/**
 * A small language of allocator calls, shared with samples/src/mallocs.c so
 * that the model and real glibc run the same sequence and print the same
 * text (the differential test compares them line by line).
 *
 *   m:SIZE          malloc(SIZE)                 gets the next id (0, 1, ...)
 *   c:SIZE          calloc(1, SIZE)              gets the next id
 *   c:N:SIZE        calloc(N, SIZE)              gets the next id
 *   f:ID            free(p[ID])
 *   r:ID:SIZE       p[ID] = realloc(p[ID], SIZE)
 *   w:ID:STRIDE     the program writes a byte at every STRIDE bytes of p[ID]'s usable size
 *   t:PAD           malloc_trim(PAD)
 *   o:NAME:VALUE    mallopt; NAME = mmap_threshold | trim_threshold | top_pad | mmap_max | mxfast
 *   b:OFFSET        map a page at the initial break + OFFSET, so that brk fails before it
 *   p:0             print "pages " and a 0 or 1 per page of the brk heap (committed or not)
 *
 * Output: per m, c and r "ID heap+0xOFFSET 0xCHUNKSIZE", "ID mmap 0xCHUNKSIZE",
 * "ID other 0xCHUNKSIZE" (an arena chunk outside the brk heap) or "ID null";
 * then "brk +0xOFFSET", a "mallinfo ..." line and "committed heap=N mmap=M".
 */
import { ScenarioError } from '../errors.js';
import type { GlibcMalloc, MalloptParam } from './glibc-malloc.js';

export type MallocOp =
  | { op: 'malloc'; size: number }
  | { op: 'calloc'; count: number; size: number }
  | { op: 'free'; id: number }
  | { op: 'realloc'; id: number; size: number }
  | { op: 'write'; id: number; stride: number }
  | { op: 'trim'; pad: number }
  | { op: 'mallopt'; param: MalloptParam; value: number }
  | { op: 'block'; offset: number }
  | { op: 'pages' };

const MALLOPT_NAMES: Record<string, MalloptParam> = {
  mmap_threshold: 'M_MMAP_THRESHOLD',
  trim_threshold: 'M_TRIM_THRESHOLD',
  top_pad: 'M_TOP_PAD',
  mmap_max: 'M_MMAP_MAX',
  mxfast: 'M_MXFAST',
};

/** Parses operations (an array of words, or one string of words separated by spaces). */
export function parseMallocOps(input: string | readonly string[]): MallocOp[] {
  const words = typeof input === 'string' ? input.split(/\s+/).filter((w) => w !== '') : input;
  let ids = 0;
  return words.map((word) => {
    const parts = word.split(':');
    const num = (i: number): number => {
      const text = parts[i];
      const value = text !== undefined && /^(0x[0-9a-f]+|[0-9]+)$/i.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(value))
        throw new ScenarioError(`malloc operation "${word}": bad number`, { field: word });
      return value;
    };
    const id = (i: number): number => {
      const value = num(i);
      if (value >= ids) throw new ScenarioError(`malloc operation "${word}": no such id`, { field: word });
      return value;
    };
    const arity = (n: number): void => {
      if (parts.length !== n)
        throw new ScenarioError(`malloc operation "${word}": expected ${n - 1} fields`, { field: word });
    };
    switch (parts[0]) {
      case 'm':
        arity(2);
        ids++;
        return { op: 'malloc', size: num(1) };
      case 'c':
        ids++;
        if (parts.length === 2) return { op: 'calloc', count: 1, size: num(1) };
        arity(3);
        return { op: 'calloc', count: num(1), size: num(2) };
      case 'f':
        arity(2);
        return { op: 'free', id: id(1) };
      case 'r':
        arity(3);
        return { op: 'realloc', id: id(1), size: num(2) };
      case 'w': {
        arity(3);
        const stride = num(2);
        if (stride === 0) throw new ScenarioError(`malloc operation "${word}": stride 0`, { field: word });
        return { op: 'write', id: id(1), stride };
      }
      case 't':
        arity(2);
        return { op: 'trim', pad: num(1) };
      case 'o': {
        arity(3);
        const param = MALLOPT_NAMES[parts[1]!];
        if (!param) throw new ScenarioError(`malloc operation "${word}": unknown mallopt parameter`, { field: word });
        return { op: 'mallopt', param, value: num(2) };
      }
      case 'p':
        arity(2);
        return { op: 'pages' };
      case 'b':
        arity(2);
        return { op: 'block', offset: num(1) };
      default:
        throw new ScenarioError(`malloc operation "${word}": unknown operation`, { field: word });
    }
  });
}

export interface RunMallocOpsOptions {
  /** The break before the first call (default: the host's break now). */
  base?: number;
  /** Maps `length` bytes at `addr` (for the b operation); false if it cannot. */
  mapFixed?: (addr: number, length: number) => boolean;
  /** The program's own store of `length` bytes at `addr` (for the w operation). */
  write?: (addr: number, length: number) => void;
  /**
   * Committed pages in [addr, addr + length). When given, a last line
   * "committed heap=N mmap=M" counts them in the brk heap and in the live
   * mmapped chunks, as mallocs.c does with mincore(2).
   */
  committedIn?: (addr: number, length: number) => number;
}

/** Runs operations on a model and returns the lines mallocs.c would print. */
export function runMallocOps(heap: GlibcMalloc, ops: readonly MallocOp[], options: RunMallocOpsOptions = {}): string[] {
  const base = options.base ?? heap.host.brk;
  const lines: string[] = [];
  const ptrs: number[] = [];
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const report = (id: number, mem: number): void => {
    const chunk = heap.chunkAt(mem);
    if (mem === 0 || !chunk) lines.push(`${id} null`);
    else if (chunk.mmapped) lines.push(`${id} mmap ${hex(chunk.size)}`);
    else if (mem < base || mem >= heap.host.brk) lines.push(`${id} other ${hex(chunk.size)}`);
    else lines.push(`${id} heap+${hex(mem - base)} ${hex(chunk.size)}`);
  };
  for (const op of ops) {
    switch (op.op) {
      case 'malloc':
      case 'calloc': {
        const mem = op.op === 'malloc' ? heap.malloc(op.size) : heap.calloc(op.count, op.size);
        ptrs.push(mem);
        report(ptrs.length - 1, mem);
        break;
      }
      case 'free':
        heap.free(ptrs[op.id]!);
        ptrs[op.id] = 0;
        break;
      case 'realloc': {
        const mem = heap.realloc(ptrs[op.id]!, op.size);
        if (mem !== 0 || op.size === 0) ptrs[op.id] = mem;
        report(op.id, mem);
        break;
      }
      case 'write': {
        const mem = ptrs[op.id]!;
        if (mem === 0 || !options.write) throw new ScenarioError(`nothing to write for id ${op.id}`);
        const usable = heap.usableSize(mem);
        for (let off = 0; off < usable; off += op.stride) options.write(mem + off, 1);
        break;
      }
      case 'trim':
        heap.mallocTrim(op.pad);
        break;
      case 'mallopt':
        if (!heap.mallopt(op.param, op.value)) throw new ScenarioError(`mallopt ${op.param} ${op.value} refused`);
        break;
      case 'pages': {
        let map = '';
        for (let at = base; at < heap.host.brk; at += heap.host.pageSize)
          map += options.committedIn?.(at, 1) ? '1' : '0';
        lines.push(`pages ${map}`);
        break;
      }
      case 'block':
        if (!options.mapFixed?.(base + op.offset, heap.host.pageSize)) {
          throw new ScenarioError(`cannot map a page at break + ${hex(op.offset)}`);
        }
        break;
      default:
        throw new Error(`unknown malloc operation ${JSON.stringify(op satisfies never)}`);
    }
  }
  lines.push(`brk +${hex(heap.host.brk - base)}`);
  const mi = heap.mallinfo2();
  lines.push(
    `mallinfo arena=${mi.arena} ordblks=${mi.ordblks} smblks=${mi.smblks} hblks=${mi.hblks} hblkhd=${mi.hblkhd} ` +
      `uordblks=${mi.uordblks} fordblks=${mi.fordblks} fsmblks=${mi.fsmblks} keepcost=${mi.keepcost}`,
  );
  const committedIn = options.committedIn;
  if (committedIn) {
    let mapped = 0;
    for (const mem of ptrs) {
      const chunk = mem === 0 ? undefined : heap.chunkAt(mem);
      if (chunk?.mmapped) mapped += committedIn(mem - 16, chunk.size);
    }
    lines.push(`committed heap=${committedIn(base, heap.host.brk - base)} mmap=${mapped}`);
  }
  return lines;
}
