/**
 * Argument checks of Machine: its options, and an ExecPlan before exec maps
 * it. Every refusal is SimulationError E_INVAL naming the field.
 */
import type { ExecPlan } from '../abi/exec-plan.js';
import { PAGE_SIZES, isPageSize, type PageSize } from '../abi/page-size.js';
import { SimulationError } from '../errors.js';
import { MAX_FRAME } from './pte.js';
import type { MachineOptions, PageCacheMode } from './types.js';
import { TASK_SIZE } from './vma-ops.js';

export function invalid(message: string, data: Record<string, unknown> = {}): SimulationError {
  return new SimulationError('E_INVAL', message, data);
}

export interface CheckedOptions {
  pageSize: PageSize;
  frames: number;
  frameLimit: number;
  pageCache: PageCacheMode;
  faultAround: number;
  readAround: number;
}

/** The options a Machine is built from, checked, with their defaults. */
export function checkMachineOptions(options: MachineOptions): CheckedOptions {
  const pageSize = options.pageSize ?? 4096;
  if (!isPageSize(pageSize))
    throw invalid(`pageSize must be one of ${PAGE_SIZES.join(', ')}, not ${pageSize}`, {
      field: 'pageSize',
      actual: pageSize,
    });
  const frames = options.frames;
  if (!Number.isInteger(frames) || frames < 1 || frames > MAX_FRAME) {
    throw invalid(`frames must be an integer from 1 to ${MAX_FRAME}, not ${frames}`, {
      field: 'frames',
      actual: frames,
    });
  }
  const frameLimit = options.frameLimit ?? frames;
  if (!Number.isInteger(frameLimit) || frameLimit < 1 || frameLimit > frames) {
    throw invalid(`frameLimit must be an integer from 1 to frames (${frames}), not ${frameLimit}`, {
      field: 'frameLimit',
    });
  }
  const pageCache = options.pageCache ?? 'file';
  if (pageCache !== 'file' && pageCache !== 'content') {
    throw invalid(`pageCache must be 'file' or 'content', not ${String(pageCache)}`, { field: 'pageCache' });
  }
  const faultAround = options.faultAround ?? 16;
  if (
    !Number.isInteger(faultAround) ||
    faultAround < 1 ||
    faultAround > 512 ||
    (faultAround & (faultAround - 1)) !== 0
  ) {
    throw invalid(`faultAround must be a power of two from 1 to 512 pages, not ${faultAround}`, {
      field: 'faultAround',
    });
  }
  const readAround = options.readAround ?? 32;
  if (!Number.isInteger(readAround) || readAround < 0 || readAround > 4096) {
    throw invalid(`readAround must be an integer from 0 to 4096 pages, not ${readAround}`, { field: 'readAround' });
  }
  return { pageSize, frames, frameLimit, pageCache, faultAround, readAround };
}

/** The ioPages option (bdi->io_pages), default 1024. */
export function checkIoPages(ioPages: number | undefined): number {
  const n = ioPages ?? 1024;
  if (!Number.isInteger(n) || n < 1 || n > 65536) {
    throw invalid(`ioPages must be an integer from 1 to 65536, not ${n}`, { field: 'ioPages' });
  }
  return n;
}

/** An ExecPlan's VMAs must be page-aligned, non-empty, in order and inside user space. */
export function checkPlan(plan: ExecPlan, ps: number): void {
  let prevEnd = 0;
  for (const v of plan.vmas) {
    const where = { file: plan.path, start: v.start, end: v.end };
    if (!Number.isSafeInteger(v.start) || !Number.isSafeInteger(v.end) || v.start % ps !== 0 || v.end % ps !== 0) {
      throw invalid(`${plan.path}: VMA 0x${v.start.toString(16)}-0x${v.end.toString(16)} is not page-aligned`, where);
    }
    if (v.end <= v.start || v.start < prevEnd || v.end > TASK_SIZE) {
      throw invalid(
        `${plan.path}: VMA 0x${v.start.toString(16)}-0x${v.end.toString(16)} is empty, overlaps or is out of order`,
        where,
      );
    }
    if (v.file !== undefined && (v.file.offset % ps !== 0 || v.file.offset < 0)) {
      throw invalid(`${plan.path}: VMA file offset ${v.file.offset} is not page-aligned`, where);
    }
    prevEnd = v.end;
  }
}
