/**
 * The README's API examples are code, so they are compiled and run: every
 * ```ts block of the "## API" section is type-checked with tsc --strict
 * (`pagestack` and `pagestack/<layer>` mapped to src/), then transpiled and
 * executed as an ES module against the built package (dist/, as `import ... from
 * 'pagestack'` resolves it through package.json "exports").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const dist = join(root, 'dist', 'index.js');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function apiBlocks(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## API\n');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function inTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pagestack-readme-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('README API section', () => {
  it('has examples', () => {
    expect(apiBlocks().length).toBeGreaterThan(0);
  });

  it('compiles under tsc --strict', { timeout: 300_000 }, () => {
    inTempDir((dir) => {
      const files = apiBlocks().map((block, i) => {
        const file = join(dir, `example-${i}.mts`);
        writeFileSync(file, block);
        return file;
      });
      const config = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          paths: { pagestack: [join(root, 'src', 'index.ts')], 'pagestack/*': [join(root, 'src', '*', 'index.ts')] },
        },
        files: [...files, join(root, 'src', 'types', 'lz4js.d.ts')],
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
      const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
        timeout: 280_000,
      });
      expect(r.stdout + r.stderr, 'tsc --strict on the README examples').toBe('');
      expect(r.status).toBe(0);
    });
  });

  it.skipIf(!existsSync(dist))('runs every example against the built package', { timeout: 120_000 }, () => {
    inTempDir((dir) => {
      symlinkSync(join(root, 'samples'), join(dir, 'samples'));
      for (const [i, block] of apiBlocks().entries()) {
        const js = ts.transpileModule(block, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const code = js.replace(/from 'pagestack'/g, `from '${pathToFileURL(dist).href}'`);
        const file = join(dir, `example-${i}.mjs`);
        writeFileSync(file, code);
        // Runs in the temporary directory, with samples/ linked in so relative sample paths
        // resolve, and TMPDIR inside it: whatever an example writes is removed with it.
        // Throws (fails) on any error.
        execFileSync(process.execPath, [file], {
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
          env: { ...process.env, TMPDIR: dir },
        });
      }
    });
  });
});

if (!existsSync(dist))
  console.warn('readme-api: dist/ is missing (run npm run build): the README examples are not run');
