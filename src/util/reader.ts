/**
 * The one bounds-checked reader for untrusted bytes (ELF files, containers).
 *
 * Every read checks `offset + size <= length` before touching the buffer and
 * throws the error that `fail` builds, naming the field and the offset. 64-bit
 * fields come back as bigint (exact); `u64Number` converts with an explicit
 * safe-integer check. Nothing here relies on a typed array returning
 * undefined past its end or on slice() clamping.
 */
import { InputError, type PagestackError, type ErrorData } from '../errors.js';

export type ErrorFactory = (message: string, data: ErrorData) => PagestackError;

const defaultFactory: ErrorFactory = (message, data) => new InputError('E_TRUNCATED', message, data);

export class ByteReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  littleEndian: boolean;
  readonly file: string;
  private readonly fail: ErrorFactory;

  constructor(bytes: Uint8Array, file: string, littleEndian = true, fail: ErrorFactory = defaultFactory) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
    this.littleEndian = littleEndian;
    this.file = file;
    this.fail = fail;
  }

  /** True when [offset, offset+size) lies inside the buffer (overflow-safe for numbers and bigints). */
  has(offset: number | bigint, size: number | bigint): boolean {
    if (typeof offset === 'number' && typeof size === 'number') {
      // Fast path: exact while both are safe integers (their sum stays below 2^54, compared exactly enough:
      // a sum above 2^53 is far beyond any buffer length).
      return (
        Number.isSafeInteger(offset) &&
        Number.isSafeInteger(size) &&
        offset >= 0 &&
        size >= 0 &&
        offset + size <= this.length
      );
    }
    const o = BigInt(offset);
    const s = BigInt(size);
    return o >= 0n && s >= 0n && o + s <= BigInt(this.length);
  }

  /** Throws unless [offset, offset+size) lies inside the buffer; returns offset as a number. */
  check(offset: number | bigint, size: number | bigint, field: string): number {
    if (!this.has(offset, size)) {
      throw this.fail(
        `${this.file}: ${field} at offset 0x${BigInt(offset).toString(16)} (${size} bytes) runs past the end of the file (${this.length} bytes)`,
        {
          file: this.file,
          field,
          offset: typeof offset === 'bigint' ? offset : offset,
          expected: `<= ${this.length}`,
          actual: BigInt(offset) + BigInt(size),
        },
      );
    }
    return Number(offset);
  }

  u8(offset: number, field: string): number {
    return this.view.getUint8(this.check(offset, 1, field));
  }

  u16(offset: number, field: string): number {
    return this.view.getUint16(this.check(offset, 2, field), this.littleEndian);
  }

  u32(offset: number, field: string): number {
    return this.view.getUint32(this.check(offset, 4, field), this.littleEndian);
  }

  i32(offset: number, field: string): number {
    return this.view.getInt32(this.check(offset, 4, field), this.littleEndian);
  }

  u64(offset: number, field: string): bigint {
    return this.view.getBigUint64(this.check(offset, 8, field), this.littleEndian);
  }

  /** A 64-bit field that must fit a safe integer (sizes, counts, offsets used for reading). */
  u64Number(offset: number, field: string): number {
    const v = this.u64(offset, field);
    return toSafeNumber(v, field, this.file, offset, this.fail);
  }

  /** A view (not a copy) of [offset, offset+size). */
  slice(offset: number | bigint, size: number | bigint, field: string): Uint8Array {
    const o = this.check(offset, size, field);
    return this.bytes.subarray(o, o + Number(size));
  }

  /** A NUL-terminated string starting at offset, at most maxLength bytes, within [offset, end). */
  cstring(offset: number, field: string, end = this.length, maxLength = 65536): string {
    const start = this.check(offset, 0, field);
    const limit = Math.min(end, this.length, start + maxLength);
    let i = start;
    while (i < limit && this.bytes[i] !== 0) i++;
    if (i >= limit) {
      throw this.fail(`${this.file}: ${field} at offset 0x${offset.toString(16)} is not NUL-terminated`, {
        file: this.file,
        field,
        offset,
      });
    }
    return latin1.decode(this.bytes.subarray(start, i));
  }
}

const latin1 = new TextDecoder('latin1');

export function toSafeNumber(
  v: bigint,
  field: string,
  file: string,
  offset: number,
  fail: ErrorFactory = defaultFactory,
): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fail(`${file}: ${field} at offset 0x${offset.toString(16)} is too large (0x${v.toString(16)})`, {
      file,
      field,
      offset,
      actual: v,
    });
  }
  return Number(v);
}
