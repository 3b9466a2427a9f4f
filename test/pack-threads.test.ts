/**
 * pack's compression pipeline: the shared batch slots the main thread and
 * the workers hand batches through (compress-slots.ts), and the container
 * the compiled CLI writes with 1 and 3 worker threads, which must be the
 * same bytes as the inline pack's, on an input of many batches (some pages
 * compressible, some not, duplicates and zero pages).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSlots, PHASE_DONE, PHASE_FULL, PHASE_TAKEN, tag } from '../src/container/compress-slots.js';
import { BatchCompressor } from '../src/container/compress-batch.js';
import { pack } from '../src/container/index.js';
import { removeTree, tempDir } from './container-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'bin/pagestack.js');

/** The compiled worker exists and is newer than every container source file. */
function distIsFresh(): boolean {
  const dist = path.join(ROOT, 'dist/container');
  if (!fs.existsSync(path.join(dist, 'compress-worker.js'))) return false;
  const built = Math.min(
    ...fs
      .readdirSync(dist)
      .filter((n) => n.endsWith('.js'))
      .map((n) => fs.statSync(path.join(dist, n)).mtimeMs),
  );
  const src = path.join(ROOT, 'src/container');
  return fs.readdirSync(src).every((n) => !n.endsWith('.ts') || fs.statSync(path.join(src, n)).mtimeMs <= built);
}
const freshDist = distIsFresh();
if (!freshDist)
  console.warn(
    'pack-threads: dist/ is missing or older than src/container (run npm run build): the CLI checks are skipped',
  );

describe('batch slots', () => {
  const shape = { slots: 3, batchPages: 2, pageSize: 4096 };

  it('hands out only published batches, in order, and a batch taken by one thread is not taken again', () => {
    const slots = BatchSlots.create(shape);
    slots.fill(0, 2);
    slots.fill(1, 1);
    expect(slots.claim()).toBe(0);
    expect(slots.claim()).toBe(1);
    // The main thread takes batch 1 before the worker that claimed it.
    expect(slots.take(1)).toBe(true);
    expect(slots.take(1)).toBe(false);
    expect(slots.state(1)).toBe(tag(1, PHASE_TAKEN));
    expect(slots.state(0)).toBe(tag(0, PHASE_FULL));
    expect(slots.take(0)).toBe(true);
    slots.done(0);
    expect(slots.state(0)).toBe(tag(0, PHASE_DONE));
    // Batch 3 reuses slot 0; batch 2 is not published yet, so nothing more is claimed until quit.
    slots.quit();
    expect(slots.claim()).toBe(-1);
  });

  it('compresses a batch into its slot as the inline compressor does', async () => {
    const slots = BatchSlots.create(shape);
    const page = slots.pages[2]!;
    for (let i = 0; i < 4096; i++) page[i] = (i >> 5) & 0xff; // compressible
    for (let i = 4096; i < 8192; i++) page[i] = (i * 2654435761) >>> 27; // 5 random-looking bits
    slots.pageChecksums[2]!.set([11, 22]);
    slots.fill(2, 2);
    const compressor = await BatchCompressor.create('lz4');
    expect(slots.take(2)).toBe(true);
    slots.compressInto(2, compressor);
    const expected = (await BatchCompressor.create('lz4')).compress(page, 2, 4096, slots.pageChecksums[2]!);
    expect(slots.used(2)).toBe(expected.data.length);
    expect(Buffer.compare(slots.stored[2]!.subarray(0, slots.used(2)), expected.data)).toBe(0);
    expect([...slots.lengths[2]!]).toEqual([...expected.lengths]);
    expect([...slots.storedChecksums[2]!]).toEqual([...expected.storedChecksums]);
    expect(slots.lengths[2]![0]).toBeLessThan(4096);
  });
});

describe('pack with worker threads', () => {
  let work: string;
  let input: string;
  let inline: string;

  beforeAll(async () => {
    work = tempDir('pack-threads');
    input = path.join(work, 'in');
    fs.mkdirSync(input);
    // 3 files of 4 MiB: 3072 pages, over 2000 of them distinct and non-zero: more than 12 batches of 128 pages.
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let f = 0; f < 3; f++) {
      const bytes = Buffer.alloc(4 << 20);
      for (let p = 0; p < 1024; p++) {
        const at = p * 4096;
        const kind = next() % 8;
        if (kind === 0) continue; // zero page
        if (kind === 1 && p > 0) {
          const from = (next() % p) * 4096; // an earlier page (maybe a zero one)
          bytes.copy(bytes, at, from, from + 4096);
        } else if (kind === 2)
          for (let i = 0; i < 4096; i++) bytes[at + i] = next() & 0xff; // incompressible
        else for (let i = 0; i < 4096; i++) bytes[at + i] = (i % (13 + kind)) + (next() % 16 === 0 ? next() & 0xff : 0);
      }
      fs.writeFileSync(path.join(input, `f${f}`), bytes);
    }
    inline = path.join(work, 'inline.pgs');
    await pack([input], inline, { threads: 0 });
  });

  afterAll(() => removeTree(work));

  for (const threads of [1, 3]) {
    it.skipIf(!freshDist)(`--threads ${threads} writes the same bytes as the inline pack`, () => {
      const out = path.join(work, `t${threads}.pgs`);
      const json = execFileSync(
        process.execPath,
        [CLI, 'pack', input, '-o', out, '--threads', String(threads), '--json'],
        {
          encoding: 'utf8',
        },
      );
      const summary = JSON.parse(json) as { storedPages: number; rawPages: number; lz4Pages: number };
      expect(summary.storedPages).toBeGreaterThan(12 * 128); // many batches for the workers and the main thread to share
      expect(summary.rawPages).toBeGreaterThan(0);
      expect(summary.lz4Pages).toBeGreaterThan(0);
      expect(Buffer.compare(fs.readFileSync(inline), fs.readFileSync(out))).toBe(0);
    });
  }

  // Without --threads the CLI starts the default workers before pack() walks its input
  // (container/compress-workers.ts): adopted for this 12 MiB input, dropped for a small one.
  it.skipIf(!freshDist)('the default workers, started before the walk, write the same bytes', () => {
    const out = path.join(work, 'default.pgs');
    execFileSync(process.execPath, [CLI, 'pack', input, '-o', out, '-q'], { timeout: 60_000 });
    expect(Buffer.compare(fs.readFileSync(inline), fs.readFileSync(out))).toBe(0);
  });

  it.skipIf(!freshDist)('a small input packs inline, the early workers are dropped and the process exits', async () => {
    const one = path.join(input, 'f0');
    const expected = path.join(work, 'small-inline.pgs');
    await pack([one], expected, { threads: 0 });
    const out = path.join(work, 'small.pgs');
    const json = execFileSync(process.execPath, [CLI, 'pack', one, '-o', out, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect((JSON.parse(json) as { storedPages: number }).storedPages).toBeGreaterThan(128);
    expect(Buffer.compare(fs.readFileSync(expected), fs.readFileSync(out))).toBe(0);
  });
});
