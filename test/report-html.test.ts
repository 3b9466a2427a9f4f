/**
 * The report page as a file: self-contained (nothing fetched from any URL),
 * its embedded data complete and compact, safe against hostile file names,
 * the page script valid JavaScript, the savings chart valid XML; and
 * `pagestack report` as a user meets it: exit statuses, one-line errors,
 * the output written through a temporary file.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savingsChart } from '../src/report/bars.js';
import { CLIENT_CONSTANTS, CLIENT_SCRIPT } from '../src/report/client.js';
import { CLIENT_DATA, CLIENT_MAP } from '../src/report/client-script.gen.js';
import { decodeIds, embeddableJson, reportData, REPORT_SCHEMA, type ReportData } from '../src/report/data.js';
import { buildReportModel, pageKinds, renderReport, type ReportModel } from '../src/report/index.js';
import { commonDirectory, formatBytes, formatPercent } from '../src/report/svg.js';
import { runCli } from './cli-inprocess.js';

const ROOT = path.resolve(__dirname, '..');
const SAMPLES = path.join(ROOT, 'samples', 'bin');
const hasPython = spawnSync('python3', ['--version']).status === 0;
let dir: string;
let model: ReportModel;
let html: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-report-html-'));
  model = await buildReportModel([SAMPLES]);
  html = renderReport(model);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The JSON data block of a report page. */
function dataOf(page: string): ReportData {
  const m = /<script type="application\/json" id="pagestack-data">([\s\S]*?)<\/script>/.exec(page);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as ReportData;
}

function isWellFormedXml(text: string): { ok: boolean; error: string } {
  const r = spawnSync(
    'python3',
    ['-c', 'import sys, xml.etree.ElementTree as ET; ET.fromstring(sys.stdin.buffer.read())'],
    { input: text },
  );
  return { ok: r.status === 0, error: r.stderr.toString() };
}

/** Runs `pagestack report ARGS` in this process (cli-inprocess.ts). */
const run = (...args: string[]) => runCli('report', ...args);

describe('the report page is self-contained', () => {
  it('no src or href names a network URL; no external script, stylesheet, import or font', () => {
    const refs = [...html.matchAll(/\b(src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[2]!);
    for (const ref of refs) expect(ref).toMatch(/^(data:|#)/);
    expect(html).not.toMatch(/<script[^>]*\bsrc\s*=/i);
    expect(html).not.toMatch(/<link[^>]*rel=["']?stylesheet/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html).not.toMatch(/\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(/);
    // The only http(s) text is the SVG namespace name, which is never fetched.
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('one inline stylesheet, one data block, one inline script, in that order', () => {
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html.match(/<script\b/g)).toHaveLength(2);
    const data = html.indexOf('id="pagestack-data"');
    const script = html.lastIndexOf('<script>');
    expect(html.indexOf('<style>')).toBeLessThan(data);
    expect(data).toBeLessThan(script);
  });

  it('the page script is valid JavaScript and never ends its script element early', () => {
    expect(() => new Function(CLIENT_SCRIPT)).not.toThrow();
    expect(CLIENT_SCRIPT).not.toMatch(/<\/script/i);
  });
});

describe('the embedded data', () => {
  it('holds every page: content ids decode to the model, file after file', () => {
    const data = dataOf(html);
    expect(data.schema).toBe(REPORT_SCHEMA);
    expect(data.pageSize).toBe(4096);
    expect(data.files.map((f) => f.path)).toEqual(model.files.map((f) => f.path));
    expect(data.files.map((f) => f.pages)).toEqual(model.files.map((f) => f.contentIds.length));
    const ids = decodeIds(data.ids);
    const expected = model.files.flatMap((f) => Array.from(f.contentIds));
    expect(Array.from(ids)).toEqual(expected);
    expect(data.contentCount).toBe(model.contents.count);
    expect(data.totals).toEqual(model.totals);
  });

  it('is compact: about 5.3 bytes a page for the ids, nothing per page beside them', () => {
    const data = dataOf(html);
    const pages = model.totals.pages;
    expect(data.ids.length).toBe(4 * Math.ceil((pages * 4) / 3)); // base64 of 4 bytes a page
    const withoutIds = JSON.stringify({ ...data, ids: '' }).length;
    expect(withoutIds).toBeLessThan(5_000 * model.files.length); // per file: segments and sections only
  });

  it('segments and sections match the scanner (ELF attribution kept)', () => {
    const data = dataOf(html);
    const hello = data.files.find((f) => f.path.endsWith('/hello'))!;
    const source = model.files.find((f) => f.path.endsWith('/hello'))!;
    expect(hello.elf).toBe('ELF64 LSB x86-64 DYN');
    expect(hello.segments.map((s) => s.perms)).toEqual(source.segments.map((s) => s.perms));
    expect(hello.segments[0]!.vaddr).toBe(`0x${source.segments[0]!.vaddr.toString(16)}`);
    const names = hello.sections.filter((_, k) => k % 3 === 0).map((i) => data.sectionNames[i]);
    expect(names).toEqual(source.sections.map((s) => s.name));
    expect(names).toContain('.text');
    const text = source.sections.find((s) => s.name === '.text')!;
    const k = names.indexOf('.text') * 3;
    expect(hello.sections.slice(k + 1, k + 3)).toEqual([text.offset, text.size]);
  });

  it('hostile file names cannot end the data block or inject markup', async () => {
    expect(embeddableJson({ x: '</script><script>alert(1)</script><!--' })).not.toMatch(/</);
    const name = path.join(dir, '<script>alert(1)<!-- & "quoted"');
    fs.writeFileSync(name, Buffer.alloc(5000, 1));
    const hostile = renderReport(await buildReportModel([name], { allFiles: true }));
    expect(hostile.match(/<script\b/g)).toHaveLength(2);
    expect(hostile).not.toContain('<script>alert');
    expect(dataOf(hostile).files[0]!.path).toBe(name);
  });
});

describe('paths not reported', () => {
  it('skipped files and links are counted by reason and listed; none: no section', async () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    fs.copyFileSync(path.join(SAMPLES, 'hello'), path.join(tree, 'hello'));
    fs.writeFileSync(path.join(tree, 'script.sh'), '#!/bin/sh\n');
    fs.symlinkSync('hello', path.join(tree, 'hello-link'));
    const page = renderReport(await buildReportModel([tree]));
    expect(page).toContain('<b>1 skipped</b>: 1 not an ELF file</summary>');
    expect(page).toContain(`<code>${path.join(tree, 'script.sh')}</code>: not an ELF file (no ELF magic)`);
    expect(page).toContain('<b>1 link</b>: 1 symbolic link, not followed</summary>');
    expect(html).not.toContain('Not reported, and warnings');
  });
});

describe('the savings chart', () => {
  it.skipIf(!hasPython)('is well-formed XML with one bar group per file that saves pages', () => {
    const svg = savingsChart(model.files, model.pageSize);
    const check = isWellFormedXml(svg);
    expect(check.error).toBe('');
    expect(check.ok).toBe(true);
    const saving = model.files.filter((f) => f.counts.savedPages > 0).length;
    expect(svg.match(/<g><title>/g)).toHaveLength(saving);
    expect(svg).toContain('samples/bin/hello-2m');
  });
  if (!hasPython) console.warn('skipped: python3 not found (XML well-formedness check)');

  it('lists at most `limit` files and sums the rest', () => {
    const svg = savingsChart(model.files, model.pageSize, { limit: 1 });
    expect(svg.match(/<g><title>/g)).toHaveLength(1);
    const saving = model.files.filter((f) => f.counts.savedPages > 0).length;
    expect(saving).toBeGreaterThan(1);
    expect(svg).toContain(`and ${saving - 1} more files`);
  });
});

describe('pagestack report: the command', () => {
  it('writes the page, prints one summary line, leaves no temporary file', async () => {
    const out = path.join(dir, 'out', 'report.html');
    fs.mkdirSync(path.dirname(out));
    const r = await run(SAMPLES, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const t = model.totals;
    const n = (v: number) => v.toLocaleString('en-US');
    expect(r.stdout).toBe(
      `wrote ${out} (${formatBytes(fs.statSync(out).size)}): ${n(t.files)} files, ${n(t.pages)} pages; ` +
        `${n(t.zero)} zero, ${n(t.sharedWithin + t.sharedAcross)} shared, dedup saves ${formatBytes(t.savedBytes)} (${formatPercent(t.savedPages, t.pages)})\n`,
    );
    expect(fs.readdirSync(path.dirname(out))).toEqual(['report.html']);
    expect(dataOf(fs.readFileSync(out, 'utf8')).totals.pages).toBe(t.pages);
  });

  it('a missing input: exit 1, one line naming it, no output file', async () => {
    const out = path.join(dir, 'missing.html');
    const missing = path.join(dir, 'no-such-file');
    const r = await run(missing, '-o', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: report: ${missing}: no such file or directory\n`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an existing output is replaced only when the new page is complete', async () => {
    const out = path.join(dir, 'keep.html');
    fs.writeFileSync(out, 'old');
    const r = await run(path.join(dir, 'no-such-file'), '-o', out);
    expect(r.status).toBe(1);
    expect(fs.readFileSync(out, 'utf8')).toBe('old');
    expect((await run(SAMPLES, '-o', out, '-q')).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('an output in a missing directory: exit 1, one line', async () => {
    const out = path.join(dir, 'nowhere', 'r.html');
    const r = await run(SAMPLES, '-o', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`pagestack: report: ${out}: no such file or directory\n`);
  });

  it('usage errors: exit 2 (no -o, bad page size, no input)', async () => {
    expect((await run(SAMPLES)).status).toBe(2);
    const bad = await run(SAMPLES, '-o', path.join(dir, 'x.html'), '--page-size', '8192');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^pagestack: report: --page-size must be 4096, 16384 or 65536/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await run('-o', path.join(dir, 'x.html'))).status).toBe(2);
  });

  it('--quiet prints nothing; a non-ELF file named is refused unless --all-files', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not ELF\n');
    const refused = await run(text, '-o', path.join(dir, 'n.html'));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^pagestack: report: .*notes\.txt: not an ELF file/);
    const ok = await run(text, '--all-files', '-q', '-o', path.join(dir, 'n.html'));
    expect(ok).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

describe("the page script's data functions, run in Node", () => {
  interface Index {
    kinds: Uint8Array;
    kindTotals: number[];
    copies: Uint32Array;
    fileCount: Uint32Array;
    start: Uint32Array;
    places: Uint32Array;
  }
  interface Described {
    kind: number;
    segments: Array<{ index: number; perms: string; vaddr: string | null }>;
    sections: string[];
    others: Array<{ path: string; pages: number[]; count: number }>;
    otherFiles: number;
    samePagesCount: number;
  }
  const client = new Function(
    `${CLIENT_CONSTANTS}\n${CLIENT_DATA}\n${CLIENT_MAP}\nreturn { indexPages, describePage, commonDirectory, pageList, fmtPercent };`,
  )() as {
    indexPages(data: unknown): Index;
    describePage(data: unknown, index: Index, f: number, p: number, maxGroups: number): Described;
    commonDirectory(paths: string[]): string;
    pageList(pages: number[], max: number): string;
    fmtPercent(part: number, whole: number): string;
  };

  it('derives the same page kinds and counts as the model', () => {
    const data = reportData(model, 't');
    const index = client.indexPages(JSON.parse(JSON.stringify(data)));
    const expected = model.files.flatMap((_, f) => Array.from(pageKinds(model, f)));
    expect(Array.from(index.kinds)).toEqual(expected);
    const t = model.totals;
    expect(index.kindTotals).toEqual([t.zero, t.unique, t.sharedWithin, t.sharedAcross]);
    expect(Array.from(index.copies)).toEqual(Array.from(model.contents.pages));
    expect(Array.from(index.fileCount)).toEqual(Array.from(model.contents.files));
  });

  it('describes a shared page: its segment, sections and the other files, as the scanner places it', () => {
    const data = JSON.parse(JSON.stringify(reportData(model, 't')));
    const index = client.indexPages(data);
    const f = model.files.findIndex((x) => x.path.endsWith('/tables'));
    const d = client.describePage(data, index, f, 3, 10); // .rodata, shared with tables2 (scan's most duplicated page)
    expect(d.kind).toBe(2); // shared within tables (its table four times), and with tables2 as well
    expect(d.sections).toEqual(['.rodata']);
    expect(d.segments.map((s) => s.perms)).toEqual(['r--']);
    expect(d.others.map((o) => o.path)).toEqual([model.files[f + 1]!.path]);
    expect(d.otherFiles).toBe(1);
    expect(d.samePagesCount + d.others[0]!.count + 1).toBe(model.contents.pages[model.files[f]!.contentIds[3]!]);
  });

  it('common directory, page lists and percentages', () => {
    for (const paths of [
      ['/usr/bin/a', '/usr/bin/b'],
      ['/usr/bin/a', '/usr/lib/b'],
      ['a/b', 'c'],
      ['/a', 'b/c'],
      ['/x/y'],
      [],
    ]) {
      expect(client.commonDirectory(paths)).toBe(commonDirectory(paths));
    }
    expect(commonDirectory(['/usr/bin/a', '/usr/bin/b'])).toBe('/usr/bin/');
    expect(commonDirectory(['/usr/bin/a', '/usr/lib/b'])).toBe('/usr/');
    expect(commonDirectory(['/a', 'b/c'])).toBe('');
    expect(commonDirectory(['/usr/binx/a', '/usr/bin/b'])).toBe('/usr/');
    expect(client.pageList([1, 2, 3, 7, 9, 10], 10)).toBe('0x1\u20130x3, 0x7, 0x9\u20130xa');
    expect(client.pageList([1, 3, 5, 7], 2)).toBe('0x1, 0x3, \u2026');
    expect(client.pageList([1, 3], 2)).toBe('0x1, 0x3');
    expect([
      client.fmtPercent(0, 5),
      client.fmtPercent(1, 10000),
      client.fmtPercent(997, 1000),
      client.fmtPercent(9999, 10000),
      client.fmtPercent(5, 5),
    ]).toEqual(['0%', '<0.1%', '99.7%', '>99.9%', '100%']);
  });
});
