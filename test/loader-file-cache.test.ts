/**
 * The page-cache states of mapped files (src/loader/file-cache.ts): the
 * parser, what each state leaves in a Machine's page cache, how it changes
 * what one read fault maps, and its wiring into `maps`, `load` and
 * scenarios, with one-line errors for bad values. The comparison with the
 * kernel is test/loader-folio-kernel.test.ts.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecPlan } from '../src/abi/exec-plan.js';
import { ScenarioError } from '../src/errors.js';
import {
  fileCacheOption,
  fillFileCache,
  formatFileCacheState,
  parseFileCacheState,
  type FileCacheState,
} from '../src/loader/file-cache.js';
import { Machine, MemoryBacking, PROT_EXEC, PROT_READ, PROT_WRITE } from '../src/mm/index.js';
import { loadPrograms } from '../src/sim/load.js';
import { runScenario } from '../src/sim/run-scenario.js';
import { loadScenario } from '../src/sim/scenario/parse.js';
import { runCli } from './cli-inprocess.js';

const PAGE = 4096;
const BIN = path.resolve(__dirname, '../samples/bin');

describe('parseFileCacheState', () => {
  it('reads the states and write sizes', () => {
    expect(parseFileCacheState('faulted')).toEqual({ how: 'faulted' });
    expect(parseFileCacheState('pages')).toEqual({ how: 'pages' });
    expect(parseFileCacheState('write')).toEqual({ how: 'write' });
    expect(parseFileCacheState('write:65536')).toEqual({ how: 'write', writeSize: 65536 });
    expect(parseFileCacheState('write:64K')).toEqual({ how: 'write', writeSize: 65536 });
    expect(parseFileCacheState('write:2MiB')).toEqual({ how: 'write', writeSize: 2 << 20 });
    for (const s of ['faulted', 'pages', 'write', 'write:4096'])
      expect(formatFileCacheState(parseFileCacheState(s)!)).toBe(s);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'cold', 'write:', 'write:0', 'write:-1', 'write:3G', 'write:1.5M', 'Pages'])
      expect(parseFileCacheState(bad), bad).toBeUndefined();
    expect(() => fileCacheOption('--file-cache', 'cold')).toThrow(/--file-cache must be faulted, pages, write/);
  });
});

/** A 1 MiB file mapped read-only and executable at a 2 MiB-aligned address, alone in its page table. */
function program(): { plan: ExecPlan; backing: MemoryBacking; text: number } {
  // Every page different (page p holds (p ^ 7 * offset) & 0xff), so the content cache shares none.
  const bytes = new Uint8Array(256 * PAGE).map((_, i) => ((i >> 12) ^ (i * 7)) & 0xff);
  const backing = new MemoryBacking('/bin/big', bytes);
  const text = 0x40000000;
  const top = 0x7ffffffff000;
  return {
    backing,
    text,
    plan: {
      path: '/bin/big',
      vmas: [
        {
          start: text,
          end: text + 256 * PAGE,
          prot: PROT_READ | PROT_EXEC,
          shared: false,
          file: { backing, offset: 0 },
        },
        { start: top - 33 * PAGE, end: top, prot: PROT_READ | PROT_WRITE, shared: false, name: '[stack]' },
      ],
      writes: [],
      entry: text,
      loadBias: 0,
      startBrk: text + 256 * PAGE,
      stackTop: top,
    },
  };
}

/** Rss (pages) of the text VMA after one read of page 100 of it, with the file in `state`. */
function textRssAfterOneRead(state: FileCacheState): { rss: number; folios: number[]; cached: number } {
  const { plan, backing, text } = program();
  const m = new Machine({ frames: 4096, keepPageCache: state.how !== 'faulted' });
  fillFileCache(m, [backing], state);
  fillFileCache(m, [backing], state); // once per Machine and file
  const pid = m.exec(plan);
  m.read(pid, text + 100 * PAGE, 1);
  const folios = m.cachedFolios(backing).map((f) => f.pages);
  m.checkInvariants();
  return {
    rss: m.smaps(pid).find((e) => e.start === text)!.rss / PAGE,
    folios,
    cached: folios.reduce((a, b) => a + b, 0),
  };
}

describe('fillFileCache', () => {
  it('faulted caches nothing beforehand: the read maps its one page', () => {
    expect(textRssAfterOneRead({ how: 'faulted' })).toEqual({ rss: 1, folios: [1], cached: 1 });
  });

  it('pages caches every page in 4 KiB folios', () => {
    const r = textRssAfterOneRead({ how: 'pages' });
    expect(r.cached).toBe(256);
    expect(r.folios.every((n) => n === 1)).toBe(true);
  });

  it('write caches the write path folios, and one read maps a whole folio that fits', () => {
    // One write of 1 MiB: one 256-page folio. It holds the file's last page, so only
    // finish_fault maps it whole (it fits the VMA and the page table, and ends at EOF).
    const one = textRssAfterOneRead({ how: 'write' });
    expect(one.folios).toEqual([256]);
    expect(one.rss).toBe(256);
    // 64 KiB writes: sixteen 16-page folios; the read maps the one holding page 100.
    const small = textRssAfterOneRead({ how: 'write', writeSize: 64 * 1024 });
    expect(small.folios).toEqual(new Array(16).fill(16));
    expect(small.rss).toBe(16);
  });

  it('content-shared cache: pages and write both cache every page in 4 KiB', () => {
    for (const state of [{ how: 'pages' }, { how: 'write' }] as FileCacheState[]) {
      const { plan, backing } = program();
      const m = new Machine({ frames: 4096, keepPageCache: true, pageCache: 'content' });
      fillFileCache(m, [backing], state);
      expect(m.stats().pageCache).toBe(256);
      m.exec(plan);
      m.checkInvariants();
    }
  });
});

describe('wiring', () => {
  it('maps --smaps --file-cache: Rss grows from faulted to pages; a bad state is one line, status 2', async () => {
    const rss = async (state: string) => {
      const r = await runCli('maps', '--at', 'entry', '--smaps', '--file-cache', state, path.join(BIN, 'tables'));
      expect(r.status).toBe(0);
      return [...r.stdout.matchAll(/^Rss:\s+(\d+) kB$/gm)].reduce((t, x) => t + Number(x[1]), 0);
    };
    const faulted = await rss('faulted');
    expect(await rss('pages')).toBeGreaterThan(faulted);
    const bad = await runCli('maps', '--smaps', '--file-cache', 'cold', path.join(BIN, 'hello'));
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      'pagestack: maps: --file-cache must be faulted, pages, write or write:BYTES (BYTES from 1 to 2147479552), not "cold"',
    ]);
  });

  it('load --file-cache: whole files in the page cache, reported in the result', async () => {
    const images = [path.join(BIN, 'tables'), path.join(BIN, 'hello')];
    const faulted = await loadPrograms(images, { libs: false });
    const pages = await loadPrograms(images, { libs: false, fileCache: { how: 'pages' } });
    const write = await loadPrograms(images, { libs: false, fileCache: { how: 'write', writeSize: 8192 } });
    expect(faulted.fileCache).toBe('faulted');
    expect(write.fileCache).toBe('write:8192');
    expect(pages.system.file.pageCacheFrames).toBeGreaterThan(faulted.system.file.pageCacheFrames);
    expect(write.system.file.pageCacheFrames).toBe(pages.system.file.pageCacheFrames);
    expect(pages.system.file.majorFaults).toBe(0);
    const r = await runCli('load', '--no-libs', '--file-cache', 'write:0', path.join(BIN, 'hello'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--file-cache must be faulted, pages, write or write:BYTES');
  });

  it('scenario machine.fileCache: applied, reported, and checked', async () => {
    const doc = (machine: Record<string, unknown>, policies: unknown[] = [{ name: 'a' }]) => ({
      version: 1,
      machine: { frames: 4096, ...machine },
      programs: { tables: 'tables' },
      policies,
      steps: [{ op: 'exec', proc: 'p', program: 'tables' }],
    });
    const run = async (machine: Record<string, unknown>) => runScenario(doc(machine) as never, { baseDir: BIN });
    const faulted = await run({});
    const written = await run({ fileCache: 'write' });
    expect(faulted.machine.fileCache).toBe('faulted');
    expect(written.machine).toMatchObject({ fileCache: 'write', keepPageCache: true });
    expect(written.policies[0]!.summary.framesFinal).toBeGreaterThan(faulted.policies[0]!.summary.framesFinal);
    const problem = async (machine: Record<string, unknown>, policies?: unknown[]) => {
      const err = await loadScenario(doc(machine, policies) as never, { baseDir: BIN }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as Error).message).not.toContain('\n');
      return (err as Error).message;
    };
    expect(await problem({ fileCache: 'cold' })).toMatch(/machine\.fileCache: must be "faulted", "pages", "write"/);
    expect(await problem({ fileCache: 'pages', keepPageCache: false })).toMatch(
      /machine\.keepPageCache: must be true with "fileCache": "pages"/,
    );
    expect(await problem({ fileCache: 'write' }, [{ name: 'x', keepPageCache: false }])).toMatch(
      /policies\[0\]\.keepPageCache: must be true/,
    );
    // run --file-cache: instead of the scenario's field, keepPageCache turned on.
    const over = await runScenario(doc({}) as never, { baseDir: BIN, fileCache: { how: 'write', writeSize: 65536 } });
    expect(over.machine).toMatchObject({ fileCache: 'write:65536', keepPageCache: true });
    expect(over.policies[0]!.summary.framesFinal).toBe(written.policies[0]!.summary.framesFinal);
    await expect(
      runScenario(doc({}, [{ name: 'x', keepPageCache: false }]) as never, {
        baseDir: BIN,
        fileCache: { how: 'pages' },
      }),
    ).rejects.toThrow('--file-cache pages keeps files in the page cache, but policy "x" sets keepPageCache false');
  });
});
