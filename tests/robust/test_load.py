#!/usr/bin/env python3
"""robust.load: wrk with hundreds of connections against POST /v1/inspect and GET /healthz.

    test_load.py --daemon build/daemon/strongmapd [--duration 60] [--connections 400]
                 [--threads 2] [--wrk wrk]

One strongmapd (2 threads, the demo directory, log level warning when the build has
--log-level, so that the access log of ~100k requests/s does not measure this script's pipe
reading) on a free loopback port. wrk (Debian package wrk) runs with -c 400 -t 2:

1. a 3 s warm-up on /v1/inspect (malloc arenas and libmicrohttpd's pools reach their working
   size), then the daemon's VmRSS is read;
2. POST /v1/inspect with examples/certs/alice-sid.pem (wrk_robust.lua) for --duration s;
3. GET /healthz for --duration s;
after each run: zero socket errors (connect, read, write, timeout), zero non-2xx responses (wrk's
"Non-2xx or 3xx responses" line absent, and its status counter 0), requests made, and at the
end the RSS growth since the warm-up below 16 MiB (measured: well under 1 MiB), /healthz 200,
no error line in the daemon's log, exit 0 on SIGTERM. Prints req/s and latency p50/p99/max.

ctest runs --duration 10 (two runs of 10 s, 20 s of load); the full-minute proof is
    python3 tests/robust/test_load.py --daemon build/daemon/strongmapd --duration 60
400 connections stay within libmicrohttpd's connection limit (strongmapd's default 1024) and
the default of no per-IP limit; --connections changes it (at most 1000). wrk's request
timeout is 10 s: a request slower than that counts as a socket error.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

RSS_BOUND_KIB = 16 * 1024
WARMUP_S = 3
LUA = os.path.join(R.HERE, "wrk_robust.lua")
PEM = os.path.join(R.CERTS, "alice-sid.pem")


def run_wrk(res, args, d, path, seconds, label, pem=None):
    """One wrk run; returns the parsed ROBUST line (dict) or None."""
    url = f"http://{d.host}:{d.port}{path}"
    cmd = [args.wrk, "-c", str(args.connections), "-t", str(args.threads), "-d", f"{seconds}s",
           "--timeout", "10s", "--latency", "-s", LUA, url]
    if pem:
        cmd += ["--", pem]
    proc = R.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    except BaseException:
        R.stop_process(proc, timeout=5)
        raise
    text = out.decode("utf-8", "replace")
    if label:
        print("\n".join("     | " + line for line in text.rstrip().split("\n")), flush=True)
    m = re.search(r"^ROBUST (\{.*\})$", text, re.M)
    if proc.returncode != 0 or not m:
        res.check(f"{label or 'warm-up'}: wrk ran", False, f"exit {proc.returncode}: {text[-500:]}")
        return None
    st = json.loads(m.group(1))
    st["non2xx_line"] = "Non-2xx or 3xx responses" in text
    st["text"] = text
    return st


def judge(res, label, st, seconds):
    sock = st["connect"] + st["read"] + st["write"] + st["timeout"]
    rps = st["requests"] / (st["duration_us"] / 1e6)
    res.number(f"{label}: requests / req/s", f"{st['requests']} / {rps:.0f}")
    res.number(f"{label}: latency mean / p50 / p90 / p99 / max",
               f"{st['lat_mean_us'] / 1000:.1f} / {st['lat_p50_us'] / 1000:.1f} / "
               f"{st['lat_p90_us'] / 1000:.1f} / {st['lat_p99_us'] / 1000:.1f} / "
               f"{st['lat_max_us'] / 1000:.1f}", "ms")
    res.check(f"{label}: zero socket errors", sock == 0,
              f"connect {st['connect']}, read {st['read']}, write {st['write']}, "
              f"timeout {st['timeout']}")
    res.check(f"{label}: zero non-2xx responses", st["status"] == 0 and not st["non2xx_line"],
              f"{st['status']} non-2xx")
    res.check(f"{label}: requests were made for {seconds} s", st["requests"] > seconds * 10,
              f"{st['requests']} requests")


def run(res, args):
    d = None
    try:
        extra = ["--ldif", os.path.join(R.EXAMPLES, "demo.ldif")]
        quiet = R.has_flag(args.daemon, "--log-level")
        if quiet:
            extra += ["--log-level", "warning"]
        d = R.Daemon(args.daemon, extra, threads=2, quiet=quiet)
        res.note(f"strongmapd pid {d.pid} on {d.host}:{d.port}; wrk -c {args.connections} "
                 f"-t {args.threads}, {args.duration} s per endpoint")
        rss_start = d.rss_kib()
        st = run_wrk(res, args, d, "/v1/inspect", WARMUP_S, None, PEM)
        if st is not None:
            res.check("warm-up: no errors", st["connect"] + st["read"] + st["write"] +
                      st["timeout"] + st["status"] == 0, st["text"][-400:])
        time.sleep(1)
        rss0 = d.rss_kib()
        print("\n== POST /v1/inspect ==", flush=True)
        st = run_wrk(res, args, d, "/v1/inspect", args.duration, "POST /v1/inspect", PEM)
        if st is not None:
            judge(res, "POST /v1/inspect", st, args.duration)
        time.sleep(1)
        rss1 = d.rss_kib()
        print("\n== GET /healthz ==", flush=True)
        st = run_wrk(res, args, d, "/healthz", args.duration, "GET /healthz")
        if st is not None:
            judge(res, "GET /healthz", st, args.duration)
        time.sleep(1)
        rss2 = d.rss_kib()
        res.number("VmRSS at start / after warm-up / after inspect / after healthz",
                   f"{rss_start} / {rss0} / {rss1} / {rss2}", "KiB")
        growth = max(rss1, rss2) - rss0
        res.number("RSS growth since the warm-up", f"{growth}", "KiB")
        if args.max_rss_growth_mib:
            bound = args.max_rss_growth_mib * 1024
            res.check(f"RSS growth below {args.max_rss_growth_mib} MiB", growth < bound,
                      f"{growth} KiB")
        else:
            # sanitizer builds: ASan's quarantine and shadow memory make RSS meaningless here
            res.number("RSS growth not checked (--max-rss-growth-mib 0)", growth, "KiB")
        r = R.http(d, "GET", "/healthz")
        res.check("/healthz 200 after the load", r.status == 200, repr(r))
        r = R.http(d, "POST", "/v1/inspect", open(PEM, "rb").read(),
                   {"Content-Type": "application/x-pem-file"})
        res.check("/v1/inspect 200 after the load", r.status == 200, repr(r))
        errs = sum(d.counts[p] for p in ("<0>", "<1>", "<2>", "<3>"))
        res.check("no error lines and no 5xx in the daemon's log",
                  errs == 0 and d.counts["5xx"] == 0,
                  f"{errs} error lines, {d.counts['5xx']} 5xx:\n{d.log(20)}")
        rc = d.stop()
        res.check("the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")
        d = None
    finally:
        if d is not None:
            d.kill()


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--duration", type=int, default=60, help="seconds per endpoint (default 60)")
    p.add_argument("--connections", type=int, default=400, help="wrk -c (default 400)")
    p.add_argument("--threads", type=int, default=2, help="wrk -t (default 2)")
    p.add_argument("--max-rss-growth-mib", type=int, default=RSS_BOUND_KIB // 1024,
                   help="RSS growth bound since the warm-up (default 16; 0: not checked)")
    p.add_argument("--wrk", default=shutil.which("wrk") or "wrk", help="the wrk binary")
    args = p.parse_args()
    if not 1 <= args.connections <= 1000:
        p.error("--connections: 1 to 1000 (libmicrohttpd's limit is 1024)")
    R.raise_nofile(args.connections + 1000)
    res = R.Results("robust.load")
    if not shutil.which(args.wrk):
        res.check("wrk is installed (Debian package wrk)", False, args.wrk)
        return res.finish()
    return R.main_wrapper(res, 2 * args.duration + WARMUP_S + 180, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
