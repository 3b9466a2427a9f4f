/**
 * What `pagestack load IMAGE|FILE...` loads. Each argument is
 * - an ELF file: that program;
 * - a pagestack container: every member that is a program execve starts
 *   (an ELF ET_EXEC; an ET_DYN with PT_INTERP; a static PIE: ET_DYN
 *   without PT_INTERP but with DF_1_PIE in DT_FLAGS_1), in the container's
 *   order. The other regular members are skipped, each with the reason
 *   (not ELF, a shared library, ...), and the result lists them;
 * - CONTAINER:MEMBER: one member of a container (when no file of that
 *   whole name exists).
 * Programs of one load share a ProgramSet, so their pages share content
 * ids and page caches as one system's would.
 */
import * as fs from 'node:fs';
import { InputError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';
import { isContainerFile } from './container-reader.js';
import type { Program, ProgramSet } from './programs.js';

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_FLAGS_1 = 0x6ffffffbn;
const DF_1_PIE = 0x08000000n;
/** More dynamic entries than any linker writes; a larger PT_DYNAMIC is read only this far. */
const MAX_DYNAMIC_BYTES = 64 * 1024;

/** A container member `load` left out, and why. */
export interface SkippedMember {
  /** CONTAINER:MEMBER, as it would be given on the command line. */
  member: string;
  reason: string;
}

export interface ResolvedImages {
  programs: Program[];
  skipped: SkippedMember[];
}

export async function resolveImages(args: readonly string[], set: ProgramSet): Promise<ResolvedImages> {
  const programs: Program[] = [];
  const skipped: SkippedMember[] = [];
  for (const arg of args) {
    if (fs.existsSync(arg)) {
      if (isContainerFile(arg)) programs.push(...(await containerPrograms(arg, set, skipped)));
      else programs.push(set.elf(arg, arg));
      continue;
    }
    const colon = arg.indexOf(':');
    const container = colon > 0 ? arg.slice(0, colon) : '';
    if (container !== '' && fs.existsSync(container) && isContainerFile(container)) {
      const member = arg.slice(colon + 1);
      programs.push(await set.member(arg, container, member));
      continue;
    }
    // Let the ELF path report the missing file in the usual words.
    programs.push(set.elf(arg, arg));
  }
  return { programs, skipped };
}

async function containerPrograms(path: string, set: ProgramSet, skipped: SkippedMember[]): Promise<Program[]> {
  const source = await set.container(path);
  const out: Program[] = [];
  for (const entry of source.container.files) {
    if (entry.kind !== 'regular' && entry.kind !== 'hardlink') continue;
    const reason = whyNotProgram(source.program(entry.path));
    if (reason !== undefined) {
      skipped.push({ member: `${path}:${entry.path}`, reason });
      continue;
    }
    out.push(await set.member(`${path}:${entry.path}`, path, entry.path));
  }
  if (out.length === 0) {
    throw new InputError(
      'E_NOPROGRAM',
      `${path}: the container holds no program (an ELF executable: ET_EXEC, or a PIE with an interpreter or DF_1_PIE)`,
      { file: path },
    );
  }
  return out;
}

/** Whether a file looks like a program execve would start (see whyNotProgram). */
export function isProgram(backing: FileBacking): boolean {
  return whyNotProgram(backing) === undefined;
}

/**
 * Undefined for a program execve starts: ELF64 little-endian, and ET_EXEC,
 * or ET_DYN with PT_INTERP, or ET_DYN with DF_1_PIE (a static PIE).
 * Otherwise the reason it is not one, in a few words.
 */
export function whyNotProgram(backing: FileBacking): string | undefined {
  if (backing.size < 4) return 'not an ELF file';
  const page = new Uint8Array(backing.pageSize);
  backing.readPage(0, page);
  const view = new DataView(page.buffer);
  if (view.getUint32(0, false) !== 0x7f454c46) return 'not an ELF file';
  if (backing.size < 64 || page[4] !== 2 || page[5] !== 1) return 'not a 64-bit little-endian ELF file';
  const type = view.getUint16(16, true);
  if (type === ET_EXEC) return undefined;
  if (type === ET_REL) return 'a relocatable object (ET_REL), not a program';
  if (type === ET_CORE) return 'a core dump (ET_CORE), not a program';
  if (type !== ET_DYN) return `ELF type ${type} is not a program`;
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize < 56 || phnum === 0 || phoff + phentsize * phnum > backing.size)
    return 'ET_DYN without a readable program header table';
  const headers = new Uint8Array(phentsize * phnum);
  readBytes(backing, phoff, headers);
  const hv = new DataView(headers.buffer);
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const type = hv.getUint32(i * phentsize, true);
    if (type === PT_INTERP) return undefined;
    if (type === PT_DYNAMIC && dynamic === undefined) {
      dynamic = {
        offset: Number(hv.getBigUint64(i * phentsize + 8, true)),
        size: Number(hv.getBigUint64(i * phentsize + 32, true)),
      };
    }
  }
  if (dynamic !== undefined && hasPieFlag(backing, dynamic.offset, dynamic.size)) return undefined;
  return 'a shared library or dynamic linker (ET_DYN with neither PT_INTERP nor DF_1_PIE)';
}

/** Whether the dynamic section at [offset, offset + size) of the file has DF_1_PIE in DT_FLAGS_1. */
function hasPieFlag(backing: FileBacking, offset: number, size: number): boolean {
  if (offset >= backing.size) return false;
  const length = Math.min(size, backing.size - offset, MAX_DYNAMIC_BYTES) & ~15;
  const entries = new Uint8Array(length);
  readBytes(backing, offset, entries);
  const view = new DataView(entries.buffer);
  for (let at = 0; at + 16 <= length; at += 16) {
    const tag = view.getBigInt64(at, true);
    if (BigInt.asUintN(64, tag) === DT_NULL) break;
    if (BigInt.asUintN(64, tag) === DT_FLAGS_1) return (view.getBigUint64(at + 8, true) & DF_1_PIE) !== 0n;
  }
  return false;
}

/** Reads `into.length` bytes at `offset` through readPage (zeros past the end). */
function readBytes(backing: FileBacking, offset: number, into: Uint8Array): void {
  const ps = backing.pageSize;
  const page = new Uint8Array(ps);
  let done = 0;
  while (done < into.length) {
    const pos = offset + done;
    const index = Math.floor(pos / ps);
    if (index >= backing.pageCount) break;
    backing.readPage(index, page);
    const n = Math.min(ps - (pos % ps), into.length - done);
    into.set(page.subarray(pos % ps, (pos % ps) + n), done);
    done += n;
  }
}
