/**
 * Reversible branch converters for pages of machine code, applied before a
 * page is compressed and undone after it is decoded (docs/FORMAT.md,
 * "zstd pages"). A call or jump stores its target relative to itself, so
 * calls to one function from different places differ in every byte; turned
 * into the absolute target (offset inside the page plus the displacement),
 * they repeat, and zstd finds the repeats. xz and squashfs apply the same
 * idea ("BCJ") to executables; here the position is the offset inside the
 * page, so a converted page depends on the page's bytes alone and every
 * page stays decodable on its own.
 *
 * - BRANCH_X86 (EM_386, EM_X86_64): the rel32 of E8 (CALL), E9 (JMP) and
 *   0F 80..8F (Jcc) whose top byte is 00 or FF (a displacement of less than
 *   16 MiB either way). The 25 low bits of the displacement (bit 24 its
 *   sign) become (displacement + offset of the next instruction) mod 2^25,
 *   and the top byte is bit 24 repeated, so it stays 00 or FF. The encoder
 *   walks the page from its last byte to its first and the decoder from the
 *   first to the last: each sees, at every position, the bytes the other
 *   saw there, so every decision is the same and the page comes back
 *   exactly, whatever its bytes (a position whose operand runs past the
 *   page is left alone).
 * - BRANCH_X86_64 (EM_X86_64): as BRANCH_X86, and also the disp32 of a
 *   RIP-relative memory operand (ModRM mod 00, r/m 101) right after one of
 *   the common one-byte opcodes in RIP_OPCODES (mov, lea, cmp, add, test,
 *   call/jmp through memory, ...): a REX prefix before the opcode does not
 *   matter, and the position is that of the disp32's end, which differs
 *   from the next instruction's by a constant per instruction form.
 * - BRANCH_ARM64 (EM_AARCH64, little-endian): every aligned word whose top
 *   six bits are 100101 (BL) gets imm26 = (imm26 + word offset / 4) mod 2^26.
 */

export const BRANCH_NONE = 0;
export const BRANCH_X86 = 1;
export const BRANCH_ARM64 = 2;
export const BRANCH_X86_64 = 3;
export type BranchFilter = typeof BRANCH_NONE | typeof BRANCH_X86 | typeof BRANCH_ARM64 | typeof BRANCH_X86_64;

/** Opcodes whose ModRM byte follows at once, for BRANCH_X86_64's RIP-relative rule (FORMAT.md lists them). */
export const RIP_OPCODES: readonly number[] = [
  0x01, 0x03, 0x09, 0x0b, 0x13, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x38, 0x39, 0x3a, 0x3b, 0x63, 0x80, 0x81, 0x83, 0x84,
  0x85, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0xc6, 0xc7, 0xf6, 0xf7, 0xff,
];
/** Per opcode byte: 1 E8/E9 (rel32 at +1), 2 0F (Jcc rel32 at +2 after 80..8F), 3 RIP_OPCODES (x86-64 only). */
const KIND_X86 = new Uint8Array(256);
KIND_X86[0xe8] = 1;
KIND_X86[0xe9] = 1;
KIND_X86[0x0f] = 2;
const KIND_X86_64 = KIND_X86.slice();
for (const op of RIP_OPCODES) KIND_X86_64[op] = 3;

/** The filter for code of ELF machine `machine` (e_machine) in byte order `littleEndian`. */
export function branchFilterFor(machine: number, littleEndian: boolean): BranchFilter {
  if (machine === 62) return BRANCH_X86_64; // EM_X86_64
  if (machine === 3) return BRANCH_X86; // EM_386: mod 00 r/m 101 is an absolute address there
  if (machine === 183 && littleEndian) return BRANCH_ARM64; // EM_AARCH64
  return BRANCH_NONE;
}

/** Converts page[0, length) in place (relative targets to absolute). */
export function encodeBranches(filter: BranchFilter, page: Uint8Array, length = page.length): void {
  if (filter === BRANCH_X86 || filter === BRANCH_X86_64) x86Convert(page, length, 1, filter === BRANCH_X86_64);
  else if (filter === BRANCH_ARM64) arm64Convert(page, length, 1);
}

/** Undoes encodeBranches on page[0, length), in place. */
export function decodeBranches(filter: BranchFilter, page: Uint8Array, length = page.length): void {
  if (filter === BRANCH_X86 || filter === BRANCH_X86_64) x86Convert(page, length, -1, filter === BRANCH_X86_64);
  else if (filter === BRANCH_ARM64) arm64Convert(page, length, -1);
}

/**
 * Converts the rel32 operands of page b[0, n): direction 1 encodes (last
 * position first), -1 decodes (first position first). At each position i:
 * E8/E9 put the operand at i + 1, 0F 80..8F at i + 2, and with
 * `ripRelative` an opcode of RIP_OPCODES followed by a ModRM byte with mod
 * 00 and r/m 101 at i + 2; it is converted when it lies inside the page
 * and its top byte is 00 or FF.
 */
function x86Convert(b: Uint8Array, n: number, direction: 1 | -1, ripRelative: boolean): void {
  const kind = ripRelative ? KIND_X86_64 : KIND_X86;
  const last = n - 5;
  if (direction === 1) {
    for (let i = last; i >= 0; i--) if (kind[b[i]!] !== 0) convertAt(b, i, n, kind[b[i]!]!, 1);
  } else {
    for (let i = 0; i <= last; i++) if (kind[b[i]!] !== 0) convertAt(b, i, n, kind[b[i]!]!, -1);
  }
}

/** One position of x86Convert, whose opcode byte has kind `k` (1 E8/E9, 2 0F, 3 a RIP_OPCODES byte). */
function convertAt(b: Uint8Array, i: number, n: number, k: number, direction: 1 | -1): void {
  let at = i + 1;
  if (k !== 1) {
    const modrm = b[i + 1]!;
    if (k === 2 ? (modrm & 0xf0) !== 0x80 : (modrm & 0xc7) !== 0x05) return;
    at = i + 2;
    if (at + 4 > n) return;
  }
  const top = b[at + 3]!;
  if (top !== 0 && top !== 0xff) return;
  // The 25 low bits, bit 24 the sign; the operand ends at at + 4.
  const value = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | ((top & 1) << 24);
  const v = (value + direction * (at + 4)) & 0x1ffffff;
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v & 0x1000000 ? 0xff : 0;
}

function arm64Convert(b: Uint8Array, n: number, sign: 1 | -1): void {
  for (let i = 0; i + 4 <= n; i += 4) {
    if ((b[i + 3]! & 0xfc) !== 0x94) continue;
    const word = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | ((b[i + 3]! & 3) << 24);
    const v = (word + sign * (i >>> 2)) & 0x3ffffff;
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    b[i + 2] = (v >>> 16) & 0xff;
    b[i + 3] = 0x94 | (v >>> 24);
  }
}
