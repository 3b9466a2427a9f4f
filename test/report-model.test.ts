/**
 * The report's data model: page kinds and counts.
 *
 * - Against the scanner: zero, distinct and duplicate pages, and per file
 *   the shared pages, equal what `scan` counts.
 * - Against an independent oracle: every page's kind recomputed from the
 *   files with node:crypto SHA-256 (no xxhash, no PageIndex, no scanner),
 *   page by page, on samples/bin, a hand-built set with known answers and,
 *   when present, the shared pyelftools corpus.
 * - Unifying content ids of several sources (unify.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReportModel, pageKinds, PAGE_KINDS, type ReportModel } from '../src/report/index.js';
import { unifyContents, type ContentSource } from '../src/report/unify.js';
import { scan } from '../src/scan/index.js';
import { pyelftoolsDir } from './helpers/shared.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const PS = 4096;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-report-model-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Kind of every page of every file, from SHA-256 of the zero-padded pages alone. */
function oracleKinds(paths: string[], pageSize = PS): string[][] {
  const digests = paths.map((p) => {
    const bytes = fs.readFileSync(p);
    const out: string[] = [];
    for (let at = 0; at < bytes.length; at += pageSize) {
      const page = Buffer.alloc(pageSize);
      bytes.copy(page, 0, at, Math.min(at + pageSize, bytes.length));
      out.push(page.every((b) => b === 0) ? 'zero' : createHash('sha256').update(page).digest('hex'));
    }
    return out;
  });
  const copies = new Map<string, number>();
  const files = new Map<string, Set<number>>();
  digests.forEach((list, f) =>
    list.forEach((d) => {
      copies.set(d, (copies.get(d) ?? 0) + 1);
      if (!files.has(d)) files.set(d, new Set());
      files.get(d)!.add(f);
    }),
  );
  return digests.map((list) =>
    list.map((d) => {
      if (d === 'zero') return 'zero';
      if (list.filter((e) => e === d).length > 1) return 'shared-within';
      return files.get(d)!.size > 1 ? 'shared-across' : 'unique';
    }),
  );
}

function modelKinds(model: ReportModel): string[][] {
  return model.files.map((_, f) => Array.from(pageKinds(model, f), (k) => PAGE_KINDS[k]!));
}

function sumKinds(model: ReportModel) {
  const t = model.totals;
  return t.zero + t.unique + t.sharedWithin + t.sharedAcross;
}

describe('report model against the scanner', () => {
  it('samples/bin/tables: its .rodata table, held four times, counts as shared within the file next to tables2', async () => {
    const files = ['tables', 'tables2'].map((n) => path.join(SAMPLES, n));
    const model = await buildReportModel(files);
    expect(modelKinds(model)).toEqual(oracleKinds(files));
    // 4 pages of table, each content 4 times in each file: 16 pages shared within each file.
    expect(model.files.map((f) => f.counts.sharedWithin)).toEqual([16, 16]);
    const alone = await buildReportModel([files[0]!]);
    expect(alone.files[0]!.counts.sharedWithin).toBe(16);
  });

  it('samples/bin: zero, distinct, duplicate and shared pages equal the scan', async () => {
    const result = await scan([SAMPLES]);
    const model = await buildReportModel([SAMPLES]);
    const t = model.totals;
    expect(t.files).toBe(result.totals.files);
    expect(t.pages).toBe(result.totals.pages);
    expect(t.bytes).toBe(result.totals.bytes);
    expect(t.zero).toBe(result.totals.zeroPages);
    expect(t.distinctContents).toBe(result.totals.uniquePages);
    expect(t.duplicate).toBe(result.totals.duplicatePages);
    expect(t.savedPages).toBe(result.totals.zeroPages + result.totals.duplicatePages);
    expect(t.savedBytes).toBe(t.savedPages * PS);
    expect(sumKinds(model)).toBe(t.pages);
    // The samples have pages shared across files (tables and tables2) and no file is all unique.
    expect(t.sharedAcross).toBeGreaterThan(0);
    model.files.forEach((f, i) => {
      const s = result.files[i]!;
      expect(f.path).toBe(s.path);
      expect(f.counts.pages).toBe(s.pages);
      expect(f.counts.zero).toBe(s.zeroPages);
      expect(f.counts.duplicate).toBe(s.duplicatePages);
      expect(f.counts.sharedWithin + f.counts.sharedAcross).toBe(s.sharedPages);
      expect(f.counts.unique).toBe(s.pages - s.zeroPages - s.sharedPages);
    });
  });

  it('samples/bin: every page has the kind SHA-256 of the files gives', async () => {
    const model = await buildReportModel([SAMPLES]);
    expect(modelKinds(model)).toEqual(oracleKinds(model.files.map((f) => f.path)));
  });

  it('a hand-built set: within, across, unique and zero pages, and a zero-padded tail', async () => {
    const page = (fill: number) => Buffer.alloc(PS, fill);
    const a = path.join(dir, 'a.bin');
    const b = path.join(dir, 'b.bin');
    const c = path.join(dir, 'c.bin');
    const d = path.join(dir, 'd.bin');
    // a: X Y X 0; b: Y Z; c: W, then a 100-byte tail of zeros (padded: a zero page);
    // d: 100 bytes like Z's, padded with zeros, so not equal to Z.
    fs.writeFileSync(a, Buffer.concat([page(1), page(2), page(1), page(0)]));
    fs.writeFileSync(b, Buffer.concat([page(2), page(3)]));
    fs.writeFileSync(c, Buffer.concat([page(4), Buffer.alloc(100)]));
    fs.writeFileSync(d, Buffer.alloc(100, 3));
    const model = await buildReportModel([a, b, c, d], { allFiles: true });
    expect(modelKinds(model)).toEqual([
      ['shared-within', 'shared-across', 'shared-within', 'zero'],
      ['shared-across', 'unique'],
      ['unique', 'zero'],
      ['unique'],
    ]);
    expect(modelKinds(model)).toEqual(oracleKinds([a, b, c, d]));
    const t = model.totals;
    expect([t.zero, t.unique, t.sharedWithin, t.sharedAcross]).toEqual([2, 3, 2, 2]);
    expect(t.distinctContents).toBe(5); // X Y Z W and the padded 3s
    expect(t.duplicate).toBe(2); // the second X, and Y in b
    expect(model.files.map((f) => f.counts.savedPages)).toEqual([2, 1, 1, 0]);
    // Content table: first occurrences and files per content.
    const idOf = (f: number, p: number) => model.files[f]!.contentIds[p]!;
    const y = idOf(0, 1);
    expect(model.contents.pages[y]).toBe(2);
    expect(model.contents.files[y]).toBe(2);
    expect([model.contents.firstFile[y], model.contents.firstPage[y]]).toEqual([0, 1]);
  });

  it.skipIf(!pyelftoolsDir())('the pyelftools corpus: kinds page by page against SHA-256', async () => {
    const corpus = pyelftoolsDir()!;
    const model = await buildReportModel([corpus]);
    expect(model.files.length).toBeGreaterThan(10);
    expect(modelKinds(model)).toEqual(oracleKinds(model.files.map((f) => f.path)));
  });
  if (!pyelftoolsDir()) console.warn('skipped: pyelftools corpus not found (set PAGESTACK_SHARED or place ../shared)');

  it('16 KiB pages: kinds against SHA-256 of 16 KiB pages', async () => {
    const model = await buildReportModel([SAMPLES], { pageSize: 16384 });
    expect(model.pageSize).toBe(16384);
    expect(modelKinds(model)).toEqual(
      oracleKinds(
        model.files.map((f) => f.path),
        16384,
      ),
    );
  });
});

describe('one numbering across sources', () => {
  /** A source whose contents are pages filled with the given bytes. */
  function memorySource(fills: number[]): ContentSource {
    return {
      contentCount: fills.length,
      readContent: (id, into) => into.fill(fills[id - 1]!),
    };
  }

  it('maps equal pages of different sources to one id, different pages to different ids', async () => {
    const a = memorySource([7, 8]);
    const b = memorySource([8, 9, 7, 10]);
    const { contentCount, maps } = await unifyContents([a, b], PS);
    expect(contentCount).toBe(4);
    expect(Array.from(maps[0]!)).toEqual([0, 1, 2]);
    expect(Array.from(maps[1]!)).toEqual([0, 2, 3, 1, 4]);
  });

  it('equal contents inside one source merge, and an all-zero content is the zero page', async () => {
    const { contentCount, maps } = await unifyContents([memorySource([5, 0, 5]), memorySource([6])], PS);
    expect(contentCount).toBe(2);
    expect(Array.from(maps[0]!)).toEqual([0, 1, 0, 1]);
    expect(Array.from(maps[1]!)).toEqual([0, 2]);
  });

  it('a single source keeps its ids', async () => {
    const { contentCount, maps } = await unifyContents([memorySource([1, 2, 3])], PS);
    expect(contentCount).toBe(3);
    expect(Array.from(maps[0]!)).toEqual([0, 1, 2, 3]);
  });
});
