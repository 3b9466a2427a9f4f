/**
 * The SVG line charts (chart.ts) and the charts page (chart-page.ts) the
 * simulator will use: well-formed XML (checked by Python's XML parser, not
 * by us), one path per series, axis labels, ticks and legend, escaping,
 * thinning of long series without losing a spike, and the page wrapper.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chartPage, lineChart, SERIES_COLORS, type ChartSeries } from '../src/report/index.js';
import { niceTicks } from '../src/report/svg.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('skipped: python3 not found (XML well-formedness checks)');

/** Parses with Python's ElementTree; returns the tag names (namespace stripped) and texts. */
function parseXml(text: string): { tags: string[]; texts: string[] } {
  const script = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
tags = [e.tag.split('}')[-1] for e in root.iter()]
texts = [e.text for e in root.iter() if e.text and e.text.strip()]
print(json.dumps({'tags': tags, 'texts': texts}))`;
  const r = spawnSync('python3', ['-c', script], { input: text });
  if (r.status !== 0) throw new Error(`not well-formed XML: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as { tags: string[]; texts: string[] };
}

const time = Array.from({ length: 11 }, (_, i) => i * 0.5);
const series: ChartSeries[] = [
  { name: 'no sharing', x: time, y: time.map((t) => 1000 + 200 * t) },
  { name: 'share map', x: time, y: time.map((t) => 600 + 120 * t) },
  { name: 'share map + KSM', x: time, y: time.map((t) => 600 + 80 * t), dashed: true },
];
const options = { title: 'Frames in use', xLabel: 'simulated time (s)', yLabel: 'frames', xUnit: 'seconds' as const };

describe('lineChart', () => {
  it.skipIf(!hasPython)('is well-formed XML with one path per series, axis labels and a legend', () => {
    const svg = lineChart(series, options);
    const { tags, texts } = parseXml(svg);
    expect(tags[0]).toBe('svg');
    expect(svg.match(/<path class="series"/g)).toHaveLength(3);
    expect(texts).toContain('Frames in use');
    expect(texts).toContain('simulated time (s)');
    expect(texts).toContain('frames');
    for (const s of series) expect(texts.filter((t) => t === s.name).length).toBeGreaterThanOrEqual(1);
    // x ticks in seconds across [0, 5]; y ticks from 0 to at least the largest value (2000).
    expect(texts).toContain('0 s');
    expect(texts).toContain('5 s');
    expect(texts).toContain('0');
    expect(texts).toContain('2,000');
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain(SERIES_COLORS[0]);
  });

  it.skipIf(!hasPython)('escapes names and labels', () => {
    const svg = lineChart([{ name: 'a < b & "c"', x: [0, 1], y: [1, 2] }], { ...options, title: '<script>x</script>' });
    const { texts } = parseXml(svg);
    expect(texts).toContain('a < b & "c"');
    expect(texts).toContain('<script>x</script>');
    expect(svg).not.toContain('<script>');
  });

  it('bytes on the y axis: ticks at binary units', () => {
    const svg = lineChart([{ name: 'zram pool', x: [0, 1, 2], y: [0, 3 << 20, 5 << 20] }], {
      ...options,
      yLabel: 'bytes',
      yUnit: 'bytes',
    });
    expect(svg).toContain('>4 MiB<');
    expect(svg).toContain('>0 B<');
  });

  it('steps by default (a counter holds until the next sample); slopes with step: false', () => {
    const one = [{ name: 's', x: [0, 1, 2], y: [0, 10, 5] }];
    const stepped = /<path class="series"[^>]* d="([^"]+)"/.exec(lineChart(one, options))![1]!;
    const sloped = /<path class="series"[^>]* d="([^"]+)"/.exec(lineChart(one, { ...options, step: false }))![1]!;
    expect(stepped.split('L')).toHaveLength(5); // M + 4 L: 3 samples, 2 risers
    expect(sloped.split('L')).toHaveLength(3);
  });

  it('thins a million samples to a few per pixel and keeps a one-sample spike', () => {
    const n = 1_000_000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = i;
      y[i] = 100 + (i % 7);
    }
    y[654_321] = 10_000;
    const svg = lineChart([{ name: 'frames', x, y }], { ...options, step: false });
    const d = /<path class="series"[^>]* d="([^"]+)"/.exec(svg)![1]!;
    const points = d
      .split(/[ML]/)
      .filter(Boolean)
      .map((p) => p.split(' ').map(Number));
    expect(points.length).toBeLessThan(4 * 720);
    const top = Math.min(...points.map((p) => p[1]!));
    expect(top).toBeLessThan(60); // the spike reaches the top of the plot
    expect(svg.length).toBeLessThan(100_000);
  });

  it('skips non-finite samples; no data at all draws the axes and says so', () => {
    const svg = lineChart([{ name: 'gaps', x: [0, 1, 2, 3], y: [1, NaN, Infinity, 2] }], options);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const empty = lineChart([{ name: 'none', x: [], y: [] }], options);
    expect(empty).toContain('>no data<');
    expect(empty.match(/<path class="series"/g)).toBeNull();
  });

  it('refuses a series whose x and y differ in length', () => {
    expect(() => lineChart([{ name: 'bad', x: [0, 1], y: [1] }], options)).toThrow(/2 x values but 1 y values/);
  });

  it('many series: the legend wraps onto more rows and the chart grows', () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `policy number ${i}`, x: [0, 1], y: [i, i + 1] }));
    const height = (svg: string) => Number(/viewBox="0 0 \d+ (\d+)"/.exec(svg)![1]);
    expect(height(lineChart(many, options))).toBeGreaterThan(height(lineChart(many.slice(0, 2), options)));
  });
});

describe('niceTicks', () => {
  it('steps of 1, 2 or 5 times a power of ten, covering the range', () => {
    expect(niceTicks(0, 2000, 5)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceTicks(0, 0.9, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3, 3.2, 3.4, 3.6, 3.8, 4]);
  });
  it('binary steps for bytes', () => {
    expect(niceTicks(0, 6 << 20, 5, 'bytes')).toEqual([0, 2 << 20, 4 << 20, 6 << 20]);
    expect(niceTicks(0, 3000, 4, 'bytes')).toEqual([0, 1024, 2048, 3072]);
  });
});

describe('chartPage', () => {
  const svg = lineChart(series, options);
  const page = chartPage({
    title: 'pagestack run: boot-storm',
    subtitle: '3 policies',
    charts: [
      { svg, caption: 'frames' },
      { svg, caption: 'swap' },
    ],
    table: {
      caption: 'Comparison',
      columns: [
        { label: 'policy' },
        { label: 'Rss', numeric: true },
        { label: 'Pss', numeric: true, title: 'proportional set size' },
      ],
      rows: [
        ['no sharing', 123456, 123456],
        ['share map', 65432, 40000],
      ],
    },
    footer: 'pagestack 0.1.0',
  });

  it('holds every chart and the table, sortable by header, and nothing from the network', () => {
    expect(page.match(/<svg /g)).toHaveLength(2);
    expect(page.match(/<figcaption>/g)).toHaveLength(2);
    expect(page.match(/<tr>/g)).toHaveLength(3);
    expect(page).toContain('data-value="123456">123,456<');
    expect(page).toContain('title="proportional set size"');
    expect(page).toMatch(/<script>[\s\S]*aria-sort[\s\S]*<\/script>/);
    const refs = [...page.matchAll(/\b(src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[2]!);
    for (const ref of refs) expect(ref).toMatch(/^data:/);
    const script = /<script>([\s\S]*)<\/script>/.exec(page)![1]!;
    expect(() => new Function(script)).not.toThrow();
  });

  it('refuses a table row with the wrong number of cells', () => {
    expect(() => chartPage({ title: 't', charts: [], table: { columns: [{ label: 'a' }], rows: [['x', 1]] } })).toThrow(
      /2 cells for 1 columns/,
    );
  });
});
