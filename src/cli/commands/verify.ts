/**
 * `pagestack verify IN`: checks every checksum and structure of a
 * container; names the first damaged structure and its offset; exit 1 on
 * any damage.
 */
import type { Command } from 'commander';
import { Progress } from '../progress.js';

interface VerifyFlags {
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check a container: header, tables, and every page after decoding; exit 1 on damage')
    .argument('<container>', 'the container to check')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing; the exit status tells')
    .addHelpText(
      'after',
      `
Examples:
  pagestack verify samples.pgs
  pagestack verify --quiet image.pgs || echo damaged`,
    )
    .action(async (input: string, flags: VerifyFlags) => {
      const { verify } = await import('../../container/index.js');
      const { formatVerify } = await import('../../container/text.js');
      const progress = new Progress({ label: 'verify', quiet: flags.quiet || flags.json });
      const result = await verify(input, { onProgress: progress.callback });
      progress.done();
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (!flags.quiet) {
        const text = formatVerify(result);
        if (result.ok) process.stdout.write(text);
        else process.stderr.write(`pagestack: verify: ${text}`);
      }
      if (!result.ok) process.exitCode = 1;
    });
}
