/**
 * ELF structure read page by page (member-elf.ts, for container members)
 * equals what the scanner reads from the file on disk: same PT_LOAD
 * segments, sections and warnings, on samples/bin, the hostile ELF
 * fixtures and, when present, the pyelftools corpus; and only the pages
 * holding headers and tables are read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memberElf, type PageReader } from '../src/report/member-elf.js';
import { scan } from '../src/scan/index.js';
import { pyelftoolsDir } from './helpers/shared.js';

const ROOT = path.resolve(__dirname, '..');
const PS = 4096;

function pageReader(file: string, counter?: { pages: Set<number> }): PageReader {
  const bytes = fs.readFileSync(file);
  return (page, into) => {
    counter?.pages.add(page);
    into.fill(0);
    bytes.copy(into, 0, page * PS, Math.min((page + 1) * PS, bytes.length));
  };
}

async function compareWithScan(paths: string[]): Promise<number> {
  const result = await scan(paths, { allFiles: true });
  for (const f of result.files) {
    const m = memberElf(pageReader(f.path), f.size, PS, f.path);
    expect({ path: f.path, elf: m.elf, segments: m.segments, sections: m.sections, warnings: m.warnings }).toEqual({
      path: f.path,
      elf: f.elf,
      segments: f.segments.map((s) => ({ ...s, zeroPages: 0, newPages: 0, duplicatePages: 0, sharedPages: 0 })),
      sections: f.sections,
      warnings: f.warnings,
    });
  }
  return result.files.length;
}

describe('ELF structure read page by page', () => {
  it('samples/bin: equal to the scan of the files', async () => {
    expect(await compareWithScan([path.join(ROOT, 'samples', 'bin')])).toBeGreaterThan(5);
  });

  it('hostile ELF fixtures: same structure and the same warnings', async () => {
    const dir = path.join(ROOT, 'test', 'fixtures', 'elf');
    const files = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.elf'))
      .map((n) => path.join(dir, n));
    expect(await compareWithScan(files)).toBe(files.length);
  });

  it.skipIf(!pyelftoolsDir())('the pyelftools corpus: equal to the scan', async () => {
    expect(await compareWithScan([pyelftoolsDir()!])).toBeGreaterThan(10);
  });

  it('reads only the pages holding the headers and tables', () => {
    const file = path.join(ROOT, 'samples', 'bin', 'hello-2m');
    const size = fs.statSync(file).size;
    const counter = { pages: new Set<number>() };
    const m = memberElf(pageReader(file, counter), size, PS, file);
    expect(m.sections.map((s) => s.name)).toContain('.text');
    expect(counter.pages.size).toBeLessThan(5);
    expect(Math.ceil(size / PS)).toBeGreaterThan(1000);
  });

  it('a file without the ELF magic has no structure and no warning', () => {
    const m = memberElf((_, into) => into.fill(0x41), 10_000, PS, 'text');
    expect(m).toEqual({ elf: null, segments: [], sections: [], warnings: [] });
  });
});
