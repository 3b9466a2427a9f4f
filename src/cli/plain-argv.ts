/**
 * Command lines that run without commander, for plain ones only: a
 * command's paths and its own flags, each at most once (list flags may
 * repeat), values as separate words (`--top 5`, not `--top=5`). Anything
 * else (help, `--`, `=`, short flags grouped, an unknown or repeated flag,
 * a value or path starting with `-`, no path) returns undefined and goes
 * through commander as before, so that every message and default stays
 * commander's. test/plain-argv.test.ts checks that both ways give the same
 * output for the commands that use it (scan and pack).
 *
 * Why: commander and the other commands' option files are about a third of
 * the modules these commands load, and each costs start-up time on the
 * main thread (scan and pack are the commands users run on large trees).
 */

/** Parsed flags: commander's option names, values as given (strings), booleans as true, lists as arrays. */
export type PlainFlags = Record<string, string | boolean | string[] | undefined>;

export interface PlainSpec {
  /** Flag word to option name, for flags without a value. */
  booleans: Readonly<Record<string, string>>;
  /** Flag word to option name, for flags with one value. */
  values: Readonly<Record<string, string>>;
  /** Flag word to option name, for repeatable flags whose values are collected. */
  lists?: Readonly<Record<string, string>>;
  /** commander's defaults for the command's options. */
  defaults: Readonly<Record<string, string>>;
}

/** The arguments after the command word, as commander would give them to the action; undefined when not plain. */
export function plainArgs(
  args: readonly string[],
  spec: PlainSpec,
): { paths: string[]; flags: PlainFlags } | undefined {
  const flags: PlainFlags = { ...spec.defaults };
  const seen = new Set<string>();
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) {
      if (a === '') return undefined;
      paths.push(a);
      continue;
    }
    const list = spec.lists?.[a];
    if (list !== undefined) {
      const v = args[++i];
      if (v === undefined || v.startsWith('-')) return undefined;
      const values = flags[list];
      flags[list] = Array.isArray(values) ? [...values, v] : [v];
      continue;
    }
    const bool = spec.booleans[a];
    const value = spec.values[a];
    const key = bool ?? value;
    if (key === undefined || seen.has(key)) return undefined;
    seen.add(key);
    if (bool !== undefined) flags[bool] = true;
    else {
      const v = args[++i];
      if (v === undefined || v.startsWith('-')) return undefined;
      flags[key] = v;
    }
  }
  return paths.length > 0 ? { paths, flags } : undefined;
}

/** The global options every command takes (./global.ts). */
export const GLOBAL_BOOLEANS: Readonly<Record<string, string>> = {
  '-q': 'quiet',
  '--quiet': 'quiet',
  '--debug': 'debug',
};

/** `pagestack scan`'s options (./commands/scan.ts). */
export const SCAN_SPEC: PlainSpec = {
  booleans: { ...GLOBAL_BOOLEANS, '--all-files': 'allFiles', '--json': 'json', '--strict': 'strict' },
  values: {
    '-p': 'pageSize',
    '--page-size': 'pageSize',
    '--fail-below': 'failBelow',
    '--top': 'top',
    '--files': 'files',
  },
  defaults: { pageSize: '4096', top: '10', files: '20' },
};

/** `pagestack pack`'s options (./commands/pack.ts). */
export const PACK_SPEC: PlainSpec = {
  booleans: { ...GLOBAL_BOOLEANS, '--json': 'json', '--skip-special': 'skipSpecial' },
  values: {
    '-o': 'output',
    '--output': 'output',
    '-p': 'pageSize',
    '--page-size': 'pageSize',
    '--codec': 'codec',
    '--level': 'level',
    '--max-size': 'maxSize',
    '--threads': 'threads',
  },
  lists: { '--exclude': 'exclude' },
  defaults: { pageSize: '4096', codec: 'lz4' },
};
