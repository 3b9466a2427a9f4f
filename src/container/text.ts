/**
 * Text forms of the container commands' results, and the option parsers
 * they share. The library returns plain data; these only render it.
 */
import { UsageError } from '../errors.js';
import type { ListResult } from './list.js';
import type { PackSummary } from './pack.js';
import type { UnpackSummary } from './unpack.js';
import type { VerifyResult } from './verify.js';
import { displayName } from './name-bytes.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses '123', '64K', '16KiB', '300M', '2G' (binary units) into bytes. */
export function parseByteSize(option: string, text: string): number {
  const m = /^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const value = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(value))
    throw new UsageError(`${option} must be a size in bytes such as 4096, 64K or 300M, not '${text}'`, {
      field: option,
      actual: text,
    });
  return value;
}

/** SOURCE_DATE_EPOCH, when set: a whole number of seconds. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not '${text}'`, {
      field: 'SOURCE_DATE_EPOCH',
      actual: text,
    });
  }
  return Number(text);
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '-';
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(12)}${value}\n`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function kinds(s: { regularFiles: number; directories: number; symlinks: number; hardlinks: number }): string {
  return `${count(s.regularFiles, 'file', 'files')}, ${count(s.directories, 'directory', 'directories')}, ${count(s.symlinks, 'symlink', 'symlinks')}, ${count(s.hardlinks, 'hard link', 'hard links')}`;
}

export function formatPackSummary(s: PackSummary): string {
  return (
    `packed ${count(s.files, 'entry', 'entries')} (${kinds(s)}) into ${s.output}\n` +
    (s.excluded > 0 ? row('left out', count(s.excluded, 'entry', 'entries')) : '') +
    row('input', `${s.inputBytes} bytes (${mb(s.inputBytes)})`) +
    row('pages', `${s.pages} of ${s.pageSize} bytes`) +
    row('zero', `${s.zeroPages} (${percent(s.zeroPages, s.pages)}), stored as nothing`) +
    row('duplicate', `${s.duplicatePages} (${percent(s.duplicatePages, s.pages)}), stored once`) +
    row(
      'stored',
      `${s.storedPages} pages (${s.zstdPages > 0 ? `${s.zstdPages} zstd level ${s.level}` : `${s.lz4Pages} LZ4`}, ${s.rawPages} raw), ${s.storedBytes} bytes (${mb(s.storedBytes)})`,
    ) +
    row(
      'container',
      `${s.containerBytes} bytes (${mb(s.containerBytes)}), ${percent(s.containerBytes, s.inputBytes)} of the input`,
    )
  );
}

export function formatUnpackSummary(s: UnpackSummary): string {
  return `unpacked ${count(s.files, 'entry', 'entries')} (${kinds(s)}, ${s.bytes} bytes) into ${s.directory}\n`;
}

export function formatVerify(r: VerifyResult): string {
  if (r.ok)
    return `${r.file}: ok (${count(r.files ?? 0, 'entry', 'entries')}, ${count(r.checkedPages, 'stored page', 'stored pages')}, ${r.containerBytes} bytes checked)\n`;
  const pages = r.damagedPages > 0 ? ` (${r.damagedPages} of ${r.checkedPages} stored pages damaged)` : '';
  return `${r.damage?.message ?? `${r.file}: damaged`}${pages}\n`;
}

const KIND_LETTER: Record<string, string> = { regular: '-', directory: 'd', symlink: 'l', hardlink: 'h' };

function modeString(kind: string, mode: number): string {
  const bits = ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x'].map((c, i) => ((mode >> (8 - i)) & 1 ? c : '-'));
  if (mode & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return (KIND_LETTER[kind] ?? '?') + bits.join('');
}

export function formatList(r: ListResult): string {
  const lines = [
    `${'mode'.padEnd(10)} ${'size'.padStart(12)} ${'pages'.padStart(7)} ${'zero'.padStart(6)} ${'shared'.padStart(7)} ${'singleton'.padStart(9)}  path`,
  ];
  for (const f of r.files) {
    const counts = f.kind === 'regular' || f.kind === 'hardlink';
    const num = (n: number, w: number): string => (counts ? String(n) : '').padStart(w);
    let name = displayName(f.path);
    if (f.linkTarget !== undefined) name += ` -> ${displayName(f.linkTarget)}`;
    if (f.linkTo !== undefined) name += ` link to ${displayName(f.linkTo)}`;
    lines.push(
      `${modeString(f.kind, f.mode)} ${num(f.size, 12)} ${num(f.pages, 7)} ${num(f.zeroPages, 6)} ${num(f.sharedPages, 7)} ${num(f.uniquePages, 9)}  ${name}`,
    );
  }
  const t = r.totals;
  lines.push(
    '',
    `${count(t.files, 'entry', 'entries')}, ${t.inputBytes} bytes in ${count(t.pages, 'page', 'pages')} of ${r.pageSize} bytes${r.pageAligned ? ' (page-aligned, uncompressed)' : ''}`,
    `dedup: ${t.zeroPages} zero and ${t.duplicatePages} duplicate pages not stored; ${t.storedPages} stored (${percent(t.storedPages, t.pages)} of all pages)`,
    `compression: ${t.storedBytes} bytes stored for ${t.storedPages} pages (${percent(t.storedBytes, t.storedPages * r.pageSize)}; ${t.zstdPages > 0 ? `${t.zstdPages} zstd` : `${t.lz4Pages} LZ4`}, ${t.rawPages} raw)`,
    `container: ${t.containerBytes} bytes, ${percent(t.containerBytes, t.inputBytes)} of the input`,
  );
  return `${lines.join('\n')}\n`;
}
