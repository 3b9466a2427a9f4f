/**
 * Calloc-heavy workloads in the mallocs operation language, shared by the
 * unit tests (committed pages per calloc mode on the model) and the
 * differential test (the glibc mode against the real glibc).
 */

function callocsLoop(firstId: number, count: number): string[] {
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = firstId + 2 * i;
    // samples/src/callocs.c: a 1 MiB calloc written one page in 16, and a small calloc written once a page.
    ops.push('c:1048576', `w:${id}:65536`, 'c:256:4', `w:${id + 1}:4096`);
  }
  return ops;
}

function reuseLoop(): string[] {
  const ops = ['o:mmap_threshold:33554432'];
  for (let i = 0; i < 16; i++) ops.push('c:1048576', `w:${i}:64`); // filled
  ops.push('m:16'); // keeps the freed blocks from the top chunk
  for (let i = 0; i < 16; i++) ops.push(`f:${i}`);
  for (let i = 0; i < 16; i++) ops.push('c:1048576', `w:${17 + i}:65536`);
  return ops;
}

export const CALLOC_WORKLOADS: Record<string, string[]> = {
  'calloc-heavy: 16 x 1 MiB from mmap, one page in 16 written': callocsLoop(0, 16),
  'calloc-heavy: 16 x 1 MiB from a growing brk heap (threshold raised by a free)': [
    'c:1048576',
    'f:0',
    ...callocsLoop(1, 16),
  ],
  'calloc-heavy: 16 MiB filled, freed, and calloc-ed again from the brk heap': reuseLoop(),
};
