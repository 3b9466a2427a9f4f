/**
 * Scenario steps: checked one by one in the order they run, with the names
 * they refer to followed in a NameScope, and repeat blocks expanded with
 * their `{i}` templates substituted. The result is the flat list of steps
 * the runner executes.
 */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../../abi/exec-plan.js';
import { TASK_SIZE } from '../../mm/vma-ops.js';
import {
  array,
  boolean,
  describeValue,
  integer,
  object,
  oneOf,
  onlyKeys,
  required,
  string,
  type Json,
  type JsonObject,
  type JsonPath,
} from './check.js';
import { TARGET_FIELDS, parseData, parseTarget } from './parse-data.js';
import type { NameScope } from './scope.js';
import { countSteps, tooManySteps } from './step-count.js';
import { MADVISE_ADVICE, MALLOPT_NAMES, STEP_OPS, type Step } from './types.js';

export interface StepContext {
  scope: NameScope;
  pageSize: number;
  /** Pool size of the machine: memory-limit steps must stay inside it. */
  frames: number;
  out: Step[];
  /** Repeat variables in force, innermost last. */
  vars: Map<string, number>;
  /** Most steps the scenario may expand to (step-count.ts), and the work budget it comes from. */
  maxSteps: number;
  maxWork: number;
  /** Steps expanded so far, plus one for each repeat iteration that expanded none. */
  spent: number;
}

const COMMON = ['op', 'comment'];

export function parseSteps(list: Json[], at: JsonPath, ctx: StepContext): void {
  list.forEach((raw, i) => parseStep(raw, at.index(i), ctx));
}

function parseStep(raw: Json, at: JsonPath, ctx: StepContext): void {
  const obj = object(raw, at);
  const op = obj.op;
  if (typeof op !== 'string' || !(STEP_OPS as readonly string[]).includes(op)) {
    throw at
      .key('op')
      .error(
        op === undefined
          ? `is required (one of: ${STEP_OPS.join(', ')})`
          : `unknown step ${describeValue(op)} (known: ${STEP_OPS.join(', ')})`,
      );
  }
  if (obj.comment !== undefined) string(obj.comment, at.key('comment'), { nonEmpty: false });
  if (op === 'repeat') {
    parseRepeat(obj, at, ctx);
    return;
  }
  const step = parseOne(
    substitute(obj, ctx.vars) as JsonObject,
    op as Exclude<(typeof STEP_OPS)[number], 'repeat'>,
    at,
    ctx,
  );
  if (++ctx.spent > ctx.maxSteps) throw tooManySteps(at, ctx.maxSteps, ctx.maxWork);
  ctx.out.push(step);
}

function parseRepeat(obj: JsonObject, at: JsonPath, ctx: StepContext): void {
  onlyKeys(obj, at, [...COMMON, 'count', 'var', 'from', 'steps']);
  const count = integer(substitute(required(obj, at, 'count'), ctx.vars), at.key('count'), 0, Number.MAX_SAFE_INTEGER);
  const name = obj.var === undefined ? 'i' : string(obj.var, at.key('var'));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw at.key('var').error('must be a name of letters, digits and _ (not starting with a digit)');
  if (ctx.vars.has(name)) throw at.key('var').error(`"${name}" is already the variable of an enclosing repeat`);
  const from = obj.from === undefined ? 0 : integer(substitute(obj.from, ctx.vars), at.key('from'), -1e9, 1e9);
  const body = array(required(obj, at, 'steps'), at.key('steps'));
  // Templated counts inside the body that use this repeat's variable count 0 here; they are checked when reached.
  const per = count === 0 ? 0 : countSteps(body, at.key('steps'), ctx.vars, ctx.maxSteps);
  if (count > 0 && (count > ctx.maxSteps || ctx.spent + count * Math.max(1, per) > ctx.maxSteps))
    throw tooManySteps(at.key('count'), ctx.maxSteps, ctx.maxWork);
  for (let k = 0; k < count; k++) {
    const value = from + k;
    ctx.vars.set(name, value);
    const note = [...ctx.vars].map(([v, n]) => `${v}=${n}`).join(', ');
    const before = ctx.spent;
    parseSteps(body, at.key('steps').withNote(`(${note})`), ctx);
    if (ctx.spent === before && ++ctx.spent > ctx.maxSteps)
      throw tooManySteps(at.key('count'), ctx.maxSteps, ctx.maxWork);
  }
  ctx.vars.delete(name);
}

/**
 * `{i}`, `{i+1}`, `{k*2-1}`, `{(i+1)*4096}`, `{i/2}` (integer division), `{i%3}` in every string of a
 * step, for the repeat variables in force. Braces holding anything else are left as they are.
 */
export function substitute(value: Json, vars: ReadonlyMap<string, number>): Json {
  if (vars.size === 0) return value;
  if (typeof value === 'string') {
    return value.replace(/\{([A-Za-z0-9_+\-*/%() ]+)\}/g, (whole, expr: string) => {
      const v = evaluate(expr, vars);
      return v === undefined ? whole : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'steps' ? v : substitute(v, vars);
    return out;
  }
  return value;
}

/** An integer expression over repeat variables (+ - * / % and parentheses), or undefined if it is not one. */
export function evaluate(expr: string, vars: ReadonlyMap<string, number>): number | undefined {
  const tokens = expr.match(/[A-Za-z_][A-Za-z0-9_]*|\d+|[-+*/%()]/g) ?? [];
  if (tokens.join('') !== expr.replace(/ /g, '')) return undefined;
  let pos = 0;
  const peek = () => tokens[pos];
  const primary = (): number | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const v = sum();
      return tokens[pos++] === ')' ? v : undefined;
    }
    if (t === '-') {
      const v = primary();
      return v === undefined ? undefined : -v;
    }
    if (/^\d+$/.test(t)) return Number(t);
    return vars.get(t);
  };
  const product = (): number | undefined => {
    let v = primary();
    while (v !== undefined && (peek() === '*' || peek() === '/' || peek() === '%')) {
      const op = tokens[pos++];
      const r = primary();
      if (r === undefined || (op !== '*' && r === 0)) return undefined;
      v = op === '*' ? v * r : op === '/' ? Math.floor(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number | undefined => {
    let v = product();
    while (v !== undefined && (peek() === '+' || peek() === '-')) {
      const op = tokens[pos++];
      const r = product();
      if (r === undefined) return undefined;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  return pos === tokens.length && v !== undefined && Number.isSafeInteger(v) ? v : undefined;
}

function parseOne(
  obj: JsonObject,
  op: Exclude<(typeof STEP_OPS)[number], 'repeat'>,
  at: JsonPath,
  ctx: StepContext,
): Step {
  const { scope, pageSize } = ctx;
  const proc = (): string => string(required(obj, at, 'proc'), at.key('proc'));
  const liveProc = (): string => {
    const p = proc();
    scope.proc(p, at.key('proc'));
    return p;
  };
  const target = (extra: string[], stride: boolean) => {
    onlyKeys(obj, at, [...COMMON, ...TARGET_FIELDS, ...extra]);
    return parseTarget(obj, at, scope, pageSize, { stride });
  };
  switch (op) {
    case 'exec': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'program', 'argv', 'env']);
      const p = proc();
      const program = string(required(obj, at, 'program'), at.key('program'));
      scope.program(program, at.key('program'));
      const step: Step = { op, proc: p, program, at };
      if (obj.argv !== undefined) step.argv = stringList(obj.argv, at.key('argv'));
      if (obj.env !== undefined) step.env = stringList(obj.env, at.key('env'));
      scope.exec(p, program);
      return step;
    }
    case 'fork': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'child']);
      const parent = liveProc();
      const child = string(required(obj, at, 'child'), at.key('child'));
      if (scope.has(child))
        throw at.key('child').error(`process "${child}" is already running (exit it first, or choose another name)`);
      scope.fork(parent, child, at.key('proc'));
      return { op, proc: parent, child, at };
    }
    case 'exit': {
      onlyKeys(obj, at, [...COMMON, 'proc']);
      const p = liveProc();
      scope.exit(p);
      return { op, proc: p, at };
    }
    case 'read': {
      const t = target(['expect'], true);
      const step: Step = { op, target: t, at };
      if (obj.expect !== undefined) step.expect = parseData(obj.expect, at.key('expect'), scope, pageSize);
      return step;
    }
    case 'write': {
      const t = target(['data'], true);
      return { op, target: t, data: parseData(required(obj, at, 'data'), at.key('data'), scope, pageSize), at };
    }
    case 'touch': {
      const t = target(['access'], true);
      return { op, target: t, access: oneOf(obj.access ?? 'read', at.key('access'), ['read', 'write'] as const), at };
    }
    case 'mmap': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'name', 'addr', 'length', 'prot', 'shared', 'file']);
      const p = liveProc();
      const step: Step = {
        op,
        proc: p,
        length: integer(required(obj, at, 'length'), at.key('length'), 1, TASK_SIZE, pageSize),
        prot: obj.prot === undefined ? PROT_READ | PROT_WRITE : parseProt(obj.prot, at.key('prot')),
        shared: obj.shared === undefined ? false : boolean(obj.shared, at.key('shared')),
        at,
      };
      if (obj.addr !== undefined) {
        step.addr = integer(obj.addr, at.key('addr'), 0, TASK_SIZE - 1);
        if (step.addr % pageSize !== 0) throw at.key('addr').error(`must be a multiple of the page size (${pageSize})`);
      }
      if (obj.file !== undefined) {
        const f = object(obj.file, at.key('file'));
        onlyKeys(f, at.key('file'), ['program', 'offset']);
        const program = string(required(f, at.key('file'), 'program'), at.key('file').key('program'));
        scope.program(program, at.key('file').key('program'));
        const offset =
          f.offset === undefined ? 0 : integer(f.offset, at.key('file').key('offset'), 0, TASK_SIZE, pageSize);
        if (offset % pageSize !== 0)
          throw at.key('file').key('offset').error(`must be a multiple of the page size (${pageSize})`);
        step.file = { program, offset };
      }
      if (obj.name !== undefined) {
        step.name = string(obj.name, at.key('name'));
        scope.addRegion(p, step.name, at.key('name'), false);
      }
      return step;
    }
    case 'munmap': {
      const t = target([], false);
      if (t.region !== undefined && t.offset === 0 && t.length === undefined && t.fraction === undefined)
        scope.removeRegion(t.proc, t.region);
      return { op, target: t, at };
    }
    case 'mprotect': {
      const t = target(['prot'], false);
      return { op, target: t, prot: parseProt(required(obj, at, 'prot'), at.key('prot')), at };
    }
    case 'madvise': {
      const t = target(['advice'], false);
      return { op, target: t, advice: oneOf(required(obj, at, 'advice'), at.key('advice'), MADVISE_ADVICE), at };
    }
    case 'prctl': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'option', 'value']);
      const p = liveProc();
      const option = oneOf(required(obj, at, 'option'), at.key('option'), ['PR_SET_MEMORY_MERGE'] as const);
      const value = integer(required(obj, at, 'value'), at.key('value'), 0, 1) as 0 | 1;
      return { op, proc: p, option, value, at };
    }
    case 'malloc': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'size', 'as', 'mayFail']);
      const p = liveProc();
      const size = integer(required(obj, at, 'size'), at.key('size'), 0, TASK_SIZE, pageSize);
      const as = string(required(obj, at, 'as'), at.key('as'));
      scope.addRegion(p, as, at.key('as'), true);
      return { op, proc: p, size, as, mayFail: mayFail(obj, at), at };
    }
    case 'calloc': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'count', 'size', 'as', 'mayFail']);
      const p = liveProc();
      const count = integer(required(obj, at, 'count'), at.key('count'), 0, TASK_SIZE, pageSize);
      const size = integer(required(obj, at, 'size'), at.key('size'), 0, TASK_SIZE, pageSize);
      if (count * size > TASK_SIZE)
        throw at.error(`count × size = ${count * size} bytes is more than an address space holds`);
      const as = string(required(obj, at, 'as'), at.key('as'));
      scope.addRegion(p, as, at.key('as'), true);
      return { op, proc: p, count, size, as, mayFail: mayFail(obj, at), at };
    }
    case 'realloc': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'ptr', 'size', 'mayFail']);
      const p = liveProc();
      const ptr = string(required(obj, at, 'ptr'), at.key('ptr'));
      scope.pointer(p, ptr, at.key('ptr'));
      const size = integer(required(obj, at, 'size'), at.key('size'), 0, TASK_SIZE, pageSize);
      if (size === 0) scope.removeRegion(p, ptr);
      return { op, proc: p, ptr, size, mayFail: mayFail(obj, at), at };
    }
    case 'mallopt': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'param', 'value']);
      const p = liveProc();
      const param = oneOf(required(obj, at, 'param'), at.key('param'), MALLOPT_NAMES);
      const max = param === 'M_MXFAST' ? 160 : param === 'M_MMAP_THRESHOLD' ? 32 << 20 : Number.MAX_SAFE_INTEGER;
      return { op, proc: p, param, value: integer(required(obj, at, 'value'), at.key('value'), 0, max, pageSize), at };
    }
    case 'malloc_trim': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'pad']);
      const p = liveProc();
      return {
        op,
        proc: p,
        pad: obj.pad === undefined ? 0 : integer(obj.pad, at.key('pad'), 0, TASK_SIZE, pageSize),
        at,
      };
    }
    case 'free': {
      onlyKeys(obj, at, [...COMMON, 'proc', 'ptr']);
      const p = liveProc();
      const ptr = string(required(obj, at, 'ptr'), at.key('ptr'));
      scope.pointer(p, ptr, at.key('ptr'));
      scope.removeRegion(p, ptr);
      return { op, proc: p, ptr, at };
    }
    case 'tick': {
      onlyKeys(obj, at, [...COMMON, 'ms']);
      return { op, ms: integer(required(obj, at, 'ms'), at.key('ms'), 1, 1e9), at };
    }
    case 'memory-limit': {
      onlyKeys(obj, at, [...COMMON, 'frames', 'bytes']);
      if ((obj.frames === undefined) === (obj.bytes === undefined))
        throw at.error('needs exactly one of "frames" and "bytes"');
      let frames: number;
      if (obj.frames !== undefined) {
        frames = integer(obj.frames, at.key('frames'), 1, ctx.frames);
      } else {
        const bytes = integer(obj.bytes, at.key('bytes'), pageSize, ctx.frames * pageSize, pageSize);
        frames = Math.floor(bytes / pageSize);
      }
      return { op, frames, at };
    }
    case 'drop-caches':
      onlyKeys(obj, at, [...COMMON]);
      return { op, at };
    default:
      throw at.key('op').error(`unknown step "${String(op)}"`);
  }
}

function mayFail(obj: JsonObject, at: JsonPath): boolean {
  return obj.mayFail === undefined ? false : boolean(obj.mayFail, at.key('mayFail'));
}

function stringList(value: Json, at: JsonPath): string[] {
  return array(value, at).map((v, i) => string(v, at.index(i), { nonEmpty: false }));
}

/** "rw-", "r-x", "rw", "rwx", "r", "---" or "none" → PROT_* bits. */
export function parseProt(value: Json | undefined, at: JsonPath): number {
  const text = typeof value === 'string' ? value : undefined;
  if (text === 'none' || text === '---') return 0;
  if (text !== undefined && /^[rwx-]{1,3}$/.test(text)) {
    const letters = text.replace(/-/g, '');
    if (new Set(letters).size === letters.length) {
      return (
        (letters.includes('r') ? PROT_READ : 0) |
        (letters.includes('w') ? PROT_WRITE : 0) |
        (letters.includes('x') ? PROT_EXEC : 0)
      );
    }
  }
  throw at.error(`must be protection letters such as "rw-", "r-x", "r", or "none", not ${describeValue(value)}`);
}
