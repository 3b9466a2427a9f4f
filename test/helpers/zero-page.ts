/**
 * Does this kernel map the shared zero page on a read fault of untouched
 * anonymous memory, as Linux does by default? Some virtual machines'
 * kernels do not (a `pvm_no_zero_page=1` boot option was seen here): every
 * read fault then takes a page of its own, and tests that compare committed
 * pages or Rss of memory that was only read must know it.
 *
 * Asked of the kernel itself: python3 maps two anonymous pages, reads them,
 * and reads their /proc/self/pagemap entries. Present and exclusive means a
 * page of its own; present and not exclusive means the zero page.
 */
import { spawnSync } from 'node:child_process';

const PROBE = `
import mmap, ctypes, struct
m = mmap.mmap(-1, 8192, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
m[0]; m[4096]
with open('/proc/self/pagemap', 'rb') as f:
    f.seek((addr // 4096) * 8)
    entries = struct.unpack('<2Q', f.read(16))
print(' '.join('%d%d' % ((e >> 63) & 1, (e >> 56) & 1) for e in entries))
`;

let answer: boolean | undefined | null = null;

/** true: read faults map the zero page; false: they take a page each; undefined: cannot tell (no python3 or pagemap). */
export function kernelMapsZeroPageOnRead(): boolean | undefined {
  if (answer !== null) return answer;
  const r = spawnSync('python3', ['-c', PROBE], { encoding: 'utf8', timeout: 20_000 });
  const out = r.status === 0 ? r.stdout.trim() : '';
  answer = out === '10 10' ? true : out === '11 11' ? false : undefined;
  return answer;
}
