/**
 * The commander program: every command registered, errors routed to
 * stderr with the `pagestack:` prefix. Loaded by main.ts only when argv
 * needs parsing, so that `pagestack --version` stays at bare Node's start-up.
 */
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { commands } from './commands/index.js';
import { addGlobalOptions, oneLine } from './global.js';

export function buildProgram(): Command {
  const program = new Command('pagestack')
    .description('Find, pack and share identical pages of ELF executables; simulate loading them.')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(oneLine(s.startsWith('error:') ? `pagestack: ${s.slice(7)}` : s)),
    })
    .configureHelp({ showGlobalOptions: true });
  for (const register of commands) register(program);
  addGlobalOptions(program);
  for (const c of program.commands) c.exitOverride().showSuggestionAfterError(true);
  return program;
}
