/**
 * Special files where a container, a scenario or a program is expected:
 * every reading command refuses them by type, in one line, without blocking
 * (fifo-hang), without reading a device without end (dev-zero), and
 * without binding to a socket (socket-input). Scenario files are size
 * checked before they are read (scenario-too-big). Pseudo-files are packed
 * with their content, or refused when it changes between reads
 * (pseudo-file-empty).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catMember, pack } from '../src/container/index.js';
import { PagestackError } from '../src/errors.js';
import { removeTree, tempDir } from './container-helpers.js';
import { runCli } from './sim-helpers.js';

let work: string;
let fifo: string;
let sock: string;
let server: net.Server | undefined;
const unblockers: ChildProcess[] = [];

beforeAll(async () => {
  work = tempDir('special');
  fifo = path.join(work, 'fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  sock = path.join(work, 'sock');
  server = net.createServer();
  await new Promise<void>((resolve) => server!.listen(sock, resolve));
});
afterEach(() => {
  for (const c of unblockers.splice(0)) c.kill('SIGKILL');
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  removeTree(work);
});

/** Every reading command, with `file` where it expects its input. */
function commands(file: string): string[][] {
  return [
    ['ls', file],
    ['verify', file],
    ['cat', file, 'x'],
    ['unpack', file, '-C', 'OUTDIR'],
    ['load', file],
    ['maps', file],
    ['run', file],
    ['report', file, '-o', 'REPORT'],
    ['scan', file],
  ];
}

/** The placeholders of commands() filled in (work exists only once the tests run). */
function fill(args: string[], file: string): string[] {
  return args.map((a) =>
    a === 'FILE' ? file : a === 'OUTDIR' ? path.join(work, 'out') : a === 'REPORT' ? path.join(work, 'r.html') : a,
  );
}

function expectOneLineRefusal(r: { status: number; stdout: string; stderr: string }, what: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('fifo-hang: a FIFO never blocks a reading command', () => {
  for (const args of commands('FILE')) {
    it(`${args[0]} refuses a FIFO by name`, async () => {
      // Should the open block, a writer that opens the FIFO after a while lets it return (then the assertion fails, not the run).
      unblockers.push(spawn('sh', ['-c', `sleep 5; exec 3>'${fifo}'`], { stdio: 'ignore', timeout: 30_000 }));
      const r = await runCli(...fill(args, fifo));
      expectOneLineRefusal(r, /is a FIFO|not a regular file \(FIFO\)/);
    });
  }
});

describe('dev-zero: a character device is refused before it is read', () => {
  for (const args of commands('FILE')) {
    it(`${args[0]} refuses /dev/zero by name`, async () => {
      expectOneLineRefusal(
        await runCli(...fill(args, '/dev/zero')),
        /\/dev\/zero: (is a character device|not a regular file \(character device\))/,
      );
    });
  }
});

describe('socket-input: a socket is named as one', () => {
  for (const args of commands('FILE')) {
    it(`${args[0]} refuses a socket by name`, async () => {
      expectOneLineRefusal(await runCli(...fill(args, sock)), /is a socket|not a regular file \(socket\)/);
    });
  }
});

describe('scenario-too-big: a scenario larger than the limit is refused before it is read', () => {
  it('refuses a 17 MiB (sparse) scenario by its size', async () => {
    const big = path.join(work, 'big.json');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 17 << 20);
    const r = await runCli('run', big);
    expectOneLineRefusal(r, /17825792 bytes is larger than a scenario may be/);
  });
});

describe('pseudo-file-empty: pseudo-files are stored with their content', () => {
  it('packs /proc/version with the bytes it reads as', async () => {
    const out = path.join(work, 'version.pgs');
    await pack(['/proc/version'], out, { threads: 0 });
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    await catMember(out, 'version', sink);
    const stored = Buffer.concat(chunks);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored).toEqual(fs.readFileSync('/proc/version'));
  });

  it('refuses a pseudo-file whose content changes between reads, saying so', async () => {
    // /proc/self/io counts the bytes this process has read: every read of it changes it.
    const out = path.join(work, 'io.pgs');
    const err = await pack(['/proc/self/io'], out, { threads: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PagestackError);
    expect((err as PagestackError).code).toBe('E_PSEUDO_FILE');
    expect((err as PagestackError).message).toMatch(
      /^\/proc\/self\/io: is a procfs pseudo-file whose content changes from one read to the next/,
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  const sysfile = '/sys/kernel/mm/transparent_hugepage/enabled';
  const noSys = !fs.existsSync(sysfile);
  if (noSys) console.log(`pseudo-file-empty: ${sysfile} is missing here, the sysfs case is skipped`);
  it.skipIf(noSys)('packs a sysfs attribute (st_size 4096) with its real, shorter content', async () => {
    const out = path.join(work, 'sys.pgs');
    const summary = await pack([sysfile], out, { threads: 0 });
    expect(summary.inputBytes).toBe(fs.readFileSync(sysfile).length);
  });
});
