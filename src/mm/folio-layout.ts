/**
 * The page-cache folios of one file as /proc/kpageflags shows them: for
 * every cached page run, the folio sizes in pages (a large folio's head
 * and tails count as one entry). Pages not cached are left out.
 */
import type { FileBacking } from '../abi/file-backing.js';
import type { MmCore } from './core.js';
import { lookupFilePage } from './file-pages.js';
import { folioOf } from './folio.js';

/** One cached folio: first page index and size in pages. */
export interface CachedFolio {
  index: number;
  pages: number;
}

export function cachedFolios(core: MmCore, backing: FileBacking): CachedFolio[] {
  const space = core.fileSpace(backing);
  const out: CachedFolio[] = [];
  let index = 0;
  while (index < backing.pageCount) {
    if (lookupFilePage(core, space, index, false) < 0) {
      index++;
      continue;
    }
    const [head, pages] = folioOf(space, index);
    const end = head + pages;
    out.push({ index, pages: end - index });
    index = end;
  }
  return out;
}
