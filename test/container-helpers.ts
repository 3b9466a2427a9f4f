/**
 * Shared by the container tests: temporary directories, a tree with every
 * kind of entry, and a snapshot of a tree to compare restored trees with.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../src/util/prng.js';

export const SAMPLES = fileURLToPath(new URL('../samples/bin', import.meta.url));
export const CORPUS = '/work/shared/corpus/pyelftools';

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pagestack-${label}-`));
}

/** rm -rf that also works on read-only directories (tests run as non-root in CI). */
export function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const makeWritable = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      fs.chmodSync(p, 0o700);
      for (const name of fs.readdirSync(p)) makeWritable(path.join(p, name));
    }
  };
  makeWritable(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Sets an mtime with touch(1): Node's utimes turns negative times into "now". */
function setTime(p: string, seconds: string, link = false): void {
  execFileSync('touch', [...(link ? ['-h'] : []), '-d', `@${seconds}`, p]);
}

/**
 * Builds `root/tree` with: ELF samples, text and binary non-ELF files, an
 * empty file, a file of zero pages with a tail, empty and nested
 * directories, relative, absolute and dangling symlinks, a symlink to a
 * directory, a hard-link group of three names in two directories, setuid,
 * sticky and read-only modes, a read-only directory, a UTF-8 name with
 * spaces, and mtimes with sub-second parts (one before 1970).
 */
export function buildTree(root: string): string {
  const tree = path.join(root, 'tree');
  const d = (rel: string): string => path.join(tree, rel);
  fs.mkdirSync(d('bin'), { recursive: true });
  fs.mkdirSync(d('data/nested/deeper'), { recursive: true });
  fs.mkdirSync(d('empty-dir'));
  fs.mkdirSync(d('readonly-dir'));
  for (const name of ['hello', 'tables', 'tables2', 'static'])
    fs.copyFileSync(path.join(SAMPLES, name), d(`bin/${name}`));
  fs.writeFileSync(d('data/notes.txt'), 'not an ELF file\n'.repeat(700));
  const noise = Buffer.alloc(3 * 4096 + 123);
  const next = mulberry32(12345);
  for (let i = 0; i < noise.length; i++) noise[i] = next() >>> 24;
  fs.writeFileSync(d('data/noise.bin'), noise);
  const sparse = Buffer.alloc(5 * 4096 + 17);
  sparse.write('tail', 5 * 4096);
  fs.writeFileSync(d('data/nested/zeros-with-tail'), sparse);
  fs.writeFileSync(d('data/nested/deeper/empty'), '');
  fs.writeFileSync(d('data/ünïcødé name.txt'), 'UTF-8 names\n');
  fs.writeFileSync(d('readonly-dir/inside'), 'inside a read-only directory\n');
  fs.writeFileSync(d('data/group-a'), 'three names, one inode\n'.repeat(300));
  fs.linkSync(d('data/group-a'), d('data/group-b'));
  fs.linkSync(d('data/group-a'), d('bin/group-c'));
  fs.symlinkSync('../data/notes.txt', d('bin/relative-link'));
  fs.symlinkSync('/etc/passwd', d('bin/absolute-link'));
  fs.symlinkSync('does/not/exist', d('bin/dangling-link'));
  fs.symlinkSync('../data', d('bin/dir-link'));
  fs.chmodSync(d('bin/static'), 0o4755);
  fs.chmodSync(d('data/notes.txt'), 0o444);
  fs.chmodSync(d('data/nested'), 0o1777);
  setTime(d('data/notes.txt'), '1600000000.123456789');
  setTime(d('data/noise.bin'), '-86400.25');
  setTime(d('bin/absolute-link'), '1500000000.5', true);
  setTime(d('data/nested/deeper'), '1234567890.000001');
  fs.chmodSync(d('readonly-dir'), 0o555);
  return tree;
}

export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  /** mtime truncated to the microsecond (what Node can restore). */
  mtimeUs: bigint;
  size: number;
  sha256?: string;
  target?: string;
  /** Names sharing this entry's inode (hard links), sorted, when more than one. */
  links?: string[];
}

/** Every entry below `root` (root itself excluded; only the top-level `names` when given), keyed by relative path. */
export function snapshot(root: string, names?: string[]): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const inodes = new Map<string, string[]>();
  const walk = (dir: string, rel: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (rel === '' && names && !names.includes(name)) continue;
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(p, { bigint: true });
      const base = { mode: Number(st.mode & 0o7777n), mtimeUs: st.mtimeNs / 1000n };
      if (st.isSymbolicLink()) out.set(r, { ...base, mode: 0, kind: 'symlink', size: 0, target: fs.readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { ...base, kind: 'dir', size: 0 });
        walk(p, r);
      } else {
        const bytes = fs.readFileSync(p);
        out.set(r, {
          ...base,
          kind: 'file',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
        const key = `${st.dev}:${st.ino}`;
        inodes.set(key, [...(inodes.get(key) ?? []), r]);
      }
    }
  };
  walk(root, '');
  for (const names of inodes.values()) {
    if (names.length < 2) continue;
    const sorted = [...names].sort();
    for (const n of names) out.get(n)!.links = sorted;
  }
  return out;
}

/** Plain objects for toEqual: a readable diff when trees differ. */
export function asObject(m: Map<string, TreeEntry>): Record<string, TreeEntry> {
  return Object.fromEntries(m);
}
