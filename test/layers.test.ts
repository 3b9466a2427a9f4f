/**
 * The folders of src/ are layers (docs/notes/architecture.md): a module may
 * import from its own folder and from the layers below it, never from a
 * layer above, and folders import each other without cycles. This test reads
 * every import of src/ (static, `export ... from` and `import()`, type-only
 * ones included) and checks both rules, so a new import that runs back up a
 * layer fails here with the file and the import named.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

/**
 * Bottom to top. Folders in one group are peers and may not import each
 * other. Top-level files of src/ (error-codes.ts, errors.ts, version.ts) and the ambient
 * declarations of types/ are the bottom; index.ts (the curated root export)
 * is the top.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['error-codes'],
  ['errors', 'version', 'types'],
  ['util', 'abi'],
  ['elf'],
  ['scan'],
  ['codec'],
  ['container'],
  ['mm', 'malloc'],
  ['loader'],
  ['sim'],
  ['report'],
  ['cli', 'bench'],
  ['index'],
];

function rankOf(folder: string): number {
  return LAYERS.findIndex((group) => group.includes(folder));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** src/a/b.ts -> 'a'; src/errors.ts -> 'errors'. */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? parts[0]!.replace(/\.d\.ts$|\.ts$/, '') : parts[0]!;
}

interface Edge {
  from: string;
  to: string;
  file: string;
  spec: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(pattern)) {
      const spec = m[1]!;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC + sep)) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) edges.push({ from, to, file: relative(SRC, file), spec });
    }
  }
  return edges;
}

const edges = importEdges();

describe('layers of src/', () => {
  it('finds the imports it checks', () => {
    // A parser that found nothing would pass every rule below.
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual(expect.objectContaining({ from: 'container', to: 'codec' }));
  });

  it('places every folder of src/ in a layer', () => {
    const folders = new Set(sourceFiles(SRC).map(folderOf));
    const unplaced = [...folders].filter((f) => rankOf(f) < 0);
    expect(unplaced, 'add new folders to LAYERS here and to docs/notes/architecture.md').toEqual([]);
  });

  it('imports only from the same layer folder or the layers below', () => {
    const upward = edges
      .filter((e) => rankOf(e.to) >= rankOf(e.from))
      .map((e) => `src/${e.file} (${e.from}) imports ${e.spec} (${e.to})`);
    expect(upward).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) {
      if (!next.has(e.from)) next.set(e.from, new Set());
      next.get(e.from)!.add(e.to);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, stack: string[]): void => {
      state.set(node, 'open');
      for (const to of next.get(node) ?? []) {
        if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to].join(' -> '));
        else if (state.get(to) === undefined) visit(to, [...stack, to]);
      }
      state.set(node, 'done');
    };
    for (const node of next.keys()) if (state.get(node) === undefined) visit(node, [node]);
    expect(cycles).toEqual([]);
  });
});
