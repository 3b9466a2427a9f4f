/**
 * Machine.cacheFile: a whole file put into the per-file page cache in the
 * folio sizes a PageCacheFill gives (folio.ts), as writing or reading it
 * would leave it. Pages already cached keep their folios; a large folio is
 * recorded only where none of its pages was cached.
 */
import type { FileBacking } from '../abi/file-backing.js';
import type { MmCore } from './core.js';
import { lookupFilePage, readFilePage } from './file-pages.js';
import { type PageCacheFill, folioLayout, setFolios } from './folio.js';

export type { PageCacheFill } from './folio.js';

export function cacheFileFolios(core: MmCore, backing: FileBacking, fill: PageCacheFill): number {
  const space = core.fileSpace(backing);
  const sizes = folioLayout(backing, fill);
  const fresh: number[] = [];
  let index = 0;
  let read = 0;
  for (const nr of sizes) {
    let cachedBefore = false;
    for (let k = 0; k < nr; k++) if (lookupFilePage(core, space, index + k, false) >= 0) cachedBefore = true;
    for (let k = 0; k < nr; k++) {
      if (lookupFilePage(core, space, index + k, false) >= 0) continue;
      readFilePage(core, space, index + k, false);
      read++;
    }
    // A folio is kept only whole; one with a page cached before stays 4 KiB pages.
    if (cachedBefore) for (let k = 0; k < nr; k++) fresh.push(1);
    else fresh.push(nr);
    index += nr;
  }
  setFolios(space, fresh);
  if (!core.keepPageCache) core.dropCaches();
  return read;
}
