/**
 * The HTML page-map report (`pagestack report`) and the SVG charts the
 * simulator's `--html`/`--svg` output uses.
 */
export { report, buildReportModel, writeFileAtomic, type ReportOptions, type ReportSummary } from './report.js';
export { renderReport, type RenderOptions } from './html.js';
export {
  buildModel,
  kindOf,
  pageKinds,
  PAGE_KINDS,
  KIND_ZERO,
  KIND_UNIQUE,
  KIND_SHARED_WITHIN,
  KIND_SHARED_ACROSS,
  type PageKind,
  type ReportModel,
  type ReportFile,
  type ReportFileInput,
  type ReportInput,
  type KindCounts,
  type ReportTotals,
  type ContentTable,
} from './model.js';
export { reportData, decodeIds, REPORT_SCHEMA, type ReportData, type FileData } from './data.js';
export { unifyContents, type ContentSource } from './unify.js';
export { isContainerImage } from './container-source.js';
export { savingsChart } from './bars.js';
export { lineChart, SERIES_COLORS, type ChartSeries, type LineChartOptions, type AxisUnit } from './chart.js';
export { chartPage, type ChartPageOptions, type PageTable, type PageTableColumn } from './chart-page.js';
