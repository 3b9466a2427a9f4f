/**
 * `pagestack scan --json` totals against an independent count: Python's
 * hashlib over the same zero-padded pages of the same files, walked by the
 * same rules (test/helpers/pagecount.py). Runs on samples/bin always, and on
 * the pyelftools corpus and /usr/bin when they exist.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { pyelftoolsDir } from './helpers/shared.js';

const ROOT = path.resolve(__dirname, '..');
const PAGECOUNT = path.join(ROOT, 'test', 'helpers', 'pagecount.py');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const USR_BIN = '/usr/bin';

const python = hasPython();
const pyelftools = pyelftoolsDir();
if (!python) console.warn('skipping the page-count oracle tests: python3 is not installed');
if (!pyelftools)
  console.warn(
    'skipping the pyelftools corpus: no shared/corpus/pyelftools ($PAGESTACK_SHARED, ../shared or ../../shared)',
  );
if (!fs.existsSync(USR_BIN)) console.warn('skipping the /usr/bin slice: /usr/bin does not exist');
/** The whole-directory comparison reads /usr/bin twice per page size; skipped where it is huge. */
const USR_BIN_LIMIT = 2 * 2 ** 30;
const usrBinSmallEnough = fs.existsSync(USR_BIN) && directoryBytes(USR_BIN) <= USR_BIN_LIMIT;
if (fs.existsSync(USR_BIN) && !usrBinSmallEnough)
  console.warn(`skipping the whole-/usr/bin comparison: more than ${USR_BIN_LIMIT} bytes (the slice still runs)`);

interface Totals {
  files: number;
  bytes: number;
  pages: number;
  zeroPages: number;
  uniquePages: number;
  duplicatePages: number;
}

function pythonCount(paths: string[], pageSize: number, allFiles = false): Totals {
  const args = [PAGECOUNT, '--page-size', String(pageSize), ...(allFiles ? ['--all-files'] : []), '--', ...paths];
  const out = JSON.parse(execFileSync('python3', args, { encoding: 'utf8', maxBuffer: 1 << 26 }));
  return out.totals as Totals;
}

/** Runs the CLI in-process and returns its --json document. */
async function cliJson(args: string[]): Promise<{ totals: Totals; pageSize: number; files: Array<{ path: string }> }> {
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  let status: number;
  try {
    status = await main(['node', 'pagestack', 'scan', '--json', '--quiet', ...args]);
  } finally {
    spy.mockRestore();
  }
  expect(status).toBe(0);
  return JSON.parse(stdout);
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    try {
      const st = fs.lstatSync(path.join(dir, name));
      if (st.isFile()) total += st.size;
    } catch {
      // vanished or unreadable: not counted
    }
  }
  return total;
}

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The first `count` regular ELF files of /usr/bin by name, as explicit paths. */
function usrBinSlice(count: number): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const name of fs.readdirSync(USR_BIN).sort()) {
    if (out.length >= count) break;
    const p = path.join(USR_BIN, name);
    try {
      const st = fs.lstatSync(p);
      if (!st.isFile() || seen.has(`${st.dev}:${st.ino}`)) continue;
      seen.add(`${st.dev}:${st.ino}`);
      const fd = fs.openSync(p, 'r');
      const magic = Buffer.alloc(4);
      const n = fs.readSync(fd, magic, 0, 4, 0);
      fs.closeSync(fd);
      if (n === 4 && magic.toString('latin1') === '\x7fELF') out.push(p);
    } catch {
      // unreadable: not part of the slice
    }
  }
  return out;
}

describe.skipIf(!python)('scan totals equal an independent Python hashlib count', () => {
  for (const pageSize of [4096, 65536]) {
    it(`samples/bin at ${pageSize / 1024} KiB pages`, async () => {
      const doc = await cliJson(['--page-size', String(pageSize), SAMPLES]);
      expect(doc.pageSize).toBe(pageSize);
      expect(doc.totals).toEqual(pythonCount([SAMPLES], pageSize));
    });

    it(`samples/ with --all-files at ${pageSize / 1024} KiB pages`, async () => {
      const dir = path.join(ROOT, 'samples');
      const doc = await cliJson(['--all-files', '--page-size', String(pageSize), dir]);
      expect(doc.totals).toEqual(pythonCount([dir], pageSize, true));
    });

    it.skipIf(!pyelftools)(`the pyelftools corpus at ${pageSize / 1024} KiB pages`, async () => {
      const doc = await cliJson(['--page-size', String(pageSize), pyelftools!]);
      expect(doc.totals).toEqual(pythonCount([pyelftools!], pageSize));
      if (pageSize === 4096) {
        // The corpus README's own count covers its 109 ELF files (README.md is not ELF).
        expect(doc.totals).toEqual({
          files: 109,
          bytes: doc.totals.bytes,
          pages: 4007,
          zeroPages: 675,
          uniquePages: 3300,
          duplicatePages: 32,
        });
      }
      const all = await cliJson(['--all-files', '--page-size', String(pageSize), pyelftools!]);
      expect(all.totals).toEqual(pythonCount([pyelftools!], pageSize, true));
    });

    it.skipIf(!fs.existsSync(USR_BIN))(`a slice of /usr/bin at ${pageSize / 1024} KiB pages`, async () => {
      const slice = usrBinSlice(150);
      expect(slice.length).toBeGreaterThan(0);
      const doc = await cliJson(['--page-size', String(pageSize), ...slice]);
      expect(doc.totals).toEqual(pythonCount(slice, pageSize));
      expect(doc.files.map((f) => f.path)).toEqual(slice);
    });
  }

  for (const pageSize of [4096, 65536]) {
    it.skipIf(!usrBinSmallEnough)(
      `all of /usr/bin, walked as a directory, at ${pageSize / 1024} KiB pages`,
      async () => {
        const doc = await cliJson(['--page-size', String(pageSize), USR_BIN]);
        expect(doc.totals).toEqual(pythonCount([USR_BIN], pageSize));
      },
    );
  }
});
