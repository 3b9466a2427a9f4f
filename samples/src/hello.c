/* A dynamic PIE: the common case of a distribution binary. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("hello from %s (%d args)\n", argv[0], argc);
    return 0;
}
