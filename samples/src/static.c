/* A static, non-PIE executable (ET_EXEC at 0x400000, no PT_INTERP). */
#include <stdio.h>
#include <string.h>

static char message[64] = "static hello";

int main(void) {
    puts(message);
    return (int)strlen(message) == 12 ? 0 : 1;
}
