/**
 * Builds small synthetic ELF files for tests: any class, byte order,
 * machine, OS ABI, program headers and sections with names and contents.
 * Layout: ELF header, program header table, section contents, the
 * section-name string table (.shstrtab, last section), section header table.
 * Fields not given are 0 / natural. Tests patch bytes afterwards to make
 * hostile variants.
 */

export interface SynthSegment {
  type: number;
  flags?: number;
  offset?: bigint;
  vaddr?: bigint;
  paddr?: bigint;
  filesz?: bigint;
  memsz?: bigint;
  align?: bigint;
}

export interface SynthSection {
  name: string;
  type: number;
  flags?: bigint;
  addr?: bigint;
  /** Contents placed in the file; the header's sh_offset/sh_size point at them unless overridden. */
  data?: Uint8Array;
  offset?: bigint;
  size?: bigint;
  link?: number;
  info?: number;
  addralign?: bigint;
  entsize?: bigint;
}

export interface SynthElf {
  cls?: 32 | 64;
  data?: 'lsb' | 'msb';
  osabi?: number;
  type?: number;
  machine?: number;
  entry?: bigint;
  flags?: number;
  segments?: SynthSegment[];
  sections?: SynthSection[];
  /** Omit the section header table and .shstrtab entirely. */
  noSections?: boolean;
}

export interface SynthLayout {
  bytes: Uint8Array;
  phoff: number;
  shoff: number;
  /** File offset of each section's data, by position in `sections`. */
  dataOffsets: number[];
}

export function buildElf(spec: SynthElf): SynthLayout {
  const cls = spec.cls ?? 64;
  const le = (spec.data ?? 'lsb') === 'lsb';
  const is64 = cls === 64;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const segments = spec.segments ?? [];
  const userSections = spec.noSections ? [] : (spec.sections ?? []);

  // Section names: "\0" then each name, then ".shstrtab".
  const enc = new TextEncoder();
  const nameOffsets: number[] = [];
  const nameParts: Uint8Array[] = [new Uint8Array(1)];
  let nameSize = 1;
  for (const s of userSections) {
    nameOffsets.push(nameSize);
    const b = enc.encode(`${s.name}\0`);
    nameParts.push(b);
    nameSize += b.length;
  }
  const shstrtabNameOffset = nameSize;
  nameParts.push(enc.encode('.shstrtab\0'));
  nameSize += 10;
  const names = concat(nameParts);

  const phoff = segments.length ? ehsize : 0;
  let cursor = ehsize + segments.length * phentsize;
  const dataOffsets: number[] = [];
  for (const s of userSections) {
    const align = Number(s.addralign ?? 1n) || 1;
    cursor = Math.ceil(cursor / Math.min(align, 4096)) * Math.min(align, 4096);
    dataOffsets.push(cursor);
    cursor += s.data?.length ?? 0;
  }
  const shstrtabOffset = cursor;
  cursor += spec.noSections ? 0 : names.length;
  const shoff = spec.noSections ? 0 : Math.ceil(cursor / 8) * 8;
  const shnum = spec.noSections ? 0 : userSections.length + 2;
  const total = spec.noSections ? cursor : shoff + shnum * shentsize;

  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const u16 = (o: number, v: number) => view.setUint16(o, v, le);
  const u32 = (o: number, v: number) => view.setUint32(o, v, le);
  const word = (o: number, v: bigint) =>
    is64 ? view.setBigUint64(o, BigInt.asUintN(64, v), le) : view.setUint32(o, Number(BigInt.asUintN(32, v)), le);

  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, spec.osabi ?? 0]);
  u16(16, spec.type ?? 2);
  u16(18, spec.machine ?? 62);
  u32(20, 1);
  word(24, spec.entry ?? 0n);
  word(is64 ? 32 : 28, BigInt(phoff));
  word(is64 ? 40 : 32, BigInt(shoff));
  u32(is64 ? 48 : 36, spec.flags ?? 0);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, segments.length);
  u16(is64 ? 58 : 46, shentsize);
  u16(is64 ? 60 : 48, shnum);
  u16(is64 ? 62 : 50, spec.noSections ? 0 : shnum - 1);

  segments.forEach((p, i) => {
    const o = phoff + i * phentsize;
    u32(o, p.type);
    if (is64) {
      u32(o + 4, p.flags ?? 0);
      word(o + 8, p.offset ?? 0n);
      word(o + 16, p.vaddr ?? 0n);
      word(o + 24, p.paddr ?? p.vaddr ?? 0n);
      word(o + 32, p.filesz ?? 0n);
      word(o + 40, p.memsz ?? p.filesz ?? 0n);
      word(o + 48, p.align ?? 0n);
    } else {
      word(o + 4, p.offset ?? 0n);
      word(o + 8, p.vaddr ?? 0n);
      word(o + 12, p.paddr ?? p.vaddr ?? 0n);
      word(o + 16, p.filesz ?? 0n);
      word(o + 20, p.memsz ?? p.filesz ?? 0n);
      u32(o + 24, p.flags ?? 0);
      word(o + 28, p.align ?? 0n);
    }
  });

  userSections.forEach((s, i) => {
    if (s.data) bytes.set(s.data, dataOffsets[i]!);
  });
  if (!spec.noSections) bytes.set(names, shstrtabOffset);

  const writeSection = (index: number, nameOffset: number, s: SynthSection, dataOffset: number) => {
    const o = shoff + index * shentsize;
    u32(o, nameOffset);
    u32(o + 4, s.type);
    word(o + 8, s.flags ?? 0n);
    word(o + (is64 ? 16 : 12), s.addr ?? 0n);
    word(o + (is64 ? 24 : 16), s.offset ?? BigInt(dataOffset));
    word(o + (is64 ? 32 : 20), s.size ?? BigInt(s.data?.length ?? 0));
    u32(o + (is64 ? 40 : 24), s.link ?? 0);
    u32(o + (is64 ? 44 : 28), s.info ?? 0);
    word(o + (is64 ? 48 : 32), s.addralign ?? 1n);
    word(o + (is64 ? 56 : 36), s.entsize ?? 0n);
  };
  if (!spec.noSections) {
    userSections.forEach((s, i) => writeSection(i + 1, nameOffsets[i]!, s, dataOffsets[i]!));
    writeSection(shnum - 1, shstrtabNameOffset, { name: '.shstrtab', type: 3, data: names }, shstrtabOffset);
  }
  return { bytes, phoff, shoff, dataOffsets };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
