/**
 * zram against the real kernel. The test configures /dev/zram0 (root, an
 * idle device), writes a sequence of pages with O_DIRECT and discards some
 * (BLKDISCARD, what swap_slot_free_notify amounts to), reading mm_stat after
 * every operation. The model then replays the same operations with a codec
 * that returns the kernel's compressed length of each page (read from the
 * compr_data_size step), and every mm_stat field must match at every step;
 * then once more with zram's default codec (the kernel's LZ4 compressor):
 * same-filled detection (non-zero patterns too), huge pages, and zsmalloc's
 * page count with its size classes, chains, fullness lists and frees.
 *
 * Skipped, with the reason printed, unless: running as root, /dev/zram0
 * exists with disksize 0 and is not a swap device, python3 is installed,
 * and PAGESTACK_NO_KERNEL_TESTS is unset. The device is reset afterwards.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SwapMap } from '../src/mm/swap/swap-map.js';
import { samplePages } from '../src/mm/swap/sample-pages.js';
import type { PageCodec } from '../src/mm/swap/types.js';
import { ZramSwap } from '../src/mm/swap/zram.js';
import { defaultPageCodec } from '../src/mm/swap/index.js';
import { repeatsOneWord } from './swap-helpers.js';
import { mulberry32 } from '../src/util/prng.js';

const ZRAM = '/sys/block/zram0';
const PAGE = 4096;

function whyNot(): string | undefined {
  if (process.env.PAGESTACK_NO_KERNEL_TESTS) return 'PAGESTACK_NO_KERNEL_TESTS is set';
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync(`${ZRAM}/disksize`)) return 'no /dev/zram0 (modprobe zram)';
  if (readFileSync(`${ZRAM}/disksize`, 'utf8').trim() !== '0') return '/dev/zram0 is already set up (disksize != 0)';
  if (readFileSync('/proc/swaps', 'utf8').includes('zram0')) return '/dev/zram0 is a swap device';
  if (spawnSync('python3', ['--version']).status !== 0) return 'python3 is missing';
  return undefined;
}

const reason = whyNot();
if (reason) console.warn(`swap-zram-kernel: skipped: ${reason}`);

const WRITER = `
import os, sys, mmap, fcntl, struct
pages = open(sys.argv[1], 'rb').read()
fd = os.open('/dev/zram0', os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, ${PAGE})
out = []
for line in open(sys.argv[2]):
    kind, slot, page = line.split()
    slot, page = int(slot), int(page)
    if kind == 'w':
        buf.seek(0)
        buf.write(pages[page * ${PAGE}:(page + 1) * ${PAGE}])
        os.pwrite(fd, buf, slot * ${PAGE})
    else:
        fcntl.ioctl(fd, 0x1277, struct.pack('QQ', slot * ${PAGE}, ${PAGE}))  # BLKDISCARD
    out.append(open('${ZRAM}/mm_stat').read().strip())
os.close(fd)
print('\\n'.join(out))
`;

/** Pages whose compressed size walks across huge_class_size: random bytes after a zero prefix of k bytes. */
function nearThreshold(next: () => number): Uint8Array[] {
  const pages: Uint8Array[] = [];
  for (let k = 380; k <= 560; k += 6) {
    const p = new Uint8Array(PAGE);
    for (let i = k; i < PAGE; i++) p[i] = next() & 0xff;
    pages.push(p);
  }
  return pages;
}

/** Returns the kernel's compressed lengths, in order, to a model that compresses the same pages in the same order. */
class ReplayCodec implements PageCodec {
  readonly name = 'kernel-replay';
  private next = 0;
  constructor(private readonly lengths: number[]) {}
  compress(_src: Uint8Array, dst: Uint8Array): number {
    const n = this.lengths[this.next++];
    if (n === undefined) throw new Error('more compressions than the kernel did');
    dst.fill(0xa5, 0, n);
    return n;
  }
  decompress(): void {
    throw new Error('not used');
  }
}

describe.skipIf(reason !== undefined)('zram mm_stat against /dev/zram0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pagestack-zram-'));
  afterAll(() => {
    try {
      writeFileSync(`${ZRAM}/reset`, '1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches every mm_stat field after every write and discard', () => {
    const algorithms = readFileSync(`${ZRAM}/comp_algorithm`, 'utf8');
    if (algorithms.includes('lz4')) writeFileSync(`${ZRAM}/comp_algorithm`, 'lz4');
    writeFileSync(`${ZRAM}/disksize`, String(64 << 20));

    const next = mulberry32(42);
    const sample = samplePages(400, PAGE, 9);
    const pages: Uint8Array[] = [];
    for (let i = 0; i < sample.count; i++) pages.push(sample.page(i));
    // Same-filled pages the kernel must also see: a 4-byte period (is an 8-byte one) and a 16-byte one (is not).
    pages.push(new Uint8Array(PAGE).fill(0x5a));
    pages.push(Uint8Array.from({ length: PAGE }, (_, i) => [1, 2, 3, 4][i % 4]!));
    pages.push(Uint8Array.from({ length: PAGE }, (_, i) => i % 16));
    pages.push(...nearThreshold(next));
    const file = new Uint8Array(pages.length * PAGE);
    pages.forEach((p, i) => file.set(p, i * PAGE));

    // Plan the operations with the model's slot allocation (a LIFO of freed slots).
    const plan = new SwapMap();
    const ops: { kind: 'w' | 'd'; slot: number; page: number }[] = [];
    const live: number[] = [];
    for (let step = 0; step < 900; step++) {
      if (live.length > 0 && (step >= 700 || next() % 10 < 3)) {
        const i = next() % live.length;
        const slot = live[i]!;
        live[i] = live[live.length - 1]!;
        live.pop();
        plan.put(slot);
        plan.release(slot);
        ops.push({ kind: 'd', slot, page: 0 });
      } else {
        const slot = plan.allocate();
        live.push(slot);
        ops.push({ kind: 'w', slot, page: step < pages.length ? step : next() % pages.length });
      }
    }
    writeFileSync(join(dir, 'pages.bin'), file);
    writeFileSync(join(dir, 'ops.txt'), ops.map((o) => `${o.kind} ${o.slot} ${o.page}\n`).join(''));
    writeFileSync(join(dir, 'writer.py'), WRITER);
    const out = execFileSync('python3', [join(dir, 'writer.py'), join(dir, 'pages.bin'), join(dir, 'ops.txt')], {
      encoding: 'utf8',
    });
    const kernel = out
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number));
    expect(kernel.length).toBe(ops.length);

    // The kernel's compressed length of every compressed write, from the compr_data_size steps.
    const lengths: number[] = [];
    let prev = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    let maxStoredCompressed = 0;
    ops.forEach((op, i) => {
      const row = kernel[i]!;
      if (op.kind === 'w') {
        const same = row[5]! - prev[5]! === 1;
        expect(same, `page ${op.page}: kernel same-filled = ${same}`).toBe(repeatsOneWord(pages[op.page]!));
        if (!same) {
          const compLen = row[1]! - prev[1]!;
          lengths.push(compLen);
          if (compLen < PAGE) maxStoredCompressed = Math.max(maxStoredCompressed, compLen);
        }
      }
      prev = row;
    });

    const zram = new ZramSwap({ codec: new ReplayCodec(lengths), zeromap: false });
    // Pages compressing to just under huge_class_size were stored compressed, so the threshold is right above them.
    expect(maxStoredCompressed).toBeLessThan(zram.hugeClassSize);
    expect(maxStoredCompressed).toBeGreaterThan(zram.hugeClassSize - 16);

    ops.forEach((op, i) => {
      if (op.kind === 'w') expect(zram.store(pages[op.page]!)).toBe(op.slot);
      else expect(zram.free(op.slot)).toBe(true);
      const model = zram.mmStatLine().trim().split(/\s+/).map(Number);
      expect(model, `after op ${i} (${op.kind} slot ${op.slot})`).toEqual(kernel[i]);
    });
    // With zram's own default codec (the port of the kernel's LZ4_compress_fast) instead of the
    // kernel's lengths, every mm_stat field must match at every step as well.
    const own = new ZramSwap({ codec: defaultPageCodec(), zeromap: false });
    ops.forEach((op, i) => {
      if (op.kind === 'w') expect(own.store(pages[op.page]!)).toBe(op.slot);
      else expect(own.free(op.slot)).toBe(true);
      const model = own.mmStatLine().trim().split(/\s+/).map(Number);
      expect(model, `default codec, after op ${i} (${op.kind} slot ${op.slot})`).toEqual(kernel[i]);
    });
    // The block layer's stat file: write I/Os and sectors (fields 5 and 7); BLKDISCARD fills the discard fields.
    const blockStat = readFileSync(`${ZRAM}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    const modelStat = zram.blockStatLine().trim().split(/\s+/).map(Number);
    expect(modelStat[4]).toBe(blockStat[4]);
    expect(modelStat[6]).toBe(blockStat[6]);
    expect(blockStat[4]).toBe(ops.filter((o) => o.kind === 'w').length);
    const last = kernel[kernel.length - 1]!;
    console.log(
      `swap-zram-kernel: ${ops.length} operations matched; largest page stored compressed: ${maxStoredCompressed} bytes; ` +
        `last mm_stat: ${last.join(' ')}`,
    );
  });
});
