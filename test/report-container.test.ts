/**
 * Reports of container images (`pagestack pack` output): pages from the
 * share map, ELF structure from the members' bytes. The report of a
 * container of samples/bin must equal the report of samples/bin itself,
 * page by page; a container and the directory it holds share every
 * non-zero page; page sizes must agree; damage is one line, exit 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack } from '../src/container/index.js';
import { buildReportModel, pageKinds, PAGE_KINDS, type ReportModel } from '../src/report/index.js';
import { runCli } from './cli-inprocess.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
let dir: string;
let image: string;
let image16k: string;
let direct: ReportModel;

/** Runs `pagestack report ARGS` in this process (cli-inprocess.ts). */
const run = (...args: string[]) => runCli('report', ...args);

const kindsOf = (model: ReportModel) =>
  model.files.map((_, f) => Array.from(pageKinds(model, f), (k) => PAGE_KINDS[k]!));
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-report-container-'));
  image = path.join(dir, 'samples.pgs');
  image16k = path.join(dir, 'samples-16k.pgs');
  await pack([SAMPLES], image, { threads: 0 });
  await pack([SAMPLES], image16k, { threads: 0, pageSize: 16384 });
  direct = await buildReportModel([SAMPLES]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the report of a container', () => {
  it('equals the report of the files it holds, page by page', async () => {
    const model = await buildReportModel([image]);
    expect(model.inputs).toEqual([{ kind: 'container', paths: [image] }]);
    expect(model.files.map((f) => f.path)).toEqual(direct.files.map((f) => `${image}:bin/${baseName(f.path)}`));
    expect(model.files.map((f) => f.size)).toEqual(direct.files.map((f) => f.size));
    expect(kindsOf(model)).toEqual(kindsOf(direct));
    expect(model.totals).toEqual(direct.totals);
    expect(model.files.map((f) => f.counts)).toEqual(direct.files.map((f) => f.counts));
  });

  it('has the ELF structure of each member, as the scan of the file', async () => {
    const model = await buildReportModel([image]);
    model.files.forEach((f, i) => {
      const d = direct.files[i]!;
      expect(f.elf).toEqual(d.elf);
      expect(f.sections).toEqual(d.sections);
      expect(f.segments.map((s) => [s.index, s.perms, s.firstPage, s.pages])).toEqual(
        d.segments.map((s) => [s.index, s.perms, s.firstPage, s.pages]),
      );
    });
  });

  it('next to the directory it was packed from: every non-zero page is shared (within its file, or else across files)', async () => {
    const model = await buildReportModel([image, SAMPLES]);
    expect(model.inputs.map((i) => i.kind)).toEqual(['container', 'paths']);
    const t = model.totals;
    expect(t.files).toBe(2 * direct.totals.files);
    expect(t.zero).toBe(2 * direct.totals.zero);
    expect(t.distinctContents).toBe(direct.totals.distinctContents);
    expect(t.sharedAcross + t.sharedWithin).toBe(t.pages - t.zero);
    expect(t.unique).toBe(0);
    // Repeats inside a file are counted per file, whatever other files hold.
    expect(t.sharedWithin).toBe(2 * direct.totals.sharedWithin);
    // The directory's files come second: each of their non-zero pages is a duplicate.
    expect(t.duplicate).toBe(direct.totals.duplicate + (direct.totals.pages - direct.totals.zero));
  });

  it('two containers of different page sizes, or --page-size against the container: usage error, exit 2', async () => {
    const mixed = await run(image, image16k, '-o', path.join(dir, 'x.html'));
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toBe(
      `pagestack: report: ${image} has 4096-byte pages but ${image16k} has 16384-byte pages: a report has one page size\n`,
    );
    const forced = await run(image16k, '--page-size', '4K', '-o', path.join(dir, 'x.html'));
    expect(forced.status).toBe(2);
    expect(forced.stderr).toMatch(/--page-size 4096 does not match the 16384-byte pages of /);
    // Plain paths next to a container are scanned at its page size.
    const model = await buildReportModel([image16k, SAMPLES]);
    expect(model.pageSize).toBe(16384);
    expect(model.totals.sharedAcross + model.totals.sharedWithin).toBe(model.totals.pages - model.totals.zero);
    expect(model.totals.unique).toBe(0);
  });

  it('a damaged container: exit 1, one line naming it, no output', async () => {
    const bad = path.join(dir, 'bad.pgs');
    const bytes = fs.readFileSync(image);
    bytes.writeUInt8(bytes.readUInt8(40) ^ 0xff, 40); // storedPageCount: the header checksum no longer matches
    fs.writeFileSync(bad, bytes);
    const out = path.join(dir, 'bad.html');
    const r = await run(bad, '-o', out);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^pagestack: report: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(fs.existsSync(out)).toBe(false);
  });

  it('non-ELF members are skipped unless --all-files; links are listed, not read twice', async () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(tree, 'hello'));
    fs.writeFileSync(path.join(tree, 'notes.txt'), 'not ELF\n');
    fs.linkSync(path.join(tree, 'hello'), path.join(tree, 'hello-again'));
    fs.symlinkSync('hello', path.join(tree, 'hello-link'));
    const treeImage = path.join(dir, 'tree.pgs');
    await pack([tree], treeImage, { threads: 0 });
    const model = await buildReportModel([treeImage]);
    expect(model.files.map((f) => f.path)).toEqual([`${treeImage}:tree/hello`]);
    expect(model.skipped).toEqual([
      { path: `${treeImage}:tree/notes.txt`, code: 'E_NOT_ELF', reason: 'not an ELF file (no ELF magic)' },
    ]);
    expect(model.links).toEqual([
      { path: `${treeImage}:tree/hello-again`, kind: 'hardlink', target: `${treeImage}:tree/hello` },
      { path: `${treeImage}:tree/hello-link`, kind: 'symlink', target: 'hello' },
    ]);
    const all = await buildReportModel([treeImage], { allFiles: true });
    expect(all.files.map((f) => baseName(f.path))).toEqual(['hello', 'notes.txt']);
    expect(all.files[1]!.elf).toBeNull();
  });

  it('the command writes the page of a container', async () => {
    const out = path.join(dir, 'container.html');
    const r = await run(image, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain(`"kind":"container"`);
  });
});
