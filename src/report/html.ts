/**
 * The report page: one self-contained HTML document. Styles and the page
 * script are inline, the data is a JSON block, the savings chart is inline
 * SVG; nothing is fetched (no URL in any src or href but `data:`), so the
 * file works offline, from a CI artifact or an e-mail attachment.
 *
 * The totals, legend and savings chart are written here, server-side; the
 * page map, the tooltip and the sortable tables are drawn by the script
 * (client.ts) from the JSON block.
 */
import { savingsChart } from './bars.js';
import { CLIENT_SCRIPT } from './client.js';
import { embeddableJson, reportData, type ReportData } from './data.js';
import { PAGE_KINDS, type PageKind, type ReportModel } from './model.js';
import { KIND_COLORS, KIND_LABELS, SAVED_DUPLICATE_COLOR, SAVED_ZERO_COLOR, STYLE } from './style.js';
import { escapeXml, formatBytes, formatCount, formatPageSize, formatPercent } from './svg.js';

export interface RenderOptions {
  /** Shown in the page title; defaults to the inputs. */
  title?: string;
}

export function renderReport(model: ReportModel, options: RenderOptions = {}): string {
  const title = options.title ?? defaultTitle(model);
  const data = reportData(model, title);
  const t = model.totals;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeXml(data.generator)}">
<title>pagestack report: ${escapeXml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-files="${t.files}" data-pages="${t.pages}" data-page-size="${model.pageSize}">
<main>
<header>
<h1><span class="brand">pagestack</span> report</h1>
<p>${escapeXml(title)} · ${formatCount(t.files)} ${t.files === 1 ? 'file' : 'files'}, ${formatBytes(t.bytes)} in ${formatCount(t.pages)} pages of ${formatPageSize(model.pageSize)}</p>
</header>
${cards(model)}
${composition(model)}
<section class="panel" id="map-section">
<div class="toolbar">
<div class="heading"><h2>Page map</h2><div id="map-prefix" class="prefix"></div></div>
${legend()}
<div class="controls">
<input id="filter" type="search" placeholder="Filter files" aria-label="Filter files by path">
<label>Order <select id="order"><option value="input">as scanned</option><option value="saved">most saved</option><option value="pages">most pages</option><option value="shared">most shared</option><option value="path">by path</option></select></label>
<label>Cells <select id="cell-size"><option value="auto">auto</option><option value="3">3 px</option><option value="5">5 px</option><option value="8">8 px</option><option value="12">12 px</option></select></label>
</div>
</div>
<div class="map-layout">
<div id="map-scroll"><canvas id="map" aria-label="Page map: one cell per page, coloured by kind"></canvas><div id="map-spacer"></div></div>
<aside id="detail" aria-live="polite"><p class="hint">Each file is a strip of pages, one cell per ${formatPageSize(model.pageSize)} page, in file-offset order. Hover a cell to see where the page lies and which other pages hold the same bytes; click to pin it here.</p></aside>
</div>
</section>
<section class="panel chart">
<h2>Savings per file</h2>
<div class="chart-legend"><span><i class="swatch" style="background:${SAVED_ZERO_COLOR}"></i>zero pages</span><span><i class="swatch" style="background:${SAVED_DUPLICATE_COLOR}"></i>duplicate pages (stored once elsewhere)</span></div>
${savingsChart(model.files, model.pageSize)}
<p class="note">What a page-deduplicating store (such as <code>pagestack pack</code>) does not keep of each file: its zero pages, and its pages whose bytes occurred earlier in the report (in this file or a file above it).</p>
</section>
<section class="panel"><h2>Files</h2><div class="table-wrap" id="files-table"></div>
<p class="note">Click a column header to sort, a row to show the file in the map. Paths are shown without the directory all files share.</p></section>
<section class="panel"><h2>Most shared contents</h2><div class="table-wrap" id="contents-table"></div>
<p class="note">Page contents held by more than one page, most copies first. Click a row to show its pages in the map.</p></section>
<section class="panel"><h2>Pages by segment permissions</h2><div class="table-wrap" id="perms-table"></div>
<p class="note">Pages in the file ranges of <code>PT_LOAD</code> segments, by the segment's permissions; a page in two segments (the end of text and the start of data) counts in both. "not loaded": pages no <code>PT_LOAD</code> maps (headers, symbol tables, debug info).</p></section>
${problems(model)}
<footer>${escapeXml(data.generator)} · data schema ${escapeXml(data.schema)} · a single self-contained file: it loads nothing from the network</footer>
</main>
<div id="tooltip" role="tooltip" hidden></div>
<script type="application/json" id="pagestack-data">${embeddableJson(data)}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

function defaultTitle(model: ReportModel): string {
  const names = model.inputs.flatMap((i) => i.paths);
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

function cards(model: ReportModel): string {
  const t = model.totals;
  const kindCard = (kind: PageKind, n: number) =>
    card(
      `<i class="swatch ${swatchClass(kind)}"></i>${escapeXml(KIND_LABELS[kind])}`,
      formatCount(n),
      `${formatPercent(n, t.pages)} of pages`,
      `kind-${kind}`,
    );
  return `<div class="cards">
${card('files', formatCount(t.files), formatBytes(t.bytes), 'files')}
${card('pages', formatCount(t.pages), `${formatCount(t.distinctContents)} distinct non-zero`, 'pages')}
${kindCard('zero', t.zero)}
${kindCard('unique', t.unique)}
${kindCard('shared-within', t.sharedWithin)}
${kindCard('shared-across', t.sharedAcross)}
${card('deduplication saves', formatBytes(t.savedBytes), `${formatPercent(t.savedPages, t.pages)}: ${formatCount(t.zero)} zero + ${formatCount(t.duplicate)} duplicate pages`, 'saves')}
</div>`;
}

function card(label: string, value: string, sub: string, id: string): string {
  return `<div class="card ${id === 'saves' ? 'saves' : ''}" id="card-${id}"><div class="label">${label}</div><div class="value">${escapeXml(value)}</div><div class="sub">${escapeXml(sub)}</div></div>`;
}

function composition(model: ReportModel): string {
  const t = model.totals;
  const parts: Array<[PageKind, number]> = [
    ['unique', t.unique],
    ['shared-within', t.sharedWithin],
    ['shared-across', t.sharedAcross],
    ['zero', t.zero],
  ];
  const spans = parts
    .filter(([, n]) => n > 0)
    .map(
      ([kind, n]) =>
        `<span style="width:${((n / t.pages) * 100).toFixed(3)}%;background:${KIND_COLORS[kind]}" title="${escapeXml(`${KIND_LABELS[kind]}: ${formatCount(n)} pages`)}"></span>`,
    )
    .join('');
  return `<div class="composition" role="img" aria-label="Pages by kind">${spans}</div>`;
}

function legend(): string {
  const items = PAGE_KINDS.map(
    (kind) => `<span><i class="swatch ${swatchClass(kind)}"></i>${escapeXml(KIND_LABELS[kind])}</span>`,
  ).join('');
  return `<div class="legend" id="legend">${items}</div>`;
}

function swatchClass(kind: PageKind): string {
  switch (kind) {
    case 'zero':
      return 'zero';
    case 'unique':
      return 'unique';
    case 'shared-within':
      return 'within';
    case 'shared-across':
      return 'across';
    default:
      throw new Error(`unknown page kind ${String(kind satisfies never)}`);
  }
}

/**
 * Skipped paths, links not read twice, ELF warnings: a line of counts for
 * each, the paths in a closed <details> (a directory of scripts skips
 * hundreds), shown only when there are any.
 */
function problems(model: ReportModel): string {
  const skipped = model.skipped.map((s) => ({
    key: s.reason.replace(/ \(.*\)$/, ''),
    text: `<code>${escapeXml(s.path)}</code>: ${escapeXml(s.reason)}`,
  }));
  const warnings = model.files.flatMap((f) =>
    f.warnings.map((w) => ({
      key: w.code,
      text: `<code>${escapeXml(f.path)}</code>: ${escapeXml(w.code)} ${escapeXml(w.message)}`,
    })),
  );
  const links = model.links.map((l) => ({
    key: l.kind === 'symlink' ? 'symbolic link, not followed' : 'hard link, read once under its first name',
    text: `<code>${escapeXml(l.path)}</code> \u2192 <code>${escapeXml(l.target)}</code>`,
  }));
  const groups: Array<[string, string, Array<{ key: string; text: string }>]> = [
    ['skipped', 'skipped', skipped],
    ['ELF warning (pages still reported)', 'ELF warnings (pages still reported)', warnings],
    ['link', 'links', links],
  ];
  const parts = groups
    .filter(([, , items]) => items.length > 0)
    .map(([one, many, items]) => {
      const title = items.length === 1 ? one : many;
      const byKey = new Map<string, number>();
      for (const i of items) byKey.set(i.key, (byKey.get(i.key) ?? 0) + 1);
      const counts = [...byKey].map(([key, n]) => `${formatCount(n)} ${escapeXml(key)}`).join('; ');
      const shown = items.slice(0, 500).map((i) => `<li>${i.text}</li>`);
      if (items.length > shown.length)
        shown.push(`<li>\u2026 and ${formatCount(items.length - shown.length)} more</li>`);
      return `<details><summary><b>${formatCount(items.length)} ${escapeXml(title)}</b>: ${counts}</summary><ul>${shown.join('')}</ul></details>`;
    });
  if (parts.length === 0) return '';
  return `<section class="panel issues"><h2>Not reported, and warnings</h2>${parts.join('\n')}</section>`;
}

export type { ReportData };
