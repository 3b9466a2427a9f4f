/**
 * `pagestack cat IN MEMBER`: one member's contents to stdout.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('cat')
    .description("write one member's contents to stdout (each page checked before it is written)")
    .argument('<container>', 'the container to read')
    .argument('<member>', "the member's path inside the container, as `pagestack ls` prints it")
    .addHelpText(
      'after',
      `
Examples:
  pagestack cat samples.pgs bin/hello > hello
  pagestack cat image.pgs bin/ls | sha256sum`,
    )
    .action(async (input: string, member: string) => {
      const { catMember } = await import('../../container/index.js');
      await catMember(input, member, process.stdout);
    });
}
