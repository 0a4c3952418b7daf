#!/usr/bin/env python3
"""Checks libstrongmap's boundary: the archive's global symbols, lib/exports.txt and the public
headers must name the same functions.

    check_exports.py --nm nm --archive libstrongmap.a --exports lib/exports.txt \
                     --headers include/strongmap

1. `nm -g --defined-only` of the archive equals the list: a symbol defined globally but not
   listed is an internal helper leaking into every program that links the library (it would
   collide with the program's own symbol of that name); a listed one that is not defined is a
   function the library stopped providing.
2. The functions the public headers declare (sm_*, function pointers and macros aside) equal
   the list: a public function missing from the list would be made local, and programs using it
   would fail to link; a listed function no public header declares is not public.
3. The list is sorted and has no duplicates (so that changes to it read well in a diff).
Exits 1 naming every difference, 0 when all agree.
"""

import argparse
import glob
import os
import re
import subprocess
import sys


def read_list(path):
    names = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def archive_globals(nm, archive):
    out = subprocess.run([nm, "-g", "--defined-only", archive], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        # "ADDRESS TYPE NAME"; member headers ("x.o:") and blank lines have other shapes
        if len(fields) == 3:
            names.add(fields[2])
    return names


COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DIRECTIVE = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.M)
# a name followed by "(": a declaration, unless it is "(*name)(", a function pointer
CALLABLE = re.compile(r"(\(\s*\*\s*)?\b(sm_\w+)\s*\(")


def header_functions(directory):
    found = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.h"))):
        with open(path, encoding="utf-8") as f:
            text = DIRECTIVE.sub("", COMMENT.sub(" ", f.read()))
        for m in CALLABLE.finditer(text):
            if not m.group(1):
                found.setdefault(m.group(2), os.path.basename(path))
    return found


def report(title, names):
    if names:
        print(f"{title} ({len(names)}):")
        for n in sorted(names):
            print(f"    {n}")
    return bool(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--archive", required=True)
    ap.add_argument("--exports", required=True)
    ap.add_argument("--headers", required=True)
    a = ap.parse_args()

    listed = read_list(a.exports)
    exported = archive_globals(a.nm, a.archive)
    declared = header_functions(a.headers)
    want = set(listed)
    print(f"{a.archive}: {len(exported)} global symbols; {a.exports}: {len(want)} names; "
          f"{a.headers}: {len(declared)} sm_ functions declared")

    bad = False
    if listed != sorted(want):
        dups = sorted({n for n in listed if listed.count(n) > 1})
        print(f"{a.exports} is not sorted or has duplicates"
              + (f": {', '.join(dups)}" if dups else ""))
        bad = True
    bad |= report("global in the archive but not in the list (internal symbols leaking)",
                  exported - want)
    bad |= report("in the list but not defined globally by the archive", want - exported)
    bad |= report("declared by a public header but not in the list",
                  {f"{n} ({declared[n]})" for n in set(declared) - want})
    bad |= report("in the list but declared by no public header", want - set(declared))
    if bad:
        print("FAIL: update lib/exports.txt (public functions) or make the symbol static / "
              "keep it out of the public headers (internal ones)")
        return 1
    print("OK: the archive exports exactly the documented API")
    return 0


if __name__ == "__main__":
    sys.exit(main())
