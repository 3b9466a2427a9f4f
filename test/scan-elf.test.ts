/**
 * Segment and section attribution of pages against readelf: for every page
 * of the samples and of readelf-clean files of the pyelftools corpus (many
 * architectures, ELF32 and ELF64, both byte orders), the PT_LOAD segments
 * that map it and the sections that overlap it, computed here from
 * `readelf -lSW`'s tables, must equal what the scanner says.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describePage, scan } from '../src/scan/index.js';
import { pyelftoolsDir } from './helpers/shared.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const PYELFTOOLS = pyelftoolsDir();

const readelfOk = spawnSync('readelf', ['--version']).status === 0;
if (!readelfOk) console.warn('skipping attribution tests: readelf is not installed');
if (!PYELFTOOLS)
  console.warn(
    'skipping attribution on the pyelftools corpus: no shared/corpus/pyelftools ($PAGESTACK_SHARED, ../shared or ../../shared)',
  );

interface ReadelfLoad {
  offset: bigint;
  filesz: bigint;
  perms: string;
}
interface ReadelfSection {
  name: string;
  type: string;
  offset: bigint;
  size: bigint;
}

/** LOAD segments and sections from `readelf -lSW`, or undefined when readelf reports any problem. */
function readelf(file: string): { loads: ReadelfLoad[]; sections: ReadelfSection[] } | undefined {
  const r = spawnSync('readelf', ['-lSW', file], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0 || r.stderr.trim() !== '') return undefined;
  const loads: ReadelfLoad[] = [];
  const sections: ReadelfSection[] = [];
  for (const line of r.stdout.split('\n')) {
    const load =
      /^\s*LOAD\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+([RWE ]{3})\s+0x[0-9a-f]+\s*$/.exec(
        line,
      );
    if (load) {
      const f = load[3]!;
      loads.push({
        offset: BigInt(load[1]!),
        filesz: BigInt(load[2]!),
        perms: `${f.includes('R') ? 'r' : '-'}${f.includes('W') ? 'w' : '-'}${f.includes('E') ? 'x' : '-'}`,
      });
      continue;
    }
    const sec = /^\s*\[\s*(\d+)\]\s(.*?)\s+(\S+)\s+([0-9a-f]{8,16})\s+([0-9a-f]{6,})\s+([0-9a-f]{6,})\s/.exec(line);
    if (sec) {
      sections.push({
        name: sec[2]!.trim(),
        type: sec[3]!.trim(),
        offset: BigInt(`0x${sec[5]}`),
        size: BigInt(`0x${sec[6]}`),
      });
    }
  }
  return { loads, sections };
}

function expectedPlace(
  tables: { loads: ReadelfLoad[]; sections: ReadelfSection[] },
  page: number,
  pageSize: number,
  fileSize: number,
) {
  const ps = BigInt(pageSize);
  const filePages = BigInt(Math.ceil(fileSize / pageSize));
  const p = BigInt(page);
  const perms = tables.loads
    .filter((l) => l.filesz > 0n && l.offset / ps <= p && p < (l.offset + l.filesz + ps - 1n) / ps && p < filePages)
    .map((l) => l.perms);
  const start = p * ps;
  const end = start + ps;
  const sections = tables.sections
    .filter(
      (s) =>
        s.type !== 'NOBITS' &&
        s.type !== 'NULL' &&
        s.size > 0n &&
        s.offset < end &&
        s.offset + s.size > start &&
        s.offset < BigInt(fileSize),
    )
    .map((s) => s.name);
  return { perms, sections };
}

function corpusFiles(): string[] {
  const out = fs.readdirSync(SAMPLES).map((n) => path.join(SAMPLES, n));
  if (PYELFTOOLS) {
    for (const n of fs.readdirSync(PYELFTOOLS).sort()) {
      const p = path.join(PYELFTOOLS, n);
      const head = Buffer.alloc(4);
      const fd = fs.openSync(p, 'r');
      fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      if (head.toString('latin1') === '\x7fELF') out.push(p);
    }
  }
  return out;
}

describe.skipIf(!readelfOk)('page attribution equals readelf', () => {
  for (const pageSize of [4096, 65536]) {
    it(`segments and sections of every page, at ${pageSize / 1024} KiB pages`, async () => {
      const files = corpusFiles();
      const result = await scan(files, { pageSize });
      let checkedFiles = 0;
      let pagesInTwoSegments = 0;
      result.files.forEach((file, fileIndex) => {
        const tables = readelf(file.path);
        if (!tables) return; // readelf itself reports damage: attribution is not comparable
        checkedFiles++;
        for (let page = 0; page < file.pages; page++) {
          const got = describePage(result, fileIndex, page);
          const want = expectedPlace(tables, page, pageSize, file.size);
          expect({ file: file.path, page, perms: got.perms, sections: got.sections }).toEqual({
            file: file.path,
            page,
            ...want,
          });
          if (got.perms.length > 1) pagesInTwoSegments++;
        }
      });
      expect(checkedFiles).toBeGreaterThanOrEqual(PYELFTOOLS ? 60 : 7);
      // The last page of text is the first of data somewhere in the samples.
      expect(pagesInTwoSegments).toBeGreaterThan(0);
    });
  }

  it('names a known page: the .rodata tables of samples/bin/tables are read-only and shared', async () => {
    const result = await scan([path.join(SAMPLES, 'tables'), path.join(SAMPLES, 'tables2')]);
    const tables = readelf(path.join(SAMPLES, 'tables'))!;
    const rodata = tables.sections.find((s) => s.name === '.rodata')!;
    const page = Number(rodata.offset / 4096n) + 1;
    const place = describePage(result, 0, page);
    expect(place).toMatchObject({ perms: ['r--'], sections: ['.rodata'] });
    const id = result.files[0]!.contentIds[page]!;
    expect(result.contents.pages[id]).toBeGreaterThan(1);
  });
});
