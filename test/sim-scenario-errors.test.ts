/**
 * Scenario validation: every kind of bad field is refused with one
 * ScenarioError whose message starts with the field's JSON path, before
 * anything runs; and the CLI prints it as one line with exit status 1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../src/errors.js';
import { loadScenario } from '../src/sim/scenario/parse.js';
import { runScenario } from '../src/sim/run-scenario.js';
import { STEP_OPS } from '../src/sim/scenario/types.js';
import { runCli } from './sim-helpers.js';

const BIN = path.resolve(__dirname, '../samples/bin');

type Doc = Record<string, unknown> & { steps: Array<Record<string, unknown>> };

function base(): Doc {
  return {
    version: 1,
    machine: { frames: 4096 },
    programs: { hello: 'hello', tables: { path: 'tables' } },
    policies: [{ name: 'a' }, { name: 'b', pageCache: 'content' }],
    steps: [
      { op: 'exec', proc: 'web1', program: 'tables' },
      { op: 'fork', proc: 'web1', child: 'web2' },
      { op: 'write', proc: 'web2', region: '.data', length: 16, data: { byte: 1 } },
      { op: 'mmap', proc: 'web1', name: 'buf', length: '4 pages' },
      { op: 'read', proc: 'web1', region: 'buf' },
    ],
  };
}

async function problem(edit: (d: Doc) => void): Promise<string> {
  const doc = base();
  edit(doc);
  try {
    await loadScenario(doc as never, { baseDir: BIN });
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    const e = err as ScenarioError;
    expect(e.code).toBe('E_SCENARIO');
    expect(e.message).not.toContain('\n');
    return e.message;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario validation names the bad field by its JSON path', () => {
  it('accepts the base scenario', async () => {
    const { scenario, programs } = await loadScenario(base() as never, { baseDir: BIN });
    programs.close();
    expect(scenario.steps.map((s) => s.op)).toEqual(['exec', 'fork', 'write', 'mmap', 'read']);
  });

  const cases: Array<[string, (d: Doc) => void, RegExp]> = [
    [
      'the document is not an object',
      (d) => Object.assign(d, { steps: 1 }),
      /^steps: must be an array, not the number 1$/,
    ],
    ['a missing version', (d) => delete d.version, /^version: is required$/],
    [
      'a newer version',
      (d) => (d.version = 2),
      /^version: scenario format version the number 2 is not supported \(this pagestack reads version 1\)$/,
    ],
    ['an unknown top-level field', (d) => (d.stpes = []), /^stpes: unknown field \(known here: version, name/],
    [
      'machine.frames of the wrong type',
      (d) => (d.machine = { frames: true }),
      /^machine\.frames: must be an integer, not true$/,
    ],
    [
      'machine.frames out of range',
      (d) => (d.machine = { frames: 0 }),
      /^machine\.frames: must be from 1 to \d+, not 0$/,
    ],
    [
      'machine.frameLimit above frames',
      (d) => (d.machine = { frames: 100, frameLimit: 200 }),
      /^machine\.frameLimit: must be from 1 to 100, not 200$/,
    ],
    ['machine.pageSize other than 4096', (d) => (d.machine = { pageSize: 16384 }), /^machine\.pageSize: must be 4096/],
    [
      'machine.faultAround not a power of two',
      (d) => (d.machine = { faultAround: 3 }),
      /^machine\.faultAround: must be a power of two/,
    ],
    [
      'a size with a bad unit',
      (d) => (d.machine = { frames: '12 parsecs' }),
      /^machine\.frames: must be a frame count or a size/,
    ],
    ['programs empty', (d) => (d.programs = {}), /^programs: needs at least one program$/],
    [
      'a program that does not exist',
      (d) => (d.programs = { x: 'no-such-file' }),
      /^programs\.x: .*no-such-file: no such file or directory$/,
    ],
    [
      'a program that is not ELF',
      (d) => (d.programs = { x: '../src/hello.c' }),
      /^programs\.x: .*hello\.c: not an ELF file/,
    ],
    [
      'a program with path and container',
      (d) => (d.programs = { x: { path: 'hello', container: 'c.pgs', member: 'm' } }),
      /^programs\.x: give "path"/,
    ],
    [
      'a program of the wrong type',
      (d) => (d.programs = { x: 3 }),
      /^programs\.x: must be an object, not the number 3$/,
    ],
    ['policies not a list', (d) => (d.policies = {}), /^policies: must be an array, not an object$/],
    ['a policy without a name', (d) => (d.policies = [{}]), /^policies\[0\]\.name: is required$/],
    [
      'two policies of one name',
      (d) => (d.policies = [{ name: 'a' }, { name: 'a' }]),
      /^policies\[1\]\.name: policy "a" is defined twice$/,
    ],
    [
      'an unknown page cache',
      (d) => (d.policies = [{ name: 'a', pageCache: 'shared' }]),
      /^policies\[0\]\.pageCache: must be one of "file", "content", not the string "shared"$/,
    ],
    [
      'an unknown calloc mode',
      (d) => (d.policies = [{ name: 'a', callocMode: 'lazy' }]),
      /^policies\[0\]\.callocMode: must be one of "eager", "glibc", "on-commit"/,
    ],
    [
      'an unknown swap back end',
      (d) => (d.policies = [{ name: 'a', swap: { backend: 'zcache' } }]),
      /^policies\[0\]\.swap\.backend: must be one of "disk", "zram", "zswap"/,
    ],
    [
      'zram options on zswap',
      (d) => (d.policies = [{ name: 'a', swap: { backend: 'zswap', zram: {} } }]),
      /^policies\[0\]\.swap\.zram: applies to the zram back end, not zswap$/,
    ],
    [
      'a bad zswap percentage',
      (d) => (d.policies = [{ name: 'a', swap: { backend: 'zswap', zswap: { maxPoolPercent: 120 } } }]),
      /^policies\[0\]\.swap\.zswap\.maxPoolPercent: must be from 0 to 100, not 120$/,
    ],
    [
      'dedup-first without swap',
      (d) => (d.policies = [{ name: 'a', dedupFirst: true }]),
      /^policies\[0\]\.dedupFirst: needs a swap device/,
    ],
    [
      'a bad KSM tunable',
      (d) => (d.policies = [{ name: 'a', ksm: { pagesToScan: -1 } }]),
      /^policies\[0\]\.ksm\.pagesToScan: must be from 1 to 10000000, not -1$/,
    ],
    [
      'extends an unknown policy',
      (d) => (d.policies = [{ name: 'a', extends: 'zz' }]),
      /^policies\[0\]\.extends: no policy "zz" before this one/,
    ],
    [
      'frameLimit above the machine',
      (d) => (d.policies = [{ name: 'a', frameLimit: 5000 }]),
      /^policies\[0\]\.frameLimit: must be from 1 to 4096, not 5000$/,
    ],
    [
      'an unknown cost entry',
      (d) => (d.costs = { fault: {} }),
      /^costs\.fault: unknown cost entry \(known: faultMinor/,
    ],
    [
      'a negative cost',
      (d) => (d.costs = { diskRead: { latencyNs: -5 } }),
      /^costs\.diskRead\.latencyNs: must be from 0 to/,
    ],
    [
      'steps not a list',
      (d) => ((d as Record<string, unknown>).steps = 'exec'),
      /^steps: must be an array, not the string "exec"$/,
    ],
    ['a step without op', (d) => d.steps.push({ proc: 'web1' }), /^steps\[5\]\.op: is required \(one of: exec, fork/],
    [
      'an unknown op, with the known ones',
      (d) => d.steps.push({ op: 'swapoff' }),
      new RegExp(`^steps\\[5\\]\\.op: unknown step the string "swapoff" \\(known: ${STEP_OPS.join(', ')}\\)$`),
    ],
    [
      'an unknown process',
      (d) => d.steps.push({ op: 'exit', proc: 'web9' }),
      /^steps\[5\]\.proc: unknown process "web9" \(running here: web1, web2\)$/,
    ],
    [
      'a process after its exit',
      (d) => d.steps.push({ op: 'exit', proc: 'web2' }, { op: 'touch', proc: 'web2', region: '.text' }),
      /^steps\[6\]\.proc: unknown process "web2"/,
    ],
    [
      'an unknown program',
      (d) => d.steps.push({ op: 'exec', proc: 'x', program: 'ls' }),
      /^steps\[5\]\.program: unknown program "ls" \(known: hello, tables\)$/,
    ],
    [
      'a fork onto a running name',
      (d) => d.steps.push({ op: 'fork', proc: 'web1', child: 'web2' }),
      /^steps\[5\]\.child: process "web2" is already running/,
    ],
    [
      'an unknown field of a step',
      (d) => d.steps.push({ op: 'exit', proc: 'web1', signal: 9 }),
      /^steps\[5\]\.signal: unknown field \(known here: op, comment, proc\)$/,
    ],
    [
      'an unknown section',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: '.dtors' }),
      /^steps\[5\]\.region: program "tables" has no allocated section "\.dtors" \(it has: .*\.data/,
    ],
    [
      'an unknown named region',
      (d) => d.steps.push({ op: 'touch', proc: 'web2', region: 'buf' }),
      /^steps\[5\]\.region: process "web2" has no region "buf"/,
    ],
    [
      'a PT_LOAD out of range',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: 'load:7' }),
      /^steps\[5\]\.region: program "tables" has 4 PT_LOAD segments: "load:7" must be load:0 to load:3$/,
    ],
    [
      'interp: of a static program',
      (d) => (
        ((d.programs as Record<string, unknown>).st = 'static'),
        d.steps.push({ op: 'exec', proc: 's', program: 'st' }, { op: 'touch', proc: 's', region: 'interp:.text' })
      ),
      /^steps\[6\]\.region: program "st" has no interpreter/,
    ],
    [
      'both region and addr',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: '.text', addr: 4096 }),
      /^steps\[5\]: needs exactly one of "region" \(a named region\) and "addr"/,
    ],
    [
      'addr without length',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', addr: '0x555555554000' }),
      /^steps\[5\]\.length: is required with "addr"$/,
    ],
    [
      'length and fraction',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: '.data', length: 1, fraction: 0.5 }),
      /^steps\[5\]: give "length" or "fraction", not both$/,
    ],
    [
      'a fraction above 1',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: '.data', fraction: 1.5 }),
      /^steps\[5\]\.fraction: must be from 0 to 1, not 1\.5$/,
    ],
    [
      'stride on munmap',
      (d) => d.steps.push({ op: 'munmap', proc: 'web1', region: 'buf', stride: 4096 }),
      /^steps\[5\]\.stride: is only for read, write and touch$/,
    ],
    [
      'a chunk larger than the stride',
      (d) => d.steps.push({ op: 'touch', proc: 'web1', region: '.data', stride: 4096, chunk: 8192 }),
      /^steps\[5\]\.chunk: must be from 1 to 4096, not 8192$/,
    ],
    [
      'a write without data',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data' }),
      /^steps\[5\]\.data: is required$/,
    ],
    [
      'data of an unknown kind',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { ones: true } }),
      /^steps\[5\]\.data: needs exactly one of "zero", "byte", "word"/,
    ],
    [
      'data as a bad string',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: 'random' }),
      /^steps\[5\]\.data: must be "zero" or an object/,
    ],
    [
      'a byte out of range',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { byte: 256 } }),
      /^steps\[5\]\.data\.byte: must be from 0 to 255, not 256$/,
    ],
    [
      'a bad word',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { word: '0x12345678901234567' } }),
      /^steps\[5\]\.data\.word: must be a 64-bit word/,
    ],
    [
      'a bad hex pattern',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { pattern: 'abc' } }),
      /^steps\[5\]\.data\.pattern: must be 1 to 4096 bytes as hex digits/,
    ],
    [
      'a random without seed',
      (d) => d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { random: { distinct: 2 } } }),
      /^steps\[5\]\.data\.random\.seed: is required$/,
    ],
    [
      'a copy from an unknown process',
      (d) =>
        d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { copy: { proc: 'db', region: '.data' } } }),
      /^steps\[5\]\.data\.copy\.proc: unknown process "db"/,
    ],
    [
      'a copy with a length',
      (d) =>
        d.steps.push({
          op: 'write',
          proc: 'web1',
          region: '.data',
          data: { copy: { proc: 'web2', region: '.data', length: 4 } },
        }),
      /^steps\[5\]\.data\.copy\.length: unknown field/,
    ],
    [
      'a copy inside a mix',
      (d) =>
        d.steps.push({
          op: 'write',
          proc: 'web1',
          region: '.data',
          data: { mix: [{ data: { copy: { proc: 'web2', region: '.data' } } }] },
        }),
      /^steps\[5\]\.data\.mix\[0\]\.data\.copy: cannot be part of a mix/,
    ],
    [
      'a mix weight of the wrong type',
      (d) =>
        d.steps.push({ op: 'write', proc: 'web1', region: '.data', data: { mix: [{ weight: 'x', data: 'zero' }] } }),
      /^steps\[5\]\.data\.mix\[0\]\.weight: must be a number, not the string "x"$/,
    ],
    [
      'bad protection letters',
      (d) => d.steps.push({ op: 'mmap', proc: 'web1', length: 4096, prot: 'rwr' }),
      /^steps\[5\]\.prot: must be protection letters/,
    ],
    [
      'an unaligned mmap address',
      (d) => d.steps.push({ op: 'mmap', proc: 'web1', length: 4096, addr: 100 }),
      /^steps\[5\]\.addr: must be a multiple of the page size \(4096\)$/,
    ],
    [
      'a duplicate region name',
      (d) => d.steps.push({ op: 'mmap', proc: 'web1', name: 'buf', length: 4096 }),
      /^steps\[5\]\.name: process "web1" already has a region named "buf"$/,
    ],
    [
      'a built-in region name for an mmap',
      (d) => d.steps.push({ op: 'mmap', proc: 'web1', name: '[heap]', length: 4096 }),
      /^steps\[5\]\.name: "\[heap\]" is the name of a built-in region/,
    ],
    [
      'an mmap of an unknown program file',
      (d) => d.steps.push({ op: 'mmap', proc: 'web1', length: 4096, file: { program: 'libc' } }),
      /^steps\[5\]\.file\.program: unknown program "libc"/,
    ],
    [
      'an unknown madvise advice',
      (d) => d.steps.push({ op: 'madvise', proc: 'web1', region: 'buf', advice: 'MADV_FREE' }),
      /^steps\[5\]\.advice: must be one of "MADV_DONTNEED", "MADV_MERGEABLE", "MADV_UNMERGEABLE"/,
    ],
    [
      'an unknown prctl option',
      (d) => d.steps.push({ op: 'prctl', proc: 'web1', option: 'PR_SET_NAME', value: 1 }),
      /^steps\[5\]\.option: must be one of "PR_SET_MEMORY_MERGE"/,
    ],
    [
      'free of an unknown allocation',
      (d) => d.steps.push({ op: 'free', proc: 'web1', ptr: 'buf' }),
      /^steps\[5\]\.ptr: process "web1" has no allocation named "buf" \(none\)$/,
    ],
    [
      'free twice',
      (d) =>
        d.steps.push(
          { op: 'malloc', proc: 'web1', size: 10, as: 'p' },
          { op: 'free', proc: 'web1', ptr: 'p' },
          { op: 'free', proc: 'web1', ptr: 'p' },
        ),
      /^steps\[7\]\.ptr: process "web1" has no allocation named "p"/,
    ],
    [
      'an unknown mallopt parameter',
      (d) => d.steps.push({ op: 'mallopt', proc: 'web1', param: 'M_ARENA_MAX', value: 1 }),
      /^steps\[5\]\.param: must be one of "M_MMAP_THRESHOLD", "M_TRIM_THRESHOLD"/,
    ],
    [
      'an M_MXFAST out of range',
      (d) => d.steps.push({ op: 'mallopt', proc: 'web1', param: 'M_MXFAST', value: 200 }),
      /^steps\[5\]\.value: must be from 0 to 160, not 200$/,
    ],
    [
      'a calloc whose size overflows',
      (d) => d.steps.push({ op: 'calloc', proc: 'web1', count: '1G', size: '1M', as: 'c' }),
      /^steps\[5\]: count × size = \d+ bytes is more than an address space holds$/,
    ],
    [
      'mayFail not a boolean',
      (d) => d.steps.push({ op: 'malloc', proc: 'web1', size: 1, as: 'm', mayFail: 'yes' }),
      /^steps\[5\]\.mayFail: must be true or false, not the string "yes"$/,
    ],
    [
      'a policy malloc tunable out of range',
      (d) => (d.policies = [{ name: 'a', malloc: { maxFast: 999 } }]),
      /^policies\[0\]\.malloc\.maxFast: must be from 0 to 160, not 999$/,
    ],
    [
      'a tick of zero',
      (d) => d.steps.push({ op: 'tick', ms: 0 }),
      /^steps\[5\]\.ms: must be from 1 to 1000000000, not 0$/,
    ],
    [
      'memory-limit with both fields',
      (d) => d.steps.push({ op: 'memory-limit', frames: 10, bytes: '1M' }),
      /^steps\[5\]: needs exactly one of "frames" and "bytes"$/,
    ],
    [
      'memory-limit above the machine',
      (d) => d.steps.push({ op: 'memory-limit', frames: 9999 }),
      /^steps\[5\]\.frames: must be from 1 to 4096, not 9999$/,
    ],
    ['a repeat without steps', (d) => d.steps.push({ op: 'repeat', count: 2 }), /^steps\[5\]\.steps: is required$/],
    [
      'a repeat count of the wrong type',
      (d) => d.steps.push({ op: 'repeat', count: [], steps: [] }),
      /^steps\[5\]\.count: must be an integer, not an array$/,
    ],
    [
      'a repeat variable used twice',
      (d) => d.steps.push({ op: 'repeat', count: 1, steps: [{ op: 'repeat', count: 1, steps: [] }] }),
      /^steps\[5\]\.steps\[0\]\.var \(i=0\): "i" is already the variable of an enclosing repeat$/,
    ],
    [
      'a bad step inside a repeat, with the iteration',
      (d) =>
        d.steps.push({
          op: 'repeat',
          count: 3,
          steps: [
            { op: 'exec', proc: 'w{i}', program: 'hello' },
            { op: 'exit', proc: 'w{i-1}' },
          ],
        }),
      /^steps\[5\]\.steps\[1\]\.proc \(i=0\): unknown process "w-1"/,
    ],
    [
      'too many steps',
      (d) =>
        d.steps.push({
          op: 'repeat',
          count: 1_000_000,
          steps: [
            { op: 'tick', ms: 1 },
            { op: 'tick', ms: 1 },
          ],
        }),
      /^steps\[5\]\.count: the scenario would expand to more than 500000 steps, the most a work budget of 50000000 allows \(100 page operations a step; --max-work raises it\)$/,
    ],
  ];

  it.each(cases)('%s', async (_what, edit, pattern) => {
    expect(await problem(edit)).toMatch(pattern);
  });

  it('prefixes the file name when the scenario is a file, and gives the field in data', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-sim-'));
    try {
      const file = path.join(dir, 'bad.json');
      const doc = base();
      doc.programs = { hello: path.join(BIN, 'hello'), tables: path.join(BIN, 'tables') };
      doc.steps.push({ op: 'exit', proc: 'web9' });
      fs.writeFileSync(file, JSON.stringify(doc));
      await expect(loadScenario(file)).rejects.toMatchObject({
        message: `${file}: steps[5].proc: unknown process "web9" (running here: web1, web2)`,
        data: { file, field: 'steps[5].proc' },
      });
      fs.writeFileSync(file, '{ "version": 1, ');
      await expect(loadScenario(file)).rejects.toThrow(/^.*bad\.json: not valid JSON: /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the swap and KSM policies now that src/mm has them, and selects policies by name', async () => {
    const doc = base();
    doc.policies = [{ name: 'plain' }, { name: 'zram', swap: 'zram' }, { name: 'ksm', ksm: true }];
    const r = await runScenario(doc as never, { baseDir: BIN });
    expect(r.policies.map((p) => p.name)).toEqual(['plain', 'zram', 'ksm']);
    expect(r.skipped).toEqual([]);
    expect(r.policies[1]!.summary.swap?.backend).toBe('zram');
    expect(r.policies[2]!.summary.ksm).not.toBeNull();
    const one = await runScenario(doc as never, { baseDir: BIN, policies: ['plain'] });
    expect(one.policies.map((p) => p.name)).toEqual(['plain']);
  });

  it('turns a run-time refusal of the model into a one-line error naming the step', async () => {
    const doc = base();
    doc.steps.push({ op: 'write', proc: 'web1', addr: 4096, length: 1, data: 'zero' });
    await expect(runScenario(doc as never, { baseDir: BIN })).rejects.toThrow(/^steps\[5\]: write: .*0x1000/);
    const past = base();
    past.steps.push({ op: 'read', proc: 'web1', region: 'buf', offset: '3 pages', length: 8192 });
    await expect(runScenario(past as never, { baseDir: BIN })).rejects.toThrow(
      /^steps\[5\]: read: 8192 bytes from offset 12288 run past the end of buf \(16384 bytes\)$/,
    );
  });
});

describe('pagestack run: errors on the command line', () => {
  it('prints one line and exits 1 for a bad scenario', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-sim-'));
    try {
      const file = path.join(dir, 's.json');
      const doc = base();
      doc.programs = { hello: path.join(BIN, 'hello'), tables: path.join(BIN, 'tables') };
      doc.steps.push({ op: 'frobnicate' });
      fs.writeFileSync(file, JSON.stringify(doc));
      const r = await runCli('run', file);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `pagestack: run: ${file}: steps[5].op: unknown step the string "frobnicate" (known: ${STEP_OPS.join(', ')})\n`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 for a missing file and 2 for an unknown policy or a missing argument', async () => {
    expect(await runCli('run', 'no/such.json')).toMatchObject({
      status: 1,
      stderr: 'pagestack: run: no/such.json: no such file or directory\n',
    });
    const sample = path.resolve(__dirname, '../samples/scenarios/sharing.json');
    expect(await runCli('run', sample, '--policy', 'nope')).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^pagestack: run: no policy "nope" in the scenario \(it has: /),
    });
    expect((await runCli('run')).status).toBe(2);
  });
});
