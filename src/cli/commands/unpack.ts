/**
 * `pagestack unpack IN -C DIR`: restores a container's tree bit-exactly.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { Progress } from '../progress.js';
import { jsonDocument, SCHEMAS } from '../json.js';

interface UnpackFlags {
  directory: string;
  force?: boolean;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('unpack')
    .description('restore the files of a container: contents, symlinks, hard links, permissions, mtimes')
    .argument('<container>', 'the container to read')
    .option('-C, --directory <dir>', 'where to restore (created if missing)', '.')
    .option('-f, --force', 'replace existing files and symlinks in the way (never writes through them)')
    .option('--threads <n>', 'worker threads writing files (default: one per CPU, at most 4; 0 under 8 MiB of content)')
    .option('--json', 'print the summary as JSON (schema pagestack.unpack/1)')
    .addHelpText(
      'after',
      `
Examples:
  pagestack unpack samples.pgs -C /tmp/out
  pagestack unpack --force image.pgs -C rootfs

Every page is checked (checksums, exact LZ4 size) as it is read; a file with a
damaged page is not left behind. Entries that would land outside DIR (absolute
paths, '..', paths through a symlink) are refused before anything is written.`,
    )
    .action(async (input: string, flags: UnpackFlags) => {
      const { unpack } = await import('../../container/index.js');
      const { formatUnpackSummary } = await import('../../container/text.js');
      const controller = new AbortController();
      const interrupt = (): void => controller.abort();
      process.once('SIGINT', interrupt);
      const progress = new Progress({ label: 'unpack', quiet: flags.quiet || flags.json });
      try {
        const threads = flags.threads === undefined ? undefined : threadCount(flags.threads);
        const summary = await unpack(input, flags.directory, {
          force: flags.force,
          threads,
          signal: controller.signal,
          onProgress: progress.callback,
        });
        progress.done();
        if (flags.json) process.stdout.write(jsonDocument(SCHEMAS.unpack, summary));
        else if (!flags.quiet) process.stdout.write(formatUnpackSummary(summary));
      } finally {
        progress.done();
        process.off('SIGINT', interrupt);
      }
    });
}

function threadCount(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v > 64)
    throw new UsageError(`--threads must be a whole number from 0 to 64, not '${text}'`);
  return v;
}
