/**
 * The human report of `pagestack scan`: totals, the most duplicated pages
 * with where they occur, and a per-file table sorted by what dedup would
 * save. Aligned columns, sizes in KiB/MiB/GiB.
 */
import { mostDuplicated } from './describe.js';
import { savingsOf } from './json.js';
import type { ScanResult, ScannedFile, SkippedPath } from './result.js';

export interface TextOptions {
  /** Most duplicated contents to show (default 10). */
  top?: number;
  /** Rows of the per-file table (default 20; Infinity for all). */
  fileRows?: number;
  /** Places listed per duplicated content (default 4). */
  placesPerContent?: number;
}

export function formatScan(result: ScanResult, options: TextOptions = {}): string {
  const top = options.top ?? 10;
  const fileRows = options.fileRows ?? 20;
  const placesPerContent = options.placesPerContent ?? 4;
  const ps = result.pageSize;
  const t = result.totals;
  const savings = savingsOf(t, ps);
  const out: string[] = [];
  const pct = (n: number) => (t.pages === 0 ? '' : `${((n / t.pages) * 100).toFixed(1)}%`);

  out.push(`${plural(t.files, 'file')}, ${humanBytes(t.bytes)}, ${plural(t.pages, 'page')} of ${ps / 1024} KiB`);
  out.push('');
  const rows: string[][] = [
    ['zero pages', count(t.zeroPages), pct(t.zeroPages)],
    ['distinct non-zero pages', count(t.uniquePages), pct(t.uniquePages)],
    ['duplicate pages', count(t.duplicatePages), pct(t.duplicatePages)],
    ['dedup would save', humanBytes(savings.bytes), pct(savings.pages)],
  ];
  out.push(...table(rows, ['l', 'r', 'r']).map((l) => `  ${l}`));
  out.push('  (zero pages stored as nothing, each distinct page stored once)');

  const dups = mostDuplicated(result, top, placesPerContent + 1);
  if (dups.length > 0) {
    out.push('');
    out.push('Most duplicated pages');
    const body: string[][] = [];
    for (const d of dups) {
      d.places.slice(0, placesPerContent).forEach((p, i) => {
        body.push([
          i === 0 ? count(d.copies) : '',
          i === 0 ? count(d.files) : '',
          p.path,
          `0x${p.page.toString(16)}`,
          p.perms.join(',') || '-',
          sectionList(p.sections),
        ]);
      });
      const more = d.copies - Math.min(placesPerContent, d.places.length);
      if (more > 0) body.push(['', '', `... and ${plural(more, 'more page')}`, '', '', '']);
    }
    out.push(
      ...table([['copies', 'files', 'file', 'page', 'perms', 'sections'], ...body], ['r', 'r', 'l', 'r', 'l', 'l']).map(
        (l) => `  ${l}`,
      ),
    );
  }

  if (result.files.length > 0) {
    out.push('');
    out.push('Files, by what dedup would save');
    const sorted = [...result.files].sort(
      (a, b) => saved(b) - saved(a) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
    const shown = sorted.slice(0, fileRows);
    const body = shown.map((f) => [
      humanBytes(saved(f) * ps),
      count(f.pages),
      count(f.zeroPages),
      count(f.duplicatePages),
      count(f.sharedPages),
      humanBytes(f.size),
      f.path,
    ]);
    out.push(
      ...table(
        [['saves', 'pages', 'zero', 'dup', 'shared', 'size', 'file'], ...body],
        ['r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ).map((l) => `  ${l}`),
    );
    if (sorted.length > shown.length)
      out.push(`  ... and ${plural(sorted.length - shown.length, 'more file')} (--files all, or --json)`);
    out.push(
      '  dup: pages identical to an earlier page of the scan; shared: pages whose content occurs more than once',
    );
  }

  const warned = result.files.filter((f) => f.warnings.length > 0);
  if (warned.length > 0) {
    out.push('');
    out.push('Warnings (scanned as pages)');
    for (const f of warned) for (const w of f.warnings) out.push(`  ${f.path}: ${w.message}`);
  }

  if (result.skipped.length > 0) {
    out.push('');
    out.push(...formatSkipped(result.skipped, 'scans them', '--json lists them all'));
  }

  const symlinks = result.links.filter((l) => l.kind === 'symlink').length;
  const hardlinks = result.links.length - symlinks;
  if (result.links.length > 0) {
    out.push('');
    out.push(
      `Not read twice: ${plural(symlinks, 'symbolic link')} (not followed), ${plural(hardlinks, 'hard link')} to files scanned once`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * The skipped paths: a count line, then up to 20 paths with their reasons
 * (files without the ELF magic only when there are at most 10 of them).
 */
export function formatSkipped(skipped: readonly SkippedPath[], allFilesDoes: string, more: string): string[] {
  const out: string[] = [];
  const byReason = new Map<string, number>();
  for (const s of skipped) byReason.set(s.code, (byReason.get(s.code) ?? 0) + 1);
  const notElf = byReason.get('E_NOT_ELF') ?? 0;
  out.push(
    `Skipped ${plural(skipped.length, 'path')}${notElf > 0 ? ` (${count(notElf)} not ELF; --all-files ${allFilesDoes})` : ''}`,
  );
  const listed = skipped.filter((s) => s.code !== 'E_NOT_ELF' || notElf <= 10);
  for (const s of listed.slice(0, 20)) out.push(`  ${s.path}: ${s.reason}`);
  const rest = skipped.length - Math.min(listed.length, 20);
  if (rest > 0) out.push(`  ... and ${count(rest)} more (${more})`);
  return out;
}

const saved = (f: ScannedFile) => f.zeroPages + f.duplicatePages;

/** At most four section names, then "+N". */
function sectionList(names: string[]): string {
  if (names.length === 0) return '-';
  const shown = names.slice(0, 4).map((n) => n || '?');
  return names.length > 4 ? `${shown.join(' ')} +${names.length - 4}` : shown.join(' ');
}

/** 1536 -> "1.5 KiB"; below 1 KiB in bytes. */
export function humanBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** 12345 -> "12,345". */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** Pads cells into aligned columns ('l' left, 'r' right); the last column is not padded. */
function table(rows: string[][], align: Array<'l' | 'r'>): string[] {
  const widths = align.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, c) => {
        if (c === r.length - 1 && align[c] === 'l') return cell;
        return align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!);
      })
      .join('  ')
      .trimEnd(),
  );
}
