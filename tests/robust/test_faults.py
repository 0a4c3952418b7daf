#!/usr/bin/env python3
"""robust.faults: strongmapd against a real slapd that is down, dies, stalls and comes back.

    test_faults.py --daemon build/daemon/strongmapd [--deadline 5] [--margin 2]

slapd (Debian's, in the foreground, on free loopback ports) serves examples/demo.ldif with an
AD-like schema (tests/data/schema/testad.schema); a stalled peer accepts TCP connections and
never answers. Every daemon runs with --cache-size 0, so that each verdict
goes to the directory (with the cache, lookups made before an outage keep answering 200).

1. Directory down at start: the daemon starts; /healthz 200; /readyz 503; /v1/inspect 200;
   /v1/verdict and /v1/accounts/{name} 503 directory-unavailable problem+json, fast; bad input
   still 400.
2. slapd starts: verdicts recover without restarting the daemon (time measured); /readyz 200;
   LDAP filter injection in account names finds nothing in the real directory.
3. slapd killed (SIGKILL) under a concurrent verdict load, then started again: requests
   started after the kill get 503 problem+json, none takes longer than deadline + margin (max
   latency measured), no connection errors; after the restart every verdict is 200 again
   (time to recovery measured).
4. A stalled peer as the only URI, plain ldap:// and ldaps://: verdicts get 503 within
   deadline + margin, sequentially and 3 at once; /healthz stays fast meanwhile.
5. A stalled peer as the first URI, slapd second: verdicts are answered within deadline +
   margin and fail over to slapd (200); /healthz stays fast meanwhile.
   For 4 and 5 the daemon runs ONE worker thread: with two, which request waits behind which
   depends on how libmicrohttpd's threads happen to accept the connections, and the checks
   would pass or fail by chance.

The deadline is the daemon's LDAP deadline for connect, each operation and TLS, set to 3 s with
--ldap-connect-timeout/--ldap-op-timeout/--ldap-tls-timeout (--deadline changes it; a daemon
without these flags has the built-in 5 s, lib/dir_ldap.c). The margin (2 s) covers a loaded
2-core machine running slapd, the daemon and this test: the measured overshoot is about 10 ms.
"Fast" (directory refusing connections) is 1.5 s; measured: about 1 ms. Recovery must come
within the backoff's cap (5 s, lib/dir_ldap_conn.c BACKOFF_MAX_MS) + the margin (+ 1 s of polling).

Prints one line per check and ends with "N passed, M failed" (exit 1 on a failure).
Needs slapd, ldap-utils and openssl.
"""

import argparse
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

BUDGET_S = 420
FAST_S = 1.5
BACKOFF_MAX_S = 5.0
LOAD_CLIENTS = 8
# Stalled peers: the daemon runs one worker thread (one LDAP handle, one backoff), so that
# which request waits on what does not depend on how connections spread over threads.
HEALTH_S = 1.0  # /healthz while the directory stalls (measured ~1 ms)
STALL_CLIENTS = 3
STALL_PAUSE_S = 0.5  # > the backoff's first step (100 ms)

ALICE = R.read_pem("alice-sid.pem").decode()
VERDICT = json.dumps({"certificate": ALICE})
JSON_CT = {"Content-Type": "application/json"}


def verdict(d, timeout=60.0):
    return R.http(d, "POST", "/v1/verdict", VERDICT, JSON_CT, timeout=timeout)


def problem_503_errors(r):
    """503 directory-unavailable problem+json with Retry-After (the 4xx check of
    R.problem_errors() does not apply)."""
    errs = []
    if r.status != 503:
        errs.append(f"status {r.status}")
    if r.ctype() != "application/problem+json":
        errs.append(f"Content-Type {r.ctype()!r}")
    else:
        try:
            doc = r.json()
            if doc.get("type") != "/problems/directory-unavailable" or doc.get("status") != 503:
                errs.append(f"problem {doc.get('type')} {doc.get('status')}")
            if R.SPEC is not None:
                e = R.SPEC.problem_error(doc)
                if e:
                    errs.append("Problem schema: " + e)
        except ValueError:
            errs.append("body is not JSON")
    if not r.headers.get("retry-after", "").isdigit():
        errs.append("no Retry-After")
    return errs


def allow_errors(r):
    if r.status != 200:
        return [f"{r!r}"]
    doc = r.json()
    if doc.get("outcome") != "allow" or (doc.get("account") or {}).get("sam") != "alice":
        return [f"outcome {doc.get('outcome')}, account {doc.get('account')}"]
    return []


class Load:
    """@n threads sending verdicts back to back, each on a fresh connection; every result is
    kept as (start, end, status, error)."""

    def __init__(self, d, n, timeout=60.0):
        self.d = d
        self.timeout = timeout
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def _run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                r = verdict(self.d, self.timeout)
                item = (t0, time.monotonic(), r.status, None if r.status == 200 else
                        (None if not problem_503_errors(r) else repr(r)))
            except OSError as e:
                item = (t0, time.monotonic(), None, f"{type(e).__name__}: {e}")
            with self.lock:
                self.results.append(item)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(self.timeout + 5)
        return sorted(self.results)


def concurrent(d, n, fn):
    """Run @fn(d) in @n threads at once; returns [(latency, response or exception)]."""
    out = [None] * n
    go = threading.Barrier(n)

    def one(i):
        go.wait()
        t0 = time.monotonic()
        try:
            out[i] = (None, fn(d))
        except OSError as e:
            out[i] = (time.monotonic() - t0, e)

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return [(o[1].elapsed if o[0] is None else o[0], o[1]) for o in out if o is not None]


class HealthProbe:
    """GET /healthz every 100 ms in a thread; latencies kept."""

    def __init__(self, d):
        self.d = d
        self.lat = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                r = R.http(self.d, "GET", "/healthz", timeout=60)
                self.lat.append(r.elapsed if r.status == 200 else float("inf"))
            except OSError:
                self.lat.append(float("inf"))
            time.sleep(0.1)

    def finish(self):
        self.stop.set()
        self.t.join(70)
        return self.lat


def daemon_for(args, uris, extra=(), threads=2):
    a = []
    for u in uris:
        a += ["--ldap-uri", u]
    return R.Daemon(args.daemon, a + ["--ldap-base", R.BASE_DN, "--cache-size", "0"] +
                    args.deadline_flags + list(extra), threads=threads)


def stop_daemon(res, d, what):
    if d is None:
        return
    rc = d.stop()
    res.check(f"{what}: the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")


# ---- phases -----------------------------------------------------------------------------------


def phase_down_then_up(res, args, slapd):
    print("\n== 1. directory down at start ==", flush=True)
    d = daemon_for(args, [slapd.uri])
    try:
        res.check("starts with the directory down", d.alive())
        r = R.http(d, "GET", "/healthz")
        res.check("/healthz 200", r.status == 200, repr(r))
        r = R.http(d, "GET", "/readyz")
        res.check("/readyz 503 directory-unavailable", not problem_503_errors(r),
                  "; ".join(problem_503_errors(r)))
        r = R.http(d, "POST", "/v1/inspect", ALICE, {"Content-Type": "application/x-pem-file"})
        res.check("/v1/inspect 200", r.status == 200, repr(r))
        lat = []
        bad = []
        for _ in range(20):
            r = verdict(d)
            lat.append(r.elapsed)
            bad += problem_503_errors(r)
        res.number("verdicts while down: max latency of 20", f"{max(lat) * 1000:.1f}", "ms")
        res.check("/v1/verdict 503 directory-unavailable problem+json", not bad,
                  "; ".join(sorted(set(bad))))
        res.check(f"/v1/verdict fails fast (< {FAST_S} s)", max(lat) < FAST_S,
                  f"max {max(lat):.3f} s")
        r = R.http(d, "GET", "/v1/accounts/alice")
        res.check("/v1/accounts/alice 503, fast", not problem_503_errors(r) and r.elapsed < FAST_S,
                  f"{r!r}")
        r = R.http(d, "POST", "/v1/verdict", json.dumps({"certificate": ALICE, "mode": 7}),
                   JSON_CT)
        errs = R.problem_errors(r.status, r.headers, r.body, 400, "bad-request")
        res.check("bad input still 400 while the directory is down", not errs, "; ".join(errs))

        print("\n== 2. slapd starts: recovery without a restart ==", flush=True)
        slapd.start()
        t_ready = time.monotonic()
        rec = None
        while time.monotonic() - t_ready < BACKOFF_MAX_S + args.margin + 1:
            r = verdict(d)
            if r.status == 200:
                rec = time.monotonic() - t_ready
                break
            time.sleep(0.05)
        res.number("time from slapd up to the first 200 verdict",
                   "never" if rec is None else f"{rec:.2f}", "s")
        res.check(f"verdicts recover within {BACKOFF_MAX_S + args.margin + 1:.0f} s",
                  rec is not None)
        if rec is not None:
            res.check("the verdict is alice's allow", not allow_errors(r),
                      "; ".join(allow_errors(r)))
        t0 = time.monotonic()
        ready = None
        while time.monotonic() - t0 < BACKOFF_MAX_S + args.margin + 1:
            r = R.http(d, "GET", "/readyz")
            if r.status == 200:
                ready = time.monotonic() - t_ready
                break
            time.sleep(0.1)
        res.number("time from slapd up to /readyz 200",
                   "never" if ready is None else f"{ready:.2f}", "s")
        res.check("/readyz 200 again", ready is not None)
        # every worker's handle, not only the first one's
        lat = []
        errs = []
        for _ in range(20):
            r = verdict(d)
            lat.append(r.elapsed)
            errs += allow_errors(r)
        res.check("20 more verdicts all 200 allow", not errs, "; ".join(errs[:3]))

        print("\n== 2b. LDAP filter injection against slapd ==", flush=True)
        r = R.http(d, "GET", "/v1/accounts/alice")
        res.check("control: /v1/accounts/alice finds alice",
                  r.status == 200 and (r.json().get("account") or {}).get("sam") == "alice",
                  repr(r))
        for name in ("*", "%2A", ")(", "*)(objectClass=*", "alice)(|(sAMAccountName=*",
                     "*)(%26(objectClass=user)", "%5C2a", "%5C00", "alice*", "a*e", "*alice",
                     "(objectClass=*)", "cn=*,cn=Users,dc=example,dc=com",
                     "*@example.com", "..%2f..%2fetc%2fpasswd", "S-1-5-21-*"):
            r = R.http(d, "GET", "/v1/accounts/" + name)
            if r.status == 400:  # e.g. "S-1-5-21-*": not a SID, refused before any search
                errs = R.problem_errors(r.status, r.headers, r.body, 400, "bad-request")
                res.check(f"GET /v1/accounts/{name}: 400 bad-request", not errs, "; ".join(errs))
                continue
            ok = r.status == 200
            doc = r.json() if ok else {}
            codes = [x.get("code") for x in doc.get("reasons", [])]
            res.check(f"GET /v1/accounts/{name}: no account found",
                      ok and doc.get("account") is None and "account_not_found" in codes,
                      f"{r!r}")
        r = R.http(d, "POST", "/v1/verdict",
                   json.dumps({"certificate": ALICE, "account": "*)(objectClass=*"}), JSON_CT)
        res.check("verdict with account *)(objectClass=*: no account resolved",
                  r.status == 200 and r.json().get("account") is None, repr(r))
    finally:
        if not d.alive():
            res.note("daemon log:\n" + d.log(30))
        stop_daemon(res, d, "down/up daemon")


def phase_kill_under_load(res, args, slapd):
    print("\n== 3. slapd killed under load, then restarted ==", flush=True)
    slapd.start()
    d = daemon_for(args, [slapd.uri])
    load = None
    try:
        load = Load(d, LOAD_CLIENTS)
        time.sleep(2.0)
        t_kill0 = time.monotonic()
        slapd.kill()  # returns once slapd is reaped: its sockets are closed
        t_kill = time.monotonic()
        time.sleep(4.0)
        t_restart = time.monotonic()
        slapd.start()
        t_ready = time.monotonic()
        time.sleep(BACKOFF_MAX_S + args.margin + 1)
        results = load.finish()
        load = None
        t_end = time.monotonic()

        before = [x for x in results if x[1] < t_kill0]
        after = [x for x in results if t_kill <= x[0] and x[1] < t_restart]
        window = [x for x in results if x[1] >= t_kill0 and x[0] < t_ready]
        errors = [x for x in results if x[3] is not None]
        res.number("requests before the kill / between kill and restart / in all",
                   f"{len(before)} / {len(after)} / {len(results)}")
        res.check("before the kill: all 200", before and all(x[2] == 200 for x in before),
                  f"{sum(x[2] != 200 for x in before)} not 200")
        res.check("no connection errors and no answer other than 200 or 503 problem+json",
                  not errors, "; ".join(e[3] for e in errors[:3]))
        res.check("after the kill: every request started later gets 503",
                  after and all(x[2] == 503 for x in after),
                  f"{sum(x[2] != 503 for x in after)} of {len(after)} not 503")
        lat = [x[1] - x[0] for x in window]
        worst = max(lat) if lat else float("nan")
        res.number("latency between kill and restart: p50 / p99 / max",
                   f"{R.percentile(lat, 50) * 1000:.1f} / {R.percentile(lat, 99) * 1000:.1f} / "
                   f"{worst * 1000:.1f}", "ms")
        bound = args.deadline + args.margin
        res.check(f"no request waits beyond the deadline + margin ({bound:.0f} s)",
                  lat and worst <= bound, f"max {worst:.3f} s")
        first_ok = next((x for x in results if x[0] >= t_ready and x[2] == 200), None)
        rec = None if first_ok is None else first_ok[1] - t_ready
        last_bad = max((x[1] for x in results if x[0] >= t_ready and x[2] != 200), default=None)
        full = t_ready if last_bad is None else last_bad
        res.number("recovery after the restart: first 200 / last non-200",
                   ("never" if rec is None else f"{rec:.2f} s") + " / " +
                   f"{full - t_ready:.2f} s")
        rec_bound = BACKOFF_MAX_S + args.margin
        res.check(f"verdicts recover within {rec_bound:.0f} s of slapd's restart, "
                  "no daemon restart",
                  rec is not None and full - t_ready <= rec_bound and d.alive(),
                  f"first 200 {rec}, last failure {full - t_ready:.2f} s")
        tail = [x for x in results if x[0] >= t_ready + rec_bound]
        res.check("at the end every verdict is 200", tail and all(x[2] == 200 for x in tail),
                  f"{sum(x[2] != 200 for x in tail)} of {len(tail)} not 200 "
                  f"(over {t_end - t_ready - rec_bound:.1f} s)")
    finally:
        if load is not None:
            load.finish()
        stop_daemon(res, d, "kill/restart daemon")


def stalled_checks(res, args, d, label, expect_status):
    """Sequential, then concurrent verdicts against a one-thread daemon whose first URI
    stalls, with /healthz probed meanwhile."""
    bound = args.deadline + args.margin
    lat = []
    statuses = []
    for _ in range(2):
        r = verdict(d)
        lat.append(r.elapsed)
        statuses.append(r.status)
        if expect_status == 503:
            errs = problem_503_errors(r)
            res.check(f"{label}: sequential verdict 503 directory-unavailable", not errs,
                      "; ".join(errs))
    res.number(f"{label}: sequential verdicts", ", ".join(
        f"{s} in {t:.2f} s" for s, t in zip(statuses, lat)))
    res.check(f"{label}: sequential verdicts answered within {bound:.0f} s", max(lat) <= bound,
              f"max {max(lat):.2f} s")
    if expect_status == 200:
        res.check(f"{label}: fails over to slapd (200)", statuses[-1] == 200,
                  f"statuses {statuses}")
    time.sleep(STALL_PAUSE_S)  # past the first backoff step: the next verdict tries again
    probe = HealthProbe(d)
    time.sleep(0.2)
    out = concurrent(d, STALL_CLIENTS, verdict)
    hl = probe.finish()
    clat = [x[0] for x in out]
    cst = [getattr(x[1], "status", type(x[1]).__name__) for x in out]
    res.number(f"{label}: {STALL_CLIENTS} concurrent verdicts", ", ".join(
        f"{s} in {t:.2f} s" for s, t in zip(cst, clat)))
    res.check(f"{label}: {STALL_CLIENTS} concurrent verdicts each answered within {bound:.0f} s",
              len(clat) == STALL_CLIENTS and max(clat) <= bound, f"max {max(clat):.2f} s")
    want = 200 if expect_status == 200 else 503
    res.check(f"{label}: concurrent verdicts {want}", all(s == want for s in cst), f"{cst}")
    worst = max(hl) if hl else float("inf")
    res.number(f"{label}: /healthz meanwhile: {len(hl)} requests, max", f"{worst:.3f}", "s")
    # Directory-bound requests run on the daemon's job pool with their connection suspended,
    # so libmicrohttpd's threads (and /healthz) never wait on the directory.
    res.check(f"{label}: /healthz stays fast (< {HEALTH_S} s) while verdicts wait on the "
              "directory", worst < HEALTH_S,
              f"max {worst:.2f} s")


def phase_stalled(res, args, slapd):
    stall = R.StalledPeer()
    ca = ["--ldap-ca-file", slapd.ca]
    try:
        for scheme in ("ldap", "ldaps"):
            print(f"\n== 4. stalled peer as the only URI ({scheme}://), one thread ==", flush=True)
            d = daemon_for(args, [f"{scheme}://127.0.0.1:{stall.port}/"], ca, threads=1)
            try:
                stalled_checks(res, args, d, f"only {scheme}:// stalled", 503)
                r = R.http(d, "GET", "/readyz", timeout=60)
                res.check(f"only {scheme}:// stalled: /readyz 503 within 1 s + margin",
                          r.status == 503 and r.elapsed <= 1 + args.margin, repr(r))
            finally:
                stop_daemon(res, d, f"stalled {scheme} daemon")
        slapd.start()
        for scheme, good in (("ldaps", slapd.tls_uri), ("ldap", slapd.uri)):
            print(f"\n== 5. stalled peer first, slapd second ({scheme}://), one thread ==",
                  flush=True)
            d = daemon_for(args, [f"{scheme}://127.0.0.1:{stall.port}/", good], ca, threads=1)
            try:
                stalled_checks(res, args, d, f"{scheme}:// stalled first", 200)
            finally:
                stop_daemon(res, d, f"stalled-first {scheme} daemon")
    finally:
        stall.close()


def run(res, args):
    tmp = R.make_tmpdir("sm-robust-faults.")
    slapd = None
    try:
        slapd = R.Slapd(tmp, tls=True)
        res.note(f"slapd ports {slapd.port} (ldap) / {slapd.tls_port} (ldaps); deadline "
                 f"{args.deadline} s, margin {args.margin} s")
        phase_down_then_up(res, args, slapd)
        phase_kill_under_load(res, args, slapd)
        phase_stalled(res, args, slapd)
    finally:
        if slapd is not None:
            slapd.kill()
        R.rmtree(tmp)


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--deadline", type=float, default=None,
                   help="LDAP connect / operation / TLS deadline in seconds given to the daemon "
                   "(default 3; 5, the built-in one, for a daemon without --ldap-op-timeout)")
    p.add_argument("--margin", type=float, default=2.0,
                   help="seconds allowed beyond the deadline (default 2)")
    args = p.parse_args()
    if R.has_flag(args.daemon, "--ldap-op-timeout"):
        args.deadline = args.deadline or 3.0
        ms = f"{int(args.deadline * 1000)}ms"
        args.deadline_flags = ["--ldap-connect-timeout", ms, "--ldap-op-timeout", ms,
                               "--ldap-tls-timeout", ms]
    else:
        if args.deadline not in (None, 5.0):
            p.error("this strongmapd has no --ldap-op-timeout: its deadline is 5 s")
        args.deadline = 5.0
        args.deadline_flags = []
    R.raise_nofile()
    res = R.Results("robust.faults")
    return R.main_wrapper(res, BUDGET_S, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
