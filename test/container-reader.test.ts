/**
 * The reader API the loader uses (openContainer, pageRef, readPage,
 * backing), checked against the packed files themselves and against two
 * outside tools: every LZ4 page is decoded by the native `lz4` CLI (wrapped
 * in a frame) and must match our decoding, and every page checksum must be
 * the low 32 bits of `xxhsum -H1` of the page. Also: the page-aligned
 * layout really is mmap-able, and the worker-thread pack (compiled CLI)
 * writes the same bytes as the inline pack.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import xxhash from 'xxhash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import { openContainer, pack, type Container } from '../src/container/index.js';
import { CORPUS, SAMPLES, removeTree, snapshot, tempDir } from './container-helpers.js';

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const hasLz4 = has('lz4');
const hasLiblz4 = spawnSync('python3', ['-c', "import ctypes; ctypes.CDLL('liblz4.so.1')"]).status === 0;
if (!hasLiblz4)
  console.warn('container-reader: python3 with liblz4.so.1 not found: the exact-size liblz4 check is skipped');
const hasXxhsum = has('xxhsum');
if (!hasLz4) console.warn('container-reader: lz4 CLI not found: the native LZ4 cross-check is skipped');
if (!hasXxhsum) console.warn('container-reader: xxhsum not found: the checksum cross-check is skipped');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'bin/pagestack.js');
const DIST_WORKER = path.join(ROOT, 'dist/container/compress-worker.js');
/** The compiled CLI exists and is newer than every container source file. */
function distIsFresh(): boolean {
  if (!fs.existsSync(DIST_WORKER)) return false;
  const built = Math.min(
    ...fs
      .readdirSync(path.join(ROOT, 'dist/container'))
      .filter((n) => n.endsWith('.js'))
      .map((n) => fs.statSync(path.join(ROOT, 'dist/container', n)).mtimeMs),
  );
  return fs
    .readdirSync(path.join(ROOT, 'src/container'))
    .every((n) => !n.endsWith('.ts') || fs.statSync(path.join(ROOT, 'src/container', n)).mtimeMs <= built);
}
const freshDist = distIsFresh();
if (!freshDist)
  console.warn(
    'container-reader: dist/ is missing or older than src/container (run npm run build): the worker-thread check is skipped',
  );

let work: string;
let out: string;
let c: Container;
const inputs = fs.existsSync(CORPUS) ? [SAMPLES, CORPUS] : [SAMPLES];

beforeAll(async () => {
  work = tempDir('reader');
  out = path.join(work, 'r.pgs');
  await pack(inputs, out);
  c = await openContainer(out);
});
afterAll(() => {
  c?.close();
  removeTree(work);
});

function sourceOf(member: string): string {
  const [top, ...rest] = member.split('/');
  const input = inputs.find((i) => path.basename(i) === top)!;
  return path.join(input, ...rest);
}

describe('reader API', () => {
  it('readPage gives every page of every file, zero-padded, and pageRef 0 exactly for zero pages', () => {
    const page = new Uint8Array(c.pageSize);
    for (const f of c.files) {
      if (f.kind !== 'regular') continue;
      const bytes = fs.readFileSync(sourceOf(f.path));
      expect(bytes.length).toBe(f.size);
      for (let p = 0; p < f.pageCount; p++) {
        c.readPage(f.index, p, page);
        const expected = Buffer.alloc(c.pageSize);
        bytes.copy(expected, 0, p * c.pageSize, (p + 1) * c.pageSize);
        if (Buffer.compare(page, expected) !== 0) throw new Error(`${f.path} page ${p} differs`);
        expect(c.pageRef(f.index, p) === 0).toBe(expected.every((b) => b === 0));
      }
    }
  });

  it('backing(): contentId is the stored page id, equal for equal pages across files, 0 past EOF', () => {
    const tables = c.backing(c.findFile('bin/tables')!);
    const tables2 = c.backing(c.findFile('./bin/tables2')!);
    let shared = 0;
    for (let p = 0; p < tables.pageCount; p++)
      if (tables.contentId(p) !== 0 && tables.contentId(p) === tables2.contentId(p)) shared++;
    expect(shared).toBeGreaterThan(0);
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    for (let p = 0; p < tables.pageCount; p++) {
      if (tables.contentId(p) !== tables2.contentId(p)) continue;
      tables.readPage(p, a);
      tables2.readPage(p, b);
      expect(Buffer.compare(a, b)).toBe(0);
    }
    expect(tables.contentId(tables.pageCount + 5)).toBe(0);
    tables.readPage(tables.pageCount, a.fill(1));
    expect(a.every((x) => x === 0)).toBe(true);
    expect(tables.size).toBe(fs.statSync(path.join(SAMPLES, 'tables')).size);
  });

  it('refuses out-of-range requests with typed errors', () => {
    const hello = c.findFile('bin/hello')!;
    expect(() => c.pageRef(hello, 1e9)).toThrow(PagestackError);
    expect(() => c.pageRef(1e9, 0)).toThrow(PagestackError);
    expect(() => c.readStoredPage(c.storedPageCount + 1, new Uint8Array(c.pageSize))).toThrow(PagestackError);
    expect(() => c.backing(c.findFile('bin')!)).toThrow(PagestackError);
  });
});

describe('outside tools', () => {
  it.skipIf(!hasLz4)('every LZ4 page decodes with the native lz4 CLI to the same bytes', async () => {
    const { h32Raw } = await xxhash();
    const ids: number[] = [];
    for (let id = 1; id <= c.storedPageCount; id++) if (c.storedPageInfo(id).codec === 'lz4') ids.push(id);
    expect(ids.length).toBeGreaterThan(10);
    // One LZ4 frame: independent blocks, one per page (FLG 0x60, BD 0x40: 64 KiB blocks).
    const descriptor = Uint8Array.of(0x60, 0x40);
    const parts: Uint8Array[] = [
      Uint8Array.of(0x04, 0x22, 0x4d, 0x18),
      descriptor,
      Uint8Array.of((h32Raw(descriptor) >>> 8) & 0xff),
    ];
    const expected: Uint8Array[] = [];
    for (const id of ids) {
      const info = c.storedPageInfo(id);
      const block = new Uint8Array(info.storedLength);
      c.readAt(block, info.offset);
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, block.length, true);
      parts.push(size, block);
      const page = new Uint8Array(c.pageSize);
      c.readStoredPage(id, page);
      expected.push(page);
    }
    parts.push(new Uint8Array(4));
    const frame = path.join(work, 'pages.lz4');
    fs.writeFileSync(frame, Buffer.concat(parts));
    const decoded = execFileSync('lz4', ['-d', '-c', frame], { maxBuffer: 1 << 30 });
    expect(decoded.length).toBe(ids.length * c.pageSize);
    expect(Buffer.compare(decoded, Buffer.concat(expected))).toBe(0);
  });

  it.skipIf(!hasLiblz4)(
    'every LZ4 page decodes with liblz4 LZ4_decompress_safe into exactly one page (capacity = page size)',
    () => {
      // Blocks as [u32 length][block]...; liblz4 (through ctypes) decodes each with the page size as capacity,
      // as a kernel would, and the script prints the SHA-256 of each decoded page, or an error.
      const parts: Uint8Array[] = [];
      const expected: string[] = [];
      const page = new Uint8Array(c.pageSize);
      for (let id = 1; id <= c.storedPageCount; id++) {
        const info = c.storedPageInfo(id);
        if (info.codec !== 'lz4') continue;
        const block = new Uint8Array(info.storedLength);
        c.readAt(block, info.offset);
        const size = new Uint8Array(4);
        new DataView(size.buffer).setUint32(0, block.length, true);
        parts.push(size, block);
        c.readStoredPage(id, page);
        expected.push(createHash('sha256').update(page).digest('hex'));
      }
      const blocks = path.join(work, 'blocks.bin');
      fs.writeFileSync(blocks, Buffer.concat(parts));
      const script = `
import ctypes, hashlib, struct, sys
lz4 = ctypes.CDLL('liblz4.so.1')
data = open(sys.argv[1], 'rb').read()
size = int(sys.argv[2])
out = ctypes.create_string_buffer(size)
i = 0
while i < len(data):
    (n,) = struct.unpack_from('<I', data, i)
    src = data[i + 4:i + 4 + n]
    i += 4 + n
    r = lz4.LZ4_decompress_safe(src, out, n, size)
    print(hashlib.sha256(out.raw).hexdigest() if r == size else 'error %d' % r)`;
      const lines = execFileSync('python3', ['-c', script, blocks, String(c.pageSize)], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      })
        .trim()
        .split('\n');
      const refused = lines.filter((l) => l.startsWith('error')).length;
      expect(refused, `${refused} of ${lines.length} LZ4 pages refused by liblz4`).toBe(0);
      expect(lines).toEqual(expected);
    },
  );

  it.skipIf(!hasXxhsum)('page checksums are the low 32 bits of xxhsum -H1 of the decoded pages', () => {
    const dir = path.join(work, 'pages');
    fs.mkdirSync(dir);
    const page = new Uint8Array(c.pageSize);
    const view = new DataView(fs.readFileSync(out).buffer);
    const ids = [1, 2, 3, Math.floor(c.storedPageCount / 2), c.storedPageCount];
    const table = c.sections.get(2)!;
    for (const id of ids) {
      c.readStoredPage(id, page);
      fs.writeFileSync(path.join(dir, String(id)), page);
    }
    const lines = execFileSync('xxhsum', ['-H1', ...ids.map(String)], { cwd: dir, encoding: 'utf8' })
      .trim()
      .split('\n');
    for (const line of lines) {
      const [hash, name] = line.split(/\s+/);
      const id = Number(name);
      const stored = view.getUint32(table.offset + 16 * (id - 1) + 12, true);
      expect(stored.toString(16).padStart(8, '0')).toBe(hash!.slice(-8));
    }
  });
});

describe('layouts and threads', () => {
  it('--codec none: every stored page is raw at a page-aligned offset, readable straight from the file', async () => {
    const raw = path.join(work, 'raw.pgs');
    await pack([SAMPLES], raw, { codec: 'none' });
    const r = await openContainer(raw);
    const file = fs.readFileSync(raw);
    const page = new Uint8Array(r.pageSize);
    expect(r.pageAligned).toBe(true);
    for (let id = 1; id <= r.storedPageCount; id++) {
      const info = r.storedPageInfo(id);
      expect(info.offset % r.pageSize).toBe(0);
      expect(info.codec).toBe('raw');
      r.readStoredPage(id, page);
      expect(Buffer.compare(file.subarray(info.offset, info.offset + r.pageSize), page)).toBe(0);
    }
    r.close();
  });

  it.skipIf(!freshDist)('the compiled CLI with worker threads writes the same bytes as the inline pack', async () => {
    const inline = path.join(work, 'inline.pgs');
    const threaded = path.join(work, 'threaded.pgs');
    await pack(inputs, inline, { threads: 0 });
    execFileSync(process.execPath, [CLI, 'pack', ...inputs, '-o', threaded, '--threads', '2', '-q']);
    expect(Buffer.compare(fs.readFileSync(inline), fs.readFileSync(threaded))).toBe(0);
  });

  it.skipIf(!freshDist)(
    'the compiled CLI unpacks with worker threads exactly, and stops on a damaged page',
    async () => {
      const target = path.join(work, 'threaded-out');
      execFileSync(process.execPath, [CLI, 'unpack', out, '-C', target, '--threads', '2', '-q']);
      expect([...snapshot(target).keys()].sort()).toEqual(c.files.map((f) => f.path).sort());
      for (const f of c.files) {
        if (f.kind === 'regular')
          expect(
            Buffer.compare(fs.readFileSync(path.join(target, f.path)), fs.readFileSync(sourceOf(f.path))),
            f.path,
          ).toBe(0);
      }
      const damaged = path.join(work, 'damaged.pgs');
      const bytes = fs.readFileSync(out);
      const last = c.storedPageInfo(c.storedPageCount);
      bytes[last.offset + 1]! ^= 0x10;
      fs.writeFileSync(damaged, bytes);
      const broken = path.join(work, 'threaded-damaged');
      const r = spawnSync(process.execPath, [CLI, 'unpack', damaged, '-C', broken, '--threads', '2'], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^pagestack: unpack: .*stored page ${c.storedPageCount} at offset 0x[0-9a-f]+: stored bytes checksum mismatch`,
        ),
      );
      for (const [p, e] of snapshot(broken)) {
        expect(p).not.toMatch(/pagestack-tmp/);
        if (e.kind === 'file')
          expect(Buffer.compare(fs.readFileSync(path.join(broken, p)), fs.readFileSync(sourceOf(p))), p).toBe(0);
      }
    },
  );
});
