/**
 * The text report of `pagestack load`: per process and for the system,
 * the content-shared page cache and the per-file one side by side, and
 * what the first saves over the second.
 */
import type { LoadResult } from './load.js';
import { kB, kBDelta, percent, textTable } from './text-table.js';

export function formatLoad(result: LoadResult): string {
  const out: string[] = [];
  const n = result.programs.length;
  const touch = typeof result.touch === 'number' ? `${result.touch} of the pages` : result.touch;
  out.push(
    `load: ${n} ${n === 1 ? 'program' : 'programs'} × ${result.procs} ${result.procs === 1 ? 'process' : `processes (${result.fork ? '1 exec + forks' : 'execs'})`}, start-up touches ${touch}`,
  );
  for (const p of result.programs) {
    const libs =
      p.libraries === undefined ? '' : `, ${p.libraries.length} ${p.libraries.length === 1 ? 'library' : 'libraries'}`;
    out.push(`  ${p.name}${p.interpreter ? `  (interpreter ${p.interpreter}${libs})` : ''}`);
  }
  out.push('');

  out.push('per process (smaps_rollup)');
  out.push(
    textTable(
      ['pid', 'program', 'Rss content', 'Rss per-file', 'Pss content', 'Pss per-file', 'Pss saved'],
      result.processes.map((p) => [
        `${p.pid}`,
        `${p.program}${p.forked ? ' (fork)' : ''}`,
        kB(p.content.rss),
        kB(p.file.rss),
        kB(p.content.pss),
        kB(p.file.pss),
        kBDelta(p.file.pss - p.content.pss),
      ]),
      'rlrrrrr',
    ).trimEnd(),
  );
  out.push('');

  const { content, file, saving } = result.system;
  type Key = keyof typeof saving;
  const bytes = (k: Key) => k === 'rssTotal' || k === 'pssTotal' || k === 'fileReadBytes';
  const rows: Array<[string, Key]> = [
    ['frames used', 'framesUsed'],
    ['  page cache', 'pageCacheFrames'],
    ['  anonymous', 'anonFrames'],
    ['Rss total', 'rssTotal'],
    ['Pss total', 'pssTotal'],
    ['major faults', 'majorFaults'],
    ['minor faults', 'minorFaults'],
    ['file bytes read', 'fileReadBytes'],
  ];
  const value = (k: Key, v: number) => (bytes(k) ? kB(v) : String(v));
  const saved = (k: Key) => {
    const v = saving[k];
    const shown = bytes(k) ? kBDelta(v) : String(v);
    return k === 'framesUsed' || k === 'pssTotal' ? `${shown} (${percent(v, file[k])})` : shown;
  };
  out.push('system');
  out.push(
    textTable(
      ['', 'content-shared', 'per-file', 'saved'],
      rows.map(([label, k]) => [label, value(k, content[k]), value(k, file[k]), saved(k)]),
    ).trimEnd(),
  );
  if (result.sharing) {
    const s = result.sharing;
    out.push('');
    out.push('pages (4 KiB)');
    out.push(
      textTable(
        ['', 'pages', 'size'],
        [
          [
            'shared across files by the content-shared cache',
            String(s.contentSharedFrames),
            kB(s.contentSharedFrames * 4096),
          ],
          [
            'shared the ordinary way (one file, many processes)',
            String(s.ordinarySharedPages),
            kB(s.ordinarySharedPages * 4096),
          ],
          ['dirtied by the dynamic linker (private copies)', String(s.rtldDirtiedPages), kB(s.rtldDirtiedPages * 4096)],
        ],
        'lrr',
      ).trimEnd(),
    );
  }
  for (const note of result.notes) out.push(`note: ${note}`);
  return `${out.join('\n')}\n`;
}
