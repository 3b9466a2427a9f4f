import { describe, expect, it } from 'vitest';
import { ZS_HANDLE_SIZE, ZsPool, hugeClassSize, sizeClasses, zspageChainSize } from '../src/mm/swap/zsmalloc.js';
import { mulberry32 } from '../src/util/prng.js';

describe('zsmalloc size classes', () => {
  it('has 255 classes of 32..4096 bytes in 16-byte steps for 4 KiB pages', () => {
    const t = sizeClasses(4096, 8);
    expect(t.count).toBe(255);
    expect(t.delta).toBe(16);
    expect(t.size[0]).toBe(32);
    expect(t.size[254]).toBe(4096);
    expect(t.pagesPerZspage[254]).toBe(1);
    expect(t.objsPerZspage[254]).toBe(1);
  });

  it('derives huge_class_size as LINUX.md §4.2 gives it: 3625 (chain 8), 3257 (chain 4), 3833 (chain 16)', () => {
    expect(hugeClassSize(4096, 8)).toBe(3625);
    expect(hugeClassSize(4096, 4)).toBe(3257);
    expect(hugeClassSize(4096, 16)).toBe(3833);
  });

  it('derives huge_class_size for other page sizes from the same rule', () => {
    for (const pageSize of [16384, 65536]) {
      const t = sizeClasses(pageSize, 8);
      // The rule, restated: the largest class packing more than one object into more than one page.
      let largest = 0;
      for (let s = 32; s <= pageSize; s += pageSize >> 8) {
        const pages = zspageChainSize(s, pageSize, 8);
        if (pages > 1 && Math.floor((pages * pageSize) / s) > 1) largest = s;
      }
      expect(t.hugeClassSize).toBe(largest - (ZS_HANDLE_SIZE - 1));
      expect(t.hugeClassSize).toBeGreaterThan(pageSize * 0.75);
      expect(t.hugeClassSize).toBeLessThan(pageSize);
    }
  });

  it('picks the chain length with the least waste, 1 for powers of two', () => {
    expect(zspageChainSize(4096, 4096, 8)).toBe(1);
    expect(zspageChainSize(2048, 4096, 8)).toBe(1);
    // 80-byte objects: 5 pages hold exactly 256 of them.
    expect(zspageChainSize(80, 4096, 8)).toBe(5);
    // 3632-byte objects: 8 pages waste 80 bytes (9 objects), fewer pages waste more.
    expect(zspageChainSize(3632, 4096, 8)).toBe(8);
  });

  it('merges neighbouring classes with the same pages and objects per zspage', () => {
    const t = sizeClasses(4096, 8);
    for (let i = 0; i < t.count; i++) {
      const target = t.classOf[i]!;
      expect(target).toBeGreaterThanOrEqual(i);
      const size = Math.min(32 + i * 16, 4096);
      const pages = zspageChainSize(size, 4096, 8);
      expect(t.pagesPerZspage[target]).toBe(pages);
      expect(t.objsPerZspage[target]).toBe(Math.floor((pages * 4096) / size));
    }
    // Above huge_class_size every class is one object per page, all merged into 4096.
    expect(t.classOf[Math.ceil((3625 + 8 - 32) / 16)]).toBe(254);
  });
});

describe('ZsPool', () => {
  it('puts an object of n bytes in the smallest class of at least n + ZS_HANDLE_SIZE bytes', () => {
    const pool = new ZsPool(4096, 8);
    for (const n of [1, 24, 25, 100, 3624, 3625, 4088, 4089, 4096]) {
      const h = pool.malloc(n);
      expect(pool.objectSize(h)).toBeGreaterThanOrEqual(Math.min(n + ZS_HANDLE_SIZE, 4096));
      pool.free(h);
    }
    expect(pool.malloc(0)).toBe(-1);
    expect(pool.malloc(4097)).toBe(-1);
    expect(pool.totalPages).toBe(0);
  });

  it('without frees uses exactly ceil(objects / objs_per_zspage) zspages per class', () => {
    const pool = new ZsPool(4096, 8);
    const next = mulberry32(7);
    const perClass = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      const n = 1 + (next() % 4096);
      pool.malloc(n);
      const cls = pool.classIndexFor(n);
      perClass.set(cls, (perClass.get(cls) ?? 0) + 1);
    }
    let pages = 0;
    for (const [cls, objects] of perClass) {
      pages += Math.ceil(objects / pool.classes.objsPerZspage[cls]!) * pool.classes.pagesPerZspage[cls]!;
    }
    expect(pool.totalPages).toBe(pages);
  });

  it('keeps object bytes intact through random allocation and freeing, and frees every page at the end', () => {
    const pool = new ZsPool(4096, 8);
    const next = mulberry32(11);
    const live = new Map<number, Uint8Array>();
    for (let step = 0; step < 20000; step++) {
      if (live.size === 0 || next() % 5 < 3) {
        const n = 1 + (next() % 4096);
        const bytes = new Uint8Array(n);
        for (let i = 0; i < n; i++) bytes[i] = next() & 0xff;
        const h = pool.malloc(n);
        expect(live.has(h)).toBe(false);
        pool.write(h, bytes);
        live.set(h, bytes);
      } else {
        const handles = [...live.keys()];
        const h = handles[next() % handles.length]!;
        expect(Buffer.compare(pool.view(h, live.get(h)!.length), live.get(h)!)).toBe(0);
        pool.free(h);
        live.delete(h);
      }
    }
    for (const [h, bytes] of live) expect(Buffer.compare(pool.view(h, bytes.length), bytes)).toBe(0);
    // Fragmentation: pages held >= the bytes of live objects in their classes.
    const rows = pool.classStats();
    const pagesFromRows = rows.reduce((sum, r) => sum + r.zspages * r.pagesPerZspage, 0);
    expect(pagesFromRows).toBe(pool.totalPages);
    const objectBytes = rows.reduce((sum, r) => sum + r.objects * r.size, 0);
    expect(pool.totalPages * 4096).toBeGreaterThanOrEqual(objectBytes);
    expect(rows.reduce((sum, r) => sum + r.objects, 0)).toBe(live.size);
    for (const h of live.keys()) pool.free(h);
    expect(pool.totalPages).toBe(0);
    expect(pool.objects).toBe(0);
  });

  it('shows fragmentation: freeing most objects of a zspage keeps its pages', () => {
    const pool = new ZsPool(4096, 8);
    // 58-byte objects land in the 80-byte class: 5 pages hold 256 objects.
    const handles = Array.from({ length: 256 }, () => pool.malloc(58));
    expect(pool.totalPages).toBe(5);
    for (const h of handles.slice(1)) pool.free(h);
    expect(pool.totalPages).toBe(5);
    pool.free(handles[0]!);
    expect(pool.totalPages).toBe(0);
  });

  it('rejects freeing a handle twice', () => {
    const pool = new ZsPool(4096, 8);
    const h = pool.malloc(100);
    pool.free(h);
    expect(() => pool.free(h)).toThrow(/not allocated/);
  });
});
