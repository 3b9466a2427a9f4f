/**
 * The hostile ELF fixtures of test/fixtures/elf: each is tiny64.elf (a real
 * gcc-built x86-64 executable) or a synthetic file with one kind of damage,
 * and says what the reader must report. test/elf-fixtures.test.ts checks that
 * the committed files are exactly what this module builds, and that the
 * reader reports what `expect` says; test/elf-readelf.test.ts runs them all
 * through readelf too.
 */
import { buildElf } from './elf-synth.js';

export interface HostileFixture {
  /** File name in test/fixtures/elf. */
  name: string;
  /** The damage, in words. */
  what: string;
  bytes: Uint8Array;
  /** parseElf must throw an ElfError with this code, naming this field. */
  error?: { code: string; field: string };
  /** parseElf must return, with at least these warning codes (an empty list: no warnings at all). */
  warnings?: string[];
  programHeaders?: number;
  sections?: number;
}

// ELF64 header field offsets (gABI).
const E_PHOFF = 32;
const E_SHOFF = 40;
const E_PHENTSIZE = 54;
const E_PHNUM = 56;
const E_SHENTSIZE = 58;
const E_SHNUM = 60;
const E_SHSTRNDX = 62;
// ELF64 section header field offsets.
const SH_NAME = 0;
const SH_OFFSET = 24;
const SH_SIZE = 32;
const SH_LINK = 40;
const SH_INFO = 44;
// ELF64 program header field offsets.
const P_TYPE = 0;
const P_OFFSET = 8;
const P_FILESZ = 32;

class Patch {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(source: Uint8Array, length = source.length) {
    this.bytes = new Uint8Array(length);
    this.bytes.set(source.subarray(0, Math.min(length, source.length)));
    this.view = new DataView(this.bytes.buffer);
  }
  u16(o: number, v?: number): number {
    if (v !== undefined) this.view.setUint16(o, v, true);
    return this.view.getUint16(o, true);
  }
  u32(o: number, v?: number): number {
    if (v !== undefined) this.view.setUint32(o, v, true);
    return this.view.getUint32(o, true);
  }
  u64(o: number, v?: bigint): bigint {
    if (v !== undefined) this.view.setBigUint64(o, v, true);
    return this.view.getBigUint64(o, true);
  }
  get shoff(): number {
    return Number(this.u64(E_SHOFF));
  }
  get phoff(): number {
    return Number(this.u64(E_PHOFF));
  }
  section(i: number): number {
    return this.shoff + i * 64;
  }
  segment(i: number): number {
    return this.phoff + i * 56;
  }
  /** Index of the section whose name is `name` (read through .shstrtab). */
  sectionNamed(name: string): number {
    const strtab = this.section(this.u16(E_SHSTRNDX));
    const base = Number(this.u64(strtab + SH_OFFSET));
    for (let i = 0; i < this.u16(E_SHNUM); i++) {
      let o = base + this.u32(this.section(i) + SH_NAME);
      let s = '';
      while (this.bytes[o] !== 0) s += String.fromCharCode(this.bytes[o++]!);
      if (s === name) return i;
    }
    throw new Error(`fixture: no section ${name}`);
  }
}

/** Builds every hostile fixture from the bytes of tiny64.elf. */
export function hostileFixtures(tiny64: Uint8Array): HostileFixture[] {
  const out: HostileFixture[] = [];
  const variant = (
    name: string,
    what: string,
    edit: (p: Patch) => void,
    expect: Omit<HostileFixture, 'name' | 'what' | 'bytes'>,
    length?: number,
  ) => {
    const p = new Patch(tiny64, length);
    edit(p);
    out.push({ name, what, bytes: p.bytes, ...expect });
  };
  const base = new Patch(tiny64);
  const phnum = base.u16(E_PHNUM);
  const shnum = base.u16(E_SHNUM);

  variant('wrong-magic.elf', 'EI_MAG3 is "G" instead of "F"', (p) => (p.bytes[3] = 0x47), {
    error: { code: 'E_ELF_MAGIC', field: 'e_ident[EI_MAG]' },
  });
  variant('bad-class.elf', 'EI_CLASS is 3', (p) => (p.bytes[4] = 3), {
    error: { code: 'E_ELF_CLASS', field: 'e_ident[EI_CLASS]' },
  });
  variant('bad-data.elf', 'EI_DATA is 0 (ELFDATANONE)', (p) => (p.bytes[5] = 0), {
    error: { code: 'E_ELF_DATA', field: 'e_ident[EI_DATA]' },
  });
  variant(
    'truncated-header.elf',
    'the file ends inside the ELF header (40 of 64 bytes)',
    () => {},
    { error: { code: 'E_ELF_TRUNCATED', field: 'ELF header' } },
    40,
  );
  variant(
    'huge-phnum.elf',
    'e_phnum is 0xfffe: a program header table of 3.6 MB in a 1 KB file',
    (p) => p.u16(E_PHNUM, 0xfffe),
    {
      warnings: ['E_ELF_PHDRS'],
      programHeaders: 0,
      sections: shnum,
    },
  );
  variant(
    'huge-shnum.elf',
    'e_shnum is 0xfeff: the section header table runs far past the end',
    (p) => p.u16(E_SHNUM, 0xfeff),
    {
      warnings: ['E_ELF_SHDRS'],
      programHeaders: phnum,
      sections: 0,
    },
  );
  variant('shoff-past-eof.elf', 'e_shoff points 2 GB past the end of the file', (p) => p.u64(E_SHOFF, 0x7fff0000n), {
    warnings: ['E_ELF_SHDRS'],
    programHeaders: phnum,
    sections: 0,
  });
  variant(
    'shoff-wraps.elf',
    'e_shoff is 2^64 - 256: offset + size overflows 64 bits',
    (p) => p.u64(E_SHOFF, 0xffffffffffffff00n),
    {
      warnings: ['E_ELF_SHDRS'],
      sections: 0,
    },
  );
  variant('shstrndx-out-of-range.elf', `e_shstrndx is 200 with ${shnum} sections`, (p) => p.u16(E_SHSTRNDX, 200), {
    warnings: ['E_ELF_SHSTRNDX'],
    sections: shnum,
  });
  variant('shentsize-bogus.elf', 'e_shentsize is 7', (p) => p.u16(E_SHENTSIZE, 7), {
    warnings: ['E_ELF_SHENTSIZE'],
    sections: 0,
    programHeaders: phnum,
  });
  variant(
    'phentsize-larger.elf',
    'e_phentsize is 64, more than an ELF64 program header (56)',
    (p) => p.u16(E_PHENTSIZE, 64),
    {
      warnings: ['E_ELF_PHENTSIZE'],
      programHeaders: phnum,
    },
  );
  variant(
    'tables-overlap.elf',
    'e_shoff equals e_phoff: the section header table lies over the program headers',
    (p) => p.u64(E_SHOFF, BigInt(p.phoff)),
    {
      warnings: ['E_ELF_TABLE_OVERLAP'],
      programHeaders: phnum,
      sections: shnum,
    },
  );
  variant(
    'phdrs-in-ehdr.elf',
    'e_phoff is 16: the program header table overlaps the ELF header',
    (p) => p.u64(E_PHOFF, 16n),
    {
      warnings: ['E_ELF_TABLE_OVERLAP'],
      programHeaders: phnum,
    },
  );
  variant(
    'xnum-valid.elf',
    'extended numbering done right: e_phnum PN_XNUM, e_shnum 0, e_shstrndx SHN_XINDEX, real values in section 0',
    (p) => {
      const s0 = p.section(0);
      p.u32(s0 + SH_INFO, phnum);
      p.u64(s0 + SH_SIZE, BigInt(shnum));
      p.u32(s0 + SH_LINK, p.u16(E_SHSTRNDX));
      p.u16(E_PHNUM, 0xffff);
      p.u16(E_SHNUM, 0);
      p.u16(E_SHSTRNDX, 0xffff);
    },
    { warnings: [], programHeaders: phnum, sections: shnum },
  );
  variant(
    'xnum-section0-unreadable.elf',
    'e_phnum is PN_XNUM and e_shnum 0, but e_shoff points past the end, so section 0 cannot be read',
    (p) => {
      p.u16(E_PHNUM, 0xffff);
      p.u16(E_SHNUM, 0);
      p.u64(E_SHOFF, 0x100000n);
    },
    { warnings: ['E_ELF_XNUM'], programHeaders: 0, sections: 0 },
  );
  variant('xnum-info-zero.elf', 'e_phnum is PN_XNUM but section 0 sh_info is 0', (p) => p.u16(E_PHNUM, 0xffff), {
    warnings: ['E_ELF_XNUM'],
    programHeaders: 0,
    sections: shnum,
  });
  variant(
    'names-past-strtab.elf',
    "one section's sh_name points past the end of .shstrtab",
    (p) => p.u32(p.section(p.sectionNamed('.text')) + SH_NAME, 0x10000),
    {
      warnings: ['E_ELF_SHNAME'],
      sections: shnum,
    },
  );
  variant(
    'shstrtab-past-eof.elf',
    '.shstrtab sh_offset points past the end of the file',
    (p) => p.u64(p.section(p.u16(E_SHSTRNDX)) + SH_OFFSET, 0x100000n),
    {
      warnings: ['E_ELF_SHSTRTAB'],
      sections: shnum,
    },
  );
  variant(
    'section-larger-than-file.elf',
    '.data sh_size is 1 MiB in a 1 KB file',
    (p) => p.u64(p.section(p.sectionNamed('.data')) + SH_SIZE, 0x100000n),
    {
      warnings: ['E_ELF_SECTION_SIZE'],
      sections: shnum,
    },
  );
  variant(
    'section-past-eof.elf',
    '.comment sh_offset moved so its bytes end past the end of the file',
    (p) => p.u64(p.section(p.sectionNamed('.comment')) + SH_OFFSET, BigInt(p.bytes.length - 8)),
    { warnings: ['E_ELF_SECTION_RANGE'], sections: shnum },
  );
  variant(
    'load-past-eof.elf',
    'the second PT_LOAD has p_filesz 64 KiB: past the end of the file and above p_memsz',
    (p) => p.u64(p.segment(1) + P_FILESZ, 0x10000n),
    { warnings: ['E_ELF_SEGMENT_RANGE', 'E_ELF_SEGMENT_SIZE'], programHeaders: phnum },
  );
  variant(
    'interp-past-eof.elf',
    'PT_GNU_STACK turned into a PT_INTERP whose bytes lie past the end of the file',
    (p) => {
      p.u32(p.segment(2) + P_TYPE, 3);
      p.u64(p.segment(2) + P_OFFSET, 0x100000n);
      p.u64(p.segment(2) + P_FILESZ, 0x20n);
    },
    { warnings: ['E_ELF_INTERP'], programHeaders: phnum },
  );
  variant(
    'no-section-headers.elf',
    'stripped to the bone: no section header table (e_shoff, e_shnum, e_shstrndx 0), cut after the last segment',
    (p) => {
      p.u64(E_SHOFF, 0n);
      p.u16(E_SHNUM, 0);
      p.u16(E_SHSTRNDX, 0);
    },
    { warnings: [], programHeaders: phnum, sections: 0 },
    lastSegmentEnd(base),
  );

  // Synthetic files: kernel-style addresses above 2^53, and big-endian ELF32 / ELF64.
  const high = buildElf({
    machine: 62,
    type: 2,
    entry: 0xffffffff81000123n,
    segments: [
      {
        type: 1,
        flags: 5,
        offset: 0n,
        vaddr: 0xffffffff81000000n,
        paddr: 0x1000000n,
        filesz: 0x200n,
        memsz: 0x1fffffffffff01n,
        align: 0x200000n,
      },
    ],
    sections: [
      {
        name: '.text',
        type: 1,
        flags: 6n,
        addr: 0xffffffff81000100n,
        data: new Uint8Array(64).fill(0x90),
        addralign: 0x8000000000000000n,
      },
    ],
  });
  out.push({
    name: 'high-addresses.elf',
    what: 'ELF64 with addresses and sizes above 2^53 (kernel image style)',
    bytes: high.bytes,
    warnings: [],
    programHeaders: 1,
    sections: 3,
  });
  for (const [cls, machine] of [
    [32, 8],
    [64, 183],
  ] as const) {
    const be = buildElf({
      cls,
      data: 'msb',
      machine,
      type: 2,
      entry: 0x10000n,
      segments: [{ type: 1, flags: 5, offset: 0n, vaddr: 0x10000n, filesz: 0x100n, memsz: 0x100n, align: 0x10000n }],
      sections: [
        { name: '.text', type: 1, flags: 6n, addr: 0x10080n, data: Uint8Array.of(1, 2, 3, 4), addralign: 4n },
        { name: '.bss', type: 8, flags: 3n, addr: 0x20000n, size: 0x1000n, addralign: 16n },
      ],
    });
    out.push({
      name: `synthetic-be${cls}.elf`,
      what: `big-endian ELF${cls} (e_machine ${machine})`,
      bytes: be.bytes,
      warnings: [],
      programHeaders: 1,
      sections: 4,
    });
  }
  return out;
}

function lastSegmentEnd(p: Patch): number {
  let end = 0;
  for (let i = 0; i < p.u16(E_PHNUM); i++) {
    end = Math.max(end, Number(p.u64(p.segment(i) + P_OFFSET) + p.u64(p.segment(i) + P_FILESZ)));
  }
  return end;
}
