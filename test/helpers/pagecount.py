#!/usr/bin/env python3
"""Independent page count, the oracle for `pagestack scan --json` totals.

Walks the paths by the rules pagestack scan documents (paths named on the
command line follow symlinks; directories are walked in sorted order
without following symlinks; a file reached twice by dev+ino is counted
once; only regular files; only files starting with the ELF magic unless
--all-files; unreadable files are skipped), cuts every file into pages of
--page-size bytes by file offset, zero-pads the last page, and counts with
hashlib (SHA-256 digests as set keys): pages, all-zero pages, distinct
non-zero contents, duplicates.

Prints one JSON object: {"pageSize", "totals": {files, bytes, pages,
zeroPages, uniquePages, duplicatePages}, "skipped": n, "seconds": t}, or
with --list, the files counted, one per line. Standard library only.
"""
import argparse
import hashlib
import json
import os
import stat
import sys
import time

ELF_MAGIC = b"\x7fELF"


def walk(paths, all_files):
    """Yields the paths of the files to count, in scan order."""
    seen = set()
    skipped = 0

    def visit(path, st, named):
        nonlocal skipped
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        if stat.S_ISDIR(st.st_mode):
            try:
                names = sorted(os.listdir(path))
            except OSError:
                skipped += 1
                return
            for name in names:
                child = os.path.join(path, name)
                try:
                    cst = os.lstat(child)
                except OSError:
                    skipped += 1
                    continue
                if stat.S_ISLNK(cst.st_mode):
                    continue
                if stat.S_ISDIR(cst.st_mode) or stat.S_ISREG(cst.st_mode):
                    yield from visit(child, cst, False)
                else:
                    skipped += 1
        elif stat.S_ISREG(st.st_mode):
            try:
                with open(path, "rb") as f:
                    magic = f.read(4)
            except OSError:
                skipped += 1
                return
            if all_files or magic == ELF_MAGIC:
                yield path
            else:
                skipped += 1

    for p in paths:
        yield from visit(p, os.stat(p), True)
    walk.skipped = skipped


def count(files, page_size):
    zero = bytes(page_size)
    seen = set()
    n_files = n_bytes = pages = zero_pages = 0
    for path in files:
        n_files += 1
        with open(path, "rb") as f:
            while True:
                page = f.read(page_size)
                if not page:
                    break
                n_bytes += len(page)
                if len(page) < page_size:
                    page += bytes(page_size - len(page))
                pages += 1
                if page == zero:
                    zero_pages += 1
                else:
                    seen.add(hashlib.sha256(page).digest())
    unique = len(seen)
    return {
        "files": n_files,
        "bytes": n_bytes,
        "pages": pages,
        "zeroPages": zero_pages,
        "uniquePages": unique,
        "duplicatePages": pages - zero_pages - unique,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--page-size", type=int, default=4096)
    ap.add_argument("--all-files", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the files that would be counted")
    args = ap.parse_args()
    started = time.perf_counter()
    files = list(walk(args.paths, args.all_files))
    if args.list:
        sys.stdout.write("".join(f + "\n" for f in files))
        return
    totals = count(files, args.page_size)
    print(json.dumps({
        "pageSize": args.page_size,
        "totals": totals,
        "skipped": walk.skipped,
        "seconds": round(time.perf_counter() - started, 4),
    }))


if __name__ == "__main__":
    main()
