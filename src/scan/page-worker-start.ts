/**
 * Starts the parallel scan's worker thread (page-worker.ts) as early as
 * possible: bin/pagestack.js imports this first thing for `scan`, so the
 * worker boots (tens of milliseconds) while the main thread loads the CLI.
 * parallel.ts takes the started worker, or starts one itself.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export const PAGE_WORKER_URL = new URL('./page-worker.js', import.meta.url);

let started: Worker | undefined;

/** Whether the compiled worker is there (not when running from TypeScript sources). */
export function pageWorkerAvailable(): boolean {
  return PAGE_WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(PAGE_WORKER_URL));
}

/** Starts the worker now, unref'd (an unused one never holds the process up); false when it is not available. */
export function startPageWorker(): boolean {
  if (started || !pageWorkerAvailable()) return started !== undefined;
  started = new Worker(PAGE_WORKER_URL);
  started.unref();
  return true;
}

/** The worker started early, once; otherwise a new one. */
export function takePageWorker(): Worker {
  const w = started ?? new Worker(PAGE_WORKER_URL);
  started = undefined;
  return w;
}
