/**
 * LZ4 block compressor and safe decoder for pages, in AssemblyScript
 * (compiled to dist/codec/lz4.wasm by `npm run build`).
 *
 * The compressor is Linux's lib/lz4/lz4_compress.c LZ4_compress_fast at
 * acceleration 1 with a zeroed wrkmem table, as zram and zswap call it: for
 * inputs under LZ4_64Klimit (64 KiB + 11 bytes, so every page size) the
 * byU16 table of 2^13 entries; above that the byU32 table of 2^12 entries
 * hashed on 5 bytes. It produces the kernel's bytes exactly. The zeroed
 * table is emulated without clearing it per page: each call stamps its
 * entries with a base that grows by 2^17 per call, and an entry older than
 * the current base reads as position 0, which is what a zeroed u16 table
 * holds.
 *
 * The decoder accepts exactly the blocks LZ4_decompress_safe accepts with
 * the page size as capacity, except offset 0, which it refuses. It copies
 * with 16-byte loads and stores, so both regions need DECODE_SLACK bytes
 * of room after them (the caller lays memory out so). Errors are returned
 * as a kind with details in globals, for the JavaScript side to word.
 *
 * All pointers are byte addresses in this module's memory; the JavaScript
 * side (src/codec/lz4-wasm.ts) owns the layout above heapBase().
 */

const MINMATCH: u32 = 4;
const LASTLITERALS: u32 = 5;
const MFLIMIT: u32 = 12;
const LZ4_MIN_LENGTH: u32 = MFLIMIT + 1;
const LZ4_64K_LIMIT: u32 = 65536 + MFLIMIT - 1;
const MAX_DISTANCE: u32 = 65535;
const SKIP_TRIGGER: u32 = 6;
const RUN_MASK: u32 = 15;
const ML_MASK: u32 = 15;

/** byU16: LZ4_HASHLOG (12) + 1. */
const HASH_LOG_16: u32 = 13;
/** byU32: LZ4_HASHLOG. */
const HASH_LOG_32: u32 = 12;
const STAMP_STEP: u32 = 1 << 17;

/** Non-last literals leave at least an offset, a token and 5 last literals. */
const MIN_TAIL: u32 = 2 + 1 + LASTLITERALS;

// Tables live at the start of the heap: byU16 emulation (u32 stamped
// entries), then byU32 (plain u32 positions, cleared per call).
const TABLE16: usize = (__heap_base + 63) & ~63;
const TABLE16_BYTES: usize = (1 << HASH_LOG_16) * 4;
const TABLE32: usize = TABLE16 + TABLE16_BYTES;
const TABLE32_BYTES: usize = (1 << HASH_LOG_32) * 4;

let stamp: u32 = STAMP_STEP;

/** First byte the JavaScript side may use. */
export function heapBase(): usize {
  return TABLE32 + TABLE32_BYTES;
}

// ---------------------------------------------------------------- compress

// @ts-ignore: decorator
@inline function hash16(p: usize): u32 {
  return (load<u32>(p) * 2654435761) >> (32 - HASH_LOG_16);
}

// @ts-ignore: decorator
@inline function hash32(p: usize): u32 {
  return <u32>(((load<u64>(p) << 24) * 889523592379) >> (64 - HASH_LOG_32));
}

// @ts-ignore: decorator
@inline function hashAt(p: usize, small: bool): u32 {
  return small ? hash16(p) : hash32(p);
}

// @ts-ignore: decorator
@inline function getPos(h: u32, small: bool): u32 {
  if (small) {
    const e = load<u32>(TABLE16 + (<usize>h << 2));
    return e >= stamp ? e - stamp : 0;
  }
  return load<u32>(TABLE32 + (<usize>h << 2));
}

// @ts-ignore: decorator
@inline function putPos(h: u32, pos: u32, small: bool): void {
  if (small) store<u32>(TABLE16 + (<usize>h << 2), stamp + pos);
  else store<u32>(TABLE32 + (<usize>h << 2), pos);
}

/** LZ4_count: bytes equal at pIn and pMatch, pIn not passing pInLimit. */
// @ts-ignore: decorator
@inline function countMatch(pIn: usize, pMatch: usize, pInLimit: usize): u32 {
  const start = pIn;
  while (pIn + 8 <= pInLimit) {
    const diff = load<u64>(pMatch) ^ load<u64>(pIn);
    if (diff != 0) return <u32>(pIn - start) + <u32>(ctz(diff) >> 3);
    pIn += 8;
    pMatch += 8;
  }
  if (pIn + 4 <= pInLimit && load<u32>(pMatch) == load<u32>(pIn)) {
    pIn += 4;
    pMatch += 4;
  }
  if (pIn + 2 <= pInLimit && load<u16>(pMatch) == load<u16>(pIn)) {
    pIn += 2;
    pMatch += 2;
  }
  if (pIn < pInLimit && load<u8>(pMatch) == load<u8>(pIn)) pIn++;
  return <u32>(pIn - start);
}

/** Copies len bytes 8 at a time; may write up to 7 bytes past dst + len. */
// @ts-ignore: decorator
@inline function wildCopy(dst: usize, src: usize, len: usize): void {
  const end = dst + len;
  do {
    store<u64>(dst, load<u64>(src));
    dst += 8;
    src += 8;
  } while (dst < end);
}

// @ts-ignore: decorator
@inline function writeLastLiterals(op: usize, anchor: usize, iend: usize): usize {
  const lastRun = iend - anchor;
  if (lastRun >= RUN_MASK) {
    store<u8>(op++, <u8>(RUN_MASK << 4));
    let acc = lastRun - RUN_MASK;
    for (; acc >= 255; acc -= 255) store<u8>(op++, 255);
    store<u8>(op++, <u8>acc);
  } else {
    store<u8>(op++, <u8>(lastRun << 4));
  }
  memory.copy(op, anchor, lastRun);
  return op + lastRun;
}

// @ts-ignore: decorator
@inline function compressGeneric(src: usize, n: u32, dst: usize, small: bool): u32 {
  let ip = src;
  let anchor = src;
  const iend = src + n;
  const mflimit = iend - MFLIMIT;
  const matchlimit = iend - LASTLITERALS;
  let op = dst;

  if (n >= LZ4_MIN_LENGTH) {
    putPos(hashAt(ip, small), 0, small);
    ip++;
    let forwardH = hashAt(ip, small);

    while (true) {
      let match: usize = 0;
      let toEnd = false;
      // Find a match.
      let forwardIp = ip;
      let step: u32 = 1;
      let searchMatchNb: u32 = 1 << SKIP_TRIGGER;
      do {
        const h = forwardH;
        ip = forwardIp;
        forwardIp += step;
        step = searchMatchNb++ >> SKIP_TRIGGER;
        if (forwardIp > mflimit) {
          toEnd = true;
          break;
        }
        match = src + getPos(h, small);
        forwardH = hashAt(forwardIp, small);
        putPos(h, <u32>(ip - src), small);
      } while ((!small && match + MAX_DISTANCE < ip) || load<u32>(match) != load<u32>(ip));
      if (toEnd) break;

      // Catch up.
      while (ip > anchor && match > src && load<u8>(ip - 1) == load<u8>(match - 1)) {
        ip--;
        match--;
      }

      // Encode literals.
      const litLength = ip - anchor;
      let token = op++;
      if (litLength >= RUN_MASK) {
        store<u8>(token, <u8>(RUN_MASK << 4));
        let len = litLength - RUN_MASK;
        for (; len >= 255; len -= 255) store<u8>(op++, 255);
        store<u8>(op++, <u8>len);
      } else {
        store<u8>(token, <u8>(litLength << 4));
      }
      if (litLength > 0) wildCopy(op, anchor, litLength);
      op += litLength;

      // Matches, and the matches found right after them.
      while (true) {
        store<u16>(op, <u16>(ip - match));
        op += 2;
        let matchCode = countMatch(ip + MINMATCH, match + MINMATCH, matchlimit);
        ip += MINMATCH + matchCode;
        if (matchCode >= ML_MASK) {
          store<u8>(token, load<u8>(token) + <u8>ML_MASK);
          matchCode -= ML_MASK;
          store<u32>(op, 0xffffffff);
          while (matchCode >= 4 * 255) {
            op += 4;
            store<u32>(op, 0xffffffff);
            matchCode -= 4 * 255;
          }
          op += matchCode / 255;
          store<u8>(op++, <u8>(matchCode % 255));
        } else {
          store<u8>(token, load<u8>(token) + <u8>matchCode);
        }
        anchor = ip;
        if (ip > mflimit) {
          toEnd = true;
          break;
        }
        // Fill table, then test the next position.
        putPos(hashAt(ip - 2, small), <u32>(ip - 2 - src), small);
        const h = hashAt(ip, small);
        match = src + getPos(h, small);
        putPos(h, <u32>(ip - src), small);
        if (match + MAX_DISTANCE >= ip && load<u32>(match) == load<u32>(ip)) {
          token = op++;
          store<u8>(token, 0);
          continue;
        }
        break;
      }
      if (toEnd) break;
      ip++;
      forwardH = hashAt(ip, small);
    }
  }
  op = writeLastLiterals(op, anchor, iend);
  return <u32>(op - dst);
}

/**
 * Compresses n bytes at src into dst (room for compressBound(n) + 8 bytes)
 * and returns the block length, byte for byte what the kernel's
 * LZ4_compress_fast(acceleration 1) writes.
 */
export function compress(src: usize, n: u32, dst: usize): u32 {
  if (n < LZ4_64K_LIMIT) {
    if (stamp > 0xffffffff - 2 * STAMP_STEP) {
      memory.fill(TABLE16, 0, TABLE16_BYTES);
      stamp = STAMP_STEP;
    } else {
      stamp += STAMP_STEP;
    }
    return compressGeneric(src, n, dst, true);
  }
  memory.fill(TABLE32, 0, TABLE32_BYTES);
  return compressGeneric(src, n, dst, false);
}

/**
 * Compresses count pages of pageSize bytes at src, one after another, into
 * a packed output at dst: each page as its block when that is shorter than
 * the page, else the page itself. lengths (u32 each) receive the stored
 * lengths. dst needs count * pageSize + (compressBound(pageSize) - pageSize
 * + 8) bytes. Returns the bytes used.
 */
export function compressPacked(src: usize, count: u32, pageSize: u32, dst: usize, lengths: usize): u32 {
  let out = dst;
  for (let i: u32 = 0; i < count; i++) {
    const page = src + <usize>i * pageSize;
    let n = compress(page, pageSize, out);
    if (n >= pageSize) {
      memory.copy(out, page, pageSize);
      n = pageSize;
    }
    store<u32>(lengths + (<usize>i << 2), n);
    out += n;
  }
  return <u32>(out - dst);
}

/**
 * Compresses count pages at src into fixed slots of `stride` bytes at dst;
 * lengths receive each block's length (which may exceed the page).
 */
export function compressStrided(src: usize, count: u32, pageSize: u32, dst: usize, stride: u32, lengths: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    const n = compress(src + <usize>i * pageSize, pageSize, dst + <usize>i * stride);
    store<u32>(lengths + (<usize>i << 2), n);
  }
}

// ------------------------------------------------------------------ decode

/** Error kinds; the JavaScript side words them (src/codec/lz4-wasm.ts). */
const E_EMPTY_BLOCK: u32 = 1;
const E_NO_LAST_LITERALS: u32 = 2;
const E_LITERAL_LENGTH_PAST_BLOCK: u32 = 3;
const E_LITERALS_PAST_BLOCK: u32 = 4;
const E_LITERALS_PAST_PAGE: u32 = 5;
const E_WRONG_SIZE: u32 = 6;
const E_MATCH_IN_LAST_12: u32 = 7;
const E_SHORT_TAIL: u32 = 8;
const E_OFFSET_0: u32 = 9;
const E_OFFSET_BEFORE_PAGE: u32 = 10;
const E_MATCH_LENGTH_PAST_BLOCK: u32 = 11;
const E_MATCH_IN_LAST_5: u32 = 12;

/** Byte offset in the block where the error was found. */
export let errorOffset: u32 = 0;
/** The value found (a length, an offset or an output position, by kind). */
export let errorValue: u32 = 0;
/** For an offset before the page: the bytes decoded so far. */
export let errorDecoded: u32 = 0;

// @ts-ignore: decorator
@inline function fail(kind: u32, at: u32, value: u32): u32 {
  errorOffset = at;
  errorValue = value;
  return kind;
}

/**
 * Decodes the block of srcLength bytes at src into exactly dstLength bytes
 * at dst. Returns 0, or an error kind with errorOffset and errorValue set.
 * Reads up to 16 bytes past the block and writes up to 32 past the page.
 * dstLength > 0 and srcLength <= compressBound(dstLength): the caller checks.
 */
export function decode(src: usize, srcLength: u32, dst: usize, dstLength: u32): u32 {
  let ip = src;
  const iend = src + srcLength;
  let op = dst;
  const oend = dst + dstLength;
  const lastLiteralsFrom = oend - MFLIMIT;
  const matchEndLimit = oend - LASTLITERALS;

  while (true) {
    if (ip >= iend) return fail(ip == src ? E_EMPTY_BLOCK : E_NO_LAST_LITERALS, <u32>(ip - src), 0);
    const token = <u32>load<u8>(ip++);

    let literalLength = token >> 4;
    if (literalLength == RUN_MASK) {
      let b: u32;
      do {
        if (ip >= iend) return fail(E_LITERAL_LENGTH_PAST_BLOCK, <u32>(ip - src), 0);
        b = load<u8>(ip++);
        literalLength += b;
      } while (b == 255);
    }
    if (<usize>literalLength > iend - ip) return fail(E_LITERALS_PAST_BLOCK, <u32>(ip - src), literalLength);
    const literalEnd = op + literalLength;
    if (literalEnd > oend) return fail(E_LITERALS_PAST_PAGE, <u32>(ip - src), <u32>(literalEnd - dst));
    if (literalLength <= 16) {
      v128.store(op, v128.load(ip));
    } else {
      memory.copy(op, ip, literalLength);
    }
    ip += literalLength;
    op = literalEnd;

    if (ip == iend) {
      if (op != oend) return fail(E_WRONG_SIZE, <u32>(ip - src), <u32>(op - dst));
      return 0;
    }
    if (op > lastLiteralsFrom) return fail(E_MATCH_IN_LAST_12, <u32>(ip - src), <u32>(op - dst));
    if (iend - ip < MIN_TAIL) return fail(E_SHORT_TAIL, <u32>(ip - src), <u32>(iend - ip));

    const offset = <usize>load<u16>(ip);
    if (offset == 0) return fail(E_OFFSET_0, <u32>(ip - src), 0);
    if (offset > op - dst) {
      errorDecoded = <u32>(op - dst);
      return fail(E_OFFSET_BEFORE_PAGE, <u32>(ip - src), <u32>offset);
    }
    ip += 2;
    let matchLength = token & ML_MASK;
    if (matchLength == ML_MASK) {
      let b: u32;
      do {
        if (ip >= iend) return fail(E_MATCH_LENGTH_PAST_BLOCK, <u32>(ip - src), 0);
        b = load<u8>(ip++);
        matchLength += b;
      } while (b == 255);
    }
    const matchEnd = op + matchLength + MINMATCH;
    if (matchEnd > matchEndLimit) return fail(E_MATCH_IN_LAST_5, <u32>(ip - src), <u32>(matchEnd - dst));

    let ref = op - offset;
    if (offset >= 16) {
      do {
        v128.store(op, v128.load(ref));
        op += 16;
        ref += 16;
      } while (op < matchEnd);
    } else if (offset >= 8) {
      do {
        store<u64>(op, load<u64>(ref));
        op += 8;
        ref += 8;
      } while (op < matchEnd);
    } else {
      // A period shorter than 8: write 8 bytes one by one, then copy 8 at
      // a time from a whole number of periods back, at least 8 bytes.
      for (let i: usize = 0; i < 8; i++) store<u8>(op + i, load<u8>(ref + i));
      const back = offset * ((8 + offset - 1) / offset);
      op += 8;
      while (op < matchEnd) {
        store<u64>(op, load<u64>(op - back));
        op += 8;
      }
    }
    op = matchEnd;
  }
}

/** Index of the page decodePacked failed on. */
export let errorPage: u32 = 0;

/**
 * Decodes count stored pages lying back to back at src (as in a container's
 * page store: stored length == pageSize means raw, shorter means an LZ4
 * block; lengths are u32 at `lengths`) into count * pageSize bytes at dst.
 * Returns 0, or an error kind with errorPage, errorOffset and errorValue.
 * Pages are decoded in order, so the wide stores past one page land in the
 * next one before it is written; dst needs 32 bytes of room after the last.
 */
export function decodePacked(src: usize, lengths: usize, count: u32, pageSize: u32, dst: usize): u32 {
  let ip = src;
  const bound = pageSize + pageSize / 255 + 16;
  for (let i: u32 = 0; i < count; i++) {
    const length = load<u32>(lengths + (<usize>i << 2));
    const out = dst + <usize>i * pageSize;
    if (length == pageSize) {
      memory.copy(out, ip, pageSize);
    } else {
      let kind: u32 = 0;
      if (length > bound || length == 0) kind = fail(E_EMPTY_BLOCK, 0, length);
      else kind = decode(ip, length, out, pageSize);
      if (kind != 0) {
        errorPage = i;
        return kind;
      }
    }
    ip += length;
  }
  return 0;
}
