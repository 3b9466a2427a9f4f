/**
 * Scenarios that ask too much are refused before they run, in one line
 * naming the step or field and the budget (scenario-budget), a document
 * nested too deep is refused before any recursive walk (scenario-depth),
 * and Ctrl-C stops a run leaving no output file behind (run-sigint).
 */
import { spawn, spawnSync } from 'node:child_process';
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
    const low = await runCli('run', file, '--max-work', '1000');
    expect(low.status).toBe(1);
    expect(low.stderr).toMatch(/more than the budget of 1000 \(--max-work raises it\)/);
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

/** The real CLI in a child process; the timeout only guards against a hang. */
function runReal(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cliBuilt = fs.existsSync(path.join(ROOT, 'dist/cli/main.js'));
if (!cliBuilt)
  console.log('scenario-steps: dist/ is not built (npm run build), the real-CLI step-count tests are skipped');
const stepRefusal = (field: string, cap: number, work: number): RegExp =>
  new RegExp(
    `^pagestack: run: \\S+: ${field.replace(/[[\].()]/g, '\\$&')}: the scenario would expand to more than ${cap} steps, the most a work budget of ${work} allows \\(100 page operations a step; --max-work raises it\\)\n$`,
  );

describe('scenario-steps: repeat blocks are counted before they are expanded', () => {
  it.skipIf(!cliBuilt)('refuses 10^6 execs in one repeat, naming the count', () => {
    const file = write(
      'million-execs',
      scenario([{ op: 'repeat', count: 1_000_000, steps: [{ op: 'exec', proc: 'p{i}', program: 'hello' }] }]),
    );
    const r = runReal('run', file);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(stepRefusal('steps[0].count', 500000, 50000000));
    expect(r.stdout).toBe('');
  });

  it.skipIf(!cliBuilt)('refuses nested repeats of 1000 × "1000" (a count given as a string)', () => {
    const file = write(
      'nested-repeats',
      scenario([
        exec,
        {
          op: 'repeat',
          count: 1000,
          var: 'j',
          steps: [{ op: 'repeat', count: '1000', steps: [{ op: 'fork', proc: 'a', child: 'c{j}_{i}' }] }],
        },
      ]),
    );
    const r = runReal('run', file);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(stepRefusal('steps[1].count', 500000, 50000000));
  });

  it.skipIf(!cliBuilt)('refuses a count past 2^53 and a templated count, without overflow', () => {
    const huge = write(
      'huge-count',
      scenario([{ op: 'repeat', count: 2 ** 40, steps: [{ op: 'repeat', count: 2 ** 40, steps: [exec] }] }]),
    );
    expect(runReal('run', huge).stderr).toMatch(stepRefusal('steps[0].count', 500000, 50000000));
    const templated = write(
      'templated-count',
      scenario([{ op: 'repeat', count: 10, var: 'j', steps: [{ op: 'repeat', count: '{j*100000}', steps: [] }] }]),
    );
    const r = runReal('run', templated);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pagestack: run: \S+: steps\[0\]\.steps\[0\]\.count \(j=\d\): the scenario would expand/);
  });

  it.skipIf(!cliBuilt)('runs a scenario at the cap, refuses one step more; --max-work moves the cap', () => {
    // --max-work 200000: a cap of 2000 steps. An exec, an mmap and 1998 touches are at the cap.
    const steps = (n: number) => [
      exec,
      { op: 'mmap', proc: 'a', length: 4096, name: 'm' },
      { op: 'repeat', count: n, steps: [{ op: 'touch', proc: 'a', region: 'm' }] },
    ];
    const at = write('at-cap', scenario(steps(1998)));
    const ok = runReal('run', at, '--max-work', '200000', '--quiet');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const over = write('over-cap', scenario(steps(1999)));
    const r = runReal('run', over, '--max-work', '200000');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(stepRefusal('steps[2].count', 2000, 200000));
    expect(runReal('run', over, '--max-work', '200100', '--quiet').status).toBe(0);
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
