/**
 * Page caches: Linux's struct address_space, one per cached object.
 *
 * - 'file': the ordinary page cache of one FileBacking, keyed by page
 *   index, as Linux has it today. Used for every mapping in `file` mode and
 *   for MAP_SHARED file mappings in both modes.
 * - 'content': the content-shared page cache, one per Machine, keyed by
 *   the page's content key (content namespace × 2^32 + FileBacking.contentId),
 *   so identical pages of different files (or of one file) share one frame.
 *   Used for MAP_PRIVATE file mappings in `content` mode. Like EROFS's
 *   proposed page-cache sharing it assumes read-only files: a write through
 *   MAP_SHARED goes to the file's own 'file' cache, never to a shared frame.
 * - 'shmem': the pages of one shared anonymous mapping (MAP_SHARED |
 *   MAP_ANONYMOUS), keyed by page offset; it lives while a VMA refers to it.
 *
 * A frame in a cache records (space id, index) in the frame table, and the
 * cache holds one reference on it.
 */
import type { FileBacking } from '../abi/file-backing.js';

export type AddressSpaceKind = 'file' | 'content' | 'shmem';

export class AddressSpace {
  readonly id: number;
  readonly kind: AddressSpaceKind;
  /** The file, for 'file' spaces. */
  readonly backing: FileBacking | undefined;
  /** Cached pages: index (page index or content key) → frame. */
  readonly pages = new Map<number, number>();
  /** VMAs referring to this space (all processes). A 'shmem' space dies at 0. */
  vmaRefs = 0;
  /** Content namespace of a 'file' space's backing (core.ts), once looked up; -1 before. */
  contentNamespace = -1;

  constructor(id: number, kind: AddressSpaceKind, backing?: FileBacking) {
    this.id = id;
    this.kind = kind;
    this.backing = backing;
  }

  /** The name /proc/PID/maps shows for mappings of this space. */
  get path(): string | undefined {
    switch (this.kind) {
      case 'file':
        return this.backing!.path;
      case 'shmem':
        return '/dev/zero (deleted)';
      case 'content':
        return undefined;
      default:
        throw new Error(`unknown address space kind ${String(this.kind)}`);
    }
  }
}

/** Content key of a page: its content namespace and FileBacking.contentId. */
export function contentKey(namespace: number, contentId: number): number {
  return namespace * 0x1_0000_0000 + contentId;
}
