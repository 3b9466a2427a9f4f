/**
 * The charts of `pagestack run --html` and `--svg`:
 * for each figure of the time series (frames used, swap used, zram/zswap
 * pool RAM), one line chart with a line per policy over simulated time.
 * A scenario without tick steps has no simulated time; its charts are over
 * steps instead. `--html` puts the charts under the comparison table in one
 * self-contained page; `--svg` stacks them in one SVG document.
 */
import { comparisonTable, policyDescriptions, runNotes } from '../sim/format-run.js';
import type { RunResult } from '../sim/result.js';
import { chartPage, type PageTable } from './chart-page.js';
import { lineChart, SERIES_COLORS, type ChartSeries } from './chart.js';
import { escapeXml } from './svg.js';

interface Figure {
  title: string;
  yLabel: string;
  values: (p: RunResult['policies'][number]) => number[] | null;
}

const FIGURES: Figure[] = [
  { title: 'Frames in use', yLabel: 'frames', values: (p) => p.series.framesUsed },
  { title: 'Swap used (swap entries in use)', yLabel: 'pages', values: (p) => p.series.swapUsed },
  { title: 'Swap back end RAM (zram / zswap pool)', yLabel: 'pages', values: (p) => p.series.poolPages },
];

/** The line charts of a run, as standalone SVG documents, with their captions. Figures no policy has (no swap anywhere) are left out. */
export function runCharts(result: RunResult): Array<{ svg: string; caption: string }> {
  const byTime = result.policies.some((p) => p.timeMs > 0);
  const charts: Array<{ svg: string; caption: string }> = [];
  for (const f of FIGURES) {
    const series: ChartSeries[] = [];
    const names: string[] = [];
    for (const [i, p] of result.policies.entries()) {
      const y = f.values(p);
      if (y === null) continue;
      const x = byTime ? p.series.timeMs.map((ms) => ms / 1000) : p.series.step;
      // A policy keeps its colour in every chart, whichever policies a chart leaves out.
      const color = SERIES_COLORS[i % SERIES_COLORS.length]!;
      series.push({
        name: p.outcome.status === 'oom' ? `${p.name} (OOM)` : p.name,
        x,
        y,
        color,
        ...(i >= SERIES_COLORS.length ? { dashed: true } : {}),
      });
      names.push(p.name);
    }
    if (series.length === 0) continue;
    markIdentical(series, names);
    const svg = lineChart(series, {
      title: `${f.title}: ${result.scenario.name}`,
      xLabel: byTime ? 'simulated time (s)' : 'steps completed',
      yLabel: f.yLabel,
      xUnit: byTime ? 'seconds' : 'count',
    });
    charts.push({
      svg,
      caption: `${f.title}, per policy, after each step${byTime ? ' (x: simulated time from tick steps)' : ''}.`,
    });
  }
  return charts;
}

/** One self-contained HTML page: the comparison table, then the charts. */
export function runHtml(result: RunResult, footer?: string): string {
  const t = comparisonTable(result);
  const table: PageTable = {
    caption: `Comparison of ${result.policies.length} policies (figures at the end of each run, or at the step that ran out of memory)`,
    columns: t.header.map((label, i) => (i === 0 ? { label: 'figure' } : { label })),
    rows: t.rows,
  };
  return chartPage({
    title: `pagestack run: ${result.scenario.name}`,
    subtitle: result.scenario.description,
    charts: runCharts(result),
    table,
    definitions: {
      caption: 'Policy sets',
      items: policyDescriptions(result).map((d) => ({ term: d.name, text: d.text })),
    },
    notes: runNotes(result),
    ...(footer === undefined ? {} : { footer }),
  });
}

/**
 * A series equal to an earlier one (same points) would hide under it: its
 * legend says which it equals, and it is drawn dashed so both show.
 */
function markIdentical(series: ChartSeries[], names: readonly string[]): void {
  const same = (a: ChartSeries, b: ChartSeries): boolean =>
    a.x.length === b.x.length &&
    a.y.length === b.y.length &&
    Array.from(a.x).every((v, i) => v === b.x[i]) &&
    Array.from(a.y).every((v, i) => v === b.y[i]);
  for (let i = 1; i < series.length; i++) {
    const s = series[i]!;
    const first = series.slice(0, i).findIndex((e) => same(e, s));
    if (first < 0) continue;
    series[i] = { ...s, name: `${s.name}, same as ${names[first]}`, dashed: true };
  }
}

/** The charts stacked in one standalone SVG document. */
export function runSvg(result: RunResult): string {
  const charts = runCharts(result);
  let y = 0;
  let width = 0;
  const parts: string[] = [];
  for (const c of charts) {
    const m = /^<svg [^>]*width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(c.svg);
    if (m === null) throw new Error('internal: lineChart returned an SVG without width and height');
    const w = Number(m[1]);
    const h = Number(m[2]);
    // A nested <svg> keeps each chart's own coordinates; x/y place it.
    parts.push(c.svg.replace(/^<svg /, `<svg x="0" y="${y}" `));
    y += h;
    width = Math.max(width, w);
  }
  if (parts.length === 0) width = 720;
  const title = `pagestack run: ${result.scenario.name}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${Math.max(y, 1)}" width="${width}" height="${Math.max(y, 1)}" role="img" aria-label="${escapeXml(title)}">
<title>${escapeXml(title)}</title>
${parts.join('\n')}
</svg>
`;
}
