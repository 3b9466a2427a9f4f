import type { Command } from 'commander';
import { formatRun } from '../../sim/format-run.js';
import { runScenario } from '../../sim/run-scenario.js';

interface RunFlags {
  json?: boolean;
  policy?: string[];
  skipUnavailable?: boolean;
}

/** `pagestack run SCENARIO [--json] [--policy NAME...]`: one scenario under each policy set, compared. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run a scenario (docs/SCENARIOS.md) under each of its policy sets and compare memory, faults, swap and estimated CPU time')
    .argument('<scenario>', 'scenario file (JSON)')
    .option('--policy <name...>', 'run only these policy sets, in this order')
    .option('--skip-unavailable', 'run the policies this build can run and list the others, instead of refusing the scenario')
    .option('--json', 'print the result document (schema pagestack-run/1) instead of the table')
    .action(async (scenario: string, flags: RunFlags) => {
      const result = await runScenario(scenario, {
        ...(flags.policy === undefined ? {} : { policies: flags.policy }),
        skipUnavailable: flags.skipUnavailable ?? false,
      });
      process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : formatRun(result));
    });
}
