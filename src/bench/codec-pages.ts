/**
 * The pages the codec bench measures: PATH files, or the ELF files under
 * PATH directories; by default the largest libLLVM*.so in
 * /usr/lib/x86_64-linux-gnu, else the ELF files of /usr/bin. Distinct
 * non-zero pages only (what a container compresses), unless allPages.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export const PAGE_SIZE = 4096;
const LIB_DIR = '/usr/lib/x86_64-linux-gnu';

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

function elfFilesUnder(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) elfFilesUnder(path, out);
    else if (st.isFile() && st.size > 0 && isElf(path)) out.push(path);
  }
}

function defaultFiles(): string[] {
  if (existsSync(LIB_DIR)) {
    const llvm = readdirSync(LIB_DIR)
      .filter((n) => n.startsWith('libLLVM') && n.includes('.so'))
      .map((n) => join(LIB_DIR, n))
      .filter((p) => lstatSync(p).isFile())
      .sort((a, b) => lstatSync(b).size - lstatSync(a).size);
    if (llvm[0] !== undefined) return [llvm[0]];
  }
  const bin: string[] = [];
  if (existsSync('/usr/bin')) elfFilesUnder('/usr/bin', bin);
  return bin.filter((p) => !p.slice('/usr/bin/'.length).includes('/'));
}

export function filesOf(paths: string[]): string[] {
  if (paths.length === 0) return defaultFiles();
  const files: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`${path}: no such file or directory`);
    if (lstatSync(path).isDirectory()) elfFilesUnder(path, files);
    else files.push(path);
  }
  return files;
}

/** The pages to measure, packed one after another: distinct and non-zero unless allPages. */
export function collectPages(files: string[], maxBytes: number, allPages: boolean): Uint8Array {
  const seen = new Set<string>();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const zero = new Uint8Array(PAGE_SIZE);
  outer: for (const file of files) {
    const bytes = readFileSync(file);
    for (let at = 0; at < bytes.length; at += PAGE_SIZE) {
      if (total + PAGE_SIZE > maxBytes) break outer;
      const page = new Uint8Array(PAGE_SIZE);
      page.set(bytes.subarray(at, Math.min(at + PAGE_SIZE, bytes.length)));
      if (!allPages) {
        if (Buffer.compare(page, zero) === 0) continue;
        const digest = createHash('sha256').update(page).digest('base64');
        if (seen.has(digest)) continue;
        seen.add(digest);
      }
      chunks.push(page);
      total += PAGE_SIZE;
    }
  }
  return Buffer.concat(chunks);
}
