/**
 * Runs malformed-input cases against parseElf in a worker thread, so that the
 * test thread can kill it when a case hangs (see elf-fuzz.ts). Before each
 * case the worker stores its number in a shared counter; the test thread
 * watches the counter.
 *
 * Every case must end in an ElfFile or an ElfError, and satisfy the
 * invariants in checkResult: tables lie inside the file, a truncated file
 * yields either nothing or exactly the tables of the whole file, dropped
 * tables are explained by warnings, errors name the file, field and offset.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ElfError } from '../../src/errors.js';
import { parseElf } from '../../src/elf/parse.js';
import { ELF_WARNING_CODES, type ElfFile } from '../../src/elf/types.js';
import { seededRandom } from '../../src/util/prng.js';

export type FuzzJob =
  | { kind: 'truncate'; name: string; bytes: Uint8Array; maxLength: number }
  | {
      kind: 'mutate';
      name: string;
      bytes: Uint8Array;
      region: string;
      start: number;
      end: number;
      cases: number;
      seed: number;
    }
  /** Never returns: proves that the watchdog catches a hang. */
  | { kind: 'hang' };

export interface FuzzResult {
  cases: number;
  parsed: number;
  typedErrors: number;
  errorCodes: Record<string, number>;
  failures: string[];
}

function tableEnd(offset: bigint, count: number, entsize: number): bigint {
  return offset + BigInt(count) * BigInt(entsize);
}

/** Invariants every result must satisfy; returns the violations. */
function checkResult(result: ElfFile | ElfError, bytes: Uint8Array, name: string, whole?: ElfFile): string[] {
  const bad: string[] = [];
  if (result instanceof ElfError) {
    if (!result.code.startsWith('E_ELF_')) bad.push(`error code ${result.code}`);
    if (result.data.file !== name) bad.push(`error names file ${String(result.data.file)}`);
    if (typeof result.data.field !== 'string' || result.data.field === '') bad.push('error names no field');
    if (typeof result.data.offset !== 'number' && typeof result.data.offset !== 'bigint')
      bad.push('error names no offset');
    if (!result.message.startsWith(`${name}: `))
      bad.push(`error message does not start with the file name: ${result.message}`);
    return bad;
  }
  const elf = result;
  const size = BigInt(bytes.length);
  const h = elf.header;
  if (elf.size !== bytes.length) bad.push('size differs from the input length');
  if (elf.programHeaders.length > 0) {
    if (elf.programHeaders.length !== h.phnum)
      bad.push(`${elf.programHeaders.length} program headers, e_phnum says ${h.phnum}`);
    if (tableEnd(h.phoff, h.phnum, h.phentsize) > size)
      bad.push('program header table returned although it runs past the end');
  }
  if (elf.sections.length > 0) {
    if (elf.sections.length !== h.shnum) bad.push(`${elf.sections.length} sections, count says ${h.shnum}`);
    if (tableEnd(h.shoff, h.shnum, h.shentsize) > size)
      bad.push('section header table returned although it runs past the end');
  }
  for (const w of elf.warnings) {
    if (!(w.code in ELF_WARNING_CODES) || !w.field || !w.message || w.offset < 0n || w.offset >= size)
      bad.push(`malformed warning ${JSON.stringify(w, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
  if (whole) {
    // A truncated file has no bytes the whole file lacks: a table is either the whole file's table or absent.
    if (
      elf.programHeaders.length > 0 &&
      JSON.stringify(elf.programHeaders, big) !== JSON.stringify(whole.programHeaders, big)
    ) {
      bad.push('program headers differ from the whole file');
    }
    if (whole.programHeaders.length > 0 && elf.programHeaders.length === 0 && elf.warnings.length === 0)
      bad.push('program headers dropped without a warning');
    if (elf.sections.length > 0) {
      elf.sections.forEach((s, i) => {
        const w = whole.sections[i];
        if (!w || JSON.stringify({ ...s, name: '' }, big) !== JSON.stringify({ ...w, name: '' }, big))
          bad.push(`section ${i} differs from the whole file`);
        else if (s.name !== w.name && s.name !== '')
          bad.push(`section ${i} name ${s.name} differs from the whole file's ${w.name}`);
      });
      if (
        elf.sections.some((s, i) => s.name !== whole.sections[i]?.name) &&
        !elf.warnings.some((w) => w.code === 'E_ELF_SHSTRTAB' || w.code === 'E_ELF_SHNAME')
      ) {
        bad.push('section names missing without a warning');
      }
    }
    if (whole.sections.length > 0 && elf.sections.length === 0 && elf.warnings.length === 0)
      bad.push('sections dropped without a warning');
    if (whole.interpreter !== undefined && elf.interpreter !== undefined && elf.interpreter !== whole.interpreter)
      bad.push('interpreter differs');
  }
  return bad;
}

const big = (_: string, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

function run(bytes: Uint8Array, name: string): ElfFile | ElfError {
  try {
    return parseElf(bytes, name);
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw e;
  }
}

/** Interesting values for a mutated field: zeroes, all-ones, sign bits, and sizes near the file length. */
function interestingValue(random: () => number, fileLength: number): bigint {
  const choices = [
    0n,
    1n,
    0xffn,
    0xffffn,
    0xfffen,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0xffffffffffffffffn,
    0x8000000000000000n,
  ];
  const near = BigInt(fileLength) + BigInt(Math.floor(random() * 129) - 64);
  return random() < 0.3 ? (near < 0n ? 0n : near) : choices[Math.floor(random() * choices.length)]!;
}

export function runJobs(jobs: FuzzJob[], counter?: Int32Array): FuzzResult {
  const result: FuzzResult = { cases: 0, parsed: 0, typedErrors: 0, errorCodes: {}, failures: [] };
  const record = (r: ElfFile | ElfError, problems: string[], what: string) => {
    if (r instanceof ElfError) {
      result.typedErrors++;
      result.errorCodes[r.code] = (result.errorCodes[r.code] ?? 0) + 1;
    } else result.parsed++;
    if (problems.length && result.failures.length < 20) result.failures.push(`${what}: ${problems.join('; ')}`);
  };
  const guarded = (bytes: Uint8Array, name: string, what: string): ElfFile | ElfError | undefined => {
    try {
      return run(bytes, name);
    } catch (e) {
      if (result.failures.length < 20)
        result.failures.push(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      return undefined;
    }
  };

  for (const [jobIndex, job] of jobs.entries()) {
    if (job.kind === 'hang') {
      for (;;) {
        // spin without touching the counter
      }
    }
    if (job.kind === 'truncate') {
      const whole = run(job.bytes, job.name);
      const wholeElf = whole instanceof ElfError ? undefined : whole;
      for (let length = 0; length <= Math.min(job.maxLength, job.bytes.length); length++) {
        if (counter) Atomics.store(counter, 0, ++result.cases);
        else result.cases++;
        const what = `${job.name} truncated to ${length} bytes`;
        const cut = job.bytes.subarray(0, length);
        const r = guarded(cut, job.name, what);
        if (r) record(r, checkResult(r, cut, job.name, length < job.bytes.length ? wholeElf : undefined), what);
      }
      continue;
    }
    const random = seededRandom(job.seed);
    const bytes = new Uint8Array(job.bytes); // mutated in place, restored after each case
    for (let c = 0; c < job.cases; c++) {
      if (counter) Atomics.store(counter, 0, ++result.cases);
      else result.cases++;
      const changes: Array<[number, number]> = [];
      const span = job.end - job.start;
      if (random() < 0.5) {
        // Flip 1..8 random bytes of the region.
        const n = 1 + Math.floor(random() * 8);
        for (let k = 0; k < n; k++) {
          const at = job.start + Math.floor(random() * span);
          changes.push([at, bytes[at]!]);
          bytes[at] = random() < 0.5 ? bytes[at]! ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
        }
      } else {
        // Overwrite one aligned 2-, 4- or 8-byte field with an interesting value.
        const width = [2, 4, 8][Math.floor(random() * 3)]!;
        const at = job.start + Math.floor((random() * Math.max(1, span - width + 1)) / width) * width;
        const value = interestingValue(random, bytes.length);
        const le = bytes[5] !== 2;
        for (let k = 0; k < width && at + k < bytes.length; k++) {
          changes.push([at + k, bytes[at + k]!]);
          const shift = BigInt(8 * (le ? k : width - 1 - k));
          bytes[at + k] = Number((value >> shift) & 0xffn);
        }
      }
      const what = `${job.name} ${job.region} case ${c} (job ${jobIndex}, seed ${job.seed}): ${changes.map(([o]) => `0x${o.toString(16)}=${bytes[o]}`).join(' ')}`;
      const r = guarded(bytes, job.name, what);
      if (r) record(r, checkResult(r, bytes, job.name), what);
      for (let k = changes.length - 1; k >= 0; k--) bytes[changes[k]![0]] = changes[k]![1];
    }
  }
  return result;
}

if (parentPort && workerData?.jobs) {
  const counter = new Int32Array(workerData.progress as SharedArrayBuffer);
  parentPort.postMessage(runJobs(workerData.jobs as FuzzJob[], counter));
}
