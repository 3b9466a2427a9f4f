/**
 * The script of `run --html` pages: sorts every table.sortable by the
 * clicked header (numbers by data-value, text as text; clicked again: the
 * other way). Standalone: it shares nothing with the report's page script.
 */

/** The number a cell shows ("1,123 kB" is 1123), or its text when it shows none. */
function numberIn(text: string): number | string {
  const match = /^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)/.exec(text);
  if (!match?.[1]) return text;
  const value = Number(match[1].replaceAll(',', ''));
  return Number.isFinite(value) ? value : text;
}

/** Numbers before text (a column may hold both), numbers by value, text as text. */
function compareKeys(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

for (const table of Array.from(document.querySelectorAll<HTMLTableElement>('table.sortable'))) {
  const headRow = table.tHead?.rows[0];
  const body = table.tBodies[0];
  if (!headRow || !body) continue;
  const headers = Array.from(headRow.cells);
  headers.forEach((th, c) => {
    th.querySelector('button')?.addEventListener('click', () => {
      const descending =
        th.getAttribute('aria-sort') === 'ascending' || (!th.hasAttribute('aria-sort') && th.classList.contains('num'));
      for (const h of headers) h.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      const key = (row: HTMLTableRowElement): number | string => {
        const cell = row.cells[c];
        if (!cell) return '';
        if (cell.dataset.value !== undefined) return Number(cell.dataset.value);
        return numberIn(cell.textContent ?? '');
      };
      const rows = Array.from(body.rows).map((row, i) => ({ row, key: key(row), i }));
      rows.sort((a, b) => {
        const order = compareKeys(a.key, b.key);
        return (descending ? -order : order) || a.i - b.i;
      });
      for (const r of rows) body.append(r.row);
    });
  });
}
