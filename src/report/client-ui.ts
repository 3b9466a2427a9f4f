/**
 * Page script, part 3 of 3 (see client.ts): the tooltip and the pinned
 * detail panel, the sortable tables (files, most shared contents, pages by
 * segment permissions), the map controls, and start-up. Text from the data
 * (file names, section names) only ever goes into the DOM as text nodes.
 *
 * Start-up exposes window.__pagestack (counts, reveal(), describe()) and
 * body data attributes, for the browser test and for anyone scripting the
 * page.
 */
export const CLIENT_UI = String.raw`
function el(tag, className, children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children || []) node.append(child);
  return node;
}

function kindBadge(kind) {
  const swatch = el('i', 'swatch ' + KIND_CLASSES[kind]);
  return el('span', 'kind', [swatch, KIND_LABELS[kind]]);
}

function segmentText(d) {
  if (d.segments.length === 0) return 'none: not loaded by any PT_LOAD';
  return d.segments.map(function (s) {
    return 'LOAD[' + s.index + '] ' + s.perms + (s.vaddr ? ' at ' + s.vaddr : '');
  }).join('; ');
}

function sectionText(d, max) {
  if (d.sections.length === 0) return '(none)';
  const shown = d.sections.slice(0, max).join(' ');
  return d.sections.length > max ? shown + ' +' + (d.sections.length - max) + ' more' : shown;
}

function factList(d) {
  const dl = el('dl');
  const add = function (term, value) {
    dl.append(el('dt', '', [term]), el('dd', '', [value]));
  };
  add('page', fmtCount(d.page) + ' (' + hex(d.page) + ')');
  add('offset', hex(d.offset) + '\u2013' + hex(Math.max(d.offset, d.end)));
  add('segment', segmentText(d));
  add('sections', sectionText(d, 8));
  return dl;
}

/** One sentence on who else holds the page's bytes. */
function sharingText(d) {
  switch (d.kind) {
    case KIND_ZERO:
      return 'All bytes zero: a deduplicating store keeps nothing for it (one of ' + fmtCount(index.copies[0]) + ' zero pages).';
    case KIND_UNIQUE:
      return 'No other page in the report holds these bytes.';
    case KIND_WITHIN:
      return 'Same bytes as ' + fmtCount(d.samePagesCount) + ' other ' + (d.samePagesCount === 1 ? 'page' : 'pages') + ' of this file, and no other file.';
    default:
      return 'Same bytes in ' + fmtCount(d.otherFiles) + ' other ' + (d.otherFiles === 1 ? 'file' : 'files') + ' (' + fmtCount(d.otherPages) + ' ' + (d.otherPages === 1 ? 'page' : 'pages') + ')' +
        (d.samePagesCount > 0 ? ' and on ' + fmtCount(d.samePagesCount) + ' other ' + (d.samePagesCount === 1 ? 'page' : 'pages') + ' of this file' : '') + ':';
  }
}

/** Tooltip of a file label: what the file is and its pages by kind. */
function fileSummary(f) {
  const file = data.files[f];
  const c = file.counts;
  const dl = el('dl');
  const add = function (term, value) {
    dl.append(el('dt', '', [term]), el('dd', '', [value]));
  };
  add('type', file.elf || 'not ELF (pages only)');
  add('size', fmtBytes(file.size) + ' in ' + fmtCount(file.pages) + (file.pages === 1 ? ' page' : ' pages'));
  add('zero', fmtCount(c.zero));
  add('singleton', fmtCount(c.unique));
  add('shared', fmtCount(c.sharedWithin) + ' within, ' + fmtCount(c.sharedAcross) + ' across files');
  add('saves', fmtBytes(c.savedPages * data.pageSize) + ' (' + fmtPercent(c.savedPages, file.pages) + ')');
  return [el('div', 'title', [file.path]), dl];
}

/** Tooltip of a page: where it lies and who else holds its bytes. */
function pageSummary(hit) {
  const d = describePage(data, index, hit.file, hit.page, 6);
  const parts = [el('div', 'title', [d.path]), kindBadge(d.kind), factList(d), el('div', '', [sharingText(d)])];
  if (d.others.length > 0) {
    const list = el('ul', 'others');
    for (const g of d.others) list.append(el('li', '', [g.path + ' ', el('span', 'pages', ['page ' + pageList(g.pages, 4)])]));
    if (d.otherFiles > d.others.length) list.append(el('li', 'pages', ['and ' + fmtCount(d.otherFiles - d.others.length) + ' more files']));
    parts.push(list);
  }
  if (d.kind === KIND_WITHIN) parts.push(el('div', 'others pages', ['pages ' + pageList(d.samePagesHere, 8)]));
  return parts;
}

function showTooltip(hit, x, y) {
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
  tooltip.style.left = Math.max(8, left) + 'px';
  tooltip.style.top = Math.max(8, top) + 'px';
}

function showDetail(hit) {
  if (!hit) {
    detail.replaceChildren(el('p', 'hint', ['Unpinned. Hover a page, or click one to pin it here.']));
    return;
  }
  const d = describePage(data, index, hit.file, hit.page, 200);
  const parts = [el('h3', '', [d.path]), kindBadge(d.kind), factList(d), el('p', '', [sharingText(d)])];
  const jump = function (label, f, p) {
    const button = el('button', 'link', [label]);
    button.type = 'button';
    button.addEventListener('click', function () {
      map.reveal(f, p);
      map.pin({ file: f, page: p });
      showDetail({ file: f, page: p });
    });
    return button;
  };
  if (d.others.length > 0) {
    const list = el('ul');
    for (const g of d.others) list.append(el('li', '', [jump(g.path, g.file, g.pages[0]), el('div', 'pages', [fmtCount(g.count) + (g.count === 1 ? ' page: ' : ' pages: ') + pageList(g.pages, 24)])]));
    if (d.otherFiles > d.others.length) list.append(el('li', 'pages', ['and ' + fmtCount(d.otherFiles - d.others.length) + ' more files']));
    parts.push(list);
  }
  if (d.samePagesCount > 0) {
    parts.push(el('p', '', ['In this file: ', el('span', 'mono', ['page ' + pageList(d.samePagesHere, 24)])]));
  }
  parts.push(el('p', 'hint', ['Click the page again or press Esc to unpin.']));
  detail.replaceChildren(...parts);
}

/**
 * A table sorted by clicking a header (again: the other direction).
 * columns: { label, num, value(row) for sorting, cell(row) for display (text or node), title }.
 */
function sortableTable(host, columns, rows, options) {
  const table = el('table', 'sortable');
  const head = el('tr');
  const body = el('tbody');
  let sortColumn = options.sortColumn;
  let descending = options.descending;
  let limit = options.limit || 300;
  const more = el('button', 'more');
  more.type = 'button';
  more.addEventListener('click', function () {
    limit = rows.length;
    render();
  });
  columns.forEach(function (column, c) {
    const th = el('th', column.num ? 'num' : '');
    if (column.title) th.title = column.title;
    if (column.value) {
      const button = el('button', '', [column.label]);
      button.type = 'button';
      button.addEventListener('click', function () {
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

  function render() {
    const column = columns[sortColumn];
    const keyed = rows.map(function (row, i) {
      return { row: row, key: column.value(row), i: i };
    });
    keyed.sort(function (a, b) {
      const order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (descending ? -order : order) || a.i - b.i;
    });
    Array.from(head.children).forEach(function (th, c) {
      if (c === sortColumn) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
    const fragment = document.createDocumentFragment();
    for (const item of keyed.slice(0, limit)) {
      const tr = el('tr', options.onClick ? 'clickable' : '');
      for (const col of columns) tr.append(el('td', col.className || (col.num ? 'num' : ''), [col.cell(item.row)]));
      if (options.onClick) tr.addEventListener('click', function () { options.onClick(item.row); });
      fragment.append(tr);
    }
    body.replaceChildren(fragment);
    more.hidden = rows.length <= limit;
    more.textContent = 'Show all ' + fmtCount(rows.length) + ' rows';
  }
  render();
  return table;
}

function miniBar(counts) {
  const bar = el('div', 'minibar');
  bar.title = fmtCount(counts.unique) + ' singleton, ' + fmtCount(counts.sharedWithin) + ' shared within, ' + fmtCount(counts.sharedAcross) + ' shared across, ' + fmtCount(counts.zero) + ' zero';
  const parts = [[KIND_UNIQUE, counts.unique], [KIND_WITHIN, counts.sharedWithin], [KIND_ACROSS, counts.sharedAcross], [KIND_ZERO, counts.zero]];
  for (const part of parts) {
    if (part[1] === 0) continue;
    const span = el('span');
    span.style.width = ((part[1] / counts.pages) * 100).toFixed(2) + '%';
    span.style.background = KIND_COLORS[part[0]];
    bar.append(span);
  }
  return bar;
}

function buildFilesTable() {
  const num = function (label, get, title) {
    return { label: label, num: true, value: get, cell: function (f) { return fmtCount(get(f)); }, title: title };
  };
  const rows = data.files.map(function (f, i) { return Object.assign({ index: i }, f); });
  sortableTable(document.getElementById('files-table'), [
    { label: 'File', value: function (f) { return f.path; }, cell: function (f) { return map.label(f.index); }, className: 'path' },
    { label: 'Type', value: function (f) { return f.elf || ''; }, cell: function (f) { return f.elf ? f.elf.split(' ').slice(2).join(' ') : 'not ELF'; }, title: 'ELF machine and e_type' },
    { label: 'Size', num: true, value: function (f) { return f.size; }, cell: function (f) { return fmtBytes(f.size); } },
    num('Pages', function (f) { return f.pages; }),
    num('Zero', function (f) { return f.counts.zero; }),
    num('Singleton', function (f) { return f.counts.unique; }, 'pages whose bytes occur nowhere else'),
    num('Shared in file', function (f) { return f.counts.sharedWithin; }, 'pages whose bytes occur again in this file (and maybe in other files)'),
    num('Shared across', function (f) { return f.counts.sharedAcross; }, 'pages whose bytes occur once in this file and in other files'),
    { label: 'Pages by kind', cell: function (f) { return miniBar(f.counts); } },
    { label: 'Saves', num: true, value: function (f) { return f.counts.savedPages; }, cell: function (f) { return fmtBytes(f.counts.savedPages * data.pageSize); }, title: 'zero pages + pages whose bytes occurred earlier' },
    { label: 'Saves %', num: true, value: function (f) { return f.pages === 0 ? 0 : f.counts.savedPages / f.pages; }, cell: function (f) { return fmtPercent(f.counts.savedPages, f.pages); } },
  ], rows, { sortColumn: 9, descending: true, limit: 100, onClick: function (f) { map.showFile(f.index); } });
}

function buildContentsTable() {
  const ids = [];
  for (let id = 1; id <= data.contentCount; id++) if (index.copies[id] > 1) ids.push(id);
  ids.sort(function (a, b) { return index.copies[b] - index.copies[a] || a - b; });
  const rows = ids.slice(0, 200).map(function (id) {
    const g = index.places[index.start[id]];
    const f = fileOfPage(index, g);
    const d = describePage(data, index, f, g - index.fileStart[f], 0);
    return { id: id, copies: index.copies[id], files: index.fileCount[id], d: d };
  });
  const host = document.getElementById('contents-table');
  if (rows.length === 0) {
    host.replaceChildren(el('p', 'note', ['No page content occurs twice.']));
    return;
  }
  sortableTable(host, [
    { label: 'Copies', num: true, value: function (r) { return r.copies; }, cell: function (r) { return fmtCount(r.copies); } },
    { label: 'Files', num: true, value: function (r) { return r.files; }, cell: function (r) { return fmtCount(r.files); } },
    { label: 'First at', value: function (r) { return r.d.path; }, cell: function (r) { return map.label(r.d.file) + ' page ' + hex(r.d.page); }, className: 'path' },
    { label: 'Perms', value: function (r) { return segmentText(r.d); }, cell: function (r) { return r.d.segments.map(function (s) { return s.perms; }).join(', ') || '\u2013'; } },
    { label: 'Sections', value: function (r) { return sectionText(r.d, 4); }, cell: function (r) { return sectionText(r.d, 4); }, className: 'mono' },
  ], rows, { sortColumn: 0, descending: true, limit: 50, onClick: function (r) {
    map.reveal(r.d.file, r.d.page);
    map.pin({ file: r.d.file, page: r.d.page });
    showDetail({ file: r.d.file, page: r.d.page });
  } });
}

function buildPermsTable() {
  const buckets = new Map();
  const bucket = function (name) {
    if (!buckets.has(name)) buckets.set(name, { perms: name, pages: 0, kinds: [0, 0, 0, 0] });
    return buckets.get(name);
  };
  data.files.forEach(function (file, f) {
    const base = index.fileStart[f];
    const loaded = new Uint8Array(file.pages);
    for (const s of file.segments) {
      const b = bucket(s.perms);
      for (let p = s.firstPage; p < s.firstPage + s.pages && p < file.pages; p++) {
        b.pages++;
        b.kinds[index.kinds[base + p]]++;
        loaded[p] = 1;
      }
    }
    let notLoaded = null;
    for (let p = 0; p < file.pages; p++) {
      if (loaded[p]) continue;
      notLoaded = notLoaded || bucket('not loaded');
      notLoaded.pages++;
      notLoaded.kinds[index.kinds[base + p]]++;
    }
  });
  const kindColumn = function (label, kind) {
    return { label: label, num: true, value: function (b) { return b.kinds[kind]; }, cell: function (b) { return fmtCount(b.kinds[kind]); } };
  };
  sortableTable(document.getElementById('perms-table'), [
    { label: 'Permissions', value: function (b) { return b.perms; }, cell: function (b) { return b.perms; }, className: 'mono' },
    { label: 'Pages', num: true, value: function (b) { return b.pages; }, cell: function (b) { return fmtCount(b.pages); } },
    kindColumn('Zero', KIND_ZERO),
    kindColumn('Singleton', KIND_UNIQUE),
    kindColumn('Shared in file', KIND_WITHIN),
    kindColumn('Shared across', KIND_ACROSS),
    { label: 'Shared %', num: true, value: function (b) { return b.pages === 0 ? 0 : (b.kinds[KIND_WITHIN] + b.kinds[KIND_ACROSS]) / b.pages; },
      cell: function (b) { return fmtPercent(b.kinds[KIND_WITHIN] + b.kinds[KIND_ACROSS], b.pages); } },
  ], Array.from(buckets.values()), { sortColumn: 1, descending: true });
}

function applyOrder() {
  const text = filterInput.value.trim().toLowerCase();
  const key = orderSelect.value;
  const list = [];
  data.files.forEach(function (f, i) { if (text === '' || f.path.toLowerCase().includes(text)) list.push(i); });
  const files = data.files;
  const by = {
    saved: function (i) { return files[i].counts.savedPages; },
    pages: function (i) { return files[i].pages; },
    shared: function (i) { return files[i].counts.sharedWithin + files[i].counts.sharedAcross; },
  }[key];
  if (by) list.sort(function (a, b) { return by(b) - by(a) || a - b; });
  else if (key === 'path') list.sort(function (a, b) { return files[a].path < files[b].path ? -1 : files[a].path > files[b].path ? 1 : a - b; });
  map.setOrder(Int32Array.from(list));
  document.body.dataset.cells = String(map.state.cells);
}

const scriptStart = performance.now();
const data = JSON.parse(document.getElementById('pagestack-data').textContent);
const index = indexPages(data);
const indexedMs = performance.now();
const tooltip = document.getElementById('tooltip');
const detail = document.getElementById('detail');
const filterInput = document.getElementById('filter');
const orderSelect = document.getElementById('order');
let tooltipFor = null;
const map = createMap(data, index, {
  hover: showTooltip,
  pin: showDetail,
  showAll: function () {
    filterInput.value = '';
    applyOrder();
  },
});
applyOrder();
const firstPaintMs = performance.now();
if (map.commonDirectory !== '') document.getElementById('map-prefix').textContent = 'paths under ' + map.commonDirectory;

filterInput.addEventListener('input', applyOrder);
orderSelect.addEventListener('change', applyOrder);
document.getElementById('cell-size').addEventListener('change', function (event) { map.setCellSize(event.target.value); });
document.addEventListener('keydown', function (event) {
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
  get cells() { return map.state.cells; },
  /** Milliseconds the last drawing of the map took. */
  get lastDrawMs() { return map.state.drawMs; },
  kinds: { zero: index.kindTotals[KIND_ZERO], unique: index.kindTotals[KIND_UNIQUE], sharedWithin: index.kindTotals[KIND_WITHIN], sharedAcross: index.kindTotals[KIND_ACROSS] },
  firstPaintMs: firstPaintMs,
  /** Milliseconds spent in the script: parsing and indexing the data, first drawing of the map, tables. */
  timings: { index: indexedMs - scriptStart, map: firstPaintMs - indexedMs, tables: 0 },
  /** Scrolls page p of file f into view; returns the viewport point at the centre of its cell. */
  reveal: function (f, p) { return map.reveal(f, p); },
  /** The first page of a kind ('zero', 'unique', 'shared-within', 'shared-across'), or null. */
  findPage: function (kindName) {
    const kind = KIND_NAMES.indexOf(kindName);
    const g = index.kinds.indexOf(kind);
    if (kind < 0 || g < 0) return null;
    const f = fileOfPage(index, g);
    return { file: f, page: g - index.fileStart[f] };
  },
  describe: function (f, p) { return describePage(data, index, f, p, 1000); },
  hitTest: function (x, y) { return map.hitTest(x, y); },
};
document.body.dataset.firstPaintMs = firstPaintMs.toFixed(1);

setTimeout(function () {
  const tablesStart = performance.now();
  buildFilesTable();
  buildContentsTable();
  buildPermsTable();
  window.__pagestack.timings.tables = performance.now() - tablesStart;
  window.__pagestack.ready = true;
  window.__pagestack.readyMs = performance.now();
  document.body.dataset.ready = 'true';
}, 0);
`;
