/**
 * Names are bytes, temporary names are short, mtimes are kept as the
 * format says.
 * - bom-name: U+FEFF at the start of a name or a link target survives, and
 *   "x" next to "U+FEFF x" are two members.
 * - invalid-utf8-name: any byte but NUL and '/' in a name or link target
 *   round-trips byte for byte; ls escapes it, --json carries pathHex.
 * - long-name-temp: pack output names and member names of 255 bytes.
 * - mtime-extremes: pre-1970 mtimes with nanoseconds restore to the
 *   microsecond; mtimes outside [-2^33, 2^33) are refused at pack (tmpfs)
 *   and by ls, verify and unpack alike.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { list, pack, unpack } from '../src/container/index.js';
import type { PagestackError } from '../src/errors.js';
import { decodeName, encodeName } from '../src/container/name-bytes.js';
import { KIND, buildContainer, runPage } from './container-builder.js';
import { tempDir } from './container-helpers.js';
import { runCli } from './sim-helpers.js';

let work: string;
beforeAll(() => {
  work = tempDir('names');
});
// rm -rf: the tree holds names that are not UTF-8, which Node's string paths cannot name.
afterAll(() => {
  spawnSync('rm', ['-rf', '--', work]);
});

const b = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const BOM = [0xef, 0xbb, 0xbf];

/** Creates `names` (bytes) under a fresh directory with their own name as content; `links`: name -> target bytes. */
function tree(label: string, names: Buffer[], links: Array<[Buffer, Buffer]> = []): Buffer {
  const root = Buffer.from(path.join(work, label));
  fs.mkdirSync(root);
  for (const n of names) fs.writeFileSync(Buffer.concat([root, Buffer.from('/'), n]), n);
  for (const [n, t] of links) fs.symlinkSync(t, Buffer.concat([root, Buffer.from('/'), n]));
  return root;
}

/** name bytes -> content or link target, for every entry of directory `dir` (bytes). */
function readBack(dir: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const p = Buffer.concat([dir, Buffer.from('/'), n]);
    const st = fs.lstatSync(p);
    out.set(
      n.toString('hex'),
      st.isSymbolicLink()
        ? `link:${fs.readlinkSync(p, { encoding: 'buffer' }).toString('hex')}`
        : fs.readFileSync(p).toString('hex'),
    );
  }
  return out;
}

async function roundTrip(label: string, root: Buffer): Promise<{ container: string; restored: Buffer }> {
  const container = path.join(work, `${label}.pgs`);
  await pack([root.toString('utf8')], container, { threads: 0 }); // the root's own name is plain ASCII
  const dest = path.join(work, `${label}-out`);
  await unpack(container, dest, { threads: 0 });
  return { container, restored: Buffer.from(path.join(dest, label)) };
}

describe('name-bytes: decodeName and encodeName are inverse on any bytes', () => {
  it('round-trips every byte value and the awkward sequences', () => {
    const samples = [
      b(BOM, 'x'),
      b([0xff, 0xfe]),
      b([0xc0, 0x80]),
      b([0xed, 0xa0, 0x80]),
      b([0xf4, 0x90, 0x80, 0x80]),
      b('a', [0xe2, 0x82], 'b'),
      b('é', [0x80]),
    ];
    for (let i = 1; i < 256; i++) samples.push(Buffer.of(i, 0x41, i));
    for (const s of samples) expect(encodeName(decodeName(s)).equals(s), s.toString('hex')).toBe(true);
    expect(decodeName(b(BOM, 'x'))).toBe('\ufeffx');
  });
});

describe('bom-name: a leading U+FEFF is part of the name', () => {
  it('keeps "x" and "U+FEFF x" apart and a BOM link target whole', async () => {
    const root = tree('bom', [b('x'), b(BOM, 'x')], [[b('link'), b(BOM, 'target')]]);
    const { container, restored } = await roundTrip('bom', root);
    expect(readBack(restored)).toEqual(readBack(root));
    const listed = await list(container);
    expect(listed.files.map((f) => f.path).sort()).toEqual(['bom', 'bom/link', 'bom/x', 'bom/\ufeffx']);
    expect(listed.files.find((f) => f.path === 'bom/link')!.linkTarget).toBe('\ufefftarget');
    const v = await runCli('verify', container);
    expect(v.status).toBe(0);
  });
});

describe('invalid-utf8-name: names and link targets are bytes', () => {
  it('round-trips names with invalid UTF-8 and every byte but NUL and /', async () => {
    const every: Buffer[] = [];
    const bytes = [...Array(256).keys()].filter((x) => x !== 0 && x !== 0x2f && x !== 0x2e);
    for (let i = 0; i < bytes.length; i += 120) every.push(Buffer.from(bytes.slice(i, i + 120)));
    const names = [b([0xff, 0xfe], 'name'), b([0xc0, 0x80]), b([0xed, 0xa0, 0x80]), b('caf', [0xe9]), ...every];
    const root = tree('bytes', names, [[b('bl'), b([0x80, 0xff], '/', BOM, [0xfe])]]);
    const { container, restored } = await roundTrip('bytes', root);
    expect(readBack(restored)).toEqual(readBack(root));

    const text = await runCli('ls', container);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('bytes/\\xff\\xfename');
    expect(text.stdout).toContain('bytes/bl -> \\x80\\xff/\\ufeff\\xfe');
    // One line per entry whatever the name holds (newline bytes show as \x0a).
    expect(text.stdout.split('\n').filter((l) => l.includes('bytes/')).length).toBe(names.length + 1);

    const json = await runCli('ls', '--json', container);
    const doc = JSON.parse(json.stdout) as { files: Array<{ path: string; pathHex?: string; linkTargetHex?: string }> };
    const bad = doc.files.find((f) => f.pathHex === b('bytes/', [0xff, 0xfe], 'name').toString('hex'));
    expect(bad).toBeDefined();
    expect(encodeName(bad!.path).toString('hex')).toBe(bad!.pathHex);
    expect(doc.files.find((f) => f.path === 'bytes/bl')!.linkTargetHex).toBe(
      b([0x80, 0xff], '/', BOM, [0xfe]).toString('hex'),
    );
    expect(doc.files.find((f) => f.path === 'bytes/caf\u00e9')).toBeUndefined(); // é was Latin-1, not UTF-8

    // cat finds a member by the name ls shows.
    const cat = await runCli('cat', container, 'bytes/\\xff\\xfename');
    expect(cat.status).toBe(0);
    expect(Buffer.from(cat.stdout, 'latin1').length).toBeGreaterThan(0);
  });
});

describe('long-name-temp: temporary names fit NAME_MAX whatever the final name', () => {
  it('packs to an output name of 255 bytes and unpacks members of 232 to 255 bytes', async () => {
    const names = [232, 240, 254, 255].map((n) => Buffer.from('n'.repeat(n)));
    names.push(Buffer.from(b('é'.repeat(127), 'x'))); // 255 bytes in two-byte characters
    const root = tree('long', names);
    const out = path.join(work, 'o'.repeat(255));
    await pack([root.toString()], out, { threads: 0 });
    expect(fs.existsSync(out)).toBe(true);
    const dest = path.join(work, 'long-out');
    await unpack(out, dest, { threads: 0 });
    expect(readBack(Buffer.from(path.join(dest, 'long')))).toEqual(readBack(root));
    const r = await runCli('pack', root.toString(), '-o', path.join(work, 'p'.repeat(255)));
    expect(r.status).toBe(0);
    expect(fs.readdirSync(work).filter((n) => n.endsWith('.tmp') || n.includes('pagestack-tmp'))).toEqual([]);
  });
});

describe('mtime-extremes: mtimes as docs/FORMAT.md says', () => {
  it('restores pre-1970 mtimes with nanoseconds to the microsecond, and ls shows the stored nanoseconds', async () => {
    const root = tree('old', [b('a'), b('b'), b('c')]);
    const times: Array<[string, bigint]> = [
      ['a', -1_500_000_001n],
      ['b', -2_000_000_000n * 1_000_000_000n + 999_999_999n],
      ['c', 1n],
    ];
    // utimes takes microseconds at best; nanoseconds are set with touch (GNU coreutils).
    for (const [n, ns] of times) {
      const s = ns < 0n ? -((-ns + 999_999_999n) / 1_000_000_000n) : ns / 1_000_000_000n;
      const frac = ns - s * 1_000_000_000n;
      expect(
        spawnSync('touch', ['-h', '-d', `@${s}.${String(frac).padStart(9, '0')}`, path.join(root.toString(), n)])
          .status,
      ).toBe(0);
    }
    const actual = new Map(
      times.map(([n]) => [n, fs.lstatSync(path.join(root.toString(), n), { bigint: true }).mtimeNs]),
    );
    const { container, restored } = await roundTrip('old', root);
    const listed = await list(container);
    for (const [n] of times) {
      const ns = actual.get(n)!;
      const f = listed.files.find((x) => x.path === `old/${n}`)!;
      expect(BigInt(f.mtimeSeconds) * 1_000_000_000n + BigInt(f.mtimeNanoseconds), n).toBe(ns);
      const got = fs.lstatSync(path.join(restored.toString(), n), { bigint: true }).mtimeNs;
      const floorMicro = ns - (((ns % 1000n) + 1000n) % 1000n);
      expect(got, n).toBe(floorMicro);
    }
  });

  for (const [label, seconds] of [
    ['2^53', 2 ** 53],
    ['the minimum i64', -(2 ** 63)],
    ['2^33', 2 ** 33],
    ['-2^33 - 1', -(2 ** 33) - 1],
  ] as const) {
    it(`ls, verify and unpack all refuse a member with mtime ${label} s`, async () => {
      const file = path.join(work, `mtime-${seconds}.pgs`);
      fs.writeFileSync(
        file,
        await buildContainer({
          pages: [{ stored: runPage(0x41) }],
          shareMap: [1],
          files: [{ path: 'f', kind: KIND.regular, size: 4096, mtimeSeconds: seconds }],
        }),
      );
      for (const args of [
        ['ls', file],
        ['verify', file],
        ['unpack', file, '-C', path.join(work, `mtime-out-${seconds}`)],
      ]) {
        const r = await runCli(...args);
        expect(r.status, args[0]).toBe(1);
        expect(r.stderr, args[0]).toMatch(/mtime -?\d+ s is outside the range a container holds/);
      }
      expect(fs.existsSync(path.join(work, `mtime-out-${seconds}`, 'f'))).toBe(false);
    });
  }

  it('accepts the ends of the range: -2^33 and 2^33-1 s', async () => {
    for (const seconds of [-(2 ** 33), 2 ** 33 - 1]) {
      const file = path.join(work, `mtime-edge-${seconds}.pgs`);
      fs.writeFileSync(
        file,
        await buildContainer({
          pages: [{ stored: runPage(0x41) }],
          shareMap: [1],
          files: [{ path: 'f', kind: KIND.regular, size: 4096, mtimeSeconds: seconds, mtimeNanoseconds: 999_999_999 }],
        }),
      );
      const listed = await list(file);
      expect(listed.files[0]!.mtimeSeconds).toBe(seconds);
    }
  });

  const shm = '/dev/shm';
  const noTmpfs =
    !fs.existsSync(shm) ||
    (() => {
      try {
        fs.accessSync(shm, fs.constants.W_OK);
        return false;
      } catch {
        return true;
      }
    })();
  if (noTmpfs)
    console.log(
      'mtime-extremes: no writable /dev/shm (tmpfs holds any 64-bit mtime; ext4 clamps), the pack-time refusal is skipped',
    );
  it.skipIf(noTmpfs)('pack refuses a file whose mtime is outside the range, naming it (tmpfs)', async () => {
    const dir = fs.mkdtempSync(path.join(shm, 'pagestack-mtime-'));
    try {
      const f = path.join(dir, 'far');
      fs.writeFileSync(f, 'x');
      expect(spawnSync('touch', ['-d', `@${2 ** 40}`, f]).status).toBe(0);
      const st = fs.statSync(f, { bigint: true });
      if (st.mtimeNs / 1_000_000_000n !== BigInt(2 ** 40)) {
        console.log(`mtime-extremes: ${shm} clamped the mtime (${st.mtimeNs} ns), nothing to refuse`);
        return;
      }
      const err = await pack([dir], path.join(work, 'far.pgs'), { threads: 0 }).catch((e: unknown) => e);
      expect((err as PagestackError).code).toBe('E_MTIME');
      expect((err as PagestackError).message).toMatch(new RegExp(`^${f}: mtime \\d+ ns is outside the range`));
      expect(fs.existsSync(path.join(work, 'far.pgs'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
