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
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())'], {
    input: xml,
    encoding: 'utf8',
  });
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
      policies: [
        { name: 'no-swap' },
        { name: 'zram', swap: 'zram' },
        { name: 'zram+dedup+mor', swap: 'zram', dedupFirst: true, mergeOnRestore: true },
        { name: 'ksm', ksm: true },
      ],
      steps: [
        { op: 'exec', proc: 'a', program: 'hello' },
        { op: 'prctl', proc: 'a', option: 'PR_SET_MEMORY_MERGE', value: 1 },
        { op: 'mmap', proc: 'a', name: 'm', length: '96 pages' },
        {
          op: 'repeat',
          count: 6,
          var: 'c',
          steps: [
            {
              op: 'write',
              proc: 'a',
              region: 'm',
              offset: '{c*16} pages',
              length: '16 pages',
              data: { random: { seed: 3, distinct: 4 } },
            },
            { op: 'tick', ms: 100 },
          ],
        },
        { op: 'read', proc: 'a', region: 'm', length: '16 pages', expect: { random: { seed: 3, distinct: 4 } } },
      ],
    }),
  );
  return file;
}

/** Three policies: two run out of memory identically (KSM with nothing mergeable changes nothing), one has room. */
function identicalScenario(): string {
  const file = path.join(dir, 'same.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      name: 'same',
      machine: { frames: 4096, frameLimit: 40 },
      programs: { hello: path.join(BIN, 'hello') },
      policies: [{ name: 'plain' }, { name: 'ksm-idle', ksm: true }, { name: 'roomy', frameLimit: 4096 }],
      steps: [
        { op: 'exec', proc: 'a', program: 'hello' },
        { op: 'mmap', proc: 'a', name: 'm', length: '64 pages' },
        { op: 'write', proc: 'a', region: 'm', data: { byte: 1 } },
        { op: 'tick', ms: 10 },
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
    for (const row of ['swap-outs', 'KSM pages_sharing', 'zram compr_data_size', 'CPU time (est.)'])
      expect(page).toContain(row);
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

  it('says what each policy set means and why a policy ran out of memory, as the text output does', async () => {
    const html = path.join(dir, 'policies.html');
    const r = await runCli('run', identicalScenario(), '--html', html);
    expect(r.status).toBe(0);
    const page = fs.readFileSync(html, 'utf8');
    // Every "  NAME  description" line of the text output is a term and its definition in the page.
    const described = r.stdout
      .split('\n\n')[0]!
      .split('\n')
      .slice(1)
      .filter((l) => /^ {2}\S/.test(l))
      .map((l) => /^ {2}(\S+)\s+(.*)$/.exec(l)!.slice(1, 3));
    expect(described.map(([name]) => name)).toEqual(['plain', 'ksm-idle', 'roomy']);
    for (const [name, text] of described) expect(page).toContain(`<dt>${name}</dt><dd>${text}</dd>`);
    // The OOM lines under the table, word for word.
    const oom = r.stdout.split('\n').filter((l) => / out of memory: /.test(l));
    expect(oom).toHaveLength(2);
    for (const line of oom) expect(page).toContain(`<li>${line}</li>`);
  });

  it('series on one chart are told apart: distinct colours, and one identical to another is dashed and says so', async () => {
    const html = path.join(dir, 'same.html');
    expect((await runCli('run', identicalScenario(), '--html', html)).status).toBe(0);
    const frames = (fs.readFileSync(html, 'utf8').match(/<svg[\s\S]*?<\/svg>/g) ?? [])[0]!;
    const paths = [
      ...frames.matchAll(
        /<path class="series" data-series="([^"]*)" d="([^"]*)"[^>]*stroke="([^"]*)"[^>]*?(stroke-dasharray="[^"]*")?>/g,
      ),
    ].map((m) => ({ name: m[1]!, d: m[2]!, color: m[3]!, dashed: m[4] !== undefined }));
    expect(paths.map((p) => p.name)).toEqual(['plain (OOM)', 'ksm-idle (OOM), same as plain', 'roomy']);
    expect(new Set(paths.map((p) => p.color)).size).toBe(3);
    expect(paths[1]!.d).toBe(paths[0]!.d);
    expect(paths.map((p) => p.dashed)).toEqual([false, true, false]);
    expect(frames).toContain('ksm-idle (OOM), same as plain</text>');
  });

  it('a write that cannot happen is a one-line error and leaves nothing behind', async () => {
    const r = await runCli('run', scenario(), '--html', path.join(dir, 'no-such-dir', 'out.html'));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pagestack: run: .*no-such-dir.*out\.html: /);
  });
});
