/**
 * The one page-size rule, for every layer (scanner, container, memory model,
 * swap): 4 KiB (x86-64, most of Linux), 16 KiB (Apple silicon, some arm64
 * kernels) and 64 KiB (arm64/ppc64le kernels built with 64 KiB pages).
 * Anything else is refused: checkPageSize and parsePageSize throw a
 * UsageError (E_USAGE) for the scanner, pack and the swap devices; the
 * Machine's options and a container header use isPageSize and report in
 * their own terms (E_INVAL, E_CORRUPT).
 */
import { UsageError } from '../errors.js';

export const PAGE_SIZES = [4096, 16384, 65536] as const;
export type PageSize = (typeof PAGE_SIZES)[number];

/** True for the supported page sizes. */
export function isPageSize(pageSize: number): pageSize is PageSize {
  return (PAGE_SIZES as readonly number[]).includes(pageSize);
}

/** Checks a page size given as a number; returns it typed. */
export function checkPageSize(pageSize: number): PageSize {
  if (!isPageSize(pageSize)) {
    throw new UsageError(`page size must be 4096, 16384 or 65536 (got ${pageSize})`, {
      field: 'pageSize',
      actual: pageSize,
    });
  }
  return pageSize as PageSize;
}

/** Parses a --page-size value: "4096", "16384", "65536", or "4K"/"16K"/"64K" (also "4k", "4KiB"). */
export function parsePageSize(text: string): PageSize {
  const m = /^\s*(\d+)\s*(k|kib|K|KiB)?\s*$/.exec(text);
  const value = m ? Number(m[1]) * (m[2] ? 1024 : 1) : NaN;
  if (!isPageSize(value)) {
    throw new UsageError(`--page-size must be 4096, 16384 or 65536 (or 4K, 16K, 64K), not '${text}'`, {
      field: 'pageSize',
      actual: text,
    });
  }
  return value as PageSize;
}
