/**
 * Consistency checks on a parsed ELF file, reported as warnings.
 *
 * The tables themselves are readable here (parse.ts already dropped any that
 * are not); these checks find entries that contradict each other or the file
 * size. They follow the checks GNU readelf 2.40 makes while printing -hlSW,
 * so that where readelf reports damage pagestack reports it too:
 *  - sh_link / sh_info that do not index the kind of section the type needs
 *    (E_ELF_SHLINK, E_ELF_SHINFO),
 *  - symbol, relocation and group tables with a wrong sh_entsize
 *    (E_ELF_SECTION_ENTSIZE; readelf then prints the expected size instead),
 *  - a section bigger than the whole file (E_ELF_SECTION_SIZE),
 *  - several dynamic symbol or string tables (E_ELF_DYNSYM, E_ELF_DYNSTR),
 *  - PT_DYNAMIC without a .dynamic section, twice, or past the end
 *    (E_ELF_DYNAMIC),
 *  - PT_PHDR after a PT_LOAD or not inside one (E_ELF_PHDR),
 *  - a PT_LOAD with p_filesz above p_memsz (E_ELF_SEGMENT_SIZE).
 * (readelf 2.40 no longer checks that PT_LOAD entries are sorted by p_vaddr,
 * and real files such as ARM firmware images are not, so neither does this.)
 * Three that readelf does not make: the ELF header and the two tables
 * overlapping each other (E_ELF_TABLE_OVERLAP) and, for a page scanner, a
 * PT_LOAD whose file range [p_offset, p_offset+p_filesz) runs past the end
 * of the file (E_ELF_SEGMENT_RANGE) or a section whose bytes do
 * (E_ELF_SECTION_RANGE).
 */
import {
  ET_DYN,
  ET_EXEC,
  PN_XNUM,
  PT_DYNAMIC,
  PT_LOAD,
  PT_PHDR,
  SHT_DYNAMIC,
  SHT_DYNSYM,
  SHT_FINI_ARRAY,
  SHT_GNU_HASH,
  SHT_GNU_LIBLIST,
  SHT_GNU_VERDEF,
  SHT_GNU_VERNEED,
  SHT_GNU_VERSYM,
  SHT_GROUP,
  SHT_HASH,
  SHT_INIT_ARRAY,
  SHT_LOOS,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_NULL,
  SHT_PREINIT_ARRAY,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_RELR,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  type ElfFile,
  type ProgramHeader,
  type SectionHeader,
} from './types.js';
import { warnHeader, warnProgram, warnSection } from './warnings.js';

const SHF_INFO_LINK = 0x40n;
const SHF_LINK_ORDER = 0x80n;
const SHF_GNU_MBIND = 0x01000000n;
const SHN_BEFORE = 0xff00;
const SHN_AFTER = 0xff01;

const EM_PARISC = 15;
const EM_IA_64 = 50;
const ELFOSABI_OPENVMS = 13;
/** Machines where sh_link may be SHN_BEFORE/SHN_AFTER with SHF_LINK_ORDER (Solaris). */
const BEFORE_AFTER_MACHINES = new Set([2, 3, 6, 11, 18, 43, 62, 180, 181]);

/** Section types whose sh_entsize is fixed: [ELF32 size, ELF64 size]. */
const FIXED_ENTSIZE: ReadonlyMap<number, readonly [number, number]> = new Map([
  [SHT_SYMTAB, [16, 24]],
  [SHT_DYNSYM, [16, 24]],
  [SHT_REL, [8, 16]],
  [SHT_RELA, [12, 24]],
  [SHT_RELR, [4, 8]],
  [SHT_GROUP, [4, 4]],
]);

/** Section types an SHT_REL/SHT_RELA section of an object file may apply to. */
const RELOCATABLE_TYPES = new Set([
  SHT_PROGBITS,
  SHT_NOBITS,
  SHT_NOTE,
  SHT_INIT_ARRAY,
  SHT_FINI_ARRAY,
  SHT_PREINIT_ARRAY,
]);

/** Appends to elf.warnings every inconsistency between the file's tables and its size. */
export function checkConsistency(elf: ElfFile): void {
  checkTablePlacement(elf);
  checkSections(elf);
  checkSegments(elf);
}

/**
 * The ELF header, the program header table and the section header table
 * must not share bytes (E_ELF_TABLE_OVERLAP). The tables are still returned:
 * their fields are what the file says, the warning says they are suspect.
 */
function checkTablePlacement(elf: ElfFile): void {
  const h = elf.header;
  const regions: Array<[string, bigint, bigint]> = [['the ELF header', 0n, h.class === 64 ? 64n : 52n]];
  if (elf.programHeaders.length > 0)
    regions.push(['the program header table', h.phoff, h.phoff + BigInt(h.phnum * h.phentsize)]);
  if (elf.sections.length > 0)
    regions.push(['the section header table', h.shoff, h.shoff + BigInt(h.shnum) * BigInt(h.shentsize)]);
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const [a, aStart, aEnd] = regions[i]!;
      const [b, bStart, bEnd] = regions[j]!;
      if (aStart < bEnd && bStart < aEnd) {
        const field = b === 'the section header table' ? 'e_shoff' : 'e_phoff';
        warnHeader(
          elf.warnings,
          h,
          'E_ELF_TABLE_OVERLAP',
          field,
          `${b} [0x${bStart.toString(16)}, 0x${bEnd.toString(16)}) overlaps ${a} [0x${aStart.toString(16)}, 0x${aEnd.toString(16)})`,
        );
      }
    }
  }
}

function label(s: SectionHeader): string {
  return s.name ? `section ${s.index} (${s.name})` : `section ${s.index}`;
}

function checkSections(elf: ElfFile): void {
  const { sections, warnings, header } = elf;
  const count = sections.length;
  const fileSize = BigInt(elf.size);
  const isLinked = header.type === ET_EXEC || header.type === ET_DYN;
  const typeOf = (index: number) => sections[index]?.type;
  let dynsymSeen = false;
  let dynstrSeen = false;

  for (const s of sections) {
    const where = label(s);
    // sh_link: any value must be a section index (or SHN_BEFORE/AFTER with SHF_LINK_ORDER on Solaris targets).
    const beforeAfter =
      (s.link === SHN_BEFORE || s.link === SHN_AFTER) &&
      (s.flags & SHF_LINK_ORDER) !== 0n &&
      BEFORE_AFTER_MACHINES.has(header.machine);
    let linkBad = s.link >= count && !beforeAfter;
    let linkNeeds = 'a valid section index';
    // A linked file's dynamic relocations may use symbol 0 only and name no symbol table.
    const relocWithoutSymtab = (s.type === SHT_REL || s.type === SHT_RELA) && s.link === 0 && isLinked;
    switch (relocWithoutSymtab ? SHT_NULL : s.type) {
      case SHT_REL:
      case SHT_RELA:
      case SHT_SYMTAB_SHNDX:
      case SHT_GROUP:
      case SHT_HASH:
      case SHT_GNU_HASH:
      case SHT_GNU_VERSYM:
        linkNeeds = 'a symbol table section';
        linkBad ||= s.link === 0 || (typeOf(s.link) !== SHT_SYMTAB && typeOf(s.link) !== SHT_DYNSYM);
        break;
      case SHT_DYNAMIC:
      case SHT_SYMTAB:
      case SHT_DYNSYM:
      case SHT_GNU_VERNEED:
      case SHT_GNU_VERDEF:
      case SHT_GNU_LIBLIST:
        linkNeeds = 'a string table section';
        linkBad ||= s.link === 0 || typeOf(s.link) !== SHT_STRTAB;
        break;
      case SHT_INIT_ARRAY:
      case SHT_FINI_ARRAY:
      case SHT_PREINIT_ARRAY:
        linkNeeds = '0';
        linkBad ||= s.link !== 0;
        break;
      default:
        break;
    }
    if (linkBad)
      warnSection(
        warnings,
        header,
        'E_ELF_SHLINK',
        s.index,
        'sh_link',
        `${where}: sh_link ${s.link} should be ${linkNeeds} (${count} sections)`,
      );

    // Section 0's sh_info holds the program header count when e_phnum is PN_XNUM (readelf warns about it anyway).
    const xnumInfo = s.index === 0 && header.phnumRaw === PN_XNUM;
    const infoNeeds = xnumInfo ? undefined : infoProblem(s, count, isLinked, typeOf);
    if (infoNeeds)
      warnSection(
        warnings,
        header,
        'E_ELF_SHINFO',
        s.index,
        'sh_info',
        `${where}: sh_info ${s.info} should be ${infoNeeds}`,
      );

    const fixed = FIXED_ENTSIZE.get(s.type);
    // readelf checks only the first SHT_DYNSYM; a second one is reported as such below.
    if (fixed && !(s.type === SHT_DYNSYM && dynsymSeen)) {
      const expected = BigInt(header.class === 64 ? fixed[1] : fixed[0]);
      if (s.entsize !== expected) {
        warnSection(
          warnings,
          header,
          'E_ELF_SECTION_ENTSIZE',
          s.index,
          'sh_entsize',
          `${where}: sh_entsize ${s.entsize} should be ${expected} for its type`,
        );
      }
    }
    if (s.type === SHT_DYNSYM) {
      if (dynsymSeen)
        warnSection(warnings, header, 'E_ELF_DYNSYM', s.index, 'sh_type', `${where}: a second dynamic symbol table`);
      dynsymSeen = true;
    }
    if (s.type === SHT_STRTAB && s.name === '.dynstr') {
      if (dynstrSeen)
        warnSection(
          warnings,
          header,
          'E_ELF_DYNSTR',
          s.index,
          'sh_name',
          `${where}: a second dynamic string table (.dynstr)`,
        );
      dynstrSeen = true;
    }

    if (s.type !== SHT_NOBITS && s.type !== SHT_NULL) {
      if (s.type < SHT_LOOS && s.size > fileSize) {
        warnSection(
          warnings,
          header,
          'E_ELF_SECTION_SIZE',
          s.index,
          'sh_size',
          `${where}: sh_size ${s.size} is larger than the whole file (${elf.size} bytes)`,
        );
      } else if (s.size > 0n && s.offset + s.size > fileSize) {
        warnSection(
          warnings,
          header,
          'E_ELF_SECTION_RANGE',
          s.index,
          'sh_offset',
          `${where}: bytes [0x${s.offset.toString(16)}, 0x${(s.offset + s.size).toString(16)}) run past the end of the file (${elf.size} bytes)`,
        );
      }
    }
  }
}

function infoProblem(
  s: SectionHeader,
  count: number,
  isLinked: boolean,
  typeOf: (i: number) => number | undefined,
): string | undefined {
  switch (s.type) {
    case SHT_REL:
    case SHT_RELA: {
      if (s.info === 0 && isLinked) return undefined;
      const target = typeOf(s.info);
      const ok = s.info !== 0 && target !== undefined && (RELOCATABLE_TYPES.has(target) || target >= SHT_LOOS);
      return ok ? undefined : 'the index of the section the relocations apply to';
    }
    case SHT_DYNAMIC:
    case SHT_HASH:
    case SHT_SYMTAB_SHNDX:
    case SHT_INIT_ARRAY:
    case SHT_FINI_ARRAY:
    case SHT_PREINIT_ARRAY:
      return s.info !== 0 ? '0' : undefined;
    case SHT_GROUP:
    case SHT_SYMTAB:
    case SHT_DYNSYM:
    case SHT_NOBITS:
      // A symbol index (not checked), or a stripped section whose header was kept.
      return undefined;
    default:
      if ((s.flags & SHF_INFO_LINK) !== 0n) {
        return s.info < 1 || s.info >= count ? `a section index (SHF_INFO_LINK is set; ${count} sections)` : undefined;
      }
      if (s.type < SHT_LOOS && (s.flags & SHF_GNU_MBIND) === 0n && s.info !== 0) return '0';
      return undefined;
  }
}

function checkSegments(elf: ElfFile): void {
  const { programHeaders, sections, warnings, header } = elf;
  const fileSize = BigInt(elf.size);
  let previousLoad: (typeof programHeaders)[number] | undefined;
  let dynamicSeen = false;

  for (const p of programHeaders) {
    const where = `program header ${p.index}`;
    switch (p.type) {
      case PT_LOAD:
        previousLoad = p;
        if (p.filesz > p.memsz) {
          warnProgram(
            warnings,
            header,
            'E_ELF_SEGMENT_SIZE',
            p.index,
            'p_filesz',
            `${where}: PT_LOAD p_filesz 0x${p.filesz.toString(16)} exceeds p_memsz 0x${p.memsz.toString(16)}`,
          );
        }
        if (p.filesz > 0n && p.offset + p.filesz > fileSize) {
          warnProgram(
            warnings,
            header,
            'E_ELF_SEGMENT_RANGE',
            p.index,
            'p_offset',
            `${where}: PT_LOAD file bytes [0x${p.offset.toString(16)}, 0x${(p.offset + p.filesz).toString(16)}) run past the end of the file (${elf.size} bytes)`,
          );
        }
        break;
      case PT_PHDR: {
        if (p.index > 0 && previousLoad)
          warnProgram(
            warnings,
            header,
            'E_ELF_PHDR',
            p.index,
            'p_type',
            `${where}: PT_PHDR must come before every PT_LOAD`,
          );
        if (!phdrCovered(p, programHeaders) && header.machine !== EM_PARISC)
          warnProgram(
            warnings,
            header,
            'E_ELF_PHDR',
            p.index,
            'p_offset',
            `${where}: PT_PHDR is not inside any PT_LOAD`,
          );
        break;
      }
      case PT_DYNAMIC: {
        if (dynamicSeen)
          warnProgram(warnings, header, 'E_ELF_DYNAMIC', p.index, 'p_type', `${where}: a second PT_DYNAMIC`);
        dynamicSeen = true;
        let offset = p.offset;
        let size = p.filesz;
        if (sections.length > 0) {
          const dynamic = sections.find((s) => s.name === '.dynamic');
          if (!dynamic || dynamic.size === 0n) {
            if (header.machine === EM_IA_64 && header.osabi === ELFOSABI_OPENVMS) break; // optional on OpenVMS
            warnProgram(
              warnings,
              header,
              'E_ELF_DYNAMIC',
              p.index,
              'p_type',
              `${where}: PT_DYNAMIC but no .dynamic section`,
            );
            break;
          }
          if (dynamic.type === SHT_NOBITS) break;
          offset = dynamic.offset;
          size = dynamic.size;
        }
        if (offset > fileSize || size > fileSize - offset) {
          warnProgram(
            warnings,
            header,
            'E_ELF_DYNAMIC',
            p.index,
            'p_offset',
            `${where}: the dynamic section (0x${size.toString(16)} bytes at 0x${offset.toString(16)}) runs past the end of the file`,
          );
        }
        break;
      }
      default:
        break;
    }
  }
}

/** Whether a PT_LOAD maps the bytes of PT_PHDR `p`, in the file and in memory (readelf's rule). */
export function phdrCovered(p: ProgramHeader, programHeaders: readonly ProgramHeader[]): boolean {
  return programHeaders.some(
    (l) =>
      l.type === PT_LOAD &&
      l.offset <= p.offset &&
      l.offset + l.filesz >= p.offset + p.filesz &&
      l.vaddr <= p.vaddr &&
      l.vaddr + l.filesz >= p.vaddr + p.filesz,
  );
}
