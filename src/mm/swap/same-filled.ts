/**
 * Same-filled pages: a page that repeats one machine word (8 bytes on a
 * 64-bit kernel), not only zeros. zram's page_same_filled()
 * (drivers/block/zram/zram_drv.c) compares word 0 with the last word first,
 * then every word; the page is then stored as that one word and refilled
 * with memset_l on read. The swap layer's zero check (is_folio_zero_filled,
 * mm/page_io.c) is the same test against 0.
 *
 * The first-and-last-word test runs in JavaScript on bytes; the full scan,
 * reached only by pages that pass it, is a native memcmp (Buffer.compare):
 * against a zero page for isZero(), and of the page against itself shifted
 * by 8 bytes for check() (page[i] == page[i + 8] for all i is exactly "the
 * page repeats its first word"). The word is reported as two 32-bit halves
 * (lo = bytes 0..3, hi = bytes 4..7, little-endian), so no bigint is made.
 * Both tests report the bytes they scanned, which the cost model charges.
 */

const WORD = 8;
const zeroPages = new Map<number, Uint8Array>();

function zeroPage(size: number): Uint8Array {
  let z = zeroPages.get(size);
  if (!z) {
    z = new Uint8Array(size);
    zeroPages.set(size, z);
  }
  return z;
}

export class SameFilledScanner {
  /** After check(): the repeated word's low and high halves (valid when check returned true). */
  lo = 0;
  hi = 0;
  /** After check() or isZero(): bytes looked at before the answer was known. */
  scannedBytes = 0;

  /** True when `page` (length a multiple of 8, at least 16) repeats its first 8 bytes. Sets lo, hi, scannedBytes. */
  check(page: Uint8Array): boolean {
    const n = page.length;
    const last = n - WORD;
    for (let i = 0; i < WORD; i++) {
      if (page[i] !== page[last + i]) {
        this.scannedBytes = 2 * WORD;
        return false;
      }
    }
    this.scannedBytes = n;
    if (Buffer.compare(page.subarray(0, last), page.subarray(WORD)) !== 0) return false;
    this.lo = (page[0]! | (page[1]! << 8) | (page[2]! << 16) | (page[3]! << 24)) >>> 0;
    this.hi = (page[4]! | (page[5]! << 8) | (page[6]! << 16) | (page[7]! << 24)) >>> 0;
    return true;
  }

  /** True when every byte of `page` is 0. Sets scannedBytes. */
  isZero(page: Uint8Array): boolean {
    const n = page.length;
    const last = n - WORD;
    for (let i = 0; i < WORD; i++) {
      if (page[i] !== 0 || page[last + i] !== 0) {
        this.scannedBytes = 2 * WORD;
        return false;
      }
    }
    this.scannedBytes = n;
    return Buffer.compare(page, zeroPage(n)) === 0;
  }
}

/** Fills `into` with the 8-byte word (lo, hi), as zram_fill_page / memset_l does. */
export function fillPage(into: Uint8Array, lo: number, hi: number): void {
  if (lo === 0 && hi === 0) {
    into.fill(0);
    return;
  }
  for (let i = 0; i < 4; i++) {
    into[i] = (lo >>> (8 * i)) & 0xff;
    into[i + 4] = (hi >>> (8 * i)) & 0xff;
  }
  // Double the filled prefix until the page is full.
  for (let filled = WORD; filled < into.length; filled *= 2) {
    into.copyWithin(filled, 0, Math.min(filled, into.length - filled));
  }
}

/** True when two pages of equal length hold the same bytes (a native memcmp). */
export function equalPages(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
