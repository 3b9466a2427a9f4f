/**
 * ldd's output (glibc 2.36's ldd script running `ld.so FILE` with
 * LD_TRACE_LOADED_OBJECTS=1, elf/rtld.c): one line per object in link-map
 * order,
 *
 *   \tNAME => PATH (0xADDRESS)     a library found at PATH
 *   \tNAME (0xADDRESS)            when NAME is the path itself (the vDSO, ld.so)
 *   \tNAME => not found           a library in no search directory
 *
 * and "\tstatically linked" for a program with a PT_INTERP but no
 * DT_NEEDED. ld.so is named by the path ldd ran it as; the program's
 * PT_INTERP is the name it was asked for. The address column is left out
 * unless given (the model's addresses come from the mapping step).
 */
import type { RtldResolution } from './types.js';

/** The ld.so ldd runs on x86-64 (RTLDLIST). */
export const LDD_RTLD = '/lib64/ld-linux-x86-64.so.2';

export interface LddLine {
  /** l_libname->name: the name asked for. */
  name: string;
  /** l_name: the path opened; undefined for "not found". */
  path?: string;
  /** The object's load address, when known. */
  address?: bigint;
}

/** The lines ldd prints for a resolution made in trace mode; undefined when ldd says "statically linked". */
export function lddLines(r: RtldResolution, addressOf?: (path: string) => bigint | undefined): LddLine[] | undefined {
  if (r.program.needed.length === 0) return undefined;
  return r.ldd.map((e): LddLine => {
    if (e.kind === 'missing') return { name: e.name };
    const line: LddLine =
      e.kind === 'vdso' ? { name: e.name, path: e.name } : { name: e.requestedAs, path: e.object.name };
    const address = addressOf?.(line.path!);
    if (address !== undefined) line.address = address;
    return line;
  });
}

/** ldd's text; the address column as "(0x…)" only where an address is known. */
export function formatLdd(r: RtldResolution, addressOf?: (path: string) => bigint | undefined): string {
  const lines = lddLines(r, addressOf);
  if (!lines) return '\tstatically linked\n';
  return lines
    .map((l) => {
      const addr = l.address === undefined ? '' : ` (0x${l.address.toString(16).padStart(16, '0')})`;
      if (l.path === undefined) return `\t${l.name} => not found\n`;
      if (l.path === l.name) return `\t${l.name}${addr}\n`;
      return `\t${l.name} => ${l.path}${addr}\n`;
    })
    .join('');
}
