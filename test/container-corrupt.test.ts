/**
 * Damage: a small container corrupted at every byte of its header and
 * tables, at sampled bytes of its page store, and truncated at many
 * lengths. Each case must make verify fail (naming a structure) and make
 * unpack refuse with a typed error; no case may crash, and unpack may never
 * leave a file whose bytes differ from the original.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagestackError } from '../src/errors.js';
import { catMember, openContainer, pack, unpack, verify } from '../src/container/index.js';
import { SectionKind } from '../src/container/format.js';
import { SAMPLES, removeTree, snapshot, tempDir } from './container-helpers.js';

let work: string;
let good: Uint8Array;
let original: ReturnType<typeof snapshot>;
let regions: { header: [number, number]; store: [number, number]; tables: [number, number] };
let caseNo = 0;

beforeAll(async () => {
  work = tempDir('corrupt');
  const src = path.join(work, 'src', 'small');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(src, 'hello'));
  fs.writeFileSync(path.join(src, 'notes.txt'), 'some text that compresses well\n'.repeat(300));
  fs.writeFileSync(path.join(src, 'sub', 'tail'), Buffer.concat([Buffer.alloc(4096), Buffer.from('tail')]));
  fs.symlinkSync('notes.txt', path.join(src, 'link'));
  fs.linkSync(path.join(src, 'hello'), path.join(src, 'sub', 'hello-again'));
  original = snapshot(path.join(work, 'src'));
  const out = path.join(work, 'good.pgs');
  await pack([src], out);
  good = fs.readFileSync(out);
  const c = await openContainer(out);
  const store = c.sections.get(SectionKind.PageStore)!;
  regions = {
    header: [0, c.header.headerSize],
    store: [store.offset, store.offset + store.length],
    tables: [store.offset + store.length, good.length],
  };
  c.close();
  expect(regions.store[1] - regions.store[0]).toBeGreaterThan(1000);
  expect(regions.tables[1] - regions.tables[0]).toBeGreaterThan(300);
});
afterAll(() => removeTree(work));

/** Runs verify and unpack on `bytes`; asserts both fail cleanly and nothing wrong was written. */
async function expectDamageDetected(bytes: Uint8Array, label: string): Promise<{ structure: string; code: string }> {
  const n = caseNo++;
  const file = path.join(work, `case-${n}.pgs`);
  fs.writeFileSync(file, bytes);
  const result = await verify(file);
  expect(result.ok, `${label}: verify passed`).toBe(false);
  expect(result.damage?.structure, label).toBeTruthy();
  const outDir = path.join(work, `out-${n}`);
  let error: unknown;
  try {
    await unpack(file, outDir);
  } catch (err) {
    error = err;
  }
  expect(error, `${label}: unpack accepted it`).toBeInstanceOf(PagestackError);
  if (fs.existsSync(outDir)) {
    // Whatever was written before the damaged page must be exact.
    for (const [p, e] of snapshot(outDir)) {
      expect(p, label).not.toMatch(/pagestack-tmp/);
      const o = original.get(p);
      expect(o, `${label}: unexpected ${p}`).toBeDefined();
      if (e.kind === 'file') expect(e.sha256, `${label}: ${p}`).toBe(o!.sha256);
    }
    removeTree(outDir);
  }
  fs.unlinkSync(file);
  return { structure: result.damage!.structure, code: result.damage!.code };
}

function flipped(at: number, mask: number): Uint8Array {
  const bytes = Uint8Array.from(good);
  bytes[at]! ^= mask;
  return bytes;
}

describe('corruption', () => {
  it('the undamaged container verifies and unpacks', async () => {
    const file = path.join(work, 'good-again.pgs');
    fs.writeFileSync(file, good);
    expect((await verify(file)).ok).toBe(true);
    await unpack(file, path.join(work, 'good-out'));
    expect(Object.fromEntries(snapshot(path.join(work, 'good-out')))).toEqual(Object.fromEntries(original));
  });

  it('is detected at every byte of the header (two bit patterns each)', async () => {
    const seen = new Set<string>();
    for (let at = regions.header[0]; at < regions.header[1]; at++) {
      for (const mask of [0xff, 0x01])
        seen.add((await expectDamageDetected(flipped(at, mask), `header byte ${at} ^ ${mask}`)).code);
    }
    expect([...seen]).toEqual(expect.arrayContaining(['E_MAGIC', 'E_CHECKSUM']));
  });

  it('is detected at every byte of the tables', async () => {
    const structures = new Set<string>();
    for (let at = regions.tables[0]; at < regions.tables[1]; at++) {
      structures.add((await expectDamageDetected(flipped(at, 0xff), `table byte ${at}`)).structure);
    }
    expect([...structures].sort()).toEqual(['file table', 'page table', 'share map', 'string table']);
  });

  it('is detected at sampled bytes of the page store, naming the stored page', async () => {
    const [start, end] = regions.store;
    const step = Math.max(1, Math.floor((end - start) / 400));
    for (let at = start; at < end; at += step) {
      for (const mask of [0x01, 0x80]) {
        const { structure, code } = await expectDamageDetected(flipped(at, mask), `page store byte ${at} ^ ${mask}`);
        expect(structure).toMatch(/^stored page \d+$/);
        expect(code).toBe('E_CHECKSUM');
      }
    }
  });

  it('is detected when truncated at many lengths, and when extended', async () => {
    const lengths = new Set<number>();
    for (let n = 0; n < Math.min(good.length, 400); n++) lengths.add(n);
    for (let n = 400; n < good.length; n += 13) lengths.add(n);
    for (let n = Math.max(0, good.length - 64); n < good.length; n++) lengths.add(n);
    for (const n of lengths) await expectDamageDetected(good.subarray(0, n), `truncated to ${n}`);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect((await expectDamageDetected(longer, 'one byte appended')).code).toBe('E_TRAILING');
  });

  it('cat refuses a damaged member and writes only checked bytes before it', async () => {
    const at = regions.store[0] + 10; // inside stored page 1, the first page of 'hello'
    const file = path.join(work, 'cat-damaged.pgs');
    fs.writeFileSync(file, flipped(at, 0x01));
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    await expect(catMember(file, 'small/hello', sink)).rejects.toMatchObject({
      code: 'E_CHECKSUM',
      data: { structure: 'stored page 1' },
    });
    expect(Buffer.concat(chunks).length).toBe(0);
    const bytes: Buffer[] = [];
    const sink2 = new (await import('node:stream')).Writable({
      write(chunk: Buffer, _enc, done) {
        bytes.push(chunk);
        done();
      },
    });
    await catMember(file, 'small/notes.txt', sink2);
    expect(Buffer.concat(bytes).toString()).toBe('some text that compresses well\n'.repeat(300));
  });
});
