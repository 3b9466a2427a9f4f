// The memory model against the running kernel: a C program (test/fixtures/
// mm-smaps-probe.c) does known page operations on an anonymous, a read-only
// file, a writable private file and a shared anonymous mapping, forks, does
// more in the child, and both print /proc/self/smaps. The same steps on a
// Machine must give the same Rss, Pss, Pss_Dirty, Shared/Private Clean/Dirty,
// Referenced and Anonymous for those four VMAs, in both processes. This
// checks fault-around, fork's page-table copy rules, COW, the zero page and
// PSS against Linux itself. Skipped (with the reason) without gcc or /proc.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_READ, PROT_WRITE, type SmapsEntry } from '../src/mm/index.js';

const PAGE = 4096;
const FIELDS = ['Rss', 'Pss', 'Pss_Dirty', 'Shared_Clean', 'Shared_Dirty', 'Private_Clean', 'Private_Dirty', 'Referenced', 'Anonymous'] as const;
type Fields = Record<(typeof FIELDS)[number] | 'Size', number>;

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const hasProc = existsSync('/proc/self/smaps');
const reason = !hasGcc ? 'gcc is not installed' : !hasProc ? '/proc/self/smaps is not readable' : '';
if (reason) console.warn(`skipping the kernel comparison of smaps: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'pagestack-mm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Role = 'anon' | 'ro' | 'rw' | 'shm';
const ROLES: Role[] = ['anon', 'ro', 'rw', 'shm'];

function kernelSmaps(file: string): Record<'parent' | 'child', Record<Role, Fields>> {
  const exe = join(dir, 'probe');
  execFileSync('gcc', ['-O1', '-o', exe, join(import.meta.dirname, 'fixtures', 'mm-smaps-probe.c')]);
  const out = execFileSync(exe, [file], { encoding: 'utf8' });
  const head = out.split('\n')[0]!.split(' ');
  const starts = new Map<number, Role>();
  for (let i = 0; i < 8; i += 2) starts.set(parseInt(head[i + 1]!, 16), head[i] as Role);
  const result = { parent: {}, child: {} } as Record<'parent' | 'child', Record<Role, Fields>>;
  for (const part of out.split('=== ').slice(1)) {
    const who = part.split('\n')[0] as 'parent' | 'child';
    for (const block of part.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const role = starts.get(parseInt(block.split('-')[0]!, 16));
      if (!role) continue;
      const fields = Object.fromEntries([...block.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1]!, Number(m[2]) * 1024]));
      result[who][role] = fields as Fields;
    }
  }
  return result;
}

function modelSmaps(backing: MemoryBacking): Record<'parent' | 'child', Record<Role, Fields>> {
  const m = new Machine({ frames: 256, keepPageCache: true });
  m.readahead(backing); // the test wrote the file: the kernel has it cached
  const pid = m.exec({ path: 'probe', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  const RW = PROT_READ | PROT_WRITE;
  const one = Uint8Array.of(1);
  const at = {} as Record<Role, number>;
  at.anon = m.mmap(pid, { length: 16 * PAGE, prot: RW });
  for (let i = 0; i < 8; i++) m.write(pid, at.anon + i * PAGE, one);
  for (let i = 8; i < 12; i++) m.read(pid, at.anon + i * PAGE, 1);
  at.ro = m.mmap(pid, { length: 8 * PAGE, prot: PROT_READ, file: { backing, offset: 0 } });
  for (let i = 0; i < 6; i++) m.read(pid, at.ro + i * PAGE, 1);
  at.rw = m.mmap(pid, { length: 8 * PAGE, prot: RW, file: { backing, offset: 0 } });
  m.write(pid, at.rw + 2 * PAGE, Uint8Array.of(5));
  m.read(pid, at.rw + 3 * PAGE, 1);
  m.read(pid, at.rw, 1);
  at.shm = m.mmap(pid, { length: 4 * PAGE, prot: RW, shared: true });
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

describe('smaps against the running kernel', () => {
  it.skipIf(reason !== '')('four VMAs in a parent and its child match field for field', () => {
    const file = join(dir, 'f8');
    const bytes = new Uint8Array(8 * PAGE).map((_, i) => (i * 7 + 3) & 0xff);
    const fd = openSync(file, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd); // clean pages in the kernel's page cache, as the model's are
    closeSync(fd);
    const kernel = kernelSmaps(file);
    const model = modelSmaps(new MemoryBacking(file, bytes));
    for (const who of ['parent', 'child'] as const) {
      for (const role of ROLES) {
        const k = kernel[who][role];
        expect(k, `${who} ${role}: VMA not found or merged`).toBeDefined();
        const picked = Object.fromEntries(['Size', ...FIELDS].map((f) => [f, k[f as keyof Fields]]));
        expect(model[who][role], `${who} ${role}`).toEqual(picked);
      }
    }
  });
});
