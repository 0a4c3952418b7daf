#!/usr/bin/env python3
"""robust.hostile_http: attacks on the HTTP layer itself, each against a daemon of its own.

    test_hostile_http.py --daemon build/daemon/strongmapd

Log forging: a request path holding U+2028 (and U+0085, invalid UTF-8) in libmicrohttpd's own
error message, in the access log and, through a directory entry's DN, in the decision log: every
line stays printable ASCII and one line.

Prints one line per check and ends with "N passed, M failed" (exit 1 on a failure).
"""

import argparse
import base64
import json
import os
import re
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robustlib as R  # noqa: E402

BUDGET_S = 240
DEMO_LDIF = os.path.join(R.EXAMPLES, "demo.ldif")
ALICE_PEM = R.read_pem("alice-sid.pem")
PRINTABLE_LINE = re.compile(r"^<[0-7]>[\x20-\x7e]*$")


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


# ---- log forging ----------------------------------------------------------------------------

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
        d.stop()
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
        d.stop()
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
        d.stop()
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
        check_mhd_message(res, args.daemon)
        check_access_log(res, args.daemon)
        check_decision_log(res, args.daemon, tmp)
    finally:
        R.rmtree(tmp)


def main():
    p = R.args_common(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    args = p.parse_args()
    R.raise_nofile()
    res = R.Results("robust.hostile_http")
    return R.main_wrapper(res, BUDGET_S, lambda r: run(r, args))


if __name__ == "__main__":
    sys.exit(main())
