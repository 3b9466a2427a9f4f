/**
 * runScenario: reads and checks a scenario, refuses what this build cannot
 * simulate (naming the policy field or the step), then runs the same steps
 * under each selected policy set on a fresh Machine and returns the
 * comparison as one plain document (result.ts).
 *
 *   const result = await runScenario('samples/scenarios/sharing.json');
 *   result.policies.map((p) => [p.name, p.summary.pssTotal]);
 */
import { fillsPageCache, formatFileCacheState, type FileCacheState } from '../loader/file-cache.js';
import { UsageError } from '../errors.js';
import { DOCUMENTED_COSTS, withOverrides, type CostOpName, type CostTable } from '../mm/cost.js';
import type { OpenContainer } from './container-reader.js';
import { missingMechanisms } from './mechanisms.js';
import type { PolicySet } from './policy.js';
import { RUN_SCHEMA, type RunResult } from './result.js';
import { runPolicy } from './runner.js';
import { DEFAULT_BUDGET, checkBudget, type Budget } from './budget.js';
import type { Json } from './scenario/check.js';
import { JsonPath } from './scenario/check.js';
import { loadScenario, type LoadedScenario } from './scenario/parse.js';

export interface RunScenarioOptions {
  /** Names of the policies to run, in this order; default: all, in the scenario's order. */
  policies?: string[];
  /** Check the memory model's invariants after every step (slow; for tests). */
  checkInvariants?: boolean;
  /** The prices the scenario's `costs` override; default DOCUMENTED_COSTS. */
  costTable?: CostTable;
  /** For a scenario given as data: where its relative paths start. Default: the cwd. */
  baseDir?: string;
  /** A container reader to use instead of this build's (tests). */
  openContainer?: OpenContainer;
  /** Called after each policy set has run: (policy sets done, policy sets to run). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Run the policies this build can run and list the others in `skipped`
   * with the reason, instead of refusing the whole scenario. Default false.
   */
  skipUnavailable?: boolean;
  /** The work and memory a run may take (budget.ts); default DEFAULT_BUDGET. */
  budget?: Partial<Budget>;
  /**
   * Instead of the scenario's machine.fileCache (`run --file-cache`). A state
   * that fills the page cache also turns the machine's keepPageCache on; a
   * policy that turns it off is refused.
   */
  fileCache?: FileCacheState;
}

/** Runs a scenario file (a path) or a scenario given as parsed JSON. */
export async function runScenario(input: string | Json, options: RunScenarioOptions = {}): Promise<RunResult> {
  const loaded = await loadScenario(input, {
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
    ...(options.openContainer === undefined ? {} : { openContainer: options.openContainer }),
    ...(options.budget?.maxWork === undefined ? {} : { maxWork: options.budget.maxWork }),
  });
  try {
    return runLoaded(loaded, options);
  } finally {
    loaded.programs.close();
  }
}

/** Runs an already loaded scenario (see loadScenario). */
export function runLoaded(loaded: LoadedScenario, options: RunScenarioOptions = {}): RunResult {
  const { programs, opened } = loaded;
  const scenario = withFileCache(loaded.scenario, options.fileCache);
  const selected = selectPolicies(scenario.policies, options.policies);
  const skipped: RunResult['skipped'] = [];
  const policies = options.skipUnavailable
    ? selected.filter((p) => {
        const missing = missingMechanisms(p);
        for (const m of missing) skipped.push({ name: p.name, ...m });
        return missing.length === 0;
      })
    : selected;
  if (policies.length === 0) {
    throw new JsonPath(scenario.file, 'policies').error(
      `none of the policies can run in this build (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`,
    );
  }
  checkAvailable(loaded, policies);
  const budget: Budget = { ...DEFAULT_BUDGET, ...options.budget };
  checkBudget(scenario, policies, budget);
  const costTable = withOverrides(options.costTable ?? DOCUMENTED_COSTS, scenario.costs);
  const results = policies.map((policy, i) => {
    const result = runPolicy(scenario, programs, opened, policy, {
      costTable,
      budget,
      ...(options.checkInvariants ? { checkInvariants: true } : {}),
    });
    options.onProgress?.(i + 1, policies.length);
    return result;
  });
  return {
    schema: RUN_SCHEMA,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: scenario.file ?? null,
      version: scenario.version,
      steps: scenario.steps.length,
    },
    machine: {
      frames: scenario.machine.frames,
      pageSize: scenario.machine.pageSize,
      frameLimit: scenario.machine.frameLimit,
      keepPageCache: scenario.machine.keepPageCache,
      fileCache: formatFileCacheState(scenario.machine.fileCache),
    },
    costs: { table: 'documented', overridden: Object.keys(scenario.costs) as CostOpName[] },
    policies: results,
    skipped,
  };
}

/** The scenario with its machine's fileCache replaced (and keepPageCache on where the state needs it). */
function withFileCache(scenario: LoadedScenario['scenario'], fileCache: FileCacheState | undefined) {
  if (fileCache === undefined) return scenario;
  if (fillsPageCache(fileCache)) {
    const off = scenario.policies.find((p) => p.keepPageCache === false);
    if (off !== undefined) {
      throw new UsageError(
        `--file-cache ${formatFileCacheState(fileCache)} keeps files in the page cache, but policy "${off.name}" sets keepPageCache false`,
      );
    }
  }
  const keepPageCache = scenario.machine.keepPageCache || fillsPageCache(fileCache);
  return { ...scenario, machine: { ...scenario.machine, fileCache, keepPageCache } };
}

function selectPolicies(all: PolicySet[], names: string[] | undefined): PolicySet[] {
  if (names === undefined || names.length === 0) return all;
  return names.map((name) => {
    const p = all.find((q) => q.name === name);
    if (p === undefined)
      throw new UsageError(`no policy "${name}" in the scenario (it has: ${all.map((q) => q.name).join(', ')})`);
    return p;
  });
}

/** Refuses, before anything runs, a policy or a step that needs a mechanism this build lacks. */
function checkAvailable({ scenario }: LoadedScenario, policies: PolicySet[]): void {
  const top = new JsonPath(scenario.file, '');
  for (const policy of policies) {
    const missing = missingMechanisms(policy);
    if (missing.length === 0) continue;
    const index = scenario.policies.indexOf(policy);
    const at = index >= 0 ? top.key('policies').index(index).key(missing[0]!.field) : top.key('policies');
    throw at.error(
      `policy "${policy.name}": ${missing[0]!.reason} (run the others with --policy NAME..., or all that can run with --skip-unavailable)`,
    );
  }
}
