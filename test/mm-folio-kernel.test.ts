// Large page-cache folios against the running kernel (ext4 on Linux 6.18). The test writes an
// 800 KiB file in write() calls of a given size, so its page cache holds the folios the write
// path makes (one write: 512 + 256 + 32 KiB); test/fixtures/folio-probe.c maps it read-only
// (alone in a new page table) and shared read-write (in a page table that exists), reads and
// writes single pages, and prints smaps after every step. A Machine given the same folio layout
// (cacheFile { how: 'write', writeSize }) must print the same fields for the three mappings
// after every step: a fault in a new page table maps the whole folio, fault-around maps whole
// folios that end before the file's last page, a shared write dirties the whole folio in every
// mapping. Also checks writeFolioLayout against /proc/kpageflags when it is readable. Skipped,
// with the reason, without gcc or /proc, or when the file system is not ext4.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { writeFolioLayout } from '../src/mm/folio.js';

const PAGE = 4096;
const SIZE = 800 * 1024;
const FIELDS = [
  'Rss',
  'Pss',
  'Shared_Clean',
  'Shared_Dirty',
  'Private_Clean',
  'Private_Dirty',
  'Referenced',
  'Anonymous',
] as const;
const STEPS = ['r130', 'r5', 'r195', 'w3', 's150', 's20'];
type Role = 'ro' | 'sh' | 'pin';
type Fields = Record<(typeof FIELDS)[number], number>;

const dir = mkdtempSync(join(tmpdir(), 'pagestack-folio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fsType(path: string): string {
  const r = spawnSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}
const reason =
  spawnSync('gcc', ['--version']).status !== 0
    ? 'gcc is not installed'
    : !existsSync('/proc/self/smaps')
      ? '/proc/self/smaps is not readable'
      : fsType(dir) !== 'ext2/ext3'
        ? `${dir} is on ${fsType(dir) || 'an unknown file system'}, not ext4 (folio sizes differ per file system)`
        : '';
if (reason) console.warn(`skipping the folio comparison with the kernel: ${reason}`);

function writeFile(path: string, bytes: Uint8Array, writeSize: number): void {
  const fd = openSync(path, 'w');
  for (let pos = 0; pos < bytes.length; pos += writeSize)
    writeSync(fd, bytes, pos, Math.min(writeSize, bytes.length - pos));
  fsyncSync(fd);
  closeSync(fd);
}

let probe = '';
function kernel(file: string): { at: Record<Role, number>; steps: Record<Role, Fields>[] } {
  if (!probe) {
    probe = join(dir, 'folio-probe');
    execFileSync('gcc', ['-O1', '-o', probe, join(import.meta.dirname, 'fixtures', 'folio-probe.c')]);
  }
  const out = execFileSync(probe, [file, ...STEPS], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const head = out.split('\n')[0]!.split(' ');
  const at = { ro: parseInt(head[1]!, 16), sh: parseInt(head[3]!, 16), pin: parseInt(head[5]!, 16) };
  const steps = out
    .split('STEP ')
    .slice(1)
    .map((part) => {
      const byRole = {} as Record<Role, Fields>;
      for (const block of part.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
        const start = parseInt(block.split('-')[0]!, 16);
        const role = (Object.keys(at) as Role[]).find((r) => at[r] === start);
        if (!role) continue;
        const f = Object.fromEntries(
          [...block.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1]!, Number(m[2]) * 1024]),
        );
        byRole[role] = Object.fromEntries(FIELDS.map((k) => [k, f[k]!])) as Fields;
      }
      return byRole;
    });
  return { at, steps };
}

function model(backing: MemoryBacking, writeSize: number, at: Record<Role, number>): Record<Role, Fields>[] {
  const m = new Machine({ frames: 2048, keepPageCache: true });
  m.cacheFile(backing, { how: 'write', writeSize });
  const pid = m.exec({ path: 'folio-probe', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  const RW = PROT_READ | PROT_WRITE;
  m.mmap(pid, { addr: at.ro, length: SIZE, prot: PROT_READ, file: { backing, offset: 0 } });
  m.mmap(pid, { addr: at.pin, length: PAGE, prot: RW });
  m.mmap(pid, { addr: at.sh, length: SIZE, prot: RW, shared: true, file: { backing, offset: 0 } });
  m.write(pid, at.pin, Uint8Array.of(1));
  const steps: Record<Role, Fields>[] = [];
  for (const step of STEPS) {
    const page = Number(step.slice(1));
    if (step[0] === 'r') m.touch(pid, at.ro + page * PAGE, 1, 'read');
    else if (step[0] === 's') m.touch(pid, at.sh + page * PAGE, 1, 'read');
    else m.touch(pid, at.sh + page * PAGE, 1, 'write');
    m.checkInvariants();
    const smaps = m.smaps(pid);
    const byRole = {} as Record<Role, Fields>;
    for (const role of ['ro', 'sh', 'pin'] as const) {
      const e = smaps.find((v) => v.start === at[role])!;
      byRole[role] = {
        Rss: e.rss,
        Pss: Math.floor(e.pss / 1024) * 1024,
        Shared_Clean: e.sharedClean,
        Shared_Dirty: e.sharedDirty,
        Private_Clean: e.privateClean,
        Private_Dirty: e.privateDirty,
        Referenced: e.referenced,
        Anonymous: e.anonymous,
      };
    }
    steps.push(byRole);
  }
  return steps;
}

describe('writeFolioLayout (generic_perform_write + __filemap_get_folio)', () => {
  it('cuts writes as the write path does', () => {
    expect(writeFolioLayout(SIZE)).toEqual([128, 64, 8]);
    expect(writeFolioLayout(12288)).toEqual([2, 1]);
    expect(writeFolioLayout(10000)).toEqual([2, 1]);
    expect(writeFolioLayout(49152)).toEqual([8, 4]);
    expect(writeFolioLayout(SIZE, 65536)).toEqual([...new Array<number>(12).fill(16), 8]);
    // 100000-byte writes: a page left half written by one write is written in place by the next
    // (as /proc/kpageflags showed on ext4, Linux 6.18)
    expect(writeFolioLayout(300000, 100000)).toEqual([16, 8, 1, 1, 2, 4, 16, 1, 1, 2, 4, 8, 8, 1, 1]);
    expect(writeFolioLayout(2 ** 22)).toEqual([512, 512]); // chunks of at most 2 MiB (PMD order)
  });
});

describe('large folios against the running kernel', () => {
  it.skipIf(reason !== '').each([SIZE, 65536])(
    'smaps of three mappings match after every step (file written in %i-byte writes)',
    (writeSize) => {
      const file = join(dir, `f-${writeSize}`);
      const bytes = new Uint8Array(SIZE).map((_, i) => (i * 13 + 7) & 0xff);
      writeFile(file, bytes, writeSize);
      const k = kernel(file);
      const mine = model(new MemoryBacking(file, bytes), writeSize, k.at);
      expect(k.steps.length).toBe(STEPS.length);
      STEPS.forEach((step, i) => {
        for (const role of ['ro', 'sh', 'pin'] as const)
          expect(mine[i]![role], `after ${step}: ${role}`).toEqual(k.steps[i]![role]);
      });
      if (writeSize === SIZE) {
        // the behaviours in question, on the kernel's own numbers
        expect(k.steps[0]!.ro.Rss).toBe(64 * PAGE); // a new page table: the whole 256 KiB folio
        expect(k.steps[1]!.ro.Rss).toBe(192 * PAGE); // fault-around: the whole 512 KiB folio too
        expect(k.steps[3]!.ro.Shared_Dirty).toBe(128 * PAGE); // one shared write dirtied the folio everywhere
      }
    },
  );
});
