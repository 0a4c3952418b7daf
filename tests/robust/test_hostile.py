#!/usr/bin/env python3
"""robust.hostile: a corpus of hostile requests through the HTTP API.

    test_hostile.py --daemon build/daemon/strongmapd

One strongmapd (2 threads, the demo directory examples/demo.ldif) on a free loopback port.
Each case sends one hostile request and checks the answer; after EACH case /healthz must
answer 200 and a normal POST /v1/inspect (examples/certs/alice-sid.pem) 200 with one
certificate, and the process must still run.

Expected answers, by who gives them:
- "problem": strongmapd's handler answers: a 4xx application/problem+json (RFC 9457) with the
  given status and problem type, valid against openapi/strongmapd.yaml's Problem schema, with
  a status the document lists for the route.
- "mhd": libmicrohttpd 0.9.75 refuses the request before strongmapd sees it and answers with
  its own small HTML page (414 URI too long, 431 header fields too large, 400 malformed, 413
  chunk size too large, and 505 for unknown HTTP versions), or closes the connection without
  an answer ("close"), or waits for more input ("wait": a request line made of NUL bytes or
  blank lines is skipped as leading empty lines). Each case lists the outcomes allowed for
  it; the table printed at the end says which one happened. Connections left waiting must be
  closed by the server within its idle timeout + 10 s; that is checked at the end (the daemon
  gets --idle-timeout 10 when it has the flag; else its built-in 30 s, API_CONN_TIMEOUT_S).
- "not found": account names that try LDAP filter injection or path traversal are names like
  any other: GET /v1/accounts/{name} answers 200 with "account": null and the reason
  account_not_found (an unknown account is an answer, not an error: see the API tests), and
  the answer must never be a file's content.

Prints one line per check and ends with "N passed, M failed" (exit 1 on a failure). python3
stdlib; python3-yaml and python3-jsonschema (scripts/deps.sh) add the schema checks.
"""

import argparse
import json
import os
import random
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

# The idle timeout the daemon gets (--idle-timeout) when it has the flag; else its built-in
# API_CONN_TIMEOUT_S (30 s).
IDLE_TIMEOUT_S = 10.0
IDLE_MARGIN_S = 10.0  # the idle check: MHD looks at timeouts on its own schedule; a loaded box
HEALTH_LATENCY_S = 2.0  # /healthz during a trickling client (normally ~1 ms)
BUDGET_S = 240

ALICE_PEM = R.read_pem("alice-sid.pem")
ALICE_DER = R.pem_to_der(ALICE_PEM)
JSON_CT = {"Content-Type": "application/json"}
RNG = random.Random(20261125)  # the same "random" bytes every run
DER_CT = {"Content-Type": "application/pkix-cert"}
PEM_CT = {"Content-Type": "application/x-pem-file"}


# ---- DER --------------------------------------------------------------------------------------


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + length + content


def children(buf):
    """The TLVs in @buf: [(tag, whole TLV, content)] (definite lengths only)."""
    out, i = [], 0
    while i < len(buf):
        tag, n, j = buf[i], buf[i + 1], i + 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[j:j + k], "big")
            j += k
        out.append((tag, buf[i:j + n], buf[j:j + n]))
        i = j + n
    return out


SAN_OID = bytes.fromhex("0603551d11")  # 2.5.29.17


def san_certificate(n, name=lambda i: b"a"):
    """alice-sid.pem with its subjectAltName replaced by @n dNSName entries; the signature is
    the original one (it no longer verifies, which inspection does not check)."""
    ((_, _, cert),) = children(ALICE_DER)
    tbs, alg, sig = children(cert)
    names = b"".join(tlv(0x82, name(i)) for i in range(n))
    san = tlv(0x30, SAN_OID + tlv(0x04, tlv(0x30, names)))
    fields = []
    for tag, whole, content in children(tbs[2]):
        if tag == 0xA3:  # [3] extensions
            exts = [e[1] for e in children(children(content)[0][2]) if not e[2].startswith(SAN_OID)]
            whole = tlv(0xA3, tlv(0x30, b"".join(exts) + san))
        fields.append(whole)
    return tlv(0x30, tlv(0x30, b"".join(fields)) + alg[1] + sig[1])


# ---- cases --------------------------------------------------------------------------------------


class Case:
    def __init__(self, name, send, expect, status=None, code=None, allowed=(), path=None,
                 method=None):
        self.name = name
        self.send = send  # d -> (status, headers, body, end, raw bytes)
        self.expect = expect  # "problem" | "mhd" | "not_found"
        self.status = status
        self.code = code
        self.allowed = set(allowed)
        self.path, self.method = path, method
        if path is None and hasattr(send, "route"):
            self.path, self.method = send.route


def via_http(method, path, body=None, headers=None, timeout=20.0):
    def send(d):
        r = R.http(d, method, path, body=body, headers=headers, timeout=timeout)
        return r.status, r.headers, r.body, "response", b""

    send.route = (path.split("?")[0], method)
    return send


def via_raw(data, timeout=5.0, nodelay=False):
    def send(d):
        status, out, end = R.raw(d, data, timeout=timeout, nodelay=nodelay)
        headers, body = R.split_raw(out)
        return status, headers, body, end, out

    return send


HELD = []  # (case name, socket, time sent): connections the server left waiting


def via_held(data):
    """Send @data, wait 1 s for an answer; a connection still open then is kept in HELD and
    checked at the end (the server must close it within its idle timeout)."""

    def send(d):
        s = socket.create_connection((d.host, d.port), timeout=1.0)
        t0 = time.monotonic()
        s.sendall(data)
        out, end = b"", "close"
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                end = "reset"
                break
            except socket.timeout:
                end = "wait"
                break
            if not chunk:
                break
            out += chunk
        if end == "wait" and not out:
            HELD.append((send.case_name, s, t0))
        else:
            s.close()
        headers, body = R.split_raw(out)
        return R.parse_status(out), headers, body, end, out

    return send


def chunked(total, chunk=16384, path="/v1/inspect", timeout=30.0):
    """POST @total bytes of 'x' in chunks of @chunk with Transfer-Encoding: chunked."""

    def send(d):
        s = socket.create_connection((d.host, d.port), timeout=timeout)
        out, end = b"", "close"
        try:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                      "Content-Type: application/x-pem-file\r\nConnection: close\r\n\r\n".encode())
            piece = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
            sent = 0
            try:
                while sent < total:
                    s.sendall(piece)
                    sent += chunk
                s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading: what it answered (if anything) follows
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    end = "reset"
                    break
                except socket.timeout:
                    end = "timeout"
                    break
                if not c:
                    break
                out += c
        finally:
            s.close()
        headers, body = R.split_raw(out)
        return R.parse_status(out), headers, body, end, out

    return send


def trickle(data, delay, d_checks, res):
    """Send @data one byte at a time, @delay s apart, while the main thread keeps checking
    /healthz; returns the answer."""

    def send(d):
        s = socket.create_connection((d.host, d.port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = threading.Event()
        lat = []

        def probe():
            while not done.is_set():
                try:
                    lat.append(R.http(d, "GET", "/healthz", timeout=10).elapsed)
                except OSError:
                    lat.append(float("inf"))
                time.sleep(0.05)

        t = threading.Thread(target=probe, daemon=True)
        t.start()
        out, end = b"", "close"
        try:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(delay)
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    end = "reset"
                    break
                except socket.timeout:
                    end = "timeout"
                    break
                if not c:
                    break
                out += c
        finally:
            done.set()
            t.join(15)
            s.close()
        worst = max(lat) if lat else float("nan")
        res.number(f"{send.case_name}: /healthz while trickling, {len(lat)} requests, max",
                   f"{worst * 1000:.1f}", "ms")
        res.check(f"{send.case_name}: /healthz stays fast while a client trickles "
                  f"(< {HEALTH_LATENCY_S} s)",
                  bool(lat) and worst < HEALTH_LATENCY_S, f"max {worst:.3f} s")
        headers, body = R.split_raw(out)
        return R.parse_status(out), headers, body, end, out

    return send


def slow_header_growth(step=1024, delay=0.05):
    """A header that never ends, growing by @step bytes every @delay s: libmicrohttpd must
    answer 431 when the request head passes its memory limit (max_header, 16 KiB)."""

    def send(d):
        s = socket.create_connection((d.host, d.port), timeout=10)
        out, end = b"", "close"
        t0 = time.monotonic()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            try:
                for _ in range(200):  # 200 KiB at most: far past the limit
                    s.sendall(b"a" * step)
                    time.sleep(delay)
            except (BrokenPipeError, ConnectionResetError):
                pass
            while True:
                try:
                    c = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not c:
                    break
                out += c
        finally:
            s.close()
        send.took = time.monotonic() - t0
        headers, body = R.split_raw(out)
        return R.parse_status(out), headers, body, end, out

    return send


def nested(open_, close_, n):
    return (open_ * n + close_ * n).encode()


def cases(res):
    san_small = san_certificate(10000)  # 10,000 one-letter dNSNames: ~31 KB DER
    san_big = san_certificate(10000, lambda i: b"host%05d.example.com" % i)  # ~231 KB DER
    pem_body = ALICE_PEM.decode()
    c = []
    P = "problem"
    # -- certificates: truncated and garbage DER and PEM
    c.append(Case("garbage DER (4 KiB of random bytes)", via_http(
        "POST", "/v1/inspect", RNG.randbytes(4096), DER_CT), P, 400, "bad-certificate"))
    c.append(Case("truncated DER (half a certificate)", via_http(
        "POST", "/v1/inspect", ALICE_DER[:len(ALICE_DER) // 2], DER_CT), P, 400, "bad-certificate"))
    c.append(Case("DER: one byte short", via_http(
        "POST", "/v1/inspect", ALICE_DER[:-1], DER_CT), P, 400, "bad-certificate"))
    c.append(Case("DER: SEQUENCE claiming 4 GiB", via_http(
        "POST", "/v1/inspect", b"\x30\x84\xff\xff\xff\xff" + ALICE_DER[4:], DER_CT), P, 400,
        "bad-certificate"))
    c.append(Case("DER: 50,000 nested SEQUENCEs (indefinite length)", via_http(
        "POST", "/v1/inspect", b"\x30\x80" * 50000 + b"\x00\x00" * 50000, DER_CT), P, 400,
        "bad-certificate"))
    c.append(Case("DER with a NUL-filled tail", via_http(
        "POST", "/v1/inspect", ALICE_DER[:200] + b"\x00" * 2000, DER_CT), P, 400,
        "bad-certificate"))
    c.append(Case("truncated PEM (no END line)", via_http(
        "POST", "/v1/inspect", ALICE_PEM[:len(ALICE_PEM) // 2], PEM_CT), P, 400, "bad-certificate"))
    c.append(Case("PEM with invalid base64", via_http(
        "POST", "/v1/inspect", b"-----BEGIN CERTIFICATE-----\n!!!!$$$$****\n"
        b"-----END CERTIFICATE-----\n", PEM_CT), P, 400, "bad-certificate"))
    c.append(Case("PEM of random bytes", via_http(
        "POST", "/v1/inspect", R.der_to_pem(RNG.randbytes(1500)), PEM_CT), P, 400,
        "bad-certificate"))
    c.append(Case("PEM armour only", via_http(
        "POST", "/v1/inspect", b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        PEM_CT), P, 400, "bad-certificate"))
    c.append(Case("PEM with NUL bytes inside", via_http(
        "POST", "/v1/inspect", ALICE_PEM[:100] + b"\x00\x00\x00" + ALICE_PEM[100:], PEM_CT), P,
        400, "bad-certificate"))
    c.append(Case("33 certificates in one PEM (limit 32)", via_http(
        "POST", "/v1/inspect", ALICE_PEM * 33, PEM_CT), P, 413,
        ("too-many-certificates", "body-too-large")))
    c.append(Case("10,000 SAN entries, 31 KB DER", via_http(
        "POST", "/v1/inspect", san_small, DER_CT), P, 400, "bad-certificate"))
    c.append(Case("10,000 SAN entries, 31 KB DER as PEM", via_http(
        "POST", "/v1/inspect", R.der_to_pem(san_small), PEM_CT), P, 400, "bad-certificate"))
    c.append(Case("10,000 SAN entries in a JSON verdict request", via_http(
        "POST", "/v1/verdict", json.dumps({"certificate": R.der_to_pem(san_small).decode()}),
        JSON_CT), P, 400, "bad-certificate"))
    c.append(Case("10,000 SAN entries, 231 KB DER (over the 64 KiB certificate limit)", via_http(
        "POST", "/v1/inspect", san_big, DER_CT), P, 413, "body-too-large"))
    # -- body sizes
    c.append(Case("Content-Length: 1 GB, headers only", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file\r\n"
        b"Content-Length: 1073741824\r\n\r\n"), P, 413, "body-too-large", path="/v1/inspect",
        method="POST"))
    c.append(Case("Content-Length: 1 GB on /v1/verdict", via_raw(
        b"POST /v1/verdict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1073741824\r\n\r\n"), P, 413, "body-too-large", path="/v1/verdict",
        method="POST"))
    # 2^64 - 1 fits in 64 bits: libmicrohttpd takes it and waits for the body, so only
    # strongmapd's own Content-Length check can answer it at once, as it does for 1 GB.
    c.append(Case("Content-Length: 2^64-1", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551615\r\n\r\n"),
        P, 413, "body-too-large", path="/v1/inspect", method="POST"))
    # 2^64 does not: libmicrohttpd answers 413 itself
    c.append(Case("Content-Length: 2^64", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551616\r\n\r\n"),
        "mhd", allowed={413}))
    c.append(Case("chunked body of 1 MiB (cap 256 KiB)", chunked(1 << 20), P, 413,
                  "body-too-large", path="/v1/inspect", method="POST"))
    c.append(Case("chunked body of 1 MiB to /v1/verdict", chunked(1 << 20, path="/v1/verdict"),
                  P, 413, "body-too-large", path="/v1/verdict", method="POST"))
    # Past the drain limit (max(64 MiB, 4 x cap)) the daemon drops the connection unanswered.
    c.append(Case("chunked body of 80 MiB (past the 64 MiB drain limit)",
                  chunked(80 << 20, chunk=1 << 16), "mhd", allowed={413, "close", "reset"}))
    c.append(Case("chunk size of 2^72", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"FFFFFFFFFFFFFFFFFF\r\nabc\r\n"), "mhd", allowed={413}))
    c.append(Case("malformed chunk header", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nabc\r\n0\r\n\r\n"), "mhd", allowed={400}))
    c.append(Case("Content-Length: -5", via_raw(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n"), "mhd",
        allowed={400}))
    c.append(Case("empty body", via_http("POST", "/v1/inspect", b"", PEM_CT), P, 400, "empty-body"))
    c.append(Case("unsupported Content-Type", via_http(
        "POST", "/v1/inspect", ALICE_PEM, {"Content-Type": "image/png"}), P, 415,
        "unsupported-media-type"))
    c.append(Case("Content-Type of invalid UTF-8", via_http(
        "POST", "/v1/inspect", ALICE_PEM, {"Content-Type": "\xff\xfe/\xff"}), P, 415,
        "unsupported-media-type"))
    c.append(Case("Content-Encoding: gzip", via_http(
        "POST", "/v1/inspect", ALICE_PEM, {"Content-Encoding": "gzip"}), P, 415,
        "unsupported-media-type"))
    # -- JSON
    for route in ("/v1/inspect", "/v1/verdict"):
        c.append(Case(f"{route}: 100,000 nested arrays", via_http(
            "POST", route, nested("[", "]", 100000), JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: 100,000 '[' never closed", via_http(
            "POST", route, b"[" * 100000, JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: 40,000 nested objects", via_http(
            "POST", route, b'{"a":' * 40000 + b"1" + b"}" * 40000, JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: invalid JSON", via_http(
            "POST", route, b'{"certificate": }', JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: trailing garbage after the object", via_http(
            "POST", route, json.dumps({"certificate": pem_body}).encode() + b" }{", JSON_CT), P,
            400, "bad-json"))
        c.append(Case(f"{route}: invalid UTF-8 in a string", via_http(
            "POST", route, b'{"certificate": "\xff\xfe\xc0\xaf"}', JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: lone surrogate escape", via_http(
            "POST", route, b'{"certificate": "\\ud800"}', JSON_CT), P, 400, "bad-json"))
        c.append(Case(f"{route}: 10^400 as a number", via_http(
            "POST", route, b'{"certificate": 1' + b"0" * 400 + b"}", JSON_CT), P, 400, None))
        c.append(Case(f"{route}: NaN", via_http(
            "POST", route, b'{"certificate": NaN}', JSON_CT), P, 400, "bad-json"))
    c.append(Case("verdict: account with invalid UTF-8", via_http(
        "POST", "/v1/verdict", b'{"account": "al\xffice"}', JSON_CT), P, 400, "bad-json"))
    c.append(Case("verdict: account with an escaped NUL", via_http(
        "POST", "/v1/verdict", b'{"account": "alice\\u0000*"}', JSON_CT), P, 400, "bad-json"))
    c.append(Case("verdict: account of 100,000 bytes", via_http(
        "POST", "/v1/verdict", json.dumps({"account": "a" * 100000}), JSON_CT), P, 400,
        "bad-request"))
    c.append(Case("verdict: 1,000 profiles", via_http(
        "POST", "/v1/verdict", json.dumps({"account": "alice", "profile": ["samba"] * 1000}),
        JSON_CT), P, 400, "bad-request"))
    # -- names: LDAP filter injection, path traversal, invalid UTF-8
    NF = "not_found"
    for name in ("*", "%2A", ")(", "*)(objectClass=*", "alice)(|(sAMAccountName=*",
                 "*)(%26(objectClass=user)", "%5C00", "%5C2a", "alice*", "(objectClass=*)",
                 "..%2f..%2f..%2fetc%2fpasswd", "../../etc/passwd",
                 "%2e%2e%2f%2e%2e%2fetc%2fpasswd"):
        c.append(Case(f"GET /v1/accounts/{name}", via_raw(
            f"GET /v1/accounts/{name} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()),
            NF))
    c.append(Case("verdict: account *)(objectClass=* with alice's certificate", via_http(
        "POST", "/v1/verdict", json.dumps({"account": "*)(objectClass=*", "certificate": pem_body}),
        JSON_CT), NF))
    # an account alone that does not exist leaves nothing to evaluate: 422 no-certificate
    c.append(Case("verdict: account * alone", via_http(
        "POST", "/v1/verdict", json.dumps({"account": "*"}), JSON_CT), P, 422, "no-certificate"))
    c.append(Case("verdict: account *)(objectClass=* alone", via_http(
        "POST", "/v1/verdict", json.dumps({"account": "*)(objectClass=*"}), JSON_CT), P, 422,
        "no-certificate"))
    c.append(Case("GET /v1/accounts/a%00b (NUL)", via_http("GET", "/v1/accounts/a%00b"), P, 400,
                  "bad-request", path="/v1/accounts/{name}", method="GET"))
    c.append(Case("GET /v1/accounts/ + raw invalid UTF-8", via_raw(
        b"GET /v1/accounts/\xff\xfe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), P, 400,
        "bad-request", path="/v1/accounts/{name}", method="GET"))
    c.append(Case("GET /v1/accounts/%ff%fe (invalid UTF-8)", via_http(
        "GET", "/v1/accounts/%ff%fe"), P, 400, "bad-request", path="/v1/accounts/{name}",
        method="GET"))
    c.append(Case("GET /v1/accounts/%C0%AF (overlong UTF-8 '/')", via_http(
        "GET", "/v1/accounts/%C0%AF"), P, 400, "bad-request", path="/v1/accounts/{name}",
        method="GET"))
    c.append(Case("GET /v1/accounts/%1b[31m (control character)", via_http(
        "GET", "/v1/accounts/%1b[31m"), P, 400, "bad-request", path="/v1/accounts/{name}",
        method="GET"))
    c.append(Case("GET /v1/accounts/alice?profile=%00", via_http(
        "GET", "/v1/accounts/alice?profile=%00"), P, 400, "bad-request",
        path="/v1/accounts/{name}", method="GET"))
    c.append(Case("GET /v1/accounts/alice?mode=99999999999999999999", via_http(
        "GET", "/v1/accounts/alice?mode=99999999999999999999"), P, 400, "bad-request",
        path="/v1/accounts/{name}", method="GET"))
    # over every account-name limit, under the request-head limit (max_header, 16 KiB)
    c.append(Case("GET /v1/accounts/ + 12,000-byte name", via_http(
        "GET", "/v1/accounts/" + "a" * 12000), P, 400, "bad-request",
        path="/v1/accounts/{name}", method="GET"))
    for p in ("/../../etc/passwd", "/v1/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
              "/v1/inspect/../../etc/passwd", "//etc/passwd", "/\xff\xfe"):
        c.append(Case(f"GET {p!r}", via_raw(
            f"GET {p} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode("latin-1")), P, 404,
            "not-found"))
    # -- request line and headers
    c.append(Case("URL of 100 KB", via_raw(
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"), "mhd", allowed={414}))
    c.append(Case("URL of 100 KB (query)", via_raw(
        b"GET /healthz?" + b"a=1&" * 25000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"), "mhd",
        allowed={414}))
    c.append(Case("5,000 headers", via_raw(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n" +
        b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"), "mhd", allowed={431}))
    c.append(Case("header value of 70 KB", via_raw(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"h" * 70000 + b"\r\n\r\n"), "mhd",
        allowed={431}))
    c.append(Case("header line without a colon", via_raw(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n"), "mhd", allowed={400}))
    c.append(Case("HTTP/0.9 request", via_raw(b"GET /healthz\r\n\r\n"), "mhd", allowed={400}))
    c.append(Case("HTTP/0.9 request, one line", via_raw(b"GET /healthz\r\n"), "mhd",
                  allowed={400}))
    c.append(Case("HTTP/9.9", via_raw(b"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n"), "mhd",
                  allowed={505}))
    c.append(Case("HTTP/2 preface", via_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "mhd",
                  allowed={505}))
    c.append(Case("request line with 4 words", via_raw(
        b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n"), "mhd", allowed={400}))
    c.append(Case("request line GARBAGE", via_held(b"GARBAGE\r\n\r\n"), "mhd",
                  allowed={400, "close", "wait"}))
    c.append(Case("request line GET alone", via_held(b"GET\r\n\r\n"), "mhd",
                  allowed={400, "close", "wait"}))
    c.append(Case("request line of 0xff bytes", via_held(b"\xff" * 16 + b"\r\n\r\n"), "mhd",
                  allowed={400, "close", "wait"}))
    c.append(Case("request line of NUL and control bytes", via_held(b"\x00\x01\x02\r\n\r\n"),
                  "mhd", allowed={400, "close", "wait"}))
    c.append(Case("blank lines only", via_held(b"\r\n" * 100), "mhd",
                  allowed={400, "close", "wait"}))
    c.append(Case("a TLS ClientHello", via_held(
        bytes.fromhex("16030100a5010000a10303") + RNG.randbytes(32) + b"\x00" * 100), "mhd",
        allowed={400, "close", "wait"}))
    c.append(Case("unknown method", via_raw(
        b"BREW /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"), P, 405,
        "method-not-allowed"))
    # -- slow clients
    c.append(Case("slowloris: a header growing 1 KiB per 50 ms", slow_header_growth(), "mhd",
                  allowed={431}))
    c.append(Case("slowloris: a bad request sent byte by byte, 20 ms apart", trickle(
        b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file\r\n"
        b"Content-Length: 8\r\nConnection: close\r\n\r\ngarbage!", 0.02, None, res), P, 400,
        "bad-certificate", path="/v1/inspect", method="POST"))
    return c


# ---- running -------------------------------------------------------------------------------------


def healthy(d):
    """'' when the daemon runs, /healthz is 200 and a normal inspect works; else why not."""
    if not d.alive():
        return f"the daemon exited with {d.proc.returncode}"
    try:
        r = R.http(d, "GET", "/healthz", timeout=10)
        if r.status != 200 or r.json().get("status") != "ok":
            return f"/healthz: {r!r}"
        r = R.http(d, "POST", "/v1/inspect", ALICE_PEM, PEM_CT, timeout=10)
        if r.status != 200 or len(r.json().get("certificates", [])) != 1:
            return f"/v1/inspect: {r!r}"
    except (OSError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    return ""


def judge(case, status, headers, body, end, out):
    """The errors of one answer, and a short description of it."""
    if case.expect == "problem":
        desc = f"{status} {headers.get('content-type', '')}" if status else end
        errs = R.problem_errors(status, headers, body, case.status, case.code, case.path,
                                case.method)
        return errs, desc
    if case.expect == "not_found":
        desc = f"{status}"
        if b"root:" in body:
            return ["the answer holds /etc/passwd"], desc
        if status != 200:
            return [f"status {status}, expected 200 (an unknown account is an answer)"], desc
        try:
            doc = json.loads(body)
        except ValueError:
            return ["not JSON"], desc
        codes = [r.get("code") for r in doc.get("reasons", [])]
        errs = []
        if doc.get("account") is not None:
            errs.append(f"matched an account: {doc['account'].get('dn')}")
        if "account_not_found" not in codes:
            errs.append(f"reasons {codes}")
        return errs, desc + " account_not_found"
    # "mhd": who answered and how
    outcome = status if status is not None else end
    if status is not None:
        ctype = headers.get("content-type", "")
        who = "problem+json" if ctype == "application/problem+json" else "libmicrohttpd"
        desc = f"{status} ({who})"
        if out.count(b"HTTP/1.1 ") > 1:
            desc += f", the status line sent {out.count(b'HTTP/1.1 ')} times"
    else:
        desc = {"close": "closed, no answer", "reset": "reset, no answer",
                "wait": "no answer, connection left open",
                "timeout": "no answer (timeout)"}.get(end, end)
    errs = []
    if outcome not in case.allowed:
        errs.append(f"outcome {outcome!r} not in {sorted(map(str, case.allowed))}")
    if status is not None and not 400 <= status <= 499 and status != 505:
        errs.append(f"status {status}")
    if status is not None and headers.get("content-type") == "application/problem+json":
        errs += R.problem_errors(status, headers, body)
    return errs, desc


def run(res, args):
    tmp = None
    d = None
    table = []
    try:
        global IDLE_TIMEOUT_S
        extra = ["--ldif", os.path.join(R.EXAMPLES, "demo.ldif")]
        if R.has_flag(args.daemon, "--idle-timeout"):
            extra += ["--idle-timeout", str(int(IDLE_TIMEOUT_S))]
        else:
            IDLE_TIMEOUT_S = 30.0
        d = R.Daemon(args.daemon, extra)
        res.note(f"strongmapd pid {d.pid} on {d.host}:{d.port}")
        res.check("healthy at start", healthy(d) == "", healthy(d))
        rss0 = d.rss_kib()
        for case in cases(res):
            case.send.case_name = case.name
            t0 = time.monotonic()
            try:
                status, headers, body, end, out = case.send(d)
            except OSError as e:
                status, headers, body, end, out = None, {}, b"", type(e).__name__, b""
            took = time.monotonic() - t0
            errs, desc = judge(case, status, headers, body, end, out)
            table.append((case.name, desc, took, case.expect))
            res.check(f"{case.name}: {desc}", not errs, "; ".join(errs))
            why = healthy(d)
            res.check(f"{case.name}: healthy after", why == "", why)
            if not d.alive():
                break
        # connections left waiting must be closed by the server within its idle timeout
        if HELD:
            first = min(t for _, _, t in HELD)
            wait_until = first + IDLE_TIMEOUT_S + IDLE_MARGIN_S
            res.note(f"waiting up to {wait_until - time.monotonic():.0f} s for the idle timeout "
                     f"to close {len(HELD)} connection(s) left open")
            for name, s, t0 in HELD:
                s.settimeout(max(0.1, wait_until - time.monotonic()))
                closed_after = None
                try:
                    while True:
                        if not s.recv(65536):
                            break
                    closed_after = time.monotonic() - t0
                except ConnectionResetError:
                    closed_after = time.monotonic() - t0
                except socket.timeout:
                    pass
                s.close()
                res.check(f"{name}: the server closes the waiting connection within "
                          f"{IDLE_TIMEOUT_S + IDLE_MARGIN_S:.0f} s",
                          closed_after is not None,
                          "still open" if closed_after is None else "")
                if closed_after is not None:
                    res.number(f"{name}: closed by the server after", f"{closed_after:.1f}", "s")
            res.check("healthy after the idle connections", healthy(d) == "", healthy(d))
        rss1 = d.rss_kib()
        res.number("RSS before / after the corpus", f"{rss0 // 1024} / {rss1 // 1024}", "MiB")
        print("\nWho answered what:")
        for name, desc, took, expect in table:
            print(f"  {name[:70]:70s} {desc:45s} {took * 1000:8.1f} ms")
        print(flush=True)
        rc = d.stop()
        res.check("the daemon exits 0 on SIGTERM", rc == 0, f"exit status {rc}")
        d = None
    finally:
        for _, s, _ in HELD:
            s.close()
        if d is not None:
            if d.alive():
                res.note("daemon log (last lines):\n" + d.log(40))
            d.kill()
        R.rmtree(tmp)


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = p.parse_args()
    R.raise_nofile()
    res = R.Results("robust.hostile")
    return R.main_wrapper(res, BUDGET_S, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
