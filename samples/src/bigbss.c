/* A large .bss: 8 MiB of zero-initialised data that costs no file space. */
#include <stdio.h>

char buffer[8 << 20]; /* external linkage: -O2 must keep all 8 MiB */
int counter = 42;

int main(void) {
    buffer[0] = 1;
    buffer[sizeof buffer - 1] = (char)counter;
    printf("%d\n", buffer[0] + buffer[sizeof buffer - 1]);
    return 0;
}
