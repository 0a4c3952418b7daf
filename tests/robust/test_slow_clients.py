#!/usr/bin/env python3
"""robust.slow_clients: 500 clients trickling partial requests do not stop normal clients.

    test_slow_clients.py --daemon build/daemon/strongmapd [--slow 500] [--normal 300]

One strongmapd (2 threads, the demo directory) on a free loopback port.

1. 500 connections, each sending a byte about once a second: half of them the request line
   ("GET /healthz?aaaa..." never ending), half a header after a complete request line
   ("X-Slow: aaaa..." never ending). While they trickle, 300 normal requests (GET /healthz and
   POST /v1/inspect alternately, each on a fresh connection, one every 30 ms: about 10 s) must
   all succeed, with p50 < 100 ms and p99 < 500 ms (measured: 1-3 ms); the slow clients are then
   closed and the daemon still answers.
2. When the build has --idle-timeout and --request-timeout: a daemon with --idle-timeout 2
   --request-timeout 3 must itself close the trickling connections: those past their request
   line within 3 s + margin, the others within 2 + 3 s + margin (api/conn.c: a connection has
   idle + request time for its first request, and request time once its request line is in),
   while normal requests keep succeeding.

Margins: a 2-core machine runs the daemon, this script's 500 sockets and its normal client; the
latency bounds are 30 to 100 times the measured values, the closing margin 2 s over a deadline
that the daemon's watchdog checks every 250 ms. The slow clients stay within
libmicrohttpd's connection limit (1024) and the default of no per-IP limit.

Prints one line per check and ends with "N passed, M failed" (exit 1 on a failure).
"""

import argparse
import os
import select
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

BUDGET_S = 240
P50_S = 0.100
P99_S = 0.500
ROUND_S = 1.0  # each slow client sends a byte about this often
NORMAL_GAP_S = 0.03
CLOSE_MARGIN_S = 2.0
ALICE = R.read_pem("alice-sid.pem")


class SlowClients:
    """@n connections; a thread sends one byte on each, round after round. Connections the
    server closes are noted with the time."""

    def __init__(self, d, n):
        self.socks = []
        self.kind = []  # "line" (request line unfinished) or "header" (request line sent)
        self.opened = []
        self.closed_at = {}  # index -> monotonic time the server closed it
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.bytes_sent = 0
        for i in range(n):
            s = socket.create_connection((d.host, d.port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            head = b"GET /healthz?" if i % 2 == 0 else \
                b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: "
            s.send(head)
            self.socks.append(s)
            self.kind.append("line" if i % 2 == 0 else "header")
            self.opened.append(time.monotonic())
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        """Send one byte on the next connection every ROUND_S / n seconds; meanwhile poll all
        of them, so that a close by the server is seen within milliseconds."""
        n = len(self.socks)
        poller = select.poll()
        fds = {}
        for i, s in enumerate(self.socks):
            poller.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
            fds[s.fileno()] = i
        step = ROUND_S / n
        i = 0
        next_send = time.monotonic()
        while not self.stop.is_set():
            wait_ms = max(0.0, next_send - time.monotonic()) * 1000
            for fd, _ in poller.poll(wait_ms):
                k = fds[fd]
                try:
                    data = self.socks[k].recv(65536)  # an answer (e.g. 431) is dropped
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._closed(k)
                    poller.unregister(fd)
            now = time.monotonic()
            if now < next_send:
                continue
            if i not in self.closed_at:
                try:
                    self.socks[i].send(b"a")
                    self.bytes_sent += 1
                except BlockingIOError:
                    pass
                except OSError:
                    pass  # reset: poll() reports it
            i = (i + 1) % n
            next_send = max(next_send + step, now - ROUND_S)

    def _closed(self, i):
        with self.lock:
            self.closed_at.setdefault(i, time.monotonic())

    def open_count(self):
        with self.lock:
            return len(self.socks) - len(self.closed_at)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        for s in self.socks:
            s.close()


def normal_requests(d, n, gap=NORMAL_GAP_S):
    """@n requests, alternately GET /healthz and POST /v1/inspect; returns (latencies,
    failures)."""
    lat, bad = [], []
    for i in range(n):
        try:
            if i % 2 == 0:
                r = R.http(d, "GET", "/healthz", timeout=30)
            else:
                r = R.http(d, "POST", "/v1/inspect", ALICE,
                           {"Content-Type": "application/x-pem-file"}, timeout=30)
            lat.append(r.elapsed)
            if r.status != 200:
                bad.append(repr(r))
        except OSError as e:
            bad.append(f"{type(e).__name__}: {e}")
        time.sleep(gap)
    return lat, bad


def report_latency(res, label, lat, bad, n):
    p50, p99 = R.percentile(lat, 50), R.percentile(lat, 99)
    worst = max(lat) if lat else float("nan")
    res.number(f"{label}: {len(lat)} normal requests, p50 / p99 / max",
               f"{p50 * 1000:.1f} / {p99 * 1000:.1f} / {worst * 1000:.1f}", "ms")
    res.check(f"{label}: all {n} normal requests succeed", not bad and len(lat) == n,
              "; ".join(bad[:3]))
    res.check(f"{label}: p50 < {P50_S * 1000:.0f} ms and p99 < {P99_S * 1000:.0f} ms",
              lat and p50 < P50_S and p99 < P99_S, f"p50 {p50:.3f} s, p99 {p99:.3f} s")


def phase_trickle(res, args):
    print(f"\n== 1. {args.slow} slow clients, {args.normal} normal requests ==", flush=True)
    d = R.Daemon(args.daemon, ["--ldif", os.path.join(R.EXAMPLES, "demo.ldif")], threads=2)
    slow = None
    try:
        lat0, bad0 = normal_requests(d, 40, gap=0.0)
        res.number("baseline without slow clients: p50 / p99",
                   f"{R.percentile(lat0, 50) * 1000:.1f} / {R.percentile(lat0, 99) * 1000:.1f}",
                   "ms")
        t0 = time.monotonic()
        slow = SlowClients(d, args.slow)
        res.number(f"{args.slow} slow connections opened in", f"{time.monotonic() - t0:.2f}", "s")
        time.sleep(2 * ROUND_S)
        res.check(f"all {args.slow} slow connections accepted and open",
                  slow.open_count() == args.slow, f"{slow.open_count()} open")
        lat, bad = normal_requests(d, args.normal)
        report_latency(res, "while they trickle", lat, bad, args.normal)
        res.number("slow connections still open / bytes trickled",
                   f"{slow.open_count()} / {slow.bytes_sent}")
        res.check("the daemon runs", d.alive())
        slow.close()
        slow = None
        time.sleep(0.5)
        lat, bad = normal_requests(d, 20, gap=0.0)
        res.check("after closing them: normal requests succeed", not bad and len(lat) == 20,
                  "; ".join(bad[:3]))
        rc = d.stop()
        res.check("the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")
        d = None
    finally:
        if slow is not None:
            slow.close()
        if d is not None:
            d.kill()


def phase_deadlines(res, args):
    if not (R.has_flag(args.daemon, "--request-timeout") and
            R.has_flag(args.daemon, "--idle-timeout")):
        res.note("this strongmapd has no --request-timeout/--idle-timeout: part 2 skipped")
        return
    idle, req = 2, 3
    print(f"\n== 2. --idle-timeout {idle} --request-timeout {req}: the daemon cuts slow "
          "clients ==", flush=True)
    d = R.Daemon(args.daemon, ["--ldif", os.path.join(R.EXAMPLES, "demo.ldif"),
                               "--idle-timeout", str(idle), "--request-timeout", str(req)],
                 threads=2)
    slow = None
    try:
        n = min(args.slow, 200)
        slow = SlowClients(d, n)
        # normal requests during the cut (about 6 s)
        lat, bad = normal_requests(d, 200, gap=NORMAL_GAP_S)
        time.sleep(max(0.0, slow.opened[-1] + idle + req + CLOSE_MARGIN_S - time.monotonic()))
        report_latency(res, "while the daemon cuts slow clients", lat, bad, 200)
        for kind, bound in (("header", req), ("line", idle + req)):
            idx = [i for i in range(n) if slow.kind[i] == kind]
            took = [slow.closed_at[i] - slow.opened[i] for i in idx if i in slow.closed_at]
            still = len(idx) - len(took)
            res.number(f"slow clients ({kind}): closed by the daemon after min / max",
                       f"{min(took):.2f} / {max(took):.2f}" if took else "-", "s")
            what = "header" if kind == "header" else "request line"
            res.check(f"every slow client with an unfinished {what} "
                      f"is closed within {bound} s + {CLOSE_MARGIN_S:.0f} s",
                      still == 0 and max(took) <= bound + CLOSE_MARGIN_S,
                      f"{still} still open" + (f", max {max(took):.2f} s" if took else ""))
            res.check(f"... and not before {bound / 2} s", took and min(took) >= bound / 2,
                      f"min {min(took):.2f} s" if took else "")
        slow.close()
        slow = None
        lat, bad = normal_requests(d, 20, gap=0.0)
        res.check("afterwards: normal requests succeed", not bad and len(lat) == 20,
                  "; ".join(bad[:3]))
        rc = d.stop()
        res.check("the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")
        d = None
    finally:
        if slow is not None:
            slow.close()
        if d is not None:
            d.kill()


def run(res, args):
    phase_trickle(res, args)
    phase_deadlines(res, args)


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--slow", type=int, default=500, help="slow clients (default 500)")
    p.add_argument("--normal", type=int, default=300, help="normal requests (default 300)")
    args = p.parse_args()
    if not 1 <= args.slow <= 900:
        p.error("--slow: 1 to 900 (libmicrohttpd's connection limit is 1024)")
    R.raise_nofile(args.slow + 1000)
    res = R.Results("robust.slow_clients")
    return R.main_wrapper(res, BUDGET_S, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
