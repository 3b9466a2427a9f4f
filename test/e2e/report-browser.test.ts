/**
 * The report in a real browser: Debian's /usr/bin/chromium, headless,
 * driven by playwright-core, with every non-file request aborted (and
 * counted: there must be none). On the report of samples/bin:
 *
 * - the page loads with no console error and no page error;
 * - it shows the right number of files and page cells, and the page kinds
 *   the model counts;
 * - hovering a page shared across files names the other files (those the
 *   model says hold the same content), and so does the pinned panel;
 * - tables sort by a clicked header; the filter narrows the map.
 *
 * The same checks on the report of a container packed from samples/bin.
 *
 * Screenshots are saved to test-artifacts/ (gitignored): report.png (the
 * map with a tooltip), report-full.png (the whole page) and
 * report-container.png (the container's map with a tooltip).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, watchedPage } from './chromium.js';
import { pack } from '../../src/container/index.js';
import { report, type ReportModel } from '../../src/report/index.js';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** What the report page exposes as window.__pagestack, as far as this test uses it. */
interface Hooked {
  __pagestack: {
    ready: boolean;
    files: number;
    pages: number;
    cells: number;
    kinds: Record<string, number>;
    findPage(kind: string): { file: number; page: number } | null;
    reveal(file: number, page: number): { x: number; y: number };
    hitTest(x: number, y: number): { file: number; page: number } | null;
  };
}

interface Loaded {
  page: Page;
  errors: string[];
  requests: string[];
}

let dir: string;
let browser: Browser | undefined;
let model: ReportModel;
let samplesHtml: string;
let containerHtml: string;
let containerModel: ReportModel;

/** Opens a report file; collects console errors, page errors and any request that is not file:. */
async function open(file: string, viewport = { width: 1400, height: 1000 }): Promise<Loaded> {
  const { page, errors, requests } = await watchedPage(browser!, viewport);
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => (globalThis as unknown as Hooked).__pagestack?.ready === true, null, {
    timeout: 60_000,
  });
  return { page, errors, requests };
}

/** Regular files with the ELF magic directly in `dir` (what a report of the directory must show). */
function elfFilesIn(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(
      (e) =>
        e.isFile() && fs.readFileSync(path.join(dir, e.name)).subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1')),
    ).length;
}

/** The files other than `fileIndex` that hold the content of its page `page`, from the model. */
function otherFilesOf(fileIndex: number, page: number): string[] {
  const id = model.files[fileIndex]!.contentIds[page]!;
  return model.files.filter((f, i) => i !== fileIndex && f.contentIds.includes(id)).map((f) => f.path);
}

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-report-e2e-'));
  samplesHtml = path.join(dir, 'samples.html');
  model = (await report([SAMPLES], samplesHtml)).model;
  const image = path.join(dir, 'samples.pgs');
  await pack([SAMPLES], image, { threads: 0 });
  containerHtml = path.join(dir, 'container.html');
  containerModel = (await report([image], containerHtml)).model;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the report of samples/bin in Chromium', () => {
  it('loads with no console error, fetches nothing, and shows every file and page', async () => {
    const { page, errors, requests } = await open(samplesHtml);
    try {
      const shown = await page.evaluate(() => {
        const p = (globalThis as unknown as Hooked).__pagestack;
        return { files: p.files, pages: p.pages, cells: p.cells, kinds: p.kinds };
      });
      const body = page.locator('body');
      const t = model.totals;
      expect(shown.files).toBe(elfFilesIn(SAMPLES));
      expect(shown.files).toBe(model.files.length);
      expect(shown.pages).toBe(t.pages);
      expect(shown.cells).toBe(t.pages);
      expect(shown.kinds).toEqual({
        zero: t.zero,
        unique: t.unique,
        sharedWithin: t.sharedWithin,
        sharedAcross: t.sharedAcross,
      });
      expect(await body.getAttribute('data-files')).toBe(String(model.files.length));
      expect(await body.getAttribute('data-pages')).toBe(String(t.pages));
      expect(await body.getAttribute('data-cells')).toBe(String(t.pages));
      expect(await page.locator('#files-table tbody tr').count()).toBe(model.files.length);
      expect(await page.locator('#card-kind-shared-across .value').textContent()).toBe(String(t.sharedAcross));
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('hovering a page shared across files names the other files; clicking pins them in the panel', async () => {
    const { page, errors } = await open(samplesHtml);
    try {
      const target = await page.evaluate(() => (globalThis as unknown as Hooked).__pagestack.findPage('shared-across'));
      expect(target).not.toBeNull();
      const others = otherFilesOf(target!.file, target!.page);
      expect(others.length).toBeGreaterThan(0);

      const point = await page.evaluate(
        (t) => (globalThis as unknown as Hooked).__pagestack.reveal(t.file, t.page),
        target!,
      );
      await page.mouse.move(point.x, point.y);
      const tooltip = page.locator('#tooltip');
      await expect.poll(() => tooltip.isVisible()).toBe(true);
      const text = (await tooltip.textContent()) ?? '';
      expect(text).toContain(model.files[target!.file]!.path);
      expect(text).toContain('shared across files');
      for (const other of others) expect(text).toContain(other);
      expect(text).toMatch(/segmentLOAD\[\d+\] r/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png') });

      await page.mouse.click(point.x, point.y);
      const detail = page.locator('#detail');
      await expect.poll(() => detail.textContent()).toContain(others[0]!);
      // A file named in the panel is a button that jumps to its page and pins it.
      await detail.getByRole('button', { name: others[0]! }).click();
      await expect.poll(() => detail.locator('h3').textContent()).toBe(others[0]!);
      await page.keyboard.press('Escape');
      await expect.poll(() => detail.textContent()).toContain('Unpinned');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('hovering a zero page and a file label says what they are', async () => {
    const { page, errors } = await open(samplesHtml);
    try {
      const zero = (await page.evaluate(() => (globalThis as unknown as Hooked).__pagestack.findPage('zero')))!;
      expect(model.files[zero.file]!.contentIds[zero.page]).toBe(0);
      const point = await page.evaluate(
        (t) => (globalThis as unknown as Hooked).__pagestack.reveal(t.file, t.page),
        zero,
      );
      await page.mouse.move(point.x, point.y);
      await expect.poll(() => page.locator('#tooltip').textContent()).toContain('All bytes zero');
      // The label column: left of the cells, level with the file's first row.
      const firstRow = await page.evaluate(
        (t) => (globalThis as unknown as Hooked).__pagestack.reveal(t.file, 0),
        zero,
      );
      const box = (await page.locator('#map').boundingBox())!;
      await page.mouse.move(box.x + 40, firstRow.y);
      const hit = await page.evaluate(
        ([x, y]) => (globalThis as unknown as Hooked).__pagestack.hitTest(x!, y!),
        [box.x + 40, firstRow.y],
      );
      expect(hit).toEqual({ file: zero.file, page: -1 });
      await expect.poll(() => page.locator('#tooltip').textContent()).toContain(`saves`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('tables sort by a clicked header; the filter narrows the map', async () => {
    const { page, errors } = await open(samplesHtml);
    try {
      const pagesColumn = async () =>
        page.$$eval('#files-table tbody tr', (rows) =>
          rows.map((r) =>
            Number((r as unknown as { cells: Array<{ textContent: string }> }).cells[3]!.textContent.replace(/,/g, '')),
          ),
        );
      await page.locator('#files-table th button', { hasText: /^Pages$/ }).click();
      const descending = await pagesColumn();
      expect(descending).toEqual([...descending].sort((a, b) => b - a));
      expect(await page.locator('#files-table th[aria-sort="descending"]').textContent()).toBe('Pages');
      await page.locator('#files-table th button', { hasText: /^Pages$/ }).click();
      const ascending = await pagesColumn();
      expect(ascending).toEqual([...descending].reverse());

      await page.locator('#filter').fill('tables');
      const expected = model.files
        .filter((f) => f.path.includes('tables'))
        .reduce((n, f) => n + f.contentIds.length, 0);
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as Hooked).__pagestack.cells)).toBe(expected);
      await page.locator('#filter').fill('');
      await expect
        .poll(() => page.evaluate(() => (globalThis as unknown as Hooked).__pagestack.cells))
        .toBe(model.totals.pages);

      // Another order, cell size and window size: relaid out, every page still there and hit where drawn.
      await page.locator('#order').selectOption('saved');
      await page.locator('#cell-size').selectOption('3');
      await page.setViewportSize({ width: 900, height: 700 });
      const last = model.files.length - 1;
      const lastPage = model.files[last]!.contentIds.length - 1;
      const at = await page.evaluate(
        ([f, p]) => (globalThis as unknown as Hooked).__pagestack.reveal(f!, p!),
        [last, lastPage],
      );
      expect(
        await page.evaluate(([x, y]) => (globalThis as unknown as Hooked).__pagestack.hitTest(x!, y!), [at.x, at.y]),
      ).toEqual({ file: last, page: lastPage });
      expect(await page.evaluate(() => (globalThis as unknown as Hooked).__pagestack.cells)).toBe(model.totals.pages);
      await page.setViewportSize({ width: 1400, height: 1000 });
      await page.locator('#order').selectOption('input');
      await page.locator('#cell-size').selectOption('auto');
      await page.screenshot({ path: path.join(ARTIFACTS, 'report-full.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe.skipIf(!hasChromium)('the report of a sample container in Chromium', () => {
  it('shows every member and page, and hovering a shared page names the other members', async () => {
    const { page, errors, requests } = await open(containerHtml);
    try {
      const shown = await page.evaluate(() => {
        const p = (globalThis as unknown as Hooked).__pagestack;
        return { files: p.files, pages: p.pages, cells: p.cells, kinds: p.kinds };
      });
      const t = containerModel.totals;
      expect(shown.files).toBe(elfFilesIn(SAMPLES));
      expect(shown.pages).toBe(t.pages);
      expect(shown.cells).toBe(t.pages);
      expect(shown.kinds).toEqual({
        zero: t.zero,
        unique: t.unique,
        sharedWithin: t.sharedWithin,
        sharedAcross: t.sharedAcross,
      });
      const target = (await page.evaluate(() =>
        (globalThis as unknown as Hooked).__pagestack.findPage('shared-across'),
      ))!;
      const id = containerModel.files[target.file]!.contentIds[target.page]!;
      const others = containerModel.files
        .filter((f, i) => i !== target.file && f.contentIds.includes(id))
        .map((f) => f.path);
      expect(others.length).toBeGreaterThan(0);
      const point = await page.evaluate(
        (t) => (globalThis as unknown as Hooked).__pagestack.reveal(t.file, t.page),
        target,
      );
      await page.mouse.move(point.x, point.y);
      await expect.poll(() => page.locator('#tooltip').isVisible()).toBe(true);
      const text = (await page.locator('#tooltip').textContent()) ?? '';
      for (const other of others) expect(text).toContain(other);
      expect(text).toMatch(/segmentLOAD\[\d+\] r/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'report-container.png') });
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
