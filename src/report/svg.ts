/**
 * Small helpers for writing SVG and HTML as strings: escaping, number
 * formats, and "nice" axis ticks (steps of 1, 2 or 5 times a power of ten,
 * or of 1024 for bytes).
 */

/** Escapes text for XML/HTML content and double-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** 12345 -> "12,345". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes in binary units: "512 B", "4.0 KiB", "1.5 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (Math.abs(bytes) < 1024) return `${bytes} B`;
  let v = bytes / 1024;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Percent that never rounds a part to 0% or 100% it is not: '<0.1%', '99.7%', '>99.9%'. */
export function formatPercent(part: number, whole: number): string {
  if (whole === 0 || part === 0) return '0%';
  if (part === whole) return '100%';
  const p = (part / whole) * 100;
  if (p < 0.1) return '<0.1%';
  if (p > 99.9) return '>99.9%';
  return `${p < 10 || p >= 99.5 ? p.toFixed(1) : p.toFixed(0)}%`;
}

/** A page size as people write it: '4 KiB', '64 KiB'. */
export function formatPageSize(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** Coordinates rounded to 0.01 px, so the SVG stays short. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export type TickUnit = 'count' | 'bytes';

/**
 * About `target` ticks covering [0, max] (or [min, max]): the step is 1, 2
 * or 5 times a power of ten, or for bytes a power of two times 1, 2 or 5
 * of a binary unit (so ticks fall on 256 KiB, 1 MiB, ...). The last tick
 * is at or above max.
 */
export function niceTicks(min: number, max: number, target = 5, unit: TickUnit = 'count'): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min)
    throw new RangeError(`niceTicks: bad range [${min}, ${max}]`);
  if (max === min) max = min + 1;
  const rough = (max - min) / Math.max(1, target);
  const step = unit === 'bytes' && rough >= 1 ? binaryStep(rough) : decimalStep(rough);
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = first, i = 0; i < 1000; i++, v = first + i * step) {
    ticks.push(roundTo(v, step));
    if (v >= max) break;
  }
  return ticks;
}

function decimalStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const f = rough / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

function binaryStep(rough: number): number {
  // 1, 2, 4, 8, ... 512 B; then 1, 2, 4, ... 512 KiB; and so on: powers of two read well in binary units.
  return 2 ** Math.ceil(Math.log2(rough));
}

function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(digits, 12)));
}

/** The longest directory prefix ('dir/', with its slash) of all paths; '' when they share none. */
export function commonDirectory(paths: readonly string[]): string {
  const first = paths[0];
  if (first === undefined) return '';
  let prefix = first.slice(0, first.lastIndexOf('/') + 1);
  for (const p of paths) {
    while (prefix !== '' && !p.startsWith(prefix)) {
      const cut = prefix.length > 1 ? prefix.lastIndexOf('/', prefix.length - 2) : -1;
      prefix = prefix.slice(0, cut + 1);
    }
  }
  return prefix;
}

/** A short label for an axis tick. */
export function tickLabel(v: number, unit: TickUnit): string {
  if (unit === 'bytes') return formatBytes(v).replace('.0 ', ' ');
  if (Math.abs(v) >= 1e6) return `${trim(v / 1e6)}M`;
  if (Math.abs(v) >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** At most 3 decimals, thousands separated: '2,000', '0.25'. */
function trim(v: number): string {
  return Number(v.toFixed(3)).toLocaleString('en-US', { maximumFractionDigits: 3 });
}
