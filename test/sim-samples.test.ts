/**
 * Every scenario in samples/scenarios runs (the policies this build can
 * run; the others are listed with their reason), with the memory model's
 * invariants checked after every step, and shows what it is there to show.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openContainer } from '../src/container/index.js';
import type { RunResult } from '../src/sim/result.js';
import { runScenario } from '../src/sim/run-scenario.js';
import { formatRun } from '../src/sim/format-run.js';

const DIR = path.resolve(__dirname, '../samples/scenarios');
const samples = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function byName(r: RunResult, name: string) {
  const p = r.policies.find((q) => q.name === name);
  if (!p) throw new Error(`policy ${name} did not run`);
  return p;
}

describe('samples/scenarios', () => {
  it('has the three experiments (sharing, calloc, pressure)', () => {
    expect(samples).toEqual(expect.arrayContaining(['sharing.json', 'calloc.json', 'pressure.json']));
  });

  it.each(samples)('%s runs under every policy it lists, with reads equal to what was written', async (file) => {
    const doc = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { policies?: Array<{ name: string }> };
    const r = await runScenario(path.join(DIR, file), { checkInvariants: true });
    expect(r.skipped).toEqual([]);
    expect(r.policies.map((p) => p.name)).toEqual((doc.policies ?? [{ name: 'default' }]).map((p) => p.name));
    for (const p of r.policies) {
      // Every completed run verified every read that had an expectation (a difference would have thrown).
      if (p.outcome.status === 'ok') expect(p.summary.bytesVerified).toBeGreaterThan(0);
      expect(p.series.step.at(-1)).toBe(p.outcome.status === 'ok' ? r.scenario.steps : p.stepsRun);
    }
    for (const s of r.skipped) console.warn(`${file}: policy ${s.name} skipped: ${s.reason}`);
    expect(formatRun(r)).toContain(`scenario ${r.scenario.name}`);
  });

  it('sharing.pgs holds exactly the samples/bin programs the sharing scenario names', async () => {
    const c = await openContainer(path.join(DIR, 'sharing.pgs'));
    try {
      for (const name of ['tables', 'tables2', 'hello']) {
        const bytes = fs.readFileSync(path.resolve(DIR, '../bin', name));
        const backing = c.backing(c.findFile(`bin/${name}`)!);
        expect(
          backing.size,
          `${name} (rebuild: SOURCE_DATE_EPOCH=1700000000 pagestack pack DIR/bin -o samples/scenarios/sharing.pgs)`,
        ).toBe(bytes.length);
        const page = new Uint8Array(4096);
        for (let i = 0; i < backing.pageCount; i++) {
          backing.readPage(i, page);
          const want = Buffer.alloc(4096);
          bytes.copy(want, 0, i * 4096, Math.min(bytes.length, (i + 1) * 4096));
          expect(Buffer.compare(page, want), `${name} page ${i}`).toBe(0);
        }
      }
    } finally {
      c.close();
    }
  });

  it('sharing: the content-shared page cache uses fewer frames and less Pss for the same Rss', async () => {
    const r = await runScenario(path.join(DIR, 'sharing.json'));
    const file = byName(r, 'file-cache').summary;
    const content = byName(r, 'content-cache').summary;
    expect(content.rssTotal).toBe(file.rssTotal);
    expect(content.pssTotal).toBeLessThan(file.pssTotal);
    expect(content.framesFinal).toBeLessThan(file.framesFinal);
    expect(content.anonFrames).toBe(file.anonFrames);
    expect(file.framesFinal - content.framesFinal).toBe(file.pageCacheFrames - content.pageCacheFrames);
    expect(content.fileReadBytes).toBeLessThan(file.fileReadBytes);
    expect(content.cowBreaks).toBe(file.cowBreaks);
  });

  it('calloc: eager commits the most frames, on-commit the fewest', async () => {
    const r = await runScenario(path.join(DIR, 'calloc.json'));
    const eager = byName(r, 'eager').summary;
    const glibc = byName(r, 'glibc').summary;
    const onCommit = byName(r, 'on-commit').summary;
    expect(eager.framesPeak).toBeGreaterThan(glibc.framesPeak);
    expect(glibc.framesPeak).toBeGreaterThanOrEqual(onCommit.framesPeak);
    // 64 MiB calloc'd with 1 page in 16 written: eager commits all of it.
    expect(eager.anonFrames).toBeGreaterThanOrEqual(64 * 256);
    expect(onCommit.anonFrames).toBeLessThan((64 * 256) / 8);
  });

  it('pressure: without swap the workload runs out of frames at the limit', async () => {
    const r = await runScenario(path.join(DIR, 'pressure.json'), { policies: ['no-swap'] });
    const p = byName(r, 'no-swap');
    expect(p.outcome.status).toBe('oom');
    expect(p.summary.framesFinal).toBe(6144);
    expect(p.summary.framesPeak).toBe(6144);
  });
});
