/**
 * Compares one file as pagestack parsed it with the same file as readelf
 * printed it. Returns the mismatches (empty when they agree) and how many
 * field values were compared.
 *
 * Damage: every readelf diagnostic is classified (DIAGNOSTICS below) and
 * must be matched by a pagestack warning of one of the listed codes, or by a
 * thrown ElfError. A table readelf did not print must be absent from
 * pagestack's result and explained by a warning; a table pagestack dropped
 * with a warning is not compared entry by entry (readelf may print entries
 * that its own diagnostics say are wrong).
 */
import { ElfError } from '../../src/errors.js';
import { sectionFlagsString, sectionTypeName, segmentTypeName } from '../../src/elf/index.js';
import type { ElfFile, SectionHeader } from '../../src/elf/types.js';
import type { ReadelfReport } from './readelf.js';

export interface Comparison {
  mismatches: string[];
  fields: number;
  /** pagestack warning codes that no readelf diagnostic of this file accounts for (all in READELF_SILENT_CODES, or a mismatch). */
  extraWarnings: string[];
}

const THROWN = 'thrown ElfError';

/** readelf's messages about damage, and the pagestack warning codes that report the same damage. */
const DIAGNOSTICS: Array<[RegExp, string[]]> = [
  [/Not an ELF file|Failed to read file header|Failed to read file's magic number/, [THROWN]],
  [/extends past end of file for section headers/, ['E_ELF_SHDRS', 'E_ELF_XNUM']],
  [/extends past end of file for program headers|Too many program headers/, ['E_ELF_PHDRS', 'E_ELF_XNUM']],
  [/e_shentsize field in the ELF header is (less|larger) than/, ['E_ELF_SHENTSIZE']],
  [/e_phentsize field in the ELF header is (less|larger) than/, ['E_ELF_PHENTSIZE']],
  [/non-zero section header offset, but no section headers/, ['E_ELF_SHOFF', 'E_ELF_XNUM', 'E_ELF_SHDRS']],
  [/non-zero program header offset, but no program headers/, ['E_ELF_PHOFF']],
  [
    /out of range sh_link value|Link field \(\d+\) should index|Unexpected value \(\d+\) in link field|sh_link value of \d+ is larger than/,
    ['E_ELF_SHLINK'],
  ],
  [
    /out of range sh_info value|Info field \(\d+\) should index|Unexpected value \(\d+\) in info field|Expected link to another section in info field/,
    ['E_ELF_SHINFO'],
  ],
  [
    /Section \d+ has invalid sh_entsize of|\(Using the expected size of \w+ for the rest of this dump\)/,
    ['E_ELF_SECTION_ENTSIZE'],
  ],
  [/Size of section \d+ is larger than the entire file/, ['E_ELF_SECTION_SIZE']],
  [
    /extends past end of file for (symbols|dynamic strings|string table)/,
    ['E_ELF_SECTION_RANGE', 'E_ELF_SECTION_SIZE', 'E_ELF_SHSTRTAB'],
  ],
  [/File contains multiple dynamic symbol tables/, ['E_ELF_DYNSYM']],
  [/File contains multiple dynamic string tables/, ['E_ELF_DYNSTR']],
  [
    /no \.dynamic section in the dynamic segment|more than one dynamic segment|dynamic segment offset \+ size exceeds/,
    ['E_ELF_DYNAMIC'],
  ],
  [/Unable to (find|read) program interpreter name/, ['E_ELF_INTERP']],
  [/the PHDR segment/, ['E_ELF_PHDR']],
  [/the segment's file size is larger than its memory size/, ['E_ELF_SEGMENT_SIZE']],
];

/** pagestack warnings readelf gives no diagnostic for (it prints "<corrupt>", "<no-strings>" or nothing instead). */
export const READELF_SILENT_CODES = new Set([
  'E_ELF_SHENTSIZE', // e_shentsize 0: readelf silently prints no section table
  'E_ELF_PHENTSIZE', // e_phentsize 0: same for program headers
  'E_ELF_SHNAME', // readelf prints "<corrupt>" for the name
  'E_ELF_SHSTRTAB', // readelf prints "<no-strings>" (or reads a NOBITS table's stale bytes)
  'E_ELF_SHSTRNDX', // readelf appends "<corrupt: out of range>" to the header line
  'E_ELF_SECTION_RANGE', // readelf -S does not check section bytes against the file size
  'E_ELF_SEGMENT_RANGE', // readelf -l does not check PT_LOAD bytes against the file size
  'E_ELF_SHLINK', // readelf checks sh_link > e_shnum on ELF64, pagestack >= e_shnum
  'E_ELF_PHDRS', // e_phoff 0 with e_phnum set: readelf reads the ELF header as program headers
  'E_ELF_SHDRS', // e_shoff 0 with e_shnum set: readelf silently prints no section table
  'E_ELF_TABLE_OVERLAP', // readelf does not check where the tables lie
]);

/** readelf's "Type:" line → e_type. */
export function readelfType(text: string): number | undefined {
  const named = /^(NONE|REL|EXEC|DYN|CORE) \(/.exec(text);
  if (named) return ['NONE', 'REL', 'EXEC', 'DYN', 'CORE'].indexOf(named[1]!);
  const other = /\(([0-9a-f]+)\)$|: ([0-9a-f]+)$/.exec(text);
  return other ? parseInt(other[1] ?? other[2]!, 16) : undefined;
}

/** The name readelf prints for a section: its own fallbacks for a missing or short string table. */
export function readelfSectionName(elf: ElfFile, s: SectionHeader): string {
  const { shstrndx } = elf.header;
  const strtab = shstrndx !== 0 ? elf.sections[shstrndx] : undefined;
  const readable = strtab && strtab.size > 0n && strtab.offset + strtab.size <= BigInt(elf.size);
  if (!readable) return '<no-strings>';
  if (BigInt(s.nameOffset) >= strtab.size) return '<corrupt>';
  // print_symbol shows a control character c as ^ followed by c + 0x40.
  return s.name.replace(/[\x00-\x1f\x7f]/g, (c) => `^${String.fromCharCode(c.charCodeAt(0) + 0x40)}`);
}

export function compareWithReadelf(
  elfOrError: ElfFile | ElfError,
  re: ReadelfReport,
  machineNames: ReadonlyMap<number, string>,
): Comparison {
  const mismatches: string[] = [];
  let fields = 0;
  const eq = (what: string, ours: unknown, theirs: unknown) => {
    fields++;
    if (ours !== theirs) mismatches.push(`${what}: pagestack ${String(ours)}, readelf ${String(theirs)}`);
  };
  for (const line of re.unparsed) mismatches.push(`unparsed readelf line: ${line}`);

  // Classify readelf's diagnostics.
  const required: Array<[string, string[]]> = [];
  for (const d of re.diagnostics) {
    // readelf flags section 0's sh_info even when it holds the PN_XNUM program header count, as the gABI says it should.
    if (
      /^Warning: \[ 0\]: Unexpected value \(\d+\) in info field/.test(d) &&
      !(elfOrError instanceof ElfError) &&
      elfOrError.header.phnumRaw === 0xffff
    )
      continue;
    const known = DIAGNOSTICS.find(([pattern]) => pattern.test(d));
    if (!known) mismatches.push(`unclassified readelf diagnostic: ${d}`);
    else required.push([d, known[1]]);
  }

  if (elfOrError instanceof ElfError) {
    const thrownOk = required.some(([, codes]) => codes.includes(THROWN));
    const unknownIdent =
      re.header && (/unknown|none/i.test(re.header.classText) || /unknown|none/i.test(re.header.dataText));
    fields++;
    if (!thrownOk && !unknownIdent)
      mismatches.push(`pagestack threw ${elfOrError.code} (${elfOrError.message}) but readelf read the file`);
    return { mismatches, fields, extraWarnings: [] };
  }
  const elf = elfOrError;
  const codes = new Set<string>(elf.warnings.map((w) => w.code));
  for (const [d, wanted] of required) {
    fields++;
    if (!wanted.some((c) => codes.has(c)))
      mismatches.push(`readelf reports "${d}" but pagestack has no ${wanted.join('/')} warning`);
  }
  // The other direction: each pagestack warning code must be matched by a readelf diagnostic, unless readelf is known to stay silent about it.
  const explained = new Set(required.flatMap(([, wanted]) => wanted));
  const extraWarnings = [...codes].filter((c) => !explained.has(c));
  for (const c of extraWarnings) {
    if (!READELF_SILENT_CODES.has(c))
      mismatches.push(
        `pagestack warns ${c} where readelf does not: ${elf.warnings.find((w) => w.code === c)?.message}`,
      );
  }

  const h = re.header;
  if (!h) {
    mismatches.push('readelf printed no ELF header but pagestack parsed the file');
    return { mismatches, fields, extraWarnings };
  }
  const ours = elf.header;
  eq('EI_CLASS', ours.class === 64 ? 2 : 1, h.ident[4]);
  eq('EI_DATA', ours.data === 'lsb' ? 1 : 2, h.ident[5]);
  eq('EI_VERSION', ours.identVersion, h.ident[6]);
  eq('EI_OSABI', ours.osabi, h.ident[7]);
  eq('EI_ABIVERSION', ours.abiVersion, h.ident[8]);
  eq('e_type', ours.type, readelfType(h.typeText));
  eq('e_machine (name)', machineNames.get(ours.machine), h.machineText);
  eq('e_version', BigInt(ours.version), h.version);
  eq('e_entry', ours.entry, h.entry);
  eq('e_phoff', ours.phoff, h.phoff);
  eq('e_shoff', ours.shoff, h.shoff);
  eq('e_flags', BigInt(ours.flags), h.flags);
  eq('e_ehsize', ours.ehsize, h.ehsize);
  eq('e_phentsize', ours.phentsize, h.phentsize);
  eq('e_phnum', ours.phnumRaw, h.phnumRaw);
  eq('e_shentsize', ours.shentsize, h.shentsize);
  eq('e_shnum', ours.shnumRaw, h.shnumRaw);
  eq('e_shstrndx', ours.shstrndxRaw, h.shstrndxRaw);
  // Extended numbering as resolved (readelf keeps e_shnum in 32 bits).
  eq('program header count', ours.phnum, h.phnum);
  if (!elf.warnings.some((w) => w.code === 'E_ELF_XNUM' && w.field === 'e_shnum'))
    eq('section count', ours.shnum % 2 ** 32, h.shnum);
  if (!h.shstrndxCorrupt) eq('section name table index', ours.shstrndx, h.shstrndx);
  else {
    fields++;
    if (!codes.has('E_ELF_SHSTRNDX') && !codes.has('E_ELF_XNUM'))
      mismatches.push('readelf says e_shstrndx is out of range, pagestack does not');
  }

  compareSegments(elf, re, eq, mismatches, codes);
  compareSections(elf, re, eq, mismatches, codes);
  return { mismatches, fields, extraWarnings };
}

type Eq = (what: string, ours: unknown, theirs: unknown) => void;

const PHDR_TABLE_CODES = ['E_ELF_PHDRS', 'E_ELF_PHENTSIZE', 'E_ELF_XNUM', 'E_ELF_PHOFF'];
const SHDR_TABLE_CODES = ['E_ELF_SHDRS', 'E_ELF_SHENTSIZE', 'E_ELF_XNUM', 'E_ELF_SHOFF'];

function compareSegments(elf: ElfFile, re: ReadelfReport, eq: Eq, mismatches: string[], codes: Set<string>): void {
  const tableDamaged = PHDR_TABLE_CODES.some((c) => codes.has(c) && c !== 'E_ELF_PHOFF');
  if (!re.segments) {
    if (re.saysNoSegments) eq('program headers (readelf: none)', elf.programHeaders.length, 0);
    else if (!tableDamaged && !codes.has('E_ELF_PHOFF'))
      mismatches.push('readelf printed no program headers, pagestack reports no damage');
    return;
  }
  if (tableDamaged) return; // both sides report damage; readelf's entries may be read at the wrong stride
  eq('program header count (entries)', elf.programHeaders.length, re.segments.length);
  const { machine, osabi } = elf.header;
  re.segments.forEach((theirs, i) => {
    const p = elf.programHeaders[i];
    if (!p) return;
    const at = `program header ${i}`;
    eq(`${at} p_type`, segmentTypeName(p.type, machine, osabi).slice(0, 14), theirs.type);
    eq(`${at} p_offset`, p.offset, theirs.offset);
    eq(`${at} p_vaddr`, p.vaddr, theirs.vaddr);
    eq(`${at} p_paddr`, p.paddr, theirs.paddr);
    eq(`${at} p_filesz`, p.filesz, theirs.filesz);
    eq(`${at} p_memsz`, p.memsz, theirs.memsz);
    eq(
      `${at} p_flags`,
      (p.flags & 4 ? 'R' : ' ') + (p.flags & 2 ? 'W' : ' ') + (p.flags & 1 ? 'E' : ' '),
      theirs.flags,
    );
    eq(`${at} p_align`, p.align, theirs.align);
    if (theirs.interpreter !== undefined) eq(`${at} interpreter`, elf.interpreter, theirs.interpreter);
  });
}

function compareSections(elf: ElfFile, re: ReadelfReport, eq: Eq, mismatches: string[], codes: Set<string>): void {
  const tableDamaged = SHDR_TABLE_CODES.some((c) => codes.has(c));
  if (!re.sections) {
    if (re.saysNoSections) eq('sections (readelf: none)', elf.sections.length, 0);
    else if (!tableDamaged) mismatches.push('readelf printed no section headers, pagestack reports no damage');
    return;
  }
  if (tableDamaged) return;
  eq('section count (entries)', elf.sections.length, re.sections.length);
  // Sections whose sh_entsize readelf replaced by the expected size ("Section N has invalid sh_entsize").
  const entsizeReplaced = new Set<number>();
  for (const d of re.diagnostics) {
    const m = /Section (\d+) has invalid sh_entsize/.exec(d);
    if (m) entsizeReplaced.add(Number(m[1]));
  }
  const { machine, osabi } = elf.header;
  for (const theirs of re.sections) {
    const s = elf.sections[theirs.index];
    const at = `section ${theirs.index}`;
    if (!s) {
      mismatches.push(`${at}: readelf prints it, pagestack has no such section`);
      continue;
    }
    eq(`${at} name`, readelfSectionName(elf, s), theirs.name);
    eq(`${at} sh_type`, sectionTypeName(s.type, machine, osabi), theirs.type);
    eq(`${at} sh_addr`, s.addr, theirs.addr);
    eq(`${at} sh_offset`, s.offset, theirs.offset);
    eq(`${at} sh_size`, s.size, theirs.size);
    if (!entsizeReplaced.has(theirs.index)) eq(`${at} sh_entsize`, s.entsize, theirs.entsize);
    eq(`${at} sh_flags`, sectionFlagsString(s.flags, machine, osabi), theirs.flags);
    eq(`${at} sh_link`, s.link, theirs.link);
    eq(`${at} sh_info`, s.info, theirs.info);
    eq(`${at} sh_addralign`, s.addralign, theirs.addralign);
  }
}
