/*
 * Big zero-filled .data and repeated .rodata tables. The data array is
 * initialised (so it lives in .data, in the file) but almost all zero; the
 * same lookup table appears four times, each page-aligned, so the scanner
 * finds identical pages inside one file. tables2 is built from the same
 * source with another TAG, so the tables are identical across files too.
 */
#include <stdio.h>

#ifndef TAG
#define TAG 1
#endif

#define N 4096
#define ROW(i) ((unsigned)(i) * 2654435761u)
#define R4(i) ROW(i), ROW(i + 1), ROW(i + 2), ROW(i + 3)
#define R16(i) R4(i), R4(i + 4), R4(i + 8), R4(i + 12)
#define R64(i) R16(i), R16(i + 16), R16(i + 32), R16(i + 48)
#define R256(i) R64(i), R64(i + 64), R64(i + 128), R64(i + 192)
#define R1024(i) R256(i), R256(i + 256), R256(i + 512), R256(i + 768)
#define TABLE { R1024(0), R1024(1024), R1024(2048), R1024(3072) }

__attribute__((aligned(4096), used)) const unsigned table_a[N] = TABLE;
__attribute__((aligned(4096), used)) const unsigned table_b[N] = TABLE;
__attribute__((aligned(4096), used)) const unsigned table_c[N] = TABLE;
__attribute__((aligned(4096), used)) const unsigned table_d[N] = TABLE;

/* 256 KiB of .data, zero but for one word: 63 zero pages in the file. */
__attribute__((aligned(4096))) unsigned zero_data[65536] = { TAG };

int main(int argc, char **argv) {
    (void)argv;
    unsigned sum = zero_data[0];
    sum += table_a[argc] + table_b[argc] + table_c[argc] + table_d[argc];
    printf("%u\n", sum);
    return 0;
}
