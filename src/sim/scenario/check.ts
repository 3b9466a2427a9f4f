/**
 * Checking untrusted JSON field by field. Every check names the field by its
 * JSON path (`steps[3].proc`, `policies[1].swap.backend`), so a scenario
 * error reads as one line: `steps[3].proc: unknown process "web9"`.
 *
 * The helpers return the checked value with its TypeScript type or throw a
 * ScenarioError whose data carries { file, field: path, expected, actual }.
 */
import { ScenarioError } from '../../errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Where a value sits: the scenario file and the JSON path inside it. */
export class JsonPath {
  constructor(
    readonly file: string | undefined,
    readonly path: string,
    /** A note shown after the path, e.g. the repeat iteration: `(i=3)`. */
    readonly note = '',
  ) {}

  key(name: string): JsonPath {
    const part = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(name)
      ? `${this.path === '' ? '' : '.'}${name}`
      : `[${JSON.stringify(name)}]`;
    return new JsonPath(this.file, this.path + part, this.note);
  }

  index(i: number): JsonPath {
    return new JsonPath(this.file, `${this.path}[${i}]`, this.note);
  }

  withNote(note: string): JsonPath {
    return new JsonPath(this.file, this.path, note);
  }

  /** `steps[3].proc (i=2)`, or `(top level)` for the document itself. */
  toString(): string {
    const where = this.path === '' ? '(top level)' : this.path;
    return this.note === '' ? where : `${where} ${this.note}`;
  }

  /** A ScenarioError naming this field: `<file>: <path>: <problem>`. */
  error(problem: string, extra: { expected?: unknown; actual?: unknown } = {}): ScenarioError {
    const prefix = this.file === undefined ? '' : `${this.file}: `;
    return new ScenarioError(`${prefix}${this.toString()}: ${problem}`, {
      file: this.file,
      field: this.toString(),
      ...extra,
    });
  }
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

export function object(value: unknown, at: JsonPath): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw at.error(`must be an object, not ${describeValue(value)}`);
  return value as JsonObject;
}

export function array(value: unknown, at: JsonPath): Json[] {
  if (!Array.isArray(value)) throw at.error(`must be an array, not ${describeValue(value)}`);
  return value as Json[];
}

export function string(value: unknown, at: JsonPath, options: { nonEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') throw at.error(`must be a string, not ${describeValue(value)}`);
  if ((options.nonEmpty ?? true) && value === '') throw at.error('must not be empty');
  return value;
}

export function boolean(value: unknown, at: JsonPath): boolean {
  if (typeof value !== 'boolean') throw at.error(`must be true or false, not ${describeValue(value)}`);
  return value;
}

/** A finite number in [min, max]. */
export function number(value: unknown, at: JsonPath, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw at.error(`must be a number, not ${describeValue(value)}`);
  if (value < min || value > max)
    throw at.error(`must be from ${min} to ${max}, not ${value}`, { expected: [min, max], actual: value });
  return value;
}

/** An integer in [min, max]: a JSON number, or a string "0x1f", "4096", "64K", "2 MiB", "16 pages" (see parseSize). */
export function integer(value: unknown, at: JsonPath, min: number, max: number, pageSize?: number): number {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') n = parseSize(value, pageSize);
  else throw at.error(`must be an integer, not ${describeValue(value)}`);
  if (n === undefined || !Number.isSafeInteger(n)) {
    throw at.error(
      `must be an integer (a number, "0x…", or a size such as "64K", "2 MiB", "16 pages"), not ${describeValue(value)}`,
    );
  }
  if (n < min || n > max)
    throw at.error(`must be from ${min} to ${max}, not ${n}`, { expected: [min, max], actual: n });
  return n;
}

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

/**
 * "4096", "0x1000", "64K", "64 KiB", "1.5M", "2 GiB" (binary units), "16 pages" / "16p"
 * (needs the page size). Undefined when the text is not one of these or not a whole number of bytes.
 */
export function parseSize(text: string, pageSize?: number): number | undefined {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.slice(2), 16);
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(t);
  if (!m) return undefined;
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  let scale: number | undefined;
  if (unit === '') scale = 1;
  else if (unit === 'p' || unit === 'page' || unit === 'pages') scale = pageSize;
  else scale = UNITS[unit];
  if (scale === undefined) return undefined;
  const n = value * scale;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function oneOf<T extends string>(value: unknown, at: JsonPath, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw at.error(`must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, not ${describeValue(value)}`, {
      expected: allowed,
      actual: value,
    });
  }
  return value as T;
}

/** Refuses fields the format does not define (a typo must not be ignored silently). */
export function onlyKeys(obj: JsonObject, at: JsonPath, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw at.key(key).error(`unknown field (known here: ${known.join(', ')})`);
  }
}

export function required(obj: JsonObject, at: JsonPath, key: string): Json {
  const v = obj[key];
  if (v === undefined) throw at.key(key).error('is required');
  return v;
}
