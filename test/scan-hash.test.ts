/**
 * The bulk page hasher (src/scan/assembly/xxh64.ts via src/scan/xxh64-wasm.ts)
 * against `xxhsum -H1` page by page on real files, and against
 * xxhash-wasm's API on odd lengths; scans through it equal scans through
 * xxhash-wasm's module.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPageHasher, loadPageHasher, PAGES_PER_CALL } from '../src/scan/hash.js';
import { scan, toScanJson } from '../src/scan/index.js';

const SAMPLES = path.resolve(__dirname, '..', 'samples', 'bin');
const built = fs.existsSync(path.resolve(__dirname, '..', 'dist', 'scan', 'xxh64.wasm'));
if (!built) console.warn('skipping the bulk hasher tests: dist/scan/xxh64.wasm is missing (run npm run build)');
const xxhsum = hasTool('xxhsum');
if (!xxhsum) console.warn('skipping the xxhsum page comparison: xxhsum is not installed');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-hash-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Real files: the samples, plus a few system binaries when present. */
function corpus(): string[] {
  const files = fs.readdirSync(SAMPLES).map((f) => path.join(SAMPLES, f));
  for (const f of ['/usr/bin/ls', '/usr/bin/env', '/bin/sh']) if (fs.existsSync(f)) files.push(fs.realpathSync(f));
  return files.filter((f) => fs.statSync(f).isFile());
}

describe('bulk page hasher', () => {
  it.skipIf(!built || !xxhsum)('equals xxhsum -H1 on every page of real files, at 4 and 64 KiB pages', async () => {
    const hasher = await createPageHasher();
    expect(hasher.bulk).toBe(true);
    for (const ps of [4096, 65536]) {
      const dir = fs.mkdtempSync(path.join(tmp, `p${ps}-`));
      const ours: string[] = [];
      let n = 0;
      for (const file of corpus()) {
        const bytes = fs.readFileSync(file);
        const pages = Math.ceil(bytes.length / ps);
        const buf = hasher.buffer(pages * ps);
        buf.fill(0);
        buf.set(bytes);
        for (let run = 0; run < pages; run += PAGES_PER_CALL) {
          const count = Math.min(PAGES_PER_CALL, pages - run);
          const words = hasher.hashPages(run * ps, ps, count);
          expect(words.length).toBe(2 * count);
          for (let i = 0; i < count; i++) {
            const page = buf.subarray((run + i) * ps, (run + i + 1) * ps);
            fs.writeFileSync(path.join(dir, String(n).padStart(6, '0')), page);
            ours.push(words[2 * i + 1]!.toString(16).padStart(8, '0') + words[2 * i]!.toString(16).padStart(8, '0'));
            n++;
          }
        }
      }
      const names = fs.readdirSync(dir).sort();
      const theirs = execFileSync('xxhsum', ['-H1', ...names], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 })
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]);
      expect(theirs.length).toBe(n);
      expect(ours).toEqual(theirs);
    }
  });

  it.skipIf(!built)('hashes any length in place or through a copy like the package API', async () => {
    const api = await loadPageHasher();
    const hasher = await createPageHasher();
    const buf = hasher.buffer(8192);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + (i >>> 5)) & 0xff;
    for (const length of [0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 4095, 4096, 4097]) {
      const expected = api(buf.slice(5, 5 + length));
      expect(hasher.hash(buf, 5, length)).toBe(expected);
      expect(hasher.hash(buf.slice(5, 5 + length))).toBe(expected);
    }
    expect(() => hasher.hash(new Uint8Array(65537))).toThrow(RangeError);
  });

  it.skipIf(!built)('scans the same through the bulk module and the copying fallback', async () => {
    const bulk = await scan([SAMPLES]);
    const packageModule = await scan([SAMPLES], { inPlaceHashing: false });
    expect(toScanJson(bulk)).toEqual(toScanJson(packageModule));
    // Small chunks: a page run split over many reads still gives the same ids.
    const small = await scan([SAMPLES], { chunkBytes: 3 * 4096 });
    expect(toScanJson(small)).toEqual(toScanJson(bulk));
  });
});

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
