/**
 * Runs fuzz jobs (elf-fuzz-worker.ts) in a worker thread under a watchdog:
 * if the worker's case counter stops moving for `stallMs`, the worker is
 * terminated and the promise rejects naming the case, so a hang fails the
 * test instead of freezing it.
 *
 * The worker runs plain JavaScript: the worker module and the sources it
 * imports are transpiled with TypeScript's transpileModule into a temporary
 * directory first, so the fuzzed code is always the current src/, never a
 * stale dist/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import type { FuzzJob, FuzzResult } from './elf-fuzz-worker.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Transpiles `entry` and every relative import it reaches into `outDir`, keeping paths relative to the repository root. */
function transpileTree(entry: string, outDir: string): string {
  const done = new Set<string>();
  const visit = (file: string) => {
    if (done.has(file)) return;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    }).outputText;
    const out = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js);
    for (const m of js.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g))
      visit(resolve(dirname(file), `${m[1]}.ts`));
  };
  visit(entry);
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}');
  return join(outDir, relative(root, entry)).replace(/\.ts$/, '.js');
}

export async function runFuzzInWorker(jobs: FuzzJob[], stallMs = 10_000): Promise<FuzzResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'pagestack-fuzz-'));
  try {
    const workerFile = transpileTree(fileURLToPath(new URL('./elf-fuzz-worker.ts', import.meta.url)), outDir);
    const progress = new SharedArrayBuffer(4);
    const counter = new Int32Array(progress);
    const worker = new Worker(pathToFileURL(workerFile), { workerData: { jobs, progress } });
    return await new Promise<FuzzResult>((resolvePromise, reject) => {
      let last = -1;
      let lastChange = Date.now();
      const watchdog = setInterval(() => {
        const now = Atomics.load(counter, 0);
        if (now !== last) {
          last = now;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > stallMs) {
          clearInterval(watchdog);
          void worker.terminate();
          reject(
            new Error(
              `fuzz case ${now} made no progress for ${stallMs} ms: parseElf hangs (replay with the same seed)`,
            ),
          );
        }
      }, 100);
      worker.once('message', (r: FuzzResult) => {
        clearInterval(watchdog);
        void worker.terminate();
        resolvePromise(r);
      });
      worker.once('error', (e) => {
        clearInterval(watchdog);
        reject(e);
      });
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
