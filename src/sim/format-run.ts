/**
 * The text report of `pagestack run`: which policies ran, then one
 * comparison table with a row per figure and a column per policy. A figure
 * that does not apply to a policy (no swap device, no KSM) shows '-';
 * groups that apply to no policy at all shrink to one '-' row.
 */
import { describePolicy, type PolicySet } from './policy.js';
import type { PolicyResult, RunResult } from './result.js';
import { count, duration, kB, textTable } from './text-table.js';

type Row = [label: string, cell: (p: PolicyResult) => string];

const KSM_FIELDS = [
  'pages_shared',
  'pages_sharing',
  'pages_unshared',
  'pages_volatile',
  'full_scans',
  'ksm_zero_pages',
] as const;
const ZRAM_FIELDS = ['orig_data_size', 'compr_data_size', 'mem_used_total', 'same_pages', 'huge_pages'];
const ZSWAP_FIELDS = ['pool_total_size', 'stored_pages', 'same_filled_pages', 'written_back_pages', 'pool_limit_hit'];
const DEDUP_FIELDS = ['dedup_unique_pages', 'dedup_hits', 'dedup_saved_bytes'];

export function formatRun(result: RunResult): string {
  const out: string[] = [];
  const s = result.scenario;
  out.push(
    `scenario ${s.name}${s.file ? ` (${s.file})` : ''}: ${s.steps} steps, ${result.policies.length} ${result.policies.length === 1 ? 'policy' : 'policies'}`,
  );
  if (s.description) out.push(wrap(s.description, 78, '  '));
  const nameWidth = Math.max(...result.policies.map((p) => p.name.length));
  for (const d of policyDescriptions(result)) out.push(`  ${d.name.padEnd(nameWidth)}  ${d.text}`);
  out.push('');

  const table = comparisonTable(result);
  out.push(textTable(table.header, table.rows).trimEnd());
  out.push(...runNotes(result));
  return `${out.join('\n')}\n`;
}

/** What each policy set that ran means, in words (its settings beyond the machine's). */
export function policyDescriptions(result: RunResult): Array<{ name: string; text: string }> {
  return result.policies.map((p) => ({ name: p.name, text: describePolicy(asPolicy(p, result)) }));
}

/** The lines under the table: each policy that ran out of memory (where, and why), each policy not run. */
export function runNotes(result: RunResult): string[] {
  const out: string[] = [];
  for (const p of result.policies) {
    if (p.outcome.status === 'oom')
      out.push(`${p.name}: ${p.outcome.message} at ${p.outcome.step}; the figures are those of that moment`);
  }
  const skipped = [...new Set(result.skipped.map((s) => s.name))];
  for (const name of skipped) {
    const mine = result.skipped.filter((s) => s.name === name);
    out.push(`${name}: not run: ${mine.map((s) => s.reason).join('; ')}`);
  }
  return out;
}

/** The comparison table: a header (a blank, then one column per policy) and one row per figure, as text cells. */
export function comparisonTable(result: RunResult): { header: string[]; rows: string[][] } {
  const policies = result.policies;
  const rows: Row[] = [
    ['outcome', (p) => (p.outcome.status === 'ok' ? 'ok' : 'OOM')],
    ['frames, peak', (p) => String(p.summary.framesPeak)],
    ['frames, final', (p) => String(p.summary.framesFinal)],
    ['  page cache', (p) => String(p.summary.pageCacheFrames)],
    ['  anonymous', (p) => String(p.summary.anonFrames)],
    ['Rss total', (p) => kB(p.summary.rssTotal)],
    ['Pss total', (p) => kB(p.summary.pssTotal)],
    ['swap-outs', (p) => count(p.summary.swapOuts)],
    ['swap-ins', (p) => count(p.summary.swapIns)],
    ['swap used, final', (p) => (p.summary.swap === null ? '-' : `${p.summary.swap.slotsInUse} pages`)],
    ['swap pool RAM, final', (p) => (p.summary.swap === null ? '-' : `${p.summary.swap.poolPages} pages`)],
    ['major faults', (p) => String(p.summary.faults.major)],
    ['minor faults', (p) => String(p.summary.faults.minor)],
    ['zero-fill faults', (p) => String(p.summary.faults.zeroFill)],
    ['COW breaks', (p) => String(p.summary.cowBreaks)],
    ['file bytes read', (p) => kB(p.summary.fileReadBytes)],
  ];
  if (policies.some((p) => p.summary.ksm !== null)) {
    for (const f of KSM_FIELDS) rows.push([`KSM ${f}`, (p) => count(p.summary.ksm?.[f])]);
    rows.push(['KSM cow_ksm', (p) => count(p.summary.ksm?.cow_ksm)]);
  } else {
    rows.push(['KSM', () => '-']);
  }
  rows.push(...backendRows(policies, 'zram', ZRAM_FIELDS), ...backendRows(policies, 'zswap', ZSWAP_FIELDS));
  if (policies.some((p) => p.summary.swap?.dedupFirst === true)) {
    for (const f of DEDUP_FIELDS)
      rows.push([f, (p) => (p.summary.swap?.dedupFirst === true ? count(p.summary.swap.stats[f]) : '-')]);
  }
  if (policies.some((p) => p.summary.swap?.mergeOnRestore === true)) {
    rows.push([
      'merge-on-restore merges',
      (p) =>
        p.summary.swap?.mergeOnRestore === true
          ? `${p.summary.swap.restoreMerges} + ${p.summary.swap.restoreZeroMerges} zero`
          : '-',
    ]);
  }
  if (policies.some((p) => p.summary.heap !== null)) {
    rows.push(
      ['heap: calloc zeroed', (p) => (p.summary.heap === null ? '-' : kB(p.summary.heap.callocBytesZeroed))],
      ['heap: calloc to zero page', (p) => (p.summary.heap === null ? '-' : kB(p.summary.heap.callocBytesDiscarded))],
      [
        'heap: brk / mmap calls',
        (p) => (p.summary.heap === null ? '-' : `${p.summary.heap.brkCalls} / ${p.summary.heap.mmapCalls}`),
      ],
    );
  }
  rows.push(
    ['CPU time (est.)', (p) => duration(p.summary.cpuNs)],
    ['swap I/O read', (p) => (p.summary.swapReadBytes === null ? '-' : kB(p.summary.swapReadBytes))],
    ['swap I/O written', (p) => (p.summary.swapWriteBytes === null ? '-' : kB(p.summary.swapWriteBytes))],
  );
  return {
    header: ['', ...policies.map((p) => p.name)],
    rows: rows.map(([label, cell]) => [label, ...policies.map(cell)]),
  };
}

function backendRows(policies: PolicyResult[], backend: 'zram' | 'zswap', fields: string[]): Row[] {
  if (!policies.some((p) => p.summary.swap?.backend === backend)) return [[backend, () => '-']];
  return fields.map(
    (f): Row => [
      `${backend} ${f}`,
      (p) => (p.summary.swap?.backend === backend ? count(p.summary.swap.stats[f]) : '-'),
    ],
  );
}

/** The policy's settings, with the machine's own frame limit and page-cache setting left out (they are not choices of the policy). */
function asPolicy(p: PolicyResult, result: RunResult): PolicySet {
  const { frameLimit, keepPageCache, malloc, ...rest } = p.settings;
  const policy: PolicySet = { name: p.name, ...rest };
  if (malloc !== null) policy.malloc = malloc;
  if (frameLimit !== result.machine.frameLimit) policy.frameLimit = frameLimit;
  if (keepPageCache !== result.machine.keepPageCache) policy.keepPageCache = keepPageCache;
  return policy;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n');
}
