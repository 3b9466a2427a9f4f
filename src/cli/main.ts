/**
 * The CLI: argv in, a library call, a printed or JSON result out. Commands
 * live one per file in ./commands and hold no logic of their own.
 *
 * Modules load on demand: commander with the program, and each command's
 * library when that command runs (see ./commands).
 *
 * Exit status: 0 ok, 1 failure (bad input, damage found, a threshold
 * crossed), 2 usage error.
 */
import { PagestackError } from '../errors.js';
import { VERSION } from '../version.js';

/** Runs the CLI and returns the exit status. Never throws. */
export async function main(argv: string[]): Promise<number> {
  // `pagestack --version` alone answers before any command module is loaded.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const { buildProgram, CommanderError } = await import('./program.js');
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (help and version exit 0).
      const shown =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      return shown ? 0 : 2;
    }
    return reportError(err, commandName(argv), debug);
  }
}

function commandName(argv: string[]): string {
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  return word ?? '';
}

/** Prints one line, `pagestack: <command>: <what>: <why>`, and returns the exit status. */
export function reportError(err: unknown, command: string, debug: boolean): number {
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
