/**
 * The file system ld.so searches: a host directory used as the root (as
 * `--root DIR` or '/'), or a pagestack container used as the root file
 * system. ld.so only needs three things of it: does a path name a file,
 * which file (so one inode opened under two names is loaded once, as
 * _dl_map_object_from_fd's st_dev/st_ino check does), and its bytes.
 *
 * Lookups follow symbolic links inside the root (absolute targets restart
 * at the root, `..` stops there, 40 links at most), so a hostile tree cannot
 * make the search read outside it.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { FileBacking } from '../../abi/file-backing.js';
import { MAXSYMLINKS } from '../x86-64.js';

/** What one path names, after following symbolic links. */
export type RtldLookup =
  | { kind: 'missing' }
  | { kind: 'directory' }
  /** Anything else that open(O_RDONLY) succeeds on and read() then refuses (a FIFO, a device). */
  | { kind: 'special' }
  | {
      kind: 'file';
      /** The path inside the root with every symbolic link resolved (what /proc/PID/maps prints). */
      realPath: string;
      /** The file's identity: one string per inode (st_dev:st_ino) or container member. */
      identity: string;
      /** The file's contents, opened once per identity and name by the source. */
      open(): FileBacking;
    };

export interface RtldFiles {
  /** What `path` (absolute, inside the root) names. Never throws for a missing or unreadable path. */
  lookup(path: string): RtldLookup;
  /** The bytes of a regular file (ld.so.cache), or undefined when there is none. */
  readFile(path: string): Uint8Array | undefined;
}

/**
 * Follows `path` inside a tree through `step`, which says what one resolved
 * path (components joined by '/') is. Returns the resolved components and the
 * final kind, or 'missing'.
 */
export function walkPath<T extends { kind: string; target?: string }>(
  path: string,
  step: (components: string[]) => T | undefined,
): { components: string[]; node: T } | undefined {
  const resolved: string[] = [];
  const pending = split(path);
  let links = 0;
  let node: T | undefined = step([]);
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.' || name === '') continue;
    if (name === '..') {
      resolved.pop();
      node = step(resolved);
      continue;
    }
    // Every component but the last must be a directory (or a link to one).
    node = step([...resolved, name]);
    if (node === undefined) return undefined;
    if (node.kind === 'symlink') {
      if (++links > MAXSYMLINKS) return undefined;
      const target = node.target ?? '';
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...split(target));
      continue;
    }
    if (pending.length > 0 && node.kind !== 'directory') return undefined;
    resolved.push(name);
  }
  if (node === undefined) return undefined;
  return { components: resolved, node };
}

function split(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

/**
 * A host directory as the root. `open(hostPath, realPath)` gives the backing
 * (a FileTable's, so pages get the load's content ids).
 */
export class HostRootFiles implements RtldFiles {
  readonly hostRoot: string;

  constructor(
    root: string,
    private readonly openBacking: (hostPath: string) => FileBacking,
  ) {
    this.hostRoot = fs.realpathSync(root);
  }

  lookup(path: string): RtldLookup {
    const found = this.walk(path);
    if (!found) return { kind: 'missing' };
    const { components, node } = found;
    if (node.kind === 'directory') return { kind: 'directory' };
    if (node.kind !== 'file') return { kind: 'special' };
    if (!node.readable) return { kind: 'missing' };
    const host = this.host(components);
    return {
      kind: 'file',
      realPath: `/${components.join('/')}`,
      identity: `${node.dev}:${node.ino}`,
      open: () => this.openBacking(host),
    };
  }

  readFile(path: string): Uint8Array | undefined {
    const found = this.walk(path);
    if (found?.node.kind !== 'file') return undefined;
    try {
      return fs.readFileSync(this.host(found.components));
    } catch {
      return undefined;
    }
  }

  /** The host path of a path inside the root, after following links; undefined when missing. */
  hostPathOf(path: string): string | undefined {
    const found = this.walk(path);
    return found ? this.host(found.components) : undefined;
  }

  private host(components: string[]): string {
    return nodePath.join(this.hostRoot, ...components) || '/';
  }

  private walk(path: string) {
    return walkPath(path, (components): HostNode | undefined => {
      const host = this.host(components);
      let st: fs.BigIntStats;
      try {
        st = fs.lstatSync(host, { bigint: true });
      } catch {
        return undefined;
      }
      if (st.isSymbolicLink()) {
        try {
          return { kind: 'symlink', target: fs.readlinkSync(host) };
        } catch {
          return undefined;
        }
      }
      if (st.isDirectory()) return { kind: 'directory' };
      if (!st.isFile()) return { kind: 'special' };
      let readable = true;
      try {
        fs.accessSync(host, fs.constants.R_OK);
      } catch {
        readable = false;
      }
      return { kind: 'file', dev: st.dev, ino: st.ino, readable };
    });
  }
}

interface HostNode {
  kind: 'symlink' | 'directory' | 'file' | 'special';
  target?: string;
  dev?: bigint;
  ino?: bigint;
  readable?: boolean;
}
