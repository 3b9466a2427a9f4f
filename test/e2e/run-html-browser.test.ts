/**
 * `pagestack run --html` in a real browser (Debian's /usr/bin/chromium,
 * headless, through playwright-core, every non-file request aborted): the
 * page loads with no console or page error, fetches nothing, and its
 * comparison table sorts by a clicked header, numbers as numbers, and the
 * other way round when clicked again (the script in
 * src/report/client/sort-table.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, watchedPage } from './chromium.js';
import { runCli } from '../sim-helpers.js';

const SCENARIO = path.resolve(__dirname, '../../samples/scenarios/sharing.json');

let dir = '';
let browser: Browser | undefined;
let html = '';

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-run-e2e-'));
  html = path.join(dir, 'run.html');
  const r = await runCli('run', SCENARIO, '--html', html);
  if (r.status !== 0) throw new Error(`run --html failed: ${r.stderr}`);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('run --html in Chromium', () => {
  it('loads cleanly and sorts its table by a clicked header, both ways', async () => {
    const { page, errors, requests } = await watchedPage(browser!);
    try {
      await page.goto(`file://${html}`);
      const table = page.locator('table.sortable').first();
      const headers = table.locator('thead th');
      const count = await headers.count();
      expect(count).toBeGreaterThanOrEqual(2);
      // The last column is a policy set's numbers; sort the rows by it.
      const column = count - 1;
      const values = async (): Promise<string[]> =>
        table
          .locator(`tbody tr td:nth-child(${column + 1})`)
          .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-value') ?? c.textContent ?? ''));
      const before = await values();
      expect(before.length).toBeGreaterThan(2);
      // What a reader sees as the cell's number ("1,123 kB" is 1123); cells with none are left out.
      const numeric = (list: string[]) =>
        list
          .map((v) => Number(/^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)/.exec(v)?.[1]?.replaceAll(',', '') ?? 'x'))
          .filter((n) => !Number.isNaN(n));
      await headers.nth(column).locator('button').click();
      const first = await headers.nth(column).getAttribute('aria-sort');
      expect(first === 'ascending' || first === 'descending').toBe(true);
      const once = numeric(await values());
      const sorted = [...once].sort((a, b) => (first === 'ascending' ? a - b : b - a));
      expect(once).toEqual(sorted);
      await headers.nth(column).locator('button').click();
      expect(await headers.nth(column).getAttribute('aria-sort')).toBe(
        first === 'ascending' ? 'descending' : 'ascending',
      );
      const twice = numeric(await values());
      expect(twice).toEqual([...once].sort((a, b) => (first === 'ascending' ? b - a : a - b)));
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
