/**
 * torn-pack, racily clean files: Linux sets mtime/ctime when a write()
 * starts, so a write held in the middle of its copy changes the bytes
 * without moving the stamp. A real write is held with userfaultfd
 * (test/helpers/paused-write.py) and released between pack's two reads.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from '../src/container/index.js';
import { SETTLE_NS, granuleOf, settledAt } from '../src/container/racy-files.js';
import { stampOf, type FileStamp } from '../src/container/source-check.js';
import { PagestackError } from '../src/errors.js';
import { SAMPLES, removeTree, tempDir } from './container-helpers.js';

const HELPER = fileURLToPath(new URL('./helpers/paused-write.py', import.meta.url));

/** Why the userfaultfd helper cannot run here, or undefined when it can. */
function helperUnavailable(): string | undefined {
  try {
    execFileSync('python3', [HELPER, 'probe'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return `userfaultfd helper unavailable (${stderr || (err as Error).message}); needs python3 and userfaultfd (root or vm.unprivileged_userfaultfd=1)`;
  }
}
const unavailable = helperUnavailable();
if (unavailable) console.log(`skipping the held-write test: ${unavailable}`);

let work: string;
beforeAll(() => {
  work = tempDir('paused');
});
afterAll(() => removeTree(work));

function stamp(mtimeNs: bigint, ctimeNs = mtimeNs): FileStamp {
  return { dev: 1n, ino: 2n, size: 4096n, mtimeNs, ctimeNs };
}

describe('racy-files: when one read of a file is enough', () => {
  const read = 1_800_000_000_123_456_789n;

  it('trusts a file whose stamps are older than a granule plus the settle time', () => {
    const old = read - SETTLE_NS - granuleOf(stamp(read - SETTLE_NS - 20_000_000n)) - 1n;
    expect(settledAt(stamp(old), read)).toBeLessThanOrEqual(read);
  });

  it('reads again a file written just before, after the settle time from its stamp', () => {
    const s = stamp(read - 500_000_000n);
    expect(settledAt(s, read)).toBe(read - 500_000_000n + granuleOf(s) + SETTLE_NS);
    expect(settledAt(s, read)).toBeGreaterThan(read);
  });

  it('takes the newer of mtime and ctime (utimes puts mtime back, not ctime)', () => {
    const s = stamp(read - 100n * SETTLE_NS, read - 1_000n);
    expect(settledAt(s, read)).toBe(read - 1_000n + granuleOf(s) + SETTLE_NS);
  });

  it('counts a stamp in the future from the read, so the wait stays bounded', () => {
    const s = stamp(read + 3600n * 1_000_000_000n);
    expect(settledAt(s, read)).toBe(read + granuleOf(s) + SETTLE_NS);
  });

  it('allows 2 s of lag for stamps with no sub-second part (FAT), a clock tick otherwise', () => {
    expect(granuleOf(stamp(1_800_000_000n * 1_000_000_000n))).toBe(2_000_000_000n);
    expect(granuleOf(stamp(read))).toBeLessThanOrEqual(10_000_000n);
    expect(granuleOf(stamp(1_800_000_000n * 1_000_000_000n, read))).toBeLessThanOrEqual(10_000_000n);
  });
});

describe('racy-files: pack reads a file a second time only when it was written moments ago', () => {
  const SIZE = 4 << 20;

  it('a file whose write finished before pack is packed as written, in one piece', async () => {
    const f = path.join(work, 'fresh');
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x43));
    const out = path.join(work, 'fresh.pgs');
    const st = fs.statSync(f, { bigint: true });
    const settled = settledAt(stampOf(st), BigInt(Date.now()) * 1_000_000n);
    const secondReads: bigint[] = [];
    await pack([f], out, { threads: 0, beforeSecondRead: () => secondReads.push(BigInt(Date.now()) * 1_000_000n) });
    // Written a moment ago, so it was racily clean and read again, only once any write that set its stamp had settled.
    expect(secondReads.length).toBe(1);
    expect(secondReads[0]).toBeGreaterThanOrEqual(settled);
    const dest = path.join(work, 'fresh-out');
    await unpack(out, dest);
    expect(fs.readFileSync(path.join(dest, 'fresh')).equals(fs.readFileSync(f))).toBe(true);
  });

  it('an old file is read once', async () => {
    const f = path.join(SAMPLES, 'hello');
    // A fresh checkout may be younger than the settle time: wait until it is not (at most ~3 s).
    const young = (): boolean => {
      const st = fs.statSync(f, { bigint: true });
      const old = BigInt(Date.now()) * 1_000_000n - 3_000_000_000n;
      return st.mtimeNs > old || st.ctimeNs > old;
    };
    for (let i = 0; i < 40 && young(); i++) await new Promise((r) => setTimeout(r, 100));
    let secondReads = 0;
    await pack([f], path.join(work, 'old.pgs'), { threads: 0, beforeSecondRead: () => secondReads++ });
    expect(secondReads).toBe(0);
  });
});

/** Resolves once `file` exists; fails after `ms`. */
async function waitFor(file: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Blocks the thread (pack's hooks are synchronous) until `file` exists; fails after `ms`. */
function blockUntil(file: string, ms: number): void {
  const end = Date.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`${file} never appeared`);
    Atomics.wait(cell, 0, 0, 5);
  }
}

describe.skipIf(unavailable !== undefined)('torn-pack: a write held in the middle of its copy', () => {
  const SIZE = 4 << 20;

  it('is caught when it completes between the two reads, though no timestamp moves', async () => {
    const f = path.join(work, 'held');
    const markers = path.join(work, 'markers');
    fs.mkdirSync(markers);
    fs.writeFileSync(f, Buffer.alloc(SIZE, 0x41));
    const writer = spawn('python3', [HELPER, f, String(SIZE), markers], { stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      await waitFor(path.join(markers, 'paused'), 60_000);
      // The write is under way: timestamps already set, first half new, second half old.
      const during = fs.statSync(f, { bigint: true });
      const torn = fs.readFileSync(f);
      expect(torn.subarray(0, SIZE / 2).every((b) => b === 0x42)).toBe(true);
      expect(torn.subarray(SIZE / 2).every((b) => b === 0x41)).toBe(true);

      let after: fs.BigIntStats | undefined;
      const out = path.join(work, 'held.pgs');
      const err = await pack([f], out, {
        threads: 0,
        beforeSecondRead: (source) => {
          if (source !== f || after) return;
          fs.writeFileSync(path.join(markers, 'go'), '');
          blockUntil(path.join(markers, 'done'), 60_000);
          after = fs.statSync(f, { bigint: true });
        },
      }).catch((e: unknown) => e);

      // The premise: the write completed between pack's reads and moved no timestamp.
      expect(fs.readFileSync(path.join(markers, 'done'), 'utf8')).toBe(String(SIZE));
      expect(after).toBeDefined();
      expect([after!.mtimeNs, after!.ctimeNs, after!.size]).toEqual([during.mtimeNs, during.ctimeNs, during.size]);
      expect(fs.readFileSync(f).every((b) => b === 0x42)).toBe(true);

      expect(err).toBeInstanceOf(PagestackError);
      const e = err as PagestackError;
      expect(e.code).toBe('E_CHANGED');
      expect(e.message).toBe(
        `${f}: changed while it was being packed (page ${SIZE / 2 / 4096} differs when read again after any write settled); pack again when it is not being written`,
      );
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
