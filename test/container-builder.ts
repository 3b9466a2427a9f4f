/**
 * Builds containers byte by byte from docs/FORMAT.md, without the writer in
 * src/container, so tests can make containers the writer never would:
 * hostile paths, lying counts, bad links, broken LZ4 blocks. Everything
 * not given is filled in consistently (checksums, counts, section
 * directory), and `patch` can then break any of it.
 */
import xxhash from 'xxhash-wasm';

export const KIND = { regular: 1, directory: 2, symlink: 3, hardlink: 4 } as const;

export interface BuildFile {
  path: string | Uint8Array;
  kind: number;
  mode?: number;
  mtimeSeconds?: number;
  mtimeNanoseconds?: number;
  size?: number | bigint;
  firstPage?: number | bigint;
  link?: string | Uint8Array;
  linkIndex?: number;
  /** Overrides of the string references. */
  pathOffset?: number;
  pathLength?: number;
}

export interface BuildPage {
  /** The bytes stored: a raw page (pageSize bytes) or an LZ4 block. */
  stored: Uint8Array;
  /** The page it should decode to (for pageChecksum); defaults to `stored`. */
  decoded?: Uint8Array;
}

export interface BuildSpec {
  pageSize?: number;
  pages?: BuildPage[];
  shareMap?: number[];
  /** Page-table offsets to write instead of the true ones. */
  pageOffsets?: number[];
  files: BuildFile[];
  version?: number;
  requiredFlags?: bigint;
  optionalFlags?: bigint;
  /** Extra sections after the five of version 1. */
  extraSections?: Array<{ kind: number; flags: number; bytes: Uint8Array }>;
  /** Header fields to overwrite after everything was computed (the header checksum is recomputed after). */
  header?: Partial<
    Record<'fileCount' | 'storedPageCount' | 'totalPages' | 'containerSize' | 'pageSize', number | bigint>
  >;
  /** Last word: edit the bytes, then the header checksum is recomputed unless `keepHeaderChecksum`. */
  patch?: (bytes: Uint8Array, view: DataView) => void;
  keepHeaderChecksum?: boolean;
}

const enc = new TextEncoder();
const bytesOf = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? enc.encode(s) : s);

export async function buildContainer(spec: BuildSpec): Promise<Uint8Array> {
  const { h64Raw } = await xxhash();
  const sum32 = (b: Uint8Array): number => Number(h64Raw(b) & 0xffffffffn);
  const pageSize = spec.pageSize ?? 4096;
  const pages = spec.pages ?? [];
  const shareMap = spec.shareMap ?? [];
  const sectionCount = 5 + (spec.extraSections?.length ?? 0);
  const headerSize = 64 + 32 * sectionCount + 8;

  const strings: number[] = [];
  const addString = (s: string | Uint8Array): [number, number] => {
    const b = bytesOf(s);
    const at = strings.length;
    strings.push(...b);
    return [at, b.length];
  };
  const fileTable = new Uint8Array(64 * spec.files.length);
  const fv = new DataView(fileTable.buffer);
  spec.files.forEach((f, i) => {
    const at = 64 * i;
    const [po, pl] = addString(f.path);
    const [lo, ll] = f.link === undefined ? [0, 0] : addString(f.link);
    fv.setUint32(at, f.pathOffset ?? po, true);
    fv.setUint32(at + 4, f.pathLength ?? pl, true);
    fv.setUint8(at + 8, f.kind);
    fv.setUint32(at + 12, f.mode ?? (f.kind === KIND.symlink ? 0o777 : 0o644), true);
    fv.setBigInt64(at + 16, BigInt(f.mtimeSeconds ?? 1_700_000_000), true);
    fv.setUint32(at + 24, f.mtimeNanoseconds ?? 0, true);
    fv.setUint32(at + 28, lo, true);
    fv.setUint32(at + 32, ll, true);
    fv.setUint32(at + 36, f.linkIndex ?? 0, true);
    fv.setBigUint64(at + 40, BigInt(f.size ?? 0), true);
    fv.setBigUint64(at + 48, BigInt(f.firstPage ?? 0), true);
  });

  const storeOffset = headerSize;
  const storeLength = pages.reduce((s, p) => s + p.stored.length, 0);
  const pageTable = new Uint8Array(16 * pages.length);
  const pv = new DataView(pageTable.buffer);
  let offset = storeOffset;
  pages.forEach((p, i) => {
    pv.setBigUint64(16 * i, BigInt(spec.pageOffsets?.[i] ?? offset), true);
    pv.setUint32(16 * i + 8, sum32(p.stored), true);
    pv.setUint32(16 * i + 12, sum32(p.decoded ?? p.stored), true);
    offset += p.stored.length;
  });
  const share = new Uint8Array(4 * shareMap.length);
  shareMap.forEach((id, i) => new DataView(share.buffer).setUint32(4 * i, id, true));
  const stringTable = Uint8Array.from(strings);

  const body: Array<{ kind: number; flags: number; bytes: Uint8Array }> = [
    { kind: 2, flags: 3, bytes: pageTable },
    { kind: 3, flags: 3, bytes: fileTable },
    { kind: 4, flags: 3, bytes: share },
    { kind: 5, flags: 3, bytes: stringTable },
    ...(spec.extraSections ?? []),
  ];
  const total = headerSize + storeLength + body.reduce((s, b) => s + b.bytes.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x89, 0x50, 0x47, 0x53, 0x54, 0x4b, 0x0a, 0x1a], 0);
  view.setUint16(8, spec.version ?? 1, true);
  view.setUint16(10, sectionCount, true);
  view.setUint32(12, headerSize, true);
  const lz4 = pages.some((p) => p.stored.length < pageSize);
  view.setBigUint64(16, spec.requiredFlags ?? (lz4 ? 1n : 0n), true);
  view.setBigUint64(24, spec.optionalFlags ?? 0n, true);
  view.setUint32(32, pageSize, true);
  view.setUint32(36, spec.files.length, true);
  view.setUint32(40, pages.length, true);
  view.setBigUint64(48, BigInt(shareMap.length), true);
  view.setBigUint64(56, BigInt(total), true);
  // Page store.
  let at = storeOffset;
  for (const p of pages) {
    out.set(p.stored, at);
    at += p.stored.length;
  }
  const directory = (i: number, kind: number, flags: number, off: number, len: number, checksum: bigint): void => {
    const d = 64 + 32 * i;
    view.setUint16(d, kind, true);
    view.setUint16(d + 2, flags, true);
    view.setBigUint64(d + 8, BigInt(off), true);
    view.setBigUint64(d + 16, BigInt(len), true);
    view.setBigUint64(d + 24, checksum, true);
  };
  directory(0, 1, 1, storeOffset, storeLength, 0n);
  body.forEach((b, i) => {
    directory(i + 1, b.kind, b.flags, at, b.bytes.length, (b.flags & 2) !== 0 ? h64Raw(b.bytes) : 0n);
    out.set(b.bytes, at);
    at += b.bytes.length;
  });
  const fields: Record<string, [number, number]> = {
    fileCount: [36, 4],
    storedPageCount: [40, 4],
    totalPages: [48, 8],
    containerSize: [56, 8],
    pageSize: [32, 4],
  };
  for (const [name, value] of Object.entries(spec.header ?? {})) {
    const [o, size] = fields[name]!;
    if (size === 4) view.setUint32(o, Number(value), true);
    else view.setBigUint64(o, BigInt(value), true);
  }
  spec.patch?.(out, view);
  if (!spec.keepHeaderChecksum) view.setBigUint64(headerSize - 8, h64Raw(out.subarray(0, headerSize - 8)), true);
  return out;
}

/** A 4096-byte page of one repeated byte. */
export function runPage(byte: number, size = 4096): Uint8Array {
  return new Uint8Array(size).fill(byte);
}

/**
 * An LZ4 block for a run of `byte`: one literal, one match of offset
 * `offset` (1 is right), five last literals; it decodes to `total` bytes.
 */
export function lz4Run(byte: number, total: number, offset = 1): Uint8Array {
  const matchLength = total - 1 - 5;
  const out: number[] = [0x1f, byte, offset & 0xff, offset >> 8];
  for (let rest = matchLength - 4 - 15; ; rest -= 255) {
    if (rest >= 255) out.push(255);
    else {
      out.push(rest);
      break;
    }
  }
  out.push(0x50, byte, byte, byte, byte, byte);
  return Uint8Array.from(out);
}
