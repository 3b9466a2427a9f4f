/**
 * Append-only typed arrays that double when full: the tables pack builds
 * while pages stream past (page table, share map, string table).
 */

export class GrowableBytes {
  bytes: Uint8Array;
  view: DataView;
  length = 0;

  constructor(initial = 1 << 12) {
    this.bytes = new Uint8Array(initial);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes and returns the offset where they start. */
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = need;
    return at;
  }

  append(data: Uint8Array): number {
    const at = this.reserve(data.length);
    this.bytes.set(data, at);
    return at;
  }

  /** The bytes written so far (a view). */
  contents(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

export class GrowableU32 {
  data: Uint32Array;
  length = 0;

  constructor(initial = 1 << 12) {
    this.data = new Uint32Array(initial);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  contents(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}
