// The hostile-input fuzzer: runs scripts/fuzz-child.mjs under a watchdog and
// judges every mutant: it must end in success (status 0) or in one typed
// error line (status 1 or 2, "pagestack: ...", not an internal error), and
// must not hang (no answer within stallMs kills the child and fails).
// `npm run fuzz` runs it long: FUZZ_ITERATIONS (default 3000), FUZZ_SEED.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fuzz-child.mjs', import.meta.url));

/** Runs `iterations` mutants from `seed`; resolves to the list of problems (empty: all good). */
export function runFuzz({ seed, iterations, kinds = 'container,scenario,elf', stallMs = 60_000 }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-fuzz-'));
  return new Promise((resolve) => {
    const problems = [];
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=1536', CHILD, String(seed), String(iterations), kinds, work],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let last = 'before the first mutant';
    let buffered = '';
    let finished = false;
    let stderr = '';
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        problems.push(`seed ${seed}: hang: no answer for ${stallMs} ms after "${last}"`);
        child.kill('SIGKILL');
      }, stallMs);
    };
    arm();
    child.stderr.on('data', (d) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (d) => {
      buffered += d.toString();
      let nl;
      for (nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        arm();
        if (line === 'finished') finished = true;
        else if (line.startsWith('start ')) last = line;
        else if (line.startsWith('done ')) {
          const m = /^done (\d+) (-?\d+) (.*)$/.exec(line);
          const status = Number(m[2]);
          const lines = JSON.parse(m[3]);
          const where = `seed ${seed}, ${last.replace(/^start /, 'mutant ')}`;
          if (![0, 1, 2].includes(status)) problems.push(`${where}: exit status ${status}: ${lines.join(' / ')}`);
          else if (status !== 0 && lines.length !== 1)
            problems.push(`${where}: ${lines.length} error lines: ${lines.join(' / ')}`);
          else if (lines.some((l) => /internal error|THREW|^\s+at /.test(l)))
            problems.push(`${where}: not a typed error: ${lines.join(' / ')}`);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!finished && problems.length === 0)
        problems.push(
          `seed ${seed}: the fuzz child died (${signal ?? code}) after "${last}": ${stderr.trim().split('\n').slice(-3).join(' / ')}`,
        );
      fs.rmSync(work, { recursive: true, force: true });
      resolve(problems);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const iterations = Number(process.env.FUZZ_ITERATIONS ?? 3000);
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0xffffffff);
  const chunk = 200;
  let failed = 0;
  console.log(`fuzz: ${iterations} mutants from seed ${seed} (FUZZ_SEED=${seed} to repeat)`);
  for (let done = 0; done < iterations; done += chunk) {
    const s = (seed + done) >>> 0;
    const problems = await runFuzz({ seed: s, iterations: Math.min(chunk, iterations - done) });
    for (const p of problems) console.log(p);
    failed += problems.length;
    console.log(`fuzz: ${Math.min(done + chunk, iterations)} of ${iterations}, ${failed} problem(s)`);
  }
  process.exitCode = failed ? 1 : 0;
}
