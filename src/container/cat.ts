/**
 * cat: one member's contents to a stream (stdout in the CLI). Each page is
 * checked before it is written; on damage the error is thrown after the
 * bytes before it, which were checked, have been written.
 */
import { InputError } from '../errors.js';
import { openContainer } from './reader.js';

const CHUNK_BYTES = 1 << 20;

/** Writes member `member` of container `input` to `out`; returns the number of bytes written. */
export async function catMember(input: string, member: string, out: NodeJS.WritableStream): Promise<number> {
  const c = await openContainer(input);
  try {
    const index = c.findFile(member);
    if (index === undefined)
      throw new InputError('E_NO_MEMBER', `${input}: no member ${JSON.stringify(member)}`, {
        file: input,
        actual: member,
      });
    const f = c.files[index]!;
    if (f.kind === 'directory')
      throw new InputError('E_NOT_REGULAR', `${input}: ${f.path} is a directory`, { file: input });
    if (f.kind === 'symlink')
      throw new InputError('E_NOT_REGULAR', `${input}: ${f.path} is a symbolic link to ${f.linkTarget}`, {
        file: input,
      });
    const pagesPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / c.pageSize));
    let written = 0;
    for (let p = 0; p < f.pageCount; p += pagesPerChunk) {
      const n = Math.min(pagesPerChunk, f.pageCount - p);
      const chunk = new Uint8Array(n * c.pageSize);
      c.readPages(index, p, n, chunk);
      const bytes = chunk.subarray(0, Math.min(chunk.length, f.size - written));
      written += bytes.length;
      if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', resolve));
    }
    return written;
  } finally {
    c.close();
  }
}
