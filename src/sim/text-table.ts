/**
 * Plain-text tables for the simulator's reports: labels left-aligned,
 * figures right-aligned, two spaces between columns, and
 * the units /proc uses (kB = 1024 bytes).
 */

/** `align`: one letter per column, 'l' or 'r'; default: the first column left, the rest right. */
export function textTable(header: string[], rows: string[][], align?: string): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const left = (c: number) => (align === undefined ? c === 0 : align[c] === 'l');
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (left(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** Bytes as /proc prints them: kB (value >> 10). */
export function kB(bytes: number): string {
  return `${Math.floor(bytes / 1024)} kB`;
}

/** A signed kB difference, "+12 kB" / "-4 kB" / "0 kB". */
export function kBDelta(bytes: number): string {
  const k = Math.trunc(bytes / 1024);
  return `${k > 0 ? '+' : ''}${k} kB`;
}

/** Nanoseconds in the largest unit that keeps three significant digits. */
export function duration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toPrecision(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${Math.round(ns)} ns`;
}

/** A number, or '-' when it does not apply. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : String(n);
}

/** A percentage of `whole`, one decimal. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}
