/**
 * Options work in any position: no option takes a variable number of
 * values that could swallow the positional arguments after it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { runCli } from './cli-inprocess.js';

const SCENARIO = path.resolve(__dirname, '../samples/scenarios/pressure.json');
const CALLOC = path.resolve(__dirname, '../samples/scenarios/calloc.json');

function policiesRun(json: string): string[] {
  return (JSON.parse(json) as { policies: Array<{ name: string }> }).policies.map((p) => p.name);
}

describe('run --policy', () => {
  it('before the scenario', async () => {
    const r = await runCli('run', '--json', '--policy', 'no-swap', SCENARIO);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(policiesRun(r.stdout)).toEqual(['no-swap']);
  });

  it('repeated and as a comma list, in the order given, after the scenario', async () => {
    const r = await runCli('run', CALLOC, '--policy', 'on-commit,eager', '--json', '--policy', 'glibc');
    expect(r.status).toBe(0);
    expect(policiesRun(r.stdout)).toEqual(['on-commit', 'eager', 'glibc']);
  });
});

describe('no option of any command is variadic', () => {
  it('every option takes at most one value', () => {
    const program = buildProgram();
    for (const command of [program, ...program.commands]) {
      for (const option of command.options) expect(option.variadic, `${command.name()} ${option.flags}`).toBe(false);
    }
  });
});
