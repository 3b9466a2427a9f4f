/**
 * The container file while it is being written: a temporary file in the
 * target directory, filled front to back through a 1 MiB buffer (a run of
 * DIRECT_BYTES or more goes to the file as it is, without the copy),
 * renamed over the target only when complete. On failure or interruption the
 * temporary file is removed and an existing target is left untouched, so a
 * truncated container never appears under the output name.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InputError, fsError } from '../errors.js';

const BUFFER_BYTES = 1 << 20;
/** Writes this long skip the buffer: a copy costs more than the few extra write calls. */
const DIRECT_BYTES = 64 << 10;

export class OutputFile {
  readonly finalPath: string;
  readonly tempPath: string;
  /** Bytes written so far (the offset of the next write). */
  position = 0;
  private fd: number;
  private readonly buffer = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  private readonly maxSize: number;
  private closed = false;

  private constructor(finalPath: string, tempPath: string, fd: number, maxSize: number) {
    this.finalPath = finalPath;
    this.tempPath = tempPath;
    this.fd = fd;
    this.maxSize = maxSize;
  }

  /**
   * Creates `.pagestack-PID-RANDOM.tmp` next to `finalPath` (exclusively, so nothing is overwritten).
   * The temporary name does not grow with the final one, so a final name of up to NAME_MAX bytes works.
   */
  static create(finalPath: string, maxSize = Number.MAX_SAFE_INTEGER): OutputFile {
    const dir = path.dirname(path.resolve(finalPath));
    const tempPath = path.join(dir, `.pagestack-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = fs.openSync(tempPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o666);
    } catch (err) {
      throw fsError(err, finalPath);
    }
    return new OutputFile(finalPath, tempPath, fd, maxSize);
  }

  write(bytes: Uint8Array): void {
    const end = this.position + bytes.length;
    if (end > this.maxSize) {
      throw new InputError(
        'E_TOO_LARGE',
        `${this.finalPath}: container would exceed --max-size ${this.maxSize} bytes`,
        {
          file: this.finalPath,
          expected: `<= ${this.maxSize}`,
          actual: end,
        },
      );
    }
    if (bytes.length >= DIRECT_BYTES) {
      this.flush();
      this.writeFully(bytes, this.position);
    } else {
      if (this.used + bytes.length > BUFFER_BYTES) this.flush();
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.position = end;
  }

  /** Writes zero bytes up to `offset`. */
  padTo(offset: number): void {
    while (this.position < offset) this.write(zeros.subarray(0, Math.min(zeros.length, offset - this.position)));
  }

  /** Writes `bytes` at an earlier offset (the header, written last). */
  writeAt(bytes: Uint8Array, offset: number): void {
    this.flush();
    this.writeFully(bytes, offset);
  }

  flush(): void {
    if (this.used === 0) return;
    this.writeFully(this.buffer.subarray(0, this.used), this.position - this.used);
    this.used = 0;
  }

  /** Flushes, closes and renames the temporary file to the final name. */
  commit(): void {
    this.flush();
    this.close();
    try {
      fs.renameSync(this.tempPath, this.finalPath);
    } catch (err) {
      this.removeTemp();
      throw fsError(err, this.finalPath);
    }
  }

  /** Closes and removes the temporary file; never throws. */
  abandon(): void {
    try {
      this.close();
    } catch {
      // already failing: the first error is the one to report
    }
    this.removeTemp();
  }

  private removeTemp(): void {
    try {
      fs.unlinkSync(this.tempPath);
    } catch {
      // gone already
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch (err) {
      throw fsError(err, this.tempPath);
    }
  }

  private writeFully(bytes: Uint8Array, offset: number): void {
    let done = 0;
    try {
      while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
    } catch (err) {
      throw fsError(err, this.tempPath);
    }
  }
}

const zeros = new Uint8Array(1 << 16);
