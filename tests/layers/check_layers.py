#!/usr/bin/env python3
"""Checks the layering of the C sources: who may include whom (HACKING.md, "Layers").

    check_layers.py [--root DIR] [--graph] [--dot]
    check_layers.py --self-test

The layers, bottom to top (a layer may include from the layers listed after "may include"):

    support  hex, decimal numbers, calendar, UTF-8, clock, hashes, buffer  nothing
    lib      the engine, lib/ and its public headers include/strongmap/   support
    common   what the daemon, the API and the CLI share (log, options,    support, lib
             the directory pool)
    api      the HTTP API (libmicrohttpd)                                  support, lib, common
    cli      the strongmap command                                         support, lib, common
    daemon   the strongmapd process                                        support, lib, common, api

tests/ and bench/ sit above everything and are not checked. Every other directory holding C
sources must be given a layer here (the check fails on one it does not know), so that a new
directory is placed on purpose.

An include is resolved as the compiler does for the tree's own headers: "x.h" in the including
file's directory first, else the one file of the checked directories with that name (two
headers of one name in different directories are refused: which one a file gets would depend
on the order of -I flags); <strongmap/x.h> is include/strongmap/x.h. Includes that resolve to
no file of the tree (system and library headers) are not followed.

Fails (exit 1), naming each file and line, when
  1. a file includes from a layer it may not (api/ from daemon/, cli/ from api/ or daemon/,
     common/ from api/, daemon/ or cli/, lib/ from anything above it, support/ from anything);
  2. the include graph between directories has a cycle (lib/ and include/strongmap/ are two
     directories of one layer: a public header including from lib/ would be such a cycle);
  3. two modules use each other: a module is x.c with its header x.h in one directory, and
     module A uses B when x.c or x.h of A includes B's header; a cycle of such uses (as
     api/dirpool.c and api/metrics.c once were) means neither can be understood, tested or
     moved without the other. Headers without a .c of their name (api/api_internal.h, a
     directory's internal interface) are not modules and their includes are not followed.
  4. a quoted include is ambiguous, or a directory with C sources has no layer.
--graph prints the directory graph (edges with their include counts), --dot the same for
Graphviz. --self-test builds small trees that break each rule and checks each is refused.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile

# layer name -> (directories, layers it may include from)
LAYERS = {
    "support": (("support",), ()),
    "lib": (("lib", "include/strongmap"), ("support",)),
    "common": (("common",), ("support", "lib")),
    "api": (("api",), ("support", "lib", "common")),
    "cli": (("cli",), ("support", "lib", "common")),
    "daemon": (("daemon",), ("support", "lib", "common", "api")),
}
# top-level directories above every layer, not checked
OUTSIDE = ("tests", "bench")

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^">]+)[">]', re.M)
COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)


def layer_dirs():
    """directory -> layer name, longest directories first (include/strongmap before include)."""
    out = {}
    for layer, (dirs, _) in LAYERS.items():
        for d in dirs:
            out[d] = layer
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))


def source_files(root):
    """Relative paths of the tree's .c and .h files (git's view when it is a checkout, so that
    build directories and ignored files do not count; untracked new files do)."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard",
             "--", "*.c", "*.h"],
            check=True, capture_output=True, text=True).stdout.split("\n")
        if subprocess.run(["git", "-C", root, "rev-parse", "--show-prefix"],
                          capture_output=True, text=True).stdout.strip():
            raise OSError("not the top of a checkout")
        return sorted({f for f in out if f and os.path.isfile(os.path.join(root, f))})
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "build"))
                           and d != "node_modules"]
            for f in filenames:
                if f.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, f), root))
        return sorted(files)


def dir_of(path, dirs):
    """The checked directory holding @path, or None."""
    for d in dirs:
        if path.startswith(d + "/"):
            return d
    return None


class Tree:
    def __init__(self, root):
        self.root = root
        self.dirs = layer_dirs()
        self.errors = []
        self.files = []  # checked files
        unknown = set()
        for f in source_files(root):
            if dir_of(f, self.dirs):
                self.files.append(f)
            elif f.split("/")[0] not in OUTSIDE:
                unknown.add(os.path.dirname(f) or ".")
        for d in sorted(unknown):
            self.errors.append(f"{d}/: C sources in a directory with no layer "
                               f"(add it to LAYERS in {os.path.relpath(__file__, root)})")
        self.by_name = {}
        for f in self.files:
            self.by_name.setdefault(os.path.basename(f), []).append(f)
        self.edges = []  # (file, line, included file)
        for f in self.files:
            self.scan(f)

    def resolve(self, f, line, kind, name):
        if kind == "<":
            if name.startswith("strongmap/"):
                cand = "include/" + name
                return cand if cand in self.files else None
            return None
        here = os.path.normpath(os.path.join(os.path.dirname(f), name))
        if here in self.files:
            return here
        if os.path.normpath(name) in self.files:
            return os.path.normpath(name)
        found = [g for g in self.by_name.get(os.path.basename(name), [])
                 if g.endswith("/" + os.path.normpath(name))]
        if len(found) > 1:
            self.errors.append(f"{f}:{line}: \"{name}\" is ambiguous: {', '.join(found)}")
            return None
        return found[0] if found else None

    def scan(self, f):
        with open(os.path.join(self.root, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        # blank out comments, keeping the line count
        text = COMMENT_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        for m in INCLUDE_RE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            to = self.resolve(f, line, m.group(1), m.group(2))
            if to and to != f:
                self.edges.append((f, line, to))

    def layer(self, f):
        return self.dirs[dir_of(f, self.dirs)]

    def check_layers(self):
        for f, line, to in self.edges:
            a, b = self.layer(f), self.layer(to)
            if a != b and b not in LAYERS[a][1]:
                allowed = ", ".join(d + "/" for l in LAYERS[a][1] for d in LAYERS[l][0])
                self.errors.append(f"{f}:{line}: includes {to}: {a} may include only from "
                                   f"{allowed or 'itself'}")

    def dir_graph(self):
        g = {}
        for f, line, to in self.edges:
            a, b = dir_of(f, self.dirs), dir_of(to, self.dirs)
            if a != b:
                g.setdefault(a, {}).setdefault(b, []).append((f, line, to))
        return g

    def module_graph(self):
        """module (dir/stem of an x.c with an x.h) -> {module: [edges]}"""
        files = set(self.files)

        def module(p):
            stem = p[:-2]
            return stem if stem + ".c" in files and stem + ".h" in files else None

        g = {}
        for f, line, to in self.edges:
            a, b = module(f), module(to)
            if a and b and a != b and to.endswith(".h"):
                g.setdefault(a, {}).setdefault(b, []).append((f, line, to))
        return g

    def check_cycles(self, g, what):
        for cycle in find_cycles(g):
            steps = []
            for a, b in zip(cycle, cycle[1:] + cycle[:1]):
                f, line, to = g[a][b][0]
                steps.append(f"{f}:{line} includes {to}")
            self.errors.append(f"{what} cycle {' -> '.join(cycle + cycle[:1])}: "
                               + "; ".join(steps))


def find_cycles(g):
    """One cycle through each strongly connected component that has one (Tarjan), as a list of
    nodes, in a stable order."""
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, {})):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(set(scc))

    nodes = sorted(set(g) | {w for v in g for w in g[v]})
    for v in nodes:
        if v not in index:
            strong(v)
    cycles = []
    for scc in sccs:
        start = min(scc)
        # shortest path back to start inside the component (breadth first)
        prev, queue, seen = {}, [start], {start}
        while queue:
            v = queue.pop(0)
            for w in sorted(g.get(v, {})):
                if w not in scc:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    cycles.append(path[::-1])
                    queue = []
                    break
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    queue.append(w)
    return sorted(cycles)


def check(root, graph=False, dot=False, out=sys.stdout):
    t = Tree(root)
    t.check_layers()
    g = t.dir_graph()
    t.check_cycles(g, "directory")
    t.check_cycles(t.module_graph(), "module")
    if dot:
        print("digraph includes {", file=out)
        for a in sorted(g):
            for b in sorted(g[a]):
                print(f'  "{a}" -> "{b}" [label="{len(g[a][b])}"];', file=out)
        print("}", file=out)
    elif graph:
        for a in sorted(g):
            for b in sorted(g[a]):
                n = len(g[a][b])
                print(f"{a}/ -> {b}/: {n} include line{'s' if n > 1 else ''}", file=out)
    for e in t.errors:
        print(e, file=out)
    if not t.errors:
        print(f"layers OK: {len(t.files)} files, {len(t.edges)} includes within the tree",
              file=out)
    return 1 if t.errors else 0


def self_test():
    """Each broken tree must be refused with the expected message; the clean one accepted."""
    clean = {
        "support/su_hex.h": "",
        "support/su_hex.c": "#include \"su_hex.h\"\n",
        "include/strongmap/common.h": "",
        "include/strongmap/cert.h": "#include <strongmap/common.h>\n",
        "lib/util.h": "#include <strongmap/common.h>\n#include \"su_hex.h\"\n",
        "lib/util.c": "#include \"util.h\"\n",
        "lib/cert.c": "#include <strongmap/cert.h>\n#include \"util.h\"\n",
        "common/log.h": "",
        "common/log.c": "#include \"log.h\"\n",
        "common/hist.h": "",
        "common/hist.c": "#include \"hist.h\"\n",
        "common/pool.h": "#include <strongmap/cert.h>\n",
        "common/pool.c": "#include \"pool.h\"\n#include \"hist.h\"\n#include \"log.h\"\n",
        "api/api.h": "#include \"pool.h\"\n",
        "api/metrics.h": "#include \"hist.h\"\n",
        "api/metrics.c": "#include \"api.h\"\n#include \"metrics.h\"\n#include \"pool.h\"\n",
        "api/internal.h": "#include \"metrics.h\"\n",
        "api/http.c": "#include \"internal.h\"\n#include \"su_hex.h\"\n#include <microhttpd.h>\n",
        "cli/main.c": "#include <strongmap/cert.h>\n#include \"log.h\"\n/* #include \"api.h\" */\n",
        "daemon/main.c": "#include \"api.h\"\n#include \"log.h\"\n#include <stdio.h>\n",
        "tests/unit/test.c": "#include \"api.h\"\n#include \"util.h\"\n",
    }
    broken = [
        ("api from daemon", {"daemon/opts.h": "", "api/http.c": "#include \"opts.h\"\n"},
         "api/http.c:1: includes daemon/opts.h: api may include only from support/, lib/, "
         "include/strongmap/, common/"),
        ("cli from api", {"cli/main.c": "#include \"api.h\"\n"},
         "cli/main.c:1: includes api/api.h"),
        ("cli from daemon", {"cli/main.c": "\n#include \"../daemon/main.c\"\n"},
         "cli/main.c:2: includes daemon/main.c"),
        ("common from api", {"common/log.c": "#include \"log.h\"\n#include \"metrics.h\"\n"},
         "common/log.c:2: includes api/metrics.h"),
        ("lib from common", {"lib/util.c": "# include \"log.h\"\n"},
         "lib/util.c:1: includes common/log.h: lib may include only from support/"),
        ("support from lib", {"support/su_hex.c": "#include \"su_hex.h\"\n#include \"util.h\"\n"},
         "support/su_hex.c:2: includes lib/util.h: support may include only from itself"),
        ("public header from lib: a directory cycle",
         {"include/strongmap/common.h": "#include \"../../lib/util.h\"\n"},
         "directory cycle include/strongmap -> lib -> include/strongmap"),
        ("two modules using each other",
         {"common/hist.c": "#include \"hist.h\"\n#include \"pool.h\"\n"},
         "module cycle common/hist -> common/pool -> common/hist"),
        ("an ambiguous header", {"daemon/log.h": ""},
         "\"log.h\" is ambiguous: common/log.h, daemon/log.h"),
        ("a directory without a layer", {"extra/hex.c": ""},
         "extra/: C sources in a directory with no layer"),
    ]
    failed = 0
    for name, change, expect in [("clean tree", {}, None)] + broken:
        with tempfile.TemporaryDirectory() as root:
            files = dict(clean)
            files.update(change)
            for path, text in files.items():
                os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(root, path), "w", encoding="utf-8") as fh:
                    fh.write(text)
            buf = io.StringIO()
            rc = check(root, out=buf)
            text = buf.getvalue()
            ok = rc == 0 if expect is None else (rc == 1 and expect in text)
            print(f"{'ok' if ok else 'FAIL'}: {name}")
            if not ok:
                print("  expected " + ("success" if expect is None else repr(expect)))
                print("  got rc=%d:\n    %s" % (rc, text.strip().replace("\n", "\n    ")))
                failed += 1
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--graph", action="store_true", help="print the directory graph")
    ap.add_argument("--dot", action="store_true", help="print it for Graphviz")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    return check(os.path.abspath(args.root), args.graph, args.dot)


if __name__ == "__main__":
    sys.exit(main())
