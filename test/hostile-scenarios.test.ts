/**
 * Scenarios that ask too much are refused before they run, in one line
 * naming the step or field and the budget (scenario-budget), a document
 * nested too deep is refused before any recursive walk (scenario-depth),
 * and Ctrl-C stops a run leaving no output file behind (run-sigint).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, removeTree } from './container-helpers.js';
import { runCli } from './sim-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELLO = path.join(ROOT, 'samples/bin/hello');
const CLI = path.join(ROOT, 'bin/pagestack.js');

let work: string;
beforeAll(() => {
  work = tempDir('scenarios');
});
afterAll(() => removeTree(work));

function write(name: string, doc: unknown): string {
  const file = path.join(work, `${name}.json`);
  fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return file;
}

const exec = { op: 'exec', proc: 'a', program: 'hello' };
const scenario = (steps: unknown[], extra: Record<string, unknown> = {}): unknown => ({
  version: 1,
  name: 'hostile',
  programs: { hello: HELLO },
  steps,
  ...extra,
});

const cases: Array<[string, unknown, RegExp]> = [
  [
    'frame limit 4G with writes',
    scenario(
      [
        exec,
        { op: 'mmap', proc: 'a', length: '16 GiB', name: 'm' },
        { op: 'write', proc: 'a', region: 'm', data: { byte: 1 } },
      ],
      { machine: { frames: '4G', frameLimit: '4G' } },
    ),
    /steps\[2\]: the run would need about \d+ MiB of memory, more than the budget of 2048 MiB \(--max-memory raises it\)/,
  ],
  [
    'mmap of 2^46 bytes, touched',
    scenario([exec, { op: 'mmap', proc: 'a', length: 2 ** 46, name: 'm' }, { op: 'touch', proc: 'a', region: 'm' }]),
    /steps\[2\]: the run would take about [\d.e]+ page operations .* \(--max-work raises it\)/,
  ],
  [
    '10^4 policy sets',
    scenario([exec], { policies: Array.from({ length: 10_000 }, (_, i) => ({ name: `p${i}` })) }),
    /policies: the run would take about .* over 10000 policy set\(s\)/,
  ],
  [
    '10^9 ms of KSM ticks',
    scenario([exec, { op: 'prctl', proc: 'a', option: 'PR_SET_MEMORY_MERGE', value: 1 }, { op: 'tick', ms: 1e9 }], {
      policies: [{ name: 'k', ksm: true }],
    }),
    /steps\[2\]: the run would take about 5\.05e9 page operations/,
  ],
  [
    'stride-1 access over 1 GiB',
    scenario([
      exec,
      { op: 'mmap', proc: 'a', length: '1 GiB', name: 'm' },
      { op: 'write', proc: 'a', region: 'm', stride: 1, chunk: 1, data: { byte: 1 } },
    ]),
    /steps\[2\]: the run would take about 1\.07e9 page operations/,
  ],
  [
    '10^5 forks',
    scenario([exec, { op: 'repeat', count: 100_000, steps: [{ op: 'fork', proc: 'a', child: 'c{i}' }] }]),
    /steps \(100000 fork steps\): the run would take/,
  ],
  [
    'many processes (5*10^4 execs)',
    scenario([{ op: 'repeat', count: 50_000, steps: [{ op: 'exec', proc: 'p{i}', program: 'hello' }] }]),
    /the run would (take|need) about .* \((--max-work|--max-memory) raises it\)/,
  ],
  [
    '64 GiB of zero writes on a 512 GiB machine',
    scenario(
      [
        exec,
        { op: 'mmap', proc: 'a', length: '64 GiB', name: 'm' },
        { op: 'write', proc: 'a', region: 'm', data: 'zero' },
      ],
      { machine: { frames: 2 ** 27 - 1 } },
    ),
    /steps\[2\]: the run would need about 65536 MiB of memory/,
  ],
];

describe('scenario-budget: a scenario that asks too much is refused before it runs', () => {
  for (const [label, doc, message] of cases) {
    it(`refuses ${label} in one line`, async () => {
      const file = write(label.replace(/\W+/g, '-'), doc);
      const started = Date.now();
      const r = await runCli('run', file);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(60_000); // refused, not run (parsing 10^5 steps is the slow part)
    }, 90_000);
  }

  it('--max-work and --max-memory move the limits both ways', async () => {
    const file = write(
      'small',
      scenario([
        exec,
        { op: 'mmap', proc: 'a', length: '1 MiB', name: 'm' },
        { op: 'write', proc: 'a', region: 'm', data: { byte: 1 } },
      ]),
    );
    expect((await runCli('run', file)).status).toBe(0);
    const low = await runCli('run', file, '--max-work', '100');
    expect(low.status).toBe(1);
    expect(low.stderr).toMatch(/more than the budget of 100 \(--max-work raises it\)/);
    const lowMem = await runCli('run', file, '--max-memory', '64K');
    expect(lowMem.status).toBe(1);
    expect(lowMem.stderr).toMatch(/--max-memory raises it/);
    const stride = write(
      'stride',
      scenario([
        exec,
        { op: 'mmap', proc: 'a', length: '64 MiB', name: 'm' },
        { op: 'touch', proc: 'a', region: 'm', stride: 1, chunk: 1 },
      ]),
    );
    expect((await runCli('run', stride, '--max-work', '10000')).status).toBe(1);
  });
});

describe('scenario-depth: deep nesting is refused before it is walked', () => {
  it('refuses 10^5 nested arrays with one line, not a stack overflow', async () => {
    const file = write('deep', `{"version":1,"name":"d","steps":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const r = await runCli('run', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nested 100001 levels deep; a scenario may nest at most 64\n$/);
    expect(r.stderr).not.toMatch(/call stack/);
  });

  it('counts brackets inside strings as text', async () => {
    const file = write('brackets', { ...(scenario([exec]) as object), description: '['.repeat(1000) });
    expect((await runCli('run', file)).status).toBe(0);
  });
});

const distBuilt = fs.existsSync(path.join(ROOT, 'dist/cli/main.js'));
if (!distBuilt) console.log('run-sigint: dist/ is not built (npm run build), the Ctrl-C test is skipped');
describe('run-sigint: Ctrl-C stops a run and leaves nothing half-written', () => {
  it.skipIf(!distBuilt)(
    'exits on SIGINT with no --html/--json output and no temporary file',
    async () => {
      const dir = fs.mkdtempSync(path.join(work, 'sigint-'));
      // Long enough to be interrupted: many policy sets writing memory.
      const file = path.join(dir, 's.json');
      fs.writeFileSync(
        file,
        JSON.stringify(
          scenario(
            [
              exec,
              { op: 'mmap', proc: 'a', length: '256 MiB', name: 'm' },
              {
                op: 'repeat',
                count: 50,
                steps: [{ op: 'write', proc: 'a', region: 'm', data: { random: { seed: '{i}' } } }],
              },
            ],
            {
              policies: Array.from({ length: 8 }, (_, i) => ({ name: `p${i}` })),
            },
          ),
        ),
      );
      const html = path.join(dir, 'out.html');
      const child = spawn(process.execPath, [CLI, 'run', file, '--html', html, '--svg', path.join(dir, 'out.svg')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise((r) => setTimeout(r, 2500));
      const stillRunning = child.exitCode === null;
      child.kill('SIGINT');
      const code = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (c, s) => resolve({ code: c, signal: s })),
      );
      expect(stillRunning, `the run ended before it could be interrupted: ${stderr}`).toBe(true);
      expect(code.signal === 'SIGINT' || code.code === 130).toBe(true);
      expect(fs.readdirSync(dir).sort()).toEqual(['s.json']);
    },
    60_000,
  );
});
