/**
 * The per-file savings chart of the report: one horizontal bar per file,
 * the bytes a page-deduplicating store saves on it, split into zero pages
 * and duplicate pages (copies of a page stored earlier), largest first.
 * A pure function returning an SVG string (no script needed to see it).
 */
import type { ReportFile } from './model.js';
import { SAVED_DUPLICATE_COLOR, SAVED_ZERO_COLOR } from './style.js';
import { commonDirectory, escapeXml, formatBytes, formatPercent, niceTicks, px, tickLabel } from './svg.js';

export interface SavingsChartOptions {
  /** Most files shown (default 20); the rest are summed in one line below the bars. */
  limit?: number;
  /** Width of the drawing in SVG units (default 960; the SVG scales to its box). */
  width?: number;
}

const ROW = 24;
const BAR = 15;
const LABEL_WIDTH = 290;
const VALUE_WIDTH = 150;
const TOP = 24;

export function savingsChart(
  files: readonly ReportFile[],
  pageSize: number,
  options: SavingsChartOptions = {},
): string {
  const limit = options.limit ?? 20;
  const width = options.width ?? 960;
  const ranked = files
    .map((file, index) => ({ file, index, saved: file.counts.savedPages }))
    .filter((r) => r.saved > 0)
    .sort((a, b) => b.saved - a.saved || a.index - b.index);
  if (ranked.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} 40" role="img" aria-label="No file has pages a deduplicating store would save"><text x="0" y="24" font-size="13" fill="#5f6b7a">No file has zero or duplicate pages: deduplication saves nothing here.</text></svg>`;
  }
  // Labels drop the directory all files share; the bar's tooltip names the whole path.
  const common = commonDirectory(files.map((f) => f.path));
  const shown = ranked.slice(0, limit);
  const rest = ranked.slice(limit);
  const maxBytes = shown[0]!.saved * pageSize;
  const ticks = niceTicks(0, maxBytes, 5, 'bytes');
  const scaleMax = ticks[ticks.length - 1]!;
  const barLeft = LABEL_WIDTH;
  const barWidth = width - LABEL_WIDTH - VALUE_WIDTH;
  const x = (bytes: number) => barLeft + (bytes / scaleMax) * barWidth;
  const height = TOP + shown.length * ROW + (rest.length > 0 ? ROW : 0) + 6;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="Bytes saved per file by page deduplication" font-family="system-ui, 'DejaVu Sans', sans-serif" font-size="12">`,
  );
  for (const t of ticks) {
    out.push(
      `<line x1="${px(x(t))}" y1="${TOP - 6}" x2="${px(x(t))}" y2="${TOP + shown.length * ROW}" stroke="#e2e6eb"/>`,
    );
    out.push(
      `<text x="${px(x(t))}" y="${TOP - 10}" text-anchor="middle" fill="#5f6b7a" font-size="11">${escapeXml(tickLabel(t, 'bytes'))}</text>`,
    );
  }
  shown.forEach((r, i) => {
    const y = TOP + i * ROW;
    const zeroBytes = r.file.counts.zero * pageSize;
    const duplicateBytes = r.file.counts.duplicate * pageSize;
    const fileBytes = r.file.counts.pages * pageSize;
    const tip = `${r.file.path}: saves ${formatBytes(zeroBytes + duplicateBytes)} of ${formatBytes(fileBytes)} in pages (${r.file.counts.zero} zero, ${r.file.counts.duplicate} duplicate pages)`;
    out.push(`<g><title>${escapeXml(tip)}</title>`);
    out.push(
      `<text x="${barLeft - 10}" y="${px(y + BAR - 3)}" text-anchor="end" fill="#1c2430" font-family="ui-monospace, 'DejaVu Sans Mono', monospace" font-size="11.5">${escapeXml(shorten(r.file.path.slice(common.length), 40))}</text>`,
    );
    const zeroEnd = x(zeroBytes);
    if (zeroBytes > 0)
      out.push(
        `<rect x="${barLeft}" y="${y}" width="${px(Math.max(1, zeroEnd - barLeft))}" height="${BAR}" rx="2" fill="${SAVED_ZERO_COLOR}"/>`,
      );
    if (duplicateBytes > 0) {
      out.push(
        `<rect x="${px(zeroEnd)}" y="${y}" width="${px(Math.max(1, x(zeroBytes + duplicateBytes) - zeroEnd))}" height="${BAR}" rx="2" fill="${SAVED_DUPLICATE_COLOR}"/>`,
      );
    }
    const value = `${formatBytes(zeroBytes + duplicateBytes)} · ${formatPercent(r.saved, r.file.counts.pages)}`;
    out.push(
      `<text x="${px(x(zeroBytes + duplicateBytes) + 6)}" y="${px(y + BAR - 3)}" fill="#5f6b7a" font-size="11.5">${escapeXml(value)}</text>`,
    );
    out.push('</g>');
  });
  if (rest.length > 0) {
    const restBytes = rest.reduce((sum, r) => sum + r.saved, 0) * pageSize;
    const y = TOP + shown.length * ROW;
    out.push(
      `<text x="${barLeft - 10}" y="${px(y + BAR - 3)}" text-anchor="end" fill="#5f6b7a" font-style="italic">and ${rest.length} more files</text>`,
    );
    out.push(
      `<text x="${barLeft}" y="${px(y + BAR - 3)}" fill="#5f6b7a">${escapeXml(formatBytes(restBytes))} together</text>`,
    );
  }
  out.push('</svg>');
  return out.join('');
}

/** Keeps the end of a long path, which names the file: "…/lib/x86_64-linux-gnu/libc.so.6". */
export function shorten(path: string, max: number): string {
  return path.length <= max ? path : `…${path.slice(path.length - max + 1)}`;
}
