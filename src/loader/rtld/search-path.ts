/**
 * Search directories as glibc 2.36's ld.so builds them (elf/dl-load.c):
 * dynamic string tokens ($ORIGIN, $LIB, $PLATFORM, also in ${...} form) per
 * is_dst and _dl_dst_substitute, colon lists split per fillin_rpath (empty
 * elements mean the current directory, trailing slashes are dropped, a
 * directory appears once per list), and the subdirectories tried in each
 * directory (glibc-hwcaps and the legacy hwcap/platform names), per
 * _dl_important_hwcaps.
 *
 * The defaults are Debian 12's x86-64 ld.so on a CPU that supports
 * x86-64-v4 with AT_PLATFORM "x86_64", as `ld.so --help` and
 * `LD_DEBUG=libs` print them on the reference machine.
 */

/** How this ld.so was built and what the machine offers it. */
export interface RtldMachine {
  /** DL_DST_LIB: what $LIB expands to (Debian multiarch: lib/x86_64-linux-gnu). */
  lib: string;
  /** GLRO(dl_platform): what $PLATFORM expands to (AT_PLATFORM, "x86_64"). */
  platform: string;
  /** The system search path (SYSTEM_DIRS), tried last. */
  systemDirs: string[];
  /**
   * Subdirectories tried in front of every search directory, best first,
   * '' (the directory itself) last. glibc-hwcaps/x86-64-vN for each level
   * the CPU supports, then the legacy tls/platform combinations.
   */
  subdirs: string[];
  /** glibc-hwcaps names the CPU supports, best first (for ld.so.cache's hwcap entries). */
  glibcHwcaps: string[];
  /** The highest x86-64 ISA level the CPU supports (1 baseline .. 4 x86-64-v4). */
  isaLevel: number;
}

/** glibc-hwcaps names for x86-64, best first, down to the given ISA level (1 = baseline only). */
export function x86GlibcHwcaps(level: 1 | 2 | 3 | 4): string[] {
  return ['x86-64-v4', 'x86-64-v3', 'x86-64-v2'].filter((_, i) => 4 - i <= level);
}

/** The subdirectory list ld.so 2.36 builds for x86-64 (legacy part: platform and tls, as _dl_important_hwcaps combines them). */
export function x86Subdirs(glibcHwcaps: string[], platform: string): string[] {
  return [
    ...glibcHwcaps.map((h) => `glibc-hwcaps/${h}`),
    `tls/${platform}/x86_64`,
    `tls/${platform}`,
    'tls/x86_64',
    'tls',
    `${platform}/x86_64`,
    platform,
    'x86_64',
    '',
  ];
}

/** Debian 12 (glibc 2.36) x86-64, checked against `ld.so --help` and LD_DEBUG=libs on the reference machine. */
export const DEBIAN_X86_64: RtldMachine = {
  lib: 'lib/x86_64-linux-gnu',
  platform: 'x86_64',
  systemDirs: ['/lib/x86_64-linux-gnu/', '/usr/lib/x86_64-linux-gnu/', '/lib/', '/usr/lib/'],
  glibcHwcaps: x86GlibcHwcaps(4),
  isaLevel: 4,
  subdirs: x86Subdirs(x86GlibcHwcaps(4), 'x86_64'),
};

/**
 * is_dst(): the length of the token `ref` at `input[at]` (just after '$'),
 * braces included, or 0 when it is not that token.
 */
function isDst(input: string, at: number, ref: string): number {
  let i = at;
  const curly = input[i] === '{';
  if (curly) i++;
  if (!input.startsWith(ref, i)) return 0;
  const next = input[i + ref.length];
  if (curly) return next === '}' ? ref.length + 2 : 0;
  if (next !== undefined && /[A-Za-z0-9_]/.test(next)) return 0;
  return ref.length;
}

/** True when `input` holds a known dynamic string token (_dl_dst_count != 0). */
export function hasDst(input: string): boolean {
  for (let i = input.indexOf('$'); i !== -1; i = input.indexOf('$', i + 1)) {
    if (isDst(input, i + 1, 'ORIGIN') || isDst(input, i + 1, 'PLATFORM') || isDst(input, i + 1, 'LIB')) return true;
  }
  return false;
}

/**
 * _dl_dst_substitute(): replaces $ORIGIN, $PLATFORM and $LIB. Returns ''
 * when a known token has no value (ld.so then drops the path). `origin` is
 * the object's l_origin, undefined when unknown. Unknown `$NAME`s stay.
 */
export function substituteDst(input: string, origin: string | undefined, machine: RtldMachine): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    i++;
    let len = isDst(input, i, 'ORIGIN');
    let repl: string | undefined;
    if (len !== 0) {
      repl = origin;
    } else {
      len = isDst(input, i, 'PLATFORM');
      if (len !== 0) {
        repl = machine.platform;
      } else {
        len = isDst(input, i, 'LIB');
        if (len !== 0) repl = machine.lib;
      }
    }
    if (repl !== undefined) {
      out += repl;
      i += len;
    } else if (len !== 0) {
      return '';
    } else {
      out += '$';
    }
  }
  return out;
}

/**
 * fillin_rpath(): a colon (or, for LD_LIBRARY_PATH, colon or semicolon)
 * separated list as directories ending in '/', tokens expanded, each once.
 * An empty element is '' (the current directory); an element that expands to
 * nothing is dropped.
 */
export function splitSearchPath(
  list: string,
  separators: RegExp,
  origin: string | undefined,
  machine: RtldMachine,
): string[] {
  const dirs: string[] = [];
  for (const element of list.split(separators)) {
    let dir = '';
    if (element !== '') {
      dir = hasDst(element) ? substituteDst(element, origin, machine) : element;
      if (dir === '') continue;
      let len = dir.length;
      while (len > 1 && dir[len - 1] === '/') len--;
      dir = dir.slice(0, len);
      if (!dir.endsWith('/')) dir += '/';
    }
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

/** _dl_new_object's l_origin of a library opened as `name`: its directory, made absolute against `cwd`. */
export function originOf(name: string, cwd: string): string {
  const full = name.startsWith('/') ? name : `${cwd.endsWith('/') ? cwd : `${cwd}/`}${name}`;
  const slash = full.lastIndexOf('/');
  return slash <= 0 ? '/' : full.slice(0, slash);
}
