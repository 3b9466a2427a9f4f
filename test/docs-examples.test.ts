/**
 * The documentation's examples are run, so they cannot go stale.
 *
 * 1. Every fenced block in README.md and docs/ that starts with
 *    `$ pagestack ...` and shows output is run through the built CLI, and
 *    its output must equal the block (stdout, and stderr too where the
 *    block shows an error line `pagestack: ...`, which must then exit
 *    non-zero). `[…]` inside a line stands for any text (a size that
 *    depends on the build); a line `...` in the block stands for
 *    any number of lines. Before comparing, both sides are normalised the
 *    same way: runs of blanks become one, the device:inode columns of maps
 *    lines become `DEV INODE`, and an absolute path into the checkout's
 *    samples/ becomes `<checkout>/samples/`.
 * 2. Every JSON example in docs/SCENARIOS.md is a scenario, or part of one:
 *    whole documents are run with `pagestack run`, fragments are completed
 *    with a minimal document and run the same way. Each must succeed.
 *
 * Commands run in a fresh temporary directory holding a `samples` link to
 * the checkout's samples/, so examples that write files leave nothing behind.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const cli = join(root, 'bin', 'pagestack.js');
const built = existsSync(join(root, 'dist', 'cli', 'main.js'));
if (!built) console.warn('docs-examples: dist/ is missing (run npm run build): the documented commands are not run');

interface CommandExample {
  file: string;
  line: number;
  command: string;
  expected: string[];
}

function markdownFiles(): string[] {
  const docs = join(root, 'docs');
  const notes = join(docs, 'notes');
  const list = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.md'))
          .map((f) => join(dir, f))
      : [];
  return [join(root, 'README.md'), ...list(docs), ...list(notes)];
}

/** Fenced blocks with their first line number (1-based, the line after the fence). */
function fencedBlocks(text: string): { info: string; line: number; body: string[] }[] {
  const lines = text.split('\n');
  const blocks: { info: string; line: number; body: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) body.push(lines[j++]!);
    blocks.push({ info: open[1] ?? '', line: i + 2, body });
    i = j;
  }
  return blocks;
}

function commandExamples(): CommandExample[] {
  const out: CommandExample[] = [];
  for (const file of markdownFiles()) {
    for (const block of fencedBlocks(readFileSync(file, 'utf8'))) {
      const first = block.body[0] ?? '';
      if (!first.startsWith('$ pagestack ')) continue;
      // A block may hold several commands, each followed by its output.
      let current: CommandExample | undefined;
      block.body.forEach((text, k) => {
        if (text.startsWith('$ pagestack ')) {
          if (current) out.push(current);
          const command = text.slice(2).replace(/\s+#.*$/, '');
          current = { file: file.slice(root.length + 1), line: block.line + k, command, expected: [] };
        } else current?.expected.push(text);
      });
      if (current) out.push(current);
    }
  }
  // A command shown without output is a recipe, not an example to check.
  return out.filter((e) => e.expected.some((l) => l.trim() !== '' && l.trim() !== '...'));
}

function normalise(line: string): string {
  return line
    .replace(/\b[0-9a-f]{2,3}:[0-9a-f]{2,3}\s+\d+\s+/g, 'DEV INODE ')
    .replace(/(^|\s)\/\S*?\/samples\//g, '$1<checkout>/samples/')
    .replace(/\s+/g, ' ')
    .trim();
}

/** One line: equal, or equal but where the expected line has `[…]`, which stands for any text. */
function lineMatches(expected: string, actual: string): boolean {
  if (!expected.includes('[…]')) return expected === actual;
  const pattern = expected
    .split('[…]')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(actual);
}

/** Does `actual` match `expected`, where an expected line `...` matches any run of lines? */
function matches(expected: string[], actual: string[]): boolean {
  const e = expected.map(normalise);
  const a = actual.map(normalise);
  while (e.length > 0 && e[e.length - 1] === '') e.pop();
  while (a.length > 0 && a[a.length - 1] === '') a.pop();
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (a.length + 1) + j;
    const seen = memo.get(key);
    if (seen !== undefined) return seen;
    let r: boolean;
    if (i === e.length) r = j === a.length;
    else if (e[i] === '...') r = go(i + 1, j) || (j < a.length && go(i, j + 1));
    else r = j < a.length && lineMatches(e[i]!, a[j]!) && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** Splits a command line into words, honouring simple quotes. */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

let work = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'pagestack-docs-'));
  symlinkSync(join(root, 'samples'), join(work, 'samples'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function runCli(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('documented commands print what the docs show', () => {
  const examples = commandExamples();
  it('finds the documented examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });
  for (const ex of examples) {
    it.skipIf(!built)(`${ex.file}:${ex.line}: ${ex.command}`, () => {
      const args = words(ex.command).slice(1);
      // Each example gets its own directory, so one that writes a file cannot see another's.
      const cwd = mkdtempSync(join(work, 'ex-'));
      symlinkSync(join(root, 'samples'), join(cwd, 'samples'));
      const r = runCli(args, cwd);
      // An example that shows an error ("pagestack: ...") shows what the user sees: stdout, then stderr.
      const showsError = ex.expected.some((l) => l.startsWith('pagestack: '));
      const actual = (showsError ? r.stdout + r.stderr : r.stdout).split('\n');
      const ok = matches(ex.expected, actual);
      if (!ok) {
        console.log(
          `--- ${ex.file}:${ex.line} ${ex.command}\n--- actual stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`,
        );
      }
      if (showsError) expect(r.status, 'an example that shows an error exits non-zero').not.toBe(0);
      else expect(r.status, r.stderr).toBe(0);
      expect(ok, `output of "${ex.command}" differs from ${ex.file}:${ex.line} (printed above)`).toBe(true);
    });
  }
});

/** The JSON blocks of docs/SCENARIOS.md, completed into runnable scenarios. */
function scenarioExamples(): { line: number; doc: Record<string, unknown> }[] {
  const text = readFileSync(join(root, 'docs', 'SCENARIOS.md'), 'utf8');
  const skeleton = (): Record<string, unknown> => ({
    version: 1,
    programs: { hello: '../bin/hello' },
    steps: [{ op: 'exec', proc: 'p', program: 'hello' }],
  });
  const out: { line: number; doc: Record<string, unknown> }[] = [];
  for (const block of fencedBlocks(text)) {
    if (block.info !== 'json') continue;
    const src = block.body.join('\n').trim();
    let doc: Record<string, unknown>;
    if (src.startsWith('{ "op"') || src.startsWith('{"op"')) {
      // One step (maybe a repeat block): run after exec'ing every program it names.
      const step = JSON.parse(src) as Record<string, unknown>;
      doc = { ...skeleton(), programs: { hello: '../bin/hello', worker: '../bin/tables' }, steps: [step] };
    } else if (src.startsWith('{')) {
      doc = JSON.parse(src) as Record<string, unknown>;
    } else {
      // A member of the document: "key": value.
      const member = JSON.parse(`{${src}}`) as Record<string, unknown>;
      doc = { ...skeleton(), ...member };
      if ('programs' in member) {
        const names = Object.keys(member.programs as object);
        doc.steps = names.map((n, i) => ({ op: 'exec', proc: `p${i}`, program: n }));
      }
    }
    out.push({ line: block.line, doc });
  }
  return out;
}

describe('docs/SCENARIOS.md examples run', () => {
  const examples = scenarioExamples();
  it('finds the JSON examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });
  for (const ex of examples) {
    it.skipIf(!built)(`docs/SCENARIOS.md:${ex.line}`, () => {
      // Scenarios name programs relative to themselves, as samples/scenarios/*.json do.
      const dir = mkdtempSync(join(work, 'scenario-'));
      mkdirSync(join(dir, 'scenarios'));
      symlinkSync(join(root, 'samples', 'bin'), join(dir, 'bin'));
      symlinkSync(join(root, 'samples', 'scenarios', 'sharing.pgs'), join(dir, 'scenarios', 'sharing.pgs'));
      const file = join(dir, 'scenarios', 'example.json');
      writeFileSync(file, JSON.stringify(ex.doc, null, 2));
      const r = runCli(['run', file, '--json'], dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const result = JSON.parse(r.stdout) as { policies?: unknown[] };
      expect(Array.isArray(result.policies) && result.policies.length > 0).toBe(true);
    });
  }
});
