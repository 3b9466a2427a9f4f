/**
 * `pagestack load`: the two page caches side by side. The saving of the
 * content-shared cache is checked against a count made without the
 * project's page index: the file pages the processes map from the page
 * cache, grouped by SHA-256 of their bytes read straight from the files.
 * Containers: real ones packed by src/container (the interpreter found
 * through a symlinked directory inside), and a stand-in reader that covers
 * the lookup rules (symlinks relative and absolute, `..`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../src/mm/machine.js';
import { ContentIndex, MemoryBacking } from '../src/mm/memory-backing.js';
import { CONTAINER_MAGIC } from '../src/sim/container-reader.js';
import type { ContainerMember, ContainerReader } from '../src/sim/container-source.js';
import { loadPrograms, startupPages, type TouchMode } from '../src/sim/load.js';
import { ProgramSet } from '../src/sim/programs.js';
import { runScenario } from '../src/sim/run-scenario.js';
import { pack } from '../src/container/index.js';
import { runCli } from './sim-helpers.js';

const BIN = path.resolve(__dirname, '../samples/bin');
const PAGE = 4096;
const TABLES = [path.join(BIN, 'tables'), path.join(BIN, 'tables2')];

/**
 * Runs the same start-ups on a per-file-cache Machine and lists the file
 * pages mapped from the page cache (not COW copies) as (real path, page).
 */
async function mappedFilePages(files: string[], procs: number, touch: TouchMode): Promise<Set<string>> {
  const set = await ProgramSet.create();
  const m = new Machine({ frames: 1 << 20, pageCache: 'file' });
  const pages = new Set<string>();
  for (const file of files) {
    const program = set.elf(file, file);
    const plan = set.plan(program);
    const startup = startupPages(program, plan, touch, PAGE);
    for (let i = 0; i < procs; i++) {
      const pid = m.exec(plan);
      for (const r of startup.reads) m.touch(pid, r.addr, r.length, 'read');
      for (const r of startup.writes) m.touch(pid, r.addr, r.length, 'write');
      for (const vma of m.maps(pid)) {
        if (!vma.path.startsWith('/')) continue;
        for (let addr = vma.start; addr < vma.end; addr += PAGE) {
          if (m.pageInfo(pid, addr).kind === 'file')
            pages.add(`${vma.path}\0${vma.offset / PAGE + (addr - vma.start) / PAGE}`);
        }
      }
    }
  }
  return pages;
}

/** Distinct contents among the pages, by SHA-256 of the bytes read from disk (a page past EOF is zero-padded). */
function distinctContents(pages: Set<string>): number {
  const hashes = new Set<string>();
  const cache = new Map<string, Buffer>();
  for (const key of pages) {
    const [file, index] = key.split('\0') as [string, string];
    let bytes = cache.get(file);
    if (!bytes) cache.set(file, (bytes = fs.readFileSync(file)));
    const page = Buffer.alloc(PAGE);
    bytes.copy(page, 0, Number(index) * PAGE, Math.min(bytes.length, (Number(index) + 1) * PAGE));
    hashes.add(createHash('sha256').update(page).digest('hex'));
  }
  return hashes.size;
}

describe('load: content-shared against per-file page cache', () => {
  it.each([
    ['all', 1],
    ['all', 3],
    [0.5, 2],
    ['text', 1],
  ] as Array<[TouchMode, number]>)(
    'tables + tables2, touch %s, %i per program: the saving is the number of duplicate pages mapped',
    async (touch, procs) => {
      const r = await loadPrograms(TABLES, { procs, touch, libs: false });
      const pages = await mappedFilePages(TABLES, procs, touch);
      const duplicates = pages.size - distinctContents(pages);
      expect(r.system.file.pageCacheFrames).toBe(pages.size);
      expect(r.system.saving.pageCacheFrames).toBe(duplicates);
      expect(r.system.saving.framesUsed).toBe(duplicates);
      expect(r.system.saving.anonFrames).toBe(0);
      if (touch !== 'text') {
        // The four copies of the table, .data's zero pages and ld.so's pages: far more than a few.
        expect(duplicates).toBeGreaterThan(60);
        expect(r.system.content.pssTotal).toBeLessThan(r.system.file.pssTotal);
        // A page read from the file once per distinct content instead of once per page.
        expect(r.system.saving.fileReadBytes).toBe(duplicates * PAGE);
      }
      expect(r.processes).toHaveLength(2 * procs);
      for (const p of r.processes) expect(p.content.pss).toBeLessThanOrEqual(p.file.pss);
    },
  );

  it('sums per-process Pss to the system total in both modes, and forked children share the parent pages', async () => {
    const r = await loadPrograms([path.join(BIN, 'hello')], { procs: 4, fork: true });
    for (const mode of ['content', 'file'] as const) {
      expect(r.processes.reduce((t, p) => t + p[mode].pss, 0)).toBe(r.system[mode].pssTotal);
    }
    expect(r.processes.map((p) => p.forked)).toEqual([false, true, true, true]);
    // Children write nothing: the parent's written pages are shared, so no process has more anonymous frames than the first.
    const execs = await loadPrograms([path.join(BIN, 'hello')], { procs: 4 });
    expect(r.system.file.anonFrames).toBeLessThan(execs.system.file.anonFrames);
  });

  it('prints both caches side by side, and the same as JSON', async () => {
    const text = await runCli('load', '--no-libs', ...TABLES, '--procs', '2');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^load: 2 programs × 2 processes \(execs\), start-up touches all\n/);
    expect(text.stdout).toMatch(
      /\nper process \(smaps_rollup\)\npid +program +Rss content +Rss per-file +Pss content +Pss per-file +Pss saved\n/,
    );
    expect(text.stdout).toMatch(
      /\nsystem\n +content-shared +per-file +saved\nframes used +\d+ +\d+ +\d+ \(\d+\.\d%\)\n/,
    );
    const json = await runCli('load', '--no-libs', ...TABLES, '--procs', '2', '--json');
    const doc = JSON.parse(json.stdout) as { schema: string; system: { saving: { framesUsed: number } } };
    expect(doc.schema).toBe('pagestack.load/1');
    expect(text.stdout).toContain(` ${doc.system.saving.framesUsed} (`);
  });

  it('refuses bad flags with exit 2 and bad files with exit 1, in one line', async () => {
    expect(await runCli('load', path.join(BIN, 'hello'), '--procs', 'x')).toMatchObject({
      status: 2,
      stderr: 'pagestack: load: --procs must be a whole number, not "x"\n',
    });
    expect(await runCli('load', path.join(BIN, 'hello'), '--procs', '0')).toMatchObject({ status: 2 });
    expect(await runCli('load', path.join(BIN, 'hello'), '--touch', '1.5')).toMatchObject({ status: 2 });
    expect(await runCli('load', 'missing-program')).toMatchObject({
      status: 1,
      stderr: 'pagestack: load: missing-program: no such file or directory\n',
    });
  });
});

/** A stand-in for src/container's reader: members in memory, content ids shared across members. */
function fakeContainer(file: string): ContainerReader {
  const index = new ContentIndex(PAGE);
  const ldso = fs.realpathSync('/lib64/ld-linux-x86-64.so.2');
  const members: Array<ContainerMember & { bytes?: Uint8Array }> = [];
  const add = (
    path: string,
    kind: ContainerMember['kind'],
    extra: Partial<ContainerMember & { bytes: Uint8Array }> = {},
  ) => members.push({ index: members.length, path, kind, mode: 0o755, size: extra.bytes?.length ?? 0, ...extra });
  add('bin', 'directory');
  for (const name of ['hello', 'tables', 'tables2'])
    add(`bin/${name}`, 'regular', { bytes: fs.readFileSync(path.join(BIN, name)) });
  add('lib', 'symlink', { linkTarget: 'usr/lib' });
  add('lib64', 'directory');
  add('lib64/ld-linux-x86-64.so.2', 'symlink', { linkTarget: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' });
  add('usr', 'directory');
  add('usr/lib', 'directory');
  add('usr/lib/x86_64-linux-gnu', 'directory');
  add('usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'regular', { bytes: fs.readFileSync(ldso) });
  const backings = new Map<number, MemoryBacking>();
  return {
    path: file,
    pageSize: PAGE,
    files: members,
    findFile: (member) => members.find((m) => m.path === member)?.index,
    backing: (i) => {
      let b = backings.get(i);
      if (!b) backings.set(i, (b = new MemoryBacking(members[i]!.path, members[i]!.bytes!, { index })));
      return b;
    },
    close: () => {},
  };
}

describe('load: programs from a container', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-load-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const image = path.join(dir, 'samples.pgs');
  fs.writeFileSync(image, Buffer.concat([Buffer.from(CONTAINER_MAGIC), Buffer.alloc(100)]));
  const openContainer = async (p: string) => fakeContainer(p);

  it('loads every program member, finds the interpreter inside the container, and saves what the plain files save', async () => {
    const r = await loadPrograms([image], { openContainer, procs: 2, libs: false });
    expect(r.programs.map((p) => p.name)).toEqual([
      `${image}:bin/hello`,
      `${image}:bin/tables`,
      `${image}:bin/tables2`,
    ]);
    expect(r.programs.every((p) => p.interpreter === 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe(true);
    const plain = await loadPrograms([path.join(BIN, 'hello'), ...TABLES], { procs: 2, libs: false });
    expect(r.system.saving.framesUsed).toBe(plain.system.saving.framesUsed);
    expect(r.system.content.pssTotal).toBe(plain.system.content.pssTotal);
    expect(r.system.file.pssTotal).toBe(plain.system.file.pssTotal);
  });

  it('loads one member with CONTAINER:MEMBER and names a missing one', async () => {
    const r = await loadPrograms([`${image}:bin/tables`], { openContainer });
    expect(r.programs).toHaveLength(1);
    await expect(loadPrograms([`${image}:bin/ls`], { openContainer })).rejects.toThrow(
      `${image}: bin/ls: no such member`,
    );
  });

  it('a scenario runs the same from the real container, from the ELF files and from a stand-in reader', async () => {
    const dir = path.resolve(__dirname, '../samples/scenarios');
    const sharing = JSON.parse(fs.readFileSync(path.join(dir, 'sharing.json'), 'utf8')) as {
      programs: Record<string, unknown>;
    };
    const fromContainer = await runScenario(path.join(dir, 'sharing.json'));
    const names = ['tables', 'tables2', 'hello'];
    sharing.programs = Object.fromEntries(names.map((n) => [n, `../bin/${n}`]));
    const fromFiles = await runScenario(structuredClone(sharing) as never, { baseDir: dir });
    sharing.programs = Object.fromEntries(names.map((n) => [n, { container: image, member: `bin/${n}` }]));
    const fromStandIn = await runScenario(sharing as never, { openContainer, checkInvariants: true });
    for (const i of [0, 1]) {
      const want = fromFiles.policies[i]!.summary;
      for (const other of [fromContainer, fromStandIn]) {
        const got = other.policies[i]!.summary;
        expect([got.framesFinal, got.pssTotal, got.rssTotal, got.bytesVerified]).toEqual([
          want.framesFinal,
          want.pssTotal,
          want.rssTotal,
          want.bytesVerified,
        ]);
      }
    }
  });

  it('a real container: programs, and the interpreter through a symlinked directory inside it', async () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(tree, 'usr/lib'), { recursive: true });
    for (const n of ['hello', 'tables', 'tables2']) fs.copyFileSync(path.join(BIN, n), path.join(tree, 'bin', n));
    fs.copyFileSync(fs.realpathSync('/lib64/ld-linux-x86-64.so.2'), path.join(tree, 'usr/lib/ld-linux-x86-64.so.2'));
    fs.symlinkSync('usr/lib', path.join(tree, 'lib64'));
    const real = path.join(dir, 'real.pgs');
    await pack(
      ['bin', 'lib64', 'usr'].map((p) => path.join(tree, p)),
      real,
      { threads: 0 },
    );
    const r = await loadPrograms([real], { procs: 2, libs: false });
    expect(r.programs.map((p) => [p.name, p.interpreter])).toEqual(
      ['hello', 'tables', 'tables2'].map((n) => [`${real}:bin/${n}`, 'usr/lib/ld-linux-x86-64.so.2']),
    );
    const plain = await loadPrograms([path.join(BIN, 'hello'), ...TABLES], { procs: 2, libs: false });
    expect(r.system.content).toEqual(plain.system.content);
    expect(r.system.file).toEqual(plain.system.file);
    const cli = await runCli('load', '--no-libs', `${real}:bin/tables`);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(`${real}:bin/tables  (interpreter usr/lib/ld-linux-x86-64.so.2)`);
  });

  it('a damaged container is refused in one line', async () => {
    const r = await runCli('load', image);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pagestack: load: .*samples\.pgs: /);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });
});
