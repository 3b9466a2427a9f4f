/**
 * The one seeded pseudo-random generator: mulberry32 (Tommy Ettinger's
 * 32-bit generator), for whatever must come out the same from the same seed:
 * synthetic page contents, generated workloads, fuzz cases. Small and fast;
 * not for anything that needs unpredictability.
 */

/** A generator of 32-bit unsigned integers from `seed`. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A generator of numbers in [0, 1) from `seed` (the 32-bit outputs of mulberry32 / 2^32). */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
