/**
 * torn-pack: a file rewritten while pack reads it is never stored torn. The
 * deterministic cases change the file from pack's test hook between two
 * reads; the concurrent case runs a real writer next to pack and accepts
 * only a consistent copy or the E_CHANGED error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from '../src/container/index.js';
import { PagestackError } from '../src/errors.js';
import { removeTree, tempDir } from './container-helpers.js';

let work: string;
beforeAll(() => {
  work = tempDir('torn');
});
afterAll(() => removeTree(work));

const SIZE = 3 << 20; // three 1 MiB reads

async function packError(
  input: string,
  out: string,
  hook: (source: string, position: number) => void,
): Promise<PagestackError> {
  let fired = false;
  const err = await pack([input], out, {
    threads: 0,
    afterSourceRead: (source, position) => {
      if (!fired && source === input && position < SIZE) {
        fired = true;
        hook(source, position);
      }
    },
  }).catch((e: unknown) => e);
  expect(fired).toBe(true);
  expect(err).toBeInstanceOf(PagestackError);
  return err as PagestackError;
}

describe('torn-pack: a file that changes while pack reads it', () => {
  it('fails naming the file when it is rewritten in place (same size)', async () => {
    const f = path.join(work, 'same-size');
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x41));
    const out = path.join(work, 'a.pgs');
    const err = await packError(f, out, () => fs.writeFileSync(f, Buffer.alloc(SIZE, 0x42)));
    expect(err.code).toBe('E_CHANGED');
    expect(err.message).toMatch(new RegExp(`^${f}: changed while it was being packed`));
    expect(err.message).not.toMatch(/\n/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('fails when the mtime is put back after the write (ctime still moves)', async () => {
    const f = path.join(work, 'mtime-restored');
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x41));
    const before = fs.statSync(f);
    const out = path.join(work, 'b.pgs');
    const err = await packError(f, out, () => {
      const fd = fs.openSync(f, 'r+');
      fs.writeSync(fd, Buffer.alloc(4096, 0x43), 0, 4096, 0);
      fs.closeSync(fd);
      fs.utimesSync(f, before.atime, before.mtime);
    });
    expect(err.code).toBe('E_CHANGED');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('fails when the file grows past the size the walk saw', async () => {
    const f = path.join(work, 'grows');
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x41));
    const err = await packError(f, path.join(work, 'c.pgs'), () => fs.appendFileSync(f, 'more'));
    expect(err.code).toBe('E_CHANGED');
  });

  it('fails when the file is replaced by another inode', async () => {
    const f = path.join(work, 'replaced');
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x41));
    const err = await packError(f, path.join(work, 'd.pgs'), () => {
      fs.writeFileSync(`${f}.new`, Buffer.alloc(SIZE, 0x41));
      fs.renameSync(`${f}.new`, f);
    });
    expect(err.code).toBe('E_CHANGED');
  });

  it('with a real concurrent writer: every pack is a consistent copy or E_CHANGED, never torn', async () => {
    const f = path.join(work, 'live');
    const size = 4 << 20;
    fs.writeFileSync(f, Buffer.alloc(size, 0x41));
    // Rewrites the whole file in place with one pwrite each time, alternating all-'A' and all-'B', without pause:
    // between two writes the file is uniform, so a copy that is not uniform was read while a write ran (torn).
    // At nice 19 the writer is often descheduled in the middle of a pwrite, after it set the timestamps.
    const writer = spawn(
      'python3',
      [
        '-c',
        `import os\nos.nice(19)\nfd=os.open(${JSON.stringify(f)},os.O_WRONLY)\nb=[b"A"*${size},b"B"*${size}]\ni=0\nwhile True:\n  os.pwrite(fd,b[i&1],0)\n  i+=1\n`,
      ],
      { stdio: 'ignore' },
    );
    try {
      // Until the writer has written once (python starts slowly on a loaded machine).
      let wrote = false;
      for (let i = 0; i < 3000 && !wrote; i++) {
        await new Promise((r) => setTimeout(r, 10));
        wrote = fs.readFileSync(f)[0] === 0x42;
      }
      expect(wrote, 'the writer never wrote').toBe(true);
      let refused = 0;
      let consistent = 0;
      for (let run = 0; run < 6; run++) {
        const out = path.join(work, `live-${run}.pgs`);
        const dest = path.join(work, `live-${run}`);
        try {
          await pack([f], out, { threads: 0 });
        } catch (e) {
          expect((e as PagestackError).code).toBe('E_CHANGED');
          expect(fs.existsSync(out)).toBe(false);
          refused++;
          continue;
        }
        await unpack(out, dest);
        const got = fs.readFileSync(path.join(dest, 'live'));
        expect(got.length).toBe(size);
        const first = got[0]!;
        expect(
          got.every((b) => b === first),
          `pack ${run} stored a torn copy`,
        ).toBe(true);
        consistent++;
      }
      expect(refused + consistent).toBe(6);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
