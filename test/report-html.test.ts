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
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { savingsChart } from '../src/report/bars.js';
import { CLIENT_SCRIPT } from '../src/report/client.js';
import { decodeIds, embeddableJson, REPORT_SCHEMA, type ReportData } from '../src/report/data.js';
import { buildReportModel, renderReport, type ReportModel } from '../src/report/index.js';

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
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as ET; ET.fromstring(sys.stdin.buffer.read())'], { input: text });
  return { ok: r.status === 0, error: r.stderr.toString() };
}

async function run(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const capture = (sink: (s: string) => void) => (chunk: string | Uint8Array) => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture((s) => (stdout += s)));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture((s) => (stderr += s)));
  try {
    const status = await main(['node', 'pagestack', 'report', ...args]);
    return { status, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

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
    expect(withoutIds).toBeLessThan(40_000); // 7 files: segments and sections only
  });

  it('segments and sections match the scanner (ELF attribution kept)', () => {
    const data = dataOf(html);
    const hello = data.files.find((f) => f.path.endsWith('/hello'))!;
    const source = model.files.find((f) => f.path.endsWith('/hello'))!;
    expect(hello.elf).toBe('ELF64 LSB x86-64 DYN');
    expect(hello.segments.map((s) => s.perms)).toEqual(source.segments.map((s) => s.perms));
    expect(hello.segments[0]!.vaddr).toBe(`0x${source.segments[0]!.vaddr.toString(16)}`);
    expect(hello.sections.map((s) => s.name)).toContain('.text');
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
    expect(svg).toMatch(/and 2 more files/);
  });
});

describe('pagestack report: the command', () => {
  it('writes the page, prints one summary line, leaves no temporary file', async () => {
    const out = path.join(dir, 'out', 'report.html');
    fs.mkdirSync(path.dirname(out));
    const r = await run(SAMPLES, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*report\.html \(.*\): 7 files, 1,890 pages; 1,658 zero, 46 shared, dedup saves 6\.6 MiB/);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['report.html']);
    expect(dataOf(fs.readFileSync(out, 'utf8')).totals.pages).toBe(1890);
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
