/**
 * `pagestack pack PATH... -o OUT`: packs files, directories, symlinks and
 * hard links into a container (docs/FORMAT.md).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { Progress } from '../progress.js';
import { jsonDocument, SCHEMAS } from '../json.js';

export interface PackFlags {
  output?: string;
  pageSize: string;
  codec: string;
  level?: string;
  maxSize?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
  exclude?: string[];
  skipSpecial?: boolean;
}

export function register(program: Command): void {
  program
    .command('pack')
    .description('pack files into a container: each distinct page stored once, zero pages as nothing')
    .argument(
      '<path...>',
      'files and directories, each stored under its own name (symlinks are stored, never followed)',
    )
    .option('-o, --output <file>', 'the container to write (written to a temporary file, renamed when complete)')
    .option('-p, --page-size <bytes>', 'page size: 4096, 16384 or 65536 (or 4K, 16K, 64K)', '4096')
    .option(
      '--codec <name>',
      "'lz4': pages LZ4-compressed when that saves space; 'zstd': each page zstd-compressed on its own (smaller, slower); 'none': raw, page-aligned pages a loader can mmap",
      'lz4',
    )
    .option('--level <n>', 'zstd compression level, 1..19 (default 3); only with --codec zstd')
    .option(
      '--max-size <bytes>',
      'fail (exit 1, no output written) when the container would be larger than this (e.g. 200M)',
    )
    .option(
      '--threads <n>',
      'compression worker threads (default: one fewer than the CPUs, at most 3; 0 for inputs under 8 MiB)',
    )
    .option(
      '--exclude <pattern>',
      'leave out paths inside the container matching this glob (repeatable; without / it matches names at any depth: --exclude "*.o" --exclude .git)',
      collect,
    )
    .option('--skip-special', 'leave out FIFOs, sockets and device files with a warning, instead of failing')
    .option('--json', 'print the summary as JSON (schema pagestack.pack/1)')
    .addHelpText(
      'after',
      `
Examples:
  pagestack pack samples/bin -o samples.pgs
  SOURCE_DATE_EPOCH=1700000000 pagestack pack build/bin build/lib -o image.pgs --max-size 200M --quiet
  pagestack pack --codec zstd --level 3 /usr/bin -o usr-bin.pgs
  pagestack pack --codec none --page-size 64K rootfs -o rootfs.pgs
  pagestack pack build --exclude '*.o' --exclude 'build/tmp' --skip-special -o build.pgs

Same input, same bytes: the walk is sorted and nothing depends on the clock;
SOURCE_DATE_EPOCH clamps later mtimes to it. The output file is never packed
into itself, even when it lies inside an input.`,
    )
    .action((paths: string[], flags: PackFlags) => runPack(paths, flags));
}

/** The command's work, once argv is parsed (by commander, or by ../plain-argv.ts for plain command lines). */
export async function runPack(paths: string[], flags: PackFlags): Promise<void> {
  const { parsePageSize } = await import('../../abi/page-size.js');
  if (!flags.output) throw new UsageError('no output file: give -o OUT');
  if (flags.codec !== 'lz4' && flags.codec !== 'zstd' && flags.codec !== 'none')
    throw new UsageError(`--codec must be 'lz4', 'zstd' or 'none', not '${flags.codec}'`);
  if (flags.level !== undefined && flags.codec !== 'zstd')
    throw new UsageError(`--level applies to --codec zstd only, not '${flags.codec}'`);
  if (flags.level !== undefined && !/^\d+$/.test(flags.level))
    throw new UsageError(`--level must be an integer from 1 to 19, not '${flags.level}'`);
  const threads = flags.threads === undefined ? undefined : threadCount(flags.threads);
  const pageSize = parsePageSize(flags.pageSize);
  if (flags.codec === 'lz4') {
    // The LZ4 workers boot while the rest of pack loads and walks its inputs (container/compress-workers.ts).
    const { startCompressWorkers } = await import('../../container/compress-workers.js');
    startCompressWorkers(pageSize, 'lz4', threads);
  }
  const { pack } = await import('../../container/pack.js');
  const { formatPackSummary, parseByteSize, sourceDateEpoch } = await import('../../container/text.js');
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const progress = new Progress({ label: 'pack', quiet: flags.quiet || flags.json });
  try {
    const summary = await pack(paths, flags.output, {
      pageSize,
      codec: flags.codec,
      ...(flags.level === undefined ? {} : { level: Number(flags.level) }),
      maxSize: flags.maxSize === undefined ? undefined : parseByteSize('--max-size', flags.maxSize),
      sourceDateEpoch: sourceDateEpoch(),
      threads,
      signal: controller.signal,
      onProgress: progress.callback,
      exclude: flags.exclude,
      skipSpecial: flags.skipSpecial,
      onSkip: (s) => {
        // Excluded paths were asked for; a special file or the output itself is worth a warning.
        if (s.reason !== 'excluded' && !flags.quiet)
          process.stderr.write(`pagestack: pack: left out ${s.source}: ${s.detail}\n`);
      },
    });
    progress.done();
    if (flags.json) process.stdout.write(jsonDocument(SCHEMAS.pack, summary));
    else if (!flags.quiet) process.stdout.write(formatPackSummary(summary));
  } finally {
    progress.done();
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function threadCount(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v > 64)
    throw new UsageError(`--threads must be a whole number from 0 to 64, not '${text}'`);
  return v;
}
