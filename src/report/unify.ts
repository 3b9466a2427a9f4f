/**
 * One numbering of page contents across several sources.
 *
 * Each source (one scan of the plain paths, one container) numbers its own
 * contents 1..n. When a report has more than one source, every distinct
 * page of every source is read once and added to one PageIndex (XXH64,
 * every match confirmed byte for byte, as the scanner does), which gives
 * the report-wide id. Cost: one read (and for a container one LZ4 decode)
 * per distinct page of each source; nothing when there is one source.
 * Contents with equal bytes inside one source (a container may store a page
 * twice) get one id, and an all-zero content becomes the zero page.
 */
import { loadPageHasher } from '../scan/hash.js';
import { PageIndex, ZERO_CONTENT_ID } from '../scan/pageindex.js';

export interface ContentSource {
  /** Distinct non-zero contents of this source; its ids run 1..contentCount. */
  readonly contentCount: number;
  /** Reads the bytes of content `id` (one page, zero-padded) into `into`. */
  readContent(id: number, into: Uint8Array): void;
  /** Optional: contents [first, first + count) into `into` (count pages), faster than one by one. */
  readContents?(first: number, count: number, into: Uint8Array): void;
}

/** Contents read at a time from a source that can read runs. */
const RUN = 256;

export interface Unified {
  /** Report-wide distinct non-zero contents. */
  contentCount: number;
  /** Per source: its content id -> the report-wide id (index 0 maps to 0). */
  maps: Uint32Array[];
}

export async function unifyContents(sources: readonly ContentSource[], pageSize: number): Promise<Unified> {
  if (sources.length === 1) {
    const only = sources[0]!;
    const identity = new Uint32Array(only.contentCount + 1);
    for (let id = 0; id <= only.contentCount; id++) identity[id] = id;
    return { contentCount: only.contentCount, maps: [identity] };
  }
  const hash = await loadPageHasher();
  // Where each report-wide id was first read: source and its local id.
  let canonicalSource: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
  let canonicalId: Uint32Array<ArrayBuffer> = new Uint32Array(1024);
  const index = new PageIndex(pageSize, hash, (id, into) =>
    sources[canonicalSource[id]!]!.readContent(canonicalId[id]!, into),
  );
  const run = new Uint8Array(RUN * pageSize);
  const maps = sources.map((source, s) => {
    const map = new Uint32Array(source.contentCount + 1);
    for (let local = 1; local <= source.contentCount; local++) {
      const k = (local - 1) % RUN;
      if (k === 0) {
        const count = Math.min(RUN, source.contentCount - local + 1);
        if (source.readContents) source.readContents(local, count, run.subarray(0, count * pageSize));
        else
          for (let j = 0; j < count; j++) source.readContent(local + j, run.subarray(j * pageSize, (j + 1) * pageSize));
      }
      // A stored page that is all zero (no pack writes one, but a container may hold one) is a zero page.
      const id = index.addAt(run, k * pageSize);
      if (id !== ZERO_CONTENT_ID && index.isNew) {
        if (id >= canonicalSource.length) {
          canonicalSource = grow(canonicalSource, id);
          canonicalId = grow(canonicalId, id);
        }
        canonicalSource[id] = s;
        canonicalId[id] = local;
      }
      map[local] = id;
    }
    return map;
  });
  return { contentCount: index.distinct, maps };
}

function grow(a: Uint32Array, atLeast: number): Uint32Array<ArrayBuffer> {
  const out = new Uint32Array(Math.max(atLeast + 1, a.length * 2));
  out.set(a);
  return out;
}

/** `ids` renumbered through `map` (a new array). */
export function remapIds(ids: Uint32Array, map: Uint32Array): Uint32Array {
  const out = new Uint32Array(ids.length);
  for (let p = 0; p < ids.length; p++) out[p] = map[ids[p]!]!;
  return out;
}
