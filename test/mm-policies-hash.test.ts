// XXH32 of pages against the xxhsum CLI (an implementation nobody here wrote).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xxh32Page, zeroPageChecksum } from '../src/mm/page-hash.js';
import { seededRandom } from '../src/util/prng.js';

function hasXxhsum(): boolean {
  try {
    execFileSync('xxhsum', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const missing = !hasXxhsum();
if (missing) console.warn('skipping the xxhsum comparison: xxhsum is not installed');

describe('xxh32Page', () => {
  it.skipIf(missing)('equals xxhsum -H0 on zero, patterned, random and 64 KiB pages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagestack-xxh32-'));
    try {
      const r = seededRandom(7);
      const pages = [
        new Uint8Array(4096),
        new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 255),
        new Uint8Array(4096).map(() => Math.floor(r() * 256)),
        new Uint8Array(65536).map(() => Math.floor(r() * 256)),
        new Uint8Array(1024).fill(0xab),
      ];
      pages.forEach((page, i) => {
        const file = join(dir, `p${i}`);
        writeFileSync(file, page);
        const want = execFileSync('xxhsum', ['-H0', file], { encoding: 'utf8' }).split(/\s+/)[0]!;
        expect(xxh32Page(page).toString(16).padStart(8, '0'), `page ${i}`).toBe(want);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hashes an unaligned view like the same bytes aligned', () => {
    const buf = new Uint8Array(4096 + 1);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 13) & 255;
    const view = buf.subarray(1);
    expect(xxh32Page(view)).toBe(xxh32Page(view.slice()));
    expect(zeroPageChecksum(4096)).toBe(xxh32Page(new Uint8Array(4096)));
  });
});
