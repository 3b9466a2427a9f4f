/**
 * /proc/PID/maps of a planned process, byte for byte as fs/proc/task_mmu.c
 * prints it (show_map_vma, show_vma_header_prefix):
 *
 *   seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)       -> pad to 72 columns
 *   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "        (hex via seq_put_hex_ll)
 *   then, when the VMA has a name: seq_pad(m, ' ') and the name.
 *
 * so a named line has its path at column 73, and an anonymous line without
 * a name ends in "0 " (the trailing space is the kernel's). The offset of an
 * anonymous VMA prints as 0. [vsyscall] (the x86-64 gate area) comes last,
 * as the kernel appends it after the VMA list.
 */
import type { FileBacking } from '../abi/file-backing.js';
import type { ExecPlan, VmaPlan } from '../abi/exec-plan.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';

/** One line of /proc/PID/maps, its columns as data. */
export interface MapsLine {
  start: number;
  end: number;
  /** 'r-xp' and the like. */
  perms: string;
  offset: number;
  /** 'fe:00'. */
  dev: string;
  inode: bigint;
  /** The file's path, '[stack]', '[vdso]', ... or '' for plain anonymous memory. */
  pathname: string;
  /** The line as the kernel prints it. */
  text: string;
}

/** vsyscall=xonly, the default since 5.x: one execute-only page at a fixed kernel address. */
const VSYSCALL_LINE = 'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]';

export interface MapsOptions {
  /** Include [vvar], [vvar_vclock], [vdso] and [vsyscall]; default true. */
  special?: boolean;
}

/** The lines of /proc/PID/maps right after execve, in address order. */
export function mapsLines(plan: ExecPlan, options: MapsOptions = {}): MapsLine[] {
  const special = options.special ?? true;
  const vmas = [...plan.vmas, ...(special ? (plan.specialMappings ?? []) : [])].sort((a, b) => a.start - b.start);
  return vmas.map(mapsLine);
}

/** /proc/PID/maps as text, newline-terminated lines. */
export function formatMaps(plan: ExecPlan, options: MapsOptions = {}): string {
  const lines = mapsLines(plan, options).map((l) => l.text);
  if (options.special ?? true) lines.push(VSYSCALL_LINE);
  return lines.map((l) => `${l}\n`).join('');
}

function mapsLine(vma: VmaPlan): MapsLine {
  const perms =
    (vma.prot & PROT_READ ? 'r' : '-') +
    (vma.prot & PROT_WRITE ? 'w' : '-') +
    (vma.prot & PROT_EXEC ? 'x' : '-') +
    (vma.shared ? 's' : 'p');
  const identity = vma.file ? fileIdentity(vma.file.backing) : { major: 0, minor: 0, inode: 0n };
  const offset = vma.file ? vma.file.offset : 0;
  const dev = `${hex(identity.major, 2)}:${hex(identity.minor, 2)}`;
  const pathname = vma.file ? vma.file.backing.path : (vma.name ?? '');
  let text = `${hex(vma.start, 8)}-${hex(vma.end, 8)} ${perms} ${hex(offset, 8)} ${dev} ${identity.inode} `;
  if (pathname !== '') text = `${text.padEnd(72, ' ')} ${escapePath(pathname)}`;
  return { start: vma.start, end: vma.end, perms, offset, dev, inode: identity.inode, pathname, text };
}

/** seq_put_hex_ll: lowercase hex, zero-padded to a minimum width. */
function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

/** seq_path escapes "\n" as \012 in maps (show_map_vma passes "\n"). */
function escapePath(path: string): string {
  return path.replace(/\n/g, '\\012');
}

/** st_dev and st_ino of a plain file; a backing without them (a container member) shows 00:00 0. */
function fileIdentity(backing: FileBacking): { major: number; minor: number; inode: bigint } {
  const b = backing as Partial<{ major: number; minor: number; inode: bigint }>;
  if (typeof b.major === 'number' && typeof b.minor === 'number' && typeof b.inode === 'bigint') {
    return { major: b.major, minor: b.minor, inode: b.inode };
  }
  return { major: 0, minor: 0, inode: 0n };
}
