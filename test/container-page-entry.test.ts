import { describe, expect, it } from 'vitest';
import { PAGE_ENTRY_SIZE, encodePageEntry, u64At } from '../src/container/format.js';

describe('page-table entry encoding', () => {
  it('writes the offset as a little-endian u64, also past 4 GiB, and both checksums after it', () => {
    for (const offset of [0, 1, 0xffffffff, 0x100000000, 0x123456789ab, Number.MAX_SAFE_INTEGER]) {
      const bytes = new Uint8Array(PAGE_ENTRY_SIZE);
      const view = new DataView(bytes.buffer);
      encodePageEntry(view, 0, offset, 0xdeadbeef, 0x01020304);
      // An independent reading: the bigint the format defines.
      expect(view.getBigUint64(0, true)).toBe(BigInt(offset));
      expect(u64At(view, 0)).toBe(offset);
      expect(view.getUint32(8, true)).toBe(0xdeadbeef);
      expect(view.getUint32(12, true)).toBe(0x01020304);
    }
  });
});
