/**
 * User accesses to a range of virtual memory: the loop that stands for the
 * CPU's loads and stores. For each page it tries the fast path (present
 * PTE, writable if writing: set the accessed/dirty bits, as the MMU does)
 * and calls the fault handler otherwise. Optionally copies bytes in or out.
 *
 * Protection follows x86's access_error(): a read needs any of PROT_READ,
 * PROT_WRITE, PROT_EXEC (no execute-only pages without pkeys); a write
 * needs PROT_WRITE. A violation or an address outside every VMA is E_SEGV.
 * Kernel writes (exec's padzero and stack contents) skip VMAs without
 * PROT_WRITE, as padzero's failure is ignored for read-only segments.
 */
import { SimulationError } from '../errors.js';
import { PROT_EXEC, PROT_READ, PROT_WRITE } from '../abi/exec-plan.js';
import type { MmCore } from './core.js';
import { handleFault } from './fault.js';
import { PTRS_PER_PTE } from './page-table.js';
import type { Process } from './process.js';
import { PTE_DIRTY, PTE_WRITE, PTE_YOUNG, pteFrame } from './pte.js';
import { findVmaIndex } from './vma.js';

export type AccessKind = 'read' | 'write';

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Touches every page of [addr, addr + len) for reading or writing. With
 * `buf`, copies len bytes out of memory into it (read) or from it into
 * memory (write).
 */
export function accessRange(
  core: MmCore,
  proc: Process,
  addr: number,
  len: number,
  write: boolean,
  buf: Uint8Array | null,
  kernel = false,
): void {
  const ps = core.pageSize;
  const pt = core.pt;
  const end = addr + len;
  const want = write ? PTE_YOUNG | PTE_DIRTY : PTE_YOUNG;
  let a = addr;
  while (a < end) {
    const vi = findVmaIndex(proc.vmas, a);
    if (vi < 0) {
      throw new SimulationError(
        'E_SEGV',
        `pid ${proc.pid}: ${write ? 'write' : 'read'} at ${hex(a)} outside any mapping`,
        {
          pid: proc.pid,
          addr: a,
          access: write ? 'write' : 'read',
        },
      );
    }
    const vma = proc.vmas[vi]!;
    const stop = Math.min(end, vma.end);
    const allowed = write ? (vma.prot & PROT_WRITE) !== 0 : (vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0;
    if (!allowed) {
      if (kernel) {
        a = stop;
        continue;
      }
      throw new SimulationError(
        'E_SEGV',
        `pid ${proc.pid}: ${write ? 'write' : 'read'} at ${hex(a)} in a ${vma.perms} mapping`,
        {
          pid: proc.pid,
          addr: a,
          access: write ? 'write' : 'read',
          perms: vma.perms,
        },
      );
    }
    let vpn = Math.floor(a / ps);
    const vpnEnd = Math.ceil(stop / ps);
    while (vpn < vpnEnd) {
      const d = Math.floor(vpn / PTRS_PER_PTE);
      const page = pt.ensurePage(proc.dir, proc.pid, d);
      const first = page * PTRS_PER_PTE - d * PTRS_PER_PTE;
      const lim = Math.min(vpnEnd, (d + 1) * PTRS_PER_PTE);
      for (; vpn < lim; vpn++) {
        const slot = first + vpn;
        const pte = pt.pte[slot]!;
        if (pte > 0 && (!write || (pte & PTE_WRITE) !== 0)) {
          if ((pte & want) !== want) pt.pte[slot] = pte | want;
        } else {
          handleFault(core, proc, vma, slot, vpn, write);
        }
        if (buf !== null) copyPage(core, pteFrame(pt.pte[slot]!), vpn * ps, a, end, buf, addr, write);
      }
    }
    a = stop;
  }
}

/** Copies the part of [from, end) that lies in the page at `pageStart`, to or from `buf` (which starts at `bufAddr`). */
function copyPage(
  core: MmCore,
  frame: number,
  pageStart: number,
  from: number,
  end: number,
  buf: Uint8Array,
  bufAddr: number,
  write: boolean,
): void {
  const lo = Math.max(pageStart, from);
  const hi = Math.min(pageStart + core.pageSize, end);
  if (hi <= lo) return;
  if (write) core.contents.write(frame, lo - pageStart, buf, lo - bufAddr, hi - lo);
  else core.contents.read(frame, lo - pageStart, buf, lo - bufAddr, hi - lo);
}
