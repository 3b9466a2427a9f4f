/**
 * What scenario steps do to the memory model: bytes written come back,
 * fork is copy-on-write, patterns have the pages they promise, madvise and
 * brk behave as Linux's, a frame limit ends a policy's run as an OOM
 * outcome, and time and samples follow the steps.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROT_READ, PROT_WRITE } from '../src/abi/exec-plan.js';
import { Machine } from '../src/mm/machine.js';
import { MachineHeapHost } from '../src/sim/heap-host.js';
import { fillPattern } from '../src/sim/patterns.js';
import { ProgramSet } from '../src/sim/programs.js';
import { runScenario } from '../src/sim/run-scenario.js';
import type { DataSpec } from '../src/sim/scenario/types.js';

const BIN = path.resolve(__dirname, '../samples/bin');
const PAGE = 4096;

function scenario(steps: unknown[], extra: Record<string, unknown> = {}): never {
  return {
    version: 1,
    machine: { frames: 8192 },
    programs: { hello: 'hello', tables: 'tables' },
    steps,
    ...extra,
  } as never;
}

async function run(steps: unknown[], extra: Record<string, unknown> = {}) {
  return runScenario(scenario(steps, extra), { baseDir: BIN, checkInvariants: true });
}

describe('memory steps', () => {
  it('reads back what was written, in every pattern, and counts the bytes checked', async () => {
    const patterns: DataSpec[] = [];
    const data = [
      'zero',
      { byte: 0xa5 },
      { word: '0x0123456789abcdef' },
      { pattern: 'deadbeef01' },
      { random: { seed: 7 } },
      { random: { seed: 7, distinct: 3 } },
      { text: 11 },
      {
        mix: [
          { weight: 1, data: 'zero' },
          { weight: 2, data: { random: { seed: 3, distinct: 2 } } },
        ],
        seed: 5,
      },
    ];
    const steps: unknown[] = [{ op: 'exec', proc: 'p', program: 'hello' }];
    data.forEach((d, i) => {
      steps.push({ op: 'mmap', proc: 'p', name: `m${i}`, length: '10 pages' });
      // An unaligned start: patterns are laid on pages from the write's first page.
      steps.push({ op: 'write', proc: 'p', region: `m${i}`, offset: 100, length: 9 * PAGE, data: d });
      steps.push({ op: 'read', proc: 'p', region: `m${i}`, offset: 100, length: 9 * PAGE, expect: d });
    });
    const r = await run(steps);
    expect(r.policies[0]!.summary.bytesVerified).toBe(data.length * 9 * PAGE);
    expect(patterns).toEqual([]);
  });

  it('fails the run at the first byte that differs from expect', async () => {
    await expect(
      run([
        { op: 'exec', proc: 'p', program: 'hello' },
        { op: 'mmap', proc: 'p', name: 'm', length: 8192 },
        { op: 'write', proc: 'p', region: 'm', offset: 5000, length: 1, data: { byte: 9 } },
        { op: 'read', proc: 'p', region: 'm', expect: 'zero' },
      ]),
    ).rejects.toThrow(/^steps\[3\]: read: read 0x09 at 0x[0-9a-f]+ \(byte 5000 of the range\), expected 0x00$/);
  });

  it('fork is copy-on-write: the child writes, the parent keeps its bytes; copies move bytes between processes', async () => {
    const r = await run([
      { op: 'exec', proc: 'a', program: 'tables' },
      { op: 'write', proc: 'a', region: '.data', length: 8192, data: { random: 1 } },
      { op: 'fork', proc: 'a', child: 'b' },
      { op: 'write', proc: 'b', region: '.data', offset: 4096, length: 4096, data: { byte: 2 } },
      { op: 'read', proc: 'a', region: '.data', length: 8192, expect: { random: 1 } },
      { op: 'read', proc: 'b', region: '.data', length: 4096, expect: { random: 1 } },
      { op: 'read', proc: 'b', region: '.data', offset: 4096, length: 4096, expect: { byte: 2 } },
      { op: 'exec', proc: 'c', program: 'hello' },
      { op: 'mmap', proc: 'c', name: 'dst', length: 8192 },
      { op: 'write', proc: 'c', region: 'dst', data: { copy: { proc: 'b', region: '.data' } } },
      { op: 'read', proc: 'c', region: 'dst', expect: { copy: { proc: 'b', region: '.data' } } },
      { op: 'read', proc: 'c', region: 'dst', length: 4096, expect: { random: 1 } },
    ]);
    const s = r.policies[0]!.summary;
    expect(s.cowBreaks).toBeGreaterThanOrEqual(1);
    const b = r.policies[0]!.processes.find((p) => p.name === 'b')!;
    expect(b.smapsRollup.privateDirty).toBeGreaterThanOrEqual(PAGE);
  });

  it('stride touches one chunk per stride: one frame per 16 pages', async () => {
    const r = await run([
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'mmap', proc: 'p', name: 'm', length: '1 MiB' },
      { op: 'write', proc: 'p', region: 'm', stride: '64K', chunk: 1, data: { byte: 1 } },
    ]);
    const p = r.policies[0]!;
    const before = await run([{ op: 'exec', proc: 'p', program: 'hello' }]);
    expect(p.summary.anonFrames - before.policies[0]!.summary.anonFrames).toBe(16);
  });

  it('munmap and MADV_DONTNEED free anonymous frames; the range reads as zeros after DONTNEED', async () => {
    const base = (await run([{ op: 'exec', proc: 'p', program: 'hello' }])).policies[0]!.summary.anonFrames;
    const r = await run([
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'mmap', proc: 'p', name: 'm', length: '8 pages' },
      { op: 'mmap', proc: 'p', name: 'n', length: '8 pages' },
      { op: 'write', proc: 'p', region: 'm', data: { byte: 1 } },
      { op: 'write', proc: 'p', region: 'n', data: { byte: 1 } },
      { op: 'madvise', proc: 'p', region: 'm', offset: '2 pages', length: '4 pages', advice: 'MADV_DONTNEED' },
      { op: 'read', proc: 'p', region: 'm', offset: '2 pages', length: '4 pages', expect: 'zero' },
      { op: 'read', proc: 'p', region: 'm', length: '2 pages', expect: { byte: 1 } },
      { op: 'munmap', proc: 'p', region: 'n' },
    ]);
    expect(r.policies[0]!.summary.anonFrames - base).toBe(4);
  });

  it('a frame limit ends the run as an OOM outcome at the step that needed a frame', async () => {
    const r = await run(
      [
        { op: 'exec', proc: 'p', program: 'hello' },
        { op: 'mmap', proc: 'p', name: 'm', length: '100 pages' },
        { op: 'memory-limit', frames: 60 },
        { op: 'write', proc: 'p', region: 'm', data: { byte: 3 } },
        { op: 'tick', ms: 5 },
      ],
      { policies: [{ name: 'small' }, { name: 'roomy', frameLimit: 8192 }] },
    );
    const [small, roomy] = r.policies;
    expect(small!.outcome).toMatchObject({ status: 'oom', step: 'steps[3]' });
    expect(small!.stepsRun).toBe(3);
    expect(small!.summary.framesFinal).toBe(60);
    expect(small!.summary.frameLimit).toBe(60);
    // memory-limit applies to every policy; 'roomy' sets its own limit first, the step lowers it too.
    expect(roomy!.outcome.status).toBe('oom');
  });

  it('ticks advance simulated time; the series has one sample per step ending at the final figures', async () => {
    const r = await run([
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'tick', ms: 20 },
      { op: 'mmap', proc: 'p', name: 'm', length: '4 pages' },
      { op: 'write', proc: 'p', region: 'm', data: { byte: 1 } },
      { op: 'tick', ms: 30 },
      { op: 'exit', proc: 'p' },
    ]);
    const p = r.policies[0]!;
    expect(p.timeMs).toBe(50);
    expect(p.series.step).toEqual([1, 2, 3, 4, 5, 6]);
    expect(p.series.timeMs).toEqual([0, 20, 20, 20, 50, 50]);
    expect(p.series.framesUsed.at(-1)).toBe(p.summary.framesFinal);
    expect(p.summary.framesFinal).toBe(0);
    expect(p.summary.framesPeak).toBe(Math.max(...p.series.framesUsed));
    expect(p.series.swapUsed).toBeNull();
    expect(p.processes).toEqual([]);
  });

  it('repeat expands with templates and arithmetic', async () => {
    const r = await run([
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'mmap', proc: 'p', name: 'm', length: '8 pages' },
      {
        op: 'repeat',
        count: 4,
        from: 1,
        var: 'k',
        steps: [{ op: 'write', proc: 'p', region: 'm', offset: '{k*2-1} pages', length: 1, data: { byte: '{k}' } }],
      },
      {
        op: 'repeat',
        count: 4,
        from: 1,
        steps: [{ op: 'read', proc: 'p', region: 'm', offset: '{i*2-1} pages', length: 1, expect: { byte: '{i}' } }],
      },
    ]);
    expect(r.scenario.steps).toBe(10);
    expect(r.policies[0]!.summary.bytesVerified).toBe(4);
  });
});

describe('heap steps (the glibc malloc model on the Machine)', () => {
  it('realloc of an mmapped block moves its page tables: the bytes follow, nothing is copied or zero-filled', async () => {
    const steps = (extra: unknown[]) => [
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'malloc', proc: 'p', size: '200K', as: 'a' },
      { op: 'write', proc: 'p', region: 'a', data: { random: 3 } },
      { op: 'malloc', proc: 'p', size: '200K', as: 'b', comment: 'placed just below a: a cannot grow in place' },
      ...extra,
    ];
    const before = (await run(steps([]))).policies[0]!.summary;
    const r = await run(
      steps([
        { op: 'realloc', proc: 'p', ptr: 'a', size: '2M' },
        { op: 'read', proc: 'p', region: 'a', length: '200K', expect: { random: 3 } },
        { op: 'read', proc: 'p', region: 'a', offset: '1M', length: '4K', expect: 'zero' },
      ]),
    );
    const after = r.policies[0]!.summary;
    expect(after.bytesVerified).toBe(204800 + 4096);
    // The moved pages keep their frames: only the chunk header's page could need one, and reading the new tail maps the zero page.
    expect(after.anonFrames - before.anonFrames).toBeLessThanOrEqual(1);
    expect(after.cowBreaks).toBe(before.cowBreaks);
  });

  it('fork copies the allocator: the child allocates and frees on its own heap, the parent keeps its data', async () => {
    const start = [
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'malloc', proc: 'p', size: 100, as: 'x' },
      { op: 'write', proc: 'p', region: 'x', data: { byte: 5 } },
      { op: 'fork', proc: 'p', child: 'c' },
    ];
    const base = (await run(start)).policies[0]!.summary.cowBreaks;
    const r = await run([
      ...start,
      { op: 'free', proc: 'c', ptr: 'x' },
      { op: 'malloc', proc: 'c', size: 100, as: 'y' },
      { op: 'write', proc: 'c', region: 'y', data: { byte: 6 } },
      { op: 'read', proc: 'p', region: 'x', expect: { byte: 5 } },
      { op: 'calloc', proc: 'c', count: 10, size: 10, as: 'z' },
      { op: 'read', proc: 'c', region: 'z', expect: 'zero' },
    ]);
    expect(r.policies[0]!.summary.bytesVerified).toBe(200);
    // The child's writes to the shared heap page (free's list links, then its data) broke COW.
    expect(r.policies[0]!.summary.cowBreaks).toBeGreaterThan(base);
  });

  it("mallopt, malloc_trim and the policy's malloc tunables change where blocks come from; mayFail allows NULL", async () => {
    const heapHasOneMiB = { op: 'read', proc: 'p', region: '[heap]', offset: '1M', length: 1 };
    const bigBlock = [
      { op: 'exec', proc: 'p', program: 'hello' },
      { op: 'malloc', proc: 'p', size: 100, as: 'small' },
    ];
    // By default a 1 MiB block is mmapped: the [heap] stays small.
    await expect(run([...bigBlock, { op: 'malloc', proc: 'p', size: '1M', as: 'big' }, heapHasOneMiB])).rejects.toThrow(
      /past the end of \[heap\]/,
    );
    // With M_MMAP_MAX 0 (a step, or the policy's tunable) it comes from the brk heap.
    await run([
      ...bigBlock,
      { op: 'mallopt', proc: 'p', param: 'M_MMAP_MAX', value: 0 },
      { op: 'malloc', proc: 'p', size: '1M', as: 'big' },
      heapHasOneMiB,
    ]);
    await run([...bigBlock, { op: 'malloc', proc: 'p', size: '1M', as: 'big' }, heapHasOneMiB], {
      policies: [{ name: 'brk', malloc: { mmapMax: 0 } }],
    });
    // Freed and trimmed, the heap shrinks again.
    await expect(
      run([
        ...bigBlock,
        { op: 'mallopt', proc: 'p', param: 'M_MMAP_MAX', value: 0 },
        { op: 'mallopt', proc: 'p', param: 'M_TRIM_THRESHOLD', value: '64M' },
        { op: 'malloc', proc: 'p', size: '1M', as: 'big' },
        { op: 'free', proc: 'p', ptr: 'big' },
        heapHasOneMiB,
      ]),
    ).resolves.toBeDefined();
    await expect(
      run([
        ...bigBlock,
        { op: 'mallopt', proc: 'p', param: 'M_MMAP_MAX', value: 0 },
        { op: 'mallopt', proc: 'p', param: 'M_TRIM_THRESHOLD', value: '64M' },
        { op: 'malloc', proc: 'p', size: '1M', as: 'big' },
        { op: 'free', proc: 'p', ptr: 'big' },
        { op: 'malloc_trim', proc: 'p' },
        heapHasOneMiB,
      ]),
    ).rejects.toThrow(/past the end of \[heap\]/);
    // An impossible request is NULL: an error naming the step, or allowed with mayFail.
    const huge = { op: 'malloc', proc: 'p', size: 100 * 2 ** 40, as: 'huge' };
    await expect(run([...bigBlock, huge])).rejects.toThrow(
      /^steps\[2\]: malloc: malloc\(109951162777600\) returned NULL \(add "mayFail": true to allow it\)$/,
    );
    const r = await run([
      ...bigBlock,
      { ...huge, mayFail: true },
      { op: 'read', proc: 'p', region: 'huge' },
      { op: 'free', proc: 'p', ptr: 'huge' },
    ]);
    expect(r.policies[0]!.outcome.status).toBe('ok');
  });

  it('calloc reads as zeros in every mode, on fresh and on reused heap memory', async () => {
    const modes = ['eager', 'glibc', 'on-commit'].map((m) => ({ name: m, callocMode: m }));
    const r = await run(
      [
        { op: 'exec', proc: 'p', program: 'hello' },
        { op: 'calloc', proc: 'p', count: 16, size: '4K', as: 'a' },
        { op: 'write', proc: 'p', region: 'a', data: { byte: 9 } },
        { op: 'free', proc: 'p', ptr: 'a' },
        { op: 'calloc', proc: 'p', count: 16, size: '4K', as: 'b' },
        { op: 'read', proc: 'p', region: 'b', expect: 'zero' },
        { op: 'calloc', proc: 'p', count: 1, size: '1M', as: 'big' },
        { op: 'read', proc: 'p', region: 'big', expect: 'zero' },
      ],
      { policies: modes },
    );
    for (const p of r.policies) expect(p.summary.bytesVerified).toBe(65536 + (1 << 20));
    const [eager, glibc, onCommit] = r.policies.map((p) => p.summary.anonFrames);
    expect(eager!).toBeGreaterThan(glibc!);
    expect(glibc!).toBeGreaterThan(onCommit!);
  });
});

describe('patterns', () => {
  const place = { pageSize: PAGE, writeStart: 3 * PAGE };

  it('a word pattern makes every page repeat one 8-byte word (same-filled)', () => {
    const buf = new Uint8Array(2 * PAGE);
    fillPattern({ kind: 'word', value: 0x1122334455667788n }, buf, 3 * PAGE, place);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < buf.length; i += 8) expect(view.getBigUint64(i, true)).toBe(0x1122334455667788n);
  });

  it('random with distinct N repeats pages with period N; without it, pages differ', () => {
    const pages = 12;
    const buf = new Uint8Array(pages * PAGE);
    fillPattern({ kind: 'random', seed: 4, distinct: 5 }, buf, 3 * PAGE, place);
    const hex = (k: number) => Buffer.from(buf.subarray(k * PAGE, (k + 1) * PAGE)).toString('hex');
    expect(new Set(Array.from({ length: pages }, (_, k) => hex(k))).size).toBe(5);
    for (let k = 5; k < pages; k++) expect(hex(k)).toBe(hex(k - 5));
    fillPattern({ kind: 'random', seed: 4 }, buf, 3 * PAGE, place);
    expect(new Set(Array.from({ length: pages }, (_, k) => hex(k))).size).toBe(pages);
  });

  it('is the same whether generated at once or in pieces', () => {
    const spec: DataSpec = {
      kind: 'mix',
      seed: 9,
      parts: [
        { weight: 1, data: { kind: 'text', seed: 2 } },
        { weight: 1, data: { kind: 'random', seed: 1 } },
      ],
    };
    const whole = new Uint8Array(5 * PAGE);
    fillPattern(spec, whole, 3 * PAGE + 10, { pageSize: PAGE, writeStart: 3 * PAGE + 10 });
    const pieces = new Uint8Array(5 * PAGE);
    for (let off = 0; off < pieces.length; off += 1000) {
      fillPattern(spec, pieces.subarray(off, Math.min(off + 1000, pieces.length)), 3 * PAGE + 10 + off, {
        pageSize: PAGE,
        writeStart: 3 * PAGE + 10,
      });
    }
    expect(Buffer.compare(whole, pieces)).toBe(0);
  });

  it('text pages are printable words', () => {
    const buf = new Uint8Array(PAGE);
    fillPattern({ kind: 'text', seed: 1 }, buf, 0, { pageSize: PAGE, writeStart: 0 });
    expect(Buffer.from(buf).toString('latin1')).toMatch(/^[a-z \n]+$/);
  });
});

describe('brk, madvise, mremap and the heap host', () => {
  async function process(): Promise<{ m: Machine; pid: number }> {
    const set = await ProgramSet.create();
    const program = set.elf('hello', path.join(BIN, 'hello'));
    const m = new Machine({ frames: 4096 });
    const pid = m.exec(set.plan(program));
    return { m, pid };
  }

  it('brk grows a [heap] VMA from start_brk, refuses to go below it, and shrinking frees the pages', async () => {
    const { m, pid } = await process();
    const { startBrk } = m.getBrk(pid);
    expect(m.brk(pid, startBrk - 1)).toBe(false);
    expect(m.brk(pid, startBrk + 10 * PAGE + 5)).toBe(true);
    const heap = m.maps(pid).find((v) => v.path === '[heap]')!;
    expect(heap).toMatchObject({ start: startBrk, end: startBrk + 11 * PAGE, perms: 'rw-p' });
    const anon = m.stats().anonymous;
    m.write(pid, startBrk, new Uint8Array(11 * PAGE).fill(1));
    expect(m.stats().anonymous - anon).toBe(11);
    expect(m.brk(pid, startBrk + PAGE)).toBe(true);
    expect(m.stats().anonymous - anon).toBe(1);
    expect(m.maps(pid).find((v) => v.path === '[heap]')).toMatchObject({ start: startBrk, end: startBrk + PAGE });
    // Growing into another mapping (or within a page of it) is refused.
    m.mmap(pid, { addr: startBrk + 4 * PAGE, length: PAGE, prot: PROT_READ });
    expect(m.brk(pid, startBrk + 3 * PAGE + 1)).toBe(false);
    expect(m.brk(pid, startBrk + 3 * PAGE)).toBe(true);
    m.checkInvariants();
  });

  it('MADV_MERGEABLE and PR_SET_MEMORY_MERGE set VM_MERGEABLE ("mg") on private VMAs only, splitting at the range', async () => {
    const { m, pid } = await process();
    const a = m.mmap(pid, { length: 8 * PAGE, prot: PROT_READ | PROT_WRITE });
    const shared = m.mmap(pid, { length: 2 * PAGE, prot: PROT_READ | PROT_WRITE, shared: true });
    m.madvise(pid, a + 2 * PAGE, 4 * PAGE, 'mergeable');
    const flags = (addr: number) => m.smaps(pid).find((v) => v.start <= addr && addr < v.end)!.vmFlags;
    expect(flags(a + 2 * PAGE)).toContain('mg');
    expect(flags(a)).not.toContain('mg');
    expect(flags(a + 6 * PAGE)).not.toContain('mg');
    m.prctlMemoryMerge(pid, true);
    expect(flags(a)).toContain('mg');
    expect(flags(shared)).not.toContain('mg');
    // Setting the flag does not merge VMAs (ksm_enable_merge_any); the next madvise over the range does.
    expect(m.maps(pid).filter((v) => v.start >= a && v.end <= a + 8 * PAGE)).toHaveLength(3);
    m.madvise(pid, a, 8 * PAGE, 'mergeable');
    expect(m.maps(pid).filter((v) => v.start >= a && v.end <= a + 8 * PAGE)).toHaveLength(1);
    m.prctlMemoryMerge(pid, false);
    expect(flags(a)).not.toContain('mg');
    m.checkInvariants();
  });

  it('MADV_DONTNEED on a private file mapping brings back the file bytes', async () => {
    const set = await ProgramSet.create();
    const program = set.elf('tables', path.join(BIN, 'tables'));
    const m = new Machine({ frames: 4096 });
    const plan = set.plan(program);
    const pid = m.exec(plan);
    const rodata = program.layout.sections.get('.rodata')!.addr + plan.loadBias;
    const original = m.read(pid, rodata, 16);
    const addr = m.mmap(pid, {
      length: PAGE,
      prot: PROT_READ | PROT_WRITE,
      file: { backing: program.backing, offset: 0x2000 },
    });
    expect(m.read(pid, addr, 16)).toEqual(original);
    m.write(pid, addr, new Uint8Array(16).fill(0xff));
    m.madvise(pid, addr, PAGE, 'dontneed');
    expect(m.read(pid, addr, 16)).toEqual(original);
    m.checkInvariants();
  });

  it('mremap grows in place when it can, otherwise moves the PTEs; a fork after the move still shares the pages', async () => {
    const { m, pid } = await process();
    const a = m.mmap(pid, { length: 4 * PAGE, prot: PROT_READ | PROT_WRITE });
    m.write(pid, a, new Uint8Array(4 * PAGE).fill(7));
    // Nothing above a's end? mmaps go top-down, so the area above a is the earlier mapping: it must move.
    const frames = m.stats().anonymous;
    const moved = m.mremap(pid, a, 4 * PAGE, 8 * PAGE)!;
    expect(moved).not.toBe(a);
    expect(m.stats().anonymous).toBe(frames);
    expect(m.maps(pid).some((v) => v.start <= a && a < v.end)).toBe(false);
    expect(m.read(pid, moved, 4 * PAGE)).toEqual(new Uint8Array(4 * PAGE).fill(7));
    const child = m.fork(pid);
    expect(m.read(child, moved + PAGE, 4)).toEqual(Uint8Array.of(7, 7, 7, 7));
    expect(m.pageInfo(child, moved).mapcount).toBe(2);
    // Shrinking unmaps the tail; growing back into the freed tail is in place.
    expect(m.mremap(pid, moved, 8 * PAGE, 2 * PAGE)).toBe(moved);
    expect(m.mremap(pid, moved, 2 * PAGE, 6 * PAGE)).toBe(moved);
    expect(m.read(pid, moved + 2 * PAGE, 4)).toEqual(new Uint8Array(4));
    expect(m.mremap(pid, moved + 100, PAGE, 2 * PAGE)).toBeNull();
    m.checkInvariants();
  });

  it('the heap host stores words, zeroes, copies and discards through the fault path', async () => {
    const { m, pid } = await process();
    const host = new MachineHeapHost(m, pid);
    expect(host.brk).toBe(host.startBrk);
    expect(host.setBrk(host.startBrk + 3 * PAGE)).toBe(true);
    host.storeWord(host.startBrk + 8, 2 ** 40 + 0x31);
    expect(m.read(pid, host.startBrk + 8, 8)).toEqual(Uint8Array.of(0x31, 0, 0, 0, 0, 1, 0, 0));
    const big = host.mmapAnon(300 * 1024)!;
    expect(big % PAGE).toBe(0);
    const zeroFills = m.stats().faults.zeroFill;
    host.writeZero(big, 300 * 1024);
    expect(m.stats().faults.zeroFill - zeroFills).toBe(75);
    m.write(pid, big, Uint8Array.of(1, 2, 3));
    host.copy(host.startBrk + PAGE, big, 3);
    expect(m.read(pid, host.startBrk + PAGE, 3)).toEqual(Uint8Array.of(1, 2, 3));
    const anon = m.stats().anonymous;
    host.discard(big, 300 * 1024);
    expect(anon - m.stats().anonymous).toBe(75);
    expect(m.read(pid, big, 3)).toEqual(new Uint8Array(3));
    host.munmap(big, 300 * 1024);
    expect(host.counters).toMatchObject({
      wordsStored: 1,
      bytesZeroed: 300 * 1024,
      bytesCopied: 3,
      bytesDiscarded: 300 * 1024,
      mmaps: 1,
      munmaps: 1,
    });
    m.checkInvariants();
  });
});

describe('repeat templates', () => {
  it('evaluates integer expressions over the variables in force and leaves other braces alone', async () => {
    const { substitute, evaluate } = await import('../src/sim/scenario/parse-steps.js');
    const vars = new Map([
      ['i', 3],
      ['j', 10],
    ]);
    expect(evaluate('(i+1)*j-2', vars)).toBe(38);
    expect(evaluate('j/i', vars)).toBe(3);
    expect(evaluate('j%i', vars)).toBe(1);
    expect(evaluate('-i+1', vars)).toBe(-2);
    expect(evaluate('i/0', vars)).toBeUndefined();
    expect(evaluate('k+1', vars)).toBeUndefined();
    expect(substitute({ a: 'w{i}-{j*2}', b: ['{k}', '{ i }'], c: 5, steps: ['{i}'] }, vars)).toEqual({
      a: 'w3-20',
      b: ['{k}', '3'],
      c: 5,
      steps: ['{i}'],
    });
  });
});
