/*
 * mallocs: runs a sequence of allocator calls given on the command line and
 * prints where glibc put each block. It is the real-glibc side of the
 * differential test of pagestack's allocator model (test/malloc-glibc.test.ts);
 * src/sim/malloc/ops.ts runs the same sequence on the model and prints the
 * same text.
 *
 * Operations, one per argument. IDs count the m and c operations from 0.
 *   m:SIZE           p[id] = malloc(SIZE)
 *   c:SIZE           p[id] = calloc(1, SIZE)
 *   c:N:SIZE         p[id] = calloc(N, SIZE)
 *   f:ID             free(p[ID])
 *   r:ID:SIZE        p[ID] = realloc(p[ID], SIZE)
 *   w:ID:STRIDE      the program writes one byte at every STRIDE bytes of
 *                    p[ID] (offsets 0, STRIDE, ... below malloc_usable_size)
 *   t:PAD            malloc_trim(PAD)
 *   o:NAME:VALUE     mallopt(M_..., VALUE), NAME one of mmap_threshold,
 *                    trim_threshold, top_pad, mmap_max, mxfast
 *   p:0              print "pages " and one digit per page of the brk heap,
 *                    1 if it has a frame of its own (for debugging)
 *   b:OFFSET         map an inaccessible page at the initial break + OFFSET
 *                    (MAP_FIXED_NOREPLACE), so that sbrk fails before it and
 *                    malloc falls back to mmap for its arena
 *
 * Output, one line per m, c and r:
 *   ID heap+0xOFFSET 0xCHUNKSIZE   offset of the pointer from the program
 *                                  break before the first call (sbrk(0))
 *   ID mmap 0xCHUNKSIZE            the chunk has IS_MMAPPED set
 *   ID other 0xCHUNKSIZE           an arena chunk outside the brk heap (the
 *                                  arena went on in mmapped memory)
 *   ID null                        the call returned NULL
 * then "brk +0xOFFSET" (sbrk(0) minus the initial break), one line of
 * mallinfo2() fields, and "committed heap=N mmap=M": the pages with a frame
 * of their own (pagemap) in the brk heap and in the live mmapped chunks.
 * Unless w operations write to blocks, these are the pages glibc itself
 * wrote: chunk headers, calloc's clearing, realloc's copies, the tcache.
 *
 * The program never calls malloc itself: output goes through a static
 * buffer, snprintf and write(2), never stdio streams.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_IDS 65536

static void *ptrs[MAX_IDS];
static uint64_t pagemap_buf[4096];
static char out[1 << 16];
static size_t used;

static void flush_out(void) {
    size_t done = 0;
    while (done < used) {
        ssize_t n = write(1, out + done, used - done);
        if (n <= 0) _exit(3);
        done += (size_t)n;
    }
    used = 0;
}

static void say(const char *fmt, unsigned long a, unsigned long b, unsigned long c) {
    if (used + 256 > sizeof out) flush_out();
    int n = snprintf(out + used, sizeof out - used, fmt, a, b, c);
    if (n < 0) _exit(3);
    used += (size_t)n;
}

static void fail(const char *what, const char *arg) {
    flush_out();
    const char *parts[] = { "mallocs: ", what, ": ", arg, "\n" };
    for (int i = 0; i < 5; i++) {
        if (write(2, parts[i], strlen(parts[i])) < 0) break;
    }
    _exit(2);
}

static unsigned long number(const char **s, const char *arg) {
    char *end;
    unsigned long v = strtoul(*s, &end, 0);
    if (end == *s) fail("bad number", arg);
    *s = end;
    return v;
}

static unsigned long index_of(const char **s, const char *arg, unsigned long next_id) {
    unsigned long id = number(s, arg);
    if (id >= next_id) fail("no such id", arg);
    return id;
}

static void expect(const char **s, char c, const char *arg) {
    if (**s != c) fail("bad operation", arg);
    (*s)++;
}

static void report(unsigned long id, void *p, uintptr_t base) {
    if (!p) {
        say("%lu null\n", id, 0, 0);
        return;
    }
    size_t head = ((size_t *)p)[-1];
    if (head & 2)
        say("%lu mmap 0x%lx\n", id, head & ~(size_t)7, 0);
    else if ((uintptr_t)p < base || (uintptr_t)p >= (uintptr_t)sbrk(0))
        say("%lu other 0x%lx\n", id, head & ~(size_t)7, 0);
    else
        say("%lu heap+0x%lx 0x%lx\n", id, (uintptr_t)p - base, head & ~(size_t)7);
}

/*
 * Pages of [start, end) with a frame of their own, from /proc/self/pagemap:
 * present (bit 63) and mapped exclusively (bit 56). A page only read is
 * mapped to the shared zero page, which is present but not exclusive (and
 * mincore(2) would count it).
 */
static unsigned long committed_pages(uintptr_t start, uintptr_t end) {
    static int fd = -1;
    const uintptr_t page = 4096;
    if (fd < 0) fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0) fail("cannot open", "/proc/self/pagemap");
    unsigned long n = 0;
    for (uintptr_t at = start & ~(page - 1); at < end; ) {
        size_t count = (end - at + page - 1) / page;
        if (count > sizeof pagemap_buf / sizeof pagemap_buf[0]) count = sizeof pagemap_buf / sizeof pagemap_buf[0];
        ssize_t got = pread(fd, pagemap_buf, count * 8, (off_t)(at / page * 8));
        if (got != (ssize_t)(count * 8)) fail("cannot read", "/proc/self/pagemap");
        for (size_t i = 0; i < count; i++) n += (pagemap_buf[i] >> 63) & (pagemap_buf[i] >> 56) & 1;
        at += count * page;
    }
    return n;
}

static int mallopt_param(const char *name, size_t len) {
    static const struct { const char *name; int param; } names[] = {
        { "mmap_threshold", M_MMAP_THRESHOLD }, { "trim_threshold", M_TRIM_THRESHOLD },
        { "top_pad", M_TOP_PAD }, { "mmap_max", M_MMAP_MAX }, { "mxfast", M_MXFAST },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0) return names[i].param;
    return 0;
}

int main(int argc, char **argv) {
    uintptr_t base = (uintptr_t)sbrk(0);
    unsigned long next_id = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *s = arg + 2;
        if (arg[0] == 0 || arg[1] != ':') fail("bad operation", arg);
        switch (arg[0]) {
        case 'm': {
            unsigned long size = number(&s, arg);
            if (next_id >= MAX_IDS) fail("too many ids", arg);
            ptrs[next_id] = malloc(size);
            report(next_id, ptrs[next_id], base);
            next_id++;
            break;
        }
        case 'c': {
            unsigned long n = number(&s, arg), size = 1;
            if (*s == ':') {
                s++;
                size = number(&s, arg);
            } else {
                size = n;
                n = 1;
            }
            if (next_id >= MAX_IDS) fail("too many ids", arg);
            ptrs[next_id] = calloc(n, size);
            report(next_id, ptrs[next_id], base);
            next_id++;
            break;
        }
        case 'f': {
            unsigned long id = index_of(&s, arg, next_id);
            free(ptrs[id]);
            ptrs[id] = 0;
            break;
        }
        case 'r': {
            unsigned long id = index_of(&s, arg, next_id);
            expect(&s, ':', arg);
            unsigned long size = number(&s, arg);
            void *p = realloc(ptrs[id], size);
            if (p || size == 0) ptrs[id] = p;
            report(id, p, base);
            break;
        }
        case 'w': {
            unsigned long id = index_of(&s, arg, next_id);
            expect(&s, ':', arg);
            unsigned long stride = number(&s, arg);
            unsigned char *p = ptrs[id];
            if (!p || stride == 0) fail("nothing to write", arg);
            size_t usable = malloc_usable_size(p);
            for (size_t off = 0; off < usable; off += stride) p[off] = 0xa5;
            break;
        }
        case 't':
            malloc_trim(number(&s, arg));
            break;
        case 'p': {
            number(&s, arg);
            uintptr_t end = (uintptr_t)sbrk(0);
            say("pages ", 0, 0, 0);
            for (uintptr_t at = base; at < end; at += 4096) say(committed_pages(at, at + 1) ? "1" : "0", 0, 0, 0);
            say("\n", 0, 0, 0);
            break;
        }
        case 'b': {
            void *at = (void *)(base + number(&s, arg));
            if (mmap(at, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != at)
                fail("cannot map a page there", arg);
            break;
        }
        case 'o': {
            const char *colon = strchr(s, ':');
            if (!colon) fail("bad operation", arg);
            int param = mallopt_param(s, (size_t)(colon - s));
            if (!param) fail("unknown mallopt parameter", arg);
            s = colon + 1;
            if (!mallopt(param, (int)number(&s, arg))) fail("mallopt refused", arg);
            break;
        }
        default:
            fail("bad operation", arg);
        }
        if (*s) fail("trailing characters", arg);
    }

    say("brk +0x%lx\n", (uintptr_t)sbrk(0) - base, 0, 0);
    struct mallinfo2 mi = mallinfo2();
    say("mallinfo arena=%lu ordblks=%lu smblks=%lu ", mi.arena, mi.ordblks, mi.smblks);
    say("hblks=%lu hblkhd=%lu uordblks=%lu ", mi.hblks, mi.hblkhd, mi.uordblks);
    say("fordblks=%lu fsmblks=%lu keepcost=%lu\n", mi.fordblks, mi.fsmblks, mi.keepcost);
    unsigned long mapped = 0;
    for (unsigned long id = 0; id < next_id; id++) {
        size_t *p = ptrs[id];
        if (!p || !(p[-1] & 2)) continue;
        uintptr_t block = (uintptr_t)p - 16 - p[-2];
        mapped += committed_pages(block, block + p[-2] + (p[-1] & ~(size_t)7));
    }
    say("committed heap=%lu mmap=%lu\n", committed_pages(base, (uintptr_t)sbrk(0)), mapped, 0);
    flush_out();
    return 0;
}
