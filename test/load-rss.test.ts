/**
 * What the README says about Rss in `pagestack load`: equal in both page
 * caches when every page is touched; with a fraction touched, fault-around
 * maps more under the content-shared cache, never less. And the progress
 * it reports for the bar on a terminal.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrograms } from '../src/sim/load.js';

const BIN = path.resolve(__dirname, '../samples/bin');
const programs = ['tables', 'tables2', 'hello'].map((n) => path.join(BIN, n));

describe('load: Rss in the two page caches', () => {
  it('--touch all: the same Rss, fewer frames', async () => {
    const r = await loadPrograms(programs, { procs: 2, touch: 'all' });
    expect(r.system.content.rssTotal).toBe(r.system.file.rssTotal);
    expect(r.system.content.framesUsed).toBeLessThan(r.system.file.framesUsed);
  });

  it('--touch 0.5: more Rss content-shared (fault-around finds more cached), still fewer frames', async () => {
    const r = await loadPrograms(programs, { procs: 2, touch: 0.5 });
    expect(r.system.content.rssTotal).toBeGreaterThan(r.system.file.rssTotal);
    expect(r.system.content.framesUsed).toBeLessThan(r.system.file.framesUsed);
  });
});

describe('load: progress', () => {
  it('reports start-ups done over both machines, rising to the total', async () => {
    const calls: Array<[number, number]> = [];
    await loadPrograms(programs, { procs: 2, onProgress: (done, total) => calls.push([done, total]) });
    // 3 programs × 2 processes, on the content-shared and on the per-file machine.
    expect(calls.map(([, total]) => total)).toEqual(Array(12).fill(12));
    expect(calls.map(([done]) => done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});
