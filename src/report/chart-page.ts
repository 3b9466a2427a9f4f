/**
 * A self-contained HTML page holding several charts (lineChart's SVG,
 * inlined) and a table, for `pagestack run --html`: the per-policy charts
 * over simulated time and the comparison table. No network: the styles and
 * the small script that sorts the table by a clicked header
 * (client/sort-table.ts) are inline.
 */
import { SORT_TABLE_SCRIPT } from './client-script.gen.js';
import { escapeXml } from './svg.js';

export interface PageTableColumn {
  label: string;
  /** Right-aligned, sorted as numbers; numbers are shown with thousands separators. */
  numeric?: boolean;
  /** Tooltip of the header: what the column counts, in the kernel's words. */
  title?: string;
}

export interface PageTable {
  caption?: string;
  columns: PageTableColumn[];
  /** One array per row, one cell per column: a number, or text shown as is. */
  rows: Array<Array<string | number>>;
}

export interface ChartPageOptions {
  title: string;
  subtitle?: string;
  charts: Array<{ svg: string; caption?: string }>;
  table?: PageTable;
  /** Shown at the bottom, e.g. 'pagestack 0.1.0'. */
  footer?: string;
  /** Terms and what they mean, above the table (e.g. each policy set and its settings). */
  definitions?: { caption: string; items: Array<{ term: string; text: string }> };
  /** Notes under the table (e.g. which policy ran out of memory, where and why). */
  notes?: string[];
}

export function chartPage(options: ChartPageOptions): string {
  const charts = options.charts
    .map((c) => `<figure>${c.svg}${c.caption ? `<figcaption>${escapeXml(c.caption)}</figcaption>` : ''}</figure>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(options.title)}</title>
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeXml(options.title)}</h1>
${options.subtitle ? `<p class="sub">${escapeXml(options.subtitle)}</p>` : ''}
${options.definitions ? definitionsHtml(options.definitions) : ''}
${options.table ? tableHtml(options.table) : ''}
${options.notes && options.notes.length > 0 ? `<ul class="notes">${options.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
<div class="charts">
${charts}
</div>
${options.footer ? `<footer>${escapeXml(options.footer)}</footer>` : ''}
</main>
${options.table ? `<script>${SORT_TABLE_SCRIPT}</script>` : ''}
</body>
</html>
`;
}

function definitionsHtml(d: NonNullable<ChartPageOptions['definitions']>): string {
  const items = d.items.map((i) => `<dt>${escapeXml(i.term)}</dt><dd>${escapeXml(i.text)}</dd>`).join('');
  return `<section class="definitions"><h2>${escapeXml(d.caption)}</h2><dl>${items}</dl></section>`;
}

function tableHtml(table: PageTable): string {
  const head = table.columns
    .map(
      (c) =>
        `<th${c.numeric ? ' class="num"' : ''}${c.title ? ` title="${escapeXml(c.title)}"` : ''}><button type="button">${escapeXml(c.label)}</button></th>`,
    )
    .join('');
  const rows = table.rows
    .map((row) => {
      if (row.length !== table.columns.length)
        throw new RangeError(`table row of ${row.length} cells for ${table.columns.length} columns`);
      const cells = row.map((v, i) => {
        const numeric = table.columns[i]!.numeric;
        if (typeof v === 'number')
          return `<td class="num" data-value="${v}">${escapeXml(Number.isFinite(v) ? v.toLocaleString('en-US') : String(v))}</td>`;
        return `<td${numeric ? ' class="num"' : ''}>${escapeXml(v)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<section class="table">${table.caption ? `<h2>${escapeXml(table.caption)}</h2>` : ''}<table class="sortable"><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table></section>`;
}

const PAGE_STYLE = `
body { margin: 0; background: #f5f6f8; color: #1c2430; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 10px; }
.sub { color: #5f6b7a; margin: 0 0 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(540px, 1fr)); gap: 16px; margin-top: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #e2e6eb; border-radius: 10px; padding: 10px; }
figure svg { display: block; width: 100%; max-width: 960px; height: auto; margin: 0 auto; }
figcaption { color: #5f6b7a; font-size: 12.5px; padding: 4px 6px 0; }
section.table { background: #fff; border: 1px solid #e2e6eb; border-radius: 10px; padding: 14px 16px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th { text-align: left; color: #5f6b7a; font-size: 12px; border-bottom: 2px solid #e2e6eb; padding: 6px 8px; white-space: nowrap; }
th button { all: unset; cursor: pointer; }
th[aria-sort] { color: #1c2430; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; font-size: 9px; }
th[aria-sort="descending"] button::after { content: " \\25BC"; font-size: 9px; }
td { padding: 5px 8px; border-bottom: 1px solid #e2e6eb; white-space: nowrap; }
.num { text-align: right; }
section.definitions { background: #fff; border: 1px solid #e2e6eb; border-radius: 10px; padding: 14px 16px; margin-bottom: 16px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { font-weight: 600; font-family: ui-monospace, "DejaVu Sans Mono", monospace; } dd { margin: 0; }
ul.notes { background: #fff4e5; border: 1px solid #f0c48a; border-radius: 10px; padding: 10px 16px 10px 32px; margin: 16px 0 0; }
footer { color: #5f6b7a; font-size: 12px; margin-top: 18px; text-align: center; }
`;
