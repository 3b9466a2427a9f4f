/**
 * pack leaves out what it is told to (--exclude), what it cannot hold
 * (--skip-special: FIFOs, sockets, devices, with a warning), and always its
 * own output file when that lies inside an input.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { list, pack } from '../src/container/index.js';
import { globToRegExp } from '../src/container/walk-filter.js';
import { runCli } from './cli-inprocess.js';

const SAMPLES = path.resolve(__dirname, '../samples/bin');
const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;
if (!hasMkfifo) console.log('pack-filter: mkfifo not found; the FIFO cases are skipped');
let dir: string;
let tree: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-pack-filter-'));
  tree = path.join(dir, 'tree');
  for (const d of ['bin', 'obj/deep', '.git', 'tests/bin']) fs.mkdirSync(path.join(tree, d), { recursive: true });
  fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(tree, 'bin/hello'));
  fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(tree, 'bin/hello.debug'));
  fs.writeFileSync(path.join(tree, 'obj/a.o'), 'object');
  fs.writeFileSync(path.join(tree, 'obj/deep/b.o'), 'object');
  fs.writeFileSync(path.join(tree, '.git/HEAD'), 'ref\n');
  fs.writeFileSync(path.join(tree, 'tests/bin/t'), 'test');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function members(container: string): Promise<string[]> {
  return (await list(container)).files.map((f) => f.path);
}

describe('glob patterns', () => {
  it('*, **, ? and sets match as documented', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.o', 'a.o', true],
      ['*.o', 'a.o/x', false],
      ['bin/*', 'bin/hello', true],
      ['bin/*', 'bin/sub/hello', false],
      ['**/bin', 'bin', true],
      ['**/bin', 'x/y/bin', true],
      ['tree/**', 'tree/a/b', true],
      ['h?llo', 'hello', true],
      ['h?llo', 'h/llo', false],
      ['[ab].o', 'b.o', true],
      ['[!ab].o', 'b.o', false],
      ['a+b(c)', 'a+b(c)', true],
    ];
    for (const [glob, p, want] of cases) expect(globToRegExp(glob).test(p), `${glob} ~ ${p}`).toBe(want);
  });
});

describe('pack --exclude', () => {
  it('a name pattern at any depth, a path pattern, and a directory with all below it', async () => {
    const out = path.join(dir, 'ex.pgs');
    const summary = await pack([tree], out, { exclude: ['*.o', 'tree/bin/*.debug', '.git', '**/tests'] });
    expect(await members(out)).toEqual(['tree', 'tree/bin', 'tree/bin/hello', 'tree/obj', 'tree/obj/deep']);
    expect(summary.excluded).toBe(5); // a.o, b.o, hello.debug, .git, tests
  });

  it('the CLI: repeatable, and the summary counts what was left out', async () => {
    const out = path.join(dir, 'cli.pgs');
    const r = await runCli('pack', tree, '--exclude', '*.o', '-o', out, '--exclude', '.git', '--json');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).excluded).toBe(3);
    expect(await members(out)).not.toContain('tree/obj/a.o');
  });
});

describe('pack and its own output', () => {
  it('an earlier container at the output path inside the input is not packed into the new one', async () => {
    const out = path.join(tree, 'self.pgs');
    try {
      await pack([tree], out);
      expect(await members(out)).not.toContain('tree/self.pgs'); // not there yet on the first run
      const r = await runCli('pack', tree, '-o', out);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe(`pagestack: pack: left out ${out}: the output container itself\n`);
      expect(await members(out)).not.toContain('tree/self.pgs');
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});

describe.skipIf(!hasMkfifo)('pack --skip-special', () => {
  it('without it a FIFO fails the pack naming the option; with it, a warning and the rest packed', async () => {
    const special = path.join(dir, 'special');
    fs.mkdirSync(special);
    fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(special, 'hello'));
    expect(spawnSync('mkfifo', [path.join(special, 'pipe')]).status).toBe(0);
    const out = path.join(dir, 'special.pgs');
    const refused = await runCli('pack', special, '-o', out);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      `pagestack: pack: ${path.join(special, 'pipe')}: is a FIFO, which a container cannot hold (--skip-special leaves such files out)\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
    const r = await runCli('pack', special, '-o', out, '--skip-special');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `pagestack: pack: left out ${path.join(special, 'pipe')}: a FIFO, which a container cannot hold\n`,
    );
    expect(await members(out)).toEqual(['special', 'special/hello']);
  });
});
