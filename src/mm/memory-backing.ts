/**
 * FileBackings held in memory, for tests and for users who build ExecPlans
 * by hand. A ContentIndex gives identical pages one content id by
 * comparing bytes (a hash only picks the candidates), so backings that
 * share an index also share frames in the content-shared page cache.
 */
import { InternalError } from '../errors.js';
import type { FileBacking } from '../abi/file-backing.js';

function fnv1a(page: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < page.length; i++) h = Math.imul(h ^ page[i]!, 0x01000193);
  return h >>> 0;
}

/** Content ids by exact page bytes: 0 for an all-zero page, 1, 2, ... for distinct contents. */
export class ContentIndex {
  readonly pageSize: number;
  private readonly byHash = new Map<number, number[]>();
  private readonly pages: Uint8Array[] = [new Uint8Array(0)];

  constructor(pageSize = 4096) {
    this.pageSize = pageSize;
  }

  /** Distinct non-zero contents seen. */
  get distinct(): number {
    return this.pages.length - 1;
  }

  idOf(page: Uint8Array): number {
    if (page.length !== this.pageSize)
      throw new InternalError('ContentIndex: wrong page length', { expected: this.pageSize, actual: page.length });
    if (page.every((b) => b === 0)) return 0;
    const h = fnv1a(page);
    const ids = this.byHash.get(h) ?? [];
    for (const id of ids) {
      const known = this.pages[id]!;
      let same = true;
      for (let i = 0; i < page.length && same; i++) same = known[i] === page[i];
      if (same) return id;
    }
    const id = this.pages.length;
    this.pages.push(page.slice());
    ids.push(id);
    this.byHash.set(h, ids);
    return id;
  }
}

export class MemoryBacking implements FileBacking {
  readonly path: string;
  readonly size: number;
  readonly pageSize: number;
  readonly pageCount: number;
  readonly contentSpace: ContentIndex;
  private readonly bytes: Uint8Array;
  private readonly ids: Int32Array;

  /** `bytes` is kept, not copied: do not change it afterwards. */
  constructor(path: string, bytes: Uint8Array, options: { pageSize?: number; index?: ContentIndex } = {}) {
    this.path = path;
    this.bytes = bytes;
    this.size = bytes.length;
    this.pageSize = options.index?.pageSize ?? options.pageSize ?? 4096;
    this.pageCount = Math.ceil(bytes.length / this.pageSize);
    this.contentSpace = options.index ?? new ContentIndex(this.pageSize);
    this.ids = new Int32Array(this.pageCount);
    const page = new Uint8Array(this.pageSize);
    for (let i = 0; i < this.pageCount; i++) {
      this.readPage(i, page);
      this.ids[i] = this.contentSpace.idOf(page);
    }
  }

  readPage(pageIndex: number, into: Uint8Array): void {
    const start = pageIndex * this.pageSize;
    const end = Math.min(start + this.pageSize, this.size);
    if (start >= end) {
      into.fill(0, 0, this.pageSize);
      return;
    }
    into.set(this.bytes.subarray(start, end));
    into.fill(0, end - start, this.pageSize);
  }

  contentId(pageIndex: number): number {
    return pageIndex < this.pageCount ? this.ids[pageIndex]! : 0;
  }
}
