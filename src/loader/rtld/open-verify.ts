/**
 * open_verify() of glibc 2.36 (elf/dl-load.c): what ld.so does with a
 * candidate file before it maps it. Some candidates are skipped silently
 * and the search goes on (not there, not readable, ELFCLASS32, another
 * machine); others stop the whole load with an error naming the file
 * (not ELF, a directory, too short, wrong byte order or version, not
 * ET_DYN/ET_EXEC, wrong e_phentsize).
 */
import { EM_X86_64 } from '../x86-64.js';
import type { RtldFiles } from './files.js';

export type Verified =
  | {
      ok: true;
      realPath: string;
      identity: string;
      open: Extract<ReturnType<RtldFiles['lookup']>, { kind: 'file' }>['open'];
    }
  /** Skipped; `otherClass` when it was an ELFCLASS32 file (for the "wrong ELF class" error). */
  | { ok: false; otherClass: boolean }
  /** Fatal: ld.so's message for this file, "PATH: PROBLEM". */
  | { ok: false; fatal: string };

const ELFOSABI_SYSV = 0;
const ELFOSABI_GNU = 3;
/** LIBC_ABI_MAX for glibc 2.36 on x86-64 (ABI versions 0..LIBC_ABI_MAX-1 are accepted with ELFOSABI_GNU). */
const LIBC_ABI_MAX = 2;
const EHDR_SIZE = 64;

/** Checks `path` (inside the root) as ld.so would before loading it. */
export function openVerify(files: RtldFiles, path: string): Verified {
  const found = files.lookup(path);
  if (found.kind === 'missing') return { ok: false, otherClass: false };
  // open(O_RDONLY) works on a directory; the read that follows fails with EISDIR.
  if (found.kind === 'directory') return { ok: false, fatal: `${path}: cannot read file data: Is a directory` };
  if (found.kind === 'special') return { ok: false, fatal: `${path}: cannot read file data: Invalid argument` };
  const backing = found.open();
  const head = new Uint8Array(Math.min(backing.size, backing.pageSize));
  if (head.length > 0) {
    const page = new Uint8Array(backing.pageSize);
    backing.readPage(0, page);
    head.set(page.subarray(0, head.length));
  }
  // ld.so reads at least an Elf64_Ehdr before looking at any byte.
  if (head.length < EHDR_SIZE) return { ok: false, fatal: `${path}: file too short` };
  if (!isElfMagic(head)) return { ok: false, fatal: `${path}: invalid ELF header` };
  if (head[4] !== 2) {
    return head[4] === 1 ? { ok: false, otherClass: true } : { ok: false, fatal: `${path}: invalid ELF header` };
  }
  if (head[5] !== 1) return { ok: false, fatal: `${path}: ELF file data encoding not little-endian` };
  if (head[6] !== 1) return { ok: false, fatal: `${path}: ELF file version ident does not match current one` };
  const osabi = head[7]!;
  const abiVersion = head[8]!;
  if (osabi !== ELFOSABI_SYSV && osabi !== ELFOSABI_GNU)
    return { ok: false, fatal: `${path}: ELF file OS ABI invalid` };
  if (!(abiVersion === 0 || (osabi === ELFOSABI_GNU && abiVersion < LIBC_ABI_MAX))) {
    return { ok: false, fatal: `${path}: ELF file ABI version invalid` };
  }
  for (let i = 9; i < 16; i++) if (head[i] !== 0) return { ok: false, fatal: `${path}: nonzero padding in e_ident` };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(20, true) !== 1)
    return { ok: false, fatal: `${path}: ELF file version does not match current one` };
  if (view.getUint16(18, true) !== EM_X86_64) return { ok: false, otherClass: false };
  const type = view.getUint16(16, true);
  if (type !== 2 && type !== 3) return { ok: false, fatal: `${path}: only ET_DYN and ET_EXEC can be loaded` };
  if (view.getUint16(54, true) !== 56)
    return { ok: false, fatal: `${path}: ELF file's phentsize not the expected size` };
  return { ok: true, realPath: found.realPath, identity: found.identity, open: () => backing };
}

function isElfMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}
