import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

// Placeholder until the command is implemented.
export function register(program: Command): void {
  program
    .command('maps')
    .description('(not yet implemented)')
    .allowUnknownOption()
    .argument('[args...]')
    .action(() => {
      throw new UsageError('maps is not implemented yet');
    });
}
