/**
 * ld.so's allocator before relocation is done (elf/dl-minimal-malloc.c,
 * glibc 2.36): a bump pointer that starts at the end of ld.so's own bss
 * (`_end`, up to the end of that page) and, when a request does not fit,
 * mmaps the request rounded up to pages plus one more page, anonymous and
 * read-write, wherever the kernel puts it (top-down). The pointer is aligned
 * to MALLOC_ALIGNMENT (16) before each allocation; calloc is malloc (fresh
 * mmap memory is zero); free only rewinds the last block.
 *
 * Where these mmaps land is what places ld.so's anonymous mappings in
 * /proc/PID/maps (the first one right below the vDSO, the static TLS block
 * below the libraries), so every allocation ld.so makes at startup is
 * replayed here with its real size (see rtld-allocations.ts).
 */

export const MALLOC_ALIGNMENT = 16;

/** How the allocator asks for memory: returns the address of a new anonymous read-write mapping. */
export type AnonMmap = (length: number) => number;

export class MinimalMalloc {
  private ptr = 0;
  private end = 0;
  private lastBlock = 0;
  private started = false;
  /** Every block handed out, for writing their contents and for tests. */
  readonly blocks: Array<{ addr: number; size: number; what: string }> = [];

  /** `rtldEnd`: the address of ld.so's `_end` (l_addr + the end of its last PT_LOAD's memory). */
  constructor(
    private readonly rtldEnd: number,
    private readonly mmap: AnonMmap,
    private readonly pageSize = 4096,
  ) {}

  malloc(n: number, what: string): number {
    if (!this.started) {
      this.started = true;
      this.ptr = this.rtldEnd;
      this.end = Math.ceil(this.rtldEnd / this.pageSize) * this.pageSize;
    }
    this.ptr = Math.ceil(this.ptr / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT;
    if (this.ptr + n >= this.end) {
      const nup = Math.ceil(n / this.pageSize) * this.pageSize + this.pageSize;
      const page = this.mmap(nup);
      if (page !== this.end) this.ptr = page;
      this.end = page + nup;
    }
    this.lastBlock = this.ptr;
    this.ptr += n;
    this.blocks.push({ addr: this.lastBlock, size: n, what });
    return this.lastBlock;
  }

  /** __minimal_free: only the last block is given back. */
  free(addr: number): void {
    if (addr === this.lastBlock && this.blocks.length) {
      this.ptr = this.lastBlock;
      this.blocks.pop();
    }
  }
}
