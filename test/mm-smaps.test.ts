// smaps / smaps_rollup accounting (LINUX.md §2) and the kernel's text format.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, PROT_READ, PROT_WRITE, type SmapsEntry } from '../src/mm/index.js';
import { formatMapsLine, formatSmaps, formatSmapsRollup } from '../src/mm/smaps-format.js';
import { BASE, PAGE, fileOf, programPlan } from './mm-helpers.js';

const RW = PROT_READ | PROT_WRITE;
const bare = (m: Machine): number =>
  m.exec({ path: 'bare', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });

describe('Pss and the Private/Shared split', () => {
  it("proc.rst's example: 1000 private pages + 1000 pages shared with one other process → Pss 1500 pages", () => {
    const m = new Machine({ frames: 4000 });
    const f = fileOf('/lib/big', new Array<number>(1000).fill(3));
    const a = bare(m);
    const b = bare(m);
    const anon = m.mmap(a, { length: 1000 * PAGE, prot: RW });
    m.touch(a, anon, 1000 * PAGE, 'write');
    for (const pid of [a, b]) {
      const at = m.mmap(pid, { length: 1000 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
      m.touch(pid, at, 1000 * PAGE, 'read');
    }
    const r = m.smapsRollup(a);
    expect(r.pss).toBe(1500 * PAGE);
    expect(r).toMatchObject({
      rss: 2000 * PAGE,
      privateDirty: 1000 * PAGE,
      sharedClean: 1000 * PAGE,
      pssAnon: 1000 * PAGE,
      pssFile: 500 * PAGE,
    });
    expect(formatSmapsRollup(r)).toContain('\nPss:                6000 kB\n');
  });

  it('uses PSS_SHIFT fixed point, and smaps_rollup shifts the sum, not each VMA', () => {
    const m = new Machine({ frames: 64 });
    const f = fileOf('/lib/f', [1, 2, 3, 4]);
    const pids = [bare(m), bare(m), bare(m)];
    for (const pid of pids) {
      for (let i = 0; i < 4; i++) {
        // four separate VMAs (a gap between each), one page each, mapped by three processes
        const at = m.mmap(pid, {
          addr: 0x40000000 + 2 * i * PAGE,
          length: PAGE,
          prot: PROT_READ,
          file: { backing: f, offset: i * PAGE },
        });
        m.touch(pid, at, 1, 'read');
      }
    }
    const perPage = Math.floor((PAGE << 12) / 3); // 5592405
    const vmas = m.smaps(pids[0]!);
    expect(vmas.map((v) => v.pss)).toEqual([1365, 1365, 1365, 1365]); // each 1 kB in smaps
    expect(m.smapsRollup(pids[0]!).pss).toBe(Math.floor((4 * perPage) / 4096)); // 5461 bytes: 5 kB, not 4
    expect(formatSmaps(vmas)).toContain('\nPss:                   1 kB\n');
    expect(formatSmapsRollup(m.smapsRollup(pids[0]!))).toContain('\nPss:                   5 kB\n');
  });

  it('a page mapped twice by one process is Shared and counts twice in Rss', () => {
    const m = new Machine({ frames: 16 });
    const f = fileOf('/lib/f', [1, 2]);
    const pid = bare(m);
    const x = m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: f, offset: PAGE } });
    const y = m.mmap(pid, { length: PAGE, prot: RW, file: { backing: f, offset: PAGE } });
    m.touch(pid, x, 1, 'read');
    m.touch(pid, y, 1, 'read');
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 2 * PAGE, pss: PAGE, sharedClean: 2 * PAGE, privateClean: 0 });
    m.write(pid, y, Uint8Array.of(1)); // the data side COWs; the text side keeps the file page
    expect(m.smapsRollup(pid)).toMatchObject({
      rss: 2 * PAGE,
      pss: 2 * PAGE,
      privateClean: PAGE,
      privateDirty: PAGE,
      anonymous: PAGE,
    });
  });

  it("a fresh exec's smaps: padzero'd .data and the argv page are anonymous and dirty", () => {
    const m = new Machine({ frames: 64 });
    const f = fileOf('/bin/p', [1, 2, 3]);
    const pid = m.exec(programPlan(f, 2));
    m.touch(pid, BASE, 2 * PAGE, 'read');
    const [text, data, bss, stack] = m.smaps(pid) as [SmapsEntry, SmapsEntry, SmapsEntry, SmapsEntry];
    expect(text).toMatchObject({
      perms: 'r-xp',
      path: '/bin/p',
      rss: 2 * PAGE,
      privateClean: 2 * PAGE,
      anonymous: 0,
      referenced: 2 * PAGE,
    });
    expect(text.vmFlags).toEqual(['rd', 'ex', 'mr', 'mw', 'me']);
    expect(data).toMatchObject({ perms: 'rw-p', offset: 2 * PAGE, rss: PAGE, anonymous: PAGE, privateDirty: PAGE });
    expect(data.vmFlags).toEqual(['rd', 'wr', 'mr', 'mw', 'me', 'ac']);
    expect(bss).toMatchObject({ path: '', rss: 0, size: 2 * PAGE });
    expect(stack).toMatchObject({ path: '[stack]', rss: PAGE, privateDirty: PAGE, anonymous: PAGE });
    expect(stack.vmFlags).toEqual(['rd', 'wr', 'mr', 'mw', 'me', 'gd', 'ac']);
  });

  it('Referenced follows the accessed bits: a child after fork has old PTEs', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    m.touch(pid, a, 2 * PAGE, 'write');
    const child = m.fork(pid);
    expect(m.smapsRollup(pid).referenced).toBe(2 * PAGE);
    expect(m.smapsRollup(child).referenced).toBe(0);
    m.read(child, a, 1);
    expect(m.smapsRollup(child).referenced).toBe(PAGE);
  });
});

describe("the kernel's text format", () => {
  it('prints a VMA with the exact columns and padding', () => {
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    const a = m.mmap(pid, { addr: 0x7f0000000000, length: PAGE, prot: RW, name: '[heap]' });
    m.touch(pid, a, 1, 'write');
    const text = formatSmaps(m.smaps(pid));
    expect(text.split('\n').slice(0, 6).join('\n')).toBe(
      [
        '7f0000000000-7f0000001000 rw-p 00000000 00:00 0                          [heap]',
        'Size:                  4 kB',
        'KernelPageSize:        4 kB',
        'MMUPageSize:           4 kB',
        'Rss:                   4 kB',
        'Pss:                   4 kB',
      ].join('\n'),
    );
    expect(text.endsWith('VmFlags: rd wr mr mw me ac \n')).toBe(true);
    expect(formatSmapsRollup(m.smapsRollup(pid)).split('\n')[0]).toBe(
      '7f0000000000-7f0000001000 ---p 00000000 00:00 0                          [rollup]',
    );
  });

  const procOk = existsSync('/proc/self/smaps') && existsSync('/proc/self/smaps_rollup');
  if (!procOk) console.warn('skipping the /proc comparison: /proc/self/smaps is not readable here');

  it.skipIf(!procOk)('matches the real /proc/self/maps lines of anonymous and named mappings byte for byte', () => {
    const lines = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => / 00:00 0 /.test(l) && !l.startsWith('ffffffffff'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const [range, perms, offset] = line.split(/\s+/) as [string, string, string];
      const [start, end] = range.split('-').map((h) => parseInt(h, 16)) as [number, number];
      const path = line.length > 73 ? line.slice(73) : '';
      expect(
        formatMapsLine({
          start,
          end,
          perms,
          prot: 0,
          shared: perms[3] === 's',
          offset: parseInt(offset, 16),
          path,
          vmFlags: [],
        }),
      ).toBe(line);
    }
  });

  it.skipIf(!procOk)('prints the same fields in the same order as the running kernel', () => {
    // ProtectionKey appears only on CPUs with memory protection keys; the model always prints it.
    const labels = (text: string): string[] =>
      text
        .split('\n')
        .filter((l) => /^[A-Za-z_]+:/.test(l))
        .map((l) => l.split(':')[0]!)
        .filter((l) => l !== 'ProtectionKey');
    const real = readFileSync('/proc/self/smaps', 'utf8');
    const firstVma = real.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)[0]!;
    const m = new Machine({ frames: 16 });
    const pid = bare(m);
    m.mmap(pid, { length: PAGE, prot: RW });
    expect(labels(formatSmaps(m.smaps(pid)))).toEqual(labels(firstVma));
    expect(labels(formatSmapsRollup(m.smapsRollup(pid)))).toEqual(
      labels(readFileSync('/proc/self/smaps_rollup', 'utf8')),
    );
  });
});
