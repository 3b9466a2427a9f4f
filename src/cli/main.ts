/**
 * The CLI: argv in, a library call, a printed or JSON result out. Commands
 * live one per file in ./commands and hold no logic of their own.
 *
 * Exit status: 0 ok, 1 failure (bad input, damage found, a threshold
 * crossed, nothing found where --fail-below asked for a figure), 2 usage
 * error. No arguments: the help on stdout, status 0. A closed stdout (the
 * reader of a pipe went away): silence, status 0 (./global.ts).
 *
 * Modules load on demand: commander with the program (./program.ts), and
 * each command's library when that command runs (see ./commands).
 */
import { PagestackError } from '../errors.js';
import { VERSION } from '../version.js';
import type { PackFlags } from './commands/pack.js';
import type { ScanFlags } from './commands/scan.js';
import { BROKEN_PIPE_STATUS, globalFlags, isBrokenPipe, resetGlobalFlags, setGlobalFlags } from './global.js';

/** Runs the CLI and returns the exit status. Never throws. */
export async function main(argv: string[]): Promise<number> {
  resetGlobalFlags();
  // `pagestack --version` alone answers before commander or any command module is loaded.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  // A plain `pagestack scan ...` or `pagestack pack ...` runs without commander (./plain-argv.ts says which lines are plain).
  const command = argv[2];
  if (command === 'scan' || command === 'pack') {
    const { PACK_SPEC, SCAN_SPEC, plainArgs } = await import('./plain-argv.js');
    const plain = plainArgs(argv.slice(3), command === 'scan' ? SCAN_SPEC : PACK_SPEC);
    if (plain) {
      const debug = plain.flags.debug === true;
      setGlobalFlags({ quiet: plain.flags.quiet === true, debug });
      try {
        if (command === 'scan') {
          const { runScan } = await import('./commands/scan.js');
          await runScan(plain.paths, plain.flags as unknown as ScanFlags);
        } else {
          const { runPack } = await import('./commands/pack.js');
          await runPack(plain.paths, plain.flags as unknown as PackFlags);
        }
        return typeof process.exitCode === 'number' ? process.exitCode : 0;
      } catch (err) {
        return reportError(err, command, debug);
      }
    }
  }
  const { buildProgram } = await import('./program.js');
  const program = buildProgram();
  if (argv.length <= 2) {
    // No arguments is asking for help: on stdout, status 0 (docs/notes/cli.md).
    process.stdout.write(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err, commandName(argv), globalFlags().debug || argv.includes('--debug'));
  }
}

function commandName(argv: string[]): string {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  return word ?? '';
}

/** Prints one line, `pagestack: <command>: <what>: <why>`, and returns the exit status. */
export function reportError(err: unknown, command: string, debug: boolean): number {
  if (isBrokenPipe(err)) return BROKEN_PIPE_STATUS;
  if (isCommanderError(err)) {
    // commander already printed its message (help and version exit 0).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return 0;
    return 2;
  }
  const prefix = command ? `pagestack: ${command}: ` : 'pagestack: ';
  if (err instanceof PagestackError) {
    process.stderr.write(`${prefix}${err.message}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(
    `${prefix}internal error: ${e?.message ?? String(err)} (rerun with --debug for the stack trace)\n`,
  );
  if (debug && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

/** A CommanderError, told by its code so that this file need not load commander. */
function isCommanderError(err: unknown): err is Error & { code: string } {
  const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('commander.');
}

export { installStreamGuards } from './global.js';
