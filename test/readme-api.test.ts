/**
 * The README's API examples are code, so they are run: every ```ts block of
 * the "## API" section is executed as an ES module against the built
 * package (dist/, as `import ... from 'pagestack'` resolves it through
 * package.json "exports"), with its imports pointed at this checkout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const dist = join(root, 'dist', 'index.js');

function apiBlocks(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## API\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README API section', () => {
  it('has examples', () => {
    expect(apiBlocks().length).toBeGreaterThan(0);
  });

  it.skipIf(!existsSync(dist))('runs every example against the built package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagestack-readme-'));
    symlinkSync(join(root, 'samples'), join(dir, 'samples'));
    try {
      for (const [i, block] of apiBlocks().entries()) {
        const code = block.replace(/from 'pagestack'/g, `from '${pathToFileURL(dist).href}'`);
        const file = join(dir, `example-${i}.mjs`);
        writeFileSync(file, code);
        // Runs in our temporary directory, with samples/ linked in so relative sample paths
        // resolve, and TMPDIR inside it: whatever an example writes is removed with it.
        execFileSync(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, TMPDIR: dir } });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

if (!existsSync(dist)) console.warn('readme-api: dist/ is missing (run npm run build): the README examples are not run');
