/**
 * The walk's order is the byte order of the names' UTF-8 encoding (Python's
 * `sorted()` on str, Unicode code point order), with or without characters
 * outside the Basic Multilingual Plane (whose UTF-16 surrogates sort below
 * U+E000-U+FFFF in JavaScript's own string order).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { walkPaths } from '../src/scan/walk.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function walkOrder(names: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-walk-order-'));
  dirs.push(dir);
  for (const n of names) fs.writeFileSync(path.join(dir, n), 'x');
  return walkPaths([dir]).files.map((f) => path.basename(f.path));
}

/** Python's sorted() of the names, or the UTF-8 byte order when python3 is missing. */
function pythonOrder(names: string[]): string[] {
  const r = spawnSync('python3', ['-c', 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin))))'], {
    input: JSON.stringify(names),
    encoding: 'utf8',
  });
  if (r.status === 0) return JSON.parse(r.stdout) as string[];
  console.log('scan-walk-order: python3 not available, comparing with the UTF-8 byte order');
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

describe('walk order', () => {
  it('is code point order for names within the Basic Multilingual Plane', () => {
    const names = ['z', 'Z', '~', 'a-b', 'a_b', 'a.b', '\u00e9t\u00e9', '\uffda', '\ue000x', '10', '9'];
    expect(walkOrder(names)).toEqual(pythonOrder(names));
  });

  it('is code point order with names outside it (surrogate pairs in JavaScript strings)', () => {
    const names = ['\u{1f600}', '\uffda', '\ue000', 'a', '\u00e9', '\u{10000}b'];
    const order = walkOrder(names);
    expect(order).toEqual(pythonOrder(names));
    // JavaScript's own string order would put the astral names before U+E000: the walk must not.
    expect(order.indexOf('\u{1f600}')).toBeGreaterThan(order.indexOf('\uffda'));
  });
});
