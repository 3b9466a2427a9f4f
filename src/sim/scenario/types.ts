/**
 * A scenario after validation (docs/SCENARIOS.md is the input format).
 * Repeat blocks are already expanded and `{i}` templates substituted, so
 * `steps` is the flat list the runner executes, each step with the JSON path
 * it came from. Sizes and addresses are bytes; names are checked to refer to
 * something that exists at that point of the run.
 */
import type { FileCacheState } from '../../loader/file-cache.js';
import type { CostOverrides } from '../../mm/cost.js';
import type { PolicySet } from '../policy.js';
import type { JsonPath } from './check.js';

export const SCENARIO_VERSION = 1;

export interface Scenario {
  version: typeof SCENARIO_VERSION;
  name: string;
  description: string;
  /** The scenario file, when read from one. */
  file?: string;
  /** Directory that relative paths are resolved from (the scenario file's, or the cwd). */
  baseDir: string;
  machine: MachineSpec;
  /** Directory PT_INTERP is resolved in (absolute); undefined: '/'. */
  root?: string;
  programs: Map<string, ProgramSpec>;
  policies: PolicySet[];
  costs: CostOverrides;
  steps: Step[];
}

export interface MachineSpec {
  frames: number;
  pageSize: number;
  frameLimit: number;
  keepPageCache: boolean;
  /** How program files sit in the page cache before they are first mapped (loader/file-cache.ts). */
  fileCache: FileCacheState;
  faultAround?: number;
  readAround?: number;
}

/** A program: an ELF file, or a member of a pagestack container (paths absolute after validation). */
export type ProgramSpec = { kind: 'elf'; path: string } | { kind: 'container'; container: string; member: string };

/**
 * A range of a process's memory: a named region (an ELF section, `load:N`,
 * `[heap]`, `[stack]`, an mmap's or an allocation's name, `interp:.data`)
 * or an address, then an offset and a length inside it.
 */
export interface Target {
  proc: string;
  region?: string;
  addr?: number;
  /** Bytes from the region's start (or from addr). Default 0. */
  offset: number;
  /** Bytes; default: the rest of the region. */
  length?: number;
  /** Instead of length: this fraction of the rest of the region, rounded up to a byte. */
  fraction?: number;
  /** Access `chunk` bytes every `stride` bytes of the range instead of all of it. */
  stride?: number;
  chunk?: number;
}

/** Bytes to write (or to expect from a read). */
export type DataSpec =
  | { kind: 'zero' }
  | { kind: 'byte'; value: number }
  | { kind: 'word'; value: bigint }
  | { kind: 'pattern'; bytes: Uint8Array }
  | { kind: 'random'; seed: number; distinct?: number }
  | { kind: 'text'; seed: number }
  | { kind: 'copy'; from: Target }
  | { kind: 'mix'; seed: number; parts: Array<{ weight: number; data: DataSpec }> };

export type MalloptName = 'M_MMAP_THRESHOLD' | 'M_TRIM_THRESHOLD' | 'M_TOP_PAD' | 'M_MMAP_MAX' | 'M_MXFAST';
export const MALLOPT_NAMES: readonly MalloptName[] = [
  'M_MMAP_THRESHOLD',
  'M_TRIM_THRESHOLD',
  'M_TOP_PAD',
  'M_MMAP_MAX',
  'M_MXFAST',
];

export type MadviseAdvice = 'MADV_DONTNEED' | 'MADV_MERGEABLE' | 'MADV_UNMERGEABLE';
export const MADVISE_ADVICE: readonly MadviseAdvice[] = ['MADV_DONTNEED', 'MADV_MERGEABLE', 'MADV_UNMERGEABLE'];

type StepBody =
  | { op: 'exec'; proc: string; program: string; argv?: string[]; env?: string[] }
  | { op: 'fork'; proc: string; child: string }
  | { op: 'exit'; proc: string }
  | { op: 'read'; target: Target; expect?: DataSpec }
  | { op: 'write'; target: Target; data: DataSpec }
  | { op: 'touch'; target: Target; access: 'read' | 'write' }
  | {
      op: 'mmap';
      proc: string;
      name?: string;
      addr?: number;
      length: number;
      prot: number;
      shared: boolean;
      file?: { program: string; offset: number };
    }
  | { op: 'munmap'; target: Target }
  | { op: 'mprotect'; target: Target; prot: number }
  | { op: 'madvise'; target: Target; advice: MadviseAdvice }
  | { op: 'prctl'; proc: string; option: 'PR_SET_MEMORY_MERGE'; value: 0 | 1 }
  | { op: 'malloc'; proc: string; size: number; as: string; mayFail: boolean }
  | { op: 'calloc'; proc: string; count: number; size: number; as: string; mayFail: boolean }
  | { op: 'realloc'; proc: string; ptr: string; size: number; mayFail: boolean }
  | { op: 'free'; proc: string; ptr: string }
  | { op: 'mallopt'; proc: string; param: MalloptName; value: number }
  | { op: 'malloc_trim'; proc: string; pad: number }
  | { op: 'tick'; ms: number }
  | { op: 'memory-limit'; frames: number }
  | { op: 'drop-caches' };

/** One executable step and where it came from. */
export type Step = StepBody & { at: JsonPath };
export type StepOp = Step['op'];

/** Every step op the format knows, `repeat` included, in the order SCENARIOS.md documents them. */
export const STEP_OPS = [
  'exec',
  'fork',
  'exit',
  'read',
  'write',
  'touch',
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'prctl',
  'malloc',
  'calloc',
  'realloc',
  'free',
  'mallopt',
  'malloc_trim',
  'tick',
  'memory-limit',
  'drop-caches',
  'repeat',
] as const;
