import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { SkippedMember } from '../../sim/images.js';
import type { TouchMode } from '../../sim/load.js';
import { Progress } from '../progress.js';

interface LoadFlags {
  procs: string;
  fork?: boolean;
  touch: string;
  json?: boolean;
  root?: string;
  libs: boolean;
  libraryPath?: string;
  fileCache: string;
  quiet?: boolean;
}

/** `pagestack load IMAGE|FILE... [--procs N] [--fork] [--touch all|text|FRACTION] [--json] [--root DIR]`. */
export function register(program: Command): void {
  program
    .command('load')
    .description(
      "exec programs (ELF files or a container's members), start them up, and compare memory with the content-shared and the per-file page cache",
    )
    .argument('<image...>', 'ELF programs, pagestack containers (every program in them), or CONTAINER:MEMBER')
    .option('--procs <n>', 'processes per program', '1')
    .option('--fork', 'start processes 2..N by fork from the first instead of execve')
    .option('--touch <what>', 'what each start-up touches: all, text, or a fraction of the pages (0..1]', 'all')
    .option(
      '--root <dir>',
      'resolve interpreters (PT_INTERP) and shared libraries inside DIR, as if chrooted there (default: /)',
    )
    .option('--no-libs', 'map only the program and ld.so, as execve leaves them (no library search, no relocation)')
    .option('--library-path <dirs>', 'LD_LIBRARY_PATH for the library search')
    .option(
      '--file-cache <state>',
      'how the mapped files sit in the page cache before the first start-up: faulted (only pages faults read, 4 KiB), pages (all cached, 4 KiB folios), write or write:BYTES (all cached, in the large folios write() calls of that size leave)',
      'faulted',
    )
    .option('--json', 'print the result document (schema pagestack.load/1)')
    .addHelpText(
      'after',
      `
Examples:
  pagestack load samples/bin/tables samples/bin/tables2 samples/bin/hello --procs 2
  pagestack pack /usr/bin -o usr-bin.pgs && pagestack load usr-bin.pgs --touch text
  pagestack load samples.pgs:bin/hello --procs 8 --fork --json
  pagestack load image.pgs:usr/bin/python3    # libraries from the image, else from / (or --root)

Programs go through ld.so: their libraries are found, mapped and relocated as
at the entry point. Library constructors and their malloc heap are not simulated.`,
    )
    .action(async (images: string[], flags: LoadFlags) => {
      const { formatLoad } = await import('../../sim/format-load.js');
      const { loadPrograms } = await import('../../sim/load.js');
      const { fileCacheOption } = await import('../../loader/file-cache.js');
      const fileCache = fileCacheOption('--file-cache', flags.fileCache);
      const procs = /^\d+$/.test(flags.procs) ? Number(flags.procs) : NaN;
      if (!Number.isSafeInteger(procs)) throw new UsageError(`--procs must be a whole number, not "${flags.procs}"`);
      const progress = new Progress({ label: 'load', unit: 'processes', quiet: flags.quiet || flags.json });
      let result: Awaited<ReturnType<typeof loadPrograms>>;
      try {
        result = await loadPrograms(images, {
          procs,
          fork: flags.fork ?? false,
          touch: parseTouch(flags.touch),
          ...(flags.root === undefined ? {} : { root: flags.root }),
          libs: flags.libs,
          fileCache,
          ...(flags.libraryPath === undefined ? {} : { libraryPath: flags.libraryPath }),
          onProgress: progress.callback,
        });
      } finally {
        progress.done();
      }
      if (!flags.quiet) process.stderr.write(skippedLines(result.skipped));
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (!flags.quiet) process.stdout.write(formatLoad(result));
    });
}

/** Shown on stderr: the first members skipped, each with its reason, then how many more. */
const SKIPPED_SHOWN = 10;

export function skippedLines(skipped: readonly SkippedMember[]): string {
  const lines = skipped.slice(0, SKIPPED_SHOWN).map((s) => `pagestack: load: skipped ${s.member}: ${s.reason}\n`);
  const more = skipped.length - SKIPPED_SHOWN;
  if (more > 0)
    lines.push(
      `pagestack: load: skipped ${more} more ${more === 1 ? 'member' : 'members'} that ${more === 1 ? 'is' : 'are'} not programs (--json lists them all)\n`,
    );
  return lines.join('');
}

function parseTouch(text: string): TouchMode {
  if (text === 'all' || text === 'text') return text;
  const f = /^(0?\.\d+|1(\.0*)?|0|\d*\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(f > 0 && f <= 1)) throw new UsageError(`--touch must be all, text or a fraction in (0, 1], not "${text}"`);
  return f;
}
