/**
 * Where the shared corpora are: $PAGESTACK_SHARED, or a `shared` folder next
 * to the repository (../shared from the main checkout, ../../shared from a
 * worktree under wt/). Undefined when none exists: tests that need it skip.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export function sharedDir(): string | undefined {
  return [process.env.PAGESTACK_SHARED, join(root, '../shared'), join(root, '../../shared')].find(
    (d): d is string => d !== undefined && d !== '' && existsSync(join(d, 'corpus/pyelftools')),
  );
}

/** ../shared/corpus/pyelftools, or undefined. */
export function pyelftoolsDir(): string | undefined {
  const shared = sharedDir();
  return shared ? join(shared, 'corpus/pyelftools') : undefined;
}
