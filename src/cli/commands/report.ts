import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

// Placeholder until the command is implemented.
export function register(program: Command): void {
  program
    .command('report')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => {
      throw new UsageError('report is not implemented yet');
    });
}
