/**
 * `npm run bench -- report INPUT... [--page-size N] [--runs N] [--keep FILE]`
 *
 * Builds the report of INPUT (scan + model, HTML rendering, write) and
 * prints its size, then, when /usr/bin/chromium exists, opens it `runs`
 * times (default 3) in headless Chromium with no network and measures:
 *
 * - first contentful paint (the browser's own PerformancePaintTiming);
 * - map drawn: when the page script has parsed the data, indexed every
 *   page and drawn the visible part of the page map (the first paint of
 *   what the report is for);
 * - ready: tables built as well;
 * - one frame of the map at 20 scroll positions (mean and worst), and the
 *   hover handler on 300 random pages (hit test and tooltip, mean and worst).
 *
 * The best run counts (the machine may be shared). Figures are wall time on
 * this machine; compare them with the page-load budget people notice
 * (~100 ms for a reaction, ~1 s for a page), not with another tool.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { report } from '../report/report.js';
import { formatBytes, formatCount, formatPercent } from '../report/svg.js';
import { parsePageSize } from '../abi/page-size.js';
import { seededRandom } from '../util/prng.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface PageTimes {
  fcp: number;
  mapDrawn: number;
  ready: number;
  script: { index: number; map: number; tables: number };
  scrollFrameMean: number;
  scrollFrameMax: number;
  hoverMean: number;
  hoverMax: number;
}

export async function benchReport(args: string[]): Promise<void> {
  const { inputs, pageSize, runs, keep } = parseArgs(args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-bench-report-'));
  const output = keep ?? path.join(dir, 'report.html');
  try {
    const started = performance.now();
    const summary = await report(inputs, output, { pageSize });
    const buildMs = performance.now() - started;
    const t = summary.model.totals;
    console.log(
      `report of ${inputs.join(' ')}: ${formatCount(t.files)} files, ${formatBytes(t.bytes)}, ${formatCount(t.pages)} pages of ${summary.model.pageSize / 1024} KiB`,
    );
    console.log(
      `  zero ${formatCount(t.zero)}, unique ${formatCount(t.unique)}, shared within a file ${formatCount(t.sharedWithin)}, shared across files ${formatCount(t.sharedAcross)}`,
    );
    console.log(
      `  distinct non-zero ${formatCount(t.distinctContents)}, duplicate ${formatCount(t.duplicate)}; dedup saves ${formatBytes(t.savedBytes)} (${formatPercent(t.savedPages, t.pages)})`,
    );
    console.log(
      `  built and written in ${ms(buildMs)} (scan included): ${formatBytes(summary.bytes)} of HTML, ${(summary.bytes / Math.max(1, t.pages)).toFixed(1)} bytes a page`,
    );
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`  browser timings skipped: ${CHROMIUM} not found`);
      return;
    }
    const times = await measureInChromium(output, runs);
    const best = (get: (t: PageTimes) => number) => Math.min(...times.map(get));
    console.log(`  in Chromium (best of ${runs}, 1400x1000 viewport):`);
    console.log(`    first contentful paint   ${ms(best((x) => x.fcp))}`);
    console.log(
      `    page map drawn           ${ms(best((x) => x.mapDrawn))}  (script: data indexed in ${ms(best((x) => x.script.index))}, first draw ${ms(best((x) => x.script.map))})`,
    );
    console.log(
      `    tables built (ready)     ${ms(best((x) => x.ready))}  (${ms(best((x) => x.script.tables))} in the script)`,
    );
    console.log(
      `    one map frame, scrolled  mean ${ms(best((x) => x.scrollFrameMean))}, worst ${ms(best((x) => x.scrollFrameMax))}`,
    );
    console.log(
      `    hover (hit + tooltip)    mean ${ms(best((x) => x.hoverMean))}, worst ${ms(best((x) => x.hoverMax))}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const run = benchReport;

async function measureInChromium(file: string, runs: number): Promise<PageTimes[]> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const out: PageTimes[] = [];
    for (let r = 0; r < runs; r++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file:') ? route.continue() : route.abort(),
      );
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => (globalThis as unknown as Hooked).__pagestack?.ready === true, null, {
        timeout: 120_000,
      });
      out.push(await page.evaluate(inPage));
      await page.close();
    }
    return out;
  } finally {
    await browser.close();
  }
}

interface Hooked {
  __pagestack: {
    ready: boolean;
    pages: number;
    files: number;
    firstPaintMs: number;
    readyMs: number;
    lastDrawMs: number;
    timings: { index: number; map: number; tables: number };
    reveal(file: number, page: number): { x: number; y: number };
    describe(file: number, page: number): unknown;
  };
}

/** Runs in the page. */
async function inPage(): Promise<PageTimes> {
  const g = globalThis as unknown as Hooked & {
    performance: { getEntriesByName(name: string): Array<{ startTime: number }>; now(): number };
    document: {
      getElementById(id: string): { scrollTop: number; scrollHeight: number; dispatchEvent(e: unknown): void };
    };
    requestAnimationFrame(cb: () => void): void;
    MouseEvent: new (type: string, init: { clientX: number; clientY: number; bubbles: boolean }) => unknown;
  };
  const p = g.__pagestack;
  const frame = () => new Promise<void>((resolve) => g.requestAnimationFrame(() => resolve()));
  const scroller = g.document.getElementById('map-scroll');
  const canvas = g.document.getElementById('map');
  const frames: number[] = [];
  for (let i = 1; i <= 20; i++) {
    scroller.scrollTop = Math.round((scroller.scrollHeight * i) / 21);
    await frame();
    await frame();
    frames.push(p.lastDrawMs);
  }
  // Random pages (fixed seed): reveal each, then time the mousemove handler alone.
  const hovers: number[] = [];
  const random = seededRandom(12345);
  const starts: number[] = [];
  const fileOf = (n: number) => {
    let lo = 0;
    while (lo + 1 < starts.length && starts[lo + 1]! <= n) lo++;
    return lo;
  };
  const sizes = (
    g as unknown as { document: { getElementById(id: string): { textContent: string } } }
  ).document.getElementById('pagestack-data').textContent;
  const files = (JSON.parse(sizes) as { files: Array<{ pages: number }> }).files;
  let total = 0;
  for (const f of files) {
    starts.push(total);
    total += f.pages;
  }
  for (let i = 0; i < 300 && total > 0; i++) {
    const n = Math.floor(random() * total);
    const f = fileOf(n);
    const at = p.reveal(f, n - starts[f]!);
    const t0 = g.performance.now();
    canvas.dispatchEvent(new g.MouseEvent('mousemove', { clientX: at.x, clientY: at.y, bubbles: true }));
    hovers.push(g.performance.now() - t0);
  }
  const fcp = g.performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
  return {
    fcp,
    mapDrawn: p.firstPaintMs,
    ready: p.readyMs,
    script: p.timings,
    scrollFrameMean: mean(frames),
    scrollFrameMax: Math.max(...frames),
    hoverMean: mean(hovers),
    hoverMax: Math.max(0, ...hovers),
  };
}

function ms(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(v < 10 ? 1 : 0)} ms` : 'n/a';
}

function parseArgs(args: string[]): { inputs: string[]; pageSize?: number; runs: number; keep?: string } {
  const inputs: string[] = [];
  let pageSize: number | undefined;
  let runs = 3;
  let keep: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--page-size' || a === '-p') pageSize = parsePageSize(args[++i] ?? '');
    else if (a === '--runs') {
      runs = Number(args[++i]);
      if (!Number.isInteger(runs) || runs < 1)
        throw new UsageError('bench report: --runs must be a positive whole number');
    } else if (a === '--keep') keep = args[++i];
    else if (a.startsWith('-'))
      throw new UsageError(`bench report: unknown option ${a} (use INPUT... [--page-size N] [--runs N] [--keep FILE])`);
    else inputs.push(a);
  }
  if (inputs.length === 0)
    throw new UsageError('bench report: name what to report on, e.g. npm run bench -- report /usr/bin');
  return { inputs, pageSize, runs, keep };
}
