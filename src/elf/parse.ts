// Placeholder: the ELF reader is being written (issue 2). See types.ts for the API.
import { ElfError } from '../errors.js';
import type { ElfFile } from './types.js';

/** True when the bytes start with the ELF magic \x7fELF. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Parses the ELF header, program headers and section headers of `bytes`.
 * Throws ElfError when the file is not ELF or its ELF header is unreadable;
 * damage to the program or section header tables is reported in `warnings`.
 */
export function parseElf(bytes: Uint8Array, file: string): ElfFile {
  throw new ElfError('E_ELF_UNIMPLEMENTED', `${file}: ELF reader not yet implemented (${bytes.length} bytes)`, { file });
}
