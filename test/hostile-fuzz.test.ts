/**
 * hostile-fuzz: mutated containers, scenario documents and ELF programs
 * through the real CLI (scripts/fuzz.mjs), each ending in success or one
 * typed error line, under a watchdog that fails a hang. A bounded run here
 * (FUZZ_ITERATIONS, default 24; seed printed, FUZZ_SEED repeats it); the
 * long run is `npm run fuzz`.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module (scripts/ is not compiled)
import { runFuzz } from '../scripts/fuzz.mjs';

const built = fs.existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));
if (!built) console.log('hostile-fuzz: dist/ is not built (npm run build), the fuzz run is skipped');

describe('hostile-fuzz: every mutant ends in success or one typed error, never a hang', () => {
  it.skipIf(!built)(
    'runs the bounded fuzz',
    async () => {
      const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 0xffffffff));
      const iterations = Number(process.env.FUZZ_ITERATIONS ?? 24);
      const problems = (await (runFuzz as (o: object) => Promise<string[]>)({
        seed,
        iterations,
        stallMs: 30_000,
      })) as string[];
      if (problems.length)
        console.log(`hostile-fuzz: seed ${seed} (FUZZ_SEED=${seed} to repeat):\n${problems.join('\n')}`);
      expect(problems, `seed ${seed}`).toEqual([]);
    },
    120_000,
  );
});
