// The memory model against the running kernel: a C program (test/fixtures/
// mm-smaps-probe.c) does known page operations on an anonymous, a read-only
// file, a writable private file and a shared anonymous mapping, forks, does
// more in the child, and both print /proc/self/smaps. The same steps on a
// Machine must give the same Rss, Pss, Pss_Dirty, Shared/Private Clean/Dirty,
// Referenced and Anonymous for those four VMAs, in both processes. This
// checks fault-around, fork's page-table copy rules, COW, the zero page and
// PSS against Linux itself. Skipped (with the reason) without gcc or /proc.
//
// Fault-around windows are 16 pages aligned in the page table, so what one
// read fault maps depends on where the VMA starts; the model runs at the
// kernel's addresses, and the probe places both file mappings at a given
// offset in their windows, each inside a page table of its own (a page table
// the model does not know to hold pages of ld.so, the vDSO or libc would
// change whether a read fault there does fault-around), so the outcome never
// depends on ASLR. Where no page table exists yet the first read fault maps
// the whole folio instead (the file is one 8-page folio: written in one
// write()); the probe runs once with the read-only mapping alone in its page
// table and once with a written anonymous page in it, which fork copies, so
// the child's fault-around is clipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_READ, PROT_WRITE, type SmapsEntry } from '../src/mm/index.js';

const PAGE = 4096;
const FIELDS = [
  'Rss',
  'Pss',
  'Pss_Dirty',
  'Shared_Clean',
  'Shared_Dirty',
  'Private_Clean',
  'Private_Dirty',
  'Referenced',
  'Anonymous',
] as const;
type Fields = Record<(typeof FIELDS)[number] | 'Size', number>;

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasProc = existsSync('/proc/self/smaps');
const reason = !hasGcc ? 'gcc is not installed' : !hasProc ? '/proc/self/smaps is not readable' : '';
if (reason) console.warn(`skipping the kernel comparison of smaps: ${reason}`);
// A kernel booted with pvm_no_zero_page=1 (a test aid of some VM kernels, not in Linux) gives an
// anonymous read fault a private page instead of the shared zero page; the model follows Linux,
// so the anonymous VMA (whose reads are zero-page reads) is compared only on kernels without it.
const noZeroPage =
  existsSync('/proc/cmdline') && /(^|\s)pvm_no_zero_page=1(\s|$)/.test(readFileSync('/proc/cmdline', 'utf8'));
if (!reason && noZeroPage)
  console.warn(
    'smaps comparison: not comparing the anonymous VMA: this kernel maps no zero page on anonymous read faults (pvm_no_zero_page=1 on its command line)',
  );

const dir = mkdtempSync(join(tmpdir(), 'pagestack-mm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Role = 'anon' | 'ro' | 'rw' | 'shm';
const ROLES: Role[] = ['anon', 'ro', 'rw', 'shm'];

type Observed = Record<'parent' | 'child', Record<Role, Fields>> & {
  at: Record<Role, number>;
  pin: number;
  /** folio sizes in pages of the file's page cache, read by the probe from /proc/kpageflags; null where unreadable */
  folios: number[] | null;
  /** an access sampler (DAMON) marked a file or anonymous page idle during the probe; null where unreadable */
  idle: boolean | null;
  /** pages the parent or the child faulted in itself and no longer had mapped when it printed smaps */
  lost: number;
};

let probe = '';
function kernelSmaps(file: string, windowOffset: number, table: 'pin' | 'alone'): Observed {
  if (!probe) {
    probe = join(dir, 'probe');
    execFileSync('gcc', ['-O1', '-o', probe, join(import.meta.dirname, 'fixtures', 'mm-smaps-probe.c')]);
  }
  const out = execFileSync(probe, [file, String(windowOffset), table], { encoding: 'utf8' });
  const head = out.split('\n')[0]!.split(' ');
  const starts = new Map<number, Role>();
  const at = {} as Record<Role, number>;
  for (let i = 0; i < 8; i += 2) {
    starts.set(parseInt(head[i + 1]!, 16), head[i] as Role);
    at[head[i] as Role] = parseInt(head[i + 1]!, 16);
  }
  const sizes = head.slice(head.indexOf('folios') + 1);
  const folios = sizes.includes('?') ? null : sizes.map(Number);
  const idle = out.match(/^idle ([01?])$/m)?.[1];
  const result = {
    parent: {},
    child: {},
    at,
    pin: parseInt(head[9] ?? '0', 16),
    folios,
    idle: idle === '1' ? true : idle === '0' ? false : null,
    lost: [...out.matchAll(/^lost(?:-child)? (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0),
  } as Observed;
  for (const part of out.split('=== ').slice(1)) {
    const who = part.split('\n')[0] as 'parent' | 'child';
    for (const block of part.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const role = starts.get(parseInt(block.split('-')[0]!, 16));
      if (!role) continue;
      const fields = Object.fromEntries(
        [...block.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1]!, Number(m[2]) * 1024]),
      );
      result[who][role] = fields as Fields;
    }
  }
  return result;
}

function modelSmaps(
  backing: MemoryBacking,
  at: Record<Role, number>,
  pin: number,
  folios: number[] | null,
): Record<'parent' | 'child', Record<Role, Fields>> {
  const m = new Machine({ frames: 256, keepPageCache: true });
  // The test wrote the file in one write(): one 8-page folio, cached. The kernel's own layout,
  // where the probe could read it, is used instead: a file the page cache dropped before the
  // probe mapped it (this VM's DAMON pages out cold unmapped file pages) comes back in 4 KiB
  // folios, through mmap read-around.
  m.cacheFile(backing, folios ? { how: 'folios', pages: folios } : { how: 'write' });
  const pid = m.exec({ path: 'probe', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  const RW = PROT_READ | PROT_WRITE;
  const one = Uint8Array.of(1);
  m.mmap(pid, { addr: at.anon, length: 16 * PAGE, prot: RW });
  for (let i = 0; i < 8; i++) m.write(pid, at.anon + i * PAGE, one);
  for (let i = 8; i < 12; i++) m.read(pid, at.anon + i * PAGE, 1);
  if (pin !== 0) {
    m.mmap(pid, { addr: pin, length: PAGE, prot: RW });
    m.write(pid, pin, one);
  }
  m.mmap(pid, { addr: at.ro, length: 8 * PAGE, prot: PROT_READ, file: { backing, offset: 0 } });
  for (let i = 0; i < 6; i++) m.read(pid, at.ro + i * PAGE, 1);
  m.mmap(pid, { addr: at.rw, length: 8 * PAGE, prot: RW, file: { backing, offset: 0 } });
  m.write(pid, at.rw + 2 * PAGE, Uint8Array.of(5));
  m.read(pid, at.rw + 3 * PAGE, 1);
  m.read(pid, at.rw, 1);
  m.mmap(pid, { addr: at.shm, length: 4 * PAGE, prot: RW, shared: true });
  m.write(pid, at.shm, one);
  m.write(pid, at.shm + PAGE, Uint8Array.of(2));
  const child = m.fork(pid);
  m.write(child, at.anon, Uint8Array.of(2));
  m.read(child, at.ro + 6 * PAGE, 1);
  m.read(child, at.rw + 3 * PAGE, 1);
  m.write(child, at.shm + 2 * PAGE, Uint8Array.of(3));
  m.checkInvariants();
  const pick = (p: number): Record<Role, Fields> => {
    const smaps = m.smaps(p);
    const byRole = {} as Record<Role, Fields>;
    for (const role of ROLES) {
      const e = smaps.find((v) => v.start === at[role]) as SmapsEntry;
      byRole[role] = {
        Size: e.size,
        Rss: e.rss,
        Pss: Math.floor(e.pss / 1024) * 1024,
        Pss_Dirty: Math.floor(e.pssDirty / 1024) * 1024,
        Shared_Clean: e.sharedClean,
        Shared_Dirty: e.sharedDirty,
        Private_Clean: e.privateClean,
        Private_Dirty: e.privateDirty,
        Referenced: e.referenced,
        Anonymous: e.anonymous,
      };
    }
    return byRole;
  };
  return { parent: pick(pid), child: pick(child) };
}

// The file is one 8-page folio where the page cache is ext4's (written in one write()); elsewhere
// the 'alone' case, which maps that folio whole, is not comparable. 'stat -f' names ext4 ext2/ext3.
const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() ?? '';
const notExt4 =
  reason === '' && fsType !== 'ext2/ext3' ? `${dir} is on ${fsType || 'an unknown file system'}, not ext4` : '';
if (notExt4) console.warn(`smaps comparison: skipping the case with a page table of its own: ${notExt4}`);

describe('smaps against the running kernel', () => {
  // offset 0: the child's read of page 6 maps all 8 pages; 13: its fault-around window starts at
  // page 3 (5 pages) where the page table exists, and the whole folio is mapped where it does not.
  it.skipIf(reason !== '').each([
    [0, 'pin', 8],
    [13, 'pin', 5],
  ] as const)(
    'four VMAs in a parent and its child match field for field (read-only VMA at offset %i in its window, %s)',
    (windowOffset, table, childRoPages) => compare(windowOffset, table, childRoPages),
  );
  it.skipIf(reason !== '' || notExt4 !== '')(
    'four VMAs match with the read-only VMA alone in its page table (the child maps the whole folio)',
    () => compare(13, 'alone', 8),
  );
});

/**
 * Runs the probe on a freshly written file, again (at most three runs, each said) only when
 * reclaim took pages a process had faulted in itself before it printed its smaps: this VM's
 * DAMON pages out cold file pages, and the model has no reclaimer running beside the probe.
 */
function compare(windowOffset: number, table: 'pin' | 'alone', childRoPages: number): void {
  const file = join(dir, `f8-${windowOffset}-${table}`);
  const bytes = new Uint8Array(8 * PAGE).map((_, i) => (i * 7 + 3) & 0xff);
  const probe = (): Observed => {
    const fd = openSync(file, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd); // clean pages in the kernel's page cache, as the model's are
    closeSync(fd);
    return kernelSmaps(file, windowOffset, table);
  };
  let kernel = probe();
  for (let run = 2; run <= 3 && kernel.lost > 0; run++) {
    console.warn(`mm-kernel: reclaim unmapped ${kernel.lost} page(s) under the probe; run ${run} of at most 3`);
    kernel = probe();
  }
  expect(kernel.lost, 'pages reclaimed under the probe in three runs').toBe(0);
  expect((kernel.at.ro / PAGE) % 16).toBe(windowOffset);
  expect(kernel.at.rw - kernel.at.ro).toBe(512 * PAGE); // the next page table, same window offset
  if (kernel.folios && kernel.folios.join() !== '8')
    console.warn(`mm-kernel: the file came back as folios of ${kernel.folios.join(', ')} pages, not one of 8 pages`);
  const model = modelSmaps(new MemoryBacking(file, bytes), kernel.at, kernel.pin, kernel.folios);
  if (process.env.MM_KERNEL_DEBUG) console.log(JSON.stringify({ kernel, model }, null, 1));
  // DAMON (on this VM) or another access sampler clears accessed bits and sets the folio's young
  // flag instead; smaps then counts the child's old, fork-copied PTEs of that folio as Referenced.
  if (kernel.idle)
    console.warn(
      "mm-kernel: not comparing the child's Referenced: an access sampler marked the probe's pages idle (/proc/kpageflags)",
    );
  for (const who of ['parent', 'child'] as const) {
    for (const role of ROLES) {
      if (role === 'anon' && noZeroPage) continue;
      const k = kernel[who][role];
      expect(k, `${who} ${role}: VMA not found or merged`).toBeDefined();
      const fields = ['Size', ...FIELDS].filter((f) => !(kernel.idle && who === 'child' && f === 'Referenced'));
      const picked = Object.fromEntries(fields.map((f) => [f, k[f as keyof Fields]]));
      const modelled = Object.fromEntries(fields.map((f) => [f, model[who][role][f as keyof Fields]]));
      expect(modelled, `${who} ${role}`).toEqual(picked);
    }
  }
  // what the case is there for, in the layout it was written for
  if (!kernel.folios || kernel.folios.join() === '8') expect(kernel.child.ro.Rss).toBe(childRoPages * PAGE);
}
