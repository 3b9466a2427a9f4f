/**
 * Where the compiled worker scripts are. Workers run JavaScript from dist/;
 * when the TypeScript sources run directly (vitest), there is none next to
 * the module, and pack and unpack do their work in the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The URL of `relative` beside `base` when that file exists, else undefined. */
export function compiledModule(relative: string, base: string): URL | undefined {
  const url = new URL(relative, base);
  return url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? url : undefined;
}
