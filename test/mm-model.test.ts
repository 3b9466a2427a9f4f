// Model-based test: thousands of random sequences of exec, fork, read,
// write, touch, mmap, munmap, mprotect and exit, run on the Machine and on
// a plain reference model (test/mm-reference.ts, driven by
// test/mm-model-run.ts). Every read must equal the reference, the
// invariants must hold after every step, and once every process has exited
// no frame may be left. The seed is printed on failure; rerun one with
// MM_SEED=<seed> MM_SEQUENCES=1. The memory policies (reclaim, swap, KSM)
// have their own run in test/mm-policies-model.test.ts.
import { describe, it } from 'vitest';
import { runSequence } from './mm-model-run.js';

const SEQUENCES = Number(process.env.MM_SEQUENCES ?? 2000);
const FIRST_SEED = Number(process.env.MM_SEED ?? 1);
const STEPS = 40;

describe('model-based: random sequences against a reference model', () => {
  const configs = [
    { pageCache: 'content', keepPageCache: false },
    { pageCache: 'file', keepPageCache: false },
    { pageCache: 'content', keepPageCache: true },
    { pageCache: 'file', keepPageCache: true },
  ] as const;

  it(`${SEQUENCES} sequences of ${STEPS} steps read back what the reference holds`, () => {
    for (let i = 0; i < SEQUENCES; i++) {
      const seed = FIRST_SEED + i;
      const config = configs[i % configs.length]!;
      const log: string[] = [];
      try {
        runSequence(seed, { machine: config, steps: STEPS }, log);
      } catch (e) {
        console.error(
          `mm model test failed: MM_SEED=${seed} MM_SEQUENCES=1 (config ${JSON.stringify(config)})\n` +
            `last steps:\n  ${log.slice(-12).join('\n  ')}`,
        );
        throw e;
      }
    }
  });
});
