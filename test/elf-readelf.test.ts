/**
 * The ELF reader against GNU readelf -hlSW, field by field: the ELF header
 * (with extended numbering resolved), every program header, every section
 * header with its name, type name and flag letters, the PT_INTERP path, and
 * the damage readelf reports. Files: the pyelftools corpus (ELF32/64, both
 * byte orders, 10+ architectures, deliberately broken files), the committed
 * hostile fixtures, and every ELF file under /usr/bin and
 * /usr/lib/x86_64-linux-gnu. A part whose input is missing is skipped with
 * the reason printed.
 */
import {
  closeSync,
  existsSync,
  writeFileSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ElfError } from '../src/errors.js';
import { parseElf } from '../src/elf/parse.js';
import type { ElfFile } from '../src/elf/types.js';
import { buildElf, type SynthSection } from './helpers/elf-synth.js';
import { readelfMachineNames, readelfVersion, runReadelf } from './helpers/readelf.js';
import { compareWithReadelf } from './helpers/readelf-compare.js';
import { pyelftoolsDir } from './helpers/shared.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readelf = readelfVersion();
const corpusDir = pyelftoolsDir();
const fixturesDir = join(root, 'test/fixtures/elf');
const systemDirs = ['/usr/bin', '/usr/lib/x86_64-linux-gnu'].filter((d) => existsSync(d));

if (!readelf) console.warn('elf-readelf: skipped, readelf is not installed (Debian package binutils)');
if (!corpusDir)
  console.warn('elf-readelf: pyelftools corpus skipped, ../shared/corpus/pyelftools not found (set PAGESTACK_SHARED)');
if (systemDirs.length < 2)
  console.warn('elf-readelf: system files skipped, /usr/bin or /usr/lib/x86_64-linux-gnu is missing');

const tmp = mkdtempSync(join(tmpdir(), 'pagestack-readelf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function hasElfMagic(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false; // unreadable: not ours to compare
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Regular ELF files under `dir`, recursively; symlinks are not followed, hard links counted once. */
function walkElfFiles(dir: string, seen: Set<string>, out: string[]): void {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) walkElfFiles(path, seen, out);
    else if (e.isFile()) {
      const st = lstatSync(path);
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key) || !hasElfMagic(path)) continue;
      seen.add(key);
      out.push(path);
    }
  }
}

interface Totals {
  files: number;
  fields: number;
  parsed: number;
  thrown: number;
  withReadelfDiagnostics: number;
  extraWarnings: Map<string, number>;
  mismatches: string[];
}

function parseOrError(file: string): ElfFile | ElfError {
  try {
    return parseElf(readFileSync(file), file);
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw e; // anything else is a bug the test must show
  }
}

async function compareFiles(files: string[]): Promise<Totals> {
  const reports = await runReadelf(files);
  const parsed = files.map((f) => [f, parseOrError(f)] as const);
  const machines = parsed.flatMap(([, e]) => (e instanceof ElfError ? [] : [e.header.machine]));
  const machineNames = await readelfMachineNames(machines, tmp);
  const totals: Totals = {
    files: files.length,
    fields: 0,
    parsed: 0,
    thrown: 0,
    withReadelfDiagnostics: 0,
    extraWarnings: new Map(),
    mismatches: [],
  };
  for (const [file, elf] of parsed) {
    const report = reports.get(file)!;
    const c = compareWithReadelf(elf, report, machineNames);
    totals.fields += c.fields;
    if (elf instanceof ElfError) totals.thrown++;
    else totals.parsed++;
    if (report.diagnostics.length) totals.withReadelfDiagnostics++;
    for (const code of c.extraWarnings) totals.extraWarnings.set(code, (totals.extraWarnings.get(code) ?? 0) + 1);
    for (const m of c.mismatches) totals.mismatches.push(`${file}: ${m}`);
  }
  return totals;
}

function report(name: string, t: Totals): void {
  const extra = [...t.extraWarnings].map(([c, n]) => `${c}×${n}`).join(', ') || 'none';
  console.log(
    `elf-readelf ${name}: ${t.files} files (${t.parsed} parsed, ${t.thrown} typed errors), ${t.fields} values compared with ${readelf}; ` +
      `${t.withReadelfDiagnostics} files with readelf diagnostics, all matched; pagestack-only warnings: ${extra}; mismatches: ${t.mismatches.length}`,
  );
}

describe('ELF reader equals readelf -hlSW', () => {
  it.skipIf(!readelf || !corpusDir)(
    'on every file of the pyelftools corpus (and its README, which is not ELF)',
    async () => {
      // Every file, README.md included: readelf and pagestack must agree that it is not ELF.
      const files = readdirSync(corpusDir!)
        .map((f) => join(corpusDir!, f))
        .sort();
      expect(files.length).toBeGreaterThanOrEqual(100);
      const t = await compareFiles(files);
      report('pyelftools', t);
      expect(t.mismatches.slice(0, 40)).toEqual([]);
      expect(t.fields).toBeGreaterThan(10_000);
    },
  );

  it.skipIf(!readelf || !existsSync(fixturesDir))('on every committed fixture, hostile ones included', async () => {
    const files = readdirSync(fixturesDir)
      .filter((f) => f.endsWith('.elf'))
      .map((f) => join(fixturesDir, f))
      .sort();
    expect(files.length).toBeGreaterThan(5);
    const t = await compareFiles(files);
    report('fixtures', t);
    expect(t.mismatches.slice(0, 40)).toEqual([]);
  });

  it.skipIf(!readelf || systemDirs.length < 2)(
    'on every ELF file under /usr/bin and /usr/lib/x86_64-linux-gnu',
    async () => {
      const files: string[] = [];
      const seen = new Set<string>();
      for (const d of systemDirs) walkElfFiles(d, seen, files);
      expect(files.length).toBeGreaterThan(100);
      const t = await compareFiles(files);
      report('system', t);
      expect(t.mismatches.slice(0, 40)).toEqual([]);
      expect(t.thrown).toBe(0);
    },
  );
});

// Every sh_type / p_type value readelf names specially, with neighbours and far-away values.
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const PROBE_SECTION_TYPES = [
  ...range(0, 24),
  ...range(0x60000000, 8),
  0x6fff4700,
  0x6fff4c03,
  ...range(0x6fffffec, 20),
  ...range(0x70000000, 0x30),
  ...range(0x7f000000, 8),
  0x7ffffffd,
  0x7fffffff,
  0x80000000,
  0x80000001,
  0xa0000000,
  0xffffffff,
];
const PROBE_SEGMENT_TYPES = [
  ...range(0, 10),
  ...range(0x60000000, 0x17),
  0x6464e550,
  ...range(0x6474e550, 8),
  0x6474f554,
  0x6474f555,
  ...range(0x65a3dbe5, 3),
  0x65a41be6,
  0x65041580,
  ...range(0x6ffffff6, 10),
  ...range(0x70000000, 5),
  0x7fffffff,
  0x80000000,
  0xffffffff,
];
const PROBE_FLAGS = [
  ...range(0, 64).map((bit) => 1n << BigInt(bit)),
  0x3n,
  0x6n,
  0x32n,
  0x0ff00000n,
  0xf0000000n,
  0x10000003n,
  0x0ff00001n,
  0x00300000n,
  0x01200000n,
  0xf0f00000n,
  0xffffffffn,
  0xffffffffffffffffn,
];
/** Machines with their own names or flag letters in readelf, and a few without. */
const PROBE_MACHINES = [
  0, 2, 3, 8, 10, 15, 20, 22, 36, 40, 45, 50, 62, 87, 93, 105, 140, 180, 181, 183, 195, 243, 250, 252, 258, 0x9080,
  0xa390,
];
const PROBE_OSABIS = [0, 1, 3, 6, 9, 13, 97];
const PROBE_ETYPES = [0, 1, 2, 3, 4, 5, 0xfe00, 0xfeff, 0xff00, 0xffff];

describe('names and flag letters equal readelf on synthetic files', () => {
  it.skipIf(!readelf)('every probed sh_type, p_type and sh_flags bit, per machine and OS ABI', async () => {
    const files: string[] = [];
    let n = 0;
    for (const machine of PROBE_MACHINES) {
      for (const osabi of PROBE_OSABIS) {
        const sections: SynthSection[] = [
          ...PROBE_SECTION_TYPES.map((type) => ({ name: `t${type.toString(16)}`, type })),
          ...PROBE_FLAGS.map((flags) => ({ name: `f${flags.toString(16)}`, type: 1, flags })),
        ];
        const cls = n % 3 === 2 ? 32 : 64;
        const { bytes } = buildElf({
          cls,
          data: n % 2 ? 'msb' : 'lsb',
          machine,
          osabi,
          type: PROBE_ETYPES[n % PROBE_ETYPES.length],
          entry: cls === 64 ? 0xffffffff81000000n + BigInt(n) : 0x8048000n + BigInt(n),
          segments: PROBE_SEGMENT_TYPES.map((type, i) => ({
            type,
            flags: i & 7,
            offset: BigInt(i),
            vaddr: cls === 64 ? 0xfffffffffffff000n - BigInt(i) * 0x1000n : 0xfffff000n - BigInt(i),
            filesz: 0x10n,
            memsz: 0x20n + BigInt(i),
            align: 1n << BigInt(i % 32),
          })),
          sections,
        });
        const f = join(tmp, `probe-${machine}-${osabi}.elf`);
        writeFileSync(f, bytes);
        files.push(f);
        n++;
      }
    }
    const t = await compareFiles(files);
    report('synthetic names', t);
    expect(t.mismatches.slice(0, 40)).toEqual([]);
    expect(t.fields).toBeGreaterThan(files.length * (PROBE_SECTION_TYPES.length + PROBE_FLAGS.length) * 10);
  });
});

describe('extended numbering at scale equals readelf', () => {
  it.skipIf(!readelf)('70,000 sections: e_shnum 0 and e_shstrndx SHN_XINDEX resolved through section 0', async () => {
    const count = 70_000;
    const sections: SynthSection[] = Array.from({ length: count }, (_, i) => ({
      name: `.s${i}`,
      type: 1,
      flags: 2n,
      addr: BigInt(i) << 12n,
    }));
    const { bytes, shoff } = buildElf({ type: 1, sections });
    const view = new DataView(bytes.buffer);
    const total = count + 2; // NULL + user sections + .shstrtab
    view.setBigUint64(shoff + 32, BigInt(total), true); // section 0 sh_size = section count
    view.setUint32(shoff + 40, total - 1, true); // section 0 sh_link = .shstrtab index
    view.setUint16(60, 0, true); // e_shnum = 0
    view.setUint16(62, 0xffff, true); // e_shstrndx = SHN_XINDEX
    const f = join(tmp, 'many-sections.elf');
    writeFileSync(f, bytes);
    const elf = parseElf(bytes, f);
    expect(elf.header.shnum).toBe(total);
    expect(elf.header.shstrndx).toBe(total - 1);
    expect(elf.sections[count]!.name).toBe(`.s${count - 1}`);
    expect(elf.warnings).toEqual([]);
    const t = await compareFiles([f]);
    report('extended numbering', t);
    expect(t.mismatches.slice(0, 20)).toEqual([]);
    expect(t.fields).toBeGreaterThan(count * 10);
  });
});
