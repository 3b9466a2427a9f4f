/**
 * `pagestack run --html` in Chromium (headless, through playwright-core,
 * no network): what a reader sees — each policy set with what it means,
 * the out-of-memory notes, and lines on one chart that can be told apart
 * (each its own colour; a line identical to another dashed and named so).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, watchedPage } from './chromium.js';
import { runCli } from '../sim-helpers.js';

const BIN = path.resolve(__dirname, '../../samples/bin');
let dir = '';
let html = '';
let text = '';
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-run-policies-e2e-'));
  const scenario = path.join(dir, 'same.json');
  fs.writeFileSync(
    scenario,
    JSON.stringify({
      version: 1,
      name: 'same',
      machine: { frames: 4096, frameLimit: 40 },
      programs: { hello: path.join(BIN, 'hello') },
      policies: [{ name: 'plain' }, { name: 'ksm-idle', ksm: true }, { name: 'roomy', frameLimit: 4096 }],
      steps: [
        { op: 'exec', proc: 'a', program: 'hello' },
        { op: 'mmap', proc: 'a', name: 'm', length: '64 pages' },
        { op: 'write', proc: 'a', region: 'm', data: { byte: 1 } },
        { op: 'tick', ms: 10 },
      ],
    }),
  );
  html = path.join(dir, 'run.html');
  const r = await runCli('run', scenario, '--html', html);
  if (r.status !== 0) throw new Error(`run --html failed: ${r.stderr}`);
  text = r.stdout;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('run --html in Chromium: policies, OOM, series', () => {
  it('shows each policy set with its meaning, the OOM notes, and lines told apart', async () => {
    const { page, errors } = await watchedPage(browser!);
    try {
      await page.goto(`file://${html}`);
      const terms = await page.locator('section.definitions dt').allTextContents();
      expect(terms).toEqual(['plain', 'ksm-idle', 'roomy']);
      for (const dd of await page.locator('section.definitions dd').allTextContents()) expect(text).toContain(dd);
      expect(await page.locator('section.definitions').isVisible()).toBe(true);
      const notes = await page.locator('ul.notes li').allTextContents();
      expect(notes).toHaveLength(2);
      for (const n of notes) expect(text).toContain(n);
      expect(await page.locator('ul.notes').isVisible()).toBe(true);
      // The frames chart: what the browser draws for each line.
      const drawn = await page
        .locator('figure')
        .first()
        .locator('path.series')
        .evaluateAll((paths) =>
          paths.map((p) => {
            const style = (
              globalThis as unknown as { getComputedStyle(e: unknown): { stroke: string; strokeDasharray: string } }
            ).getComputedStyle(p);
            return {
              name: p.getAttribute('data-series'),
              stroke: style.stroke,
              dashed: style.strokeDasharray !== 'none',
            };
          }),
        );
      expect(drawn.map((d) => d.name)).toEqual(['plain (OOM)', 'ksm-idle (OOM), same as plain', 'roomy']);
      expect(new Set(drawn.map((d) => d.stroke)).size).toBe(3);
      expect(drawn.map((d) => d.dashed)).toEqual([false, true, false]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
