import type { Command } from 'commander';
import { VERSION } from '../../version.js';
import { parseByteSize } from '../../container/text.js';
import { DEFAULT_BUDGET } from '../../sim/budget.js';
import { Progress } from '../progress.js';

interface RunFlags {
  json?: boolean;
  policy?: string[];
  skipUnavailable?: boolean;
  html?: string;
  svg?: string;
  quiet?: boolean;
  maxWork?: string;
  maxMemory?: string;
  fileCache?: string;
}

/** `pagestack run SCENARIO [--json] [--policy NAME[,NAME...]]... [--html FILE] [--svg FILE]`: one scenario under each policy set, compared. */
export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run a scenario (docs/SCENARIOS.md) under each of its policy sets and compare memory, faults, swap and estimated CPU time',
    )
    .argument('<scenario>', 'scenario file (JSON)')
    .option(
      '--policy <names>',
      'run only these policy sets, in this order (repeat it, or a comma list: --policy zram,ksm)',
      collectNames,
    )
    .option(
      '--skip-unavailable',
      'run the policies this build can run and list the others, instead of refusing the scenario',
    )
    .option('--json', 'print the result document (schema pagestack.run/1) instead of the table')
    .option(
      '--html <file>',
      'also write a self-contained HTML page: the comparison table and charts per policy over simulated time (frames, swap used, zram/zswap pool)',
    )
    .option('--svg <file>', 'also write the charts as one SVG document')
    .option(
      '--max-work <n>',
      `refuse a scenario estimated to take more page operations than this (default ${DEFAULT_BUDGET.maxWork}; docs/SCENARIOS.md, Budgets)`,
    )
    .option(
      '--max-memory <bytes>',
      `refuse a scenario estimated to need more memory than this, and stop a run that uses more (default ${DEFAULT_BUDGET.maxMemory / 1024 ** 3}G)`,
    )
    .option(
      '--file-cache <state>',
      "instead of the scenario's machine.fileCache: faulted, pages, write or write:BYTES (how program files sit in the page cache before they are first mapped; a filling state turns keepPageCache on)",
    )
    .addHelpText(
      'after',
      `
Examples:
  pagestack run samples/scenarios/sharing.json
  pagestack run samples/scenarios/pressure.json --policy zram,zram+dedup --policy ksm --html pressure.html
  pagestack run --json samples/scenarios/calloc.json | jq '.policies[].summary.framesPeak'

The scenario format: docs/SCENARIOS.md`,
    )
    .action(async (scenario: string, flags: RunFlags) => {
      const { writeFileAtomic } = await import('../../report/report.js');
      const { runHtml, runSvg } = await import('../../report/run-charts.js');
      const { formatRun } = await import('../../sim/format-run.js');
      const { runScenario } = await import('../../sim/run-scenario.js');
      const { fileCacheOption } = await import('../../loader/file-cache.js');
      const fileCache = flags.fileCache === undefined ? undefined : fileCacheOption('--file-cache', flags.fileCache);
      const progress = new Progress({
        label: 'run',
        unit: 'policies',
        quiet: flags.json === true || flags.quiet === true,
      });
      const result = await runScenario(scenario, {
        ...(fileCache === undefined ? {} : { fileCache }),
        onProgress: progress.callback,
        ...(flags.policy === undefined ? {} : { policies: flags.policy }),
        skipUnavailable: flags.skipUnavailable ?? false,
        budget: {
          ...(flags.maxWork === undefined ? {} : { maxWork: parseByteSize('--max-work', flags.maxWork) }),
          ...(flags.maxMemory === undefined ? {} : { maxMemory: parseByteSize('--max-memory', flags.maxMemory) }),
        },
      });
      progress.done();
      // Written through a temp file and a rename: a reader never sees half a file.
      if (flags.html !== undefined) writeFileAtomic(flags.html, runHtml(result, `pagestack ${VERSION}`));
      if (flags.svg !== undefined) writeFileAtomic(flags.svg, runSvg(result));
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (!flags.quiet) process.stdout.write(formatRun(result));
    });
}

/** --policy a,b --policy c: the names in order, each once. */
function collectNames(value: string, previous: string[] | undefined): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return [...new Set([...(previous ?? []), ...names])];
}
