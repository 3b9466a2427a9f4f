/**
 * Hostile containers, hand-built from docs/FORMAT.md (container-builder.ts)
 * and committed under test/fixtures/container/: path traversal, symlink
 * escapes, lying counts and sizes, unknown features, broken LZ4 blocks.
 * Each must be refused by openContainer (or, for page damage, when the page
 * is read) with the expected typed error, fail verify, and make unpack
 * write nothing outside its directory. Set PAGESTACK_UPDATE_FIXTURES=1 to
 * rewrite the committed files after a deliberate change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import { openContainer, unpack, verify } from '../src/container/index.js';
import { KIND, buildContainer, lz4Run, runPage, type BuildSpec } from './container-builder.js';
import { removeTree, snapshot, tempDir } from './container-helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/container/', import.meta.url));
const UPDATE = process.env.PAGESTACK_UPDATE_FIXTURES === '1';

const dir = (p: string): BuildSpec['files'][number] => ({ path: p, kind: KIND.directory, mode: 0o755 });
const empty = (p: string): BuildSpec['files'][number] => ({ path: p, kind: KIND.regular, size: 0 });
const onePage = { pages: [{ stored: runPage(0x41) }], shareMap: [1] };

interface HostileCase {
  name: string;
  spec: BuildSpec;
  /** Code openContainer throws; 'page' when the damage only shows when a page is read. */
  refused: string | string[];
}

const cases: HostileCase[] = [
  { name: 'traversal-dotdot', spec: { files: [empty('../pagestack-escaped')] }, refused: 'E_PATH' },
  { name: 'traversal-nested', spec: { files: [dir('a'), empty('a/../../pagestack-escaped')] }, refused: 'E_PATH' },
  { name: 'absolute-path', spec: { files: [empty('/tmp/pagestack-escaped')] }, refused: 'E_PATH' },
  { name: 'empty-component', spec: { files: [dir('a'), empty('a//b')] }, refused: 'E_PATH' },
  { name: 'dot-component', spec: { files: [empty('./x')] }, refused: 'E_PATH' },
  { name: 'trailing-slash', spec: { files: [dir('a/')] }, refused: 'E_PATH' },
  { name: 'nul-in-path', spec: { files: [empty('a\0b')] }, refused: 'E_PATH' },
  {
    name: 'symlink-escape',
    spec: { files: [{ path: 'link', kind: KIND.symlink, link: '/tmp' }, empty('link/pagestack-escaped')] },
    refused: 'E_PATH',
  },
  {
    name: 'symlink-dotdot-escape',
    spec: { files: [{ path: 'up', kind: KIND.symlink, link: '..' }, dir('up/pagestack-escaped')] },
    refused: 'E_PATH',
  },
  {
    name: 'duplicate-path',
    spec: { files: [dir('a'), { path: 'a', kind: KIND.symlink, link: '/tmp' }] },
    refused: 'E_PATH',
  },
  { name: 'child-before-parent', spec: { files: [empty('a/b'), dir('a')] }, refused: 'E_PATH' },
  {
    name: 'hardlink-forward',
    spec: { files: [{ path: 'h', kind: KIND.hardlink, linkIndex: 1 }, empty('f')] },
    refused: 'E_CORRUPT',
  },
  {
    name: 'hardlink-to-directory',
    spec: { files: [dir('d'), { path: 'h', kind: KIND.hardlink, linkIndex: 0 }] },
    refused: 'E_CORRUPT',
  },
  {
    name: 'hardlink-to-itself',
    spec: { files: [{ path: 'h', kind: KIND.hardlink, linkIndex: 0 }] },
    refused: 'E_CORRUPT',
  },
  { name: 'huge-page-count', spec: { files: [], header: { totalPages: 2n ** 40n } }, refused: 'E_CORRUPT' },
  { name: 'huge-file-count', spec: { files: [], header: { fileCount: 0xffffffff } }, refused: 'E_CORRUPT' },
  { name: 'huge-stored-count', spec: { files: [], header: { storedPageCount: 0xffffffff } }, refused: 'E_CORRUPT' },
  {
    name: 'huge-name',
    spec: { files: [{ path: 'x', kind: KIND.regular, pathLength: 0xffffffff }] },
    refused: 'E_CORRUPT',
  },
  {
    name: 'huge-file-size',
    spec: { ...onePage, files: [{ path: 'f', kind: KIND.regular, size: 2n ** 50n }] },
    refused: 'E_CORRUPT',
  },
  {
    name: 'unsafe-file-size',
    spec: { files: [{ path: 'f', kind: KIND.regular, size: 2n ** 60n }] },
    refused: 'E_CORRUPT',
  },
  {
    name: 'share-map-bad-id',
    spec: { pages: onePage.pages, shareMap: [2], files: [{ path: 'f', kind: KIND.regular, size: 4096 }] },
    refused: 'E_CORRUPT',
  },
  { name: 'share-map-uncovered', spec: { ...onePage, files: [empty('f')] }, refused: 'E_CORRUPT' },
  {
    name: 'file-pages-overlap',
    spec: {
      ...onePage,
      files: [
        { path: 'f', kind: KIND.regular, size: 4096 },
        { path: 'g', kind: KIND.regular, size: 4096 },
      ],
    },
    refused: 'E_CORRUPT',
  },
  {
    name: 'page-offsets-backwards',
    spec: {
      pages: [{ stored: runPage(1) }, { stored: runPage(2) }],
      pageOffsets: [232, 200],
      shareMap: [1, 2],
      files: [{ path: 'f', kind: KIND.regular, size: 8192 }],
    },
    refused: 'E_CORRUPT',
  },
  {
    name: 'page-offsets-overlap',
    spec: {
      pages: [{ stored: runPage(1) }, { stored: runPage(2) }],
      pageOffsets: [232, 232 + 100],
      shareMap: [1, 2],
      files: [{ path: 'f', kind: KIND.regular, size: 8192 }],
    },
    refused: 'E_CORRUPT',
  },
  { name: 'unknown-required-flag', spec: { files: [], requiredFlags: 1n << 7n }, refused: 'E_FEATURE' },
  {
    name: 'unknown-required-section',
    spec: { files: [], extraSections: [{ kind: 99, flags: 1, bytes: new Uint8Array(8) }] },
    refused: 'E_FEATURE',
  },
  { name: 'version-2', spec: { files: [], version: 2 }, refused: 'E_VERSION' },
  { name: 'bad-page-size', spec: { files: [], header: { pageSize: 5000 } }, refused: 'E_CORRUPT' },
  {
    name: 'mode-has-type-bits',
    spec: { files: [{ path: 'f', kind: KIND.regular, mode: 0o100644 }] },
    refused: 'E_CORRUPT',
  },
  { name: 'unknown-kind', spec: { files: [{ path: 'f', kind: 9 }] }, refused: 'E_CORRUPT' },
  {
    name: 'lz4-flag-missing',
    spec: {
      pages: [{ stored: lz4Run(0x41, 4096), decoded: runPage(0x41) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
      requiredFlags: 0n,
    },
    refused: 'E_CORRUPT',
  },
  {
    name: 'section-outside-file',
    spec: { files: [], patch: (_b, v) => v.setBigUint64(64 + 32 * 4 + 8, 1n << 40n, true) },
    refused: 'E_CORRUPT',
  },
  {
    name: 'section-in-header',
    spec: { files: [], patch: (_b, v) => v.setBigUint64(64 + 8, 0n, true) },
    refused: 'E_CORRUPT',
  },
  {
    name: 'sections-overlap',
    // The page table (16 bytes) moved inside the file table (64 bytes).
    spec: {
      ...onePage,
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
      patch: (_b, v) => v.setBigUint64(64 + 32 * 1 + 8, v.getBigUint64(64 + 32 * 2 + 8, true) + 8n, true),
    },
    refused: 'E_CORRUPT',
  },
  {
    name: 'table-not-checksummed',
    spec: { files: [empty('f')], patch: (_b, v) => v.setUint16(64 + 32 * 2 + 2, 1, true) },
    refused: 'E_CORRUPT',
  },
  {
    name: 'page-store-checksum-field',
    spec: { files: [], patch: (_b, v) => v.setBigUint64(64 + 24, 7n, true) },
    refused: 'E_CORRUPT',
  },
  // Damage that shows when the page is read: LZ4 blocks that do not decode to exactly one page.
  {
    name: 'lz4-decodes-short',
    spec: {
      pages: [{ stored: lz4Run(0x41, 4095), decoded: runPage(0x41) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
    },
    refused: 'page',
  },
  {
    name: 'lz4-decodes-long',
    spec: {
      pages: [{ stored: lz4Run(0x41, 4097), decoded: runPage(0x41) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
    },
    refused: 'page',
  },
  {
    name: 'lz4-offset-zero',
    spec: {
      pages: [{ stored: lz4Run(0x41, 4096, 0), decoded: runPage(0x41) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
    },
    refused: 'page',
  },
  {
    name: 'lz4-offset-before-page',
    spec: {
      pages: [{ stored: lz4Run(0x41, 4096, 2), decoded: runPage(0x41) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
    },
    refused: 'page',
  },
  {
    name: 'page-checksum-lies',
    spec: {
      pages: [{ stored: runPage(0x41), decoded: runPage(0x42) }],
      shareMap: [1],
      files: [{ path: 'f', kind: KIND.regular, size: 4096 }],
    },
    refused: 'page',
  },
];

let work: string;
beforeAll(() => {
  work = tempDir('hostile');
  fs.mkdirSync(FIXTURES, { recursive: true });
});
afterAll(() => removeTree(work));

/** The committed fixture, checked against (or, with PAGESTACK_UPDATE_FIXTURES=1, written from) the builder. */
async function fixture(name: string, spec: BuildSpec): Promise<string> {
  const file = path.join(FIXTURES, `${name}.pgs`);
  const built = await buildContainer(spec);
  if (UPDATE || !fs.existsSync(file)) {
    if (!UPDATE) throw new Error(`${file} is missing: run the tests with PAGESTACK_UPDATE_FIXTURES=1 to create it`);
    fs.writeFileSync(file, built);
  }
  expect(Buffer.compare(fs.readFileSync(file), built), `${name}: committed fixture differs from the builder`).toBe(0);
  return file;
}

describe('hostile containers', () => {
  for (const c of cases) {
    it(`${c.name}: refused`, async () => {
      const file = await fixture(c.name, c.spec);
      const outer = path.join(work, c.name);
      const target = path.join(outer, 'target');
      fs.mkdirSync(outer);
      if (c.refused === 'page') {
        const container = await openContainer(file);
        expect(() => container.readPage(0, 0, new Uint8Array(container.pageSize))).toThrow(PagestackError);
        try {
          container.readPage(0, 0, new Uint8Array(container.pageSize));
        } catch (err) {
          expect(['E_LZ4', 'E_CHECKSUM']).toContain((err as PagestackError).code);
          expect((err as PagestackError).data.structure).toBe('stored page 1');
        }
        container.close();
      } else {
        await expect(openContainer(file)).rejects.toMatchObject({ code: c.refused });
      }
      const result = await verify(file);
      expect(result.ok).toBe(false);
      await expect(unpack(file, target)).rejects.toBeInstanceOf(PagestackError);
      // Nothing beside the target directory, nothing escaped to /tmp.
      expect(fs.readdirSync(outer).filter((n) => n !== 'target')).toEqual([]);
      expect(fs.existsSync('/tmp/pagestack-escaped')).toBe(false);
      if (fs.existsSync(target))
        expect([...snapshot(target).keys()].filter((p) => p.includes('pagestack-tmp'))).toEqual([]);
    });
  }
});

describe('hand-built containers that are valid', () => {
  it('a container built from FORMAT.md alone reads back right: raw, LZ4, shared and zero pages, all kinds', async () => {
    const page1 = runPage(0x41);
    const page2 = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    const file = await fixture('valid-all-kinds', {
      pages: [{ stored: lz4Run(0x41, 4096), decoded: page1 }, { stored: page2 }],
      shareMap: [1, 0, 2, 2, 1],
      files: [
        dir('d'),
        {
          path: 'd/f',
          kind: KIND.regular,
          size: 3 * 4096 + 5,
          firstPage: 0,
          mode: 0o4755,
          mtimeSeconds: 1_600_000_000,
          mtimeNanoseconds: 123_456_789,
        },
        { path: 'd/g', kind: KIND.regular, size: 4096, firstPage: 4 },
        { path: 'd/s', kind: KIND.symlink, link: '/etc/hostname' },
        { path: 'h', kind: KIND.hardlink, linkIndex: 1 },
      ],
    });
    expect((await verify(file)).ok).toBe(true);
    const target = path.join(work, 'valid');
    await unpack(file, target);
    const f = fs.readFileSync(path.join(target, 'd/f'));
    expect(f).toEqual(Buffer.concat([page1, Buffer.alloc(4096), page2, page2.subarray(0, 5)]));
    expect(fs.readFileSync(path.join(target, 'd/g'))).toEqual(Buffer.from(page1));
    expect(fs.readlinkSync(path.join(target, 'd/s'))).toBe('/etc/hostname');
    expect(fs.statSync(path.join(target, 'h')).ino).toBe(fs.statSync(path.join(target, 'd/f')).ino);
    expect(fs.statSync(path.join(target, 'd/f')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(target, 'd/f'), { bigint: true }).mtimeNs).toBe(1_600_000_000_123_456_000n);
    const c = await openContainer(file);
    expect([0, 1, 2, 3].map((p) => c.pageRef(1, p))).toEqual([1, 0, 2, 2]);
    const backing = c.backing(4);
    expect(backing.size).toBe(3 * 4096 + 5);
    expect(backing.contentId(3)).toBe(backing.contentId(2));
    expect(backing.contentId(4)).toBe(0);
    c.close();
  });

  it('unknown optional flags and sections are ignored; a bad checksum in an unknown section fails verify only', async () => {
    const extra = { kind: 77, flags: 2, bytes: new TextEncoder().encode('a later extension') };
    const ok = await fixture('optional-extensions', {
      files: [empty('f')],
      optionalFlags: 1n << 9n,
      extraSections: [extra],
    });
    expect((await openContainer(ok)).files.map((f) => f.path)).toEqual(['f']);
    expect((await verify(ok)).ok).toBe(true);
    const bad = await fixture('optional-section-bad-checksum', {
      files: [empty('f')],
      extraSections: [extra],
      patch: (_bytes, v) => v.setBigUint64(64 + 32 * 5 + 24, 12345n, true),
    });
    (await openContainer(bad)).close();
    const result = await verify(bad);
    expect(result.ok).toBe(false);
    expect(result.damage?.code).toBe('E_CHECKSUM');
  });
});
