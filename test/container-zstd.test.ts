/**
 * Containers packed with `--codec zstd`: round trips bit-exact, every
 * compressed page a tagged block that becomes, as FORMAT.md says, a frame
 * the `zstd` CLI decodes to the page (branch filter applied), the
 * independent Python reader (FORMAT.md) reads the tree, the CLI's ls, cat,
 * verify, load and report read it as they read LZ4 containers, the bytes do
 * not depend on the thread count, and damage in a zstd page is caught: by
 * the stored checksum, and, with checksums made to match, by the frame walk
 * or the page checksum. Containers of whole frames (flag bit 1, earlier
 * writers; here written by the zstd CLI) still read. The codec alone:
 * hostile stored pages either decode to exactly one page or throw E_ZSTD.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRANCH_X86_64, ZstdPageCodec, encodeBranches, loadCodec, type PageCodec } from '../src/codec/index.js';
import { openContainer, pack, unpack, verify } from '../src/container/index.js';
import { ContainerError } from '../src/errors.js';
import { KIND, buildContainer, runPage } from './container-builder.js';
import { removeTree, snapshot, tempDir } from './container-helpers.js';
import { mulberry32 } from '../src/util/prng.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = path.join(ROOT, 'samples/bin');
const CLI = path.join(ROOT, 'bin/pagestack.js');
const hasZstd = spawnSync('zstd', ['--version']).status === 0;
const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasDist =
  fs.existsSync(path.join(ROOT, 'dist/container/compress-worker.js')) &&
  fs.existsSync(path.join(ROOT, 'dist/codec/zstd.js'));
if (!hasZstd)
  console.warn('container-zstd: zstd CLI not found (apt-get install zstd): the native zstd checks are skipped');
if (!hasPython) console.warn('container-zstd: python3 not found: the independent-reader check is skipped');
if (!hasDist)
  console.warn('container-zstd: dist/ has no compiled zstd codec (run npm run build): the CLI checks are skipped');

let work: string;
let out: string;

beforeAll(async () => {
  work = tempDir('zstd');
  out = path.join(work, 'z.pgs');
  await pack([SAMPLES], out, { codec: 'zstd', threads: 0 });
});
afterAll(() => removeTree(work));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('zstd containers', () => {
  it('set the ZSTD_PAGES flag (bit 2) and no other, and unpack bit-exact', async () => {
    const bytes = fs.readFileSync(out);
    expect(bytes.readBigUInt64LE(16)).toBe(4n);
    const c = await openContainer(out);
    expect(c.compressedCodec).toBe('zstd');
    const codecs = new Set(Array.from({ length: c.storedPageCount }, (_, i) => c.storedPageInfo(i + 1).codec));
    expect(codecs.has('zstd')).toBe(true);
    expect(codecs.has('lz4')).toBe(false);
    c.close();
    const to = path.join(work, 'unpacked');
    await unpack(out, to);
    expect(snapshot(path.join(to, 'bin'))).toEqual(snapshot(SAMPLES));
    expect((await verify(out)).ok).toBe(true);
  });

  it('are smaller than the LZ4 container of the same input, and level 19 smaller still', async () => {
    const lz4 = path.join(work, 'l.pgs');
    const z19 = path.join(work, 'z19.pgs');
    await pack([SAMPLES], lz4);
    await pack([SAMPLES], z19, { codec: 'zstd', level: 19 });
    const size = (p: string) => fs.statSync(p).size;
    expect(size(out)).toBeLessThan(size(lz4));
    expect(size(z19)).toBeLessThan(size(out));
  });

  it.skipIf(!hasZstd)(
    'store every compressed page as a tag and a block; with the 10 bytes FORMAT.md gives, the zstd CLI decodes it',
    async () => {
      const c = await openContainer(out);
      const data = fs.readFileSync(out);
      const frames: Buffer[] = [];
      const filtered: Uint8Array[] = [];
      const filters = new Map<number, number>();
      for (let id = 1; id <= c.storedPageCount; id++) {
        const info = c.storedPageInfo(id);
        if (info.codec !== 'zstd') continue;
        const stored = data.subarray(info.offset, info.offset + info.storedLength);
        const tag = stored[0]!;
        expect(tag & 0xf0).toBe(0);
        const type = tag & 3;
        const filter = tag >> 2;
        filters.set(filter, (filters.get(filter) ?? 0) + 1);
        // FORMAT.md "zstd pages": magic, descriptor 0x60, pageSize - 256, block header, content.
        const blockSize = type === 1 ? c.pageSize : stored.length - 1;
        const blockHeader = 1 | (type << 1) | (blockSize << 3);
        const prefix = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0, 0, 0, 0, 0]);
        prefix.writeUInt16LE(c.pageSize - 256, 5);
        prefix.writeUIntLE(blockHeader, 7, 3);
        frames.push(Buffer.concat([prefix, stored.subarray(1)]));
        const page = new Uint8Array(c.pageSize);
        c.readStoredPage(id, page);
        if (filter === BRANCH_X86_64) encodeBranches(BRANCH_X86_64, page);
        else expect(filter).toBe(0);
        filtered.push(page);
      }
      c.close();
      expect(frames.length).toBeGreaterThan(100);
      // samples/bin is x86-64 code: its text pages carry the x86 filter, the others none.
      expect(filters.get(BRANCH_X86_64) ?? 0).toBeGreaterThan(10);
      expect(filters.get(0) ?? 0).toBeGreaterThan(10);
      // Frame by frame for a few (each alone is a complete zstd stream), all at once for the rest.
      for (let i = 0; i < 5; i++)
        expect(execFileSync('zstd', ['-d', '-c', '-q'], { input: frames[i] }).equals(Buffer.from(filtered[i]!))).toBe(
          true,
        );
      const decoded = execFileSync('zstd', ['-d', '-c', '-q'], { input: Buffer.concat(frames), maxBuffer: 1 << 28 });
      expect(decoded.equals(Buffer.concat(filtered))).toBe(true);
    },
  );

  it.skipIf(!hasZstd)(
    'written by earlier versions (flag bit 1, whole frames; here from the zstd CLI) still read',
    async () => {
      const page = new Uint8Array(
        fs.readFileSync(path.join(SAMPLES, fs.readdirSync(SAMPLES).sort()[0]!)).subarray(0, 4096),
      );
      const src = path.join(work, 'page.bin');
      fs.writeFileSync(src, page);
      // From a file, the CLI records the content size, as FORMAT.md requires.
      const frame = new Uint8Array(execFileSync('zstd', ['-c', '-q', '--no-check', src]));
      const bytes = await buildContainer({
        requiredFlags: 2n,
        pages: [{ stored: frame, decoded: page }],
        shareMap: [1],
        files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
      });
      const file = path.join(work, 'frames.pgs');
      fs.writeFileSync(file, bytes);
      const c = await openContainer(file);
      const back = new Uint8Array(4096);
      c.readPage(0, 0, back);
      c.close();
      expect(Buffer.from(back).equals(Buffer.from(page))).toBe(true);
      expect((await verify(file)).ok).toBe(true);
    },
  );

  it.skipIf(!hasPython || !hasZstd)('are read by the independent Python reader (FORMAT.md) with the zstd CLI', () => {
    const manifest = JSON.parse(
      execFileSync('python3', [path.join(ROOT, 'test/fixtures/container/read_container.py'), out], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      }),
    ) as {
      entries: Array<{ path: string; kind: string; sha256?: string }>;
    };
    const original = snapshot(SAMPLES);
    for (const e of manifest.entries.filter((x) => x.kind === 'regular')) {
      expect(e.sha256, e.path).toBe(original.get(e.path.replace(/^bin\//, ''))!.sha256);
    }
    expect(manifest.entries.filter((x) => x.kind === 'regular')).toHaveLength(
      [...original.values()].filter((o) => o.kind === 'file').length,
    );
  });

  it.skipIf(!hasDist)(
    'are read by ls, cat, verify, load and report, and come out the same whatever the thread count',
    () => {
      const one = path.join(work, 't0.pgs');
      const two = path.join(work, 't2.pgs');
      expect(cli(['pack', SAMPLES, '-o', one, '--codec', 'zstd', '--threads', '0', '-q']).status).toBe(0);
      expect(cli(['pack', SAMPLES, '-o', two, '--codec', 'zstd', '--threads', '2', '-q']).status).toBe(0);
      expect(fs.readFileSync(one).equals(fs.readFileSync(two))).toBe(true);
      expect(fs.readFileSync(one).equals(fs.readFileSync(out))).toBe(true);

      const ls = cli(['ls', one]);
      expect(ls.status, ls.stderr).toBe(0);
      expect(ls.stdout).toMatch(/zstd/);
      const member = fs.readdirSync(SAMPLES).sort()[0]!;
      const cat = spawnSync(process.execPath, [CLI, 'cat', one, `bin/${member}`], { maxBuffer: 1 << 26 });
      expect(cat.status, cat.stderr.toString()).toBe(0);
      expect(cat.stdout.equals(fs.readFileSync(path.join(SAMPLES, member)))).toBe(true);
      const v = cli(['verify', one]);
      expect(v.status, v.stderr).toBe(0);
      const load = cli(['load', one, '--procs', '2']);
      expect(load.status, load.stderr).toBe(0);
      const report = cli(['report', one, '-o', path.join(work, 'r.html')]);
      expect(report.status, report.stderr).toBe(0);
      expect(fs.statSync(path.join(work, 'r.html')).size).toBeGreaterThan(1000);
    },
  );

  it.skipIf(!hasDist)('refuse --level without --codec zstd, and levels outside 1..19, in one line', () => {
    for (const args of [
      ['--level', '3'],
      ['--codec', 'zstd', '--level', '0'],
      ['--codec', 'zstd', '--level', '20'],
      ['--codec', 'zstd', '--level', 'x'],
    ]) {
      const r = cli(['pack', SAMPLES, '-o', path.join(work, 'bad.pgs'), ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/level/);
    }
    expect(fs.existsSync(path.join(work, 'bad.pgs'))).toBe(false);
  });
});

describe('damage in zstd pages', () => {
  it('is caught by the stored checksum when a byte of a frame flips', async () => {
    const c = await openContainer(out);
    const info = Array.from({ length: c.storedPageCount }, (_, i) => c.storedPageInfo(i + 1)).find(
      (p) => p.codec === 'zstd',
    )!;
    c.close();
    const bad = path.join(work, 'flipped.pgs');
    const bytes = fs.readFileSync(out);
    bytes[info.offset + Math.floor(info.storedLength / 2)]! ^= 0x10;
    fs.writeFileSync(bad, bytes);
    const result = await verify(bad);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).toMatch(/E_CHECKSUM/);
  });

  it('is caught by the tag, the frame walk or the page checksum when the stored checksum matches the damage', async () => {
    await loadCodec('zstd');
    const codec = new ZstdPageCodec();
    const page = runPage(0x41);
    const text = new TextEncoder().encode('page '.repeat(800));
    page.set(text);
    page.set([0xe8, 0x10, 0, 0, 0], 4000); // a call: a wrongly set x86 filter changes it
    const dst = new Uint8Array(8192);
    const frame = dst.slice(0, codec.compress(page, dst));
    const variants: Array<[string, Uint8Array]> = [
      ['truncated', frame.subarray(0, frame.length - 3)],
      ['appended', Uint8Array.from([...frame, 0])],
      ['reserved tag bit', Uint8Array.from(frame, (b, i) => (i === 0 ? b | 0x10 : b))],
      ['raw block type', Uint8Array.from(frame, (b, i) => (i === 0 ? b & ~3 : b))],
      ['x86-64 filter set', Uint8Array.from(frame, (b, i) => (i === 0 ? b | 0x0c : b))],
      ['wrong branch filter', Uint8Array.from(frame, (b, i) => (i === 0 ? b | 0x04 : b))],
      ['flipped content', Uint8Array.from(frame, (b, i) => (i === frame.length - 4 ? b ^ 0x55 : b))],
    ];
    for (const [name, stored] of variants) {
      const bytes = await buildContainer({
        requiredFlags: 4n,
        pages: [{ stored, decoded: page }],
        shareMap: [1],
        files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
      });
      const file = path.join(work, `${name.replace(/ /g, '-')}.pgs`);
      fs.writeFileSync(file, bytes);
      const c = await openContainer(file);
      let err: unknown;
      try {
        c.readPage(0, 0, new Uint8Array(4096));
      } catch (e) {
        err = e;
      }
      c.close();
      expect(err, name).toBeInstanceOf(ContainerError);
      expect(['E_ZSTD', 'E_CHECKSUM'], `${name}: ${(err as ContainerError).message}`).toContain(
        (err as ContainerError).code,
      );
      expect((err as ContainerError).message, name).toContain(file);
    }
  });

  it('the codec: mutated stored pages decode to exactly one page or throw E_ZSTD, never anything else', async () => {
    await loadCodec('zstd');
    const codec: PageCodec = new ZstdPageCodec();
    const rand = mulberry32(2024);
    const pages = [
      runPage(0),
      new Uint8Array(4096).map(() => rand() & 0x0f),
      fs.readFileSync(path.join(SAMPLES, fs.readdirSync(SAMPLES).sort()[0]!)).subarray(0, 4096),
    ];
    const dst = new Uint8Array(8192);
    let refused = 0;
    let decoded = 0;
    for (const [k, page] of pages.entries()) {
      const frame = dst.slice(0, codec.compress(page, dst, k === 2 ? BRANCH_X86_64 : 0));
      for (let trial = 0; trial < 400; trial++) {
        const bad = frame.slice();
        const flips = 1 + (rand() % 3);
        for (let f = 0; f < flips; f++) bad[rand() % bad.length]! ^= 1 << (rand() % 8);
        const cut = trial % 5 === 0 ? bad.subarray(0, rand() % bad.length) : bad;
        const outPage = new Uint8Array(4096);
        try {
          codec.decompress(cut, outPage);
          decoded++;
        } catch (err) {
          expect(err).toBeInstanceOf(ContainerError);
          expect((err as ContainerError).code).toBe('E_ZSTD');
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
    console.log(
      `container-zstd: ${refused} mutated stored pages refused, ${decoded} decoded to a page (the page checksum catches those)`,
    );
  });
});
