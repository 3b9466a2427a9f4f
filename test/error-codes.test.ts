/**
 * One list of error codes (src/error-codes.ts): every code written in src/
 * is in it, and docs/notes/errors.md shows exactly its rows (code, class,
 * exit status, meaning).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, exitStatusOf, type ErrorCode } from '../src/error-codes.js';
import { UsageError, InputError, PagestackError } from '../src/errors.js';

const ROOT = resolve(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('error codes', () => {
  it('lists every code the source uses', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['`](E_[A-Z0-9_]+)['`]/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });

  it('has one code for "not a regular file"', () => {
    const synonyms = Object.keys(ERROR_CODES).filter((c) => /NOT_?FILE|FILE_TYPE|NOT_REGULAR/.test(c));
    expect(synonyms).toEqual(['E_NOT_REGULAR']);
  });

  it('gives each error the exit status of the table', () => {
    expect(new UsageError('x').exitCode).toBe(exitStatusOf('E_USAGE'));
    expect(new InputError('E_NOENT', 'x').exitCode).toBe(exitStatusOf('E_NOENT'));
    expect(exitStatusOf('E_USAGE')).toBe(2);
    expect(exitStatusOf('E_INTERRUPTED')).toBe(130);
    expect(new PagestackError('E_INTERRUPTED', 'x').exitCode).toBe(130);
  });

  it('is the table of docs/notes/errors.md, row for row', () => {
    const doc = readFileSync(join(ROOT, 'docs/notes/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(E_[A-Z0-9_]+)` \| ([^|]+?) \| ([^|]+?) \| (.+?) \|$/gm)].map((m) => [
      m[1],
      m[2],
      m[3],
      m[4],
    ]);
    const expected = (Object.entries(ERROR_CODES) as Array<[ErrorCode, readonly [string, string]]>).map(
      ([code, [cls, meaning]]) => [code, cls, cls === 'warning' ? '-' : String(exitStatusOf(code)), meaning],
    );
    expect(rows).toEqual(expected);
  });
});
