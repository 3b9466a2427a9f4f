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
 */
import * as fs from 'node:fs';
import { PF_W } from '../../elf/index.js';
import type { FileBacking } from '../../abi/file-backing.js';
import type { ScanJson } from '../../scan/json.js';
import type { ScanResult } from '../../scan/result.js';
import { readExecImage } from '../elf-image.js';
import { readElfObject } from './elf-object.js';

/** File page indices (sorted, each once) that relocation writes; undefined for a file ld.so would not load or that has no dynamic section. */
export function relocatedFilePages(bytes: Uint8Array, path: string, pageSize: number): number[] | undefined {
  const backing: FileBacking & { bytes: Uint8Array } = {
    path,
    size: bytes.length,
    pageSize: 4096,
    pageCount: Math.ceil(bytes.length / 4096),
    bytes,
    readPage: (i, into) => {
      into.fill(0);
      into.set(bytes.subarray(i * 4096, Math.min((i + 1) * 4096, bytes.length)));
    },
    contentId: () => 0,
  };
  let obj: ReturnType<typeof readElfObject>;
  try {
    obj = readElfObject(readExecImage(backing, 'interpreter'));
  } catch {
    return undefined;
  }
  if (obj.dynamicAddr === undefined) return undefined;
  const writable = obj.image.loads.filter((s) => (s.flags & PF_W) !== 0);
  const pages = new Set<number>();
  const mark = (addr: number) => {
    for (const s of writable) {
      const v = Number(s.vaddr);
      if (addr >= v && addr + 8 <= v + Number(s.filesz)) {
        const off = Number(s.offset) + (addr - v);
        pages.add(Math.floor(off / pageSize));
        pages.add(Math.floor((off + 7) / pageSize));
        return;
      }
    }
  };
  for (const r of [...obj.rela, ...obj.rel, ...obj.jmprel]) if (r.type !== 0) mark(r.offset);
  for (const a of obj.relr) mark(a);
  return [...pages].sort((a, b) => a - b);
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

/** Relocation writes of every ELF file of a scan, read again from disk (a file that cannot be read or has no dynamic section: none). */
export function relocationWritesOf(result: ScanResult): Array<RelocationWrites | undefined> {
  return result.files.map((f) => {
    if (f.elf?.class !== 64 || f.elf.data !== 'lsb') return undefined;
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(f.path);
    } catch {
      return undefined;
    }
    const pages = relocatedFilePages(bytes, f.path, result.pageSize);
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
