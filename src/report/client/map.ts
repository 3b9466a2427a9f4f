/**
 * Page script, part 2 of 3: the page map. One canvas the height of the
 * visible box, kept in place (position: sticky) inside a scrolling box whose
 * spacer gives the full height: only the rows on screen are drawn, one rect
 * per visible page (four Path2D fills, one per kind), so 100k or 1M pages
 * cost the same per frame. Layout is a typed array of block tops (one block
 * per file: a label line, then rows of cells); hit-testing is a binary
 * search over it and a division.
 */

const LINE = 18;
const PAD = 10;

interface MapHooks {
  hover(hit: Hit | null, x: number, y: number): void;
  pin(hit: Hit | null): void;
  showAll(): void;
}

interface MapState {
  cellSetting: string;
  cell: number;
  gap: number;
  pitch: number;
  cols: number;
  width: number;
  height: number;
  dpr: number;
  labelWidth: number;
  cellsLeft: number;
  blockGap: number;
  /** Files in display order. */
  order: Int32Array;
  /** position[f]: index of file f in the display order, -1 when filtered out. */
  position: Int32Array;
  /** top[i]: layout y of block i; top[n] the end. */
  top: Float64Array;
  cells: number;
  hover: Hit | null;
  pinned: Hit | null;
  frame: number;
  drawMs: number;
}

interface PageMap {
  state: MapState;
  commonDirectory: string;
  label(f: number): string;
  setOrder(order: Int32Array): void;
  layout(anchor?: number): void;
  draw(): void;
  reveal(f: number, p: number): { x: number; y: number };
  showFile(f: number): void;
  hitTest(clientX: number, clientY: number): Hit | null;
  pin(hit: Hit | null): void;
  setCellSize(setting: string): void;
}

/** The page's element with this id; the page template always has it. */
function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no element #${id}`);
  return node as T;
}

/** The longest directory prefix ('dir/', with its slash) of all paths; '' when they share none. */
function commonDirectory(paths: readonly string[]): string {
  const first = paths[0];
  if (first === undefined) return '';
  let prefix = first.slice(0, first.lastIndexOf('/') + 1);
  for (const p of paths) {
    while (prefix !== '' && !p.startsWith(prefix)) {
      const cut = prefix.length > 1 ? prefix.lastIndexOf('/', prefix.length - 2) : -1;
      prefix = prefix.slice(0, cut + 1);
    }
  }
  return prefix;
}

function createMap(data: ReportData, index: PageIndex, hooks: MapHooks): PageMap {
  const scroller = byId<HTMLDivElement>('map-scroll');
  const canvas = byId<HTMLCanvasElement>('map');
  const spacer = byId<HTMLDivElement>('map-spacer');
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser gives no 2D canvas');
  const ctx: CanvasRenderingContext2D = context;
  const files = data.files;
  // Labels drop the directory all paths share (shown above the map), so the names that differ fit.
  const common = commonDirectory(files.map((f) => f.path));
  const labels = files.map((f) => f.path.slice(common.length));
  const state: MapState = {
    cellSetting: 'auto',
    cell: 8,
    gap: 1,
    pitch: 9,
    cols: 1,
    width: 0,
    height: 0,
    dpr: 1,
    labelWidth: 200,
    cellsLeft: 220,
    blockGap: 6,
    order: new Int32Array(0),
    position: new Int32Array(files.length),
    top: new Float64Array(1),
    cells: 0,
    hover: null,
    pinned: null,
    frame: 0,
    drawMs: 0,
  };

  function autoCell(pages: number): number {
    if (pages <= 2500) return 12;
    if (pages <= 15000) return 8;
    if (pages <= 150000) return 5;
    return 3;
  }

  function setOrder(order: Int32Array): void {
    const anchor = topVisibleFile();
    state.order = order;
    state.position.fill(-1);
    for (let i = 0; i < order.length; i++) state.position[order[i]!] = i;
    layout(anchor);
  }

  /** Lays the blocks out for the current width; the anchor file (default: the one at the top) stays at the top. */
  function layout(anchor: number = topVisibleFile()): void {
    let cells = 0;
    for (let i = 0; i < state.order.length; i++) cells += files[state.order[i]!]!.pages;
    state.cells = cells;
    state.cell = state.cellSetting === 'auto' ? autoCell(cells) : Number(state.cellSetting);
    state.gap = state.cell >= 8 ? 2 : 1;
    state.pitch = state.cell + state.gap;
    state.width = scroller.clientWidth;
    state.labelWidth = Math.max(120, Math.min(300, Math.round(state.width * 0.24)));
    state.cellsLeft = PAD + state.labelWidth + 12;
    state.cols = Math.max(8, Math.floor((state.width - state.cellsLeft - PAD + state.gap) / state.pitch));
    state.blockGap = state.cell >= 8 ? 10 : 6;
    const n = state.order.length;
    const top = new Float64Array(n + 1);
    top[0] = PAD;
    for (let i = 0; i < n; i++) top[i + 1] = top[i]! + blockHeight(files[state.order[i]!]!.pages) + state.blockGap;
    state.top = top;
    const total = n === 0 ? 60 : top[n]! - state.blockGap + PAD;
    const maxHeight = Math.max(200, Math.round(window.innerHeight * 0.72));
    state.height = Math.min(total, maxHeight);
    state.dpr = window.devicePixelRatio || 1;
    canvas.style.height = `${state.height}px`;
    canvas.width = Math.round(state.width * state.dpr);
    canvas.height = Math.round(state.height * state.dpr);
    spacer.style.height = `${Math.max(0, total - state.height)}px`;
    const at = anchor >= 0 ? state.position[anchor]! : -1;
    if (at >= 0) scroller.scrollTop = state.top[at]! - PAD;
    draw();
  }

  /** A file's block: its rows of cells, and at least one line for its label. */
  function blockHeight(pages: number): number {
    return Math.max(LINE, Math.ceil(pages / state.cols) * state.pitch - state.gap);
  }

  /** Layout coordinates of the top left of page p's cell in block i. */
  function cellX(p: number): number {
    return state.cellsLeft + (p % state.cols) * state.pitch;
  }
  function cellY(i: number, p: number): number {
    return state.top[i]! + Math.floor(p / state.cols) * state.pitch;
  }

  /** The file whose block is at the top of the view, to keep it there across a relayout. */
  function topVisibleFile(): number {
    if (state.order.length === 0 || scroller.scrollTop === 0) return -1;
    const i = blockAt(scroller.scrollTop);
    return i < state.order.length ? state.order[i]! : -1;
  }

  /** Index in the display order of the block containing y (layout coordinates). */
  function blockAt(y: number): number {
    const top = state.top;
    let lo = 0;
    let hi = state.order.length - 1;
    if (hi < 0 || y < top[0]!) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (top[mid]! <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function requestDraw(): void {
    if (state.frame) return;
    state.frame = requestAnimationFrame(() => {
      state.frame = 0;
      draw();
    });
  }

  function draw(): void {
    const started = performance.now();
    drawCells();
    state.drawMs = performance.now() - started;
  }

  function drawCells(): void {
    const viewTop = scroller.scrollTop;
    const viewBottom = viewTop + state.height;
    const cell = state.cell;
    const pitch = state.pitch;
    const cols = state.cols;
    ctx.setTransform(state.dpr, 0, 0, state.dpr, 0, 0);
    ctx.clearRect(0, 0, state.width, state.height);
    if (state.order.length === 0) {
      ctx.fillStyle = '#5f6b7a';
      ctx.font = '13px system-ui, sans-serif';
      ctx.fillText(files.length === 0 ? 'No files in this report.' : 'No file matches the filter.', PAD, 30);
      return;
    }
    const paths = [new Path2D(), new Path2D(), new Path2D(), new Path2D()];
    const kinds = index.kinds;
    for (let i = blockAt(viewTop); i < state.order.length && state.top[i]! < viewBottom; i++) {
      const f = state.order[i]!;
      const file = files[f]!;
      const cellsTop = state.top[i]!;
      drawLabel(f, cellsTop - viewTop, state.top[i + 1]! - state.blockGap - cellsTop);
      const rows = Math.ceil(file.pages / cols);
      const r0 = Math.max(0, Math.floor((viewTop - cellsTop) / pitch));
      const r1 = Math.min(rows, Math.ceil((viewBottom - cellsTop) / pitch));
      const base = index.fileStart[f]!;
      for (let r = r0; r < r1; r++) {
        const y = cellsTop + r * pitch - viewTop;
        const first = r * cols;
        const end = Math.min(file.pages, first + cols);
        for (let p = first, x = state.cellsLeft; p < end; p++, x += pitch)
          paths[kinds[base + p]!]!.rect(x, y, cell, cell);
      }
    }
    for (let k = 0; k < 4; k++) {
      ctx.fillStyle = KIND_COLORS[k]!;
      ctx.fill(paths[k]!);
    }
    const hover = state.hover && state.hover.page >= 0 ? state.hover : null;
    const focus = hover ?? state.pinned;
    if (focus) {
      const id = index.ids[index.fileStart[focus.file]! + focus.page]!;
      if (id !== 0) outlineContent(id, viewTop, viewBottom);
      outlineCell(focus.file, focus.page, viewTop, '#1c2430', 2.5);
    }
    if (state.pinned && state.pinned !== focus)
      outlineCell(state.pinned.file, state.pinned.page, viewTop, '#3b6ea5', 2);
  }

  /** The file's path in the label column (its end, which names the file) and, when the block is tall enough, its page count and savings. */
  function drawLabel(f: number, y: number, height: number): void {
    const file = files[f]!;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    ctx.font = '600 12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
    ctx.fillStyle = '#1c2430';
    // Centred on the first row of cells (for small cells), at most on the first line.
    ctx.fillText(fitText(labels[f]!, state.labelWidth), PAD, y + Math.min(LINE / 2, Math.max(state.cell / 2, 7)));
    if (height < 2 * LINE) return;
    const c = file.counts;
    const saves = c.savedPages > 0 ? ` \u00b7 saves ${fmtBytes(c.savedPages * data.pageSize)}` : '';
    const summary = `${fmtCount(file.pages)}${file.pages === 1 ? ' page' : ' pages'}${saves}`;
    ctx.font = '11.5px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';
    ctx.fillStyle = '#5f6b7a';
    ctx.fillText(fitText(summary, state.labelWidth), PAD, y + LINE * 1.5);
  }

  /** The end of text that fits in width px, with a leading ellipsis when cut. */
  function fitText(text: string, width: number): string {
    if (ctx.measureText(text).width <= width) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ctx.measureText(`\u2026${text.slice(mid)}`).width <= width) hi = mid;
      else lo = mid + 1;
    }
    return `\u2026${text.slice(lo)}`;
  }

  /** Rings every visible page holding content id (the pages a click would list). */
  function outlineContent(id: number, viewTop: number, viewBottom: number): void {
    ctx.strokeStyle = '#1c2430';
    ctx.lineWidth = 1.25;
    for (let k = index.start[id]!, end = index.start[id + 1]!; k < end; k++) {
      const g = index.places[k]!;
      const f = fileOfPage(index, g);
      const i = state.position[f]!;
      if (i < 0) continue;
      const p = g - index.fileStart[f]!;
      const y = cellY(i, p);
      if (y + state.cell < viewTop || y > viewBottom) continue;
      ctx.strokeRect(cellX(p) - 1.5, y - viewTop - 1.5, state.cell + 3, state.cell + 3);
    }
  }

  function outlineCell(f: number, p: number, viewTop: number, color: string, width: number): void {
    const i = state.position[f]!;
    if (i < 0) return;
    const y = cellY(i, p) - viewTop;
    const x = cellX(p);
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = width + 2;
    ctx.strokeRect(x - 2, y - 2, state.cell + 4, state.cell + 4);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.strokeRect(x - 2, y - 2, state.cell + 4, state.cell + 4);
  }

  /**
   * What is under a point of the viewport: { file, page } for a page cell,
   * { file, page: -1 } for a file's label, or null (gaps between cells count
   * as the cell before them, so the pointer never falls through).
   */
  function hitTest(clientX: number, clientY: number): Hit | null {
    const rect = canvas.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top + scroller.scrollTop;
    if (state.order.length === 0 || y < state.top[0]!) return null;
    const i = blockAt(y);
    const f = state.order[i]!;
    const blockTop = state.top[i]!;
    if (y >= state.top[i + 1]! - state.blockGap) return null;
    if (x >= PAD && x < PAD + state.labelWidth) return y < blockTop + LINE ? { file: f, page: -1 } : null;
    const row = Math.floor((y - blockTop) / state.pitch);
    const col = Math.floor((x - state.cellsLeft) / state.pitch);
    if (col < 0 || col >= state.cols) return null;
    const p = row * state.cols + col;
    return p < files[f]!.pages ? { file: f, page: p } : null;
  }

  /** Scrolls so page p of file f is on screen and returns the viewport centre of its cell. */
  function reveal(f: number, p: number): { x: number; y: number } {
    if (state.position[f]! < 0) hooks.showAll();
    const i = state.position[f]!;
    const y = cellY(i, p);
    if (y < scroller.scrollTop || y + state.cell > scroller.scrollTop + state.height) {
      scroller.scrollTop = Math.max(0, y - state.height / 2);
    }
    const box = scroller.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) scroller.scrollIntoView({ block: 'nearest' });
    draw();
    const rect = canvas.getBoundingClientRect();
    return {
      x: rect.left + cellX(p) + state.cell / 2,
      y: rect.top + y - scroller.scrollTop + state.cell / 2,
    };
  }

  /** Scrolls the block of file f to the top of the view. */
  function showFile(f: number): void {
    if (state.position[f]! < 0) hooks.showAll();
    scroller.scrollTop = state.top[state.position[f]!]! - PAD;
    scroller.scrollIntoView({ block: 'nearest' });
    requestDraw();
  }

  function same(a: Hit | null, b: Hit | null): boolean {
    return a === b || (a !== null && b !== null && a.file === b.file && a.page === b.page);
  }

  // The last pointer position over the canvas: scrolling under a still pointer changes the page under it.
  const pointer = { x: 0, y: 0, inside: false };
  function hoverAt(x: number, y: number): void {
    const hit = hitTest(x, y);
    if (!same(hit, state.hover)) {
      state.hover = hit;
      requestDraw();
    }
    hooks.hover(hit, x, y);
  }
  canvas.addEventListener('mousemove', (event) => {
    pointer.x = event.clientX;
    pointer.y = event.clientY;
    pointer.inside = true;
    hoverAt(event.clientX, event.clientY);
  });
  canvas.addEventListener('mouseleave', () => {
    pointer.inside = false;
    state.hover = null;
    hooks.hover(null, 0, 0);
    requestDraw();
  });
  canvas.addEventListener('click', (event) => {
    const hit = hitTest(event.clientX, event.clientY);
    if (hit && hit.page < 0) return;
    state.pinned = hit && !same(hit, state.pinned) ? hit : null;
    hooks.pin(state.pinned);
    requestDraw();
  });
  scroller.addEventListener(
    'scroll',
    () => {
      if (pointer.inside) hoverAt(pointer.x, pointer.y);
      requestDraw();
    },
    { passive: true },
  );
  let lastWidth = scroller.clientWidth;
  new ResizeObserver(() => {
    if (scroller.clientWidth !== lastWidth) {
      lastWidth = scroller.clientWidth;
      layout();
    }
  }).observe(scroller);
  let lastWindowHeight = window.innerHeight;
  window.addEventListener('resize', () => {
    if (window.innerHeight !== lastWindowHeight) {
      lastWindowHeight = window.innerHeight;
      layout();
    }
  });

  return {
    state,
    commonDirectory: common,
    /** File f's path without the directory all files share. */
    label: (f) => labels[f] ?? '',
    setOrder,
    layout,
    draw,
    reveal,
    showFile,
    hitTest,
    pin(hit) {
      state.pinned = hit;
      requestDraw();
    },
    setCellSize(setting) {
      state.cellSetting = setting;
      layout();
    },
  };
}
