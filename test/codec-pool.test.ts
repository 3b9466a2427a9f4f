/**
 * The compression pool: from the TypeScript source it falls back to the
 * calling thread (no compiled worker); with the compiled worker of dist/
 * (built by `npm ci` / `npm run build`) it runs real worker threads. Both
 * must give blocks that decode to their own pages, in order.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InternalError, UsageError } from '../src/errors.js';
import { decodeLz4Block, getCodec } from '../src/container/codec/index.js';
import { CompressPool, type CompressedBatch } from '../src/container/codec/pool.js';
import { realPageSets, xorshift } from './codec-helpers.js';

const compiledWorker = fileURLToPath(new URL('../dist/container/codec/worker.js', import.meta.url));
const hasCompiledWorker = existsSync(compiledWorker);
if (!hasCompiledWorker) console.warn(`codec-pool: ${compiledWorker} is missing (run npm run build); the worker-thread tests are skipped`);

/** Real pages and some varied synthetic ones, as one buffer; the last page is short. */
function batchInput(pageSize: number): Uint8Array {
  const real = realPageSets(pageSize, 0.2).flatMap((s) => s.pages);
  const rand = xorshift(5);
  const extra = [new Uint8Array(pageSize), new Uint8Array(pageSize).map(() => rand() & 0xff), new Uint8Array(1000).fill(7)];
  return Buffer.concat([...real, ...extra]);
}

function expectDecodes(batch: CompressedBatch, input: Uint8Array, pageSize: number): void {
  expect(batch.count).toBe(Math.ceil(input.length / pageSize));
  for (let i = 0; i < batch.count; i++) {
    const page = input.subarray(i * pageSize, Math.min((i + 1) * pageSize, input.length));
    const block = batch.data.subarray(i * batch.stride, i * batch.stride + batch.lengths[i]!);
    const out = new Uint8Array(page.length);
    decodeLz4Block(block, out);
    expect(Buffer.from(out).equals(Buffer.from(page)), `page ${i}`).toBe(true);
  }
}

describe('compression pool, in the calling thread', () => {
  it('falls back when the compiled worker is missing and says why', async () => {
    const pool = new CompressPool({ workers: 2, workerFile: '/nonexistent/worker.js' });
    expect(pool.mode).toBe('in-thread');
    expect(pool.fallbackReason).toMatch(/not found/);
    const input = batchInput(4096);
    const batch = await pool.compress(input, 4096);
    expectDecodes(batch, input, 4096);
    // Same blocks as the codec on its own.
    const codec = getCodec('lz4');
    const dst = new Uint8Array(batch.stride);
    for (let i = 0; i < batch.count; i++) {
      const n = codec.compress(input.subarray(i * 4096, Math.min((i + 1) * 4096, input.length)), dst);
      expect(batch.lengths[i]).toBe(n);
      expect(Buffer.from(batch.data.subarray(i * batch.stride, i * batch.stride + n)).equals(Buffer.from(dst.subarray(0, n)))).toBe(true);
    }
    await pool.close();
  });

  it('runs in the calling thread from the TypeScript source by default, or with workers: 0', async () => {
    const fromSource = new CompressPool();
    expect(fromSource.mode).toBe('in-thread');
    await fromSource.close();
    const zero = new CompressPool({ workers: 0 });
    expect(zero.fallbackReason).toBe('workers: 0');
    await zero.close();
  });

  it('refuses a bad worker count and a closed pool', async () => {
    expect(() => new CompressPool({ workers: -1 })).toThrow(UsageError);
    expect(() => new CompressPool({ workers: 1.5 })).toThrow(UsageError);
    const pool = new CompressPool({ workers: 0 });
    await pool.close();
    await expect(pool.compress(new Uint8Array(10), 4096)).rejects.toBeInstanceOf(InternalError);
  });
});

describe.skipIf(!hasCompiledWorker)('compression pool, on worker threads (dist/)', () => {
  const pools: CompressPool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  for (const workers of [1, 2, 3]) {
    it(`${workers} worker(s): every block decodes to its own page, the last one short`, async () => {
      const pool = new CompressPool({ workers, workerFile: compiledWorker });
      pools.push(pool);
      expect(pool.mode).toBe('workers');
      expect(pool.workerCount).toBe(workers);
      const input = batchInput(4096);
      expectDecodes(await pool.compress(input, 4096), input, 4096);
    });
  }

  it('keeps the order of batches submitted together, with other page sizes and codecs', async () => {
    for (const codec of ['lz4', 'lz4js'] as const) {
      const pool = new CompressPool({ workers: 2, workerFile: compiledWorker, codec });
      pools.push(pool);
      const inputs = [batchInput(4096), batchInput(16384).subarray(0, 5 * 16384 + 77), new Uint8Array(0), new Uint8Array(3).fill(1)];
      const sizes = [4096, 16384, 4096, 4096];
      const batches = await Promise.all(inputs.map((input, i) => pool.compress(input, sizes[i]!)));
      batches.forEach((batch, i) => expectDecodes(batch, inputs[i]!, sizes[i]!));
    }
  });

  it('lets the caller reuse its buffer as soon as compress returns', async () => {
    const pool = new CompressPool({ workers: 2, workerFile: compiledWorker });
    pools.push(pool);
    const input = batchInput(4096);
    const copy = Uint8Array.prototype.slice.call(input); // a copy (Buffer's slice is a view)
    const pending = pool.compress(input, 4096);
    input.fill(0);
    expectDecodes(await pending, copy, 4096);
  });

  it('rejects batches in flight when closed, and later ones too', async () => {
    const pool = new CompressPool({ workers: 1, workerFile: compiledWorker });
    const settled = pool.compress(batchInput(4096), 4096).then(
      () => undefined,
      (err: unknown) => err,
    );
    await pool.close();
    expect(await settled).toBeInstanceOf(InternalError);
    await expect(pool.compress(new Uint8Array(4096), 4096)).rejects.toBeInstanceOf(InternalError);
  });
});
