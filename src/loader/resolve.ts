/**
 * Path lookup inside a root directory, as a chrooted process would see it
 * (fs/namei.c semantics): absolute symlink targets start again at the root,
 * `..` never climbs above it, at most MAXSYMLINKS (40) links are followed.
 * Every host path touched is the root plus components that went through
 * this walk, so a hostile tree (links to /etc/passwd, ../../..) cannot make
 * the loader read outside the root.
 */
import type { ErrorCode } from '../error-codes.js';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fsError, InputError } from '../errors.js';
import { MAXSYMLINKS } from './x86-64.js';

/**
 * Resolves `path` inside `root` (a host directory; '/' for the real root)
 * and returns the host path of the final file. Relative paths start at
 * `cwd`, itself a path inside the root. `what` names the path in errors.
 */
export function resolveInRoot(root: string, path: string, what: string, cwd = '/'): string {
  let hostRoot: string;
  try {
    hostRoot = fs.realpathSync(root);
  } catch (err) {
    throw fsError(err, root);
  }
  const fail = (code: ErrorCode, problem: string) =>
    new InputError(code, `${what} ${path}: ${problem}`, { file: path, root: hostRoot });

  const resolved: string[] = [];
  const pending = split(path);
  if (!path.startsWith('/')) pending.unshift(...split(cwd));
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.' || name === '') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const host = hostPath(hostRoot, [...resolved, name]);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        throw fail('E_NOENT', `no such file or directory${hostRoot === '/' ? '' : ` under ${hostRoot}`}`);
      if (code === 'ENOTDIR') throw fail('E_NOTDIR', 'a path component is not a directory');
      throw fsError(err, host);
    }
    if (st.isSymbolicLink()) {
      if (++links > MAXSYMLINKS) throw fail('E_LOOP', `more than ${MAXSYMLINKS} symbolic links`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...split(target));
      continue;
    }
    if (pending.length > 0 && !st.isDirectory())
      throw fail('E_NOTDIR', `${`/${[...resolved, name].join('/')}`} is not a directory`);
    resolved.push(name);
  }
  return hostPath(hostRoot, resolved);
}

function split(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

function hostPath(hostRoot: string, components: string[]): string {
  return nodePath.join(hostRoot, ...components) || '/';
}
