/*
 * calloc-heavy: many large zeroed allocations of which only a fraction is
 * ever written. Under glibc most of them come from mmap (already zero), so
 * untouched pages stay unmapped or on the shared zero page.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    size_t count = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
    size_t size = 1 << 20;
    unsigned long sum = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = calloc(size, 1);
        if (!p) return 1;
        for (size_t j = 0; j < size; j += 16 * 4096) p[j] = (unsigned char)i; /* touch 1 page in 16 */
        sum += p[0];
        /* small callocs from the brk heap */
        int *q = calloc(256, sizeof *q);
        if (!q) return 1;
        q[0] = (int)i;
        sum += (unsigned long)q[0];
    }
    printf("%lu\n", sum);
    return 0;
}
