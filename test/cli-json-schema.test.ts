/**
 * Every --json document starts with its schema id, pagestack.<command>/<n>,
 * and every field of the documents docs/notes/json.md describes is listed
 * there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-inprocess.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples/bin');
const DOC = path.join(ROOT, 'docs/notes/json.md');
let dir: string;
let container: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-json-schema-'));
  fs.mkdirSync(path.join(dir, 'tree'));
  fs.copyFileSync(path.join(SAMPLES, 'tables'), path.join(dir, 'tree', 'tables'));
  fs.symlinkSync('tables', path.join(dir, 'tree', 'link'));
  fs.linkSync(path.join(dir, 'tree', 'tables'), path.join(dir, 'tree', 'hard'));
  container = path.join(dir, 'c.pgs');
  expect((await runCli('pack', path.join(dir, 'tree'), '-o', container, '-q')).status).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Every field path of a JSON value: `a`, `a.b`, `list[]`, `list[].c`. */
function fieldPaths(value: unknown, at = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) fieldPaths(v, `${at}[]`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = at === '' ? k : `${at}.${k}`;
      out.add(p);
      fieldPaths(v, p, out);
    }
  }
  return out;
}

/** The field names in the first column of the table under `## name` in json.md. */
function documented(name: string): Set<string> {
  const text = fs.readFileSync(DOC, 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith(`${name}\n`));
  if (!section) throw new Error(`docs/notes/json.md has no section ${name}`);
  const out = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  }
  return out;
}

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(...args);
  expect(r.stderr, args.join(' ')).toBe('');
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('--json documents', () => {
  it('carry pagestack.<command>/<version> first, for every command that has --json', async () => {
    const docs: Array<[string, Record<string, unknown>]> = [
      ['scan', await json('scan', '--json', SAMPLES)],
      ['pack', await json('pack', '--json', path.join(dir, 'tree'), '-o', path.join(dir, 'again.pgs'))],
      ['unpack', await json('unpack', '--json', container, '-C', path.join(dir, 'out'))],
      ['verify', await json('verify', '--json', container)],
      ['ls', await json('ls', '--json', container)],
      ['maps', await json('maps', '--json', path.join(SAMPLES, 'hello'))],
      ['load', await json('load', '--json', path.join(SAMPLES, 'hello'))],
      ['run', await json('run', '--json', path.join(ROOT, 'samples/scenarios/calloc.json'), '--policy', 'eager')],
    ];
    for (const [command, doc] of docs) {
      expect(Object.keys(doc)[0], command).toBe('schema');
      expect(doc.schema, command).toBe(`pagestack.${command}/1`);
    }
  });

  it.each(['pack', 'unpack', 'verify', 'ls', 'maps'])(
    '%s: every field is documented in docs/notes/json.md',
    async (command) => {
      const args: Record<string, string[]> = {
        pack: ['pack', '--json', path.join(dir, 'tree'), '-o', path.join(dir, 'p.pgs')],
        unpack: ['unpack', '--json', container, '-C', path.join(dir, `out-${command}`)],
        verify: ['verify', '--json', container],
        ls: ['ls', '--json', container],
        maps: ['maps', '--json', path.join(SAMPLES, 'hello')],
      };
      const fields = fieldPaths(await json(...args[command]!));
      if (command === 'verify') {
        // A damaged container adds `damage`.
        const damaged = path.join(dir, 'damaged.pgs');
        const bytes = fs.readFileSync(container);
        bytes[bytes.length - 100]! ^= 0xff;
        fs.writeFileSync(damaged, bytes);
        const r = await runCli('verify', '--json', damaged);
        expect(r.status).toBe(1);
        for (const f of fieldPaths(JSON.parse(r.stdout))) fields.add(f);
        expect(fields).toContain('damage.code');
      }
      const listed = documented(command);
      for (const f of fields) expect(listed, `${command}: ${f}`).toContain(f);
    },
  );
});
