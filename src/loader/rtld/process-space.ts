/**
 * The process as ld.so changes it after execve: the kernel's VMA list (to
 * place each new mapping where get_unmapped_area would), the system calls
 * ld.so makes, in order (mmap, munmap, mprotect), and the bytes it writes.
 *
 * Writes go to a page overlay that starts from what the page held (the
 * file's bytes, zeros, or what execve wrote), so values ld.so reads back
 * (a COPY relocation's source) are the relocated ones. Dirty pages are
 * emitted as whole-page writes at `flush()` (before a protection change
 * and at the end): the memory model then breaks COW on exactly those
 * pages, with exactly those bytes.
 */
import { InternalError } from '../../errors.js';
import type { FileBacking } from '../../abi/file-backing.js';
import { ExecVmas, type Area } from '../exec-vmas.js';
import type { ExecPlan } from '../../abi/exec-plan.js';
import { PROT_WRITE } from '../../abi/exec-plan.js';

export type RtldOp =
  | {
      op: 'mmap';
      addr: number;
      length: number;
      prot: number;
      file?: { backing: FileBacking; offset: number };
      what: string;
    }
  | { op: 'munmap'; addr: number; length: number; what: string }
  | { op: 'mprotect'; addr: number; length: number; prot: number; what: string }
  | { op: 'write'; addr: number; bytes: Uint8Array }
  | { op: 'read'; addr: number; length: number };

const PAGE = 4096;

export class ProcessSpace {
  readonly space: ExecVmas;
  readonly ops: RtldOp[] = [];
  private readonly overlay = new Map<number, Uint8Array>();
  private readonly dirty = new Set<number>();

  constructor(private readonly plan: ExecPlan) {
    this.space = new ExecVmas(BigInt(plan.mmapBase ?? 0x7ffff7fff000));
    const areas: Area[] = [...plan.vmas, ...(plan.specialMappings ?? [])].map((v) => {
      const a: Area = { start: BigInt(v.start), end: BigInt(v.end), prot: v.prot };
      if (v.file) a.file = { backing: v.file.backing, offset: BigInt(v.file.offset) };
      if (v.name !== undefined) a.name = v.name;
      if (v.name === '[stack]') a.growsDown = true;
      if (plan.specialMappings?.includes(v)) a.special = true;
      return a;
    });
    areas.sort((x, y) => (x.start < y.start ? -1 : 1));
    this.space.areas.push(...areas);
  }

  /** get_unmapped_area(NULL, len) top-down, or 2 MiB-aligned for a large file mapping on ext4/XFS. */
  findArea(length: number, file?: { thpAligned: boolean; offset: number }): number {
    const len = BigInt(pageUp(length));
    const at = this.space.getUnmappedArea(
      0n,
      len,
      file ? { thpAligned: file.thpAligned, offset: BigInt(file.offset) } : undefined,
    );
    if (at === undefined) throw new InternalError(`no room for a ${length}-byte mapping`);
    return Number(at);
  }

  /** mmap with MAP_FIXED at `addr` (callers found the address first). */
  mmapFixed(
    addr: number,
    length: number,
    prot: number,
    what: string,
    file?: { backing: FileBacking; offset: number },
  ): void {
    const len = pageUp(length);
    this.dropOverlay(addr, addr + len);
    const area: Area = { start: BigInt(addr), end: BigInt(addr + len), prot };
    if (file) area.file = { backing: file.backing, offset: BigInt(file.offset) };
    this.space.mapFixed(area);
    const op: RtldOp = { op: 'mmap', addr, length: len, prot, what };
    if (file) op.file = file;
    this.ops.push(op);
  }

  munmap(addr: number, length: number, what: string): void {
    const len = pageUp(length);
    this.flush();
    this.dropOverlay(addr, addr + len);
    this.space.unmap(BigInt(addr), BigInt(addr + len));
    this.ops.push({ op: 'munmap', addr, length: len, what });
  }

  mprotect(addr: number, length: number, prot: number, what: string): void {
    const len = pageUp(length);
    if (len === 0) return;
    this.flush();
    const start = BigInt(addr);
    const end = BigInt(addr + len);
    const pieces: Area[] = [];
    for (const a of this.space.areas) {
      if (a.end <= start || a.start >= end) continue;
      const s = a.start > start ? a.start : start;
      const e = a.end < end ? a.end : end;
      const piece: Area = { ...a, start: s, end: e, prot };
      if (a.file) piece.file = { backing: a.file.backing, offset: a.file.offset + (s - a.start) };
      pieces.push(piece);
    }
    this.space.unmap(start, end);
    for (const p of pieces) this.space.mapFixed(p);
    this.ops.push({ op: 'mprotect', addr, length: len, prot, what });
  }

  /** A store by ld.so: the page is copied (COW) and changed. */
  write(addr: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const a = addr + done;
      const page = Math.floor(a / PAGE);
      const off = a - page * PAGE;
      const n = Math.min(PAGE - off, bytes.length - done);
      this.page(page).set(bytes.subarray(done, done + n), off);
      this.dirty.add(page);
      done += n;
    }
  }

  writeU64(addr: number, value: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.write(addr, b);
  }

  /** A load by ld.so through the mapping: the pages are faulted in for reading. */
  fault(addr: number, length: number): void {
    if (length <= 0) return;
    const first = this.areaAt(addr);
    const last = this.areaAt(addr + length - 1);
    if (!first || !last || first.prot === 0 || last.prot === 0) return;
    for (const a of this.space.areas)
      if (a.start < BigInt(addr + length) && a.end > BigInt(addr) && a.prot === 0) return;
    this.ops.push({ op: 'read', addr, length });
  }

  /** Marks [addr, addr + length) written without knowing the bytes (they stay as they were). */
  touch(addr: number, length: number): void {
    for (let p = Math.floor(addr / PAGE); p * PAGE < addr + length; p++) {
      this.page(p);
      this.dirty.add(p);
    }
  }

  read(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const page = Math.floor(a / PAGE);
      const off = a - page * PAGE;
      const n = Math.min(PAGE - off, length - done);
      out.set(this.page(page).subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  readU64(addr: number): bigint {
    const b = this.read(addr, 8);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  /** The VMA holding `addr`, as the kernel has it now. */
  areaAt(addr: number): Area | undefined {
    return this.space.find(BigInt(addr));
  }

  /** Emits the pages written since the last flush as whole-page writes, in address order. */
  flush(): void {
    const pages = [...this.dirty].sort((a, b) => a - b);
    for (const p of pages) {
      const area = this.areaAt(p * PAGE);
      if (!area || !(area.prot & PROT_WRITE)) continue;
      this.ops.push({ op: 'write', addr: p * PAGE, bytes: this.page(p).slice() });
    }
    this.dirty.clear();
  }

  /** The page's current bytes: the overlay, or what the mapping holds (file bytes, zeros) plus execve's writes. */
  private page(page: number): Uint8Array {
    let bytes = this.overlay.get(page);
    if (bytes) return bytes;
    bytes = new Uint8Array(PAGE);
    const addr = page * PAGE;
    const area = this.areaAt(addr);
    if (area?.file) {
      const off = Number(area.file.offset + (BigInt(addr) - area.start));
      area.file.backing.readPage(off / PAGE, bytes);
    }
    for (const w of this.plan.writes) {
      const lo = Math.max(w.addr, addr);
      const hi = Math.min(w.addr + w.bytes.length, addr + PAGE);
      if (lo < hi) bytes.set(w.bytes.subarray(lo - w.addr, hi - w.addr), lo - addr);
    }
    this.overlay.set(page, bytes);
    return bytes;
  }

  private dropOverlay(start: number, end: number): void {
    for (let p = Math.floor(start / PAGE); p * PAGE < end; p++) {
      this.overlay.delete(p);
      this.dirty.delete(p);
    }
  }
}

export const pageUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;
export const pageDown = (n: number): number => Math.floor(n / PAGE) * PAGE;
