/**
 * `pagestack verify IN`: checks every checksum and structure of a
 * container; names the first damaged structure and its offset; exit 1 on
 * any damage.
 */
import type { Command } from 'commander';
import { Progress } from '../progress.js';
import { jsonDocument, SCHEMAS } from '../json.js';

interface VerifyFlags {
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check a container: header, tables, and every page after decoding; exit 1 on damage')
    .argument('<container>', 'the container to check')
    .option('--json', 'print the result as JSON (schema pagestack.verify/1)')
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
      if (flags.json) process.stdout.write(jsonDocument(SCHEMAS.verify, result));
      else if (!flags.quiet) {
        const text = formatVerify(result);
        if (result.ok) process.stdout.write(text);
        else process.stderr.write(`pagestack: verify: ${text}`);
      }
      if (!result.ok && flags.debug && result.damage?.stack) process.stderr.write(`${result.damage.stack}\n`);
      if (!result.ok) process.exitCode = 1;
    });
}
