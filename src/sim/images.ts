/**
 * What `pagestack load IMAGE|FILE...` loads. Each argument is
 * - an ELF file: that program;
 * - a pagestack container: every member that is a program (an ELF
 *   ET_EXEC, or an ET_DYN with PT_INTERP: shared libraries and the
 *   dynamic linker itself are left out), in the container's order;
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

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_INTERP = 3;

export async function resolveImages(args: readonly string[], set: ProgramSet): Promise<Program[]> {
  const programs: Program[] = [];
  for (const arg of args) {
    if (fs.existsSync(arg)) {
      if (isContainerFile(arg)) programs.push(...(await containerPrograms(arg, set)));
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
  return programs;
}

async function containerPrograms(path: string, set: ProgramSet): Promise<Program[]> {
  const source = await set.container(path);
  const out: Program[] = [];
  for (const entry of source.container.files) {
    if (entry.kind !== 'regular' && entry.kind !== 'hardlink') continue;
    if (!isProgram(source.program(entry.path))) continue;
    out.push(await set.member(`${path}:${entry.path}`, path, entry.path));
  }
  if (out.length === 0) throw new InputError('E_NOPROGRAM', `${path}: the container holds no program (ELF executable with an interpreter, or ET_EXEC)`, { file: path });
  return out;
}

/** Whether a file looks like a program execve would start: ELF64, ET_EXEC, or ET_DYN with PT_INTERP. */
export function isProgram(backing: FileBacking): boolean {
  if (backing.size < 64) return false;
  const page = new Uint8Array(backing.pageSize);
  backing.readPage(0, page);
  const view = new DataView(page.buffer);
  if (view.getUint32(0, false) !== 0x7f454c46 || page[4] !== 2 || page[5] !== 1) return false;
  const type = view.getUint16(16, true);
  if (type === ET_EXEC) return true;
  if (type !== ET_DYN) return false;
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize < 56) return false;
  const headers = new Uint8Array(phentsize * phnum);
  readBytes(backing, phoff, headers);
  const hv = new DataView(headers.buffer);
  for (let i = 0; i < phnum; i++) if (hv.getUint32(i * phentsize, true) === PT_INTERP) return true;
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
