"""Independent count of the file pages dynamic relocations target in writable PT_LOADs.

Reads `readelf -lW` (PT_LOADs with W) and `readelf -rW` (every line whose first field is a
16-digit address: REL/RELA offsets and the expanded DT_RELR addresses), maps each 8-byte target
through its segment to file offsets and prints the sorted page numbers, one file per line:
PATH: p1 p2 ...
"""
import re
import subprocess
import sys

PAGE = 4096


def pages(path):
    segs = []
    for line in subprocess.run(['readelf', '-lW', path], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == 'LOAD' and 'W' in ''.join(f[6:-1]):
            segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    out = set()
    for line in subprocess.run(['readelf', '-rW', path], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if not f or not re.fullmatch(r'[0-9a-f]{16}', f[0]):
            continue
        if len(f) >= 3 and f[2] == 'R_X86_64_NONE':
            continue
        a = int(f[0], 16)
        for off, va, fs in segs:
            if va <= a and a + 8 <= va + fs:
                o = off + a - va
                out.add(o // PAGE)
                out.add((o + 7) // PAGE)
                break
    return sorted(out)


for p in sys.argv[1:]:
    print(p + ': ' + ' '.join(str(x) for x in pages(p)))
