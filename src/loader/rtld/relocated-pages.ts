/**
 * Which file pages the dynamic linker will write when it relocates an
 * object: every REL/RELA/JMPREL target and every DT_RELR address that lies
 * in the file bytes of a writable PT_LOAD. Those pages become private
 * dirty copies in every process that maps the object, so a page there that
 * is identical to another page on disk (a duplicate the page scan counted
 * on) is not shared in memory after start-up.
 *
 * A store of a value the page already holds still dirties it (ld.so
 * writes unconditionally), so every target counts, whatever its value.
 * Lazy PLT slots of a non-PIE program (l_addr 0) are the exception ld.so
 * makes: it does not touch them; they are counted anyway (an upper bound).
 *
 * The counting itself is the scanner's (src/scan/relocations.ts), so that
 * `scan --json` finds the same pages from the bytes it already holds.
 */
import * as fs from 'node:fs';
import { parseElf } from '../../elf/parse.js';
import type { ScanJson } from '../../scan/json.js';
import { relocatedPagesOf } from '../../scan/relocations.js';
import type { ScanResult } from '../../scan/result.js';

/** File page indices (sorted, each once) that relocation writes; undefined for a file ld.so would not relocate or that has no dynamic section. */
export function relocatedFilePages(bytes: Uint8Array, path: string, pageSize: number): number[] | undefined {
  let pages: Uint32Array | null;
  try {
    pages = relocatedPagesOf(parseElf(bytes, path), bytes.length, pageSize, (offset, length) =>
      offset + length <= bytes.length ? new DataView(bytes.buffer, bytes.byteOffset + offset, length) : undefined,
    );
  } catch {
    return undefined;
  }
  return pages ? Array.from(pages) : undefined;
}

/** Per file: pages relocation writes, and how many of them the scan counted as shared or zero. */
export interface RelocationWrites {
  /** File pages relocation writes. */
  pages: number;
  /** Of those, pages whose content occurs more than once in the scan (dedup counted on sharing them). */
  sharedPages: number;
  /** Of those, all-zero pages. */
  zeroPages: number;
}

/**
 * Relocation writes of every ELF file of a scan: the pages the scan found
 * (scanned with `relocations: true`), else read again from disk (a file
 * that cannot be read or has no dynamic section: none).
 */
export function relocationWritesOf(result: ScanResult): Array<RelocationWrites | undefined> {
  return result.files.map((f) => {
    if (f.elf?.class !== 64 || f.elf.data !== 'lsb') return undefined;
    const pages = f.relocatedPages !== undefined ? f.relocatedPages : pagesFromDisk(f.path, result.pageSize);
    if (!pages) return undefined;
    const out: RelocationWrites = { pages: 0, sharedPages: 0, zeroPages: 0 };
    for (const p of pages) {
      if (p >= f.contentIds.length) continue;
      out.pages++;
      const id = f.contentIds[p]!;
      if (id === 0) out.zeroPages++;
      else if ((result.contents.pages[id] ?? 0) > 1) out.sharedPages++;
    }
    return out;
  });
}

function pagesFromDisk(path: string, pageSize: number): number[] | undefined {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch {
    return undefined;
  }
  return relocatedFilePages(bytes, path, pageSize);
}

/** Adds `relocation` to each file of a scan document, and totals. */
export function addRelocationWrites(json: ScanJson, result: ScanResult): ScanJson & { relocation: RelocationWrites } {
  const writes = relocationWritesOf(result);
  const total: RelocationWrites = { pages: 0, sharedPages: 0, zeroPages: 0 };
  json.files.forEach((file, i) => {
    const w = writes[i];
    if (!w) return;
    file.relocation = w;
    total.pages += w.pages;
    total.sharedPages += w.sharedPages;
    total.zeroPages += w.zeroPages;
  });
  return { ...json, relocation: total };
}
