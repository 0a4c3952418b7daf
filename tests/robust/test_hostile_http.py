#!/usr/bin/env python3
"""robust.hostile_http: attacks on the HTTP layer itself, each against a daemon of its own.

    test_hostile_http.py --daemon build/daemon/strongmapd

1. Request smuggling (RFC 9112 section 6): a malformed framing, then a second request pipelined
   on the same connection. strongmapd must answer the first with 400 problem+json and
   "Connection: close", close the connection, and never answer (nor log) the second. The cases
   libmicrohttpd refuses itself, before strongmapd sees them, must not answer the second either.
   Controls: a well-framed request followed by a second one gets both answered, so the check
   can tell a smuggled request from none.
2. Heads: Host missing or doubled (400), an unknown Expect (417; 100-continue still works), a NUL
   byte inside a header (also "Authorization: Bearer <token>\\0junk": 400, not the token's 200).
3. The header limit: requests around max_header get a real answer, or are closed with an access
   log line that says so (status=0), never closed while the log claims an answer.
4. Connection limits: a connection over "connections" is closed at once (not left in the listen
   backlog); "connections_per_ip" counts an IPv6 /64 as one client (run in a network namespace
   of its own with addresses on its loopback; skipped, and said so, where that is not allowed).
5. Log forging: a request path holding U+2028 (and U+0085, invalid UTF-8) in libmicrohttpd's
   own error message, in the access log and, through a directory entry's DN, in the decision
   log: every line stays printable ASCII and one line.

Prints one line per check and ends with "N passed, M failed" (exit 1 on a failure).
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

BUDGET_S = 240
DEMO_LDIF = os.path.join(R.EXAMPLES, "demo.ldif")
ALICE_PEM = R.read_pem("alice-sid.pem")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n")
PRINTABLE_LINE = re.compile(r"^<[0-7]>[\x20-\x7e]*$")


def statuses(out):
    """The status codes of the responses in @out, one after the other (each head, then as many
    bytes of body as its Content-Length says)."""
    found, i = [], 0
    while True:
        m = STATUS_LINE.match(out, i)
        if not m:
            return found
        found.append(int(m.group(1)))
        end = out.find(b"\r\n\r\n", i)
        if end < 0:
            return found
        cl = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", out[i:end], re.I)
        i = end + 4 + (int(cl.group(1)) if cl else 0)


def exchange(d, data, timeout=5.0, family=None, source=None, host=None):
    """Send @data on a new connection and read until the server closes or @timeout passes.
    Returns (bytes, how it ended: "close", "reset" or "timeout")."""
    if family is None:
        s = socket.create_connection((host or d.host, d.port), timeout=timeout)
    else:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host or d.host, d.port))
    out, end = b"", "close"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                end = "reset"
                break
            except socket.timeout:
                end = "timeout"
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out, end


def stopped(res, d, what):
    """Stop daemon @d; it must exit 0 (a sanitizer build exits otherwise on a leak or error)."""
    rc = d.stop()
    res.check(f"{what}: the daemon exits 0 on SIGTERM", rc == 0,
              f"exit status {rc}" + ("" if not hasattr(d, "log") else "\n" + d.log(30)))


def first_response(out):
    """(status, headers, body) of the first response in @out."""
    headers, body = R.split_raw(out)
    return R.parse_status(out), headers, body


# ---- 1. smuggling --------------------------------------------------------------------------------

# strongmapd's own answer: 400 bad-request, Connection: close. Each has a pipelined request
# after it (smuggled()).
FRAMING = [
    ("Content-Length and Transfer-Encoding: chunked",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding: chunked, then Content-Length",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 5\r\n\r\n0\r\n\r\n"),
    ("two different Content-Length values (0, then the size of a request)",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n"),
    ("two different Content-Length values (5, then 0)",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\n"
     b"hello"),
    ("Transfer-Encoding: identity",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n"),
    ("Transfer-Encoding: gzip, chunked",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
     b"0\r\n\r\n"),
    ("Transfer-Encoding: chunked twice",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("Transfer-Encoding in an HTTP/1.0 request",
     b"POST /v1/inspect HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("a blank before the colon of Transfer-Encoding, with Content-Length: 0",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n"
     b"Content-Length: 0\r\n\r\n"),
    ("Transfer-Encoding folded (obs-fold) onto a second line",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n"
     b"Content-Length: 0\r\n\r\n"),
    ("Content-Length with a NUL and a second number",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 0\x0044\r\n\r\n"),
    ("a bare CR inside a header value",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nX-A: b\rTransfer-Encoding: chunked\r\n"
     b"Content-Length: 0\r\n\r\n"),
    ("a NUL byte in the request target",
     b"GET /healthz\x00/../metrics HTTP/1.1\r\nHost: t\r\n\r\n"),
]

# libmicrohttpd refuses these itself (its own text/html answer, or none): the pipelined request
# must not be answered either.
MHD_FRAMING = [
    ("Content-Length: 1, 2 (a list)",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 1, 2\r\n\r\nx"),
    ("Content-Length: -5",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n"),
    ("chunk size of 2^72",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"FFFFFFFFFFFFFFFFFF\r\nabc\r\n"),
    ("malformed chunk header",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"
     b"0\r\n\r\n"),
    ("a header line without a colon",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding chunked\r\n\r\n"),
    ("a NUL byte in a header name (the line has no colon for libmicrohttpd)",
     b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nX-A\x00B: a\r\nContent-Length: 0\r\n\r\n"),
]


def smuggled(n):
    """A second request for a path no client asks for; it must never be answered or logged."""
    return f"GET /smuggled-{n} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


def check_smuggling(res, d):
    for i, (name, data) in enumerate(FRAMING):
        out, end = exchange(d, data + smuggled(i))
        st, headers, body = first_response(out)
        errs = R.problem_errors(st, headers, body, 400, "bad-request")
        if headers.get("connection", "").lower() != "close":
            errs.append(f"Connection: {headers.get('connection')!r}, expected close")
        if end != "close":
            errs.append(f"the connection was not closed ({end})")
        if len(statuses(out)) != 1:
            errs.append(f"{len(statuses(out))} responses: {statuses(out)}")
        res.check(f"smuggling: {name}: one 400 problem+json, connection closed",
                  not errs, "; ".join(errs) + f" [{out[:200]!r}]")
    base = len(FRAMING)
    for i, (name, data) in enumerate(MHD_FRAMING):
        out, end = exchange(d, data + smuggled(base + i))
        st = statuses(out)
        # (libmicrohttpd 0.9.75 sends the head of some of its answers twice; the second copy
        # is read as part of the first one's body here, and holds no problem document)
        ok = (len(st) <= 1 and all(400 <= s <= 499 for s in st) and end != "timeout" and
              b"/problems/" not in out)
        res.check(f"smuggling (libmicrohttpd's own answer): {name}: "
                  f"{st[0] if st else 'no answer'}, connection closed, nothing more",
                  ok, f"statuses {st}, end {end}")
    # controls: well-framed requests with a second one pipelined get both answered
    good = [
        ("Content-Length", b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\n"
         b"Content-Type: application/x-pem-file\r\nContent-Length: %d\r\n\r\n" % len(ALICE_PEM)
         + ALICE_PEM),
        ("Transfer-Encoding: chunked", b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\n"
         b"Content-Type: application/x-pem-file\r\nTransfer-Encoding: chunked\r\n\r\n"
         + b"%x\r\n" % len(ALICE_PEM) + ALICE_PEM + b"\r\n0\r\n\r\n"),
        ("Content-Length twice, the same value", b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\n"
         b"Content-Type: application/x-pem-file\r\nContent-Length: %d\r\nContent-Length: %d"
         b"\r\n\r\n" % (len(ALICE_PEM), len(ALICE_PEM)) + ALICE_PEM),
    ]
    for name, data in good:
        out, _ = exchange(d, data + b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        res.check(f"control: {name} and a pipelined request: both answered",
                  statuses(out) == [200, 200], f"statuses {statuses(out)}")
    time.sleep(0.3)  # the access log lines of the last requests
    log = d.log(400)
    res.check("no smuggled request reached the access log", "/smuggled-" not in log,
              "\n".join(line for line in log.splitlines() if "/smuggled-" in line))


# ---- 2. heads ------------------------------------------------------------------------------------


def check_heads(res, d):
    cases = [
        ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad-request"),
        ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
         "bad-request"),
        ("Host with a comma", b"GET /healthz HTTP/1.1\r\nHost: a, b\r\n\r\n", 400,
         "bad-request"),
        ("a NUL byte in a header value",
         b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", 400, "bad-request"),
        ("Expect: something-else", b"GET /healthz HTTP/1.1\r\nHost: t\r\nExpect: tea\r\n\r\n",
         417, "expectation-failed"),
        ("Expect: 100-continue twice", b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\n"
         b"Expect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", 417,
         "expectation-failed"),
    ]
    for name, data, status, code in cases:
        out, end = exchange(d, data)
        st, headers, body = first_response(out)
        errs = R.problem_errors(st, headers, body, status, code, "/healthz" if b"GET /healthz"
                                in data else "/v1/inspect", data.split(b" ")[0].decode())
        if end != "close":
            errs.append(f"connection not closed ({end})")
        res.check(f"head: {name}: {status} {code}", not errs, "; ".join(errs))
    out, _ = exchange(d, b"GET /healthz HTTP/1.0\r\n\r\n")
    res.check("head: HTTP/1.0 without Host: 200", statuses(out) == [200], repr(out[:120]))
    # 100-continue stays supported: "100 Continue" first, then the answer
    s = socket.create_connection((d.host, d.port), timeout=5)
    try:
        s.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file"
                  b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(ALICE_PEM))
        first = s.recv(1024)
        s.sendall(ALICE_PEM)
        rest = b""
        while not R.response_complete(rest):
            c = s.recv(65536)
            if not c:
                break
            rest += c
    finally:
        s.close()
    res.check("head: Expect: 100-continue: 100 Continue, then 200",
              first.startswith(b"HTTP/1.1 100 ") and R.parse_status(rest) == 200,
              f"{first[:40]!r} / {rest[:40]!r}")


def check_bearer_nul(res, binary):
    secret = "tok-SECRET-0123456789"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    d = R.Daemon(binary, ["--token", f"portal:{digest}:check"])
    try:
        req = (b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file\r\n"
               b"Authorization: Bearer %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n")
        out, _ = exchange(d, req % (secret.encode(), len(ALICE_PEM)) + ALICE_PEM)
        res.check("Bearer: the token itself: 200", statuses(out) == [200], repr(out[:100]))
        out, _ = exchange(d, req % (secret.encode() + b"\x00junk", len(ALICE_PEM)) + ALICE_PEM)
        st, headers, body = first_response(out)
        errs = R.problem_errors(st, headers, body, 400, "bad-request", "/v1/inspect", "POST")
        res.check("Bearer: the token, a NUL and more bytes: 400, not the token's 200", not errs,
                  "; ".join(errs))
    finally:
        stopped(res, d, "Bearer")


# ---- 3. the header limit -----------------------------------------------------------------------


def check_header_limit(res, binary):
    limit = 8192
    d = R.Daemon(binary, ["--max-header", str(limit)], keep_lines=5000)
    results = []
    try:
        # three headers (Host, X-Pad, Connection), 64 bytes of bookkeeping each; a path no
        # route has (404), one per request so that the access log line can be found
        for i, size in enumerate(range(limit - 700, limit + 5000, 37)):
            path = f"/limit-{i}"
            head = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: ".encode()
            pad = size - len(head) - 4
            data = head + b"p" * pad + b"\r\n\r\n"
            out, end = exchange(d, data, timeout=5)
            results.append((path, size, size + 3 * 64, R.parse_status(out), end))
        time.sleep(0.3)
        log = d.log(5000)
        logged = {}
        for line in log.splitlines():
            m = re.search(r'path="(/limit-\d+)" status=(\d+)', line)
            if m:
                logged[m.group(1)] = int(m.group(2))
        wrong, unanswered_within, kinds = [], [], {}
        for path, size, cost, status, end in results:
            st = logged.get(path)
            kind = f"{status}" if status else "closed"
            kinds[kind] = kinds.get(kind, 0) + 1
            if cost <= limit and status != 404:
                unanswered_within.append(f"{size} bytes: {status or end}")
            if status is None and st not in (None, 0):
                wrong.append(f"{size} bytes: closed unanswered, logged status={st}")
            if status is not None and st is not None and st != status:
                wrong.append(f"{size} bytes: answered {status}, logged status={st}")
        res.note("heads of %d to %d bytes: %s" % (results[0][1], results[-1][1], kinds))
        res.check(f"header limit {limit}: every request within it answered 404", not
                  unanswered_within, ", ".join(unanswered_within[:5]))
        res.check("header limit: the access log says what happened to each request",
                  not wrong and len(logged) == len(results), ", ".join(wrong[:5]) +
                  f" ({len(logged)} of {len(results)} requests logged)")
        over = [r for r in results if r[2] > limit and r[3] == 431]
        res.check("header limit: a head just over it gets 431", bool(over), str(kinds))
    finally:
        stopped(res, d, "header limit")


# ---- 4. connection limits ----------------------------------------------------------------------


def check_conn_limit(res, binary):
    d = R.Daemon(binary, ["--connections", "2"], threads=2)
    held = []
    try:
        for _ in range(2):
            s = socket.create_connection((d.host, d.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            got = b""
            while not R.response_complete(got):
                got += s.recv(4096)
            held.append(s)
        t0 = time.monotonic()
        out, end = exchange(d, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", timeout=3)
        took = time.monotonic() - t0
        res.number("a connection over the limit of 2: ended after", f"{took * 1000:.0f}", "ms")
        res.check("connections: one over the limit is closed at once, unanswered",
                  out == b"" and end in ("close", "reset") and took < 2.0,
                  f"{end} after {took:.1f} s, {out[:60]!r}")
        held.pop().close()
        time.sleep(0.3)
        out, _ = exchange(d, b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        m = re.search(rb'strongmapd_http_connections_refused_total\{limit="connections"\} (\d+)',
                      out)
        res.check("connections: below the limit again, a new one is served; the refusal counted",
                  R.parse_status(out) == 200 and m is not None and int(m.group(1)) >= 1,
                  repr(out[:100]))
    finally:
        for s in held:
            s.close()
        stopped(res, d, "connection limit")


NETNS_ADDRS = ("2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3", "2001:db8:2::2")


class V6Daemon:
    """strongmapd on [@addr]:0 (robustlib's Daemon listens on 127.0.0.1)."""

    def __init__(self, binary, addr, args):
        self.host = addr
        self.proc = R.spawn([binary, "-c", "/dev/null", "--allow-root", "--threads", "2",
                             "--listen", f"[{addr}]:0"] + args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self.port = None
        deadline = time.monotonic() + R.START_TIMEOUT
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline().decode("utf-8", "replace")
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"listening on \[[0-9a-f:]+\]:(\d+)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            R.stop_process(self.proc)
            raise RuntimeError("strongmapd did not start: " + "".join(self.lines))
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def stop(self):
        return R.stop_process(self.proc)


def netns_part(args):
    """Run inside a network namespace of its own: loopback up with the addresses above."""
    res = R.Results("per-ip")
    cmds = [["ip", "link", "set", "lo", "up"]] + [
        ["ip", "-6", "addr", "add", f"{a}/64", "dev", "lo", "nodad"] for a in NETNS_ADDRS]
    for cmd in cmds:
        subprocess.run(cmd, check=True, capture_output=True, timeout=10)
    secret = "netns-SECRET-0123456789"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    # a token: a listener off loopback may need authentication configured
    d = V6Daemon(args.daemon, NETNS_ADDRS[0], ["--connections-per-ip", "1", "--token",
                                               f"t:{digest}:check"])
    held = None
    try:
        req = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        held = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        held.settimeout(5)
        held.bind((NETNS_ADDRS[1], 0))
        held.connect((NETNS_ADDRS[0], d.port))
        held.sendall(req)
        got = b""
        while not R.response_complete(got):
            got += held.recv(4096)
        out, end = exchange(d, req, timeout=3, family=socket.AF_INET6, source=NETNS_ADDRS[2],
                            host=NETNS_ADDRS[0])
        res.check("per-IP limit 1: a second connection from the same IPv6 /64 is closed at once",
                  out == b"" and end in ("close", "reset"), f"{end}, {out[:60]!r}")
        out, _ = exchange(d, req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"),
                          family=socket.AF_INET6, source=NETNS_ADDRS[3], host=NETNS_ADDRS[0])
        res.check("per-IP limit 1: a connection from another /64 is served",
                  statuses(out) == [200], repr(out[:80]))
    finally:
        if held:
            held.close()
        stopped(res, d, "per-IP")
    return res.finish()


def check_per_ip(res, args):
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-n", "true"], capture_output=True) \
        if unshare else None
    if not probe or probe.returncode != 0:
        res.note("SKIPPED: the per-IP /64 check needs a network namespace (unshare -n as root)")
        return
    p = subprocess.run([unshare, "-n", sys.executable, os.path.abspath(__file__), "--daemon",
                        args.daemon, "--netns-part"], capture_output=True, text=True, timeout=60)
    for line in p.stdout.splitlines():
        if line.startswith(("ok ", "FAIL ")):
            name = line.split(" ", 1)[1].strip()
            res.check(name.split(": ", 1)[0] if line.startswith("FAIL") else name,
                      line.startswith("ok "), name)
    res.check("the network-namespace part ran to the end", p.returncode == 0,
              p.stdout[-1500:] + p.stderr[-1500:])


# ---- 5. log forging ----------------------------------------------------------------------------

FORGED = "request id=00000000-1 client=10.0.0.1 method=GET path=\"/forged\" status=200"


def check_log_lines(res, what, lines):
    bad = [line for line in lines if not PRINTABLE_LINE.match(line)]
    res.check(f"{what}: every log line is printable ASCII", not bad, repr(bad[:3]))
    forged = [line for line in lines if line.startswith(FORGED) or line.startswith("request id=0")]
    res.check(f"{what}: no line starts with the forged text", not forged, repr(forged[:3]))


def check_mhd_message(res, binary):
    """libmicrohttpd names the (decoded) request path when it cannot send a response: make it
    fail by resetting the connection while a directory lookup stalls."""
    peer = R.StalledPeer()
    d = R.Daemon(binary, ["--ldap-uri", f"ldap://127.0.0.1:{peer.port}/", "--ldap-base",
                          R.BASE_DN, "--ldap-op-timeout", "300ms", "--ldap-connect-timeout",
                          "300ms"])
    path = "/v1/accounts/x%E2%80%A8" + FORGED.replace(" ", "%20").replace('"', "%22")
    try:
        seen = False
        for _ in range(10):
            s = socket.create_connection((d.host, d.port), timeout=5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            time.sleep(0.05)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # RST: the response cannot be sent
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not seen:
                seen = "libmicrohttpd: Failed to send" in d.log(200)
                time.sleep(0.05)
            if seen:
                break
        lines = [x for x in d.log(400).splitlines() if "libmicrohttpd:" in x]
        res.check("log forging: libmicrohttpd logged its message with the request path", seen,
                  "the message did not come: " + d.log(20))
        res.check("log forging: U+2028 in libmicrohttpd's message is written as \\xe2\\x80\\xa8",
                  any("\\xe2\\x80\\xa8" in x for x in lines), repr(lines[:2]))
    finally:
        stopped(res, d, "libmicrohttpd message")
        peer.close()
    check_log_lines(res, "log forging (libmicrohttpd)", d.log(400).splitlines())


def check_access_log(res, binary):
    d = R.Daemon(binary, ["--ldif", DEMO_LDIF])
    try:
        for raw in (b"/x\xc2\x85" + FORGED.encode(), b"/x\xe2\x80\xa8" + FORGED.encode(),
                    b"/x\xff\xfe\xe2\x80" + FORGED.encode()):
            exchange(d, b"GET " + raw.replace(b" ", b"%20") + b" HTTP/1.1\r\nHost: t\r\n"
                     b"Connection: close\r\n\r\n")
        time.sleep(0.3)
    finally:
        stopped(res, d, "access log")
    check_log_lines(res, "log forging (access log, raw bytes in the path)",
                    d.log(400).splitlines())


EVIL_DN = "cn=e\u2028" + FORGED + "\u0085x,cn=Users,dc=example,dc=com"


def check_decision_log(res, binary, tmp):
    ldif = os.path.join(tmp, "evil.ldif")
    dn64 = base64.b64encode(EVIL_DN.encode()).decode()
    cn64 = base64.b64encode(EVIL_DN.split(",")[0][3:].encode()).decode()
    with open(ldif, "w", encoding="ascii") as f:
        f.write("dn: dc=example,dc=com\nobjectClass: top\nobjectClass: domain\ndc: example\n\n"
                "dn: cn=Users,dc=example,dc=com\nobjectClass: top\nobjectClass: container\n"
                "cn: Users\n\n"
                f"dn:: {dn64}\nobjectClass: top\nobjectClass: user\ncn:: {cn64}\n"
                "sAMAccountName: evil\nuserPrincipalName: evil@example.com\n"
                "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==\n"
                "whenCreated: 20240101000000.0Z\nuserAccountControl: 512\n")
    log = os.path.join(tmp, "decisions.jsonl")
    d = R.Daemon(binary, ["--ldif", ldif, "--decision-log", log])
    try:
        r = R.http(d, "POST", "/v1/verdict", json.dumps(
            {"account": "evil", "certificate": ALICE_PEM.decode()}),
            {"Content-Type": "application/json"})
        res.check("decision log: the verdict for the account with U+2028 in its DN: 200",
                  r.status == 200, repr(r))
    finally:
        stopped(res, d, "decision log")
    with open(log, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")[:-1]
    res.check("decision log: one line, ASCII only", len(lines) == 1 and all(
        0x20 <= b < 0x7f for b in lines[0]) if lines else False, repr(data[:300]))
    try:
        doc = json.loads(lines[0])
        res.check("decision log: the DN reads back intact", doc.get("account") == EVIL_DN,
                  repr(doc.get("account")))
    except (IndexError, ValueError) as e:
        res.check("decision log: the line is JSON", False, str(e))


# ---- main ----------------------------------------------------------------------------------------


def run(res, args):
    tmp = R.make_tmpdir("sm-hostile-http-")
    try:
        d = R.Daemon(args.daemon, ["--ldif", DEMO_LDIF])
        try:
            check_smuggling(res, d)
            check_heads(res, d)
            res.check("the daemon still runs", d.alive())
        finally:
            rc = d.stop()
            res.check("the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")
        check_bearer_nul(res, args.daemon)
        check_header_limit(res, args.daemon)
        check_conn_limit(res, args.daemon)
        check_per_ip(res, args)
        check_mhd_message(res, args.daemon)
        check_access_log(res, args.daemon)
        check_decision_log(res, args.daemon, tmp)
    finally:
        R.rmtree(tmp)


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--netns-part", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.netns_part:
        return netns_part(args)
    R.raise_nofile()
    res = R.Results("robust.hostile_http")
    return R.main_wrapper(res, BUDGET_S, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
