#!/usr/bin/env python3
"""bench/callgrind_routes.py - instructions per request of strongmapd's routes, under callgrind.

A count that the machine's load does not move, beside bench/run.py's throughput (docs/
performance.md, "Profiling it yourself"). strongmapd runs under callgrind with 1 thread and the
LDIF demo directory (examples/demo.ldif), without the page's rate limit. For each route, one
after the other on one keep-alive connection, with the certificate as a PEM body: WARM requests
(each must answer 200), the counts zeroed (callgrind_control -z), N requests, the counts dumped
(callgrind_control -d). Prints each route's instructions per request (everything the process ran
while the N requests were answered, all threads) and the ratio of the first route's count to
each other's (the speed of that route against the first's, at equal cost per instruction).

    python3 bench/callgrind_routes.py --build build [--n 500] [--warm 100]
        [--cert examples/certs/alice-sid.pem] [--out DIR] [ROUTE ...]

ROUTE is METHOD:PATH; by default POST:/v1/verdict and POST:/v1/self/check. The dumps stay in
--out (callgrind.out.*) for callgrind_annotate.
"""
import argparse
import glob
import http.client
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def total(dump):
    """The dump's instruction count (its summary line)."""
    with open(dump, errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"{dump}: no summary line")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="the build directory (RelWithDebInfo)")
    ap.add_argument("--n", type=int, default=500, help="requests counted per route")
    ap.add_argument("--warm", type=int, default=100, help="requests before the count")
    ap.add_argument("--cert", default=os.path.join(ROOT, "examples/certs/alice-sid.pem"))
    ap.add_argument("--port", type=int, default=18397)
    ap.add_argument("--out", help="where the dumps go (default: a new temporary directory)")
    ap.add_argument("routes", nargs="*", default=["POST:/v1/verdict", "POST:/v1/self/check"])
    a = ap.parse_args()
    out = a.out or tempfile.mkdtemp(prefix="strongmap-cg.")
    os.makedirs(out, exist_ok=True)
    # an earlier run's dumps go: this run's are told apart by being new
    for old in glob.glob(f"{out}/callgrind.out*"):
        os.unlink(old)
    with open(a.cert, "rb") as f:
        body = f.read()
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out",
           os.path.join(a.build, "daemon", "strongmapd"), "-c", "/dev/null", "--allow-root",
           "--listen", f"127.0.0.1:{a.port}", "--threads", "1", "--log-level", "warning",
           "--ldif", os.path.join(ROOT, "examples/demo.ldif"), "--page-rate", "0"]
    d = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    conn = None
    try:
        for _ in range(300):  # valgrind starts slowly
            try:
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                conn = None
                time.sleep(0.2)
        if conn is None:
            raise RuntimeError("strongmapd under callgrind did not answer")

        def ask(method, path):
            conn.request(method, path, body=body if method == "POST" else None,
                         headers={"Content-Type": "application/x-pem-file"})
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")

        counts = []
        for i, route in enumerate(a.routes):
            method, path = route.split(":", 1)
            for _ in range(a.warm):
                ask(method, path)
            subprocess.run(["callgrind_control", "-z", str(d.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(a.n):
                ask(method, path)
            before = set(glob.glob(f"{out}/callgrind.out.*"))
            subprocess.run(["callgrind_control", "-d", f"route{i}", str(d.pid)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                new = set(glob.glob(f"{out}/callgrind.out.*")) - before
                if new:
                    break
                time.sleep(0.1)
            time.sleep(0.3)  # the dump written whole
            dump = sorted(new)[0]
            counts.append(total(dump) / a.n)
            print(f"{method} {path}: {counts[-1]:,.0f} instructions per request "
                  f"({a.n} after {a.warm}; {dump})", flush=True)
        for route, c in zip(a.routes[1:], counts[1:]):
            print(f"{route} against {a.routes[0]}: {counts[0] / c:.3f}")
    finally:
        d.terminate()
        d.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
