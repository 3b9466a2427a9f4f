// A plain reference model of process memory for the model-based test: bytes
// per process and page, no frames, no sharing tricks. Private pages are
// copied eagerly at fork; shared anonymous memory is one object referenced
// by every VMA that maps it. Written independently of src/mm.
import { PROT_EXEC, PROT_READ, PROT_WRITE, type ExecPlan, type MemoryBacking } from '../src/mm/index.js';

export interface RefShared {
  pages: Map<number, Uint8Array>;
}

export interface RefVma {
  start: number;
  end: number;
  prot: number;
  /** File mapping: backing and byte offset of `start`. */
  file?: { backing: MemoryBacking; offset: number };
  /** Shared anonymous object and page offset of `start` in it. */
  shm?: { obj: RefShared; pgoff: number };
}

export class RefProcess {
  vmas: RefVma[] = [];
  /** Private pages that were written: vpn → bytes. */
  priv = new Map<number, Uint8Array>();

  constructor(readonly pageSize: number) {}

  vmaAt(addr: number): RefVma | undefined {
    return this.vmas.find((v) => v.start <= addr && addr < v.end);
  }

  /** The current bytes of the page holding `addr` (a copy for private pages not yet written). */
  private pageOf(v: RefVma, vpn: number): Uint8Array {
    const ps = this.pageSize;
    if (v.shm) {
      const off = v.shm.pgoff + vpn - v.start / ps;
      return v.shm.obj.pages.get(off) ?? new Uint8Array(ps);
    }
    const own = this.priv.get(vpn);
    if (own) return own;
    const page = new Uint8Array(ps);
    if (v.file) v.file.backing.readPage((v.file.offset + vpn * ps - v.start) / ps, page);
    return page;
  }

  /** The current bytes of the page at `addr` (which must be inside a VMA). */
  pageBytes(addr: number): Uint8Array {
    const v = this.vmaAt(addr);
    if (!v) throw new Error(`no VMA at 0x${addr.toString(16)}`);
    return this.pageOf(v, Math.floor(addr / this.pageSize)).slice();
  }

  readable(v: RefVma): boolean {
    return (v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0;
  }

  /** Reads bytes; returns undefined if the access faults (and where). */
  read(addr: number, len: number): { bytes?: Uint8Array; faultAt?: number } {
    const out = new Uint8Array(len);
    const ps = this.pageSize;
    for (let i = 0; i < len; ) {
      const a = addr + i;
      const v = this.vmaAt(a);
      if (!v || !this.readable(v)) return { faultAt: a };
      const vpn = Math.floor(a / ps);
      const page = this.pageOf(v, vpn);
      const n = Math.min(len - i, (vpn + 1) * ps - a);
      out.set(page.subarray(a - vpn * ps, a - vpn * ps + n), i);
      i += n;
    }
    return { bytes: out };
  }

  /** Writes bytes in order until the first faulting address; returns it, or undefined. */
  write(addr: number, bytes: Uint8Array, kernel = false): number | undefined {
    const ps = this.pageSize;
    for (let i = 0; i < bytes.length; ) {
      const a = addr + i;
      const v = this.vmaAt(a);
      if (!v) return a;
      const vpn = Math.floor(a / ps);
      const n = Math.min(bytes.length - i, (vpn + 1) * ps - a);
      if ((v.prot & PROT_WRITE) === 0) {
        if (kernel) {
          i += n;
          continue;
        }
        return a;
      }
      let page: Uint8Array;
      if (v.shm) {
        const off = v.shm.pgoff + vpn - v.start / ps;
        page = v.shm.obj.pages.get(off) ?? new Uint8Array(ps);
        v.shm.obj.pages.set(off, page);
      } else {
        page = this.priv.get(vpn) ?? this.pageOf(v, vpn);
        this.priv.set(vpn, page);
      }
      page.set(bytes.subarray(i, i + n), a - vpn * ps);
      i += n;
    }
    return undefined;
  }

  /** Checks an access without changing anything: the first faulting address, or undefined. */
  faultAt(addr: number, len: number, write: boolean): number | undefined {
    const ps = this.pageSize;
    for (let a = addr; a < addr + len; a = (Math.floor(a / ps) + 1) * ps) {
      const v = this.vmaAt(a);
      if (!v) return a;
      if (write ? (v.prot & PROT_WRITE) === 0 : !this.readable(v)) return a;
    }
    return undefined;
  }

  /** Removes [start, end) from the VMAs and drops private pages there. */
  unmap(start: number, end: number): void {
    const ps = this.pageSize;
    const out: RefVma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push(cut(v, v.start, start, ps));
      if (v.end > end) out.push(cut(v, end, v.end, ps));
    }
    this.vmas = out.sort((a, b) => a.start - b.start);
    for (const vpn of [...this.priv.keys()]) if (vpn * ps >= start && vpn * ps < end) this.priv.delete(vpn);
  }

  /** mprotect; false (and no change) if part of the range is unmapped. */
  protect(start: number, end: number, prot: number): boolean {
    const ps = this.pageSize;
    for (let a = start; a < end; a += ps) if (!this.vmaAt(a)) return false;
    const out: RefVma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < start) out.push(cut(v, v.start, start, ps));
      out.push({ ...cut(v, Math.max(v.start, start), Math.min(v.end, end), ps), prot });
      if (v.end > end) out.push(cut(v, end, v.end, ps));
    }
    this.vmas = out.sort((a, b) => a.start - b.start);
    return true;
  }

  /** MADV_DONTNEED: private pages of [start, end) are dropped (they read as the file or zeros again); shared ones stay. */
  dontneed(start: number, end: number): void {
    const ps = this.pageSize;
    for (const vpn of [...this.priv.keys()])
      if (vpn * ps >= start && vpn * ps < end && !this.vmaAt(vpn * ps)?.shm) this.priv.delete(vpn);
  }

  add(v: RefVma): void {
    this.unmap(v.start, v.end);
    this.vmas.push(v);
    this.vmas.sort((a, b) => a.start - b.start);
  }

  fork(): RefProcess {
    const c = new RefProcess(this.pageSize);
    c.vmas = this.vmas.map((v) => ({ ...v }));
    for (const [vpn, page] of this.priv) c.priv.set(vpn, page.slice());
    return c;
  }

  static exec(plan: ExecPlan, pageSize: number): RefProcess {
    const p = new RefProcess(pageSize);
    for (const v of plan.vmas) {
      const vma: RefVma = { start: v.start, end: v.end, prot: v.prot };
      if (v.file) vma.file = { backing: v.file.backing as MemoryBacking, offset: v.file.offset };
      else if (v.shared) vma.shm = { obj: { pages: new Map() }, pgoff: 0 };
      p.vmas.push(vma);
    }
    for (const w of plan.writes) p.write(w.addr, w.bytes, true);
    return p;
  }
}

function cut(v: RefVma, start: number, end: number, ps: number): RefVma {
  const r: RefVma = { ...v, start, end };
  if (v.file) r.file = { backing: v.file.backing, offset: v.file.offset + (start - v.start) };
  if (v.shm) r.shm = { obj: v.shm.obj, pgoff: v.shm.pgoff + (start - v.start) / ps };
  return r;
}
