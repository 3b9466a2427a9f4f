/**
 * pack → unpack round trips, exact to the byte (contents, kinds, modes,
 * symlink targets, hard-link groups, mtimes to the microsecond Node can
 * set), reproducibility, and two oracles nobody here wrote the code of:
 * an independent Python reader written from docs/FORMAT.md, and python3
 * hashlib counts of zero and distinct pages.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { list, openContainer, pack, unpack, verify } from '../src/container/index.js';
import { CORPUS, SAMPLES, asObject, buildTree, removeTree, snapshot, tempDir } from './container-helpers.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasCorpus = fs.existsSync(CORPUS);
if (!hasPython)
  console.warn('container-roundtrip: python3 not found: the independent-reader and hashlib checks are skipped');
if (!hasCorpus) console.warn(`container-roundtrip: ${CORPUS} is absent: the pyelftools round trip is skipped`);

let work: string;
let tree: string;

beforeAll(() => {
  work = tempDir('roundtrip');
  tree = buildTree(path.join(work, 'src'));
});
afterAll(() => removeTree(work));

async function roundTrip(inputs: string[], label: string, options: Parameters<typeof pack>[2] = {}) {
  const out = path.join(work, `${label}.pgs`);
  const summary = await pack(inputs, out, options);
  const restored = path.join(work, `${label}-out`);
  await unpack(out, restored);
  return { out, summary, restored };
}

describe('round trip', () => {
  it('restores a tree with every kind of entry exactly', async () => {
    const { out, restored, summary } = await roundTrip([tree], 'tree');
    expect(asObject(snapshot(restored))).toEqual(asObject(snapshot(path.dirname(tree))));
    expect(summary.hardlinks).toBe(2);
    expect(summary.symlinks).toBe(4);
    expect((await verify(out)).ok).toBe(true);
  });

  it('restores samples/bin exactly, in both layouts and every page size', async () => {
    for (const [codec, pageSize] of [
      ['lz4', 4096],
      ['none', 4096],
      ['lz4', 16384],
      ['none', 65536],
    ] as const) {
      const { restored, out } = await roundTrip([SAMPLES], `samples-${codec}-${pageSize}`, { codec, pageSize });
      expect(asObject(snapshot(restored))).toEqual(asObject(snapshot(path.dirname(SAMPLES), ['bin'])));
      const c = await openContainer(out);
      expect(c.pageSize).toBe(pageSize);
      expect(c.pageAligned).toBe(codec === 'none');
      c.close();
    }
  });

  it.skipIf(!hasCorpus)('restores the pyelftools corpus exactly', async () => {
    const { restored } = await roundTrip([CORPUS], 'pyelftools');
    expect(asObject(snapshot(restored))).toEqual(asObject(snapshot(path.dirname(CORPUS), [path.basename(CORPUS)])));
  });

  it('packs several inputs under their base names, sorted', async () => {
    const notes = path.join(tree, 'data/notes.txt');
    const { out, restored } = await roundTrip([path.join(SAMPLES, 'hello'), notes, path.join(tree, 'bin')], 'several');
    const c = await openContainer(out);
    expect(c.files.slice(0, 1).map((f) => f.path)).toEqual(['bin']);
    expect(c.files.at(-2)!.path).toBe('hello');
    expect(c.files.at(-1)!.path).toBe('notes.txt');
    c.close();
    expect(fs.readFileSync(path.join(restored, 'hello'))).toEqual(fs.readFileSync(path.join(SAMPLES, 'hello')));
    expect(fs.readFileSync(path.join(restored, 'notes.txt'))).toEqual(fs.readFileSync(notes));
  });
});

describe('reproducibility', () => {
  it('a second pack of the same input is byte-identical, also from a copy made in another order', async () => {
    const a = path.join(work, 'repro-a.pgs');
    const b = path.join(work, 'repro-b.pgs');
    await pack([tree, SAMPLES], a);
    await pack([SAMPLES, tree], b);
    expect(Buffer.compare(fs.readFileSync(a), fs.readFileSync(b))).toBe(0);
    // A copy (cp -a: other inodes, other creation order, so another on-disk directory order).
    const copy = path.join(work, 'copy', 'tree');
    fs.mkdirSync(path.dirname(copy));
    execFileSync('cp', ['-a', tree, copy]);
    const c1 = path.join(work, 'repro-c1.pgs');
    const c2 = path.join(work, 'repro-c2.pgs');
    await pack([tree], c1, { sourceDateEpoch: 1_000_000_000 });
    await pack([copy], c2, { sourceDateEpoch: 1_000_000_000 });
    expect(Buffer.compare(fs.readFileSync(c1), fs.readFileSync(c2))).toBe(0);
  });

  it('SOURCE_DATE_EPOCH clamps later mtimes and leaves earlier ones', async () => {
    const out = path.join(work, 'sde.pgs');
    await pack([tree], out, { sourceDateEpoch: 1_550_000_000 });
    const c = await openContainer(out);
    const byPath = new Map(c.files.map((f) => [f.path, f]));
    expect(byPath.get('tree/bin/hello')!.mtimeSeconds).toBe(1_550_000_000);
    expect(byPath.get('tree/bin/hello')!.mtimeNanoseconds).toBe(0);
    expect(byPath.get('tree/data/nested/deeper')!.mtimeSeconds).toBe(1_234_567_890);
    expect(byPath.get('tree/data/noise.bin')!.mtimeSeconds).toBe(-86_401);
    expect(byPath.get('tree/data/noise.bin')!.mtimeNanoseconds).toBe(750_000_000);
    c.close();
  });
});

describe('oracles', () => {
  it.skipIf(!hasPython)('an independent Python reader written from FORMAT.md reads the same tree', async () => {
    const out = path.join(work, 'python.pgs');
    await pack([tree], out);
    const manifest = JSON.parse(
      execFileSync(
        'python3',
        [fileURLToPath(new URL('./fixtures/container/read_container.py', import.meta.url)), out],
        { encoding: 'utf8' },
      ),
    ) as {
      entries: Array<{
        path: string;
        kind: string;
        mode: number;
        mtimeSeconds: number;
        mtimeNanoseconds: number;
        size?: number;
        sha256?: string;
        target?: string;
        linkTo?: string;
      }>;
    };
    const original = snapshot(path.dirname(tree));
    expect(manifest.entries.map((e) => e.path)).toEqual(expect.arrayContaining([...original.keys()]));
    expect(manifest.entries).toHaveLength(original.size);
    for (const e of manifest.entries) {
      const o = original.get(e.path)!;
      const us = BigInt(e.mtimeSeconds) * 1_000_000n + BigInt(Math.floor(e.mtimeNanoseconds / 1000));
      expect(us, e.path).toBe(o.mtimeUs);
      switch (e.kind) {
        case 'regular':
        case 'hardlink': {
          expect(o.kind).toBe('file');
          const leader = e.linkTo ? manifest.entries.find((x) => x.path === e.linkTo)! : e;
          expect(leader.sha256, e.path).toBe(o.sha256);
          expect(leader.mode).toBe(o.mode);
          if (e.linkTo) expect(o.links).toContain(e.linkTo);
          break;
        }
        case 'directory':
          expect(o.kind).toBe('dir');
          expect(e.mode).toBe(o.mode);
          break;
        case 'symlink':
          expect(o.kind).toBe('symlink');
          expect(e.target).toBe(o.target);
          break;
        default:
          throw new Error(`unknown kind ${e.kind}`);
      }
    }
  });

  it.skipIf(!hasPython)('zero, duplicate and stored page counts match python3 hashlib', async () => {
    const out = path.join(work, 'counts.pgs');
    const summary = await pack([SAMPLES, tree], out);
    const script = `
import hashlib, os, sys
seen, zero, total = set(), 0, 0
inodes = set()
for top in sys.argv[1:]:
    for root, dirs, files in os.walk(top):
        for name in files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p) or (st.st_dev, st.st_ino) in inodes:
                continue
            inodes.add((st.st_dev, st.st_ino))
            data = open(p, 'rb').read()
            for i in range(0, len(data), 4096):
                page = data[i:i + 4096].ljust(4096, b'\\0')
                total += 1
                if page == bytes(4096): zero += 1
                else: seen.add(hashlib.sha256(page).digest())
print(total, zero, len(seen))`;
    const [total, zero, distinct] = execFileSync('python3', ['-c', script, SAMPLES, tree], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    expect(summary.pages).toBe(total);
    expect(summary.zeroPages).toBe(zero);
    expect(summary.storedPages).toBe(distinct);
    expect(summary.duplicatePages).toBe(total! - zero! - distinct!);
    const listed = await list(out);
    expect(listed.totals.storedPages).toBe(distinct);
    expect(listed.totals.zeroPages).toBe(zero);
    expect(listed.totals.inputBytes).toBe(summary.inputBytes);
    // Per file, zero + shared + unique = pages; the two tables files share most of theirs.
    for (const f of listed.files) expect(f.zeroPages + f.sharedPages + f.uniquePages).toBe(f.pages);
    const tables = listed.files.find((f) => f.path === 'bin/tables')!;
    expect(tables.sharedPages).toBeGreaterThan(0);
  });
});

describe('duplicate detection', () => {
  it('confirms every hash match byte for byte by re-reading the first occurrence (colliding hash, > 64 source files)', async () => {
    const src = path.join(work, 'many');
    fs.mkdirSync(src);
    for (let i = 0; i < 150; i++) {
      const page = (seed: number): Buffer => Buffer.alloc(4096, `page ${seed % 37} `);
      fs.writeFileSync(
        path.join(src, `f${String(i).padStart(3, '0')}`),
        Buffer.concat([page(i), page(i * 7 + 1), Buffer.from(`tail ${i}`)]),
      );
    }
    const normal = path.join(work, 'many-normal.pgs');
    const colliding = path.join(work, 'many-colliding.pgs');
    const a = await pack([src, SAMPLES], normal);
    const b = await pack([src, SAMPLES], colliding, { indexHash: (p) => BigInt(p[100]! & 3) });
    expect(b.storedPages).toBe(a.storedPages);
    expect(Buffer.compare(fs.readFileSync(normal), fs.readFileSync(colliding))).toBe(0);
    expect(a.duplicatePages).toBeGreaterThan(150);
  });
});
