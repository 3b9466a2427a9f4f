/**
 * A model of zsmalloc (mm/zsmalloc.c), the allocator under zram and zswap,
 * accurate to the page: mem_used_total and zswap's pool size are its
 * page count, fragmentation included.
 *
 * Rules followed (Linux 6.x):
 * - Size classes from ZS_MIN_ALLOC_SIZE (32 on 64-bit) to PAGE_SIZE in steps
 *   of ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> 8 (16 bytes for 4 KiB pages:
 *   255 classes). get_size_class_index rounds up and caps at the last class.
 * - zs_malloc(size) refuses size > PAGE_SIZE, then adds ZS_HANDLE_SIZE
 *   (8 bytes, the handle kept in the object's header) before the class
 *   lookup: a 4096-byte object lands in the 4096 class.
 * - A zspage chains 1..CONFIG_ZSMALLOC_CHAIN_SIZE pages (default 8):
 *   calculate_zspage_chain_size picks the count with the least
 *   (pages * PAGE_SIZE) % size, the smallest count on ties, 1 for powers
 *   of two. objs_per_zspage = pages * PAGE_SIZE / size.
 * - zs_create_pool walks classes from the largest down and merges a class
 *   into the one above when both have the same (pages, objs); the first
 *   class with pages != 1 and objs != 1 sets huge_class_size =
 *   size - (ZS_HANDLE_SIZE - 1). Above it every object takes a page.
 * - zspages sit in 12 fullness groups by in-use ratio (0, <=10%, ...,
 *   <=99%, 100%); an allocation takes the first zspage of the fullest
 *   non-full group (find_get_zspage), a changed group puts the zspage at
 *   the head of its new list, and an empty zspage is freed at once.
 * - Objects inside a zspage come from a LIFO free list kept in the free
 *   objects themselves (struct link_free).
 * Compaction (zs_compact, pages_compacted) is not modelled.
 *
 * Storage: each zspage gets pagesPerZspage contiguous pages of one growable
 * arena (the kernel's pages are not contiguous; only the count matters),
 * so object bytes really live where the model says. Handles, zspages and
 * fullness lists are typed arrays; nothing is allocated per object.
 */
import { InternalError } from '../../errors.js';
import { growInt32 } from './swap-map.js';

export const ZS_HANDLE_SIZE = 8;
/** max(32, (chain << PAGE_SHIFT) >> OBJ_INDEX_BITS): 32 for every x86-64 and arm64 configuration. */
export const ZS_MIN_ALLOC_SIZE = 32;
const CLASS_BITS = 8;
const NR_FULLNESS_GROUPS = 12;
const INUSE_RATIO_99 = 10;
const INUSE_RATIO_100 = 11;
/** Returned by malloc for sizes zs_malloc refuses (0 or > PAGE_SIZE: -EINVAL / -ENOSPC). */
export const ZS_NO_HANDLE = -1;

export interface SizeClassTable {
  pageSize: number;
  chainSize: number;
  delta: number;
  /** Number of class indexes (ZS_SIZE_CLASSES). */
  count: number;
  /** Per class index: the index of the class it was merged into (itself if not merged). */
  classOf: Int32Array;
  /** Per class index: object size, pages per zspage, objects per zspage (meaningful for merge targets). */
  size: Int32Array;
  pagesPerZspage: Int32Array;
  objsPerZspage: Int32Array;
  /** zs_huge_class_size(): compressed sizes >= this are stored as whole pages by zram. */
  hugeClassSize: number;
}

/** calculate_zspage_chain_size(). */
export function zspageChainSize(classSize: number, pageSize: number, chainSize: number): number {
  if ((classSize & (classSize - 1)) === 0) return 1;
  let minWaste = Infinity;
  let best = 1;
  for (let i = 1; i <= chainSize; i++) {
    const waste = (i * pageSize) % classSize;
    if (waste < minWaste) {
      minWaste = waste;
      best = i;
    }
  }
  return best;
}

/** The size classes zs_create_pool() builds for a page size and CONFIG_ZSMALLOC_CHAIN_SIZE. */
export function sizeClasses(pageSize: number, chainSize = 8): SizeClassTable {
  if (!Number.isInteger(chainSize) || chainSize < 1 || chainSize > 16) {
    throw new RangeError(
      `zsmalloc chain size must be 1..16 (CONFIG_ZSMALLOC_CHAIN_SIZE allows 4..16), not ${chainSize}`,
    );
  }
  const delta = pageSize >> CLASS_BITS;
  const count = Math.ceil((pageSize - ZS_MIN_ALLOC_SIZE) / delta) + 1;
  const classOf = new Int32Array(count);
  const size = new Int32Array(count);
  const pagesPerZspage = new Int32Array(count);
  const objsPerZspage = new Int32Array(count);
  let hugeClassSize = 0;
  let prev = -1;
  for (let i = count - 1; i >= 0; i--) {
    const s = Math.min(ZS_MIN_ALLOC_SIZE + i * delta, pageSize);
    const pages = zspageChainSize(s, pageSize, chainSize);
    const objs = Math.floor((pages * pageSize) / s);
    size[i] = s;
    pagesPerZspage[i] = pages;
    objsPerZspage[i] = objs;
    if (pages !== 1 && objs !== 1 && hugeClassSize === 0) hugeClassSize = s - (ZS_HANDLE_SIZE - 1);
    if (prev >= 0 && pagesPerZspage[prev] === pages && objsPerZspage[prev] === objs) {
      classOf[i] = prev;
      continue;
    }
    classOf[i] = i;
    prev = i;
  }
  return { pageSize, chainSize, delta, count, classOf, size, pagesPerZspage, objsPerZspage, hugeClassSize };
}

/** zs_huge_class_size() for a page size and chain size: 3625 for 4 KiB pages and chain 8. */
export function hugeClassSize(pageSize: number, chainSize = 8): number {
  return sizeClasses(pageSize, chainSize).hugeClassSize;
}

export class ZsPool {
  readonly classes: SizeClassTable;
  readonly pageSize: number;
  /** Pages held by all zspages (zs_get_total_pages). */
  totalPages = 0;
  /** Live objects. */
  objects = 0;

  // Fullness lists: head zspage per (class index, group).
  private readonly heads: Int32Array;
  // Per zspage.
  private zClass = new Int32Array(64);
  private zInuse = new Int32Array(64);
  private zFreeObj = new Int32Array(64);
  private zGroup = new Int32Array(64);
  private zPrev = new Int32Array(64);
  private zNext = new Int32Array(64);
  private zBasePage = new Int32Array(64);
  private zFree = new Int32Array(64);
  private zFreeTop = 0;
  private zHigh = 0;
  // Per handle.
  private hZspage = new Int32Array(256);
  private hObj = new Int32Array(256);
  private hFree = new Int32Array(256);
  private hFreeTop = 0;
  private hHigh = 0;
  // Arena of pages; freed zspage storage is kept per chain length for reuse.
  private arena: Uint8Array;
  private arenaPages = 0;
  private readonly freeChunks: number[][];

  constructor(pageSize = 4096, chainSize = 8) {
    this.pageSize = pageSize;
    this.classes = sizeClasses(pageSize, chainSize);
    this.heads = new Int32Array(this.classes.count * NR_FULLNESS_GROUPS).fill(-1);
    this.arena = new Uint8Array(pageSize * 64);
    this.freeChunks = Array.from({ length: chainSize + 1 }, () => []);
  }

  get hugeClassSize(): number {
    return this.classes.hugeClassSize;
  }

  /** get_size_class_index() after the handle is added: the class an object of `size` bytes lands in. */
  classIndexFor(size: number): number {
    const withHandle = size + ZS_HANDLE_SIZE;
    const idx = withHandle > ZS_MIN_ALLOC_SIZE ? Math.ceil((withHandle - ZS_MIN_ALLOC_SIZE) / this.classes.delta) : 0;
    return this.classes.classOf[Math.min(idx, this.classes.count - 1)]!;
  }

  /** zs_malloc(size): a handle, or ZS_NO_HANDLE for size 0 or size > PAGE_SIZE. */
  malloc(size: number): number {
    if (!(size > 0) || size > this.pageSize) return ZS_NO_HANDLE;
    const cls = this.classIndexFor(size);
    let z = this.findZspage(cls);
    let obj: number;
    if (z < 0) {
      z = this.allocZspage(cls);
      obj = this.objMalloc(z);
      this.insert(z, this.fullness(z));
    } else {
      obj = this.objMalloc(z);
      this.fixFullness(z);
    }
    return this.newHandle(z, obj);
  }

  /** zs_free(handle). */
  free(handle: number): void {
    const z = this.zspageOf(handle);
    this.objFree(z, this.hObj[handle]!);
    this.hZspage[handle] = -1;
    this.hFree[this.hFreeTop++] = handle;
    if (this.fixFullness(z) === 0) this.freeZspage(z);
  }

  /** Copies `src` into the object (at most the class size minus the handle header). */
  write(handle: number, src: Uint8Array): void {
    this.arena.set(src, this.objectOffset(handle, src.length));
  }

  /** A view of the first `length` bytes of the object; valid until the next malloc. */
  view(handle: number, length: number): Uint8Array {
    const offset = this.objectOffset(handle, length);
    return this.arena.subarray(offset, offset + length);
  }

  /** Object size of the class that `handle` lives in. */
  objectSize(handle: number): number {
    return this.classes.size[this.zClass[this.zspageOf(handle)]!]!;
  }

  /** Live zspages and their pages per class index (merge targets only), for reports and tests. */
  classStats(): {
    index: number;
    size: number;
    pagesPerZspage: number;
    objsPerZspage: number;
    zspages: number;
    objects: number;
  }[] {
    const rows = new Map<number, { zspages: number; objects: number }>();
    for (let z = 0; z < this.zHigh; z++) {
      const cls = this.zClass[z]!;
      if (cls < 0) continue;
      const row = rows.get(cls) ?? { zspages: 0, objects: 0 };
      row.zspages++;
      row.objects += this.zInuse[z]!;
      rows.set(cls, row);
    }
    return [...rows.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, row]) => ({
        index,
        size: this.classes.size[index]!,
        pagesPerZspage: this.classes.pagesPerZspage[index]!,
        objsPerZspage: this.classes.objsPerZspage[index]!,
        ...row,
      }));
  }

  private objectOffset(handle: number, length: number): number {
    const z = this.zspageOf(handle);
    const size = this.classes.size[this.zClass[z]!]!;
    if (length > size) throw new InternalError(`${length} bytes do not fit a ${size}-byte zsmalloc object`);
    return this.zBasePage[z]! * this.pageSize + this.hObj[handle]! * size;
  }

  private zspageOf(handle: number): number {
    const z = handle >= 0 && handle < this.hHigh ? this.hZspage[handle]! : -1;
    if (z < 0) throw new InternalError(`zsmalloc handle ${handle} is not allocated`);
    return z;
  }

  private findZspage(cls: number): number {
    const base = cls * NR_FULLNESS_GROUPS;
    for (let g = INUSE_RATIO_99; g >= 0; g--) {
      const z = this.heads[base + g]!;
      if (z >= 0) return z;
    }
    return -1;
  }

  /** get_fullness_group(). */
  private fullness(z: number): number {
    const inuse = this.zInuse[z]!;
    const objs = this.classes.objsPerZspage[this.zClass[z]!]!;
    if (inuse === 0) return 0;
    if (inuse === objs) return INUSE_RATIO_100;
    return Math.floor(Math.floor((100 * inuse) / objs) / 10) + 1;
  }

  /** fix_fullness_group(): moves z to the head of its group's list if the group changed; returns the group. */
  private fixFullness(z: number): number {
    const group = this.fullness(z);
    if (group !== this.zGroup[z]) {
      this.remove(z);
      this.insert(z, group);
    }
    return group;
  }

  private insert(z: number, group: number): void {
    const h = this.zClass[z]! * NR_FULLNESS_GROUPS + group;
    const head = this.heads[h]!;
    this.zGroup[z] = group;
    this.zPrev[z] = -1;
    this.zNext[z] = head;
    if (head >= 0) this.zPrev[head] = z;
    this.heads[h] = z;
  }

  private remove(z: number): void {
    const prev = this.zPrev[z]!;
    const next = this.zNext[z]!;
    if (prev >= 0) this.zNext[prev] = next;
    else this.heads[this.zClass[z]! * NR_FULLNESS_GROUPS + this.zGroup[z]!] = next;
    if (next >= 0) this.zPrev[next] = prev;
  }

  private allocZspage(cls: number): number {
    let z: number;
    if (this.zFreeTop > 0) z = this.zFree[--this.zFreeTop]!;
    else {
      if (this.zHigh === this.zClass.length) this.growZspages();
      z = this.zHigh++;
    }
    const pages = this.classes.pagesPerZspage[cls]!;
    const objs = this.classes.objsPerZspage[cls]!;
    const size = this.classes.size[cls]!;
    const basePage = this.allocChunk(pages);
    this.zClass[z] = cls;
    this.zInuse[z] = 0;
    this.zBasePage[z] = basePage;
    this.zFreeObj[z] = 0;
    // init_zspage: every object links to the next, the last ends the list.
    const base = basePage * this.pageSize;
    for (let i = 0; i < objs; i++) writeLink(this.arena, base + i * size, i + 1 < objs ? i + 1 : -1);
    this.totalPages += pages;
    return z;
  }

  private freeZspage(z: number): void {
    this.remove(z);
    const cls = this.zClass[z]!;
    const pages = this.classes.pagesPerZspage[cls]!;
    this.freeChunks[pages]!.push(this.zBasePage[z]!);
    this.zClass[z] = -1;
    this.zFree[this.zFreeTop++] = z;
    this.totalPages -= pages;
  }

  private objMalloc(z: number): number {
    const obj = this.zFreeObj[z]!;
    if (obj < 0) throw new InternalError(`zspage ${z} in a non-full group has no free object`);
    const size = this.classes.size[this.zClass[z]!]!;
    this.zFreeObj[z] = readLink(this.arena, this.zBasePage[z]! * this.pageSize + obj * size);
    this.zInuse[z]!++;
    this.objects++;
    return obj;
  }

  private objFree(z: number, obj: number): void {
    const size = this.classes.size[this.zClass[z]!]!;
    writeLink(this.arena, this.zBasePage[z]! * this.pageSize + obj * size, this.zFreeObj[z]!);
    this.zFreeObj[z] = obj;
    this.zInuse[z]!--;
    this.objects--;
  }

  private newHandle(z: number, obj: number): number {
    let h: number;
    if (this.hFreeTop > 0) h = this.hFree[--this.hFreeTop]!;
    else {
      if (this.hHigh === this.hZspage.length) {
        const n = this.hZspage.length * 2;
        this.hZspage = growInt32(this.hZspage, n);
        this.hObj = growInt32(this.hObj, n);
        this.hFree = growInt32(this.hFree, n);
      }
      h = this.hHigh++;
    }
    this.hZspage[h] = z;
    this.hObj[h] = obj;
    return h;
  }

  private allocChunk(pages: number): number {
    const reuse = this.freeChunks[pages]!.pop();
    if (reuse !== undefined) return reuse;
    const first = this.arenaPages;
    this.arenaPages += pages;
    if (this.arenaPages * this.pageSize > this.arena.length) {
      let n = this.arena.length * 2;
      while (n < this.arenaPages * this.pageSize) n *= 2;
      const arena = new Uint8Array(n);
      arena.set(this.arena);
      this.arena = arena;
    }
    return first;
  }

  private growZspages(): void {
    const n = this.zClass.length * 2;
    this.zClass = growInt32(this.zClass, n);
    this.zInuse = growInt32(this.zInuse, n);
    this.zFreeObj = growInt32(this.zFreeObj, n);
    this.zGroup = growInt32(this.zGroup, n);
    this.zPrev = growInt32(this.zPrev, n);
    this.zNext = growInt32(this.zNext, n);
    this.zBasePage = growInt32(this.zBasePage, n);
    this.zFree = growInt32(this.zFree, n);
  }
}

/** struct link_free: the next free object's index, in the free object's first 4 bytes. */
function writeLink(arena: Uint8Array, offset: number, next: number): void {
  arena[offset] = next & 0xff;
  arena[offset + 1] = (next >>> 8) & 0xff;
  arena[offset + 2] = (next >>> 16) & 0xff;
  arena[offset + 3] = (next >>> 24) & 0xff;
}

function readLink(arena: Uint8Array, offset: number): number {
  return arena[offset]! | (arena[offset + 1]! << 8) | (arena[offset + 2]! << 16) | (arena[offset + 3]! << 24);
}
