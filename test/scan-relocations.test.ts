/**
 * The scanner's count of the pages dynamic relocation writes
 * (src/scan/relocations.ts) against the loader's own reading of the same
 * tables (readExecImage + readElfObject, which builds an object per
 * relocation), on every ELF file at hand; the scan's in-memory count
 * (windows served from the chunk, the rest read with pread) against the
 * count over the whole file; and damaged tables. The count against readelf
 * is test/rtld-relocated.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseElf } from '../src/elf/parse.js';
import type { FileBacking } from '../src/abi/file-backing.js';
import { readExecImage } from '../src/loader/elf-image.js';
import { readElfObject } from '../src/loader/rtld/elf-object.js';
import { relocatedFilePages } from '../src/loader/rtld/relocated-pages.js';
import { scan } from '../src/scan/index.js';

const SAMPLES = path.resolve(__dirname, '..', 'samples', 'bin');
const PYELFTOOLS = '/work/shared/corpus/pyelftools';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-scanreloc-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Regular files starting with the ELF magic, directly in `d` (none when `d` is missing). */
function elfFilesIn(d: string, limit = Infinity): string[] {
  if (!fs.existsSync(d)) return [];
  const out: string[] = [];
  for (const name of fs.readdirSync(d).sort()) {
    const p = path.join(d, name);
    const st = fs.lstatSync(p);
    if (!st.isFile() || st.size < 4) continue;
    const fd = fs.openSync(p, 'r');
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    if (magic.toString('latin1') === '\x7fELF') out.push(p);
    if (out.length >= limit) break;
  }
  return out;
}

/** The pages as the loader finds them: its relocation objects, each target marked. */
function loaderPages(bytes: Uint8Array, file: string, pageSize: number): number[] | undefined {
  const backing: FileBacking & { bytes: Uint8Array } = {
    path: file,
    size: bytes.length,
    pageSize: 4096,
    pageCount: Math.ceil(bytes.length / 4096),
    bytes,
    readPage: (i, into) => {
      into.fill(0);
      into.set(bytes.subarray(i * 4096, Math.min((i + 1) * 4096, bytes.length)));
    },
    contentId: () => 0,
  };
  let obj: ReturnType<typeof readElfObject>;
  try {
    obj = readElfObject(readExecImage(backing, 'interpreter'));
  } catch {
    return undefined;
  }
  if (obj.dynamicAddr === undefined) return undefined;
  const writable = obj.image.loads.filter((s) => (s.flags & 2) !== 0);
  const pages = new Set<number>();
  const mark = (addr: number) => {
    for (const s of writable) {
      const v = Number(s.vaddr);
      if (addr >= v && addr + 8 <= v + Number(s.filesz)) {
        const off = Number(s.offset) + (addr - v);
        pages.add(Math.floor(off / pageSize));
        pages.add(Math.floor((off + 7) / pageSize));
        return;
      }
    }
  };
  for (const r of [...obj.rela, ...obj.rel, ...obj.jmprel]) if (r.type !== 0) mark(r.offset);
  for (const a of obj.relr) mark(a);
  return [...pages].sort((a, b) => a - b);
}

/** The 64-bit PT_DYNAMIC entries of an ELF64 LSB file, with their file offsets. */
function dynamicEntries(bytes: Buffer): Array<{ at: number; tag: bigint; value: bigint }> {
  const elf = parseElf(bytes, 'x');
  const dyn = elf.programHeaders.find((p) => p.type === 2)!;
  const out: Array<{ at: number; tag: bigint; value: bigint }> = [];
  for (let at = Number(dyn.offset); at + 16 <= Number(dyn.offset + dyn.filesz); at += 16) {
    const tag = bytes.readBigUInt64LE(at);
    out.push({ at, tag, value: bytes.readBigUInt64LE(at + 8) });
    if (tag === 0n) break;
  }
  return out;
}

describe('pages relocation writes, counted by the scanner', () => {
  it('equal the loader’s count on every ELF file at hand', () => {
    const files = [
      ...elfFilesIn(SAMPLES),
      ...elfFilesIn(PYELFTOOLS),
      ...elfFilesIn('/usr/bin', 150),
      ...elfFilesIn('/usr/lib/x86_64-linux-gnu', 60),
    ];
    if (!fs.existsSync(PYELFTOOLS)) console.log(`scan-relocations: ${PYELFTOOLS} missing; samples and /usr only`);
    expect(files.length).toBeGreaterThanOrEqual(8);
    let withPages = 0;
    const onlyHere: string[] = [];
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      const want = loaderPages(bytes, f, 4096);
      const got = relocatedFilePages(bytes, f, 4096);
      if (want === undefined && got !== undefined) {
        // The loader also refuses damaged symbol, string and version tables, which relocation does not read.
        onlyHere.push(f);
        continue;
      }
      expect(got, f).toEqual(want);
      if (got && got.length > 0) withPages++;
    }
    if (onlyHere.length > 0)
      console.log(`scan-relocations: counted where the loader refuses the symbol tables: ${onlyHere.join(' ')}`);
    // Real programs and libraries are never among them.
    expect(onlyHere.filter((f) => f.startsWith('/usr/') || f.startsWith(SAMPLES))).toEqual([]);
    expect(withPages).toBeGreaterThanOrEqual(3);
  });

  it('a scan finds the same pages from the bytes it reads, whatever the chunk size', async () => {
    const files = [...elfFilesIn(SAMPLES), ...elfFilesIn('/usr/bin', 40)];
    for (const chunkBytes of [4096, 3 * 4096, undefined]) {
      const r = await scan(files, { relocations: true, ...(chunkBytes ? { chunkBytes } : {}) });
      // Hard links are scanned once, under the first path.
      expect(r.files.length + r.links.length).toBe(files.length);
      for (const f of r.files) {
        const want = relocatedFilePages(fs.readFileSync(f.path), f.path, 4096);
        expect(
          f.relocatedPages === null ? undefined : Array.from(f.relocatedPages!),
          `${f.path} ${chunkBytes}`,
        ).toEqual(want);
      }
    }
    const plain = await scan(files.slice(0, 2));
    expect(plain.files.every((f) => f.relocatedPages === undefined)).toBe(true);
  });

  it('damaged tables give no count (null), never a throw or a wild read', async () => {
    const hello = fs.readFileSync(path.join(SAMPLES, 'hello'));
    const good = relocatedFilePages(hello, 'hello', 4096);
    expect(good?.length).toBeGreaterThan(0);

    // DT_RELASZ far past the file.
    const huge = Buffer.from(hello);
    const relasz = dynamicEntries(huge).find((e) => e.tag === 8n);
    expect(relasz).toBeDefined();
    huge.writeBigUInt64LE(0x7fffffff00n, relasz!.at + 8);
    expect(relocatedFilePages(huge, 'huge', 4096)).toBeUndefined();

    // DT_JMPREL pointing outside every PT_LOAD.
    const wild = Buffer.from(hello);
    const jmprel = dynamicEntries(wild).find((e) => e.tag === 23n);
    expect(jmprel).toBeDefined();
    wild.writeBigUInt64LE(0x7ff000000000n, jmprel!.at + 8);
    expect(relocatedFilePages(wild, 'wild', 4096)).toBeUndefined();

    // Truncated: the writable PT_LOAD runs past the end.
    const cut = hello.subarray(0, hello.length - 4096);
    expect(relocatedFilePages(cut, 'cut', 4096)).toBeUndefined();

    // Not x86-64: e_machine changed.
    const arm = Buffer.from(hello);
    arm.writeUInt16LE(183, 18);
    expect(relocatedFilePages(arm, 'arm', 4096)).toBeUndefined();

    // The same damage through a scan: the file is scanned, its relocation count is null.
    const files = [huge, wild, cut].map((b, i) => {
      const p = path.join(dir, `damaged-${i}`);
      fs.writeFileSync(p, b);
      return p;
    });
    const r = await scan(files, { relocations: true, chunkBytes: 4096 });
    expect(r.files.map((f) => f.relocatedPages)).toEqual([null, null, null]);
  });
});
