/**
 * `pagestack scan` without commander, for plain command lines only: the
 * scan's paths and its own flags, each at most once, values as separate
 * words (`--top 5`, not `--top=5`). Anything else (help, `--`, `=`, short
 * flags grouped, an unknown or repeated flag, a value or path starting with
 * `-`, no path) returns undefined and goes through commander as before, so
 * that every message and default stays commander's.
 *
 * Why: commander and the other commands' option files are about a third of
 * the modules the scan command loads (commander itself pulls in Node's
 * child_process), and `scan` is the command users run on large trees.
 */
import type { ScanFlags } from './commands/scan.js';

const BOOLEAN: Readonly<Record<string, 'allFiles' | 'json' | 'strict' | 'quiet' | 'debug'>> = {
  '--all-files': 'allFiles',
  '--json': 'json',
  '--strict': 'strict',
  '-q': 'quiet',
  '--quiet': 'quiet',
  '--debug': 'debug',
};

const VALUE: Readonly<Record<string, 'pageSize' | 'failBelow' | 'top' | 'files'>> = {
  '-p': 'pageSize',
  '--page-size': 'pageSize',
  '--fail-below': 'failBelow',
  '--top': 'top',
  '--files': 'files',
};

/** The arguments after `scan`, as commander would give them to the action; undefined when not plain. */
export function plainScanArgs(
  args: readonly string[],
): { paths: string[]; flags: ScanFlags & { debug?: boolean } } | undefined {
  const flags: ScanFlags & { debug?: boolean } = { pageSize: '4096', top: '10', files: '20' };
  const seen = new Set<string>();
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) {
      if (a === '') return undefined;
      paths.push(a);
      continue;
    }
    const bool = BOOLEAN[a];
    const value = VALUE[a];
    const key = bool ?? value;
    if (key === undefined || seen.has(key)) return undefined;
    seen.add(key);
    if (bool) flags[bool] = true;
    else if (value) {
      const v = args[++i];
      if (v === undefined || v.startsWith('-')) return undefined;
      flags[value] = v;
    }
  }
  return paths.length > 0 ? { paths, flags } : undefined;
}
