/**
 * The report's stylesheet (inlined into the page) and the colours of the
 * page kinds, shared by the stylesheet, the server-side SVG and the canvas.
 * Colours are from the Okabe-Ito set, which stays distinguishable with the
 * common colour-vision deficiencies; zero pages are a quiet grey.
 */
import type { PageKind } from './model.js';

export const KIND_COLORS: Record<PageKind, string> = {
  zero: '#dde1e6',
  unique: '#8ec5e8',
  'shared-within': '#e69f00',
  'shared-across': '#c2388a',
};

export const KIND_LABELS: Record<PageKind, string> = {
  zero: 'zero',
  unique: 'singleton',
  'shared-within': 'shared within a file',
  'shared-across': 'shared across files',
};

/** Savings bars: the zero part (darker than the zero cells, to be seen as a bar) and the duplicate part. */
export const SAVED_ZERO_COLOR = '#a9b1bb';
export const SAVED_DUPLICATE_COLOR = '#3b6ea5';

export const STYLE = `
:root {
  --bg: #f5f6f8; --panel: #ffffff; --ink: #1c2430; --muted: #5f6b7a; --line: #e2e6eb; --accent: #3b6ea5;
  --zero: ${KIND_COLORS.zero}; --unique: ${KIND_COLORS.unique};
  --within: ${KIND_COLORS['shared-within']}; --across: ${KIND_COLORS['shared-across']};
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 40px; }
header h1 { font-size: 22px; margin: 0 0 2px; letter-spacing: -0.01em; }
header h1 .brand { color: var(--accent); }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 16px; margin: 0 0 10px; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-top: 16px; }
.note { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.mono, code { font-family: var(--mono); font-size: 12.5px; }

.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; margin-top: 16px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 12px; display: flex; align-items: center; gap: 6px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .sub { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.card.saves { border-color: var(--accent); box-shadow: inset 3px 0 0 var(--accent); }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; flex: none; }
.swatch.zero { background: var(--zero); box-shadow: inset 0 0 0 1px #c5cbd2; }
.swatch.unique { background: var(--unique); } .swatch.within { background: var(--within); } .swatch.across { background: var(--across); }

.composition { display: flex; height: 12px; border-radius: 6px; overflow: hidden; margin-top: 14px; background: var(--zero); }
.composition span { display: block; height: 100%; }

.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; margin-bottom: 10px; }
.toolbar .heading { margin-right: auto; min-width: 0; }
.toolbar h2 { margin: 0; }
.toolbar .prefix { font: 12px var(--mono); color: var(--muted); word-break: break-all; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 12.5px; color: var(--muted); }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.controls { display: flex; gap: 8px; align-items: center; font-size: 12.5px; color: var(--muted); }
.controls input, .controls select { font: inherit; color: var(--ink); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; background: #fff; }
.controls input { width: 180px; }

.map-layout { display: grid; grid-template-columns: minmax(0, 1fr) 320px; gap: 14px; align-items: start; }
@media (max-width: 900px) { .map-layout { grid-template-columns: 1fr; } }
#map-scroll { position: relative; overflow-y: auto; overflow-x: hidden; border: 1px solid var(--line); border-radius: 8px; background: #fbfcfd; max-height: 72vh; min-height: 120px; }
#map { position: sticky; top: 0; display: block; width: 100%; cursor: crosshair; }
#map-spacer { width: 1px; }
#detail { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; font-size: 13px; position: sticky; top: 12px; max-height: 72vh; overflow: auto; background: #fff; }
#detail h3 { font-size: 13.5px; margin: 0 0 6px; word-break: break-all; }
#detail .hint { color: var(--muted); }
#detail dl, #tooltip dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 6px 0; }
#detail dt, #tooltip dt { color: var(--muted); }
#detail dd, #tooltip dd { margin: 0; font-family: var(--mono); font-size: 12px; word-break: break-word; }
#detail ul { list-style: none; padding: 0; margin: 4px 0 0; }
#detail li { padding: 3px 0; border-top: 1px solid var(--line); }
#detail li .pages { font-family: var(--mono); font-size: 11.5px; color: var(--muted); }
#detail button.link, table button.link { background: none; border: 0; padding: 0; font: inherit; color: var(--accent); cursor: pointer; text-align: left; word-break: break-all; }
#detail button.link:hover { text-decoration: underline; }
.kind { display: inline-flex; align-items: center; gap: 5px; font-weight: 600; }

#tooltip { position: fixed; z-index: 10; pointer-events: none; max-width: 380px; background: rgba(28, 36, 48, 0.96); color: #f3f5f7; border-radius: 8px; padding: 9px 11px; font-size: 12.5px; box-shadow: 0 6px 20px rgba(0,0,0,0.25); }
#tooltip .title { font-weight: 600; word-break: break-all; }
#tooltip dt { color: #aab4c0; }
#tooltip dd { color: #f3f5f7; }
#tooltip .others { margin: 4px 0 0; padding: 0; list-style: none; }
#tooltip .others li { word-break: break-all; }
#tooltip .others .pages { color: #aab4c0; font-family: var(--mono); font-size: 11px; }

.chart svg { display: block; width: 100%; height: auto; }
.chart-legend { display: flex; gap: 14px; font-size: 12.5px; color: var(--muted); margin-bottom: 6px; }
.chart-legend span { display: inline-flex; align-items: center; gap: 5px; }

.table-wrap { overflow-x: auto; }
table.sortable { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
table.sortable th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; border-bottom: 2px solid var(--line); padding: 6px 8px; white-space: nowrap; user-select: none; }
table.sortable th button { all: unset; cursor: pointer; }
table.sortable th button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
table.sortable th[aria-sort] { color: var(--ink); }
table.sortable th[aria-sort="ascending"] button::after { content: " \\25B2"; font-size: 9px; }
table.sortable th[aria-sort="descending"] button::after { content: " \\25BC"; font-size: 9px; }
table.sortable th.num, table.sortable td.num { text-align: right; }
table.sortable td { padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
table.sortable td.path { font-family: var(--mono); font-size: 12px; white-space: normal; word-break: break-all; min-width: 200px; }
table.sortable tbody tr:hover { background: #f1f5fa; }
table.sortable tbody tr.clickable { cursor: pointer; }
.minibar { display: flex; width: 120px; height: 9px; border-radius: 3px; overflow: hidden; background: var(--zero); }
.minibar span { height: 100%; }
.more { margin-top: 8px; font: inherit; border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.issues details { margin: 4px 0; font-size: 13px; }
.issues summary { cursor: pointer; }
.issues ul { margin: 6px 0 8px; padding-left: 20px; max-height: 320px; overflow: auto; }
.issues li { font-size: 12.5px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; text-align: center; }
`;
