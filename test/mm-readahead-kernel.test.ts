// Readahead against the running kernel (ext4, Linux 6.18): the page cache a cold file is left with
// after read() calls or page faults. test/fixtures/readahead-probe.py drops the file from the page
// cache (posix_fadvise DONTNEED; checked cold with mincore), runs the accesses through one open
// file, and prints every cached folio (index, pages, PG_readahead) from /proc/kpageflags. A Machine
// with the device's ra_pages (read_ahead_kb / 4) and io_pages (max_sectors_kb / 4) runs the same
// accesses (Machine.readFile, or touches of an mmap) and must leave the same folios with the same
// marks: the sync window and its ramp-up, the folio orders growing by 2 per async window, the
// order-0 mmap read-around centred on the fault (from the fault on for PROT_EXEC, clipped to the
// VMA), and the async readahead a sequential mmap reader starts at the marked page. File sizes,
// read sizes and offsets vary, so no single trace is fitted. Skipped, with the reason, without
// python3, a readable /proc/kpageflags (root), or ext4; a case is skipped, with the reason, when
// the file stays cached after DONTNEED.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_EXEC, PROT_READ } from '../src/mm/index.js';
import { machineCore } from '../src/mm/machine.js';
import { raMarked } from '../src/mm/readahead-cache.js';

const PAGE = 4096;
const PROBE = join(import.meta.dirname, 'fixtures', 'readahead-probe.py');

function unreadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return false;
  } catch {
    return true;
  }
}
// Made when the tests start, so a run that skips them leaves nothing behind.
let dir = '';
const fsType = spawnSync('stat', ['-f', '-c', '%T', tmpdir()], { encoding: 'utf8' }).stdout?.trim() ?? '';

const reason =
  spawnSync('python3', ['--version']).status !== 0
    ? 'python3 is not installed'
    : unreadable('/proc/kpageflags')
      ? '/proc/kpageflags is not readable (needs root)'
      : unreadable('/proc/self/pagemap')
        ? '/proc/self/pagemap is not readable'
        : fsType !== 'ext2/ext3'
          ? `${tmpdir()} is on ${fsType || 'an unknown file system'}, not ext4 (large folio support differs)`
          : '';
if (reason) console.warn(`skipping the readahead comparison with the kernel: ${reason}`);

/** max_sectors_kb / 4 of the block device behind `dev` (major:minor), or 1024 if not found. */
function ioPages(path: string): number {
  const st = statSync(path);
  const major = Math.floor(st.dev / 256) & 0xfff;
  const minor = (st.dev & 0xff) | ((Math.floor(st.dev / 1048576) & 0xfff) << 8);
  try {
    const block = readFileSync(`/sys/dev/block/${major}:${minor}/queue/max_sectors_kb`, 'utf8');
    return Math.floor(Number(block) / 4);
  } catch {
    return 1024;
  }
}

type Folio = [index: number, pages: number, readahead: number];

function makeFile(name: string, size: number): { path: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 512) bytes[i] = (i / 512) & 0xff;
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  writeSync(fd, bytes);
  fsyncSync(fd);
  closeSync(fd);
  return { path, bytes };
}

function kernel(path: string, ops: string[]): { cold: boolean; raPages: number; folios: Folio[] } {
  const r = spawnSync('python3', [PROBE, path, ...ops], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`readahead-probe.py failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const folios = lines.slice(2).map((l) => l.split(' ').map(Number) as Folio);
  return { cold: lines[0] === 'cold 1', raPages: Number(lines[1]!.split(' ')[1]), folios };
}

/** The same accesses on a Machine; folios as [index, pages, PG_readahead]. */
function model(path: string, bytes: Uint8Array, ops: string[], raPages: number, io: number): Folio[] {
  const backing = new MemoryBacking(path, bytes);
  const pages = Math.ceil(bytes.length / PAGE);
  const m = new Machine({ frames: 4 * pages + 64, keepPageCache: true, readAround: raPages, ioPages: io });
  const files = [m.openFile(backing)];
  let file = files[0]!;
  const pid = m.exec({ path: 'probe', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
  let at = 0;
  for (const op of ops) {
    const f = op.split(':');
    if (f[0] === 'read') {
      let pos = Number(f[1]);
      const count = Number(f[2]);
      let left = Number(f[3]);
      for (;;) {
        const n = m.readFile(file, pos, count);
        pos += n;
        if (n === 0 || left === 1) break;
        left--;
      }
    } else if (f[0] === 'map') {
      const prot = PROT_READ | (f[1] === 'rx' ? PROT_EXEC : 0);
      const [offset, length] = f.length > 2 ? [Number(f[2]) * PAGE, Number(f[3]) * PAGE] : [0, pages * PAGE];
      at = m.mmap(pid, { length, prot, shared: true, file: { backing, offset } });
    } else if (f[0] === 'fd') {
      files[Number(f[1])] ??= m.openFile(backing);
      file = files[Number(f[1])]!;
    } else if (f[0] === 'touch') {
      const first = Number(f[1]);
      for (let p = first; p < first + Number(f[2] ?? 1); p++) m.touch(pid, at + p * PAGE, 1, 'read');
    } else if (f[0] === 'fadv') m.fadvise(file, f[1] === 'seq' ? 'sequential' : 'normal');
    else if (f[0] === 'willneed') m.fadvise(file, 'willneed', Number(f[1]), Number(f[2]));
  }
  m.checkInvariants();
  const core = machineCore(m);
  const space = core.fileSpace(backing);
  return m.cachedFolios(backing).map((c) => [c.index, c.pages, raMarked(core, space, c.index, false) ? 1 : 0]);
}

const MiB = 1024 * 1024;
const CASES: { name: string; size: number; ops: string[] }[] = [
  { name: 'read 4 KiB at a time, 2 MiB', size: 2 * MiB, ops: ['read:0:4096:0'] },
  { name: 'read 1000 bytes at a time, 2 MiB + 1234', size: 2 * MiB + 1234, ops: ['read:0:1000:0'] },
  { name: 'read 4 KiB ten times, 2 MiB', size: 2 * MiB, ops: ['read:0:4096:10'] },
  { name: 'read 64 KiB at a time, 9 MiB', size: 9 * MiB, ops: ['read:0:65536:0'] },
  { name: 'read 1 MiB at a time, 3 MiB + 5', size: 3 * MiB + 5, ops: ['read:0:1048576:0'] },
  { name: 'read 4 KiB at a time from 1 MiB, 300 reads', size: 6 * MiB, ops: ['read:1048576:4096:300'] },
  { name: 'read 16 KiB, POSIX_FADV_SEQUENTIAL, 5 MiB', size: 5 * MiB, ops: ['fadv:seq', 'read:0:16384:0'] },
  { name: 'one read of a whole 4 MiB file', size: 4 * MiB, ops: [`read:0:${4 * MiB}:1`] },
  { name: 'one 10 MiB read of a 12 MiB file', size: 12 * MiB, ops: [`read:0:${10 * MiB}:1`] },
  { name: 'mmap fault at page 2000 of 16 MiB', size: 16 * MiB, ops: ['map:r', 'touch:2000'] },
  { name: 'mmap fault at page 100 of 16 MiB', size: 16 * MiB, ops: ['map:r', 'touch:100'] },
  { name: 'PROT_EXEC fault at page 3000 of 16 MiB', size: 16 * MiB, ops: ['map:rx', 'touch:3000'] },
  { name: 'PROT_EXEC fault at page 70 of 1 MiB', size: 1 * MiB, ops: ['map:rx', 'touch:70'] },
  { name: 'mmap faults on pages 0-2999 in order, 16 MiB', size: 16 * MiB, ops: ['map:r', 'touch:0:3000'] },
  { name: 'mmap fault at page 5 of 2 MiB', size: 2 * MiB, ops: ['map:r', 'touch:5'] },
  {
    name: 'read 50 pages, then a fault at page 300, 3 MiB',
    size: 3 * MiB,
    ops: ['read:0:4096:50', 'map:r', 'touch:300'],
  },
  // A page cached in the way of a large folio: page_cache_ra_order falls back to order-0 pages around it.
  { name: 'read page 256, then the file from 0, 2 MiB', size: 2 * MiB, ops: ['read:1048576:4096:1', 'read:0:4096:0'] },
  { name: 'PROT_EXEC fault at page 20 of a 40-page VMA at page 8', size: 4 * MiB, ops: ['map:rx:8:40', 'touch:20'] },
  { name: 'read-around in a 100-page VMA at page 1000', size: 8 * MiB, ops: ['map:r:1000:100', 'touch:50'] },
  // A second open file meets the first one's marks without their state (page_cache_async_ra's other branch).
  {
    name: 'two open files reading one file in turn',
    size: 6 * MiB,
    ops: ['read:0:4096:30', 'fd:1', 'read:0:4096:25', 'fd:0', 'read:122880:16384:40', 'fd:1', 'read:102400:8192:300'],
  },
  { name: 'WILLNEED of a whole 12 MiB file', size: 12 * MiB, ops: ['willneed:0:0'] },
  {
    name: 'WILLNEED of 100 pages from 5000 bytes, then reads there',
    size: 3 * MiB,
    ops: ['willneed:5000:409600', 'read:8192:4096:200'],
  },
  {
    name: 'read 3 pages, jump to 1 MiB and read on, 4 MiB',
    size: 4 * MiB,
    ops: ['read:0:4096:3', 'read:1048576:8192:40'],
  },
];

/** Whether kernel folios `k` only split folios of `m`: same pages and marks, each k folio inside an m folio. */
function splitOf(k: Folio[], m: Folio[]): boolean {
  const owner = new Map<number, Folio>();
  for (const f of m) for (let i = 0; i < f[1]; i++) owner.set(f[0] + i, f);
  let pages = 0;
  for (const f of k) {
    const o = owner.get(f[0]);
    if (o === undefined || f[0] + f[1] > o[0] + o[1] || (f[2] === 1 && f[0] !== o[0])) return false;
    pages += f[1];
  }
  return pages === owner.size && m.every((f) => f[2] === 0 || k.some((g) => g[0] === f[0] && g[2] === 1));
}

function sameFolios(a: Folio[], b: Folio[]): boolean {
  return a.length === b.length && a.every((f, i) => f.join() === b[i]!.join());
}

describe.skipIf(reason)('readahead against the kernel', () => {
  let io = 1024;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pagestack-readahead-'));
    io = ioPages(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  CASES.forEach((c, n) => {
    it(c.name, (ctx) => {
      const { path, bytes } = makeFile(`f${n}`, c.size);
      let k = kernel(path, c.ops);
      if (!k.cold) {
        console.warn(`skipping "${c.name}": ${path} stayed cached after posix_fadvise(DONTNEED)`);
        ctx.skip();
      }
      const mine = model(path, bytes, c.ops, k.raPages, io);
      // A busy machine's compaction splits large folios now and then (the mTHP split counters in
      // /sys/kernel/mm/transparent_hugepage/*/stats grow by hundreds a second while other jobs run);
      // a run whose folios are only splits of the model's is done again, at most five runs in all.
      for (let run = 2; run <= 5 && k.cold && splitOf(k.folios, mine) && !sameFolios(k.folios, mine); run++) {
        console.warn(`"${c.name}": the kernel's folios were split after readahead made them; run ${run}`);
        k = kernel(path, c.ops);
      }
      expect(mine).toEqual(k.folios);
      rmSync(path);
    });
  });
});
