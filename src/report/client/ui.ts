/**
 * Page script, part 3 of 3: the tooltip and the pinned detail panel, the
 * sortable tables (files, most shared contents, pages by segment
 * permissions), the map controls, and start-up. Text from the data (file
 * names, section names) only ever goes into the DOM as text nodes.
 *
 * Start-up exposes window.__pagestack (counts, reveal(), describe()) and
 * body data attributes, for the browser test and for anyone scripting the
 * page. client.ts runs this part inside its own function, so its top-level
 * names stay out of the page's globals.
 */

type Child = Node | string;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  children?: Child[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children ?? []) node.append(child);
  return node;
}

function kindBadge(kind: number): HTMLSpanElement {
  const swatch = el('i', `swatch ${KIND_CLASSES[kind]}`);
  return el('span', 'kind', [swatch, KIND_LABELS[kind] ?? '']);
}

function segmentText(d: PageDescription): string {
  if (d.segments.length === 0) return 'none: not loaded by any PT_LOAD';
  return d.segments.map((s) => `LOAD[${s.index}] ${s.perms}${s.vaddr ? ` at ${s.vaddr}` : ''}`).join('; ');
}

function sectionText(d: PageDescription, max: number): string {
  if (d.sections.length === 0) return '(none)';
  const shown = d.sections.slice(0, max).join(' ');
  return d.sections.length > max ? `${shown} +${d.sections.length - max} more` : shown;
}

function definitionList(): { dl: HTMLDListElement; add(term: string, value: string): void } {
  const dl = el('dl');
  return {
    dl,
    add(term, value) {
      dl.append(el('dt', '', [term]), el('dd', '', [value]));
    },
  };
}

function factList(d: PageDescription): HTMLDListElement {
  const { dl, add } = definitionList();
  add('page', `${fmtCount(d.page)} (${hex(d.page)})`);
  add('offset', `${hex(d.offset)}\u2013${hex(Math.max(d.offset, d.end))}`);
  add('segment', segmentText(d));
  add('sections', sectionText(d, 8));
  return dl;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** One sentence on who else holds the page's bytes. */
function sharingText(d: PageDescription): string {
  switch (d.kind) {
    case KIND_ZERO:
      return `All bytes zero: a deduplicating store keeps nothing for it (one of ${fmtCount(index.copies[0]!)} zero pages).`;
    case KIND_UNIQUE:
      return 'No other page in the report holds these bytes.';
    case KIND_WITHIN:
      return `Same bytes as ${fmtCount(d.samePagesCount)} other ${plural(d.samePagesCount, 'page', 'pages')} of this file, and no other file.`;
    default: {
      const here =
        d.samePagesCount > 0
          ? ` and on ${fmtCount(d.samePagesCount)} other ${plural(d.samePagesCount, 'page', 'pages')} of this file`
          : '';
      return `Same bytes in ${fmtCount(d.otherFiles)} other ${plural(d.otherFiles, 'file', 'files')} (${fmtCount(d.otherPages)} ${plural(d.otherPages, 'page', 'pages')})${here}:`;
    }
  }
}

/** Tooltip of a file label: what the file is and its pages by kind. */
function fileSummary(f: number): Node[] {
  const file = data.files[f]!;
  const c = file.counts;
  const { dl, add } = definitionList();
  add('type', file.elf ?? 'not ELF (pages only)');
  add('size', `${fmtBytes(file.size)} in ${fmtCount(file.pages)}${plural(file.pages, ' page', ' pages')}`);
  add('zero', fmtCount(c.zero));
  add('singleton', fmtCount(c.unique));
  add('shared', `${fmtCount(c.sharedWithin)} within, ${fmtCount(c.sharedAcross)} across files`);
  add('saves', `${fmtBytes(c.savedPages * data.pageSize)} (${fmtPercent(c.savedPages, file.pages)})`);
  return [el('div', 'title', [file.path]), dl];
}

/** Tooltip of a page: where it lies and who else holds its bytes. */
function pageSummary(hit: Hit): Node[] {
  const d = describePage(data, index, hit.file, hit.page, 6);
  const parts: Node[] = [el('div', 'title', [d.path]), kindBadge(d.kind), factList(d), el('div', '', [sharingText(d)])];
  if (d.others.length > 0) {
    const list = el('ul', 'others');
    for (const g of d.others)
      list.append(el('li', '', [`${g.path} `, el('span', 'pages', [`page ${pageList(g.pages, 4)}`])]));
    if (d.otherFiles > d.others.length) {
      list.append(el('li', 'pages', [`and ${fmtCount(d.otherFiles - d.others.length)} more files`]));
    }
    parts.push(list);
  }
  if (d.kind === KIND_WITHIN) parts.push(el('div', 'others pages', [`pages ${pageList(d.samePagesHere, 8)}`]));
  return parts;
}

function showTooltip(hit: Hit | null, x: number, y: number): void {
  if (!hit) {
    tooltip.hidden = true;
    tooltipFor = null;
    return;
  }
  if (!tooltipFor || tooltipFor.file !== hit.file || tooltipFor.page !== hit.page) {
    tooltipFor = hit;
    if (hit.page < 0) tooltip.replaceChildren(...fileSummary(hit.file));
    else tooltip.replaceChildren(...pageSummary(hit));
  }
  tooltip.hidden = false;
  const w = tooltip.offsetWidth;
  const h = tooltip.offsetHeight;
  let left = x + 16;
  let top = y + 16;
  if (left + w > window.innerWidth - 8) left = x - w - 16;
  if (top + h > window.innerHeight - 8) top = y - h - 16;
  tooltip.style.left = `${Math.max(8, left)}px`;
  tooltip.style.top = `${Math.max(8, top)}px`;
}

function showDetail(hit: Hit | null): void {
  if (!hit) {
    detail.replaceChildren(el('p', 'hint', ['Unpinned. Hover a page, or click one to pin it here.']));
    return;
  }
  const d = describePage(data, index, hit.file, hit.page, 200);
  const parts: Node[] = [el('h3', '', [d.path]), kindBadge(d.kind), factList(d), el('p', '', [sharingText(d)])];
  const jump = (label: string, f: number, p: number): HTMLButtonElement => {
    const button = el('button', 'link', [label]);
    button.type = 'button';
    button.addEventListener('click', () => {
      map.reveal(f, p);
      map.pin({ file: f, page: p });
      showDetail({ file: f, page: p });
    });
    return button;
  };
  if (d.others.length > 0) {
    const list = el('ul');
    for (const g of d.others) {
      const count = `${fmtCount(g.count)}${plural(g.count, ' page: ', ' pages: ')}${pageList(g.pages, 24)}`;
      list.append(el('li', '', [jump(g.path, g.file, g.pages[0] ?? 0), el('div', 'pages', [count])]));
    }
    if (d.otherFiles > d.others.length) {
      list.append(el('li', 'pages', [`and ${fmtCount(d.otherFiles - d.others.length)} more files`]));
    }
    parts.push(list);
  }
  if (d.samePagesCount > 0) {
    parts.push(el('p', '', ['In this file: ', el('span', 'mono', [`page ${pageList(d.samePagesHere, 24)}`])]));
  }
  parts.push(el('p', 'hint', ['Click the page again or press Esc to unpin.']));
  detail.replaceChildren(...parts);
}

interface Column<Row> {
  label: string;
  num?: boolean;
  /** The sort key; a column without one cannot be sorted by. */
  value?: (row: Row) => string | number;
  cell: (row: Row) => Child;
  title?: string;
  className?: string;
}

interface TableOptions<Row> {
  sortColumn: number;
  descending: boolean;
  limit?: number;
  onClick?: (row: Row) => void;
}

/** A table sorted by clicking a header (again: the other direction). */
function sortableTable<Row>(
  host: HTMLElement,
  columns: Column<Row>[],
  rows: Row[],
  options: TableOptions<Row>,
): HTMLTableElement {
  const table = el('table', 'sortable');
  const head = el('tr');
  const body = el('tbody');
  let sortColumn = options.sortColumn;
  let descending = options.descending;
  let limit = options.limit ?? 300;
  const more = el('button', 'more');
  more.type = 'button';
  more.addEventListener('click', () => {
    limit = rows.length;
    render();
  });
  columns.forEach((column, c) => {
    const th = el('th', column.num ? 'num' : '');
    if (column.title) th.title = column.title;
    if (column.value) {
      const button = el('button', '', [column.label]);
      button.type = 'button';
      button.addEventListener('click', () => {
        if (sortColumn === c) descending = !descending;
        else {
          sortColumn = c;
          descending = !!column.num;
        }
        render();
      });
      th.append(button);
    } else th.append(column.label);
    head.append(th);
  });
  table.append(el('thead', '', [head]), body);
  host.replaceChildren(table, more);

  function render(): void {
    const key = columns[sortColumn]?.value;
    const keyed = rows.map((row, i) => ({ row, key: key ? key(row) : 0, i }));
    keyed.sort((a, b) => {
      const order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (descending ? -order : order) || a.i - b.i;
    });
    Array.from(head.children).forEach((th, c) => {
      if (c === sortColumn) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
    const fragment = document.createDocumentFragment();
    const onClick = options.onClick;
    for (const item of keyed.slice(0, limit)) {
      const tr = el('tr', onClick ? 'clickable' : '');
      for (const col of columns) tr.append(el('td', col.className ?? (col.num ? 'num' : ''), [col.cell(item.row)]));
      if (onClick) tr.addEventListener('click', () => onClick(item.row));
      fragment.append(tr);
    }
    body.replaceChildren(fragment);
    more.hidden = rows.length <= limit;
    more.textContent = `Show all ${fmtCount(rows.length)} rows`;
  }
  render();
  return table;
}

function miniBar(counts: KindCounts): HTMLDivElement {
  const bar = el('div', 'minibar');
  bar.title = `${fmtCount(counts.unique)} singleton, ${fmtCount(counts.sharedWithin)} shared within, ${fmtCount(counts.sharedAcross)} shared across, ${fmtCount(counts.zero)} zero`;
  const parts: [number, number][] = [
    [KIND_UNIQUE, counts.unique],
    [KIND_WITHIN, counts.sharedWithin],
    [KIND_ACROSS, counts.sharedAcross],
    [KIND_ZERO, counts.zero],
  ];
  for (const [kind, pages] of parts) {
    if (pages === 0) continue;
    const span = el('span');
    span.style.width = `${((pages / counts.pages) * 100).toFixed(2)}%`;
    span.style.background = KIND_COLORS[kind] ?? '';
    bar.append(span);
  }
  return bar;
}

type FileRow = FileData & { index: number };

function buildFilesTable(): void {
  const num = (label: string, get: (f: FileRow) => number, title?: string): Column<FileRow> => ({
    label,
    num: true,
    value: get,
    cell: (f) => fmtCount(get(f)),
    ...(title === undefined ? {} : { title }),
  });
  const rows: FileRow[] = data.files.map((f, i) => ({ ...f, index: i }));
  sortableTable(
    byId('files-table'),
    [
      { label: 'File', value: (f) => f.path, cell: (f) => map.label(f.index), className: 'path' },
      {
        label: 'Type',
        value: (f) => f.elf ?? '',
        cell: (f) => (f.elf ? f.elf.split(' ').slice(2).join(' ') : 'not ELF'),
        title: 'ELF machine and e_type',
      },
      { label: 'Size', num: true, value: (f) => f.size, cell: (f) => fmtBytes(f.size) },
      num('Pages', (f) => f.pages),
      num('Zero', (f) => f.counts.zero),
      num('Singleton', (f) => f.counts.unique, 'pages whose bytes occur nowhere else'),
      num(
        'Shared in file',
        (f) => f.counts.sharedWithin,
        'pages whose bytes occur again in this file (and maybe in other files)',
      ),
      num(
        'Shared across',
        (f) => f.counts.sharedAcross,
        'pages whose bytes occur once in this file and in other files',
      ),
      { label: 'Pages by kind', cell: (f) => miniBar(f.counts) },
      {
        label: 'Saves',
        num: true,
        value: (f) => f.counts.savedPages,
        cell: (f) => fmtBytes(f.counts.savedPages * data.pageSize),
        title: 'zero pages + pages whose bytes occurred earlier',
      },
      {
        label: 'Saves %',
        num: true,
        value: (f) => (f.pages === 0 ? 0 : f.counts.savedPages / f.pages),
        cell: (f) => fmtPercent(f.counts.savedPages, f.pages),
      },
      {
        label: 'Reloc. writes',
        num: true,
        value: (f) => f.relocation?.[1] ?? -1,
        cell: (f) => (f.relocation ? `${f.relocation[0]} (${f.relocation[1]} shared/zero)` : '–'),
        title:
          'pages the dynamic linker writes when it relocates the file, and how many of them dedup counted as zero or shared: private copies in memory',
      },
    ],
    rows,
    { sortColumn: 9, descending: true, limit: 100, onClick: (f) => map.showFile(f.index) },
  );
}

interface ContentRow {
  id: number;
  copies: number;
  files: number;
  d: PageDescription;
}

function buildContentsTable(): void {
  const ids: number[] = [];
  for (let id = 1; id <= data.contentCount; id++) if (index.copies[id]! > 1) ids.push(id);
  ids.sort((a, b) => index.copies[b]! - index.copies[a]! || a - b);
  const rows: ContentRow[] = ids.slice(0, 200).map((id) => {
    const g = index.places[index.start[id]!]!;
    const f = fileOfPage(index, g);
    const d = describePage(data, index, f, g - index.fileStart[f]!, 0);
    return { id, copies: index.copies[id]!, files: index.fileCount[id]!, d };
  });
  const host = byId('contents-table');
  if (rows.length === 0) {
    host.replaceChildren(el('p', 'note', ['No page content occurs twice.']));
    return;
  }
  sortableTable(
    host,
    [
      { label: 'Copies', num: true, value: (r) => r.copies, cell: (r) => fmtCount(r.copies) },
      { label: 'Files', num: true, value: (r) => r.files, cell: (r) => fmtCount(r.files) },
      {
        label: 'First at',
        value: (r) => r.d.path,
        cell: (r) => `${map.label(r.d.file)} page ${hex(r.d.page)}`,
        className: 'path',
      },
      {
        label: 'Perms',
        value: (r) => segmentText(r.d),
        cell: (r) => r.d.segments.map((s) => s.perms).join(', ') || '\u2013',
      },
      { label: 'Sections', value: (r) => sectionText(r.d, 4), cell: (r) => sectionText(r.d, 4), className: 'mono' },
    ],
    rows,
    {
      sortColumn: 0,
      descending: true,
      limit: 50,
      onClick: (r) => {
        map.reveal(r.d.file, r.d.page);
        map.pin({ file: r.d.file, page: r.d.page });
        showDetail({ file: r.d.file, page: r.d.page });
      },
    },
  );
}

interface PermsBucket {
  perms: string;
  pages: number;
  kinds: [number, number, number, number];
}

function buildPermsTable(): void {
  const buckets = new Map<string, PermsBucket>();
  const bucket = (name: string): PermsBucket => {
    let b = buckets.get(name);
    if (!b) {
      b = { perms: name, pages: 0, kinds: [0, 0, 0, 0] };
      buckets.set(name, b);
    }
    return b;
  };
  data.files.forEach((file, f) => {
    const base = index.fileStart[f]!;
    const loaded = new Uint8Array(file.pages);
    for (const s of file.segments) {
      const b = bucket(s.perms);
      for (let p = s.firstPage; p < s.firstPage + s.pages && p < file.pages; p++) {
        b.pages++;
        b.kinds[index.kinds[base + p]!]!++;
        loaded[p] = 1;
      }
    }
    for (let p = 0; p < file.pages; p++) {
      if (loaded[p]) continue;
      const notLoaded = bucket('not loaded');
      notLoaded.pages++;
      notLoaded.kinds[index.kinds[base + p]!]!++;
    }
  });
  const kindColumn = (label: string, kind: number): Column<PermsBucket> => ({
    label,
    num: true,
    value: (b) => b.kinds[kind]!,
    cell: (b) => fmtCount(b.kinds[kind]!),
  });
  const shared = (b: PermsBucket): number => b.kinds[KIND_WITHIN]! + b.kinds[KIND_ACROSS]!;
  sortableTable(
    byId('perms-table'),
    [
      { label: 'Permissions', value: (b) => b.perms, cell: (b) => b.perms, className: 'mono' },
      { label: 'Pages', num: true, value: (b) => b.pages, cell: (b) => fmtCount(b.pages) },
      kindColumn('Zero', KIND_ZERO),
      kindColumn('Singleton', KIND_UNIQUE),
      kindColumn('Shared in file', KIND_WITHIN),
      kindColumn('Shared across', KIND_ACROSS),
      {
        label: 'Shared %',
        num: true,
        value: (b) => (b.pages === 0 ? 0 : shared(b) / b.pages),
        cell: (b) => fmtPercent(shared(b), b.pages),
      },
    ],
    Array.from(buckets.values()),
    { sortColumn: 1, descending: true },
  );
}

function applyOrder(): void {
  const text = filterInput.value.trim().toLowerCase();
  const key = orderSelect.value;
  const list: number[] = [];
  data.files.forEach((f, i) => {
    if (text === '' || f.path.toLowerCase().includes(text)) list.push(i);
  });
  const files = data.files;
  const orders: Record<string, (i: number) => number> = {
    saved: (i) => files[i]!.counts.savedPages,
    pages: (i) => files[i]!.pages,
    shared: (i) => files[i]!.counts.sharedWithin + files[i]!.counts.sharedAcross,
  };
  const by = orders[key];
  if (by) list.sort((a, b) => by(b) - by(a) || a - b);
  else if (key === 'path') {
    list.sort((a, b) => {
      const pa = files[a]!.path;
      const pb = files[b]!.path;
      return pa < pb ? -1 : pa > pb ? 1 : a - b;
    });
  }
  map.setOrder(Int32Array.from(list));
  document.body.dataset.cells = String(map.state.cells);
}

const scriptStart = performance.now();
const data = JSON.parse(byId('pagestack-data').textContent ?? 'null') as ReportData;
const index = indexPages(data);
const indexedMs = performance.now();
const tooltip = byId<HTMLDivElement>('tooltip');
const detail = byId<HTMLElement>('detail');
const filterInput = byId<HTMLInputElement>('filter');
const orderSelect = byId<HTMLSelectElement>('order');
let tooltipFor: Hit | null = null;
const map = createMap(data, index, {
  hover: showTooltip,
  pin: showDetail,
  showAll() {
    filterInput.value = '';
    applyOrder();
  },
});
applyOrder();
const firstPaintMs = performance.now();
if (map.commonDirectory !== '') byId('map-prefix').textContent = `paths under ${map.commonDirectory}`;

filterInput.addEventListener('input', applyOrder);
orderSelect.addEventListener('change', applyOrder);
byId<HTMLSelectElement>('cell-size').addEventListener('change', (event) => {
  map.setCellSize((event.target as HTMLSelectElement).value);
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    map.pin(null);
    showDetail(null);
  }
});

window.__pagestack = {
  ready: false,
  schema: data.schema,
  files: data.files.length,
  pages: index.ids.length,
  get cells() {
    return map.state.cells;
  },
  /** Milliseconds the last drawing of the map took. */
  get lastDrawMs() {
    return map.state.drawMs;
  },
  kinds: {
    zero: index.kindTotals[KIND_ZERO]!,
    unique: index.kindTotals[KIND_UNIQUE]!,
    sharedWithin: index.kindTotals[KIND_WITHIN]!,
    sharedAcross: index.kindTotals[KIND_ACROSS]!,
  },
  firstPaintMs,
  /** Milliseconds spent in the script: parsing and indexing the data, first drawing of the map, tables. */
  timings: { index: indexedMs - scriptStart, map: firstPaintMs - indexedMs, tables: 0 },
  /** Scrolls page p of file f into view; returns the viewport point at the centre of its cell. */
  reveal: (f, p) => map.reveal(f, p),
  /** The first page of a kind ('zero', 'unique', 'shared-within', 'shared-across'), or null. */
  findPage(kindName) {
    const kind = KIND_NAMES.indexOf(kindName);
    const g = index.kinds.indexOf(kind);
    if (kind < 0 || g < 0) return null;
    const f = fileOfPage(index, g);
    return { file: f, page: g - index.fileStart[f]! };
  },
  describe: (f, p) => describePage(data, index, f, p, 1000),
  hitTest: (x, y) => map.hitTest(x, y),
};
document.body.dataset.firstPaintMs = firstPaintMs.toFixed(1);

setTimeout(() => {
  const tablesStart = performance.now();
  buildFilesTable();
  buildContentsTable();
  buildPermsTable();
  const handle = window.__pagestack;
  handle.timings.tables = performance.now() - tablesStart;
  handle.ready = true;
  handle.readyMs = performance.now();
  document.body.dataset.ready = 'true';
}, 0);
