/**
 * A pagestack container as the root file system ld.so searches, laid over
 * a host directory (--root DIR, or /): a path the container holds is the
 * container's member (its pages, its content ids); any other path is looked
 * up in the host directory, as PT_INTERP already is (container-source.ts).
 * So `load image.pgs:usr/bin/python3` maps libpython and libc from the image
 * when they were packed, and from the disk when they were not.
 */
import { PagestackError } from '../errors.js';
import type { RtldFiles, RtldLookup } from '../loader/rtld/files.js';
import type { ContainerFileSource } from './container-source.js';

export class ContainerRootFiles implements RtldFiles {
  constructor(
    private readonly source: ContainerFileSource,
    private readonly lower: RtldFiles,
  ) {}

  lookup(path: string): RtldLookup {
    const container = this.source.container;
    let index: number | undefined;
    try {
      index = this.source.resolve(path, path);
    } catch (err) {
      // A directory (E_ISDIR) is what open+read of a directory meets; a link loop is "not there".
      if (err instanceof PagestackError && err.code === 'E_ISDIR') return { kind: 'directory' };
      if (err instanceof PagestackError) return { kind: 'missing' };
      throw err;
    }
    if (index === undefined) return this.lower.lookup(path);
    const entry = container.files[index]!;
    return {
      kind: 'file',
      realPath: `/${entry.path.replace(/^\/+/, '')}`,
      identity: `member ${container.path}#${entry.linkIndex ?? entry.index}`,
      open: () => this.source.program(path),
    };
  }

  readFile(path: string): Uint8Array | undefined {
    const found = this.lookup(path);
    if (found.kind !== 'file' || !found.identity.startsWith('member ')) return this.lower.readFile(path);
    const backing = found.open();
    const out = new Uint8Array(backing.pageCount * backing.pageSize);
    for (let i = 0; i < backing.pageCount; i++)
      backing.readPage(i, out.subarray(i * backing.pageSize, (i + 1) * backing.pageSize));
    return out.subarray(0, backing.size);
  }
}
