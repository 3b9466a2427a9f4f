/**
 * Builds small x86-64 ELF files with chosen program headers, for loader
 * tests: unusual layouts the kernel must agree on (read-only bss, pages
 * shared by two segments, PROT_NONE segments, large p_align, unsorted
 * PT_LOADs) and broken ones the loader must refuse. The file bytes outside
 * the headers are a non-zero pattern, so a zeroed byte is visible.
 */

export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_GNU_STACK = 0x6474e551;
export const R = 4;
export const W = 2;
export const X = 1;

export interface Phdr {
  type?: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  /** Defaults to filesz. */
  memsz?: number;
  /** Defaults to 0x1000. */
  align?: number;
}

export interface ElfSpec {
  /** ET_EXEC 2 or ET_DYN 3. */
  type: number;
  entry: number;
  phdrs: Phdr[];
  /** PT_INTERP: the path is stored at `offset` and a PT_INTERP header is appended. */
  interp?: { path: string; offset: number };
  /** PT_GNU_STACK flags; no PT_GNU_STACK when undefined. */
  gnuStack?: number;
  /** Minimum file size. */
  size?: number;
  /** Header overrides for hostile files. */
  machine?: number;
  elfClass?: number;
  phentsize?: number;
  phnum?: number;
}

export function buildElf(spec: ElfSpec): Uint8Array {
  const phdrs: Phdr[] = [...spec.phdrs];
  if (spec.interp) {
    const len = Buffer.byteLength(spec.interp.path) + 1;
    phdrs.unshift({
      type: PT_INTERP,
      flags: R,
      offset: spec.interp.offset,
      vaddr: spec.interp.offset,
      filesz: len,
      align: 1,
    });
  }
  if (spec.gnuStack !== undefined)
    phdrs.push({ type: PT_GNU_STACK, flags: spec.gnuStack, offset: 0, vaddr: 0, filesz: 0, align: 16 });
  const phoff = 64;
  let size = Math.max(spec.size ?? 0, phoff + 56 * phdrs.length);
  for (const p of phdrs) size = Math.max(size, p.offset + p.filesz);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = ((i * 131 + 7) & 0xff) | 1;
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, spec.elfClass ?? 2, 1, 1, 0], 0);
  bytes.fill(0, 8, 16);
  v.setUint16(16, spec.type, true);
  v.setUint16(18, spec.machine ?? 62, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt(spec.entry), true);
  v.setBigUint64(32, BigInt(phoff), true);
  v.setBigUint64(40, 0n, true);
  v.setUint32(48, 0, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, spec.phentsize ?? 56, true);
  v.setUint16(56, spec.phnum ?? phdrs.length, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, 0, true);
  v.setUint16(62, 0, true);
  phdrs.forEach((p, i) => {
    const o = phoff + 56 * i;
    v.setUint32(o, p.type ?? PT_LOAD, true);
    v.setUint32(o + 4, p.flags, true);
    v.setBigUint64(o + 8, BigInt(p.offset), true);
    v.setBigUint64(o + 16, BigInt(p.vaddr), true);
    v.setBigUint64(o + 24, BigInt(p.vaddr), true);
    v.setBigUint64(o + 32, BigInt(p.filesz), true);
    v.setBigUint64(o + 40, BigInt(p.memsz ?? p.filesz), true);
    v.setBigUint64(o + 48, BigInt(p.align ?? 0x1000), true);
  });
  if (spec.interp) {
    const path = Buffer.from(`${spec.interp.path}\0`);
    bytes.set(path, spec.interp.offset);
  }
  return bytes;
}

/** Layouts the kernel must agree on; `interp` is the system interpreter, `ownInterp` a synthetic one (see INTERP_AT_FIXED_HINT). */
export function synthLayouts(interp: string, ownInterp: string): Record<string, ElfSpec> {
  const ET_EXEC = 2;
  const ET_DYN = 3;
  return {
    // A read-only segment with bss: padzero faults and is ignored (the tail of its last page keeps the file's bytes); vm_brk gives rw- anyway.
    'ro-bss': {
      type: ET_EXEC,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1800 },
        { flags: R, offset: 0x2000, vaddr: 0x402000, filesz: 0x234, memsz: 0x3000 },
        { flags: R | W, offset: 0x3000, vaddr: 0x406000, filesz: 0x100 },
      ],
      gnuStack: R | W,
    },
    // Executable bss (vm_brk_flags with VM_EXEC) and an executable stack.
    'exec-bss-exec-stack': {
      type: ET_EXEC,
      entry: 0x400100,
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1100, memsz: 0x4000 }],
      gnuStack: R | W | X,
    },
    // Data starting inside the last page of text: MAP_FIXED replaces that page. No PT_GNU_STACK.
    'shared-page': {
      type: ET_EXEC,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1234 },
        { flags: R | W, offset: 0x1234, vaddr: 0x401234, filesz: 0x100, memsz: 0x2000 },
      ],
    },
    // Text's last file page mapped again as data's first (the pre-separate-code layout).
    'twice-mapped-file-page': {
      type: ET_EXEC,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1234 },
        { flags: R | W, offset: 0x1234, vaddr: 0x402234, filesz: 0x100, memsz: 0x180 },
      ],
      gnuStack: R | W,
    },
    // Two rw- segments contiguous in file and memory: one VMA (vma_merge), as a patchelf'd binary shows.
    'merged-rw': {
      type: ET_DYN,
      entry: 0x1000,
      interp: { path: interp, offset: 0x4190 },
      phdrs: [
        { flags: R, offset: 0, vaddr: 0, filesz: 0x700 },
        { flags: R | X, offset: 0x1000, vaddr: 0x1000, filesz: 0x200 },
        { flags: R | W, offset: 0x2d78, vaddr: 0x3d78, filesz: 0x2a8, memsz: 0x2b0 },
        { flags: R | W, offset: 0x4000, vaddr: 0x5000, filesz: 0x1d0 },
      ],
      gnuStack: R | W,
    },
    // A bss-only segment right after another segment's bss: do_brk_flags extends the anonymous VMA.
    'merged-bss': {
      type: ET_EXEC,
      entry: 0x400100,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x800 },
        { flags: R | W, offset: 0x1000, vaddr: 0x401000, filesz: 0x10, memsz: 0x2000 },
        { flags: R | W, offset: 0, vaddr: 0x403000, filesz: 0, memsz: 0x2000 },
      ],
      gnuStack: R | W,
    },
    // PROT_NONE, write-only and execute-only segments.
    'odd-protections': {
      type: ET_EXEC,
      entry: 0x400010,
      phdrs: [
        { flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x100 },
        { flags: 0, offset: 0x1000, vaddr: 0x401000, filesz: 0x100 },
        { flags: W, offset: 0x2000, vaddr: 0x402000, filesz: 0x100 },
        { flags: X, offset: 0x3000, vaddr: 0x403000, filesz: 0x100 },
      ],
      gnuStack: R | W,
    },
    // A PIE with p_align 64 KiB whose first segment is not at 0: base 0x555555550000.
    'pie-64k-first-vaddr': {
      type: ET_DYN,
      entry: 0x21000,
      interp: { path: interp, offset: 0x600 },
      phdrs: [
        { flags: R, offset: 0, vaddr: 0x10000, filesz: 0x800, align: 0x10000 },
        { flags: R | X, offset: 0x1000, vaddr: 0x21000, filesz: 0x100, align: 0x10000 },
        { flags: R | W, offset: 0x2000, vaddr: 0x32000, filesz: 0x100, memsz: 0x5000, align: 0x10000 },
      ],
      gnuStack: R | W,
    },
    // PT_LOADs out of address order: total_mapping_size takes the min and max.
    'pie-unsorted': {
      type: ET_DYN,
      entry: 0x1000,
      interp: { path: interp, offset: 0x700 },
      phdrs: [
        { flags: R | W, offset: 0x2000, vaddr: 0x2000, filesz: 0x100 },
        { flags: R | X, offset: 0x1000, vaddr: 0x1000, filesz: 0x100 },
        { flags: R, offset: 0, vaddr: 0, filesz: 0x800 },
      ],
      gnuStack: R | W,
    },
    // A static PIE spanning 4 MiB: top-down, 2 MiB-aligned on filesystems with thp_get_unmapped_area.
    'static-pie-4m-bss': {
      type: ET_DYN,
      entry: 0x1000,
      phdrs: [
        { flags: R, offset: 0, vaddr: 0, filesz: 0x800 },
        { flags: R | X, offset: 0x1000, vaddr: 0x1000, filesz: 0x100 },
        { flags: R | W, offset: 0x2000, vaddr: 0x2000, filesz: 0x100, memsz: 0x400000 },
      ],
      gnuStack: R | W,
    },
    // A static PIE with p_align 2 MiB and bss in its first segment: the discovery mapping is undone.
    'static-pie-2m-first-bss': {
      type: ET_DYN,
      entry: 0x201000,
      phdrs: [
        { flags: R | W, offset: 0, vaddr: 0, filesz: 0x900, memsz: 0x3000, align: 0x200000 },
        { flags: R | X, offset: 0x1000, vaddr: 0x201000, filesz: 0x100, align: 0x200000 },
      ],
      gnuStack: R | W,
    },
    // Program headers in no PT_LOAD: AT_PHDR is just the load bias (0). bss ending on a page boundary: no padzero.
    'phdrs-unmapped-aligned-bss': {
      type: ET_EXEC,
      entry: 0x401000,
      phdrs: [
        { flags: R | X, offset: 0x1000, vaddr: 0x401000, filesz: 0x100 },
        { flags: R | W, offset: 0x2000, vaddr: 0x402000, filesz: 0x1000, memsz: 0x3000 },
      ],
      gnuStack: R | W,
    },
    // A non-PIE whose ET_DYN interpreter wants 0x20000000: the hint is free, so it is taken.
    'exec-with-hinted-interp': {
      type: ET_EXEC,
      entry: 0x400100,
      interp: { path: ownInterp, offset: 0x800 },
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0x400000, filesz: 0x1000 }],
      gnuStack: R | W,
    },
    // A PIE with the same interpreter: no_base is set, so the hint is dropped and it goes top-down.
    'pie-with-hinted-interp': {
      type: ET_DYN,
      entry: 0x100,
      interp: { path: ownInterp, offset: 0x800 },
      phdrs: [{ flags: R | X, offset: 0, vaddr: 0, filesz: 0x1000 }],
      gnuStack: R | W,
    },
  };
}

/** The synthetic interpreter: ET_DYN linked at 0x20000000, with bss. */
export const INTERP_AT_FIXED_HINT: ElfSpec = {
  type: 3,
  entry: 0x20001000,
  phdrs: [
    { flags: R, offset: 0, vaddr: 0x20000000, filesz: 0x800 },
    { flags: R | X, offset: 0x1000, vaddr: 0x20001000, filesz: 0x100 },
    { flags: R | W, offset: 0x2000, vaddr: 0x20002000, filesz: 0x80, memsz: 0x2400 },
  ],
};
