/**
 * Targets (which bytes of which process) and data patterns (what to write),
 * as scenario steps give them. See docs/SCENARIOS.md, "Targets" and "Data".
 */
import { TASK_SIZE } from '../../mm/vma-ops.js';
import {
  array,
  integer,
  number,
  object,
  onlyKeys,
  required,
  string,
  describeValue,
  type Json,
  type JsonObject,
  type JsonPath,
} from './check.js';
import type { NameScope } from './scope.js';
import type { DataSpec, Target } from './types.js';

/** Fields a step may use to name a range; steps add their own fields to this list. */
export const TARGET_FIELDS = ['proc', 'region', 'addr', 'offset', 'length', 'fraction', 'stride', 'chunk'] as const;

const MAX_SPAN = TASK_SIZE;

export interface TargetRules {
  /** Allow stride/chunk (user accesses); refused for munmap/mprotect/madvise. */
  stride: boolean;
  /** A copy source: its length comes from the write, so length/fraction are refused. */
  copySource?: boolean;
}

export function parseTarget(
  obj: JsonObject,
  at: JsonPath,
  scope: NameScope,
  pageSize: number,
  rules: TargetRules,
): Target {
  const proc = string(required(obj, at, 'proc'), at.key('proc'));
  scope.proc(proc, at.key('proc'));
  const target: Target = { proc, offset: 0 };
  const hasRegion = obj.region !== undefined;
  const hasAddr = obj.addr !== undefined;
  if (hasRegion === hasAddr) throw at.error('needs exactly one of "region" (a named region) and "addr" (an address)');
  if (hasRegion) {
    target.region = string(obj.region, at.key('region'));
    scope.region(proc, target.region, at.key('proc'), at.key('region'));
  } else {
    target.addr = integer(obj.addr, at.key('addr'), 0, MAX_SPAN - 1);
  }
  if (obj.offset !== undefined) target.offset = integer(obj.offset, at.key('offset'), 0, MAX_SPAN, pageSize);
  if (rules.copySource) {
    for (const key of ['length', 'fraction', 'stride', 'chunk']) {
      if (obj[key] !== undefined)
        throw at.key(key).error('a copy source takes its length from the write; leave this out');
    }
    return target;
  }
  if (obj.length !== undefined && obj.fraction !== undefined) throw at.error('give "length" or "fraction", not both');
  if (obj.length !== undefined) target.length = integer(obj.length, at.key('length'), 1, MAX_SPAN, pageSize);
  if (obj.fraction !== undefined) target.fraction = number(obj.fraction, at.key('fraction'), 0, 1);
  if (hasAddr && target.length === undefined) throw at.key('length').error('is required with "addr"');
  if (hasAddr && target.fraction !== undefined) throw at.key('fraction').error('needs a region, not an address');
  if (obj.stride !== undefined || obj.chunk !== undefined) {
    if (!rules.stride)
      throw at.key(obj.stride !== undefined ? 'stride' : 'chunk').error('is only for read, write and touch');
    if (obj.stride === undefined) throw at.key('stride').error('is required with "chunk"');
    target.stride = integer(obj.stride, at.key('stride'), 1, MAX_SPAN, pageSize);
    target.chunk =
      obj.chunk === undefined
        ? Math.min(pageSize, target.stride)
        : integer(obj.chunk, at.key('chunk'), 1, target.stride, pageSize);
  }
  return target;
}

const DATA_KINDS = ['zero', 'byte', 'word', 'pattern', 'random', 'text', 'copy', 'mix'] as const;

/** A data pattern: "zero", or an object with one of the keys in DATA_KINDS. */
export function parseData(
  value: Json | undefined,
  at: JsonPath,
  scope: NameScope,
  pageSize: number,
  inMix = false,
): DataSpec {
  if (value === 'zero') return { kind: 'zero' };
  if (typeof value === 'string')
    throw at.error(
      `must be "zero" or an object such as {"byte": 65}, {"random": {"seed": 1}} (one of: ${DATA_KINDS.join(', ')})`,
    );
  const obj = object(value, at);
  const kinds = DATA_KINDS.filter((k) => obj[k] !== undefined);
  if (kinds.length !== 1) {
    throw at.error(
      `needs exactly one of ${DATA_KINDS.map((k) => `"${k}"`).join(', ')}${kinds.length > 1 ? ` (it has ${kinds.join(', ')})` : ''}`,
    );
  }
  const kind = kinds[0]!;
  const inner = at.key(kind);
  switch (kind) {
    case 'zero':
      onlyKeys(obj, at, ['zero']);
      if (obj.zero !== true) throw inner.error('must be true');
      return { kind: 'zero' };
    case 'byte':
      onlyKeys(obj, at, ['byte']);
      return { kind: 'byte', value: integer(obj.byte, inner, 0, 255) };
    case 'word':
      onlyKeys(obj, at, ['word']);
      return { kind: 'word', value: parseWord(obj.word, inner) };
    case 'pattern': {
      onlyKeys(obj, at, ['pattern']);
      const hex = string(obj.pattern, inner);
      if (!/^([0-9a-f]{2})+$/i.test(hex) || hex.length > 2 * pageSize) {
        throw inner.error(`must be 1 to ${pageSize} bytes as hex digits ("deadbeef"), not ${describeValue(hex)}`);
      }
      return { kind: 'pattern', bytes: Uint8Array.from(Buffer.from(hex, 'hex')) };
    }
    case 'random': {
      onlyKeys(obj, at, ['random']);
      const r = obj.random!;
      if (typeof r !== 'object' || r === null || Array.isArray(r))
        return { kind: 'random', seed: integer(r, inner, 0, 2 ** 32 - 1) };
      onlyKeys(r, inner, ['seed', 'distinct']);
      const spec: DataSpec = {
        kind: 'random',
        seed: integer(required(r, inner, 'seed'), inner.key('seed'), 0, 2 ** 32 - 1),
      };
      if (r.distinct !== undefined) spec.distinct = integer(r.distinct, inner.key('distinct'), 1, 1 << 20);
      return spec;
    }
    case 'text': {
      onlyKeys(obj, at, ['text']);
      const t = obj.text!;
      if (typeof t !== 'object' || t === null || Array.isArray(t))
        return { kind: 'text', seed: integer(t, inner, 0, 2 ** 32 - 1) };
      onlyKeys(t, inner, ['seed']);
      return { kind: 'text', seed: integer(required(t, inner, 'seed'), inner.key('seed'), 0, 2 ** 32 - 1) };
    }
    case 'copy': {
      onlyKeys(obj, at, ['copy']);
      if (inMix) throw inner.error('cannot be part of a mix (a mix chooses page by page)');
      const source = object(obj.copy, inner);
      onlyKeys(source, inner, ['proc', 'region', 'addr', 'offset']);
      return { kind: 'copy', from: parseTarget(source, inner, scope, pageSize, { stride: false, copySource: true }) };
    }
    case 'mix': {
      onlyKeys(obj, at, ['mix', 'seed']);
      const seed = obj.seed === undefined ? 0 : integer(obj.seed, at.key('seed'), 0, 2 ** 32 - 1);
      const list = array(obj.mix, inner);
      if (list.length === 0) throw inner.error('needs at least one {"weight": N, "data": ...}');
      const parts = list.map((item, i) => {
        const pat = inner.index(i);
        const part = object(item, pat);
        onlyKeys(part, pat, ['weight', 'data']);
        const weight = part.weight === undefined ? 1 : number(part.weight, pat.key('weight'), 0, 1e9);
        return { weight, data: parseData(required(part, pat, 'data'), pat.key('data'), scope, pageSize, true) };
      });
      if (!parts.some((p) => p.weight > 0)) throw inner.error('needs a part with a weight above 0');
      return { kind: 'mix', seed, parts };
    }
    default:
      throw at.error(`unknown data kind ${String(kind)}`);
  }
}

/** An 8-byte word: a number up to 2^53 - 1 or a "0x..." string of up to 16 hex digits. */
function parseWord(value: Json | undefined, at: JsonPath): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^0x[0-9a-f]{1,16}$/i.test(value)) return BigInt(value);
  throw at.error(
    `must be a 64-bit word: a non-negative integer or "0x" and up to 16 hex digits, not ${describeValue(value)}`,
  );
}
