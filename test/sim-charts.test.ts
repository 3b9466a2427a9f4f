/**
 * `pagestack run --html` and `--svg`: the files are written (through a temp
 * file and a rename), the SVG and every chart in the HTML are well-formed
 * XML (checked with python3's XML parser, which nobody here wrote), and
 * they hold one line per policy and the comparison table.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './sim-helpers.js';

const BIN = path.resolve(__dirname, '../samples/bin');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-charts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const python = spawnSync('python3', ['-c', 'import xml.etree.ElementTree'], { encoding: 'utf8' }).status === 0;
if (!python) console.warn('sim-charts: python3 with xml.etree is missing; the XML well-formedness checks are skipped');

/** Parses `xml` with python3's ElementTree; returns '' or the parser's error. */
function xmlProblem(xml: string): string {
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())'], { input: xml, encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr;
}

function scenario(): string {
  const file = path.join(dir, 's.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      name: 'tiny <pressure> & co',
      machine: { frames: 4096, frameLimit: 64 },
      programs: { hello: path.join(BIN, 'hello') },
      policies: [{ name: 'no-swap' }, { name: 'zram', swap: 'zram' }, { name: 'zram+dedup+mor', swap: 'zram', dedupFirst: true, mergeOnRestore: true }, { name: 'ksm', ksm: true }],
      steps: [
        { op: 'exec', proc: 'a', program: 'hello' },
        { op: 'prctl', proc: 'a', option: 'PR_SET_MEMORY_MERGE', value: 1 },
        { op: 'mmap', proc: 'a', name: 'm', length: '96 pages' },
        { op: 'repeat', count: 6, var: 'c', steps: [
          { op: 'write', proc: 'a', region: 'm', offset: '{c*16} pages', length: '16 pages', data: { random: { seed: 3, distinct: 4 } } },
          { op: 'tick', ms: 100 },
        ] },
        { op: 'read', proc: 'a', region: 'm', length: '16 pages', expect: { random: { seed: 3, distinct: 4 } } },
      ],
    }),
  );
  return file;
}

describe('run --html and --svg', () => {
  it('writes a self-contained HTML page with the comparison table and the charts, and a well-formed SVG', async () => {
    const html = path.join(dir, 'out.html');
    const svg = path.join(dir, 'out.svg');
    const r = await runCli('run', scenario(), '--html', html, '--svg', svg);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('frames, peak');
    // No temp file left behind.
    expect(fs.readdirSync(dir).sort()).toEqual(['out.html', 'out.svg', 's.json']);

    const page = fs.readFileSync(html, 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
    expect(page).toContain('tiny &lt;pressure&gt; &amp; co');
    // The comparison table: one column per policy, the figures as rows.
    for (const name of ['no-swap', 'zram', 'zram+dedup+mor', 'ksm']) expect(page).toContain(`>${name}<`);
    for (const row of ['swap-outs', 'KSM pages_sharing', 'zram compr_data_size', 'CPU time (est.)']) expect(page).toContain(row);
    // Three charts: frames (all four policies), swap used and pool (the two swap policies).
    const charts = page.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(charts).toHaveLength(3);
    expect(charts[0]).toContain('Frames in use');
    expect(charts[1]).toContain('Swap used');
    expect(charts[2]).toContain('zram / zswap pool');
    expect(charts[0]).toContain('ksm');
    expect(charts[1]).not.toContain('>ksm<');
    if (python) for (const c of charts) expect(xmlProblem(c)).toBe('');

    const doc = fs.readFileSync(svg, 'utf8');
    expect(doc.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(doc.match(/<svg /g)).toHaveLength(4);
    if (python) expect(xmlProblem(doc)).toBe('');
  });

  it('a write that cannot happen is a one-line error and leaves nothing behind', async () => {
    const r = await runCli('run', scenario(), '--html', path.join(dir, 'no-such-dir', 'out.html'));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pagestack: run: .*no-such-dir.*out\.html: /);
  });
});
