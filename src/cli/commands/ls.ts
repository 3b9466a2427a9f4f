/**
 * `pagestack ls IN`: the files of a container with their page counts
 * (zero, shared, singleton: docs/vocabulary.md) and the container's
 * dedup and compression figures.
 */
import type { Command } from 'commander';
import { jsonDocument, SCHEMAS } from '../json.js';

interface LsFlags {
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('ls')
    .description('list the files of a container with zero/shared/singleton page counts and dedup figures')
    .argument('<container>', 'the container to list')
    .option('--json', 'print the listing as JSON (schema pagestack.ls/1)')
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
      if (flags.json) process.stdout.write(jsonDocument(SCHEMAS.ls, result));
      else if (!flags.quiet) process.stdout.write(formatList(result));
    });
}
