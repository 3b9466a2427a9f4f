/**
 * What every command shares, handled once: the global options (-q/--quiet,
 * --debug), and what happens when stdout or stderr goes away.
 *
 * A closed pipe (`pagestack scan --json /usr/bin | head`) is the reader
 * saying it has seen enough: the process stops at once, prints nothing and
 * exits 0, as a pipeline stage should. Kept small and free of command
 * imports so the CLI entry can load it before anything else.
 */
import type { Command } from 'commander';

/** The exit status when the reader of stdout or stderr has gone away. */
export const BROKEN_PIPE_STATUS = 0;

/** The options every command takes, wherever they appear on the command line. */
export interface GlobalFlags {
  quiet: boolean;
  debug: boolean;
}

const state: GlobalFlags = { quiet: false, debug: false };

/** The global options of the command being run (set before its action starts). */
export function globalFlags(): Readonly<GlobalFlags> {
  return state;
}

/** Sets the global options where commander does not parse the command line (./plain-argv.ts). */
export function setGlobalFlags(flags: GlobalFlags): void {
  state.quiet = flags.quiet;
  state.debug = flags.debug;
}

/** Forgets the flags of an earlier run (main() may run more than once in one process). */
export function resetGlobalFlags(): void {
  state.quiet = false;
  state.debug = false;
}

/** True for the error a write gets when the reading end of its pipe is closed. */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EPIPE';
}

let guarded = false;

/**
 * Makes a closed stdout or stderr end the process quietly (status
 * BROKEN_PIPE_STATUS) instead of crashing with an unhandled 'error' event.
 * Any other write error on stdout ends it with one line and status 1.
 * For the CLI process only; idempotent.
 */
export function installStreamGuards(): void {
  if (guarded) return;
  guarded = true;
  const onError = (stream: 'stdout' | 'stderr') => (err: Error) => {
    if (isBrokenPipe(err)) process.exit(BROKEN_PIPE_STATUS);
    if (stream === 'stdout') {
      try {
        process.stderr.write(`pagestack: writing to stdout: ${err.message}\n`);
      } catch {
        // stderr is gone as well: the status has to say it.
      }
    }
    process.exit(1);
  };
  process.stdout.on('error', onError('stdout'));
  process.stderr.on('error', onError('stderr'));
}

/**
 * Adds -q/--quiet and --debug to the program and to each command (so they
 * work before or after the command name, and show in every --help), and
 * records their values before the command's action runs. A command reads
 * them as `flags.quiet` / `flags.debug` or through globalFlags().
 */
export function addGlobalOptions(program: Command): void {
  const add = (c: Command): void => {
    if (!c.options.some((o) => o.long === '--quiet'))
      c.option('-q, --quiet', 'print nothing but errors (--json documents and cat output are still written)');
    if (!c.options.some((o) => o.long === '--debug')) c.option('--debug', 'print stack traces with errors');
  };
  add(program);
  program.commands.forEach(add);
  program.hook('preAction', (_program, action) => {
    const merged = action.optsWithGlobals<{ quiet?: boolean; debug?: boolean }>();
    state.quiet = merged.quiet === true;
    state.debug = merged.debug === true;
    action.setOptionValue('quiet', state.quiet);
    action.setOptionValue('debug', state.debug);
  });
}

/** Turns commander's two-line "unknown command 'x'\n(Did you mean y?)" into one line. */
export function oneLine(message: string): string {
  return message.replace(/\n\(Did you mean ([^)]*)\?\)/, ' (did you mean $1?)').replace(/\n(?!$)/g, ' ');
}
