// Folio sizes of a cold mmap read fault, against the running kernel. test/fixtures/readahead-probe.py
// drops a 2 MiB file from the page cache (posix_fadvise DONTNEED, checked cold with mincore),
// reads one page through a fresh mapping, and prints the folios the fault's read-around left in
// the cache, from /proc/kpageflags at the PFNs of /proc/self/pagemap. do_sync_mmap_readahead
// reads around the fault with ra->order = 0, so every one is a 4 KiB folio; the model's
// read-around must leave the same folio sizes for every page both have cached (the window sizes
// differ: the model reads readAround pages, the kernel ra_pages of the device). Skipped, with the
// reason, without python3 or a readable /proc/kpageflags (root), or when the file cannot be made
// cold.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine, MemoryBacking, PROT_READ } from '../src/mm/index.js';

const PAGE = 4096;
const PAGES = 512;
const PROBE = join(import.meta.dirname, 'fixtures', 'readahead-probe.py');

function unreadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return false;
  } catch {
    return true;
  }
}
const reason =
  spawnSync('python3', ['--version']).status !== 0
    ? 'python3 is not installed'
    : unreadable('/proc/kpageflags')
      ? '/proc/kpageflags is not readable (needs root)'
      : unreadable('/proc/self/pagemap')
        ? '/proc/self/pagemap is not readable'
        : '';
if (reason) console.warn(`skipping the readahead folio comparison with the kernel: ${reason}`);

const dir = mkdtempSync(join(tmpdir(), 'pagestack-readahead-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = new Uint8Array(PAGES * PAGE);
for (let i = 0; i < bytes.length; i += 64) bytes[i] = (i / 64) & 0xff;
const file = join(dir, 'cold');
const fd = openSync(file, 'w');
writeSync(fd, bytes);
fsyncSync(fd);
closeSync(fd);

/** Folio size per cached page index (head and tails alike), from the kernel. */
function kernelFault(page: number): { cold: boolean; folios: Map<number, number> } {
  const r = spawnSync('python3', [PROBE, file, `fault${page}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`readahead-probe.py failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const folios = new Map<number, number>();
  for (const line of lines.slice(1)) {
    const [index, pages] = line.split(' ').map(Number) as [number, number];
    for (let k = 0; k < pages; k++) folios.set(index + k, pages);
  }
  return { cold: lines[0] === 'cold 1', folios };
}

function modelFault(page: number): Map<number, number> {
  const backing = new MemoryBacking(file, bytes);
  const m = new Machine({ frames: 4096, keepPageCache: true });
  const pid = m.exec({
    path: 'readahead-probe',
    vmas: [],
    writes: [],
    entry: 0,
    loadBias: 0,
    startBrk: 0,
    stackTop: 0,
  });
  const at = m.mmap(pid, { length: PAGES * PAGE, prot: PROT_READ, shared: true, file: { backing, offset: 0 } });
  m.touch(pid, at + page * PAGE, 1, 'read');
  const folios = new Map<number, number>();
  for (const f of m.cachedFolios(backing)) for (let k = 0; k < f.pages; k++) folios.set(f.index + k, f.pages);
  return folios;
}

describe.skipIf(reason)('cold mmap read fault: folio sizes against the kernel', () => {
  for (const page of [0, 5, 100, 300, 511]) {
    it(`fault at page ${page}`, (ctx) => {
      const k = kernelFault(page);
      if (!k.cold) {
        console.warn(`skipping fault at page ${page}: ${file} stayed cached after posix_fadvise(DONTNEED)`);
        ctx.skip();
      }
      const mine = modelFault(page);
      expect(k.folios.has(page)).toBe(true);
      expect(mine.has(page)).toBe(true);
      const both = [...mine.keys()].filter((i) => k.folios.has(i));
      expect(both.length).toBeGreaterThan(0);
      expect(both.map((i) => [i, mine.get(i)])).toEqual(both.map((i) => [i, k.folios.get(i)]));
    });
  }
});
