/**
 * Reading a scenario: the JSON document of docs/SCENARIOS.md, checked in a
 * fixed order — the version first (so a newer format is refused before its
 * fields are misread), then the machine, the programs (opened, so a missing
 * file or a section name is caught now), the policies, the cost overrides,
 * and the steps in the order they run. Every problem is one ScenarioError
 * naming the field by its JSON path.
 */
import * as nodePath from 'node:path';
import { PagestackError, ScenarioError, fsError } from '../../errors.js';
import { MAX_FRAME } from '../../mm/pte.js';
import { COST_OP_NAMES, DOCUMENTED_COSTS, withOverrides, type CostOpName, type CostOverrides } from '../../mm/cost.js';
import {
  KSM_DEFAULTS,
  CALLOC_MODE_NAMES,
  PAGE_CACHE_NAMES,
  SWAP_BACKEND_NAMES,
  defaultPolicy,
  type PolicySet,
  type SwapPolicy,
} from '../policy.js';
import { ProgramSet, type Program } from '../programs.js';
import type { HeapOptions } from '../heap-model.js';
import type { OpenContainer } from '../container-reader.js';
import {
  JsonPath,
  array,
  boolean,
  describeValue,
  integer,
  number,
  object,
  oneOf,
  onlyKeys,
  parseSize,
  required,
  string,
  type Json,
} from './check.js';
import { parseSteps } from './parse-steps.js';
import { checkStepCount, stepCap } from './step-count.js';
import { DEFAULT_BUDGET } from '../budget.js';
import { NameScope } from './scope.js';
import { nestingDepth } from './depth.js';
import { readRegularFile } from '../../util/open-regular.js';
import { SCENARIO_VERSION, type MachineSpec, type ProgramSpec, type Scenario, type Step } from './types.js';
import {
  DEFAULT_FILE_CACHE,
  fillsPageCache,
  formatFileCacheState,
  parseFileCacheState,
} from '../../loader/file-cache.js';

/** Largest scenario file read (a scenario is a description, not data). */
const MAX_SCENARIO_BYTES = 16 << 20;
/** Deepest nesting of arrays and objects a scenario may have (real ones use under 10). */
export const MAX_SCENARIO_DEPTH = 64;
const DEFAULT_FRAMES = 262_144;
/** The loader cuts files in 4 KiB pages (src/loader/file-backing.ts). */
const LOADER_PAGE_SIZE = 4096;

export interface LoadScenarioOptions {
  /** Directory relative paths start from when `input` is not a file. Default: the cwd. */
  baseDir?: string;
  /** A container reader to use instead of this build's (tests). */
  openContainer?: OpenContainer;
  /** The work budget (--max-work) that caps the steps repeat blocks expand to; default DEFAULT_BUDGET's. */
  maxWork?: number;
}

/** A checked scenario and its opened programs. Call `programs.close()` when done. */
export interface LoadedScenario {
  scenario: Scenario;
  programs: ProgramSet;
  /** The scenario's programs by name, opened. */
  opened: Map<string, Program>;
}

/** Reads and checks a scenario file, or a scenario given as a parsed JSON value. */
export async function loadScenario(input: string | Json, options: LoadScenarioOptions = {}): Promise<LoadedScenario> {
  let file: string | undefined;
  let doc: Json;
  let baseDir = nodePath.resolve(options.baseDir ?? '.');
  if (typeof input === 'string') {
    file = input;
    doc = readJson(input);
    baseDir = nodePath.dirname(nodePath.resolve(input));
  } else {
    doc = input;
  }
  const top = new JsonPath(file, '');
  const obj = object(doc, top);

  // 1. The version, before anything else is read.
  const version = required(obj, top, 'version');
  if (version !== SCENARIO_VERSION) {
    throw top
      .key('version')
      .error(
        `scenario format version ${describeValue(version)} is not supported (this pagestack reads version ${SCENARIO_VERSION})`,
      );
  }
  onlyKeys(obj, top, ['version', 'name', 'description', 'machine', 'root', 'programs', 'policies', 'costs', 'steps']);
  const name =
    obj.name === undefined ? (file ? nodePath.basename(file, '.json') : 'scenario') : string(obj.name, top.key('name'));
  const description =
    obj.description === undefined ? '' : string(obj.description, top.key('description'), { nonEmpty: false });

  // 2. The machine.
  const machine = parseMachine(obj.machine, top.key('machine'));

  // 3. The programs, opened now.
  const root = obj.root === undefined ? undefined : nodePath.resolve(baseDir, string(obj.root, top.key('root')));
  const specs = parsePrograms(required(obj, top, 'programs'), top.key('programs'), baseDir);
  const programs = await ProgramSet.create({
    root,
    ...(options.openContainer ? { openContainer: options.openContainer } : {}),
  });
  try {
    const opened = await openPrograms(specs, programs, top.key('programs'));

    // 4. Policies and costs.
    const policies =
      obj.policies === undefined ? [defaultPolicy()] : parsePolicies(obj.policies, top.key('policies'), machine);
    const costs = obj.costs === undefined ? {} : parseCosts(obj.costs, top.key('costs'));

    // 5. The steps, in the order they run.
    const stepList = array(required(obj, top, 'steps'), top.key('steps'));
    const maxWork = options.maxWork ?? DEFAULT_BUDGET.maxWork;
    const maxSteps = stepCap(maxWork);
    checkStepCount(stepList, top.key('steps'), maxSteps, maxWork);
    const steps: Step[] = [];
    parseSteps(stepList, top.key('steps'), {
      maxSteps,
      maxWork,
      spent: 0,
      scope: new NameScope(opened),
      pageSize: machine.pageSize,
      frames: machine.frames,
      out: steps,
      vars: new Map(),
    });

    const scenario: Scenario = {
      version: SCENARIO_VERSION,
      name,
      description,
      baseDir,
      machine,
      programs: specs,
      policies,
      costs,
      steps,
    };
    if (file !== undefined) scenario.file = file;
    if (root !== undefined) scenario.root = root;
    return { scenario, programs, opened };
  } catch (err) {
    programs.close();
    throw err;
  }
}

function readJson(file: string): Json {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, { maxBytes: MAX_SCENARIO_BYTES, what: 'a scenario' });
  } catch (err) {
    const e = fsError(err, file);
    if (e.code === 'E_TOO_BIG') throw new ScenarioError(e.message, e.data);
    throw e;
  }
  // Checked before JSON.parse: the checks below walk the document recursively.
  const depth = nestingDepth(bytes);
  if (depth > MAX_SCENARIO_DEPTH) {
    throw new ScenarioError(
      `${file}: nested ${depth > 1e6 ? 'over a million' : depth} levels deep; a scenario may nest at most ${MAX_SCENARIO_DEPTH}`,
      { file, field: 'nesting', actual: depth, expected: MAX_SCENARIO_DEPTH },
    );
  }
  const text = new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes);
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new ScenarioError(`${file}: not valid JSON: ${jsonProblem(text, (err as Error).message)}`, { file });
  }
}

/**
 * What is wrong with `text`, fit for one line on a terminal: binary data
 * (control bytes, invalid UTF-8) is named, never echoed; otherwise the
 * parser's message with any control character escaped.
 */
function jsonProblem(text: string, message: string): string {
  const head = text.slice(0, 4096);
  if (/[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(head))
    return `binary data${head.startsWith('\u007fELF') ? ' (an ELF file)' : ''}, not text`;
  return message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function parseMachine(value: Json | undefined, at: JsonPath): MachineSpec {
  if (value === undefined)
    return {
      frames: DEFAULT_FRAMES,
      pageSize: LOADER_PAGE_SIZE,
      frameLimit: DEFAULT_FRAMES,
      keepPageCache: false,
      fileCache: DEFAULT_FILE_CACHE,
    };
  const obj = object(value, at);
  onlyKeys(obj, at, ['frames', 'pageSize', 'frameLimit', 'keepPageCache', 'fileCache', 'faultAround', 'readAround']);
  let fileCache = DEFAULT_FILE_CACHE;
  if (obj.fileCache !== undefined) {
    const text = string(obj.fileCache, at.key('fileCache'));
    const parsed = parseFileCacheState(text);
    if (parsed === undefined)
      throw at
        .key('fileCache')
        .error(`must be "faulted", "pages", "write" or "write:BYTES", not ${describeValue(text)}`);
    fileCache = parsed;
  }
  const keepPageCache =
    obj.keepPageCache === undefined ? fillsPageCache(fileCache) : boolean(obj.keepPageCache, at.key('keepPageCache'));
  if (!keepPageCache && fillsPageCache(fileCache))
    throw at.key('keepPageCache').error(`must be true with "fileCache": "${formatFileCacheState(fileCache)}"`);
  const pageSize =
    obj.pageSize === undefined ? LOADER_PAGE_SIZE : integer(obj.pageSize, at.key('pageSize'), 1024, 65536);
  if (pageSize !== LOADER_PAGE_SIZE)
    throw at.key('pageSize').error(`must be ${LOADER_PAGE_SIZE}: ELF programs are loaded in 4 KiB pages (x86-64)`);
  const frames =
    obj.frames === undefined ? DEFAULT_FRAMES : parseFrames(obj.frames, at.key('frames'), pageSize, MAX_FRAME);
  const machine: MachineSpec = {
    frames,
    pageSize,
    frameLimit:
      obj.frameLimit === undefined ? frames : parseFrames(obj.frameLimit, at.key('frameLimit'), pageSize, frames),
    keepPageCache,
    fileCache,
  };
  if (obj.faultAround !== undefined) {
    machine.faultAround = integer(obj.faultAround, at.key('faultAround'), 1, 512);
    if ((machine.faultAround & (machine.faultAround - 1)) !== 0)
      throw at.key('faultAround').error('must be a power of two (pages)');
  }
  if (obj.readAround !== undefined) machine.readAround = integer(obj.readAround, at.key('readAround'), 0, 4096);
  return machine;
}

/** A frame count: a number, "4096", or a size in bytes ("256 MiB", "1G") that is a whole number of pages. */
export function parseFrames(value: Json, at: JsonPath, pageSize: number, max: number): number {
  if (typeof value === 'string' && !/^\s*\d+\s*$/.test(value)) {
    const bytes = parseSize(value, pageSize);
    if (bytes === undefined || bytes % pageSize !== 0) {
      throw at.error(
        `must be a frame count or a size that is a whole number of ${pageSize}-byte pages ("256 MiB"), not ${describeValue(value)}`,
      );
    }
    return integer(bytes / pageSize, at, 1, max);
  }
  return integer(value, at, 1, max);
}

function parsePrograms(value: Json, at: JsonPath, baseDir: string): Map<string, ProgramSpec> {
  const obj = object(value, at);
  const specs = new Map<string, ProgramSpec>();
  for (const [name, spec] of Object.entries(obj)) {
    const pat = at.key(name);
    if (name === '') throw pat.error('a program needs a non-empty name');
    if (typeof spec === 'string') {
      specs.set(name, { kind: 'elf', path: nodePath.resolve(baseDir, string(spec, pat)) });
      continue;
    }
    const s = object(spec, pat);
    onlyKeys(s, pat, ['path', 'container', 'member']);
    if (s.path !== undefined) {
      if (s.container !== undefined || s.member !== undefined)
        throw pat.error('give "path" (an ELF file) or "container" and "member", not both');
      specs.set(name, { kind: 'elf', path: nodePath.resolve(baseDir, string(s.path, pat.key('path'))) });
    } else {
      const container = nodePath.resolve(baseDir, string(required(s, pat, 'container'), pat.key('container')));
      specs.set(name, { kind: 'container', container, member: string(required(s, pat, 'member'), pat.key('member')) });
    }
  }
  if (specs.size === 0) throw at.error('needs at least one program');
  return specs;
}

async function openPrograms(
  specs: Map<string, ProgramSpec>,
  set: ProgramSet,
  at: JsonPath,
): Promise<Map<string, Program>> {
  const opened = new Map<string, Program>();
  for (const [name, spec] of specs) {
    const pat = at.key(name);
    try {
      opened.set(
        name,
        spec.kind === 'elf' ? set.elf(name, spec.path) : await set.member(name, spec.container, spec.member),
      );
    } catch (err) {
      if (!(err instanceof PagestackError)) throw err;
      throw pat.error(err.message, { actual: err.code });
    }
  }
  return opened;
}

const POLICY_FIELDS = [
  'name',
  'extends',
  'description',
  'pageCache',
  'callocMode',
  'malloc',
  'frameLimit',
  'keepPageCache',
  'swap',
  'dedupFirst',
  'mergeOnRestore',
  'ksm',
];

function parsePolicies(value: Json, at: JsonPath, machine: MachineSpec): PolicySet[] {
  const list = array(value, at);
  if (list.length === 0) throw at.error('needs at least one policy (or leave "policies" out for the default one)');
  const byName = new Map<string, PolicySet>();
  list.forEach((item, i) => {
    const pat = at.index(i);
    const obj = object(item, pat);
    onlyKeys(obj, pat, POLICY_FIELDS);
    const name = string(required(obj, pat, 'name'), pat.key('name'));
    if (byName.has(name)) throw pat.key('name').error(`policy "${name}" is defined twice`);
    if (obj.description !== undefined) string(obj.description, pat.key('description'), { nonEmpty: false });
    let policy: PolicySet;
    if (obj.extends !== undefined) {
      const base = string(obj.extends, pat.key('extends'));
      const parent = byName.get(base);
      if (parent === undefined)
        throw pat
          .key('extends')
          .error(`no policy "${base}" before this one (known: ${[...byName.keys()].join(', ') || 'none'})`);
      policy = { ...structuredClone(parent), name };
    } else {
      policy = defaultPolicy(name);
    }
    if (obj.pageCache !== undefined) policy.pageCache = oneOf(obj.pageCache, pat.key('pageCache'), PAGE_CACHE_NAMES);
    if (obj.callocMode !== undefined)
      policy.callocMode = oneOf(obj.callocMode, pat.key('callocMode'), CALLOC_MODE_NAMES);
    if (obj.malloc !== undefined) policy.malloc = parseMallocOptions(obj.malloc, pat.key('malloc'), machine.pageSize);
    if (obj.frameLimit !== undefined)
      policy.frameLimit = parseFrames(obj.frameLimit, pat.key('frameLimit'), machine.pageSize, machine.frames);
    if (obj.keepPageCache !== undefined) {
      policy.keepPageCache = boolean(obj.keepPageCache, pat.key('keepPageCache'));
      if (!policy.keepPageCache && fillsPageCache(machine.fileCache)) {
        throw pat
          .key('keepPageCache')
          .error(`must be true with the machine's "fileCache": "${formatFileCacheState(machine.fileCache)}"`);
      }
    }
    if (obj.swap !== undefined) policy.swap = parseSwap(obj.swap, pat.key('swap'));
    if (obj.dedupFirst !== undefined) policy.dedupFirst = boolean(obj.dedupFirst, pat.key('dedupFirst'));
    if (obj.mergeOnRestore !== undefined)
      policy.mergeOnRestore = boolean(obj.mergeOnRestore, pat.key('mergeOnRestore'));
    if (obj.ksm !== undefined) policy.ksm = parseKsm(obj.ksm, pat.key('ksm'));
    if (policy.swap === null) {
      if (policy.dedupFirst)
        throw pat.key('dedupFirst').error('needs a swap device ("swap": "zram", "zswap" or "disk")');
      if (policy.mergeOnRestore)
        throw pat.key('mergeOnRestore').error('needs a swap device ("swap": "zram", "zswap" or "disk")');
    }
    byName.set(name, policy);
  });
  return [...byName.values()];
}

/** GlibcMallocOptions' ranges (src/malloc/glibc-malloc.ts). */
function parseMallocOptions(value: Json, at: JsonPath, pageSize: number): HeapOptions {
  const obj = object(value, at);
  onlyKeys(obj, at, ['mmapThreshold', 'trimThreshold', 'topPad', 'mmapMax', 'maxFast', 'tcacheCount']);
  const out: HeapOptions = {};
  const big = Number.MAX_SAFE_INTEGER;
  if (obj.mmapThreshold !== undefined)
    out.mmapThreshold = integer(obj.mmapThreshold, at.key('mmapThreshold'), 0, 32 << 20, pageSize);
  if (obj.trimThreshold !== undefined)
    out.trimThreshold = integer(obj.trimThreshold, at.key('trimThreshold'), 0, big, pageSize);
  if (obj.topPad !== undefined) out.topPad = integer(obj.topPad, at.key('topPad'), 0, big, pageSize);
  if (obj.mmapMax !== undefined) out.mmapMax = integer(obj.mmapMax, at.key('mmapMax'), 0, 2 ** 31 - 1);
  if (obj.maxFast !== undefined) out.maxFast = integer(obj.maxFast, at.key('maxFast'), 0, 160);
  if (obj.tcacheCount !== undefined) out.tcacheCount = integer(obj.tcacheCount, at.key('tcacheCount'), 0, 65535);
  return out;
}

function parseSwap(value: Json, at: JsonPath): SwapPolicy | null {
  if (value === 'none' || value === false) return null;
  if (typeof value === 'string') return { backend: oneOf(value, at, SWAP_BACKEND_NAMES) };
  const obj = object(value, at);
  onlyKeys(obj, at, ['backend', 'capacityPages', 'zeromap', 'zram', 'zswap']);
  const swap: SwapPolicy = { backend: oneOf(required(obj, at, 'backend'), at.key('backend'), SWAP_BACKEND_NAMES) };
  if (obj.capacityPages !== undefined)
    swap.capacityPages = integer(obj.capacityPages, at.key('capacityPages'), 1, MAX_FRAME);
  if (obj.zeromap !== undefined) swap.zeromap = boolean(obj.zeromap, at.key('zeromap'));
  if (obj.zram !== undefined) {
    if (swap.backend !== 'zram') throw at.key('zram').error(`applies to the zram back end, not ${swap.backend}`);
    const z = object(obj.zram, at.key('zram'));
    onlyKeys(z, at.key('zram'), ['chainSize', 'memLimit']);
    if (z.chainSize !== undefined) swap.zramChainSize = integer(z.chainSize, at.key('zram').key('chainSize'), 4, 16);
    if (z.memLimit !== undefined)
      swap.zramMemLimitBytes = integer(z.memLimit, at.key('zram').key('memLimit'), 0, Number.MAX_SAFE_INTEGER);
  }
  if (obj.zswap !== undefined) {
    if (swap.backend !== 'zswap') throw at.key('zswap').error(`applies to the zswap back end, not ${swap.backend}`);
    const z = object(obj.zswap, at.key('zswap'));
    onlyKeys(z, at.key('zswap'), ['maxPoolPercent', 'acceptThresholdPercent', 'writeback']);
    if (z.maxPoolPercent !== undefined)
      swap.zswapMaxPoolPercent = integer(z.maxPoolPercent, at.key('zswap').key('maxPoolPercent'), 0, 100);
    if (z.acceptThresholdPercent !== undefined) {
      swap.zswapAcceptThresholdPercent = integer(
        z.acceptThresholdPercent,
        at.key('zswap').key('acceptThresholdPercent'),
        0,
        100,
      );
    }
    if (z.writeback !== undefined) swap.zswapWriteback = boolean(z.writeback, at.key('zswap').key('writeback'));
  }
  return swap;
}

function parseKsm(value: Json, at: JsonPath): PolicySet['ksm'] {
  if (value === 'off' || value === false) return null;
  if (value === true || value === 'on') return { ...KSM_DEFAULTS };
  const obj = object(value, at);
  onlyKeys(obj, at, ['pagesToScan', 'sleepMillisecs', 'useZeroPages']);
  return {
    pagesToScan:
      obj.pagesToScan === undefined
        ? KSM_DEFAULTS.pagesToScan
        : integer(obj.pagesToScan, at.key('pagesToScan'), 1, 1e7),
    sleepMillisecs:
      obj.sleepMillisecs === undefined
        ? KSM_DEFAULTS.sleepMillisecs
        : integer(obj.sleepMillisecs, at.key('sleepMillisecs'), 1, 1e7),
    useZeroPages:
      obj.useZeroPages === undefined ? KSM_DEFAULTS.useZeroPages : boolean(obj.useZeroPages, at.key('useZeroPages')),
  };
}

function parseCosts(value: Json, at: JsonPath): CostOverrides {
  const obj = object(value, at);
  const overrides: CostOverrides = {};
  for (const [key, entry] of Object.entries(obj)) {
    const pat = at.key(key);
    if (!(COST_OP_NAMES as string[]).includes(key))
      throw pat.error(`unknown cost entry (known: ${COST_OP_NAMES.join(', ')})`);
    const e = object(entry, pat);
    onlyKeys(e, pat, ['latencyNs', 'bytesPerSecond', 'source']);
    const o: { latencyNs?: number; bytesPerSecond?: number; source?: string } = {};
    if (e.latencyNs !== undefined) o.latencyNs = number(e.latencyNs, pat.key('latencyNs'), 0, 1e12);
    if (e.bytesPerSecond !== undefined) o.bytesPerSecond = number(e.bytesPerSecond, pat.key('bytesPerSecond'), 1, 1e15);
    if (e.source !== undefined) o.source = string(e.source, pat.key('source'));
    overrides[key as CostOpName] = o;
  }
  withOverrides(DOCUMENTED_COSTS, overrides); // the ranges above make this succeed; it is the one definition of an override
  return overrides;
}
