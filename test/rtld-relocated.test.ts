/**
 * The pages relocation writes, per file, against an independent count
 * (test/helpers/relocated-pages.py over readelf -lW / -rW), and their use in
 * `scan --json`: a page counted as shared on disk that relocation writes is
 * reported as such.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addRelocationWrites, relocatedFilePages } from '../src/loader/rtld/relocated-pages.js';
import { scan, toScanJson } from '../src/scan/index.js';

const HELPER = path.resolve(__dirname, 'helpers/relocated-pages.py');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const reason = has('python3') && has('readelf') ? '' : 'python3 or readelf missing';
if (reason) console.log(`rtld-relocated: skipped: ${reason}`);

const FILES = [
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libstdc++.so.6',
  '/usr/lib/x86_64-linux-gnu/libm.so.6',
  '/usr/bin/python3.11',
  '/usr/bin/bash',
  '/usr/bin/ls',
  '/usr/bin/gdb',
  path.resolve(__dirname, '../samples/bin/hello'),
].filter((f) => fs.existsSync(f));

function expected(files: string[]): Map<string, number[]> {
  const out = execFileSync('python3', [HELPER, ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const map = new Map<string, number[]>();
  for (const line of out.trim().split('\n')) {
    const at = line.lastIndexOf(': ');
    const rest = line.slice(at + 2).trim();
    map.set(line.slice(0, at), rest === '' ? [] : rest.split(' ').map(Number));
  }
  return map;
}

describe.skipIf(reason !== '')('pages relocation writes', () => {
  it('equal the independent count from readelf for real files', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(4);
    const want = expected(FILES);
    let nonEmpty = 0;
    for (const f of FILES) {
      const got = relocatedFilePages(fs.readFileSync(f), f, 4096) ?? [];
      expect(got, f).toEqual(want.get(f));
      if (got.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThanOrEqual(3);
  });

  it('a file without a dynamic section has none; a non-ELF file none', () => {
    const statik = path.resolve(__dirname, '../samples/bin/static');
    if (fs.existsSync(statik)) expect(relocatedFilePages(fs.readFileSync(statik), statik, 4096)).toBeUndefined();
    expect(relocatedFilePages(new TextEncoder().encode('#!/bin/sh\n'), 'script', 4096)).toBeUndefined();
  });

  it('scan --json gives per file the relocated pages and how many of them dedup counted as shared', async () => {
    const files = FILES.slice(0, 4);
    const result = await scan(files, { pageSize: 4096 });
    const json = addRelocationWrites(toScanJson(result), result);
    const want = expected(files);
    let total = 0;
    json.files.forEach((f, i) => {
      const pages = want.get(f.path)!;
      expect(f.relocation?.pages).toBe(pages.length);
      const ids = result.files[i]!.contentIds;
      const shared = pages.filter((p) => ids[p]! !== 0 && result.contents.pages[ids[p]!]! > 1).length;
      expect(f.relocation?.sharedPages).toBe(shared);
      total += pages.length;
    });
    expect(json.relocation.pages).toBe(total);
  });
});
