/**
 * What the allocator model needs from the process it runs in. The simulator
 * implements this on top of its Machine (the process's [heap] VMA, anonymous
 * mmaps, page tables); FakeHeapHost implements it in memory for tests.
 *
 * Addresses and lengths are plain numbers (byte addresses below 2^53).
 */
export interface HeapHost {
  readonly pageSize: number;
  /** mm->start_brk: where the [heap] begins. */
  readonly startBrk: number;
  /** The current program break (sbrk(0)). */
  readonly brk: number;
  /**
   * brk(2): move the break to `newBrk` (grow or shrink the [heap] VMA;
   * pages above the new end are unmapped and their frames freed). Returns
   * false if refused (below startBrk, into another mapping, over a limit).
   */
  setBrk(newBrk: number): boolean;
  /** Anonymous private mmap of `length` bytes (a page multiple); the address, or null (MAP_FAILED). */
  mmapAnon(length: number): number | null;
  munmap(addr: number, length: number): void;
  /**
   * mremap(addr, oldLength, newLength, MREMAP_MAYMOVE): page tables move,
   * nothing is copied. The new address, or null if refused. Optional: without
   * it the model behaves like a glibc built without HAVE_MREMAP.
   */
  mremap?(addr: number, oldLength: number, newLength: number): number | null;
  /** A user-space 8-byte store of `value` at `addr` (malloc's metadata: size fields, list links). */
  storeWord(addr: number, value: number): void;
  /** User-space memset(addr, 0, length): write faults, commits frames. */
  writeZero(addr: number, length: number): void;
  /** User-space memcpy(dst, src, length): reads src, writes (commits) dst. */
  copy(dst: number, src: number, length: number): void;
  /**
   * madvise(addr, length, MADV_DONTNEED) on private anonymous memory: the
   * pages drop back to the shared zero page. `addr` and `length` are page
   * multiples.
   */
  discard(addr: number, length: number): void;
}
