/**
 * /proc/PID/maps, smaps and smaps_rollup text, byte for byte in the
 * kernel's format (fs/proc/task_mmu.c show_vma_header_prefix, __show_smap,
 * show_smap, show_smaps_rollup), from the plain data the Machine returns.
 *
 * The device and inode columns are printed as 00:00 0: the model has no
 * block devices. Values are kB (bytes >> 10), right-aligned in 8 columns
 * after a 16-column label.
 */
import type { SmapsCounters, SmapsEntry, SmapsRollup, VmaInfo } from './types.js';

/** seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) on 64-bit. */
const NAME_COLUMN = 25 + 8 * 6 - 1;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function headerLine(start: number, end: number, perms: string, offset: number, path: string): string {
  const prefix = `${hex8(start)}-${hex8(end)} ${perms} ${hex8(offset)} 00:00 0 `;
  if (path === '') return prefix;
  return `${prefix.padEnd(NAME_COLUMN, ' ')} ${path}`;
}

/** One /proc/PID/maps line (without the newline). */
export function formatMapsLine(vma: VmaInfo): string {
  return headerLine(vma.start, vma.end, vma.perms, vma.offset, vma.path);
}

/** A whole /proc/PID/maps file. */
export function formatMaps(vmas: readonly VmaInfo[]): string {
  return vmas.map((v) => `${formatMapsLine(v)}\n`).join('');
}

function kbLine(label: string, bytes: number): string {
  return `${(`${label}:`).padEnd(16, ' ')}${String(Math.floor(bytes / 1024)).padStart(8, ' ')} kB\n`;
}

function counterLines(c: SmapsCounters, rollup: boolean): string {
  let s = kbLine('Rss', c.rss) + kbLine('Pss', c.pss) + kbLine('Pss_Dirty', c.pssDirty);
  if (rollup) s += kbLine('Pss_Anon', c.pssAnon) + kbLine('Pss_File', c.pssFile) + kbLine('Pss_Shmem', c.pssShmem);
  s +=
    kbLine('Shared_Clean', c.sharedClean) +
    kbLine('Shared_Dirty', c.sharedDirty) +
    kbLine('Private_Clean', c.privateClean) +
    kbLine('Private_Dirty', c.privateDirty) +
    kbLine('Referenced', c.referenced) +
    kbLine('Anonymous', c.anonymous) +
    kbLine('KSM', c.ksm) +
    kbLine('LazyFree', c.lazyFree) +
    kbLine('AnonHugePages', 0) +
    kbLine('ShmemPmdMapped', 0) +
    kbLine('FilePmdMapped', 0) +
    kbLine('Shared_Hugetlb', 0) +
    kbLine('Private_Hugetlb', 0) +
    kbLine('Swap', c.swap) +
    kbLine('SwapPss', c.swapPss) +
    kbLine('Locked', c.locked);
  return s;
}

/** A whole /proc/PID/smaps file. */
export function formatSmaps(entries: readonly SmapsEntry[]): string {
  let s = '';
  for (const e of entries) {
    s += `${formatMapsLine(e)}\n`;
    s += kbLine('Size', e.size) + kbLine('KernelPageSize', e.kernelPageSize) + kbLine('MMUPageSize', e.mmuPageSize);
    s += counterLines(e, false);
    s += `THPeligible:    ${String(0).padStart(8, ' ')}\n`;
    s += `ProtectionKey:  ${String(0).padStart(8, ' ')}\n`;
    s += `VmFlags: ${e.vmFlags.map((f) => `${f} `).join('')}\n`;
  }
  return s;
}

/** /proc/PID/smaps_rollup. */
export function formatSmapsRollup(r: SmapsRollup): string {
  return `${headerLine(r.start, r.end, '---p', 0, '[rollup]')}\n${counterLines(r, true)}`;
}
