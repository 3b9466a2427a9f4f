/**
 * `pagestack ls IN`: the files of a container with their page counts
 * (zero, shared, unique) and the container's dedup and compression figures.
 */
import type { Command } from 'commander';

interface LsFlags {
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('ls')
    .description('list the files of a container with zero/shared/unique page counts and dedup figures')
    .argument('<container>', 'the container to list')
    .option('--json', 'print the listing as JSON')
    .addHelpText(
      'after',
      `
Examples:
  pagestack ls samples.pgs
  pagestack ls --json image.pgs | jq '.totals'`,
    )
    .action(async (input: string, flags: LsFlags) => {
      const { list } = await import('../../container/index.js');
      const { formatList } = await import('../../container/text.js');
      const result = await list(input);
      process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatList(result));
    });
}
