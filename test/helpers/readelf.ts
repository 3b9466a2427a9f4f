/**
 * GNU readelf as an oracle: runs `readelf -hlSW` on many files per
 * invocation and parses its per-file text back into fields.
 *
 * With several files readelf starts each ELF file's block with "File: NAME";
 * a file it cannot open as ELF gets one diagnostic line naming it instead
 * ("readelf: Error: NAME: Failed to read file header"). readelf flushes stdout
 * before every diagnostic, so stdout and stderr are merged into one pipe and
 * diagnostics stay next to the structure they are about. Output is read as
 * latin1 so every byte of a section name survives. LC_ALL=C keeps messages
 * and name escaping stable.
 *
 * Numbers come back as bigint, exactly as printed (readelf prints 64-bit
 * values in full in -W mode). Program header types are the first 14
 * characters of readelf's name (its column is "%-14.14s").
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildElf } from './elf-synth.js';

export interface ReadelfHeader {
  /** e_ident, from the "Magic:" line. */
  ident: number[];
  classText: string;
  dataText: string;
  typeText: string;
  machineText: string;
  osabiText: string;
  version: bigint;
  entry: bigint;
  phoff: bigint;
  shoff: bigint;
  flags: bigint;
  ehsize: number;
  phentsize: number;
  /** "Number of program headers: 65535 (70000)" → raw 65535, resolved 70000. */
  phnumRaw: number;
  phnum: number;
  shentsize: number;
  shnumRaw: number;
  shnum: number;
  shstrndxRaw: number;
  shstrndx: number;
  /** readelf appended " <corrupt: out of range>" to the string table index. */
  shstrndxCorrupt: boolean;
}

export interface ReadelfSegment {
  /** readelf's type name, cut to 14 characters. */
  type: string;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  /** "RWE" columns, e.g. "R E", "RW ". */
  flags: string;
  align: bigint;
  /** "[Requesting program interpreter: ...]" printed under a PT_INTERP line. */
  interpreter?: string;
}

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  addr: bigint;
  offset: bigint;
  size: bigint;
  entsize: bigint;
  flags: string;
  link: number;
  info: number;
  addralign: bigint;
}

export interface ReadelfReport {
  file: string;
  /** "Error: ..." and "Warning: ..." lines, without the "readelf: " prefix. */
  diagnostics: string[];
  header?: ReadelfHeader;
  /** Undefined when readelf printed no program header table. */
  segments?: ReadelfSegment[];
  /** Undefined when readelf printed no section header table. */
  sections?: ReadelfSection[];
  /** "There are no program headers in this file." */
  saysNoSegments: boolean;
  /** "There are no sections in this file." */
  saysNoSections: boolean;
  /** Lines the parser did not understand inside a table (a test should expect none). */
  unparsed: string[];
}

/** The readelf version line, or undefined when readelf cannot be run. */
export function readelfVersion(): string | undefined {
  try {
    return execFileSync('readelf', ['--version'], { encoding: 'latin1' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

/** The merged stdout+stderr text of one `readelf -hlSW FILES...` run (in `cwd` when given). */
export function runReadelfText(files: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // `sh -c '... 2>&1'` merges the two streams into one pipe in readelf's own order.
    execFile(
      'sh',
      ['-c', 'exec readelf -hlSW -- "$@" 2>&1', 'readelf', ...files],
      { encoding: 'latin1', maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' }, cwd },
      (err, stdout) => {
        // readelf exits 1 when any file had an error; the text is still complete.
        if (err && typeof (err as { code?: unknown }).code !== 'number') reject(err);
        else resolve(stdout);
      },
    );
  });
}

/** Runs readelf on `files`, `batch` files per process, `parallel` processes at a time. */
export async function runReadelf(files: string[], batch = 150, parallel = 2): Promise<Map<string, ReadelfReport>> {
  const out = new Map<string, ReadelfReport>();
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batch) batches.push(files.slice(i, i + batch));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const mine = batches[next++]!;
      const text = await runReadelfText(mine);
      for (const [k, v] of parseReadelfOutput(text, mine)) out.set(k, v);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, batches.length) }, worker));
  return out;
}

const DIAGNOSTIC = /^readelf: (Error|Warning): (.*)$/;
/** readelf 2.40 prints this warning without a newline, so the next output line is glued to it. */
const UNTERMINATED = /^(readelf: Warning: \[\s*\d+\]: Expected link to another section in info field)(.+)$/;

function splitUnterminated(line: string): string[] {
  const m = UNTERMINATED.exec(line);
  return m ? [m[1]!, m[2]!] : [line];
}

function emptyReport(file: string): ReadelfReport {
  return { file, diagnostics: [], saysNoSegments: false, saysNoSections: false, unparsed: [] };
}

/** Splits the text of one `readelf -hlSW f1 f2 ...` run into per-file reports. */
export function parseReadelfOutput(text: string, files: string[]): Map<string, ReadelfReport> {
  const reports = new Map<string, ReadelfReport>();
  for (const f of files) reports.set(f, emptyReport(f));
  const lines = text.split('\n').flatMap(splitUnterminated);
  const single = files.length === 1;
  let current: ReadelfReport | undefined = single ? reports.get(files[0]!) : undefined;
  let block: string[] = [];
  const flush = () => {
    if (current && block.length) parseBlock(block, current);
    block = [];
  };
  for (const line of lines) {
    if (!single && line.startsWith('File: ') && reports.has(line.slice(6))) {
      flush();
      current = reports.get(line.slice(6));
      continue;
    }
    const d = DIAGNOSTIC.exec(line);
    if (d && !single) {
      // A file readelf could not open as ELF gets one line naming it and no block.
      const named = files.find((f) => d[2]!.startsWith(`${f}: `));
      if (named !== undefined && reports.get(named) !== current) {
        reports.get(named)!.diagnostics.push(`${d[1]}: ${d[2]!.slice(named.length + 2)}`);
        continue;
      }
    }
    block.push(line);
  }
  flush();
  return reports;
}

type Section = 'none' | 'header' | 'sections' | 'segments' | 'mapping';

function parseBlock(lines: string[], report: ReadelfReport): void {
  let where: Section = 'none';
  let addressDigits = 16;
  const header: Partial<ReadelfHeader> & { versionSeen?: boolean } = {};
  for (const line of lines) {
    const d = DIAGNOSTIC.exec(line);
    if (d) {
      report.diagnostics.push(`${d[1]}: ${d[2]}`);
      continue;
    }
    if (line === 'ELF Header:') {
      where = 'header';
      continue;
    }
    if (line === 'Section Headers:' || line === 'Section Header:') {
      where = 'sections';
      report.sections = [];
      continue;
    }
    if (line === 'Program Headers:') {
      where = 'segments';
      report.segments = [];
      continue;
    }
    if (line === ' Section to Segment mapping:') {
      where = 'mapping';
      continue;
    }
    if (line.includes('There are no program headers in this file.')) report.saysNoSegments = true;
    if (line.includes('There are no sections in this file.')) report.saysNoSections = true;
    if (line === '' || line.startsWith('Key to Flags:')) {
      where = 'none';
      continue;
    }
    switch (where) {
      case 'header':
        parseHeaderLine(line, header);
        break;
      case 'sections':
        if (line.startsWith('  [Nr]')) {
          addressDigits = line.includes(' Address ') ? 16 : 8;
        } else {
          const s = parseSectionLine(line, addressDigits);
          if (s) report.sections!.push(s);
          else report.unparsed.push(line);
        }
        break;
      case 'segments':
        if (line.startsWith('  Type ')) break;
        if (line.startsWith('      [Requesting program interpreter: ') && line.endsWith(']')) {
          const last = report.segments![report.segments!.length - 1];
          if (last) last.interpreter = line.slice('      [Requesting program interpreter: '.length, -1);
          break;
        }
        {
          const p = parseSegmentLine(line);
          if (p) report.segments!.push(p);
          else report.unparsed.push(line);
        }
        break;
      default:
        break;
    }
  }
  if (header.ident) report.header = header as ReadelfHeader;
}

/** The number a header value starts with. readelf prints e_phoff/e_shoff as signed decimals ("-256"), so wrap to 64 bits. */
function firstNumber(value: string): bigint {
  const m = /^(0x[0-9a-f]+|-?\d+)/.exec(value);
  if (!m) throw new Error(`readelf helper: no number in "${value}"`);
  return BigInt.asUintN(64, BigInt(m[1]!));
}

/** "65535 (70000)" → [65535, 70000]; "31" → [31, 31]. */
function rawAndResolved(value: string): [number, number] {
  const m = /^(\d+)(?: \((\d+)\))?/.exec(value);
  if (!m) throw new Error(`readelf helper: no count in "${value}"`);
  const raw = Number(m[1]);
  return [raw, m[2] !== undefined ? Number(m[2]) : raw];
}

function parseHeaderLine(line: string, h: Partial<ReadelfHeader> & { versionSeen?: boolean }): void {
  const colon = line.indexOf(':');
  if (colon < 0) return;
  const label = line.slice(0, colon).trim();
  const value = line.slice(colon + 1).trim();
  switch (label) {
    case 'Magic':
      h.ident = value.split(/\s+/).map((b) => parseInt(b, 16));
      break;
    case 'Class':
      h.classText = value;
      break;
    case 'Data':
      h.dataText = value;
      break;
    case 'Version':
      // The first "Version:" is EI_VERSION ("1 (current)"), the second e_version ("0x1").
      if (h.versionSeen) h.version = firstNumber(value);
      h.versionSeen = true;
      break;
    case 'OS/ABI':
      h.osabiText = value;
      break;
    case 'Type':
      h.typeText = value;
      break;
    case 'Machine':
      h.machineText = value;
      break;
    case 'Entry point address':
      h.entry = firstNumber(value);
      break;
    case 'Start of program headers':
      h.phoff = firstNumber(value);
      break;
    case 'Start of section headers':
      h.shoff = firstNumber(value);
      break;
    case 'Flags':
      h.flags = firstNumber(value);
      break;
    case 'Size of this header':
      h.ehsize = Number(firstNumber(value));
      break;
    case 'Size of program headers':
      h.phentsize = Number(firstNumber(value));
      break;
    case 'Number of program headers':
      [h.phnumRaw, h.phnum] = rawAndResolved(value);
      break;
    case 'Size of section headers':
      h.shentsize = Number(firstNumber(value));
      break;
    case 'Number of section headers':
      [h.shnumRaw, h.shnum] = rawAndResolved(value);
      break;
    case 'Section header string table index':
      [h.shstrndxRaw, h.shstrndx] = rawAndResolved(value);
      h.shstrndxCorrupt = value.includes('<corrupt: out of range>');
      break;
    default:
      break;
  }
}

// readelf's section type names that contain spaces; every other name is one word.
const SPACED_TYPE =
  /^(.*?) (SYMTAB SECTION INDICES|V850 (?:Small|Tiny|Zero) Common|RENESAS (?:IOP|INFO)|[0-9a-f]{8}: <unknown>|\S+)$/;

function parseSectionLine(line: string, addressDigits: number): ReadelfSection | undefined {
  const re = new RegExp(
    `^  \\[\\s*(\\d+)\\] (.*) ([0-9a-f]{${addressDigits}}) ([0-9a-f]{6,16}) ([0-9a-f]{6,16}) ([0-9a-f]{2,16}) +([A-Za-z]*) +(\\d+) +(\\d+) +(\\d+)$`,
  );
  const m = re.exec(line);
  if (!m) return undefined;
  const nt = SPACED_TYPE.exec(m[2]!.trimEnd());
  if (!nt) return undefined;
  return {
    index: Number(m[1]),
    name: nt[1]!.trimEnd(),
    type: nt[2]!,
    addr: BigInt(`0x${m[3]}`),
    offset: BigInt(`0x${m[4]}`),
    size: BigInt(`0x${m[5]}`),
    entsize: BigInt(`0x${m[6]}`),
    flags: m[7]!,
    link: Number(m[8]),
    info: Number(m[9]),
    addralign: BigInt(m[10]!),
  };
}

const SEGMENT_FIELDS = /^0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) (0x[0-9a-f]+|0)$/;

function parseSegmentLine(line: string): ReadelfSegment | undefined {
  if (!line.startsWith('  ') || line[16] !== ' ') return undefined;
  const m = SEGMENT_FIELDS.exec(line.slice(17));
  if (!m) return undefined;
  return {
    type: line.slice(2, 16).trimEnd(),
    offset: BigInt(`0x${m[1]}`),
    vaddr: BigInt(`0x${m[2]}`),
    paddr: BigInt(`0x${m[3]}`),
    filesz: BigInt(`0x${m[4]}`),
    memsz: BigInt(`0x${m[5]}`),
    flags: m[6]!,
    align: BigInt(m[7]!),
  };
}

/**
 * readelf's "Machine:" text for each e_machine value, learnt by running
 * readelf on one tiny synthetic file per value (so the comparison needs no
 * copy of readelf's machine table).
 */
export async function readelfMachineNames(machines: Iterable<number>, tmpDir: string): Promise<Map<number, string>> {
  const files: string[] = [];
  const byFile = new Map<string, number>();
  for (const m of new Set(machines)) {
    const f = join(tmpDir, `machine-${m}.elf`);
    writeFileSync(f, buildElf({ machine: m, noSections: true }).bytes);
    files.push(f);
    byFile.set(f, m);
  }
  const out = new Map<number, string>();
  for (const [f, report] of await runReadelf(files)) {
    if (report.header) out.set(byFile.get(f)!, report.header.machineText);
  }
  return out;
}
