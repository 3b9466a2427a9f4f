import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseElf } from '../src/elf/parse.js';
import { InputError, UsageError } from '../src/errors.js';
import { readElfStructure } from '../src/scan/elfpages.js';
import { createPageHasher, loadPageHasher } from '../src/scan/hash.js';
import { PageScanner, describePage, fileContentIds, scan, toScanJson } from '../src/scan/index.js';
import { mulberry32 } from '../src/util/prng.js';

const SAMPLES = path.resolve(__dirname, '..', 'samples', 'bin');
const PAGE = 4096;
let dir: string;

/** Deterministic non-zero page contents. */
function pageOf(seed: number, size = PAGE): Buffer {
  const p = Buffer.alloc(size);
  const next = mulberry32(seed);
  for (let i = 0; i < size; i++) p[i] = next() >>> 24;
  return p;
}

/** An ELF-looking file: the magic, then whatever follows (no valid structure needed for pages). */
function elfish(...parts: Buffer[]): Buffer {
  const b = Buffer.concat(parts);
  b.write('\x7fELF', 0, 'latin1');
  return b;
}

function write(name: string, bytes: Buffer): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-scan-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('page model', () => {
  it('cuts by file offset, zero-pads the last page, and classifies zero, new and duplicate pages', async () => {
    const zero = Buffer.alloc(PAGE);
    // a: [magic+P1] [P2] [zero] [P2] [100 bytes of P3, zero-padded]
    const a = write(
      'model/a',
      Buffer.concat([elfish(pageOf(1)), pageOf(2), zero, pageOf(2), pageOf(3).subarray(0, 100)]),
    );
    // b: [magic+P1] (same as a's page 0) [P2] [10 zero bytes: a zero page once padded]
    const b = write('model/b', Buffer.concat([elfish(pageOf(1)), pageOf(2), Buffer.alloc(10)]));
    const r = await scan([a, b]);
    expect(r.totals).toEqual({
      files: 2,
      bytes: 4 * PAGE + 100 + 2 * PAGE + 10,
      pages: 8,
      zeroPages: 2,
      uniquePages: 3,
      duplicatePages: 3,
    });
    const [fa, fb] = r.files;
    expect(Array.from(fa!.contentIds)).toEqual([1, 2, 0, 2, 3]);
    expect(Array.from(fb!.contentIds)).toEqual([1, 2, 0]);
    expect(fa).toMatchObject({ pages: 5, zeroPages: 1, newPages: 3, duplicatePages: 1, sharedPages: 3 });
    expect(fb).toMatchObject({ pages: 3, zeroPages: 1, newPages: 0, duplicatePages: 2, sharedPages: 2 });
    expect(r.contents.count).toBe(3);
    expect(r.contents.pages[2]).toBe(3);
    expect([r.contents.firstFile[2], r.contents.firstPage[2]]).toEqual([0, 1]);
    // Both files lack a valid structure: scanned as pages, with a warning each.
    expect(fa!.elf).toBeNull();
    expect(fa!.warnings.length).toBeGreaterThan(0);
  });

  it('refuses page sizes other than 4, 16 and 64 KiB', async () => {
    await expect(scan([SAMPLES], { pageSize: 8192 })).rejects.toBeInstanceOf(UsageError);
    await expect(scan([SAMPLES], { pageSize: 0 })).rejects.toBeInstanceOf(UsageError);
    for (const pageSize of [4096, 16384, 65536]) {
      const r = await scan([path.join(SAMPLES, 'hello')], { pageSize });
      expect(r.pageSize).toBe(pageSize);
      expect(r.totals.pages).toBe(Math.ceil(fs.statSync(path.join(SAMPLES, 'hello')).size / pageSize));
    }
  });

  it('never merges different pages whose hashes collide (constant hash injected into the scanner)', async () => {
    // a: [magic+P11] [P12] [P11]; b: [magic+P99] [P13] [zero] [P12] [P11]
    const a = write('collide/a', elfish(pageOf(11), pageOf(12), pageOf(11)));
    const b = write('collide/b', elfish(pageOf(99), pageOf(13), Buffer.alloc(PAGE), pageOf(12), pageOf(11)));
    const real = await scan([a, b]);
    // chunkBytes of one page: every confirmation re-reads the first occurrence from its file.
    const forced = await scan([a, b], { hash: () => 7n, chunkBytes: PAGE });
    expect(forced.totals).toEqual(real.totals);
    expect(forced.files.map((f) => Array.from(f.contentIds))).toEqual(real.files.map((f) => Array.from(f.contentIds)));
    expect(real.totals).toMatchObject({ pages: 8, zeroPages: 1, uniquePages: 5, duplicatePages: 2 });
    expect(Array.from(real.files[1]!.contentIds)).toEqual([4, 5, 0, 2, 3]);
  });

  it('gives the same ids whatever the chunk size (first occurrences in the buffer, earlier chunks and other files)', async () => {
    const files = [path.join(SAMPLES, 'tables'), path.join(SAMPLES, 'tables2'), path.join(SAMPLES, 'hello-2m')];
    const whole = await scan(files);
    for (const chunkBytes of [PAGE, 3 * PAGE, 64 * PAGE]) {
      const r = await scan(files, { chunkBytes });
      expect(r.totals).toEqual(whole.totals);
      r.files.forEach((f, i) => expect(Array.from(f.contentIds)).toEqual(Array.from(whole.files[i]!.contentIds)));
      expect(toScanJson(r)).toEqual(toScanJson(whole));
    }
  });

  it('reads the ELF structure of a file larger than one chunk exactly as a whole-file parse', () => {
    for (const name of ['tables', 'hello-2m', 'static']) {
      const file = path.join(SAMPLES, name);
      const bytes = fs.readFileSync(file);
      const fd = fs.openSync(file, 'r');
      try {
        const sparse = readElfStructure(fd, bytes.length, bytes.subarray(0, PAGE), file);
        expect(sparse.elf).toEqual(parseElf(bytes, file));
        // The shared sparse image is left zero: a second, different file parses right too.
        const again = readElfStructure(fd, bytes.length, bytes.subarray(0, 64), file);
        expect(again.elf).toEqual(parseElf(bytes, file));
      } finally {
        fs.closeSync(fd);
      }
    }
  });

  it('numbers contents consistently across files through one scanner (the loader case)', async () => {
    const scanner = await PageScanner.create();
    try {
      const t1 = scanner.scanFile(path.join(SAMPLES, 'tables')).contentIds;
      const t2 = scanner.scanFile(path.join(SAMPLES, 'tables2')).contentIds;
      expect(t2[0]).toBe(t1[0]); // identical first page
      const b1 = fs.readFileSync(path.join(SAMPLES, 'tables'));
      const b2 = fs.readFileSync(path.join(SAMPLES, 'tables2'));
      for (let i = 0; i < t1.length; i++) {
        for (let j = 0; j < t2.length; j += 7) {
          const same = b1.subarray(i * PAGE, (i + 1) * PAGE).equals(b2.subarray(j * PAGE, (j + 1) * PAGE));
          expect(t1[i] === t2[j]).toBe(same);
        }
      }
    } finally {
      scanner.close();
    }
    const alone = await fileContentIds(path.join(SAMPLES, 'hello'));
    expect(alone.length).toBe(Math.ceil(fs.statSync(path.join(SAMPLES, 'hello')).size / PAGE));
  });
});

describe('walking paths', () => {
  it('skips non-ELF files in a walk, scans them with allFiles, and refuses them when named', async () => {
    const elf = write('walk/x.elf', elfish(pageOf(5)));
    write('walk/notes.txt', Buffer.from('hello\n'));
    write('walk/empty', Buffer.alloc(0));
    const r = await scan([path.join(dir, 'walk')]);
    expect(r.files.map((f) => path.basename(f.path))).toEqual(['x.elf']);
    expect(r.skipped.map((s) => [path.basename(s.path), s.code])).toEqual([
      ['empty', 'E_NOT_ELF'],
      ['notes.txt', 'E_NOT_ELF'],
    ]);
    const all = await scan([path.join(dir, 'walk')], { allFiles: true });
    expect(all.files.map((f) => path.basename(f.path))).toEqual(['empty', 'notes.txt', 'x.elf']);
    expect(all.totals).toMatchObject({ files: 3, pages: 2, zeroPages: 0, uniquePages: 2 });
    expect(all.files[1]!.elf).toBeNull();
    await expect(scan([path.join(dir, 'walk', 'notes.txt')])).rejects.toMatchObject({ code: 'E_NOT_ELF' });
    await expect(scan([elf, path.join(dir, 'walk', 'missing')])).rejects.toMatchObject({ code: 'E_NOENT' });
  });

  it('does not follow symlinks in a walk, follows a named one, and counts a hard-linked file once', async () => {
    const target = write('links/real', elfish(pageOf(21), pageOf(22)));
    fs.linkSync(target, path.join(dir, 'links', 'zhard'));
    fs.symlinkSync('real', path.join(dir, 'links', 'soft'));
    fs.mkdirSync(path.join(dir, 'links', 'sub'));
    fs.symlinkSync('..', path.join(dir, 'links', 'sub', 'loop'));
    const r = await scan([path.join(dir, 'links')]);
    expect(r.files.map((f) => path.basename(f.path))).toEqual(['real']);
    expect(r.totals.pages).toBe(2);
    expect(r.links.map((l) => [path.basename(l.path), l.kind])).toEqual([
      ['soft', 'symlink'],
      ['loop', 'symlink'],
      ['zhard', 'hardlink'],
    ]);
    const named = await scan([path.join(dir, 'links', 'soft'), target]);
    expect(named.totals.files).toBe(1);
  });

  it('refuses a FIFO handed to the scanner directly, without blocking on it', async () => {
    const fifo = path.join(dir, 'fifo-direct');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      console.warn('skipping the FIFO case: mkfifo failed');
      return;
    }
    const scanner = await PageScanner.create();
    try {
      expect(() => scanner.scanFile(fifo)).toThrow(expect.objectContaining({ code: 'E_NOT_REGULAR' }));
    } finally {
      scanner.close();
    }
  });

  it('makes skips and warnings fatal with strict', async () => {
    await expect(scan([path.join(dir, 'walk')], { strict: true })).rejects.toMatchObject({ code: 'E_STRICT' });
    const damaged = write('strict/damaged', elfish(pageOf(31)));
    await expect(scan([damaged], { strict: true })).rejects.toBeInstanceOf(InputError);
    const ok = await scan([path.join(SAMPLES, 'hello')], { strict: true });
    expect(ok.files[0]!.warnings).toEqual([]);
  });

  it('reports a damaged ELF file (section headers past the end) as a warning, pages still counted', async () => {
    const bytes = Buffer.from(fs.readFileSync(path.join(SAMPLES, 'hello')));
    bytes.writeBigUInt64LE(BigInt(bytes.length + 4096), 0x28); // e_shoff past the end
    const file = write('damaged/hello-bad-shoff', bytes);
    const r = await scan([file]);
    const f = r.files[0]!;
    expect(f.pages).toBe(Math.ceil(bytes.length / PAGE));
    expect(f.warnings.map((w) => w.code)).toContain('E_ELF_SHDRS');
    expect(f.sections).toEqual([]);
    expect(f.segments.length).toBeGreaterThan(0); // program headers are intact
    expect(describePage(r, 0, 1).perms).toEqual(['r-x']);
  });
});

describe('hash', () => {
  it('the copying fallback gives the same scan as in-place hashing', async () => {
    const inPlace = await scan([SAMPLES]);
    const copying = await scan([SAMPLES], { inPlaceHashing: false });
    expect(toScanJson(copying)).toEqual(toScanJson(inPlace));
    expect((await PageScanner.create()).hashesInPlace).toBe(true);
  });

  it('hashes in place equal to the package API', async () => {
    const api = await loadPageHasher();
    const hasher = await createPageHasher();
    const buf = hasher.buffer(4 * PAGE);
    buf.set(pageOf(1), 0);
    buf.set(pageOf(2), PAGE);
    expect(hasher.hash(buf, PAGE, PAGE)).toBe(api(pageOf(2)));
    expect(hasher.hash(buf, 0, PAGE)).toBe(api(pageOf(1)));
    expect(buf.byteOffset % 65536).toBe(0);
  });

  const xxhsum = hasTool('xxhsum');
  if (!xxhsum) console.warn('skipping the xxhsum comparison: xxhsum is not installed');
  it.skipIf(!xxhsum)('equals xxhsum -H1 (XXH64) on a page', async () => {
    const page = pageOf(77);
    const file = write('hash/page', page);
    const expected = execFileSync('xxhsum', ['-H1', file], { encoding: 'utf8' }).split(/\s+/)[0];
    const hasher = await createPageHasher();
    const buf = hasher.buffer(PAGE);
    buf.set(page);
    expect(hasher.hash(buf, 0, PAGE).toString(16).padStart(16, '0')).toBe(expected);
  });
});

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
