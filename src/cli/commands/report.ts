/**
 * `pagestack report IMAGE|PATH... -o report.html`: one self-contained HTML
 * page with a page map of every file (zero, unique, shared within the file,
 * shared across files), totals, a per-file savings chart and sortable
 * tables. Inputs are container images (pack's output) or files and
 * directories (scanned as `pagestack scan` does).
 */
import type { Command } from 'commander';
import { Progress } from '../progress.js';

interface ReportFlags {
  output: string;
  pageSize?: string;
  allFiles?: boolean;
  title?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write an HTML page map of ELF files: zero, singleton and shared pages, savings, sortable tables')
    .argument(
      '<input...>',
      'container images (pagestack pack), ELF files, or directories to walk (symlinks in them are not followed)',
    )
    .requiredOption(
      '-o, --output <file>',
      'the HTML file to write (self-contained: open it offline, keep it as a CI artifact)',
    )
    .option(
      '-p, --page-size <bytes>',
      "page size: 4096, 16384 or 65536 (or 4K, 16K, 64K); default 4096, or the containers'",
    )
    .option('--all-files', 'report files without the ELF magic too, as plain pages')
    .option('--title <text>', 'page title (default: the inputs)')
    .addHelpText(
      'after',
      `
Examples:
  pagestack report samples/bin -o report.html
  pagestack report samples.pgs -o report.html                 # a container: pages from its share map
  pagestack report --page-size 64K /usr/bin /usr/lib/x86_64-linux-gnu -o system.html
  pagestack report build/out --title "nightly build" -o artifacts/pages.html`,
    )
    .action(async (inputs: string[], flags: ReportFlags) => {
      const { report } = await import('../../report/index.js');
      const { parsePageSize } = await import('../../scan/index.js');
      const { formatSkipped } = await import('../../scan/text.js');
      const { nothingFound } = await import('./scan.js');
      const { formatBytes, formatCount, formatPercent } = await import('../../report/svg.js');
      const pageSize = flags.pageSize === undefined ? undefined : parsePageSize(flags.pageSize);
      const progress = new Progress({ label: 'report', quiet: flags.quiet });
      let summary: Awaited<ReturnType<typeof report>>;
      try {
        summary = await report(inputs, flags.output, {
          pageSize,
          allFiles: flags.allFiles,
          title: flags.title,
          onProgress: progress.callback,
        });
      } finally {
        progress.done();
      }
      if (flags.quiet) return;
      const t = summary.model.totals;
      if (t.files === 0)
        process.stderr.write(
          `pagestack: report: ${nothingFound(inputs, flags.allFiles === true, summary.model.skipped.length)}\n`,
        );
      process.stdout.write(
        `wrote ${summary.output} (${formatBytes(summary.bytes)}): ${formatCount(t.files)} ${t.files === 1 ? 'file' : 'files'}, ${formatCount(t.pages)} ${t.pages === 1 ? 'page' : 'pages'}; ` +
          `${formatCount(t.zero)} zero, ${formatCount(t.sharedWithin + t.sharedAcross)} shared, dedup saves ${formatBytes(t.savedBytes)} (${formatPercent(t.savedPages, t.pages)})\n`,
      );
      if (summary.model.skipped.length > 0)
        process.stdout.write(
          `${formatSkipped(summary.model.skipped, 'reports them', 'the report lists them all').join('\n')}\n`,
        );
    });
}
