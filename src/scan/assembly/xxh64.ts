// XXH64 (seed 0) of whole pages, for the page scanner: one call hashes a
// run of pages lying back to back in this module's memory and stores each
// 64-bit result as two u32 words (low word first), so the caller makes no
// BigInt and crosses into WebAssembly once per run instead of once per page.
// Same function as `xxhsum -H1` and xxhash-wasm's h64 (the XXH64 spec:
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
//
// Compiled with AssemblyScript by `npm run build` (package.json "build:wasm"); the
// module owns no data and allocates nothing: the caller lays out memory,
// which it imports (env.memory), so it can hash in place in another
// module's memory (the LZ4 codec's, for unpack).

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

// @ts-ignore: decorator
@inline
function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

// @ts-ignore: decorator
@inline
function mergeRound(acc: u64, val: u64): u64 {
  return (acc ^ round(0, val)) * P1 + P4;
}

/** XXH64 with seed 0 of `length` bytes at `ptr`. */
function xxh64(ptr: usize, length: usize): u64 {
  const end = ptr + length;
  let p = ptr;
  let h: u64;
  if (length >= 32) {
    let v1: u64 = P1 + P2;
    let v2: u64 = P2;
    let v3: u64 = 0;
    let v4: u64 = 0 - P1;
    const limit = end - 32;
    do {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h += <u64>length;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/**
 * Hashes `count` pages of `pageSize` bytes starting at `src`; the hash of
 * page i goes to out + 8i as two little-endian u32 words, low word first.
 */
export function hashPages(src: usize, pageSize: usize, count: u32, out: usize): void {
  for (let i: u32 = 0; i < count; i++) {
    store<u64>(out + (<usize>i << 3), xxh64(src + <usize>i * pageSize, pageSize));
  }
}

/** XXH64 of `length` bytes at `src`, stored at `out` like one hashPages result. */
export function hashBytes(src: usize, length: usize, out: usize): void {
  store<u64>(out, xxh64(src, length));
}

/** The low 32 bits of the XXH64 of `length` bytes at `src` (a container checksum, FORMAT.md), returned directly. */
export function low32(src: usize, length: usize): u32 {
  return <u32>xxh64(src, length);
}
