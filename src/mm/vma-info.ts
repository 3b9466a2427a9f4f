/**
 * A VMA as plain data, with the fields /proc/PID/maps prints and the
 * VmFlags line of smaps (fs/proc/task_mmu.c show_smap_vma_flags, in bit
 * order: rd wr ex sh mr mw me ms gd ac mg).
 *
 * VM_MAY* flags follow do_mmap: a private mapping may always become
 * writable (mw); a shared one only if it is writable now (the model does
 * not track the file's open mode). Every mapping may be read and executed
 * (no noexec mounts).
 */
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import type { VmaInfo } from './types.js';
import type { Vma } from './vma.js';

export function vmFlags(vma: Vma): string[] {
  const out: string[] = [];
  if (vma.prot & PROT_READ) out.push('rd');
  if (vma.prot & PROT_WRITE) out.push('wr');
  if (vma.prot & PROT_EXEC) out.push('ex');
  if (vma.shared) out.push('sh');
  out.push('mr');
  if (!vma.shared || vma.prot & PROT_WRITE) out.push('mw');
  out.push('me');
  if (vma.shared) out.push('ms');
  if (vma.growsDown) out.push('gd');
  if (vma.account) out.push('ac');
  if (vma.mergeable) out.push('mg');
  return out;
}

export function vmaInfo(core: MmCore, vma: Vma): VmaInfo {
  const space = vma.space;
  return {
    start: vma.start,
    end: vma.end,
    perms: vma.perms,
    prot: vma.prot,
    shared: vma.shared,
    offset: space === null ? 0 : vma.pgoff * core.pageSize,
    path: space?.path ?? vma.name ?? '',
    vmFlags: vmFlags(vma),
  };
}
