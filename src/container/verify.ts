/**
 * verify: every check FORMAT.md section 9 lists, over the whole container:
 * header, section directory, table checksums, table structure (all in
 * openContainer), then the gaps between structures (must be zero), the
 * checksums of unknown optional sections, and every stored page (stored
 * checksum, decoding to exactly one page, page checksum).
 *
 * The result names the first damaged structure and its offset. Damage in
 * the header or tables stops the check there (nothing after it can be
 * trusted); damaged pages are counted and the check goes on.
 */
import type { ErrorCode } from '../error-codes.js';
import { ContainerError } from '../errors.js';
import { loadPageHasher } from '../scan/hash.js';
import { SECTION_CHECKSUMMED, sectionName } from './format.js';
import { openContainer, type Container } from './reader.js';

export interface Damage {
  code: ErrorCode;
  /** The damaged structure, e.g. 'header', 'file table', 'stored page 17'. */
  structure: string;
  offset: number;
  message: string;
  /** Where the damage was detected in pagestack's code (not enumerable: not in JSON). */
  readonly stack?: string;
}

export interface VerifyResult {
  file: string;
  ok: boolean;
  /** The first damage found (undefined when ok). */
  damage?: Damage;
  containerBytes?: number;
  files?: number;
  storedPages?: number;
  /** Stored pages read and checked. */
  checkedPages: number;
  damagedPages: number;
}

export interface VerifyOptions {
  /** Called as stored pages are checked: (decoded page bytes checked so far, total). */
  onProgress?: (done: number, total: number) => void;
}

export async function verify(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  let container: Container;
  try {
    container = await openContainer(file);
  } catch (err) {
    if (err instanceof ContainerError)
      return { file, ok: false, damage: toDamage(err), checkedPages: 0, damagedPages: 0 };
    throw err;
  }
  try {
    const result: VerifyResult = {
      file,
      ok: true,
      containerBytes: container.header.containerSize,
      files: container.files.length,
      storedPages: container.storedPageCount,
      checkedPages: 0,
      damagedPages: 0,
    };
    const structural = await checkGapsAndUnknownSections(container);
    if (structural) return { ...result, ok: false, damage: structural };
    // Pages in runs of up to 256 with one read each; a run with damage is re-read page by page to count.
    const run = 256;
    const pages = new Uint8Array(run * container.pageSize);
    const page = pages.subarray(0, container.pageSize);
    for (let first = 1; first <= container.storedPageCount; first += run) {
      const count = Math.min(run, container.storedPageCount - first + 1);
      try {
        container.readStoredPages(first, count, pages.subarray(0, count * container.pageSize));
        result.checkedPages += count;
        options.onProgress?.(result.checkedPages * container.pageSize, container.storedPageCount * container.pageSize);
        continue;
      } catch (err) {
        if (!(err instanceof ContainerError)) throw err;
      }
      for (let id = first; id < first + count; id++) {
        try {
          container.readStoredPage(id, page);
        } catch (err) {
          if (!(err instanceof ContainerError)) throw err;
          result.damagedPages++;
          result.ok = false;
          result.damage ??= toDamage(err);
        }
        result.checkedPages++;
      }
    }
    return result;
  } finally {
    container.close();
  }
}

/** Bytes not in the header or any section must be zero; unknown checksummed sections must match. */
async function checkGapsAndUnknownSections(c: Container): Promise<Damage | undefined> {
  const hash = await loadPageHasher();
  const ranges = [...c.sections.values(), ...c.unknownSections]
    .filter((s) => s.length > 0)
    .sort((a, b) => a.offset - b.offset);
  let cursor = c.header.headerSize;
  const chunk = new Uint8Array(1 << 16);
  const zeroCheck = (from: number, to: number): Damage | undefined => {
    for (let at = from; at < to; at += chunk.length) {
      const n = Math.min(chunk.length, to - at);
      const view = chunk.subarray(0, n);
      c.readAt(view, at);
      const nonZero = view.findIndex((b) => b !== 0);
      if (nonZero >= 0) {
        const offset = at + nonZero;
        return toDamage(
          new ContainerError('E_CORRUPT', `${c.path}: padding at offset 0x${offset.toString(16)}: byte is not zero`, {
            structure: 'padding',
            offset,
          }),
        );
      }
    }
    return undefined;
  };
  for (const s of ranges) {
    const gap = zeroCheck(cursor, s.offset);
    if (gap) return gap;
    cursor = Math.max(cursor, s.offset + s.length);
  }
  const tail = zeroCheck(cursor, c.header.containerSize);
  if (tail) return tail;
  for (const s of c.unknownSections) {
    if ((s.flags & SECTION_CHECKSUMMED) === 0) continue;
    const bytes = new Uint8Array(s.length);
    c.readAt(bytes, s.offset);
    if (hash(bytes) !== s.checksum) {
      const message = `${c.path}: ${sectionName(s.kind)} at offset 0x${s.offset.toString(16)}: checksum mismatch`;
      return toDamage(new ContainerError('E_CHECKSUM', message, { structure: sectionName(s.kind), offset: s.offset }));
    }
  }
  return undefined;
}

function toDamage(err: ContainerError): Damage {
  const structure = typeof err.data.structure === 'string' ? err.data.structure : 'file';
  const offset = typeof err.data.offset === 'number' ? err.data.offset : 0;
  const damage: Damage = { code: err.code, structure, offset, message: err.message };
  // The stack is for --debug; kept out of the JSON document.
  Object.defineProperty(damage, 'stack', { value: err.stack, enumerable: false });
  return damage;
}
