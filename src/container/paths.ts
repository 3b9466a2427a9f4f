/**
 * Member path rules (FORMAT.md section 5): relative, '/'-separated, no empty,
 * '.' or '..' component, no NUL, components of at most 255 bytes, at most
 * 4095 bytes in all. The same rules protect unpack: a path that passes
 * cannot name anything outside the target directory by itself (symbolic
 * links on the way are the tree-order rule's job, in reader.ts).
 */
import { MAX_NAME_BYTES, MAX_PATH_BYTES } from './format.js';

/** Why `path` (as stored, UTF-8 decoded) is not a valid member path, or undefined when it is. */
export function memberPathProblem(path: string, byteLength: number): string | undefined {
  if (byteLength === 0) return 'is empty';
  if (byteLength > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/')) return 'is absolute';
  for (const component of path.split('/')) {
    if (component === '') return 'has an empty component (a leading, trailing or doubled /)';
    if (component === '.' || component === '..') return `has a '${component}' component`;
    if (Buffer.byteLength(component, 'utf8') > MAX_NAME_BYTES)
      return `has a component longer than ${MAX_NAME_BYTES} bytes`;
  }
  return undefined;
}

/** The parent of a member path ('' for a top-level entry). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Normalizes a member name given on the command line: strips './' prefixes and trailing '/'. */
export function normalizeMemberName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  while (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n;
}
