// Faults, copy-on-write and the two page caches, checked page by page.
import { describe, expect, it } from 'vitest';
import { ContentIndex, Machine, type MemoryBacking, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { BASE, PAGE, fileOf, programPlan } from './mm-helpers.js';

const RW = PROT_READ | PROT_WRITE;

function bareProcess(m: Machine): number {
  // exec of an empty plan: a process with no VMAs, ready for mmap
  return m.exec({ path: 'bare', vmas: [], writes: [], entry: 0, loadBias: 0, startBrk: 0, stackTop: 0 });
}

describe('anonymous memory and the zero page', () => {
  it('a read of untouched anonymous memory maps the zero page; the first write takes a frame', () => {
    const m = new Machine({ frames: 16 });
    const pid = bareProcess(m);
    const a = m.mmap(pid, { length: 4 * PAGE, prot: RW });
    expect(m.read(pid, a, 8)).toEqual(new Uint8Array(8));
    expect(m.pageInfo(pid, a)).toMatchObject({ state: 'present', zeroPage: true, kind: 'zero', writable: false });
    let s = m.stats();
    expect(s.frames.used).toBe(0);
    expect(s.zeroPageMappings).toBe(1);
    expect(s.faults.zeroFill).toBe(1);
    expect(m.smapsRollup(pid).rss).toBe(0); // the zero page never counts

    m.write(pid, a + 5, Uint8Array.of(9));
    s = m.stats();
    expect(s.frames.used).toBe(1);
    expect(s.zeroPageMappings).toBe(0);
    expect(s.faults.zeroFill).toBe(2);
    expect(s.faults.cow).toBe(0);
    expect(m.pageInfo(pid, a)).toMatchObject({ kind: 'anon', writable: true, dirty: true, mapcount: 1 });
    const r = m.smapsRollup(pid);
    expect(r).toMatchObject({ rss: PAGE, pss: PAGE, anonymous: PAGE, privateDirty: PAGE, pssAnon: PAGE });
    expect(m.read(pid, a, 8)).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 9, 0, 0));

    m.touch(pid, a + PAGE, PAGE, 'write'); // a write without a prior read: one zero-fill fault
    expect(m.stats().faults.zeroFill).toBe(3);
    m.checkInvariants();
  });

  it('fork shares zero-page mappings and dirty pages; COW splits them', () => {
    const m = new Machine({ frames: 16 });
    const pid = bareProcess(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW });
    m.write(pid, a, Uint8Array.of(1, 2, 3));
    m.read(pid, a + PAGE, 1);
    const child = m.fork(pid);
    expect(m.stats().zeroPageMappings).toBe(2);
    expect(m.pageInfo(child, a)).toMatchObject({ mapcount: 2, writable: false, young: false });
    expect(m.pageInfo(pid, a).writable).toBe(false); // the parent lost PTE_WRITE too
    expect(m.smapsRollup(child)).toMatchObject({
      rss: PAGE,
      pss: PAGE / 2,
      sharedDirty: PAGE,
      privateDirty: 0,
      referenced: 0,
    });

    m.write(child, a, Uint8Array.of(7));
    expect(m.read(child, a, 3)).toEqual(Uint8Array.of(7, 2, 3));
    expect(m.read(pid, a, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(m.stats().faults.cow).toBe(1);
    expect(m.smapsRollup(child)).toMatchObject({ privateDirty: PAGE, sharedDirty: 0 });

    // the parent's page is exclusive again: its write reuses the frame (wp_page_reuse)
    const used = m.stats().frames.used;
    m.write(pid, a, Uint8Array.of(5));
    expect(m.stats().faults.reuse).toBe(1);
    expect(m.stats().frames.used).toBe(used);
    m.checkInvariants();
  });

  it('a page written by the parent after fork leaves the child with the old bytes', () => {
    const m = new Machine({ frames: 32 });
    const backing = fileOf('/bin/p', [1, 2, 3]);
    const pid = m.exec(programPlan(backing, 2));
    const data = BASE + 2 * PAGE;
    const child = m.fork(pid);
    m.write(pid, data, Uint8Array.of(0xaa));
    expect(m.read(child, data, 1)[0]).toBe(3);
    expect(m.read(pid, data, 1)[0]).toBe(0xaa);
    m.checkInvariants();
  });

  it('only VMAs with an anon_vma have their page tables copied by fork', () => {
    const m = new Machine({ frames: 64 });
    const backing = fileOf('/bin/p', [1, 2, 3, 4, 5]);
    const pid = m.exec(programPlan(backing, 4));
    m.touch(pid, BASE, 4 * PAGE, 'read'); // text: file pages, no anon_vma
    const child = m.fork(pid);
    const text = m.smaps(child)[0]!;
    expect(text.rss).toBe(0); // the child faults text in later, from the page cache
    m.touch(child, BASE, 4 * PAGE, 'read');
    expect(m.smaps(child)[0]).toMatchObject({ rss: 4 * PAGE, sharedClean: 4 * PAGE, pss: 2 * PAGE });
    expect(m.processFaults(child)).toEqual({ minor: 1, major: 0 }); // one fault; fault-around maps the other three
    m.checkInvariants();
  });
});

describe('file pages and the page caches', () => {
  it('the first read of a file page is a major fault, later ones are minor', () => {
    const m = new Machine({ frames: 16 });
    const f = fileOf('/lib/x.so', [1, 2]);
    const p1 = bareProcess(m);
    const p2 = bareProcess(m);
    const a1 = m.mmap(p1, { length: 2 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    const a2 = m.mmap(p2, { length: PAGE, prot: PROT_READ, file: { backing: f, offset: PAGE } });
    expect(m.read(p1, a1 + PAGE, 2)).toEqual(Uint8Array.of(2, 2));
    expect(m.read(p2, a2, 2)).toEqual(Uint8Array.of(2, 2));
    const s = m.stats();
    expect(s.faults).toMatchObject({ major: 1, minor: 1 });
    expect(s.bytesRead).toBe(PAGE);
    expect(s.pageCache).toBe(1);
    expect(m.pageInfo(p1, a1 + PAGE)).toMatchObject({ mapcount: 2, kind: 'file' });
    expect(m.smapsRollup(p2)).toMatchObject({
      rss: PAGE,
      pss: PAGE / 2,
      pssFile: PAGE / 2,
      sharedClean: PAGE,
      anonymous: 0,
    });
    m.checkInvariants();
  });

  it('content mode shares identical pages of different files; file mode does not', () => {
    const index = new ContentIndex();
    const a = fileOf('/bin/a', [1, 2, 3, 0], index);
    const b = fileOf('/bin/b', [9, 2, 3, 0], index);
    const run = (mode: 'content' | 'file'): ReturnType<Machine['stats']> => {
      const m = new Machine({ frames: 64, pageCache: mode, verifyContent: true });
      for (const backing of [a, b]) {
        const pid = bareProcess(m);
        const at = m.mmap(pid, { length: 4 * PAGE, prot: PROT_READ, file: { backing, offset: 0 } });
        m.touch(pid, at, 4 * PAGE, 'read');
        expect(m.read(pid, at, 1)[0]).toBe(backing === a ? 1 : 9);
      }
      m.checkInvariants();
      return m.stats();
    };
    const content = run('content');
    const file = run('file');
    expect(file.pageCache).toBe(8);
    expect(file.bytesRead).toBe(8 * PAGE);
    expect(content.pageCache).toBe(5); // 1, 2, 3, zero, 9: b's pages 2, 3 and zero are a's frames
    // b's first fault, in a page table with no entries yet, maps the three cached pages 1..3 by
    // fault-around (the first of them ends before the file's last page, so the kernel allocates the
    // page table) and reads page 0: no minor fault
    expect(content.faults).toMatchObject({ major: 5, minor: 0 });
    expect(content.bytesRead).toBe(5 * PAGE);
  });

  it('content mode also merges identical pages inside one file', () => {
    const m = new Machine({ frames: 16, pageCache: 'content' });
    const f = fileOf('/bin/dup', [5, 5, 5, 6]);
    const pid = bareProcess(m);
    const at = m.mmap(pid, { length: 4 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.touch(pid, at, 4 * PAGE, 'read');
    expect(m.stats().pageCache).toBe(2);
    // three PTEs of one process map one frame: Shared, as the kernel counts it
    expect(m.smapsRollup(pid)).toMatchObject({ rss: 4 * PAGE, sharedClean: 3 * PAGE, privateClean: PAGE });
    m.checkInvariants();
  });

  it('backings with different content spaces never share frames', () => {
    const m = new Machine({ frames: 16, pageCache: 'content' });
    const a = fileOf('/a', [1]); // each has its own ContentIndex: content id 1 in both
    const b = fileOf('/b', [2]);
    const pid = bareProcess(m);
    const x = m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: a, offset: 0 } });
    const y = m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: b, offset: 0 } });
    expect(m.read(pid, x, 1)[0]).toBe(1);
    expect(m.read(pid, y, 1)[0]).toBe(2);
    expect(m.stats().pageCache).toBe(2);
  });

  it('verifyContent catches a backing whose content ids lie', () => {
    const m = new Machine({ frames: 16, pageCache: 'content', verifyContent: true });
    const good = fileOf('/good', [1]);
    const liar = Object.assign(Object.create(Object.getPrototypeOf(good)) as MemoryBacking, good, {
      path: '/liar',
      readPage: (_i: number, into: Uint8Array) => into.fill(2),
    });
    const pid = bareProcess(m);
    m.touch(pid, m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: good, offset: 0 } }), 1, 'read');
    const y = m.mmap(pid, { length: PAGE, prot: PROT_READ, file: { backing: liar, offset: 0 } });
    expect(() => m.touch(pid, y, 1, 'read')).toThrow(/shares a content id/);
  });

  it('a private write to a file page copies it (do_cow_fault) and the file page stays intact', () => {
    const m = new Machine({ frames: 16 });
    const f = fileOf('/f', [3, 4]);
    const pid = bareProcess(m);
    const at = m.mmap(pid, { length: 2 * PAGE, prot: RW, file: { backing: f, offset: 0 } });
    m.write(pid, at + 1, Uint8Array.of(8));
    const s = m.stats();
    expect(s.faults).toMatchObject({ major: 1, cow: 1 });
    expect(s.anonymous).toBe(1);
    expect(s.pageCache).toBe(0); // nothing maps the file page any more
    expect(m.read(pid, at, 3)).toEqual(Uint8Array.of(3, 8, 3));
    expect(m.smapsRollup(pid)).toMatchObject({ anonymous: PAGE, privateDirty: PAGE, pssAnon: PAGE });
    const other = bareProcess(m);
    const at2 = m.mmap(other, { length: PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    expect(m.read(other, at2, 2)).toEqual(Uint8Array.of(3, 3));
    m.checkInvariants();
  });

  it('keepPageCache keeps unmapped file pages until dropCaches', () => {
    const f = fileOf('/bin/p', [1, 2, 3]);
    const plan = programPlan(f, 2);
    const m = new Machine({ frames: 64, keepPageCache: true });
    const pid = m.exec(plan);
    // padzero's COW of .data is the one major fault; read-around brings the text pages in with it
    expect(m.stats()).toMatchObject({ pageCache: 3, bytesRead: 3 * PAGE, faults: { major: 1, minor: 0, cow: 1 } });
    m.touch(pid, BASE, 2 * PAGE, 'read');
    expect(m.stats().faults.minor).toBe(1); // and fault-around maps both text pages in one fault
    m.exit(pid);
    expect(m.stats().pageCache).toBe(3);
    const again = m.exec(plan);
    m.touch(again, BASE, 2 * PAGE, 'read');
    expect(m.stats().faults.major).toBe(1);
    m.exit(again);
    expect(m.dropCaches()).toBe(3);
    expect(m.stats().frames.used).toBe(0);
    m.checkInvariants();
  });

  it('without keepPageCache every frame is freed once all processes exit', () => {
    const f = fileOf('/bin/p', [1, 2, 3]);
    const m = new Machine({ frames: 64 });
    const pid = m.exec(programPlan(f, 2));
    m.touch(pid, BASE, 2 * PAGE, 'read');
    const child = m.fork(pid);
    m.write(child, BASE + 3 * PAGE, Uint8Array.of(1));
    m.exit(pid);
    m.exit(child);
    const s = m.stats();
    expect(s.frames.used).toBe(0);
    expect(s.pageTablePages).toBe(0);
    expect(s.materialized).toBe(0);
    expect(s.zeroPageMappings).toBe(0);
    m.checkInvariants();
  });
});

describe('fault-around and read-around', () => {
  it('in a page table with no entries, faults around only when the first cached folio ends before the last page', () => {
    // 6.18's i_size check: filemap_map_pages installs the page table only then; else finish_fault maps
    // the folio (or the page). An 8-page file at offset 13 of a 16-page window, alone in its page
    // table, read at page 6 (window pages 3..7): Rss as this machine's kernel gives it for each layout
    // (test/mm-kernel.test.ts, "alone"), and 5 pages whatever the layout with faultAroundFreshTable.
    const rss = (pages: number[], freshTable = false): number => {
      const m = new Machine({ frames: 64, keepPageCache: true, faultAroundFreshTable: freshTable });
      const f = fileOf('/f8', [1, 2, 3, 4, 5, 6, 7, 8]);
      m.cacheFile(f, { how: 'folios', pages });
      const pid = bareProcess(m);
      const at = 0x7f0000000000 + 13 * PAGE; // page 13 of a 2 MiB page table and of its first window
      m.mmap(pid, { addr: at, length: 8 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
      m.read(pid, at + 6 * PAGE, 1);
      m.checkInvariants();
      return m.smapsRollup(pid).rss / PAGE;
    };
    expect(rss([8])).toBe(8); // one folio holding the last page: no fault-around, finish_fault maps it whole
    expect(rss([1, 1, 1, 1, 1, 1, 1, 1])).toBe(5); // the window
    expect(rss([2, 2, 2, 2])).toBe(6); // the whole folios the window meets: 2..7
    expect(rss([4, 4])).toBe(8);
    expect(rss([8], true)).toBe(5); // before 6.18: the window, clipped to the last page
  });

  it('maps the cached pages of the aligned 16-page window, clipped to the VMA and the file', () => {
    // the window's geometry, also in a page table with no entries yet (faultAroundFreshTable: as before 6.18)
    const m = new Machine({ frames: 128, keepPageCache: true, readAround: 0, faultAroundFreshTable: true });
    const f = fileOf(
      '/lib/big',
      new Array<number>(40).fill(1).map((_, i) => i + 1),
    );
    m.readahead(f);
    const pid = bareProcess(m);
    // VMA of file pages 3..38 at a 2 MiB-aligned address: PTE index = page index − 3
    const at = m.mmap(pid, {
      addr: 0x40000000,
      length: 36 * PAGE,
      prot: PROT_READ,
      file: { backing: f, offset: 3 * PAGE },
    });
    m.read(pid, at + 20 * PAGE, 1); // PTE 20: window 16..31
    const present = (): number[] =>
      Array.from({ length: 36 }, (_, i) => i).filter((i) => m.pageInfo(pid, at + i * PAGE).state === 'present');
    expect(present()).toEqual(Array.from({ length: 16 }, (_, i) => 16 + i));
    m.read(pid, at + 33 * PAGE, 1); // window 32..47, clipped to the VMA's 36 pages
    expect(present().slice(16)).toEqual([32, 33, 34, 35]);
    expect(m.stats().faults).toMatchObject({ minor: 2, major: 0 });
    expect(m.smapsRollup(pid).rss).toBe(20 * PAGE);
    m.checkInvariants();
  });

  it('stops at the end of the file and skips pages that are not cached', () => {
    const m = new Machine({ frames: 32, keepPageCache: true, readAround: 0, faultAroundFreshTable: true });
    const f = fileOf('/lib/f', [1, 2, 3, 4, 5]);
    m.readahead(f, 0, 2 * PAGE); // pages 0 and 1 only
    const pid = bareProcess(m);
    const at = m.mmap(pid, { addr: 0x40000000, length: 8 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.read(pid, at + 3 * PAGE, 1); // not cached: fault-around maps 0 and 1, then a major fault reads 3
    expect(m.smapsRollup(pid).rss).toBe(3 * PAGE);
    expect(m.stats().faults).toMatchObject({ major: 1, minor: 0 });
    m.read(pid, at + 2 * PAGE, 1);
    expect(m.stats().faults.major).toBe(2);
    m.read(pid, at + 4 * PAGE, 1);
    expect(m.smapsRollup(pid).rss).toBe(5 * PAGE); // pages 5..7 lie past the end of the file
    m.checkInvariants();
  });

  it('fault-around maps shmem pages too, and not on write faults', () => {
    const m = new Machine({ frames: 16 });
    const p = bareProcess(m);
    const a = m.mmap(p, { length: 4 * PAGE, prot: RW, shared: true });
    m.touch(p, a, 4 * PAGE, 'write');
    const child = m.fork(p);
    m.write(child, a + PAGE, Uint8Array.of(1)); // a write fault maps one page
    expect(m.smapsRollup(child).rss).toBe(PAGE);
    m.read(child, a, 1); // a read fault maps the other three
    expect(m.smapsRollup(child).rss).toBe(4 * PAGE);
  });

  it('read-around reads the window around a major fault into the cache, with keepPageCache', () => {
    const f = fileOf('/lib/f', new Array<number>(64).fill(7));
    const m = new Machine({ frames: 128, keepPageCache: true, faultAround: 1 });
    const pid = bareProcess(m);
    const at = m.mmap(pid, { length: 64 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } });
    m.read(pid, at + 40 * PAGE, 1);
    expect(m.stats()).toMatchObject({ pageCache: 32, bytesRead: 32 * PAGE, faults: { major: 1 } }); // pages 24..55
    expect(m.smapsRollup(pid).rss).toBe(PAGE);
    m.read(pid, at + 24 * PAGE, 1);
    m.read(pid, at + 56 * PAGE, 1);
    expect(m.stats().faults).toMatchObject({ major: 2, minor: 1 });
    const off = new Machine({ frames: 128, faultAround: 1 }); // without keepPageCache: no read-around
    const q = bareProcess(off);
    off.read(q, off.mmap(q, { length: 64 * PAGE, prot: PROT_READ, file: { backing: f, offset: 0 } }) + 40 * PAGE, 1);
    expect(off.stats()).toMatchObject({ pageCache: 1, bytesRead: PAGE });
  });
});

describe('shared mappings', () => {
  it('MAP_SHARED anonymous memory is shared across fork and is shmem, not Anonymous', () => {
    const m = new Machine({ frames: 16 });
    const pid = bareProcess(m);
    const a = m.mmap(pid, { length: 2 * PAGE, prot: RW, shared: true });
    const child = m.fork(pid);
    m.write(child, a + PAGE, Uint8Array.of(0x5a));
    expect(m.read(pid, a + PAGE, 1)[0]).toBe(0x5a);
    expect(m.maps(pid)[0]).toMatchObject({ perms: 'rw-s', path: '/dev/zero (deleted)' });
    const r = m.smapsRollup(pid);
    expect(r).toMatchObject({ rss: PAGE, anonymous: 0, pssShmem: PAGE / 2, sharedDirty: PAGE });
    expect(m.stats().shmem).toBe(1);
    m.exit(child);
    m.exit(pid);
    expect(m.stats().frames.used).toBe(0);
    m.checkInvariants();
  });

  it('MAP_SHARED file writes are seen by other mappers and stay cached while dirty', () => {
    const m = new Machine({ frames: 16 });
    const f = fileOf('/data', [1, 1]);
    const p1 = bareProcess(m);
    const p2 = bareProcess(m);
    const a1 = m.mmap(p1, { length: 2 * PAGE, prot: RW, shared: true, file: { backing: f, offset: 0 } });
    const a2 = m.mmap(p2, { length: 2 * PAGE, prot: PROT_READ, shared: true, file: { backing: f, offset: 0 } });
    m.write(p1, a1 + 10, Uint8Array.of(77));
    expect(m.read(p2, a2 + 9, 3)).toEqual(Uint8Array.of(1, 77, 1));
    expect(m.smapsRollup(p2)).toMatchObject({ sharedDirty: PAGE, anonymous: 0, pssFile: PAGE / 2 });
    m.exit(p1);
    m.exit(p2);
    expect(m.stats().pageCache).toBe(1); // dirty: no writeback in the model, so it stays
    expect(m.dropCaches()).toBe(0);
    m.checkInvariants();
  });
});
