/**
 * `pagestack scan PATH...`: zero and duplicate pages of ELF files, within
 * and across files, with the segment and sections of each page.
 */
import type { Command } from 'commander';
import { InputError, UsageError } from '../../errors.js';
import { Progress } from '../progress.js';

export interface ScanFlags {
  pageSize: string;
  allFiles?: boolean;
  json?: boolean;
  strict?: boolean;
  failBelow?: string;
  quiet?: boolean;
  top: string;
  files: string;
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('find zero and identical pages in ELF files, within and across files')
    .argument('<path...>', 'ELF files, or directories to walk (symlinks in them are not followed)')
    .option('-p, --page-size <bytes>', 'page size: 4096, 16384 or 65536 (or 4K, 16K, 64K)', '4096')
    .option('--all-files', 'scan files without the ELF magic too, as plain pages')
    .option('--json', 'print the result as JSON (schema pagestack.scan/1)')
    .option('--strict', 'fail (exit 1) on any skipped file or ELF warning')
    .option('--fail-below <percent>', 'fail (exit 1) when dedup would save less than this share of pages')
    .option('--top <n>', 'most duplicated pages to list', '10')
    .option('--files <n>', "rows of the per-file table, or 'all'", '20')
    .addHelpText(
      'after',
      `
Examples:
  pagestack scan samples/bin
  pagestack scan --page-size 64K /usr/bin /usr/lib/x86_64-linux-gnu
  pagestack scan --json --all-files build/ > pages.json
  pagestack scan --quiet --fail-below 25 out/bin`,
    )
    .action((paths: string[], flags: ScanFlags) => runScan(paths, flags));
}

/** The command's work, once argv is parsed (by commander, or by ../plain-argv.ts for plain command lines). */
export async function runScan(paths: string[], flags: ScanFlags): Promise<void> {
  const { parsePageSize, savingsOf, scan, toScanJson } = await import('../../scan/index.js');
  const pageSize = parsePageSize(flags.pageSize);
  const failBelow = flags.failBelow === undefined ? undefined : percentOption(flags.failBelow);
  const top = countOption('--top', flags.top);
  const fileRows = flags.files === 'all' ? Infinity : countOption('--files', flags.files, " or 'all'");
  const progress = new Progress({ label: 'scan', quiet: flags.quiet });
  let result: Awaited<ReturnType<typeof scan>>;
  try {
    result = await scan(paths, {
      pageSize,
      allFiles: flags.allFiles,
      strict: flags.strict,
      relocations: flags.json === true,
      onProgress: progress.callback,
    });
  } finally {
    progress.done();
  }
  if (flags.json) {
    const { addRelocationWrites } = await import('../../loader/rtld/relocated-pages.js');
    process.stdout.write(`${JSON.stringify(addRelocationWrites(toScanJson(result, top), result), null, 2)}\n`);
  } else if (!flags.quiet) {
    const { formatScan } = await import('../../scan/text.js');
    process.stdout.write(formatScan(result, { top, fileRows }));
  }
  if (result.totals.files === 0) {
    // Nothing to measure: say so, and a --fail-below gate fails for that reason, not for a 0% saving.
    const message = nothingFound(paths, flags.allFiles === true, result.skipped.length);
    if (failBelow !== undefined) throw new InputError('E_NOTHING_FOUND', message, { file: paths.join(', ') });
    if (!flags.quiet) process.stderr.write(`pagestack: scan: ${message}\n`);
    return;
  }
  if (failBelow !== undefined) {
    const { pages } = savingsOf(result.totals, result.pageSize);
    const percent = result.totals.pages === 0 ? 0 : (pages / result.totals.pages) * 100;
    if (percent < failBelow) {
      throw new InputError(
        'E_THRESHOLD',
        `dedup would save ${percent.toFixed(2)}% of pages, below --fail-below ${failBelow}%`,
        {
          expected: failBelow,
          actual: percent,
        },
      );
    }
  }
}

/** `no ELF files found in DIR (3 files skipped: not ELF; --all-files scans them)`. */
export function nothingFound(paths: readonly string[], allFiles: boolean, skipped: number): string {
  const what = allFiles ? 'no files' : 'no ELF files';
  const why =
    skipped === 0
      ? ''
      : ` (${skipped} ${skipped === 1 ? 'path' : 'paths'} skipped${allFiles ? '' : '; --all-files reads files without the ELF magic'})`;
  return `${what} found in ${paths.join(', ')}${why}`;
}

function percentOption(text: string): number {
  const v = Number(text.trim().replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw new UsageError(`--fail-below must be a percentage from 0 to 100, not '${text}'`);
  }
  return v;
}

function countOption(name: string, text: string, alternative = ''): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v))
    throw new UsageError(`${name} must be a whole number${alternative}, not '${text}'`);
  return v;
}
