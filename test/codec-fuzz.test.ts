/**
 * Fuzzing the decoders with random, synthetic and corrupted blocks. For every
 * (block, page size) the safe decoder must either fill the page exactly or
 * throw ContainerError 'E_LZ4' (never another error, never a hang: each test
 * has a timeout). The walker (checkLz4Block) and the lz4js codec must agree
 * with it, and so must liblz4's LZ4_decompress_safe with the exact page size
 * as capacity, except on offset 0, which liblz4 1.9 accepts and the block
 * format specification calls corrupt.
 */
import { describe, expect, it } from 'vitest';
import { ContainerError } from '../src/errors.js';
import { checkLz4Block, compressBound, decodeLz4Block, getCodec, Lz4Wasm } from '../src/codec/index.js';
import { hasLiblz4, liblz4DecodeExact, realPageSets, syntheticPages } from './codec-helpers.js';
import { mulberry32 } from '../src/util/prng.js';

interface Case {
  block: Uint8Array;
  size: number;
}

type Outcome = { ok: true; page: Uint8Array } | { ok: false; message: string };

function decodeOutcome(block: Uint8Array, size: number): Outcome {
  const page = new Uint8Array(size);
  try {
    decodeLz4Block(block, page);
    return { ok: true, page };
  } catch (err) {
    if (!(err instanceof ContainerError) || err.code !== 'E_LZ4') throw err;
    return { ok: false, message: err.message };
  }
}

const rand = mulberry32(20240601);
const below = (n: number) => rand() % n;

/** Random bytes of random length, decoded to a few page sizes. */
function randomCases(count: number): Case[] {
  const sizes = [0, 1, 12, 13, 20, 64, 300, 4096];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const block = new Uint8Array(below(i % 10 === 0 ? 5000 : 64));
    for (let j = 0; j < block.length; j++) block[j] = rand() & 0xff;
    cases.push({ block, size: sizes[below(sizes.length)]! });
  }
  return cases;
}

/**
 * Blocks built sequence by sequence with plausible fields, some of them a
 * little out of range, so that many decode and the checks meet their edges.
 */
function synthesizedCases(count: number): Case[] {
  const cases: Case[] = [];
  const writeLength = (out: number[], n: number) => {
    for (; n >= 255; n -= 255) out.push(255);
    out.push(n);
  };
  for (let i = 0; i < count; i++) {
    const out: number[] = [];
    let produced = 0;
    const sequences = below(6);
    for (let s = 0; s < sequences; s++) {
      const literals = below(4) === 0 ? below(300) : below(16);
      const match = below(4) === 0 ? below(300) : below(16);
      const tokenPos = out.length;
      out.push((Math.min(literals, 15) << 4) | Math.min(match, 15));
      if (literals >= 15) writeLength(out, literals - 15);
      for (let k = 0; k < literals; k++) out.push(rand() & 0xff);
      produced += literals;
      const offset = below(8) === 0 ? below(produced + 3) : 1 + below(Math.max(produced, 1));
      out.push(offset & 0xff, offset >>> 8);
      if (match >= 15) writeLength(out, match - 15);
      produced += match + 4;
      if (below(50) === 0) out[tokenPos] = rand() & 0xff;
    }
    const last = 5 + below(20);
    out.push(Math.min(last, 15) << 4);
    if (last >= 15) writeLength(out, last - 15);
    for (let k = 0; k < last; k++) out.push(rand() & 0xff);
    produced += last;
    const size = produced + [0, 0, 0, -1, 1, -5][below(6)]!;
    cases.push({ block: Uint8Array.from(out), size: Math.max(size, 0) });
  }
  return cases;
}

/** Valid blocks of real and synthetic pages, damaged in one of several ways. */
function corruptedCases(perPage: number): Case[] {
  const pages = [
    ...syntheticPages()
      .map((s) => s.page)
      .filter((p) => p.length <= 65536),
    ...realPageSets(4096, 0.1).flatMap((s) => s.pages),
  ];
  const encoder = new Lz4Wasm();
  const dst = new Uint8Array(compressBound(65536));
  const cases: Case[] = [];
  for (const page of pages) {
    const good = dst.slice(0, encoder.compress(page, dst));
    cases.push({ block: good, size: page.length });
    for (let k = 0; k < perPage; k++) {
      let block = good.slice();
      switch (below(6)) {
        case 0: // flip bits in one byte
          if (block.length > 0) block[below(block.length)]! ^= 1 << below(8);
          break;
        case 1: // overwrite a few bytes with extremes
          for (let j = 0; j < 1 + below(3) && block.length > 0; j++)
            block[below(block.length)] = [0, 0xff, 0x0f, 0xf0][below(4)]!;
          break;
        case 2: // truncate
          block = block.subarray(0, below(block.length + 1));
          break;
        case 3: // append
          block = Uint8Array.from([...block, ...Array.from({ length: 1 + below(8) }, () => rand() & 0xff)]);
          break;
        case 4: // delete a byte
          if (block.length > 0) {
            const at = below(block.length);
            block = Uint8Array.from([...block.subarray(0, at), ...block.subarray(at + 1)]);
          }
          break;
        default: // duplicate a slice in place
          if (block.length > 2) {
            const a = below(block.length - 1);
            const b = a + 1 + below(Math.min(16, block.length - a - 1));
            block = Uint8Array.from([...block.subarray(0, b), ...block.subarray(a, b), ...block.subarray(b)]);
          }
      }
      cases.push({ block, size: page.length });
    }
  }
  return cases;
}

function checkAll(cases: readonly Case[]): { accepted: number; outcomes: Outcome[] } {
  const lz4js = getCodec('lz4js');
  let accepted = 0;
  const outcomes: Outcome[] = [];
  for (const { block, size } of cases) {
    const outcome = decodeOutcome(block, size);
    outcomes.push(outcome);
    // The walker agrees, message for message.
    let walked: string | undefined;
    try {
      checkLz4Block(block, size);
    } catch (err) {
      expect(err).toBeInstanceOf(ContainerError);
      walked = (err as ContainerError).message;
    }
    expect(walked).toBe(outcome.ok ? undefined : outcome.message);
    // The lz4js codec (walk, then lz4js) agrees, byte for byte.
    const viaLz4js = new Uint8Array(size);
    if (outcome.ok) {
      accepted++;
      lz4js.decompress(block, viaLz4js);
      expect(Buffer.from(viaLz4js).equals(Buffer.from(outcome.page))).toBe(true);
    } else {
      expect(() => lz4js.decompress(block, viaLz4js)).toThrow(ContainerError);
    }
  }
  return { accepted, outcomes };
}

function agreeWithLiblz4(cases: readonly Case[], outcomes: readonly Outcome[]): void {
  const native = liblz4DecodeExact(cases);
  let offsetZero = 0;
  cases.forEach(({ size }, i) => {
    const ours = outcomes[i]!;
    const theirs = native[i]!;
    const nativeExact = size === 0 ? theirs === 0 : typeof theirs !== 'number' && theirs.length === size;
    if (ours.ok) {
      expect(
        nativeExact,
        `case ${i} (${Buffer.from(cases[i]!.block).toString('hex')} to ${size} bytes): we decode it, liblz4 returns ${typeof theirs === 'number' ? theirs : theirs.length}`,
      ).toBe(true);
      if (size > 0) expect(Buffer.from(theirs as Uint8Array).equals(Buffer.from(ours.page)), `case ${i}`).toBe(true);
    } else if (nativeExact) {
      expect(ours.message, `case ${i}: liblz4 decodes it, we say: ${ours.message}`).toMatch(/match offset 0/);
      offsetZero++;
    }
  });
  if (offsetZero > 0)
    console.info(`codec-fuzz: ${offsetZero} blocks with offset 0 accepted by liblz4 1.9 and refused by us`);
}

describe('decoder fuzz', () => {
  const random = randomCases(4000);
  const synthesized = synthesizedCases(6000);
  const corrupted = corruptedCases(8);

  it('random bytes: decode exactly or throw E_LZ4', { timeout: 60_000 }, () => {
    const { accepted } = checkAll(random);
    console.info(`codec-fuzz: random: ${accepted} of ${random.length} decode`);
  });

  it('synthesized sequences: decode exactly or throw E_LZ4, many of them decoding', { timeout: 60_000 }, () => {
    const { accepted } = checkAll(synthesized);
    console.info(`codec-fuzz: synthesized: ${accepted} of ${synthesized.length} decode`);
    expect(accepted).toBeGreaterThan(synthesized.length / 10);
  });

  it('corrupted real and edge-case blocks: decode exactly or throw E_LZ4', { timeout: 60_000 }, () => {
    const { accepted } = checkAll(corrupted);
    console.info(`codec-fuzz: corrupted: ${accepted} of ${corrupted.length} decode`);
    expect(accepted).toBeGreaterThan(0);
  });

  it.skipIf(!hasLiblz4)(
    'agree with LZ4_decompress_safe at the exact page size, case by case',
    { timeout: 90_000 },
    () => {
      for (const cases of [random, synthesized, corrupted]) {
        const outcomes = cases.map(({ block, size }) => decodeOutcome(block, size));
        agreeWithLiblz4(cases, outcomes);
      }
    },
  );
});

if (!hasLiblz4)
  console.warn('codec-fuzz: python3 with liblz4.so.1 is not available; the liblz4 differential is skipped');
