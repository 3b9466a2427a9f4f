/**
 * Page script, part 1 of 3: decoding the embedded content ids and deriving
 * everything per page from them, in typed arrays:
 *
 * - kinds[g]: kind code of global page g (pages numbered file after file):
 *   zero; shared within its file when the content occurs again in the same
 *   file (other files may hold it too); shared across files when it occurs
 *   once here and in another file; unique (a singleton) otherwise;
 * - copies[id], fileCount[id]: pages and files holding content id;
 * - places[start[id] .. start[id + 1]): the global pages holding content id,
 *   in file order (a CSR table: one Uint32 per non-zero page, no object).
 *
 * A browser script, not a module: the three parts share one scope in the
 * page (client.ts assembles them). Type-checked against the DOM by
 * tsconfig.client.json; tested by running it in Node (test/report-html) and
 * in Chromium (test/e2e).
 */

interface PageIndex {
  ids: Uint32Array;
  fileStart: Uint32Array;
  copies: Uint32Array;
  fileCount: Uint32Array;
  kinds: Uint8Array;
  kindTotals: number[];
  start: Uint32Array;
  places: Uint32Array;
}

interface SegmentPlace {
  index: number;
  perms: string;
  vaddr: string | null;
}

interface OtherFile {
  file: number;
  path: string;
  pages: number[];
  count: number;
}

interface PageDescription {
  file: number;
  path: string;
  page: number;
  id: number;
  kind: number;
  offset: number;
  end: number;
  segments: SegmentPlace[];
  sections: string[];
  copies: number;
  files: number;
  samePagesHere: number[];
  samePagesCount: number;
  others: OtherFile[];
  otherFiles: number;
  otherPages: number;
}

function decodeIds(base64: string): Uint32Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const n = bytes.length >>> 2;
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] === 1) return new Uint32Array(bytes.buffer, 0, n);
  const view = new DataView(bytes.buffer);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

function indexPages(data: ReportData): PageIndex {
  const ids = decodeIds(data.ids);
  const files = data.files;
  const fileStart = new Uint32Array(files.length + 1);
  for (let f = 0; f < files.length; f++) fileStart[f + 1] = fileStart[f]! + files[f]!.pages;
  if (fileStart[files.length] !== ids.length) {
    throw new Error(`the page data holds ${ids.length} pages but the file list ${fileStart[files.length]}`);
  }
  const count = data.contentCount;
  const copies = new Uint32Array(count + 1);
  const fileCount = new Uint32Array(count + 1);
  const lastFile = new Int32Array(count + 1).fill(-1);
  for (let f = 0; f < files.length; f++) {
    for (let g = fileStart[f]!, end = fileStart[f + 1]!; g < end; g++) {
      const id = ids[g]!;
      if (id > count) throw new Error(`content id ${id} above the content count ${count}`);
      copies[id]!++;
      if (lastFile[id] !== f) {
        lastFile[id] = f;
        fileCount[id]!++;
      }
    }
  }
  const kinds = new Uint8Array(ids.length);
  const kindTotals = [0, 0, 0, 0];
  const here = new Uint32Array(count + 1);
  for (let f = 0; f < files.length; f++) {
    const first = fileStart[f]!;
    const end = fileStart[f + 1]!;
    for (let g = first; g < end; g++) here[ids[g]!]!++;
    for (let g = first; g < end; g++) {
      const id = ids[g]!;
      const kind = id === 0 ? KIND_ZERO : here[id]! > 1 ? KIND_WITHIN : fileCount[id]! > 1 ? KIND_ACROSS : KIND_UNIQUE;
      kinds[g] = kind;
      kindTotals[kind]!++;
    }
    for (let g = first; g < end; g++) here[ids[g]!] = 0;
  }
  const start = new Uint32Array(count + 2);
  for (let id = 1; id <= count; id++) start[id + 1] = start[id]! + copies[id]!;
  const places = new Uint32Array(start[count + 1]!);
  const fill = start.slice(0, count + 1);
  for (let g = 0; g < ids.length; g++) {
    const id = ids[g]!;
    if (id !== 0) places[fill[id]!++] = g;
  }
  return { ids, fileStart, copies, fileCount, kinds, kindTotals, start, places };
}

/** The file holding global page g (binary search over fileStart). */
function fileOfPage(index: PageIndex, g: number): number {
  const starts = index.fileStart;
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// One formatter: toLocaleString builds a new one on every call, which costs ~0.1 ms each.
const NUMBER_FORMAT = new Intl.NumberFormat('en-US');
function fmtCount(n: number): string {
  return NUMBER_FORMAT.format(n);
}

function fmtBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Percent that never rounds a part to 0% or 100% it is not: '<0.1%', '99.7%', '>99.9%'. */
function fmtPercent(part: number, whole: number): string {
  if (whole === 0 || part === 0) return '0%';
  if (part === whole) return '100%';
  const p = (part / whole) * 100;
  if (p < 0.1) return '<0.1%';
  if (p > 99.9) return '>99.9%';
  return `${p < 10 || p >= 99.5 ? p.toFixed(1) : p.toFixed(0)}%`;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** "0x3, 0x7, 0x10–0x1f": page numbers with runs collapsed, at most max items. */
function pageList(pages: readonly number[], max: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < pages.length && parts.length < max) {
    let j = i;
    while (j + 1 < pages.length && pages[j + 1] === pages[j]! + 1) j++;
    parts.push(j > i ? `${hex(pages[i]!)}\u2013${hex(pages[j]!)}` : hex(pages[i]!));
    i = j + 1;
  }
  const listed = parts.join(', ');
  return i < pages.length ? `${listed}, \u2026` : listed;
}

/**
 * Everything the tooltip and the detail panel show about page p of file f:
 * where it lies (offset, PT_LOAD segments with permissions and the virtual
 * address the page maps at, sections) and which other pages hold its bytes.
 */
function describePage(data: ReportData, index: PageIndex, f: number, p: number, maxGroups: number): PageDescription {
  const file = data.files[f]!;
  const ps = data.pageSize;
  const g = index.fileStart[f]! + p;
  const id = index.ids[g]!;
  const start = p * ps;
  const segments: SegmentPlace[] = [];
  for (const s of file.segments) {
    if (p < s.firstPage || p >= s.firstPage + s.pages) continue;
    const vaddr = BigInt(s.vaddr) - BigInt(s.offset) + BigInt(start);
    segments.push({ index: s.index, perms: s.perms, vaddr: vaddr < 0n ? null : `0x${vaddr.toString(16)}` });
  }
  const sections: string[] = [];
  const spans = file.sections;
  for (let k = 0; k + 2 < spans.length; k += 3) {
    const offset = spans[k + 1]!;
    if (offset < start + ps && offset + spans[k + 2]! > start) {
      const name = data.sectionNames[spans[k]!] ?? '';
      sections.push(name === '' ? '(unnamed)' : name);
    }
  }
  const result: PageDescription = {
    file: f,
    path: file.path,
    page: p,
    id,
    kind: index.kinds[g]!,
    offset: start,
    end: Math.min(start + ps, file.size) - 1,
    segments,
    sections,
    copies: index.copies[id]!,
    files: id === 0 ? 0 : index.fileCount[id]!,
    samePagesHere: [],
    samePagesCount: 0,
    others: [],
    otherFiles: 0,
    otherPages: 0,
  };
  if (id === 0) return result;
  let group: OtherFile | null = null;
  for (let k = index.start[id]!, end = index.start[id + 1]!; k < end; k++) {
    const other = index.places[k]!;
    if (other === g) continue;
    const of = fileOfPage(index, other);
    const page = other - index.fileStart[of]!;
    if (of === f) {
      result.samePagesCount++;
      if (result.samePagesHere.length < 256) result.samePagesHere.push(page);
      continue;
    }
    result.otherPages++;
    if (!group || group.file !== of) {
      result.otherFiles++;
      group = { file: of, path: data.files[of]!.path, pages: [], count: 0 };
      if (result.others.length < maxGroups) result.others.push(group);
    }
    group.count++;
    if (group.pages.length < 256) group.pages.push(page);
  }
  return result;
}
