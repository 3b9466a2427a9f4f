/**
 * How many steps a list of scenario steps expands to, told from the
 * document before any repeat block is expanded, so a scenario that claims
 * 10^6 or 10^12 steps is refused at once rather than after the parser has
 * built them (docs/SCENARIOS.md, "Budgets").
 *
 * A step counts 1; a repeat counts its `count` × what its body counts (at
 * least 1 an iteration, so empty bodies are not free). Counts are read as
 * the parser reads them (numbers or strings such as "1M", with `{i}`
 * templates of the enclosing repeats filled in); a count that cannot be
 * told yet (a template of a variable not yet bound, or an invalid value
 * the parser will refuse) counts 0 here and is checked again when the
 * parser reaches it. Sums and products saturate at Infinity once past the
 * cap, so nothing overflows and nothing loops over a claimed count.
 */
import type { ScenarioError } from '../../errors.js';
import { integer, type Json, type JsonPath } from './check.js';
import { substitute } from './parse-steps.js';

/** Page operations each expanded step counts against the work budget (--max-work). */
export const STEP_WORK = 100;

/** Most steps a scenario may expand to under a work budget. */
export function stepCap(maxWork: number): number {
  return Math.max(0, Math.floor(maxWork / STEP_WORK));
}

function isRepeat(item: Json): item is { [key: string]: Json } {
  return item !== null && typeof item === 'object' && !Array.isArray(item) && item.op === 'repeat';
}

/** The count of a repeat as far as it can be told now, or 0. */
function countOf(item: { [key: string]: Json }, at: JsonPath, vars: ReadonlyMap<string, number>): number {
  const raw = item.count;
  if (raw === undefined) return 0;
  try {
    return integer(substitute(raw, vars), at, 0, Number.MAX_SAFE_INTEGER);
  } catch {
    return 0;
  }
}

/** Steps `list` expands to, or Infinity once more than `limit`. */
export function countSteps(
  list: readonly Json[],
  at: JsonPath,
  vars: ReadonlyMap<string, number>,
  limit: number,
): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    n += itemSteps(list[i] as Json, at.index(i), vars, limit);
    if (n > limit) return Number.POSITIVE_INFINITY;
  }
  return n;
}

/** Steps one item expands to (a repeat: count × its body, at least 1 an iteration), or Infinity past `limit`. */
export function itemSteps(item: Json, at: JsonPath, vars: ReadonlyMap<string, number>, limit: number): number {
  if (!isRepeat(item)) return 1;
  const count = countOf(item, at.key('count'), vars);
  if (count === 0) return 0;
  if (count > limit) return Number.POSITIVE_INFINITY;
  const body = Array.isArray(item.steps) ? countSteps(item.steps, at.key('steps'), vars, limit) : 0;
  const n = count * Math.max(1, body);
  return n > limit ? Number.POSITIVE_INFINITY : n;
}

/** The one-line refusal for a scenario that expands past `cap` steps. */
export function tooManySteps(at: JsonPath, cap: number, maxWork: number): ScenarioError {
  return at.error(
    `the scenario would expand to more than ${cap} steps, the most a work budget of ${maxWork} allows (${STEP_WORK} page operations a step; --max-work raises it)`,
    { expected: cap },
  );
}

/**
 * Before any step is parsed: refuses the list when it expands past `cap`,
 * naming the outermost repeat's count (or the step) where the total goes over.
 */
export function checkStepCount(list: readonly Json[], at: JsonPath, cap: number, maxWork: number): void {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as Json;
    n += itemSteps(item, at.index(i), new Map(), cap);
    if (n > cap) throw tooManySteps(isRepeat(item) ? at.index(i).key('count') : at.index(i), cap, maxWork);
  }
}
