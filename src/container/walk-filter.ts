/**
 * What pack's walk leaves out, and why: entries matching an --exclude
 * pattern, special files (FIFOs, sockets, devices) under --skip-special,
 * and the container being written when it lies inside an input.
 *
 * Patterns are globs matched against the path inside the container
 * (`bin/hello`, as `pagestack ls` prints it): `*` any run of characters
 * but `/`, `**` any run including `/`, `?` one character but `/`, `[abc]`
 * and `[!abc]` one of (or none of) a set. A pattern without `/` is matched
 * against the name alone, at any depth (`*.o`, `.git`); one with `/`
 * against the whole path (`bin/*.debug`; `**` spans directories).
 * An excluded directory is left out with everything below it.
 */
import { UsageError } from '../errors.js';

/** One entry the walk left out. */
export interface WalkSkip {
  /** Path inside the container it would have had. */
  path: string;
  /** Path on disk. */
  source: string;
  reason: 'excluded' | 'special' | 'output';
  /** Human words: which pattern, what kind of special file. */
  detail: string;
}

export interface WalkFilterOptions {
  exclude?: readonly string[];
  skipSpecial?: boolean;
  /** Device and inode of the output container, when it exists already. */
  output?: { dev: bigint; ino: bigint };
}

interface Pattern {
  text: string;
  regex: RegExp;
  wholePath: boolean;
}

export class WalkFilter {
  readonly skipSpecial: boolean;
  private readonly patterns: Pattern[];
  private readonly output: { dev: bigint; ino: bigint } | undefined;

  constructor(options: WalkFilterOptions = {}) {
    this.skipSpecial = options.skipSpecial ?? false;
    this.output = options.output;
    this.patterns = (options.exclude ?? []).map((text) => {
      if (text === '') throw new UsageError('--exclude needs a pattern, not an empty string');
      const trimmed = text.replace(/\/+$/, '');
      return { text, regex: globToRegExp(trimmed), wholePath: trimmed.includes('/') };
    });
  }

  /** The pattern that excludes `member` (a path inside the container), if any. */
  excludedBy(member: string): string | undefined {
    const name = member.slice(member.lastIndexOf('/') + 1);
    for (const p of this.patterns) if (p.regex.test(p.wholePath ? member : name)) return p.text;
    return undefined;
  }

  /** Whether the file with this device and inode is the output container. */
  isOutput(dev: bigint, ino: bigint): boolean {
    return this.output !== undefined && this.output.dev === dev && this.output.ino === ino;
  }
}

/** A glob (see the header) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        // `**/` also matches nothing at all: `**/x` matches `x`.
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, end);
      const negate = set.startsWith('!') || set.startsWith('^');
      if (negate) set = set.slice(1);
      out += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 'u');
}
