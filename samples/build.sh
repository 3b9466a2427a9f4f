#!/usr/bin/env bash
# Rebuilds samples/bin from samples/src with the system gcc (x86-64).
# The binaries are committed, so `npm test` needs no compiler; rerun this
# only when a source changes. Flags are fixed so a rebuild is reproducible
# with the same toolchain (gcc 12.2 / binutils 2.40 on Debian 12 here).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
CFLAGS=(-O2 -g0 -fno-asynchronous-unwind-tables -Wl,--build-id=none)
gcc "${CFLAGS[@]}" -fPIE -pie            -o bin/hello      src/hello.c
gcc "${CFLAGS[@]}" -fPIE -pie -Wl,-z,max-page-size=0x200000 -o bin/hello-2m src/hello.c
gcc "${CFLAGS[@]}" -static -no-pie       -o bin/static     src/static.c
gcc "${CFLAGS[@]}" -static-pie           -o bin/static-pie src/static.c
gcc "${CFLAGS[@]}" -fPIE -pie            -o bin/bigbss     src/bigbss.c
gcc "${CFLAGS[@]}" -fPIE -pie -DTAG=1    -o bin/tables     src/tables.c
gcc "${CFLAGS[@]}" -fPIE -pie -DTAG=2    -o bin/tables2    src/tables.c
gcc "${CFLAGS[@]}" -fPIE -pie            -o bin/callocs    src/callocs.c
gcc "${CFLAGS[@]}" -fPIE -pie            -o bin/mallocs    src/mallocs.c
strip --strip-unneeded bin/static bin/static-pie
ls -l bin
