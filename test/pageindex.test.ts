import { describe, expect, it } from 'vitest';
import { loadPageHasher } from '../src/scan/hash.js';
import { PageIndex, ZERO_CONTENT_ID, isZero } from '../src/scan/pageindex.js';
import { mulberry32 } from '../src/util/prng.js';

const PAGE = 4096;

function pageOf(seed: number): Uint8Array {
  const p = new Uint8Array(PAGE);
  const next = mulberry32(seed);
  for (let i = 0; i < PAGE; i++) p[i] = next() >>> 24;
  return p;
}

function indexOver(pages: Uint8Array[], hash: (p: Uint8Array) => bigint) {
  const canonical: Uint8Array[] = [];
  const index = new PageIndex(PAGE, hash, (id, into) => into.set(canonical[id - 1]!));
  const ids = pages.map((p) => {
    const id = index.add(p);
    if (index.isNew && id !== ZERO_CONTENT_ID) canonical.push(p);
    return id;
  });
  return { index, ids };
}

describe('PageIndex', () => {
  it('gives zero pages id 0 and equal contents equal ids, across thousands of pages', async () => {
    const hash = await loadPageHasher();
    const pages: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) pages.push(i % 7 === 0 ? new Uint8Array(PAGE) : pageOf(i % 1000));
    const { index, ids } = indexOver(pages, hash);
    // Independent count: distinct non-zero contents by string key.
    const keys = new Map<string, number>();
    pages.forEach((p, i) => {
      if (isZero(p)) expect(ids[i]).toBe(0);
      else {
        const k = Buffer.from(p).toString('base64');
        const seen = keys.get(k);
        if (seen === undefined) keys.set(k, ids[i]!);
        else expect(ids[i]).toBe(seen);
      }
    });
    expect(index.distinct).toBe(keys.size);
    expect(new Set(ids.filter((id) => id !== 0)).size).toBe(keys.size);
  });

  it('never merges different pages whose hashes collide (injected constant hash)', () => {
    const pages = [pageOf(1), pageOf(2), pageOf(1), pageOf(3), pageOf(2), new Uint8Array(PAGE)];
    const { index, ids } = indexOver(pages, () => 42n);
    expect(ids).toEqual([1, 2, 1, 3, 2, 0]);
    expect(index.distinct).toBe(3);
    expect(index.collisions).toBeGreaterThan(0);
  });

  it('does not call a page zero because its hash equals the zero hash', () => {
    const { ids } = indexOver([pageOf(9), new Uint8Array(PAGE)], () => 7n);
    expect(ids).toEqual([1, 0]);
  });

  it('grows past its initial table without losing entries', async () => {
    const hash = await loadPageHasher();
    const pages = Array.from({ length: 3000 }, (_, i) => pageOf(i));
    const canonical: Uint8Array[] = [];
    const index = new PageIndex(PAGE, hash, (id, into) => into.set(canonical[id - 1]!), 16);
    for (const p of pages) {
      index.add(p);
      if (index.isNew) canonical.push(p);
    }
    for (let i = 0; i < pages.length; i++) expect(index.add(pages[i]!)).toBe(i + 1);
  });
});
