/**
 * What the page script sees besides the DOM: the constants the server
 * prepends (client.ts, CLIENT_CONSTANTS) and the shape of the embedded data
 * (the server's own types, so the two cannot drift apart).
 */

declare const KIND_ZERO: number;
declare const KIND_UNIQUE: number;
declare const KIND_WITHIN: number;
declare const KIND_ACROSS: number;
declare const KIND_NAMES: readonly string[];
declare const KIND_COLORS: readonly string[];
declare const KIND_LABELS: readonly string[];
declare const KIND_CLASSES: readonly string[];

type ReportData = import('../data.js').ReportData;
type FileData = import('../data.js').FileData;
type KindCounts = import('../model.js').KindCounts;

/** A page cell ({ file, page }) or a file's label ({ file, page: -1 }). */
interface Hit {
  file: number;
  page: number;
}

interface Window {
  __pagestack: PagestackHandle;
}

interface PagestackHandle {
  ready: boolean;
  readyMs?: number;
  schema: string;
  files: number;
  pages: number;
  readonly cells: number;
  readonly lastDrawMs: number;
  kinds: { zero: number; unique: number; sharedWithin: number; sharedAcross: number };
  firstPaintMs: number;
  timings: { index: number; map: number; tables: number };
  reveal(f: number, p: number): { x: number; y: number };
  findPage(kindName: string): Hit | null;
  describe(f: number, p: number): PageDescription;
  hitTest(x: number, y: number): Hit | null;
}
