/**
 * The commander program: every command registered, errors routed to
 * stderr with the `pagestack:` prefix. Loaded by main.ts only when argv
 * needs parsing, so that `pagestack --version` stays at bare Node's start-up.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('pagestack')
    .description('Find, pack and share identical pages of ELF executables; simulate loading them.')
    .version(VERSION)
    .option('--debug', 'print stack traces with errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `pagestack: ${s.slice(7)}` : s),
    });
  for (const register of commands) register(program);
  for (const c of program.commands) c.exitOverride().showSuggestionAfterError(true);
  return program;
}

export { CommanderError };
