/**
 * The steps that access memory — read (with an optional expected pattern),
 * write (a generated pattern, or a copy of another region) and touch —
 * carried out in chunks through Machine's read, write and touch, so each
 * byte goes through the page-fault path and no buffer grows with the range.
 */
import type { Machine } from '../mm/machine.js';
import { fillPattern } from './patterns.js';
import { RegionError, targetRanges, targetSpan, type Range, type RegionSource } from './regions.js';
import type { DataSpec, Target } from './scenario/types.js';

/** Bytes generated, copied or compared per machine call. */
const CHUNK = 256 * 1024;

export class AccessContext {
  private readonly buffer = new Uint8Array(CHUNK);
  private readonly expected = new Uint8Array(CHUNK);
  bytesVerified = 0;

  constructor(
    readonly machine: Machine,
    readonly proc: (name: string) => RegionSource,
  ) {}

  ranges(target: Target): { span: Range; ranges: Range[] } {
    const span = targetSpan(this.machine, this.proc(target.proc), target);
    return { span, ranges: targetRanges(span, target) };
  }

  touch(target: Target, access: 'read' | 'write'): void {
    const pid = this.proc(target.proc).pid;
    for (const r of this.ranges(target).ranges) this.machine.touch(pid, r.addr, r.length, access);
  }

  write(target: Target, data: DataSpec): void {
    const pid = this.proc(target.proc).pid;
    const { span, ranges } = this.ranges(target);
    const place = { pageSize: this.machine.pageSize, writeStart: span.addr };
    let source: { pid: number; addr: number } | undefined;
    if (data.kind === 'copy') {
      const from = this.proc(data.from.proc);
      const fromSpan = targetSpan(this.machine, from, { ...data.from, length: undefined, fraction: undefined });
      if (fromSpan.length < span.length) {
        throw new RegionError(
          `the copy source has ${fromSpan.length} bytes from its offset, fewer than the ${span.length} to write`,
        );
      }
      source = { pid: from.pid, addr: fromSpan.addr };
    }
    for (const r of ranges) {
      for (let done = 0; done < r.length; done += CHUNK) {
        const n = Math.min(CHUNK, r.length - done);
        const addr = r.addr + done;
        let bytes: Uint8Array;
        if (source !== undefined) {
          bytes = this.machine.read(source.pid, source.addr + (addr - span.addr), n);
        } else {
          bytes = this.buffer.subarray(0, n);
          fillPattern(data, bytes, addr, place);
        }
        this.machine.write(pid, addr, bytes);
      }
    }
  }

  /** Reads the target; with `expect`, throws RegionError at the first byte that differs. */
  read(target: Target, expect: DataSpec | undefined): void {
    const pid = this.proc(target.proc).pid;
    const { span, ranges } = this.ranges(target);
    const place = { pageSize: this.machine.pageSize, writeStart: span.addr };
    let source: { pid: number; addr: number } | undefined;
    if (expect?.kind === 'copy') {
      const from = this.proc(expect.from.proc);
      source = {
        pid: from.pid,
        addr: targetSpan(this.machine, from, { ...expect.from, length: undefined, fraction: undefined }).addr,
      };
    }
    for (const r of ranges) {
      for (let done = 0; done < r.length; done += CHUNK) {
        const n = Math.min(CHUNK, r.length - done);
        const addr = r.addr + done;
        const got = this.machine.read(pid, addr, n);
        if (expect === undefined) continue;
        let want: Uint8Array;
        if (source !== undefined) {
          want = this.machine.read(source.pid, source.addr + (addr - span.addr), n);
        } else {
          want = this.expected.subarray(0, n);
          fillPattern(expect, want, addr, place);
        }
        const at = firstDifference(got, want);
        if (at >= 0) {
          throw new RegionError(
            `read 0x${got[at]!.toString(16).padStart(2, '0')} at 0x${(addr + at).toString(16)} (byte ${addr + at - span.addr} of the range), expected 0x${want[at]!.toString(16).padStart(2, '0')}`,
          );
        }
        this.bytesVerified += n;
      }
    }
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
