/**
 * The LZ4 compressor against the running kernel's own: a zram device made
 * for the test (hot_add, comp_algorithm lz4, hot_remove afterwards) stores
 * real and synthetic pages written with O_DIRECT, one at a time, and the
 * step in mm_stat's compr_data_size after each write is the kernel's
 * compressed length of that page (lib/lz4 LZ4_compress_fast, acceleration
 * 1). Ours must equal it on every page the kernel stored compressed; a
 * page the kernel stored huge (4096) must be one ours compresses to at
 * least huge_class_size, and a page it stored as same-filled (0) must be
 * same-filled. The same pages through liblz4's LZ4_compress_default are
 * counted too, to show how the user-space library differs.
 *
 * Skipped, with the reason printed, unless: running as root, zram loaded
 * (/sys/class/zram-control), lz4 offered by zram, python3 installed, and
 * PAGESTACK_NO_KERNEL_TESTS unset.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compressBound, getCodec } from '../src/codec/index.js';
import { defaultPageCodec } from '../src/mm/swap/index.js';
import { hugeClassSize } from '../src/mm/swap/zsmalloc.js';
import { PAGE_SIZE, hasLiblz4, realPageSets, syntheticPages, xorshift } from './codec-helpers.js';
import { repeatsOneWord } from './swap-helpers.js';

function whyNot(): string | undefined {
  if (process.env.PAGESTACK_NO_KERNEL_TESTS) return 'PAGESTACK_NO_KERNEL_TESTS is set';
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync('/sys/class/zram-control/hot_add'))
    return 'zram is not loaded (no /sys/class/zram-control; modprobe zram)';
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 is missing';
  return undefined;
}

/**
 * Makes a zram device, writes every page of argv[1] to its own slot with
 * O_DIRECT, prints the compr_data_size step of each write (one per line),
 * and removes the device. Exit 3 with a reason when zram cannot do lz4.
 * With argv[2] == 'liblz4', a second block of lines gives liblz4's lengths.
 */
const KERNEL_LENGTHS = String.raw`
import os, sys, mmap, ctypes
PAGE = ${PAGE_SIZE}
data = open(sys.argv[1], 'rb').read()
n = len(data) // PAGE
dev = int(open('/sys/class/zram-control/hot_add').read())
base = '/sys/block/zram%d' % dev
steps = []
try:
    if 'lz4' not in open(base + '/comp_algorithm').read().replace('[', ' ').replace(']', ' ').split():
        print('zram does not offer lz4: ' + open(base + '/comp_algorithm').read().strip(), file=sys.stderr)
        sys.exit(3)
    open(base + '/comp_algorithm', 'w').write('lz4')
    open(base + '/disksize', 'w').write(str((n + 16) * PAGE))
    fd = os.open('/dev/zram%d' % dev, os.O_RDWR | os.O_DIRECT)
    buf = mmap.mmap(-1, PAGE)
    stat = lambda: int(open(base + '/mm_stat').read().split()[1])
    prev = stat()
    for i in range(n):
        buf.seek(0)
        buf.write(data[i * PAGE:(i + 1) * PAGE])
        os.pwrite(fd, buf, i * PAGE)
        cur = stat()
        steps.append(cur - prev)
        prev = cur
    os.close(fd)
finally:
    try:
        open(base + '/reset', 'w').write('1')
    finally:
        open('/sys/class/zram-control/hot_remove', 'w').write(str(dev))
print('\n'.join(map(str, steps)))
if len(sys.argv) > 2 and sys.argv[2] == 'liblz4':
    lib = ctypes.CDLL('liblz4.so.1')
    dst = ctypes.create_string_buffer(2 * PAGE)
    print('liblz4')
    print('\n'.join(str(lib.LZ4_compress_default(data[i * PAGE:(i + 1) * PAGE], dst, PAGE, 2 * PAGE)) for i in range(n)))
`;

/** Pages around zram's huge threshold: random bytes after a zero prefix of k bytes. */
function nearThreshold(): Uint8Array[] {
  const next = xorshift(7);
  const pages: Uint8Array[] = [];
  for (let k = 300; k <= 700; k += 5) {
    const p = new Uint8Array(PAGE_SIZE);
    for (let i = k; i < PAGE_SIZE; i++) p[i] = next() & 0xff;
    pages.push(p);
  }
  return pages;
}

const reason = whyNot();
if (reason) console.warn(`codec-kernel-lz4: skipped: ${reason}`);

describe.skipIf(reason !== undefined)("LZ4 compressed lengths against the running kernel's zram", () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pagestack-kernel-lz4-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('equal the kernel compressor on every page it stores compressed', (ctx) => {
    const pages = [
      ...realPageSets().flatMap((s) => s.pages),
      ...syntheticPages()
        .filter((s) => s.page.length === PAGE_SIZE)
        .map((s) => s.page),
      ...nearThreshold(),
    ];
    const file = join(tmp, 'pages.bin');
    writeFileSync(file, Buffer.concat(pages));
    const r = spawnSync('python3', ['-c', KERNEL_LENGTHS, file, ...(hasLiblz4 ? ['liblz4'] : [])], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.status === 3) {
      console.warn(`codec-kernel-lz4: skipped: ${r.stderr.trim()}`);
      ctx.skip();
      return;
    }
    expect(r.status, r.stderr).toBe(0);
    const [kernelPart, libPart] = r.stdout.trim().split('\nliblz4\n');
    const kernel = kernelPart!.split('\n').map(Number);
    expect(kernel).toHaveLength(pages.length);

    const codec = defaultPageCodec();
    const dst = new Uint8Array(compressBound(PAGE_SIZE));
    const ours = pages.map((p) => codec.compress(p, dst));
    const huge = hugeClassSize(PAGE_SIZE);
    let compared = 0;
    const wrong: string[] = [];
    for (let i = 0; i < pages.length; i++) {
      const k = kernel[i]!;
      if (k === 0) {
        expect(repeatsOneWord(pages[i]!), `page ${i}: the kernel stored it same-filled`).toBe(true);
      } else if (k === PAGE_SIZE && ours[i]! >= huge) {
        // Huge: stored whole; our length only needs to land in the huge class too.
      } else {
        compared++;
        if (ours[i] !== k) wrong.push(`page ${i}: kernel ${k}, ours ${ours[i]}`);
      }
    }
    expect(wrong, wrong.slice(0, 10).join('; ')).toEqual([]);
    expect(compared).toBeGreaterThan(pages.length / 2);

    let note = '';
    if (libPart !== undefined) {
      const lib = libPart.split('\n').map(Number);
      const differ = lib.filter((n, i) => n !== ours[i]).length;
      note = `; liblz4 LZ4_compress_default differs from the kernel on ${differ} of ${pages.length} pages`;
    }
    console.log(
      `codec-kernel-lz4: ${compared} compressed pages equal the kernel's length, ${pages.length - compared} same-filled or huge${note}`,
    );
  });

  it("is zram's and zswap's default compressor, and the container's lz4", () => {
    const page = syntheticPages().find((s) => s.name === 'text 4096')!.page;
    const a = new Uint8Array(compressBound(PAGE_SIZE));
    const b = new Uint8Array(compressBound(PAGE_SIZE));
    const n = defaultPageCodec().compress(page, a);
    expect(getCodec('lz4').compress(page, b)).toBe(n);
    expect(Buffer.from(a.subarray(0, n)).equals(Buffer.from(b.subarray(0, n)))).toBe(true);
  });
});
