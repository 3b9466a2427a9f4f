/**
 * The quick ELF read (src/elf/quick.ts) against parseElf: whenever quickElf
 * answers, parseElf must read the same file without a single warning, with
 * the same ELF header and program headers, and the sections it decodes must
 * equal parseElf's sections with file bytes (src/elf/layout.ts's ranges).
 * Checked on the samples, the pyelftools corpus (many machines, both
 * classes and byte orders), the hostile fixtures, part of /usr/bin, and
 * thousands of mutants of real files (random bytes written into the ELF
 * header and the tables). Each file is read twice: whole, and with only its
 * first 4 KiB at hand (the rest through the read callback, as the scanner
 * reads files larger than one chunk).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ElfError } from '../src/errors.js';
import { sectionFileRange } from '../src/elf/layout.js';
import { parseElf } from '../src/elf/parse.js';
import { quickElf, quickSections, type QuickElf } from '../src/elf/quick.js';
import type { ElfFile } from '../src/elf/types.js';
import { hostileFixtures } from './helpers/elf-hostile.js';
import { pyelftoolsDir } from './helpers/shared.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const PYELFTOOLS = pyelftoolsDir();
if (!PYELFTOOLS) console.warn('elf-quick: no shared/corpus/pyelftools, that corpus is not checked');
const USR_BIN = '/usr/bin';
const usrBin = fs.existsSync(USR_BIN);
if (!usrBin) console.warn('elf-quick: no /usr/bin, its files are not checked');

function filesIn(dir: string, limit = Infinity): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (out.length >= limit) break;
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    if (!st.isFile() || st.size < 4 || st.size > 64 << 20) continue;
    const fd = fs.openSync(p, 'r');
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    if (magic.toString('latin1') === '\x7fELF') out.push(p);
  }
  return out;
}

function fullParse(bytes: Uint8Array, name: string): ElfFile | undefined {
  try {
    return parseElf(bytes, name);
  } catch (err) {
    if (err instanceof ElfError) return undefined;
    throw err;
  }
}

/** quickElf with the whole file at hand, and with only its first 4 KiB (the rest read on demand). */
function quickBoth(bytes: Uint8Array, name: string): [QuickElf | undefined, QuickElf | undefined] {
  const read = (offset: number, length: number) =>
    offset + length <= bytes.length ? bytes.slice(offset, offset + length) : undefined;
  return [
    quickElf(bytes, bytes.length, read, name),
    quickElf(bytes.subarray(0, Math.min(bytes.length, 4096)), bytes.length, read, name),
  ];
}

/**
 * Checks one file; returns whether quickElf answered. Throws (through expect)
 * when quickElf answers for a file parseElf warns about, or answers differently.
 */
function check(bytes: Uint8Array, name: string): boolean {
  const full = fullParse(bytes, name);
  const [whole, headOnly] = quickBoth(bytes, name);
  expect(headOnly === undefined, `${name}: the same answer with the whole file and with its head`).toBe(
    whole === undefined,
  );
  if (!whole) return false;
  expect(full, `${name}: quickElf answered where parseElf throws`).toBeDefined();
  expect(full!.warnings, `${name}: quickElf answered where parseElf warns`).toEqual([]);
  expect(whole.header, name).toEqual(full!.header);
  expect(whole.programHeaders, name).toEqual(full!.programHeaders);
  const expected = full!.sections.flatMap((s) => {
    const r = sectionFileRange(s, bytes.length);
    return r ? [{ index: s.index, name: s.name, type: s.type, offset: r.start, size: r.end - r.start }] : [];
  });
  expect(quickSections(whole, bytes.length), name).toEqual(expected);
  expect(quickSections(headOnly!, bytes.length), name).toEqual(expected);
  // Clipped to a shorter file (one that shrank while it was read): the same clipping as layout.ts.
  const shorter = Math.floor(bytes.length / 2);
  const clipped = full!.sections.flatMap((s) => {
    const r = sectionFileRange(s, shorter);
    return r ? [{ index: s.index, name: s.name, type: s.type, offset: r.start, size: r.end - r.start }] : [];
  });
  expect(quickSections(whole, shorter), name).toEqual(clipped);
  return true;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('quickElf', () => {
  it('answers for every clean sample, exactly as parseElf', () => {
    let answered = 0;
    for (const file of filesIn(SAMPLES)) {
      const bytes = new Uint8Array(fs.readFileSync(file));
      const clean = fullParse(bytes, file)?.warnings.length === 0;
      const ok = check(bytes, file);
      // The quick read is the one the scanner uses on clean files: it must not fall back for them.
      if (clean) expect(ok, `${file}: clean, yet quickElf fell back to parseElf`).toBe(true);
      if (ok) answered++;
    }
    expect(answered).toBeGreaterThan(3);
  });

  it.skipIf(!PYELFTOOLS)('is parseElf or nothing on the pyelftools corpus', () => {
    let answered = 0;
    let files = 0;
    for (const file of filesIn(PYELFTOOLS!)) {
      files++;
      if (check(new Uint8Array(fs.readFileSync(file)), file)) answered++;
    }
    console.log(`elf-quick: pyelftools corpus: quick read for ${answered} of ${files} ELF files`);
    expect(answered).toBeGreaterThan(files / 4);
  });

  it.skipIf(!usrBin)('is parseElf on files of /usr/bin', () => {
    let answered = 0;
    const files = filesIn(USR_BIN, 60);
    for (const file of files) if (check(new Uint8Array(fs.readFileSync(file)), file)) answered++;
    expect(answered).toBeGreaterThan(files.length / 2);
  });

  it('never answers for a hostile fixture parseElf warns about or refuses', () => {
    const tiny64 = new Uint8Array(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'elf', 'tiny64.elf')));
    for (const f of hostileFixtures(tiny64)) check(f.bytes, f.name);
  });

  it('is parseElf or nothing on mutants of real files (bytes written into the header and tables)', () => {
    const next = random(0x5ca7);
    const bases = ['hello', 'static-pie', 'tables'].map((n) => new Uint8Array(fs.readFileSync(path.join(SAMPLES, n))));
    let answered = 0;
    let fellBack = 0;
    for (let round = 0; round < 1500; round++) {
      const base = bases[round % bases.length]!;
      const bytes = base.slice();
      const full = parseElf(base, 'base');
      const h = full.header;
      const shstr = full.sections[h.shstrndx];
      // Where the quick read looks: ELF header, program headers, section headers, section names.
      const regions: Array<[number, number]> = [
        [0, 64],
        [Number(h.phoff), h.phnum * h.phentsize],
        [Number(h.shoff), h.shnum * h.shentsize],
        ...(shstr ? [[Number(shstr.offset), Number(shstr.size)] as [number, number]] : []),
      ];
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const [start, length] = regions[Math.floor(next() * regions.length)]!;
        const at = start + Math.floor(next() * length);
        const kind = next();
        if (kind < 0.5) bytes[at] = Math.floor(next() * 256);
        else if (kind < 0.8) bytes[at] = (bytes[at] ?? 0) ^ (1 << Math.floor(next() * 8));
        else {
          // A small value into a 32-bit field's place (counts, indexes, sizes).
          const v = Math.floor(next() * 64);
          new DataView(bytes.buffer).setUint32(at & ~3, v, true);
        }
      }
      const cut = next() < 0.1 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
      if (check(cut, `mutant ${round}`)) answered++;
      else fellBack++;
    }
    // Both outcomes occur: mutants that stay clean take the quick read, damaged ones fall back.
    expect(answered).toBeGreaterThan(50);
    expect(fellBack).toBeGreaterThan(50);
  });
});
