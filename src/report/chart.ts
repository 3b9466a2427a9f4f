/**
 * Line charts as SVG strings, for the simulator's `--svg` and `--html`
 * output: several named series over simulated time
 * (x) of frames, bytes or any count (y), with axes, ticks, gridlines, axis
 * labels and a legend. A pure function: same input, same bytes; the SVG is
 * a standalone XML document (namespace declared, every text escaped), so
 * it can be written to a .svg file or inlined into HTML.
 *
 * Long series are thinned per pixel column, keeping the first, lowest,
 * highest and last point of each column, so a spike is never lost and a
 * 1M-sample series draws as ~4 points per pixel.
 */
import { escapeXml, niceTicks, px, tickLabel, type TickUnit } from './svg.js';

export interface ChartSeries {
  name: string;
  /** x values (simulated time), ascending. */
  x: ArrayLike<number>;
  /** y values, one per x. */
  y: ArrayLike<number>;
  /** CSS colour; default: the next colour of the palette. */
  color?: string;
  /** Draw dashed (e.g. a limit or a second policy's baseline). */
  dashed?: boolean;
}

export type AxisUnit = TickUnit | 'seconds';

export interface LineChartOptions {
  title: string;
  /** Axis labels, e.g. 'simulated time (s)' and 'frames'. */
  xLabel: string;
  yLabel: string;
  /** How tick values read: 'count' (1.5k, 2M), 'bytes' (256 KiB, 1 MiB) or 'seconds' (x only). Default 'count'. */
  xUnit?: AxisUnit;
  yUnit?: TickUnit;
  /** Values hold until the next sample (counters such as frames in use): draw steps, not slopes. Default true. */
  step?: boolean;
  /** Size in SVG units; the drawing scales to its box. Default 720 x 340. */
  width?: number;
  height?: number;
}

/** Okabe-Ito colours (distinguishable with common colour-vision deficiencies), black and a darkened yellow last. */
export const SERIES_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#000000', '#b8a200'];

const MARGIN = { left: 74, right: 20, top: 44, bottom: 76 };
const LEGEND_ROW = 20;
const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif"`;

export function lineChart(series: readonly ChartSeries[], options: LineChartOptions): string {
  const width = options.width ?? 720;
  const step = options.step ?? true;
  const xUnit = options.xUnit ?? 'count';
  const yUnit = options.yUnit ?? 'count';
  for (const s of series) {
    if (s.x.length !== s.y.length)
      throw new RangeError(`series '${s.name}': ${s.x.length} x values but ${s.y.length} y values`);
  }
  const legendRows = legendLayout(series, width);
  const height = (options.height ?? 340) + (legendRows.length - 1) * LEGEND_ROW;
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    right: width - MARGIN.right,
    bottom: height - MARGIN.bottom - (legendRows.length - 1) * LEGEND_ROW,
  };
  const plotWidth = plot.right - plot.left;
  const plotHeight = plot.bottom - plot.top;

  const range = dataRange(series);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}" ${FONT} font-size="13">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${plot.left}" y="24" font-size="15" font-weight="600" fill="#1c2430">${escapeXml(options.title)}</text>`,
  );

  const xTicks = range ? niceTicks(range.xMin, range.xMax, 6, xUnit === 'bytes' ? 'bytes' : 'count') : [0, 1];
  const yTicks = range ? niceTicks(Math.min(0, range.yMin), Math.max(range.yMax, 0), 5, yUnit) : [0, 1];
  const x0 = range ? range.xMin : 0;
  const x1 = range && range.xMax > range.xMin ? range.xMax : x0 + 1;
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const sx = (v: number) => plot.left + ((v - x0) / (x1 - x0)) * plotWidth;
  const sy = (v: number) => plot.bottom - ((v - y0) / (y1 - y0)) * plotHeight;

  out.push('<g class="grid" stroke="#e2e6eb" stroke-width="1">');
  for (const t of yTicks) out.push(`<line x1="${plot.left}" y1="${px(sy(t))}" x2="${plot.right}" y2="${px(sy(t))}"/>`);
  out.push('</g>');
  out.push('<g class="y-axis" fill="#5f6b7a" font-size="12" text-anchor="end">');
  for (const t of yTicks)
    out.push(`<text x="${plot.left - 8}" y="${px(sy(t) + 4)}">${escapeXml(tickLabel(t, yUnit))}</text>`);
  out.push('</g>');
  out.push('<g class="x-axis" fill="#5f6b7a" font-size="12" text-anchor="middle">');
  for (const t of xTicks) {
    if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
    out.push(
      `<line x1="${px(sx(t))}" y1="${plot.bottom}" x2="${px(sx(t))}" y2="${plot.bottom + 5}" stroke="#5f6b7a"/>`,
    );
    out.push(`<text x="${px(sx(t))}" y="${plot.bottom + 19}">${escapeXml(xTickLabel(t, xUnit))}</text>`);
  }
  out.push('</g>');
  out.push(`<line x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}" stroke="#5f6b7a"/>`);
  out.push(`<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}" stroke="#5f6b7a"/>`);
  out.push(
    `<text class="x-label" x="${px(plot.left + plotWidth / 2)}" y="${plot.bottom + 40}" text-anchor="middle" fill="#1c2430">${escapeXml(options.xLabel)}</text>`,
  );
  out.push(
    `<text class="y-label" transform="translate(18 ${px(plot.top + plotHeight / 2)}) rotate(-90)" text-anchor="middle" fill="#1c2430">${escapeXml(options.yLabel)}</text>`,
  );

  if (!range) {
    out.push(
      `<text x="${px(plot.left + plotWidth / 2)}" y="${px(plot.top + plotHeight / 2)}" text-anchor="middle" fill="#5f6b7a">no data</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = colorOf(s, i);
    const points = thin(project(s, step, sx, sy), plot.left, plotWidth);
    if (points.length === 0) return;
    const d = points.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p[0])} ${px(p[1])}`).join('');
    out.push(
      `<path class="series" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${escapeXml(color)}" stroke-width="2" stroke-linejoin="round"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></path>`,
    );
  });

  out.push('<g class="legend" font-size="13" fill="#1c2430">');
  legendRows.forEach((row, r) => {
    const y = height - 14 - (legendRows.length - 1 - r) * LEGEND_ROW;
    for (const item of row) {
      const s = series[item.index]!;
      out.push(
        `<line x1="${item.x}" y1="${y - 4}" x2="${item.x + 18}" y2="${y - 4}" stroke="${escapeXml(colorOf(s, item.index))}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      );
      out.push(`<text x="${item.x + 24}" y="${y}">${escapeXml(s.name)}</text>`);
    }
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n');
}

function colorOf(s: ChartSeries, index: number): string {
  return s.color ?? SERIES_COLORS[index % SERIES_COLORS.length]!;
}

function xTickLabel(v: number, unit: AxisUnit): string {
  return unit === 'seconds' ? `${tickLabel(v, 'count')} s` : tickLabel(v, unit);
}

interface Range {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Bounds of all finite points, or undefined when there are none. */
function dataRange(series: readonly ChartSeries[]): Range | undefined {
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }
  return xMin === Infinity ? undefined : { xMin, xMax, yMin, yMax };
}

/** Screen points of a series (non-finite samples skipped); as steps when `step`. */
function project(
  s: ChartSeries,
  step: boolean,
  sx: (v: number) => number,
  sy: (v: number) => number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let lastY: number | undefined;
  for (let i = 0; i < s.x.length; i++) {
    const x = s.x[i]!;
    const y = s.y[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (step && lastY !== undefined) out.push([sx(x), lastY]);
    lastY = sy(y);
    out.push([sx(x), lastY]);
  }
  return out;
}

/** At most ~4 points per pixel column: first, lowest, highest and last, in drawing order. */
function thin(points: Array<[number, number]>, left: number, plotWidth: number): Array<[number, number]> {
  if (points.length <= 4 * plotWidth) return points;
  const out: Array<[number, number]> = [];
  let column = NaN;
  let bucket: Array<[number, number]> = [];
  const flush = () => {
    if (bucket.length === 0) return;
    let low = bucket[0]!;
    let high = bucket[0]!;
    for (const p of bucket) {
      if (p[1] > low[1]) low = p; // screen y grows downwards
      if (p[1] < high[1]) high = p;
    }
    const keep = new Set([bucket[0]!, low, high, bucket[bucket.length - 1]!]);
    for (const p of bucket) if (keep.has(p)) out.push(p);
    bucket = [];
  };
  for (const p of points) {
    const c = Math.floor(p[0] - left);
    if (c !== column) {
      flush();
      column = c;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

interface LegendItem {
  index: number;
  x: number;
}

/** Legend items laid out in rows that fit the width (text width estimated at 7.5 units a character). */
function legendLayout(series: readonly ChartSeries[], width: number): LegendItem[][] {
  const rows: LegendItem[][] = [[]];
  let x = MARGIN.left;
  series.forEach((s, index) => {
    const itemWidth = 24 + s.name.length * 7.5 + 20;
    if (x + itemWidth > width - MARGIN.right && rows[rows.length - 1]!.length > 0) {
      rows.push([]);
      x = MARGIN.left;
    }
    rows[rows.length - 1]!.push({ index, x });
    x += itemWidth;
  });
  return rows;
}
