/**
 * Malformed ELF input: every truncation length of the first 8 KiB of real
 * binaries, and thousands of seeded random mutations of the ELF header, the
 * program header table and the section header table. Each case must end in
 * a correct parse or a typed ElfError (never another exception), satisfy
 * the invariants of elf-fuzz-worker.ts, and finish: the cases run in a worker
 * thread that is killed when it stops making progress.
 *
 * Replay with another seed: PAGESTACK_FUZZ_SEED=1234 npx vitest run test/elf-malformed.test.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../src/elf/parse.js';
import { runFuzzInWorker } from './helpers/elf-fuzz.js';
import type { FuzzJob } from './helpers/elf-fuzz-worker.js';
import { pyelftoolsDir } from './helpers/shared.js';

const SEED = Number(process.env.PAGESTACK_FUZZ_SEED ?? 0x5eed2024) >>> 0;
const fixtures = fileURLToPath(new URL('./fixtures/elf/', import.meta.url));
const corpus = pyelftoolsDir();

/** Committed files always; /usr/bin/ls and big-endian corpus files where present. */
function sources(): Array<{ name: string; bytes: Uint8Array }> {
  const files = ['tiny64.elf', 'tiny32.elf', 'hello-pie.elf', 'synthetic-be32.elf', 'synthetic-be64.elf'].map((f) =>
    join(fixtures, f),
  );
  const optional = ['/usr/bin/ls'];
  if (corpus)
    optional.push(...['exe_solaris32_cc.sparc.elf', 'aarch64_be_gnu_hash.so.elf'].map((f) => join(corpus, f)));
  else console.warn('elf-malformed: ../shared/corpus/pyelftools not found, fuzzing without its big-endian files');
  for (const f of optional) {
    if (existsSync(f)) files.push(f);
    else console.warn(`elf-malformed: ${f} not found, fuzzing the committed fixtures without it`);
  }
  return files.map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(f)) }));
}

const inputs = sources();
console.log(
  `elf-malformed: seed ${SEED} (PAGESTACK_FUZZ_SEED replays another); inputs: ${inputs.map((i) => i.name.split('/').pop()).join(', ')}`,
);

describe('malformed ELF input never escapes as anything but ElfError', () => {
  it('every truncation length of the first 8 KiB', async () => {
    const jobs: FuzzJob[] = inputs.map((i) => ({ kind: 'truncate', name: i.name, bytes: i.bytes, maxLength: 8192 }));
    const expected = inputs.reduce((n, i) => n + Math.min(8192, i.bytes.length) + 1, 0);
    const r = await runFuzzInWorker(jobs);
    console.log(
      `elf-malformed truncations: ${r.cases} cases, ${r.parsed} parsed, ${r.typedErrors} typed errors ${JSON.stringify(r.errorCodes)}`,
    );
    expect(r.failures).toEqual([]);
    expect(r.cases).toBe(expected);
    expect(r.typedErrors).toBeGreaterThan(0);
    expect(r.parsed).toBeGreaterThan(0);
  });

  it('thousands of seeded mutations of the ELF header, the program and section header tables and the section names', async () => {
    const jobs: FuzzJob[] = [];
    let seed = SEED;
    for (const input of inputs) {
      const elf = parseElf(input.bytes, input.name);
      const h = elf.header;
      const regions: Array<[string, number, number]> = [
        ['ELF header', 0, h.ehsize],
        ['program header table', Number(h.phoff), Number(h.phoff) + h.phnum * h.phentsize],
        ['section header table', Number(h.shoff), Number(h.shoff) + h.shnum * h.shentsize],
      ];
      const strtab = elf.sections[h.shstrndx];
      if (h.shstrndx !== 0 && strtab)
        regions.push(['section-name string table', Number(strtab.offset), Number(strtab.offset + strtab.size)]);
      for (const [region, start, end] of regions) {
        if (end > start)
          jobs.push({
            kind: 'mutate',
            name: input.name,
            bytes: input.bytes,
            region,
            start,
            end,
            cases: 600,
            seed: seed++,
          });
      }
    }
    const r = await runFuzzInWorker(jobs);
    console.log(
      `elf-malformed mutations: ${r.cases} cases over ${jobs.length} regions, ${r.parsed} parsed, ${r.typedErrors} typed errors ${JSON.stringify(r.errorCodes)}`,
    );
    expect(r.failures).toEqual([]);
    expect(r.cases).toBe(jobs.length * 600);
    expect(r.cases).toBeGreaterThanOrEqual(5000);
    expect(r.typedErrors).toBeGreaterThan(0);
  });

  it('the watchdog fails a case that hangs', async () => {
    await expect(runFuzzInWorker([{ kind: 'hang' }], 500)).rejects.toThrow(/made no progress/);
  });
});
