/**
 * The `run --json` and `load --json` documents are stable: their fields
 * (path and type) are listed here and must match exactly, so a rename or a
 * removal fails, and an addition has to be made here and documented.
 * docs/SCENARIOS.md must name every field.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COST_OP_NAMES } from '../src/mm/cost.js';
import { runCli } from './sim-helpers.js';

const BIN = path.resolve(__dirname, '../samples/bin');
const DOCS = path.resolve(__dirname, '../docs/SCENARIOS.md');

/** Every leaf and container of a JSON value as `path: type`, array elements as `[]`, types merged over elements. */
function shape(value: unknown, at = '', out = new Map<string, Set<string>>()): Map<string, Set<string>> {
  const add = (t: string) => {
    if (!out.has(at)) out.set(at, new Set());
    out.get(at)!.add(t);
  };
  if (value === null) add('null');
  else if (Array.isArray(value)) {
    add('array');
    for (const v of value) shape(v, `${at}[]`, out);
  } else if (typeof value === 'object') {
    add('object');
    for (const [k, v] of Object.entries(value)) shape(v, at === '' ? k : `${at}.${k}`, out);
  } else add(typeof value);
  return out;
}

const SMAPS = [
  'rss',
  'pss',
  'pssDirty',
  'pssAnon',
  'pssFile',
  'pssShmem',
  'sharedClean',
  'sharedDirty',
  'privateClean',
  'privateDirty',
  'referenced',
  'anonymous',
  'ksm',
  'lazyFree',
  'swap',
  'swapPss',
  'locked',
];

const RUN_FIELDS: Record<string, string> = {
  '': 'object',
  schema: 'string',
  scenario: 'object',
  'scenario.name': 'string',
  'scenario.description': 'string',
  'scenario.file': 'string|null',
  'scenario.version': 'number',
  'scenario.steps': 'number',
  machine: 'object',
  'machine.frames': 'number',
  'machine.pageSize': 'number',
  'machine.frameLimit': 'number',
  'machine.keepPageCache': 'boolean',
  'machine.fileCache': 'string',
  costs: 'object',
  'costs.table': 'string',
  'costs.overridden': 'array',
  'costs.overridden[]': 'string',
  policies: 'array',
  'policies[]': 'object',
  'policies[].name': 'string',
  'policies[].settings': 'object',
  'policies[].settings.pageCache': 'string',
  'policies[].settings.callocMode': 'string',
  'policies[].settings.malloc': 'object|null',
  'policies[].settings.frameLimit': 'number',
  'policies[].settings.keepPageCache': 'boolean',
  'policies[].settings.swap': 'object|null',
  'policies[].settings.dedupFirst': 'boolean',
  'policies[].settings.mergeOnRestore': 'boolean',
  'policies[].settings.ksm': 'object|null',
  'policies[].outcome': 'object',
  'policies[].outcome.status': 'string',
  'policies[].outcome.step': 'string',
  'policies[].outcome.message': 'string',
  'policies[].stepsRun': 'number',
  'policies[].timeMs': 'number',
  'policies[].summary': 'object',
  ...Object.fromEntries(
    [
      'framesPeak',
      'framesFinal',
      'frameLimit',
      'pageCacheFrames',
      'anonFrames',
      'shmemFrames',
      'rssTotal',
      'pssTotal',
      'swapTotal',
      'cowBreaks',
      'fileReadBytes',
      'cpuNs',
      'bytesVerified',
    ].map((k) => [`policies[].summary.${k}`, 'number']),
  ),
  ...Object.fromEntries(
    ['swapOuts', 'swapIns', 'swapReadBytes', 'swapWriteBytes'].map((k) => [`policies[].summary.${k}`, 'number|null']),
  ),
  'policies[].summary.faults': 'object',
  ...Object.fromEntries(
    ['minor', 'major', 'swapIn', 'zeroFill', 'cow', 'reuse', 'cowKsm'].map((k) => [
      `policies[].summary.faults.${k}`,
      'number',
    ]),
  ),
  'policies[].summary.ksm': 'object|null',
  ...Object.fromEntries(
    [
      'pages_shared',
      'pages_sharing',
      'pages_unshared',
      'pages_volatile',
      'full_scans',
      'ksm_zero_pages',
      'pages_scanned',
      'cow_ksm',
    ].map((k) => [`policies[].summary.ksm.${k}`, 'number']),
  ),
  ...Object.fromEntries(
    ['swapOuts', 'swapIns', 'slotsInUse', 'poolPages', 'restoreMerges', 'restoreZeroMerges'].map((k) => [
      `policies[].summary.swap.${k}`,
      'number',
    ]),
  ),
  'policies[].summary.swap.backend': 'string',
  'policies[].summary.swap.dedupFirst': 'boolean',
  'policies[].summary.swap.mergeOnRestore': 'boolean',
  'policies[].summary.swap.stats': 'object',
  ...Object.fromEntries(['pagesToScan', 'sleepMillisecs'].map((k) => [`policies[].settings.ksm.${k}`, 'number'])),
  'policies[].settings.ksm.useZeroPages': 'boolean',
  'policies[].settings.swap.backend': 'string',
  'policies[].summary.swap': 'object|null',
  'policies[].summary.heap': 'object|null',
  ...Object.fromEntries(
    [
      'allocators',
      'arenaBytes',
      'mmappedBytes',
      'brkCalls',
      'mmapCalls',
      'callocBytesZeroed',
      'callocBytesDiscarded',
    ].map((k) => [`policies[].summary.heap.${k}`, 'number']),
  ),
  'policies[].cost': 'object',
  'policies[].cost.cpuNs': 'number',
  'policies[].cost.ioNs': 'number',
  'policies[].cost.ops': 'object',
  ...Object.fromEntries(
    COST_OP_NAMES.flatMap((op) => [
      [`policies[].cost.ops.${op}`, 'object'],
      ...['count', 'bytes', 'ns'].map((k) => [`policies[].cost.ops.${op}.${k}`, 'number']),
    ]),
  ),
  'policies[].processes': 'array',
  'policies[].processes[]': 'object',
  'policies[].processes[].name': 'string',
  'policies[].processes[].pid': 'number',
  'policies[].processes[].program': 'string',
  'policies[].processes[].smapsRollup': 'object',
  ...Object.fromEntries([...SMAPS, 'start', 'end'].map((k) => [`policies[].processes[].smapsRollup.${k}`, 'number'])),
  'policies[].processes[].faults': 'object',
  'policies[].processes[].faults.minor': 'number',
  'policies[].processes[].faults.major': 'number',
  'policies[].series': 'object',
  ...Object.fromEntries(
    ['step', 'timeMs', 'framesUsed'].flatMap((k) => [
      [`policies[].series.${k}`, 'array'],
      [`policies[].series.${k}[]`, 'number'],
    ]),
  ),
  'policies[].series.swapUsed': 'array|null',
  'policies[].series.swapUsed[]': 'number',
  'policies[].series.poolPages': 'array|null',
  'policies[].series.poolPages[]': 'number',
  skipped: 'array',
  'skipped[]': 'object',
  ...Object.fromEntries(['name', 'field', 'feature', 'missing', 'reason'].map((k) => [`skipped[].${k}`, 'string'])),
};

/** Fields that exist only in some documents: under a null-able object, or in one outcome kind. */
const OPTIONAL =
  /^(policies\[\]\.(settings\.(swap|ksm|malloc)\.|summary\.(swap|ksm)\.|outcome\.(step|message)$|series\.(swapUsed|poolPages)\[\]$)|skipped\[\])/;

const LOAD_FIELDS: Record<string, string> = {
  '': 'object',
  schema: 'string',
  programs: 'array',
  'programs[]': 'object',
  'programs[].name': 'string',
  'programs[].path': 'string',
  'programs[].interpreter': 'string|null',
  'programs[].libraries': 'array',
  'programs[].libraries[]': 'string',
  libs: 'boolean',
  sharing: 'object',
  'sharing.contentSharedFrames': 'number',
  'sharing.ordinarySharedPages': 'number',
  'sharing.rtldDirtiedPages': 'number',
  notes: 'array',
  'notes[]': 'string',
  skipped: 'array',
  'skipped[]': 'object',
  'skipped[].member': 'string',
  'skipped[].reason': 'string',
  procs: 'number',
  fork: 'boolean',
  touch: 'string|number',
  fileCache: 'string',
  processes: 'array',
  'processes[]': 'object',
  'processes[].pid': 'number',
  'processes[].program': 'string',
  'processes[].copy': 'number',
  'processes[].forked': 'boolean',
  ...Object.fromEntries(
    ['content', 'file'].flatMap((m) => [
      [`processes[].${m}`, 'object'],
      ...[...SMAPS, 'start', 'end'].map((k) => [`processes[].${m}.${k}`, 'number']),
    ]),
  ),
  system: 'object',
  ...Object.fromEntries(
    ['content', 'file', 'saving'].flatMap((m) => [
      [`system.${m}`, 'object'],
      ...[
        'framesUsed',
        'pageCacheFrames',
        'anonFrames',
        'rssTotal',
        'pssTotal',
        'majorFaults',
        'minorFaults',
        'fileReadBytes',
      ].map((k) => [`system.${m}.${k}`, 'number']),
    ]),
  ),
};

function compare(doc: unknown, fields: Record<string, string>, optional: RegExp | null): void {
  const actual = shape(doc);
  for (const [at, types] of actual) {
    // The swap device's own counters (zram mm_stat, zswap debugfs, dedup_*): named by the back end, all numbers.
    if (at.startsWith('policies[].summary.swap.stats.')) {
      expect([...types], at).toEqual(['number']);
      continue;
    }
    const expected = fields[at];
    expect(expected, `undocumented field ${at || '(document)'}`).toBeDefined();
    for (const t of types) expect(expected!.split('|'), `${at}: type ${t}`).toContain(t);
  }
  for (const at of Object.keys(fields)) {
    if (!actual.has(at) && !(optional?.test(at) ?? false)) throw new Error(`field ${at} is missing from the document`);
  }
}

let scenarioDir: string | undefined;
afterAll(() => {
  if (scenarioDir) fs.rmSync(scenarioDir, { recursive: true, force: true });
});

function scenarioFile(): string {
  scenarioDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-json-'));
  const file = path.join(scenarioDir, 's.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      machine: { frames: 4096 },
      programs: { hello: path.join(BIN, 'hello') },
      policies: [
        { name: 'roomy' },
        { name: 'tight', frameLimit: 40 },
        { name: 'ksm', ksm: true },
        { name: 'zram', swap: 'zram', dedupFirst: true, mergeOnRestore: true, frameLimit: 48 },
      ],
      costs: { diskRead: { latencyNs: 80000 } },
      steps: [
        { op: 'exec', proc: 'a', program: 'hello' },
        { op: 'mmap', proc: 'a', name: 'm', length: '64 pages' },
        { op: 'write', proc: 'a', region: 'm', data: { byte: 1 } },
        { op: 'read', proc: 'a', region: 'm', expect: { byte: 1 } },
        { op: 'tick', ms: 10 },
        { op: 'calloc', proc: 'a', count: 4, size: 4096, as: 'c' },
      ],
    }),
  );
  return file;
}

describe('result documents are stable', () => {
  it('run --json has exactly the documented fields, with an ok and an OOM outcome', async () => {
    const r = await runCli('run', scenarioFile(), '--json', '--skip-unavailable');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      schema: string;
      policies: Array<{ outcome: { status: string } }>;
      skipped: unknown[];
    };
    expect(doc.schema).toBe('pagestack.run/1');
    expect(doc.policies.map((p) => p.outcome.status)).toEqual(['ok', 'oom', 'ok', 'ok']);
    expect(doc.skipped).toEqual([]);
    compare(doc, RUN_FIELDS, OPTIONAL);
  });

  it('load --json has exactly the documented fields', async () => {
    const r = await runCli('load', path.join(BIN, 'hello'), path.join(BIN, 'static'), '--json', '--procs', '2');
    expect(r.status).toBe(0);
    compare(JSON.parse(r.stdout), LOAD_FIELDS, /^skipped\[\]/);
  });

  it('docs/SCENARIOS.md names every field of both documents', () => {
    const text = fs.readFileSync(DOCS, 'utf8');
    const names = new Set<string>();
    for (const at of [...Object.keys(RUN_FIELDS), ...Object.keys(LOAD_FIELDS)]) {
      const last = at.split('.').at(-1)!.replace(/\[\]$/, '');
      if (last !== '' && !(COST_OP_NAMES as string[]).includes(last) && !SMAPS.includes(last)) names.add(last);
    }
    const missing = [...names].filter((n) => !text.includes(`\`${n}\``));
    expect(missing).toEqual([]);
  });
});
