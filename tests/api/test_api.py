#!/usr/bin/env python3
"""HTTP tests of strongmapd.

Starts the daemon on a free loopback port (it binds port 0 and logs the real one), talks to it
with http.client and raw sockets, validates every response body against the schema that
openapi/strongmapd.yaml gives for its route and status, and stops it with SIGTERM, checking
that it exits 0 within a few seconds.

The main daemon reads its directory from tests/data/dir/verdict.ldif.in, whose certificate
placeholders are filled in at setup (the verdicts expected per certificate and account are
those of tests/unit/test_verdict.c); other daemons run without a directory, or with an LDAP
server that refuses connections. The API's security and operations features (bearer tokens,
scopes, rate limits, HTTPS with client certificates, connection and time limits, metrics, the
decision log, reloads) are tested through api_host (tests/api/api_host.c), which sets every
field of struct api_config and struct api_runtime.

    test_api.py --daemon build/daemon/strongmapd --host build/tests/api/api_host
                --data tests/data [unittest options]

Needs python3-yaml and python3-jsonschema (Debian packages); exits 77 (ctest: skipped) when
they are missing.
"""

import argparse
import base64
import glob
import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import pki  # noqa: E402  (tests/lib/pki.py)

try:
    import jsonschema
    from openapi import Spec  # tests/lib/openapi.py (python3-yaml, python3-jsonschema)
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (install python3-yaml python3-jsonschema)")
    sys.exit(77)

ARGS = None  # set in main()
START_TIMEOUT = 15.0  # seconds; generous for sanitizer builds
STOP_TIMEOUT = 5.0
PROBLEM_TYPE = re.compile(r"^/problems/[a-z][a-z-]*$")
REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9]+$")
AT = "2026-06-01T00:00:00Z"  # the evaluation time of tests/unit/test_verdict.c
HENRY_SID = "S-1-5-21-1004336348-1177238915-682003330-1304"
DOWN_LDAP = ["--ldap-uri", "ldap://127.0.0.1:1", "--ldap-base", "dc=example,dc=com"]


SPEC = None


# ---- the daemon under test ---------------------------------------------------------------------


class Daemon:
    """One strongmapd process; collects its stderr lines in a thread."""

    LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")

    def __init__(self, extra_args=(), listen="127.0.0.1:0", notify_socket=None, cmd=None,
                 tls_ca=None, threads=2):
        self.lines = []
        self.tls_ca = tls_ca  # CA file: talk HTTPS
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.host = None
        self.port = None
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        if notify_socket:
            env["NOTIFY_SOCKET"] = notify_socket
        # Sanitizer builds: fail loudly on leaks and errors.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        if cmd is None:
            cmd = [ARGS.daemon, "--allow-root"]
        cmd = list(cmd) + ["--listen", listen, "--threads", str(threads), "-v"] + list(extra_args)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(START_TIMEOUT):
            self.kill()
            raise AssertionError("daemon did not start:\n" + self.log())
        if self.proc.poll() is not None:
            raise AssertionError("daemon exited at start:\n" + self.log())

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
            m = self.LISTEN_RE.search(line)
            if m and not self.ready.is_set():
                self.host = m.group(1).strip("[]")
                self.port = int(m.group(2))
                self.ready.set()
        self.ready.set()  # EOF: unblock a waiting start

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def conn(self, timeout=30, cert=None):
        if self.tls_ca:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=tls_context(self.tls_ca, cert))
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def wait_log(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not logged:\n{self.log()[-3000:]}")

    def raw(self, timeout=30):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect((self.host, self.port))
        except OSError:
            s.close()
            raise
        return s

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Send @sig; returns (exit status, seconds taken)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"daemon did not stop within {timeout} s:\n" + self.log())
        self.reader.join(5)
        self.proc.stderr.close()
        return rc, time.monotonic() - t0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()


DAEMON = None
NOTIFY = None  # (socket, path) of the fake service manager
NOTIFY_READY = None  # first datagram the daemon sent there
TMPDIR = None
LDIF = None  # the test directory, tests/data/dir/verdict.ldif.in filled in


def pem_der_b64(path):
    """base64 of the DER of the first certificate in a PEM file."""
    with open(path, encoding="ascii") as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S)
    return base64.b64encode(base64.b64decode("".join(m.group(1).split()))).decode()


def make_ldif(tmpdir):
    with open(os.path.join(ARGS.data, "dir", "verdict.ldif.in"), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("@ISSUING_CA@", pem_der_b64(os.path.join(certs_dir(), "issuing_ca.pem")))
    text = text.replace("@USERCERT_UPN_ONLY@",
                        pem_der_b64(os.path.join(certs_dir(), "upn_only.pem")))
    path = os.path.join(tmpdir, "verdict.ldif")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def setUpModule():
    global SPEC, DAEMON, NOTIFY, NOTIFY_READY, TMPDIR, LDIF
    SPEC = Spec()
    TMPDIR = tempfile.TemporaryDirectory(prefix="strongmapd-api-")
    LDIF = make_ldif(TMPDIR.name)
    path = os.path.join(TMPDIR.name, "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(START_TIMEOUT)
    NOTIFY = (ns, path)
    DAEMON = Daemon(extra_args=["--ldif", LDIF], notify_socket=path)
    try:
        NOTIFY_READY = ns.recv(4096).decode()
    except socket.timeout:
        NOTIFY_READY = ""


def tearDownModule():
    global DAEMON
    if DAEMON is None:
        return
    d, DAEMON = DAEMON, None
    rc, took = d.stop()
    log = d.log()
    if ARGS.log:
        with open(ARGS.log, "w", encoding="utf-8") as f:
            f.write(log + "\n")
    try:
        if rc != 0:
            raise AssertionError(f"daemon exited with {rc}:\n{log}")
        if took > STOP_TIMEOUT:
            raise AssertionError(f"daemon took {took:.1f} s to stop")
        if "stopped" not in log:
            raise AssertionError("no 'stopped' log line:\n" + log)
        stopping = NOTIFY[0].recv(4096).decode()
        if "STOPPING=1" not in stopping:
            raise AssertionError(f"expected STOPPING=1 on NOTIFY_SOCKET, got {stopping!r}")
        check_log_hygiene(log)
    finally:
        NOTIFY[0].close()
        TMPDIR.cleanup()


def check_log_hygiene(log):
    """Every line has a priority prefix; no body, query or header content got logged."""
    for line in log.splitlines():
        if not re.match(r"^<[0-7]>", line):
            raise AssertionError(f"log line without a priority prefix: {line!r}")
    for secret in ("BEGIN CERTIFICATE", "SECRET-MARKER", "Bearer", "query-secret"):
        if secret in log:
            raise AssertionError(f"{secret!r} appears in the log")


# ---- fixtures ----------------------------------------------------------------------------------


def certs_dir():
    return os.path.join(ARGS.data, "certs")


def fixture(name):
    path = os.path.join(certs_dir(), name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"fixture {path} missing (run tests/data/certs/gen.sh)")
    with open(path, "rb") as f:
        return f.read()


def manifest():
    """file -> row of tests/data/certs/manifest.tsv."""
    rows = {}
    path = os.path.join(certs_dir(), "manifest.tsv")
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows[cols[0]] = dict(zip(header, cols))
    return rows


# ---- requests ----------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body)


class ApiTestCase(unittest.TestCase):
    def request(self, method, path, body=None, headers=None, conn=None, spec_path=None,
                daemon=None, token=None, cert=None):
        """One request (on @conn or a fresh connection); checks and returns the Response."""
        own = conn is None
        if own:
            conn = (daemon or DAEMON).conn(cert=cert)
        if token:
            headers = dict(headers or {}, Authorization="Bearer " + token)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            if own:
                conn.close()
        self.check(method, spec_path or path.split("?")[0], resp)
        return resp

    def check(self, method, path, resp):
        """Headers every response carries; body valid against the OpenAPI schema."""
        h = resp.headers
        self.assertRegex(h.get("x-request-id", ""), REQUEST_ID, "X-Request-Id")
        self.assertEqual(h.get("cache-control"), "no-store")
        self.assertEqual(h.get("x-content-type-options"), "nosniff")
        ctype = h.get("content-type", "")
        if resp.status >= 400:
            self.assertEqual(ctype, "application/problem+json")
        elif path == "/metrics":
            self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        else:
            self.assertEqual(ctype, "application/json")
        if resp.status == 401:
            self.assertTrue(h.get("www-authenticate", "").startswith("Bearer realm="), h)
        if resp.status == 429:
            self.assertRegex(h.get("retry-after", ""), r"^[1-9][0-9]*$")
        if resp.status == 405:
            self.assertIn("allow", h)
        spec_resp = SPEC.response(path, method, resp.status)
        self.assertIsNotNone(
            spec_resp, f"{method} {path} -> {resp.status} is not in openapi/strongmapd.yaml")
        if method == "HEAD":
            self.assertEqual(resp.body, b"")
            return
        mtype = ctype.split(";")[0].strip()
        self.assertIn(mtype, spec_resp.get("content", {}),
                      f"{method} {path} -> {resp.status}: {ctype} not documented")
        schema = spec_resp["content"][mtype]["schema"]
        if mtype == "text/plain":
            parse_prometheus(self, resp.body.decode("utf-8"))
            return
        doc = resp.json()
        try:
            SPEC.validate(schema, doc)
        except jsonschema.ValidationError as e:
            self.fail(f"{method} {path} -> {resp.status}: body does not match the schema: "
                      f"{e.message} at {list(e.absolute_path)}")
        if resp.status >= 400:
            self.assertRegex(doc["type"], PROBLEM_TYPE)
            self.assertEqual(doc["status"], resp.status)

    def assertProblem(self, resp, status, code):
        self.assertEqual(resp.status, status, resp.body[:300])
        self.assertEqual(resp.json()["type"], "/problems/" + code)

    def assertHealthy(self):
        r = self.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

    def assertBadRequest(self, resp, field, code="bad-request"):
        """400 with @code whose detail names @field."""
        self.assertProblem(resp, 400, code)
        self.assertIn(field, resp.json().get("detail", ""), resp.body[:300])

    def verdict(self, doc, daemon=None, raw=None, ctype="application/json"):
        """POST /v1/verdict with @doc as JSON (or the bytes @raw)."""
        body = raw if raw is not None else json.dumps(doc)
        headers = {"Content-Type": ctype} if ctype else {}
        return self.request("POST", "/v1/verdict", body=body, headers=headers, daemon=daemon)

    def account(self, name, query="", method="GET", daemon=None):
        """GET /v1/accounts/@name (already %-encoded as it should be sent)."""
        path = "/v1/accounts/" + name + ("?" + query if query else "")
        return self.request(method, path, spec_path="/v1/accounts/{name}", daemon=daemon)


def raw_exchange(d, data, read_until_close=True, timeout=15):
    """Send @data on a new socket; return (status or None, raw response bytes)."""
    s = d.raw(timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", out)
    return (int(m.group(1)) if m else None), out


def split_raw(out):
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return headers, body


# ---- tests -------------------------------------------------------------------------------------


class T0Spec(unittest.TestCase):
    """The OpenAPI document itself: refs resolve, schemas are valid, routes match the code."""

    def test_schemas_valid(self):
        resolved = SPEC.resolve(SPEC.doc)
        self.assertTrue(SPEC.doc["openapi"].startswith("3.1"))
        for name, schema in resolved["components"]["schemas"].items():
            with self.subTest(schema=name):
                SPEC.validator_cls.check_schema(schema)

    def test_routes_match_code(self):
        with open(os.path.join(ROOT, "api", "routes.c"), encoding="utf-8") as f:
            rows = re.findall(r'\{\s*"([A-Z|]+)",\s*"(/[^"]*)",', f.read())
        code = {(m, p) for ms, p in rows for m in ms.split("|")}  # "GET|POST": both
        self.assertTrue(code, "no routes found in api/routes.c")
        spec = {(m.upper(), p) for p, ops in SPEC.doc["paths"].items() for m in ops
                if m in ("get", "put", "post", "delete", "patch")}
        self.assertEqual(code, spec)

    def test_problem_codes_documented(self):
        with open(os.path.join(ROOT, "api", "problem.c"), encoding="utf-8") as f:
            codes = re.findall(r'\{\s*"([a-z-]+)",\s*(\d{3}),', f.read())
        self.assertTrue(codes)
        text = " ".join(SPEC.doc["info"]["description"].split())
        for code, status in codes:
            self.assertIn(f"`{code}` ({status}", text)


class T1Health(ApiTestCase):
    def test_healthz(self):
        """Open to anyone: the status only, no version (health_details defaults to no)."""
        r = self.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})

    def test_healthz_head(self):
        r = self.request("HEAD", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-type"), "application/json")

    def test_healthz_query_ignored(self):
        self.assertEqual(self.request("GET", "/healthz?query-secret=1").status, 200)

    def test_ready_notification(self):
        self.assertIn("READY=1", NOTIFY_READY)
        self.assertIn("STATUS=Listening on", NOTIFY_READY)

    def test_request_ids_unique(self):
        ids = {self.request("GET", "/healthz").headers["x-request-id"] for _ in range(5)}
        self.assertEqual(len(ids), 5)


class T2Inspect(ApiTestCase):
    def inspect(self, body, ctype=None, conn=None):
        headers = {"Content-Type": ctype} if ctype else {}
        return self.request("POST", "/v1/inspect", body=body, headers=headers, conn=conn)

    def expected_sid(self, name):
        row = manifest().get(name, {})
        v = row.get("sid_ext", "")
        return v[len("valid:"):] if v.startswith("valid:") else None

    def test_pem(self):
        r = self.inspect(fixture("sid_ext.pem"), "application/x-pem-file")
        self.assertEqual(r.status, 200, r.body[:300])
        doc = r.json()
        self.assertEqual(len(doc["certificates"]), 1)
        self.assertEqual(doc["errors"], [])
        cert = doc["certificates"][0]
        self.assertEqual(cert["index"], 0)
        sid = self.expected_sid("sid_ext.pem")
        if sid:
            self.assertEqual(cert["sid"]["value"], sid)
            self.assertEqual(cert["sid"]["source"], "extension")

    def test_pem_without_content_type(self):
        self.assertEqual(self.inspect(fixture("sid_ext.pem")).status, 200)

    def test_pem_as_curl_sends_it(self):
        r = self.inspect(fixture("sid_ext.pem"), "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 200)

    def test_der(self):
        pem = self.inspect(fixture("sid_ext.pem"), "application/x-pem-file").json()
        r = self.inspect(fixture("sid_ext.der"), "application/pkix-cert")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["certificates"][0]["sha256"],
                         pem["certificates"][0]["sha256"])

    def test_json_pem(self):
        body = json.dumps({"certificate": fixture("sid_ext.pem").decode()})
        r = self.inspect(body, "application/json")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(len(r.json()["certificates"]), 1)

    def test_json_base64_der_sniffed(self):
        # No JSON media type: recognised by the leading '{'.
        body = "  \n" + json.dumps({"certificate": fixture("sid_ext.b64").decode().strip()})
        r = self.inspect(body, "text/plain")
        self.assertEqual(r.status, 200, r.body[:300])

    def test_json_media_type_suffix(self):
        body = json.dumps({"certificate": fixture("sid_ext.pem").decode(), "extra": 1})
        self.assertEqual(self.inspect(body, "application/vnd.example+json; charset=utf-8").status,
                         200)

    def test_chain(self):
        r = self.inspect(fixture("chain.pem"), "application/x-pem-file")
        self.assertEqual(r.status, 200, r.body[:300])
        certs = r.json()["certificates"]
        self.assertEqual(len(certs), 3)
        self.assertEqual([c["index"] for c in certs], [0, 1, 2])

    def test_every_fixture(self):
        files = sorted(glob.glob(os.path.join(certs_dir(), "*.pem")) +
                       glob.glob(os.path.join(certs_dir(), "*.der")) +
                       glob.glob(os.path.join(certs_dir(), "*.b64")))
        if not files:
            self.skipTest("no fixtures")
        for path in files:
            with self.subTest(fixture=os.path.basename(path)):
                with open(path, "rb") as f:
                    r = self.inspect(f.read())
                self.assertIn(r.status, (200, 400), r.body[:300])

    def test_concurrent_clients(self):
        """Several keep-alive clients at once, good and bad input mixed."""
        pem, chain = fixture("sid_ext.pem"), fixture("chain.pem")
        bodies = [(pem, 200), (chain, 200), (b"junk", 400), (b"", 400)]
        errors = []

        def client(k):
            conn = DAEMON.conn()
            try:
                for i in range(40):
                    body, want = bodies[(i + k) % len(bodies)]
                    conn.request("POST", "/v1/inspect", body=body,
                                 headers={"Content-Type": "application/x-pem-file"})
                    r = conn.getresponse()
                    r.read()
                    if r.status != want:
                        errors.append((k, i, r.status))
            except Exception as e:  # reported below
                errors.append((k, repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def test_keep_alive(self):
        """Several requests on one connection: the two-phase handler keeps it open."""
        conn = DAEMON.conn()
        try:
            r1 = self.request("GET", "/healthz", conn=conn)
            sock = conn.sock
            r2 = self.inspect(fixture("sid_ext.pem"), "application/x-pem-file", conn=conn)
            r3 = self.inspect(b"garbage", "application/x-pem-file", conn=conn)
            r4 = self.request("GET", "/healthz", conn=conn)
            self.assertEqual([r1.status, r2.status, r3.status, r4.status], [200, 200, 400, 200])
            self.assertIs(conn.sock, sock, "the connection was reopened")
            for r in (r1, r2, r3, r4):
                self.assertNotEqual(r.headers.get("connection", "").lower(), "close")
        finally:
            conn.close()


class T3BadInput(ApiTestCase):
    """Bad requests get a 4xx problem document; the daemon stays healthy after each."""

    def tearDown(self):
        self.assertHealthy()

    def post(self, body, ctype="application/x-pem-file", extra=None):
        headers = {"Content-Type": ctype} if ctype else {}
        headers.update(extra or {})
        return self.request("POST", "/v1/inspect", body=body, headers=headers)

    def test_empty_body(self):
        self.assertProblem(self.post(b""), 400, "empty-body")

    def test_garbage(self):
        # Binary garbage, the same every run: os.urandom() began with "{" (or whitespace and
        # "{"), which the body sniffing takes for JSON, about one run in 256 (bad-json). 0xff
        # starts no JSON, PEM, DER (0x30) or base64; a seeded generator makes the rest.
        body = b"\xff" + random.Random(656).randbytes(2047)
        r = self.post(body + b"SECRET-MARKER", "application/octet-stream")
        self.assertProblem(r, 400, "bad-certificate")
        self.assertIn("detail", r.json())

    def test_garbage_text(self):
        self.assertProblem(self.post(b"hello SECRET-MARKER\n"), 400, "bad-certificate")

    def test_truncated_pem(self):
        pem = fixture("sid_ext.pem")
        self.assertEqual(self.post(pem[: len(pem) // 2]).status, 400)

    def test_invalid_json(self):
        r = self.post(b'{"certificate": SECRET-MARKER', "application/json")
        self.assertProblem(r, 400, "bad-json")
        self.assertRegex(r.json()["detail"], r"line \d+, column \d+")

    def test_json_without_certificate(self):
        self.assertProblem(self.post(b'{"cert": "x"}', "application/json"), 400, "missing-field")

    def test_json_certificate_not_string(self):
        for body in (b'{"certificate": 42}', b'{"certificate": null}',
                     b'{"certificate": ["a"]}', b'{"certificate": {"pem": "x"}}'):
            with self.subTest(body=body):
                self.assertProblem(self.post(body, "application/json"), 400, "missing-field")

    def test_json_not_object(self):
        self.assertProblem(self.post(b'["x"]', "application/json"), 400, "missing-field")

    def test_json_duplicate_key(self):
        self.assertProblem(self.post(b'{"certificate": "a", "certificate": "b"}',
                                     "application/json"), 400, "bad-json")

    def test_json_invalid_utf8(self):
        r = self.post(b'{"certificate": "\xff\xfe\xc3(SECRET-MARKER"}', "application/json")
        self.assertProblem(r, 400, "bad-json")

    def test_json_certificate_empty(self):
        self.assertEqual(self.post(b'{"certificate": ""}', "application/json").status, 400)

    def test_json_certificate_garbage(self):
        r = self.post(b'{"certificate": "SECRET-MARKER"}', "application/json")
        self.assertProblem(r, 400, "bad-certificate")

    def test_json_deep_nesting(self):
        self.assertEqual(self.post(b"[" * 100000, "application/json").status, 400)

    def test_unsupported_media_type(self):
        self.assertProblem(self.post(fixture("sid_ext.pem"), "image/png"), 415,
                           "unsupported-media-type")

    def test_content_encoding(self):
        r = self.post(fixture("sid_ext.pem"), extra={"Content-Encoding": "gzip"})
        self.assertProblem(r, 415, "unsupported-media-type")

    def test_wrong_method(self):
        r = self.request("GET", "/v1/inspect")
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "POST")
        r = self.request("POST", "/healthz", body=b"x")
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "GET, HEAD")
        self.assertProblem(self.request("DELETE", "/healthz"), 405, "method-not-allowed")

    def test_unknown_path(self):
        for path in ("/static/", "/status/", "/nope", "/healthz/", "/v1/inspect/x", "/V1/INSPECT", "/%00"):
            with self.subTest(path=path):
                self.assertProblem(self.request("GET", path), 404, "not-found")

    def test_unknown_path_with_body(self):
        r = self.request("POST", "/nope", body=b"x" * 5000)
        self.assertProblem(r, 404, "not-found")

    def test_body_too_large_content_length(self):
        """A Content-Length over the cap is refused before the body is read."""
        head = (b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file"
                b"\r\nContent-Length: 10485760\r\n\r\n")
        status, out = raw_exchange(DAEMON, head)
        self.assertEqual(status, 413, out[:300])
        headers, body = split_raw(out)
        self.assertEqual(headers.get("connection", "").lower(), "close")
        self.check("POST", "/v1/inspect", Response(413, headers, body))
        self.assertEqual(json.loads(body)["type"],
                         "/problems/body-too-large")

    def test_body_too_large_content_length_sent(self):
        """Same, with the client sending the 10 MB anyway (http.client does)."""
        conn = DAEMON.conn()
        try:
            try:
                conn.request("POST", "/v1/inspect", body=b"A" * (10 * 1024 * 1024),
                             headers={"Content-Type": "application/x-pem-file"})
                r = conn.getresponse()
                self.assertEqual(r.status, 413)
                r.read()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed while we were still sending
        finally:
            conn.close()

    def test_body_too_large_chunked(self):
        """Chunked: no length up front; drained, 413 at the end, connection kept."""
        def chunks():
            block = b"B" * 65536
            for _ in range(160):  # 10 MiB
                yield block

        conn = DAEMON.conn()
        try:
            r = self.request("POST", "/v1/inspect", body=chunks(),
                             headers={"Content-Type": "application/x-pem-file"}, conn=conn)
            self.assertProblem(r, 413, "body-too-large")
            sock = conn.sock
            self.assertEqual(self.request("GET", "/healthz", conn=conn).status, 200)
            self.assertIs(conn.sock, sock, "keep-alive lost after a chunked 413")
        finally:
            conn.close()

    def test_chunked_within_cap(self):
        pem = fixture("sid_ext.pem")
        r = self.request("POST", "/v1/inspect", body=iter([pem[:100], pem[100:]]),
                         headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.status, 200)

    def test_body_at_cap(self):
        # Exactly the cap (256 KiB) is accepted by the HTTP layer (then not a certificate).
        r = self.post(b"x" * (256 * 1024))
        self.assertProblem(r, 400, "bad-certificate")
        r = self.post(b"x" * (256 * 1024 + 1))
        self.assertProblem(r, 413, "body-too-large")

    def test_very_long_url(self):
        status, out = raw_exchange(DAEMON, b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
        if status is not None:
            self.assertGreaterEqual(status, 400, out[:200])
            self.assertLess(status, 500, out[:200])

    def test_huge_header(self):
        req = (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"h" * 70000 +
               b"\r\nAuthorization: Bearer SECRET-MARKER\r\n\r\n")
        status, out = raw_exchange(DAEMON, req)
        if status is not None:
            self.assertGreaterEqual(status, 400, out[:200])
            self.assertLess(status, 500, out[:200])

    def test_malformed_request_line(self):
        for req in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                    b"GET /healthz HTTP/9.9\r\n\r\n"):
            with self.subTest(req=req):
                # Some are never answered: libmicrohttpd waits for more (until its timeout).
                status, out = raw_exchange(DAEMON, req, timeout=1)
                if status is not None and status != 505:  # 505: HTTP version not supported
                    self.assertLess(status, 500, out[:200])

    def test_bad_content_length(self):
        status, out = raw_exchange(DAEMON, b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\n"
                                           b"Content-Length: -5\r\n\r\n")
        if status is not None:
            self.assertLess(status, 500, out[:200])

    def test_client_disconnects_mid_body(self):
        s = DAEMON.raw()
        s.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\nabc")
        # A FIN in the same segment as the headers goes unnoticed by libmicrohttpd 0.9.75 until
        # the connection timeout (30 s); send it apart, as a client that gives up later does.
        time.sleep(0.2)
        rid_before = DAEMON.log().count("end=client-abort")
        s.close()
        deadline = time.monotonic() + 5
        while DAEMON.log().count("end=client-abort") == rid_before:
            self.assertLess(time.monotonic(), deadline, "client abort not logged")
            time.sleep(0.05)

    def test_non_ascii_path_is_escaped_in_log(self):
        status, _ = raw_exchange(DAEMON, b"GET /caf\xc3\xa9\x7f HTTP/1.1\r\nHost: t\r\n"
                                         b"Connection: close\r\n\r\n")
        if status is None:
            self.skipTest("libmicrohttpd refused the raw bytes")
        self.assertEqual(status, 400)  # DEL is no character of a request target (RFC 3986)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if 'path="/caf\\xc3\\xa9\\x7f"' in DAEMON.log():
                return
            time.sleep(0.05)
        self.fail("escaped path not found in the access log:\n" + DAEMON.log()[-2000:])


class T4AccessLog(ApiTestCase):
    def test_one_line_per_request(self):
        r = self.request("GET", "/healthz")
        rid = r.headers["x-request-id"]
        deadline = time.monotonic() + 5
        lines = []
        while time.monotonic() < deadline:
            lines = [l for l in DAEMON.log().splitlines() if f"id={rid} " in l]
            if lines:
                break
            time.sleep(0.05)
        self.assertEqual(len(lines), 1, DAEMON.log()[-2000:])
        line = lines[0]
        self.assertTrue(line.startswith("<6>"), line)
        for part in ("method=GET", 'path="/healthz"', "status=200", "bytes=", "duration_us="):
            self.assertIn(part, line)

    def test_problem_logged_as_code(self):
        r = self.request("GET", "/missing")
        rid = r.headers["x-request-id"]
        time.sleep(0.2)
        line = [l for l in DAEMON.log().splitlines() if f"id={rid} " in l][0]
        self.assertIn("status=404", line)
        self.assertIn("problem=not-found", line)


# ---- process-level behaviour (own daemons) -------------------------------------------------------


class T5Process(ApiTestCase):
    def run_daemon(self, *args, env=None, timeout=10):
        return subprocess.run([ARGS.daemon, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, env=env)

    def test_usage_errors(self):
        for args in (["--bogus"], ["--threads", "0"], ["--threads", "x"],
                     ["--max-body", "10"], ["--max-body", "17M"], ["--listen", "nohost"],
                     ["--listen", "localhost:80"], ["--listen", "1.2.3.4:99999"],
                     ["--listen", "[::1]"], ["extra"]):
            with self.subTest(args=args):
                p = self.run_daemon("--allow-root", *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(b"usage:", p.stderr)

    def test_help_and_version(self):
        p = self.run_daemon("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--listen", p.stdout)
        p = self.run_daemon("-V")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"^strongmapd \S+\n$")

    def test_refuses_root(self):
        if os.geteuid() != 0:
            self.skipTest("not root")
        p = self.run_daemon("--listen", "127.0.0.1:0")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"refusing to run as root", p.stderr)

    def test_address_in_use(self):
        p = self.run_daemon("--allow-root", "--listen", f"{DAEMON.host}:{DAEMON.port}")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"cannot listen", p.stderr)

    def test_ipv6(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        d = Daemon(listen="[::1]:0")
        try:
            self.assertEqual(d.host, "::1")
            c = d.conn()
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        finally:
            rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())

    def test_stop_with_idle_keepalive(self):
        """An idle keep-alive connection does not hold up the stop."""
        d = Daemon()
        c = d.conn()
        c.request("GET", "/healthz")
        c.getresponse().read()
        rc, took = d.stop(timeout=STOP_TIMEOUT)
        c.close()
        self.assertEqual(rc, 0, d.log())
        self.assertLess(took, 3.0)

    def slow_request(self, d):
        """Start an inspect request whose body is not complete yet."""
        pem = fixture("sid_ext.pem")
        s = d.raw()
        s.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-pem-file"
                  b"\r\nContent-Length: " + str(len(pem)).encode() + b"\r\n\r\n" + pem[:10])
        return s, pem

    def wait_log(self, d, text, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in d.log():
                return
            time.sleep(0.02)
        self.fail(f"{text!r} not logged:\n{d.log()}")

    def test_graceful_stop_finishes_request(self):
        """SIGTERM: new connections are refused, the request in progress completes."""
        d = Daemon()
        s, pem = self.slow_request(d)
        time.sleep(0.3)  # let the daemon read the headers
        d.proc.send_signal(signal.SIGTERM)
        self.wait_log(d, "stop signal received")
        time.sleep(0.2)
        # Quiesced: the listening socket is shut down, so a new connection is refused.
        with self.assertRaises(ConnectionRefusedError):
            d.raw(timeout=2).close()
        s.sendall(pem[10:])
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertIn(b"Connection: close", out)
        rc = d.proc.wait(STOP_TIMEOUT)
        d.kill()
        self.assertEqual(rc, 0, d.log())

    def test_body_memory_budget(self):
        """All bodies together get max(32 MiB, 2 x --max-body); over that: 503, no crash."""
        d = Daemon(extra_args=["--max-body", "16M"])
        try:
            size = 16 * 1024 * 1024
            head = (b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: " + str(size).encode() + b"\r\n\r\n")
            part = b"x" * (9 * 1024 * 1024)
            a, b = d.raw(), d.raw()
            a.sendall(head + part)  # its buffer grows to 16 MiB
            b.sendall(head + part)  # would need another 16 MiB: over the 32 MiB budget
            time.sleep(0.5)
            rest = b"x" * (size - len(part))
            results = []
            for s in (b, a):
                s.sendall(rest)
                out = b""
                while b"\r\n\r\n" not in out:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                headers, body = split_raw(out)
                while len(body) < int(headers.get("content-length", "0")):
                    body += s.recv(65536)
                s.close()
                status = int(out[9:12])
                results.append((status, headers))
                self.check("POST", "/v1/inspect", Response(status, headers, body))
            # Whichever buffer grows to 16 MiB second is refused (timing decides which).
            statuses = [r[0] for r in results]
            self.assertEqual(statuses.count(503), 1, d.log()[-1000:])
            refused = results[statuses.index(503)]
            self.assertEqual(refused[1].get("retry-after"), "1")
            self.assertIn("problem=unavailable", d.log())
            c = d.conn()
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        finally:
            rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())

    def test_second_signal_exits_at_once(self):
        d = Daemon()
        s, _ = self.slow_request(d)
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        self.wait_log(d, "stop signal received")
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGINT)
        rc = d.proc.wait(STOP_TIMEOUT)
        s.close()
        d.kill()
        self.assertEqual(rc, 1)
        self.assertLess(time.monotonic() - t0, 2.0)


# ---- verdicts, account statuses, readiness (the main daemon reads the test LDIF) -------------


def pem_text(name):
    return fixture(name).decode("ascii")


class T6Verdict(ApiTestCase):
    """POST /v1/verdict: one case per rule family; tests/unit/test_verdict.c has them all."""

    def ok(self, doc):
        r = self.verdict(dict(doc, at=doc.get("at", AT)))
        self.assertEqual(r.status, 200, r.body[:400])
        return r.json()

    def assertOutcome(self, v, outcome, kdc=None, event=None, level=None, method=None,
                      strength=None):
        self.assertEqual(v["outcome"], outcome, v["reasons"])
        self.assertEqual(v["kdc_error"] and v["kdc_error"]["code"], kdc)
        self.assertEqual(v["event"] and v["event"]["id"], event)
        if level:
            self.assertEqual(v["event"]["level"], level)
        self.assertEqual(v["mapping"] and v["mapping"]["method"], method)
        if strength:
            self.assertEqual(v["mapping"]["strength"], strength)

    def test_sid_extension_allows(self):
        v = self.ok({"certificate": pem_text("sid_ext.pem")})
        self.assertOutcome(v, "allow", method="sid_extension", strength="strong")
        self.assertEqual(v["resolved_by"], "upn_san")
        self.assertEqual(v["account"]["sam"], "alice")
        self.assertEqual(v["profile"], "windows-2022")
        self.assertEqual([p["profile"] for p in v["profiles"]], ["windows-2022"])
        self.assertEqual(v["ntauth"], {"known": True, "issuer_trusted": True})

    def test_upn_only_denied_in_full_enforcement(self):
        v = self.ok({"certificate": pem_text("upn_only.pem")})
        self.assertOutcome(v, "deny", kdc=66, event=39, level="error", method="upn_san",
                           strength="weak")
        self.assertEqual(v["kdc_error"]["name"], "KDC_ERR_CERTIFICATE_MISMATCH")
        self.assertIn("weak_mapping", [r["code"] for r in v["reasons"]])
        # the fix: the exact strong value, and the SID extension for this account
        self.assertTrue(v["remediation"]["altsecurityidentities"].startswith("X509:<I>"))
        self.assertTrue(v["remediation"]["reissue"]["sid_uri"].endswith(
            "S-1-5-21-1004336348-1177238915-682003330-1105"))

    def test_upn_only_mode_1_allows_with_warning(self):
        v = self.ok({"certificate": pem_text("upn_only.pem"), "mode": 1})
        self.assertOutcome(v, "allow", event=39, level="warning", method="upn_san")
        self.assertEqual(v["profiles"][0]["mode"], 1)

    def test_expired(self):
        v = self.ok({"certificate": pem_text("expired.pem")})
        self.assertOutcome(v, "deny", kdc=71)

    def test_base64_der(self):
        b64 = fixture("sid_ext.b64").decode().strip()
        v = self.ok({"certificate": b64})
        self.assertOutcome(v, "allow", method="sid_extension")

    def test_named_account_with_another_sid(self):
        v = self.ok({"certificate": pem_text("sid_ext.pem"), "account": "mallory"})
        self.assertOutcome(v, "deny", kdc=66, event=41)
        self.assertEqual(v["resolved_by"], "named")
        self.assertEqual(v["sid_owner"]["sam"], "alice")

    def test_unknown_account_is_a_verdict(self):
        v = self.ok({"certificate": pem_text("sid_ext.pem"), "account": "nobody-here"})
        self.assertOutcome(v, "deny", kdc=6)
        self.assertIsNone(v["account"])
        self.assertIsNone(v["resolved_by"])

    def test_account_only_uses_published_certificate(self):
        v = self.ok({"account": "henry"})
        self.assertOutcome(v, "allow", method="X509IssuerSerialNumber", strength="strong")
        self.assertEqual(v["resolved_by"], "named")

    def test_account_only_without_published_certificate(self):
        for name in ("alice", "nobody-here"):
            with self.subTest(account=name):
                r = self.verdict({"account": name, "at": AT})
                self.assertProblem(r, 422, "no-certificate")
                self.assertIn("certificate", r.json()["detail"])

    def test_fleet(self):
        v = self.ok({"certificate": pem_text("sid_uri.pem"),
                     "profile": ["windows-2022", "windows-2016", "samba"]})
        self.assertEqual(v["outcome"], "deny")
        self.assertEqual([p["profile"] for p in v["profiles"]],
                         ["windows-2022", "windows-2016", "samba"])
        self.assertEqual([p["outcome"] for p in v["profiles"]], ["allow", "deny", "deny"])
        self.assertEqual(v["profile"], "windows-2016")  # the first denying one
        self.assertEqual(v["event"]["id"], 39)

    def test_profile_names(self):
        v = self.ok({"certificate": pem_text("sid_ext.pem"), "profile": "Windows-2025"})
        self.assertEqual(v["profile"], "windows-2022")
        v = self.ok({"certificate": pem_text("sid_ext.pem"), "profile": ["samba"] * 8})
        self.assertEqual(len(v["profiles"]), 8)

    def test_samba_mode_0_allows(self):
        v = self.ok({"certificate": pem_text("upn_only.pem"), "profile": "samba", "mode": 0})
        self.assertOutcome(v, "allow", method="upn_san")

    def test_backdating_boundary(self):
        # carol was created 2030-01-01; empty_subject.pem's notBefore is 2025-01-01
        gap = 1893456000 - 1735689600
        doc = {"certificate": pem_text("empty_subject.pem"), "mode": 1}
        v = self.ok(dict(doc, backdating_seconds=gap))
        self.assertOutcome(v, "allow", event=39, method="upn_san")
        self.assertEqual(v["profiles"][0]["backdating_seconds"], gap)
        v = self.ok(dict(doc, backdating_seconds=gap - 1))
        self.assertOutcome(v, "deny", kdc=66, event=40, method="upn_san")

    def test_at_with_offset(self):
        a = self.ok({"certificate": pem_text("upn_only.pem"), "at": AT})
        b = self.ok({"certificate": pem_text("upn_only.pem"), "at": "2026-06-01T02:00:00.5+02:00"})
        self.assertEqual(a, b)

    def test_nulls_are_absent(self):
        v = self.ok({"certificate": pem_text("sid_ext.pem"), "account": None})
        self.assertEqual(v["resolved_by"], "upn_san")

    def test_json_sniffed_without_type(self):
        body = json.dumps({"certificate": pem_text("sid_ext.pem"), "at": AT})
        for ctype in (None, "application/x-www-form-urlencoded", "application/problem+json"):
            with self.subTest(ctype=ctype):
                self.assertEqual(self.verdict(None, raw=body, ctype=ctype).status, 200)

    def test_certificate_body(self):
        """The certificate itself as the body, options in the query string: the same verdicts
        as the JSON form."""
        pem = fixture("sid_ext.pem")
        der = base64.b64decode("".join(l for l in pem.decode().splitlines() if "-----" not in l))
        want = self.ok({"certificate": pem_text("sid_ext.pem")})
        for body, ctype in ((pem, "application/x-pem-file"), (der, "application/pkix-cert"),
                            (pem, "text/plain"), (pem, None)):
            with self.subTest(ctype=ctype):
                r = self.request("POST", "/v1/verdict?at=" + AT, body=body,
                                 headers={"Content-Type": ctype} if ctype else {})
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json(), want)
        # every option of the JSON form, from the query string
        q = "at=%s&profile=windows-2016&profile=samba&mode=1&backdating_seconds=60" % AT
        r = self.request("POST", "/v1/verdict?" + q, body=fixture("upn_only.pem"),
                         headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.status, 200, r.body[:300])
        want = self.ok({"certificate": pem_text("upn_only.pem"),
                        "profile": ["windows-2016", "samba"], "mode": 1,
                        "backdating_seconds": 60})
        self.assertEqual(r.json(), want)
        r = self.request("POST", "/v1/verdict?account=mallory&at=" + AT, body=pem,
                         headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.json(), self.ok({"certificate": pem_text("sid_ext.pem"),
                                            "account": "mallory"}))

    def test_concurrent(self):
        """Several clients at once on the shared directory handle and lookup cache."""
        cases = [({"certificate": pem_text("sid_ext.pem"), "at": AT}, "allow"),
                 ({"certificate": pem_text("upn_only.pem"), "at": AT}, "deny"),
                 ({"account": "henry", "at": AT}, "allow")]
        errors = []

        def client(k):
            conn = DAEMON.conn()
            try:
                for i in range(30):
                    doc, want = cases[(i + k) % len(cases)]
                    conn.request("POST", "/v1/verdict", body=json.dumps(doc),
                                 headers={"Content-Type": "application/json"})
                    r = conn.getresponse()
                    got = json.loads(r.read())
                    if r.status != 200 or got["outcome"] != want:
                        errors.append((k, i, r.status))
            except Exception as e:  # reported below
                errors.append((k, repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])


class T7VerdictBadInput(ApiTestCase):
    """Bad verdict requests: 4xx naming the field; the daemon stays healthy."""

    def tearDown(self):
        self.assertHealthy()

    def test_not_json(self):
        for raw in (b'{"certificate": SECRET-MARKER', b"{", b'{"a":1}{'):
            with self.subTest(raw=raw):
                self.assertProblem(self.verdict(None, raw=raw), 400, "bad-json")
        self.assertProblem(self.verdict(None, raw=b"not json", ctype="application/json"), 400,
                           "bad-json")

    def test_duplicate_member(self):
        raw = b'{"account": "henry", "account": "alice"}'
        self.assertProblem(self.verdict(None, raw=raw), 400, "bad-json")

    def test_not_an_object(self):
        self.assertBadRequest(self.verdict(None, raw=b'["henry"]'), "object")
        for raw in (b'"henry"', b"null", b"5"):  # Jansson wants an object or array at the top
            with self.subTest(raw=raw):
                self.assertProblem(self.verdict(None, raw=raw), 400, "bad-json")

    def test_empty_body(self):
        self.assertProblem(self.verdict(None, raw=b""), 400, "empty-body")

    def test_neither_certificate_nor_account(self):
        for doc in ({}, {"profile": "samba"}, {"certificate": None, "account": None}):
            with self.subTest(doc=doc):
                self.assertProblem(self.verdict(doc), 400, "missing-field")

    def test_unknown_member(self):
        r = self.verdict({"certificate": pem_text("sid_ext.pem"), "Mode": 1})
        self.assertBadRequest(r, '"Mode"')

    def test_certificate(self):
        for value in (5, True, ["x"], {"pem": "x"}):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"certificate": value}), "certificate")
        for value in ("", "hello SECRET-MARKER", "-----BEGIN CERTIFICATE-----\nAAAA\n"):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"certificate": value}), "certificate",
                                      "bad-certificate")

    def test_account(self):
        for value in ("", "a" * 513, "al\nice", "al\x7fice", 5, ["henry"]):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"account": value}), "account")
        # "\u0000": Jansson refuses the document
        self.assertProblem(self.verdict({"account": "al\x00ice"}), 400, "bad-json")
        # the engine's own checks: not a SID
        self.assertBadRequest(self.verdict({"account": "S-1-x"}), "SID")

    def test_profile(self):
        pem = pem_text("sid_ext.pem")
        for value in ("windows-2003", "", [], ["samba", 5], ["samba"] * 9, 5, None,
                      {"name": "samba"}):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"certificate": pem, "profile": value}),
                                      "profile")

    def test_mode(self):
        pem = pem_text("sid_ext.pem")
        for value in (3, -1, "1", 1.0, True, None):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"certificate": pem, "mode": value}), "mode")
        # 0 suits Samba only: also in a fleet
        for profile in ("windows-2022", ["samba", "windows-2016"]):
            with self.subTest(profile=profile):
                r = self.verdict({"certificate": pem, "mode": 0, "profile": profile})
                self.assertBadRequest(r, "mode")

    def test_backdating(self):
        pem = pem_text("sid_ext.pem")
        for value in (-1, "600", 1.5, 2 ** 32, 2 ** 62, True):
            with self.subTest(value=value):
                r = self.verdict({"certificate": pem, "backdating_seconds": value})
                self.assertBadRequest(r, "backdating_seconds")
        # beyond 64 bits: Jansson refuses the document
        r = self.verdict({"certificate": pem, "backdating_seconds": 2 ** 64})
        self.assertProblem(r, 400, "bad-json")
        r = self.verdict({"certificate": pem, "backdating_seconds": 2 ** 32 - 1, "at": AT})
        self.assertEqual(r.status, 200)

    def test_at(self):
        pem = pem_text("sid_ext.pem")
        for value in ("yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                      "2026-06-01 00:00:00Z", "2026-06-01T00:00:00+25:00",
                      "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "", 5, None):
            with self.subTest(value=value):
                self.assertBadRequest(self.verdict({"certificate": pem, "at": value}), "at")

    def test_certificate_body_query(self):
        pem = fixture("sid_ext.pem")

        def post(query, body=pem, ctype="application/x-pem-file"):
            return self.request("POST", "/v1/verdict" + query, body=body,
                                headers={"Content-Type": ctype})

        for query, field in (("?Mode=1", '"Mode"'), ("?certificate=x", '"certificate"'),
                             ("?mode=x", "mode"), ("?mode=7", "mode"), ("?profile=nt4", "profile"),
                             ("?at=yesterday", "at"), ("?account=", "account"),
                             ("?account=al%0Aice", "account"), ("?account=a&account=b", "account"),
                             ("?account=" + "a" * 513, "account"), ("?at=%zz", "query"),
                             ("?backdating_seconds=-1", "backdating_seconds")):
            with self.subTest(query=query):
                self.assertBadRequest(post(query), field)
        # a JSON body takes its options as members, never from the query string
        self.assertBadRequest(post("?mode=1", json.dumps({"account": "henry"}),
                                   "application/json"), "query")
        for body in (b"garbage SECRET-MARKER", b"-----BEGIN CERTIFICATE-----\nAAAA\n"):
            with self.subTest(body=body):
                self.assertProblem(post("", body), 400, "bad-certificate")

    def test_media_type_and_encoding(self):
        body = json.dumps({"account": "henry"})
        self.assertProblem(self.verdict(None, raw=b"-----BEGIN", ctype="image/png"), 415,
                           "unsupported-media-type")
        r = self.request("POST", "/v1/verdict", body=body,
                         headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertProblem(r, 415, "unsupported-media-type")

    def test_body_too_large(self):
        r = self.verdict(None, raw=b'{"certificate": "' + b"A" * (300 * 1024) + b'"}')
        self.assertProblem(r, 413, "body-too-large")

    def test_wrong_method(self):
        r = self.request("GET", "/v1/verdict")
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "POST")


class T8Account(ApiTestCase):
    """GET /v1/accounts/{name}."""

    def status(self, name, query="at=" + AT):
        r = self.account(name, query)
        self.assertEqual(r.status, 200, r.body[:300])
        return r.json()

    def test_ready(self):
        doc = self.status("henry")
        self.assertEqual(doc["status"], "ready")
        self.assertEqual(doc["account"]["sam"], "henry")
        self.assertEqual(len(doc["altsecurityidentities"]), 1)
        self.assertEqual(doc["altsecurityidentities"][0]["strength"], "strong")
        self.assertEqual(len(doc["certificates"]), 1)
        self.assertEqual(doc["certificates"][0]["outcome"], "allow")
        self.assertEqual(doc["profiles"], ["windows-2022"])

    def test_statuses(self):
        for name, status in (("alice@example.com", "at_risk"), ("alice%40example.com", "at_risk"),
                             ("bob", "blocked"), ("gina", "ready")):
            with self.subTest(name=name):
                self.assertEqual(self.status(name)["status"], status)

    def test_name_forms(self):
        for name in ("henry", "HENRY", "EXAMPLE%5Chenry", HENRY_SID,
                     "cn=henry,cn=Users,dc=example,dc=com",
                     "cn%3Dhenry%2Ccn%3DUsers%2Cdc%3Dexample%2Cdc%3Dcom",
                     "henry%40example.com"):
            with self.subTest(name=name):
                doc = self.status(name)
                self.assertEqual(doc["account"] and doc["account"]["sam"], "henry")

    def test_dn_outside_the_base(self):
        """A DN outside the directory's base is refused (400), never looked up, never a 500."""
        for name in ("cn=config", "cn%3Dx%2Co%3Delsewhere", "cn=henry,cn=Users,dc=example,dc=org"):
            with self.subTest(name=name):
                r = self.account(name)
                self.assertBadRequest(r, "base")
        r = self.verdict({"account": "cn=config", "certificate": pem_text("sid_ext.pem")})
        self.assertBadRequest(r, "base")

    def test_not_found_is_an_answer(self):
        for name in ("nobody-here", "a" * 512, "%E2%82%AC"):
            with self.subTest(name=name[:20]):
                doc = self.status(name)
                self.assertIsNone(doc["account"])
                self.assertEqual(doc["status"], "blocked")
                self.assertEqual(doc["reasons"][0]["code"], "account_not_found")

    def test_query(self):
        doc = self.status("henry", "profile=windows-2016&profile=samba&at=" + AT)
        self.assertEqual(doc["profiles"], ["windows-2016", "samba"])
        self.assertEqual(len(doc["certificates"][0]["profiles"]), 2)
        doc = self.status("henry", "profile=samba&mode=0&backdating_seconds=0&at=" + AT)
        self.assertEqual(doc["certificates"][0]["profiles"][0]["mode"], 0)
        self.assertEqual(self.account("henry", "").status, 200)  # at: now
        self.assertEqual(self.account("henry", "at=2026-06-01T00%3A00%3A00Z").status, 200)

    def test_head(self):
        r = self.account("henry", method="HEAD")
        self.assertEqual(r.status, 200)

    def test_bad_names(self):
        for name in ("he%00nry", "he%zznry", "henry%", "henry%4", "%FF", "%C3%28", "al%0Aice",
                     "al%7Fice", "a" * 513):
            with self.subTest(name=name[:20]):
                self.assertBadRequest(self.account(name), "account")

    def test_bad_query(self):
        for query, field in (("foo=1", "foo"), ("profile=windows-2003", "profile"),
                             ("mode=0", "mode"), ("mode=x", "mode"), ("mode=3", "mode"),
                             ("mode=1&mode=2", "mode"), ("backdating_seconds=-1", "backdating"),
                             ("backdating_seconds=4294967296", "backdating"), ("at=now", "at"),
                             ("at=%00", "query"), ("profile=" + "&profile=".join(["samba"] * 9),
                                                   "profile")):
            with self.subTest(query=query[:40]):
                self.assertBadRequest(self.account("henry", query), field)

    def test_routes(self):
        self.assertProblem(self.request("GET", "/v1/accounts/"), 404, "not-found")
        self.assertProblem(self.request("GET", "/v1/accounts"), 404, "not-found")
        r = self.account("henry", method="POST")
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "GET, HEAD")


class T9Ready(ApiTestCase):
    def test_ready_ldif(self):
        """Open to anyone: the status only, not the directory's kind (health_details no)."""
        r = self.request("GET", "/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ready"})
        self.assertEqual(self.request("HEAD", "/readyz").status, 200)

    def test_health_details(self):
        """health_details = yes: /healthz names the version, /readyz the directory's kind."""
        d = Daemon(extra_args=["--ldif", LDIF, "--health-details", "yes"])
        try:
            r = self.request("GET", "/healthz", daemon=d)
            self.assertEqual(set(r.json()), {"status", "version"})
            self.assertEqual(r.json()["version"], SPEC.doc["info"]["version"])
            r = self.request("GET", "/readyz", daemon=d)
            self.assertEqual(r.json(), {"status": "ready",
                                        "directory": {"kind": "ldif", "state": "up"}})
        finally:
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())


# ---- daemons of their own: no directory, LDAP down, start-up checks ---------------------------


class TAOtherDaemons(ApiTestCase):
    def run_daemon(self, *args, timeout=10):
        return subprocess.run([ARGS.daemon, "--allow-root", "--listen", "127.0.0.1:0", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)

    def stop(self, d):
        rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())
        check_log_hygiene(d.log())

    def test_without_directory(self):
        d = Daemon()
        try:
            self.assertIn("no directory configured", d.log())
            for r in (self.request("GET", "/readyz", daemon=d),
                      self.verdict({"account": "henry"}, daemon=d),
                      self.account("henry", daemon=d)):
                self.assertProblem(r, 503, "no-directory")
                self.assertIn("no directory configured", r.json()["detail"])
                self.assertNotIn("retry-after", r.headers)
            # bad input is still bad input, and inspect works without a directory
            self.assertProblem(self.verdict({}, daemon=d), 400, "missing-field")
            self.assertBadRequest(self.verdict({"account": "x", "mode": 7}, daemon=d), "mode")
            self.assertBadRequest(self.account("a%00", daemon=d), "account")
            r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"), daemon=d)
            self.assertEqual(r.status, 200)
            self.assertEqual(self.request("GET", "/healthz", daemon=d).status, 200)
        finally:
            self.stop(d)

    def test_ldap_down(self):
        """No server listens: 503 at once with Retry-After, inspect keeps working."""
        d = Daemon(extra_args=DOWN_LDAP)
        try:
            doc = {"certificate": pem_text("sid_ext.pem"), "at": AT}
            for _ in range(3):
                t0 = time.monotonic()
                r = self.verdict(doc, daemon=d)
                self.assertLess(time.monotonic() - t0, 1.0)
                self.assertProblem(r, 503, "directory-unavailable")
                self.assertEqual(r.headers.get("retry-after"), "5")
                self.assertNotIn("127.0.0.1", r.json()["detail"])  # the reason is logged only
            t0 = time.monotonic()
            self.assertProblem(self.account("henry", daemon=d), 503, "directory-unavailable")
            r = self.request("GET", "/readyz", daemon=d)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertProblem(r, 503, "directory-unavailable")
            r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"), daemon=d)
            self.assertEqual(r.status, 200)
            self.assertBadRequest(self.verdict({"account": "x", "profile": "nt4"}, daemon=d),
                                  "profile")
            deadline = time.monotonic() + 5
            while 'problem=directory-unavailable note="' not in d.log():
                self.assertLess(time.monotonic(), deadline, d.log())
                time.sleep(0.05)
            self.assertIn("directory (ldap) is not ready", d.log())
        finally:
            self.stop(d)

    def test_ldap_down_concurrent_and_readyz_cached(self):
        """Every worker takes a handle from the pool; /readyz probes at most once a second."""
        d = Daemon(extra_args=DOWN_LDAP)
        statuses = []
        try:
            def client():
                conn = d.conn()
                try:
                    for _ in range(10):
                        conn.request("POST", "/v1/verdict", body=json.dumps({"account": "henry"}),
                                     headers={"Content-Type": "application/json"})
                        r = conn.getresponse()
                        r.read()
                        statuses.append(r.status)
                        conn.request("GET", "/readyz")
                        r = conn.getresponse()
                        r.read()
                        statuses.append(r.status)
                finally:
                    conn.close()

            threads = [threading.Thread(target=client) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(statuses, [503] * 120)
            # the state did not change: one warning, not one per probe
            self.assertEqual(d.log().count("directory (ldap) is not ready"), 1, d.log())
        finally:
            self.stop(d)

    def test_default_fleet(self):
        d = Daemon(extra_args=["--ldif", LDIF, "--profile", "windows-2016", "--profile", "samba",
                               "--cache-size", "0"])
        try:
            r = self.verdict({"certificate": pem_text("sid_uri.pem"), "at": AT}, daemon=d)
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertEqual([p["profile"] for p in r.json()["profiles"]],
                             ["windows-2016", "samba"])
            r = self.verdict({"certificate": pem_text("sid_uri.pem"), "at": AT,
                              "profile": "windows-2019"}, daemon=d)
            self.assertEqual([p["profile"] for p in r.json()["profiles"]], ["windows-2019"])
            self.assertEqual(self.account("henry", daemon=d).json()["profiles"],
                             ["windows-2016", "samba"])
            # mode 0 does not suit the windows-2016 of the fleet
            r = self.verdict({"account": "henry", "mode": 0}, daemon=d)
            self.assertBadRequest(r, "mode")
        finally:
            self.stop(d)

    def test_password_file(self):
        """Read once at start, never logged; the server is contacted only when asked."""
        pw = os.path.join(TMPDIR.name, "bind.pw")
        with open(pw, "w", encoding="ascii") as f:
            f.write("SECRET-MARKER-pw\n")
        os.chmod(pw, 0o600)
        d = Daemon(extra_args=DOWN_LDAP + ["--ldap-bind-dn", "cn=svc,dc=example,dc=com",
                                           "--ldap-password-file", pw, "--ldap-starttls"])
        try:
            self.assertProblem(self.request("GET", "/readyz", daemon=d), 503,
                               "directory-unavailable")
            self.assertIn("simple bind as cn=svc", d.log())
        finally:
            self.stop(d)  # checks that SECRET-MARKER is not in the log

    def test_start_failures(self):
        pw = os.path.join(TMPDIR.name, "empty.pw")
        with open(pw, "w", encoding="ascii") as f:
            f.write("\n")
        os.chmod(pw, 0o600)  # a secret readable by others is refused before it is read
        bad_ldif = os.path.join(ARGS.data, "dir", "bad_syntax.ldif")
        cases = [
            (["--ldif", bad_ldif], 1, b"line 11"),
            (["--ldif", os.path.join(TMPDIR.name, "missing.ldif")], 1, b"missing.ldif"),
            (DOWN_LDAP + ["--ldap-bind-dn", "cn=x", "--ldap-password-file", pw,
                          "--ldap-starttls"], 1, b"the password is empty"),
            (DOWN_LDAP + ["--ldap-bind-dn", "cn=x", "--ldap-password-file", "/nonexistent"], 1,
             b"/nonexistent"),
            # a simple bind over ldap:// without StartTLS would send the password in clear
            (DOWN_LDAP + ["--ldap-bind-dn", "cn=x,dc=example,dc=com", "--ldap-password-file",
                          os.path.join(TMPDIR.name, "bind.pw")], 2, b"StartTLS"),
        ]
        with open(os.path.join(TMPDIR.name, "bind.pw"), "w", encoding="ascii") as f:
            f.write("pw\n")
        for args, rc, text in cases:
            with self.subTest(args=args):
                p = self.run_daemon(*args)
                self.assertEqual(p.returncode, rc, p.stderr)
                self.assertIn(text, p.stderr)

    def test_usage_errors(self):
        for args in (["--ldif", "a", "--ldap-uri", "ldap://x"] + DOWN_LDAP[2:],
                     ["--ldif", "a", "--ldif", "b"],
                     ["--ldap-uri", "ldap://x"],
                     ["--ldap-base", "dc=x"],
                     ["--ldap-starttls"],
                     ["--ldap-uri", "http://x", "--ldap-base", "dc=x"],
                     DOWN_LDAP + ["--ldap-bind-dn", "cn=x"],
                     DOWN_LDAP + ["--ldap-password-file", "/dev/null"],
                     DOWN_LDAP + ["--ldap-sasl-mech", "PLAIN"],
                     DOWN_LDAP + ["--ldap-sasl-mech", "GSSAPI", "--ldap-bind-dn", "cn=x",
                                  "--ldap-password-file", "/dev/null"],
                     ["--profile", "windows-2003"],
                     ["--profile", "samba"] * 9,
                     ["--cache-size", "-1"], ["--cache-size", "x"], ["--cache-size", "10000001"],
                     ["--cache-ttl", "86401"], ["--cache-negative-ttl", "1s"]):
            with self.subTest(args=args):
                p = self.run_daemon(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(b"usage:", p.stderr)

    def test_help_lists_directory_flags(self):
        p = subprocess.run([ARGS.daemon, "--help"], capture_output=True, timeout=10)
        for flag in (b"--ldif", b"--ldap-uri", b"--ldap-password-file", b"--profile",
                     b"--cache-size", b"--cache-ttl", b"--cache-negative-ttl"):
            self.assertIn(flag, p.stdout)


class TBSameAsCli(ApiTestCase):
    """The daemon serves the documents `strongmap verdict` / `strongmap account` print."""

    def cli(self, *args):
        if not ARGS.cli:
            self.skipTest("no --cli given")
        p = subprocess.run([ARGS.cli, *args, "--ldif", LDIF, "--at", AT], capture_output=True,
                           timeout=30)
        self.assertIn(p.returncode, (0, 3), p.stderr)
        return json.loads(p.stdout)

    def test_verdicts(self):
        cases = [
            ({"certificate": pem_text("upn_only.pem")}, [cert_path("upn_only.pem")]),
            ({"certificate": pem_text("sid_uri.pem"), "profile": ["windows-2019", "samba"],
              "mode": 1}, [cert_path("sid_uri.pem"), "--profile", "windows-2019", "--profile",
                           "samba", "--mode", "1"]),
            ({"account": "henry", "backdating_seconds": 0}, ["--account", "henry",
                                                             "--backdating", "0"]),
        ]
        for doc, args in cases:
            with self.subTest(args=args):
                r = self.verdict(dict(doc, at=AT))
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json(), self.cli("verdict", *args))

    def test_account(self):
        r = self.account("henry", "profile=windows-2022&profile=samba&at=" + AT)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), self.cli("account", "henry", "--profile", "windows-2022",
                                            "--profile", "samba"))


# ---- helpers of the security and operations tests ----------------------------------------------


def tls_context(ca, cert=None):
    """A client TLS context trusting @ca; @cert: (certificate file, key file)."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False  # the test server certificate names localhost and 127.0.0.1
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


PROM_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? '
    r'(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|[-+]Inf|NaN)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(tc, text):
    """Check @text against the Prometheus text format 0.0.4; returns {(name, labels): value}."""
    types, samples = {}, {}
    tc.assertTrue(text.endswith("\n"), "the exposition must end with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            tc.assertNotIn(name, types, f"TYPE of {name} given twice")
            tc.assertIn(kind, ("counter", "gauge", "histogram", "summary", "untyped"))
            types[name] = kind
            continue
        m = PROM_SAMPLE.match(line)
        tc.assertIsNotNone(m, f"not a sample line: {line!r}")
        name, labels = m.group(1), tuple(PROM_LABEL.findall(m.group(2) or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        tc.assertTrue(name in types or family in types, f"{name} has no TYPE line")
        tc.assertNotIn((name, labels), samples, f"sample given twice: {line!r}")
        samples[(name, labels)] = float(m.group(3))
    # histograms: cumulative buckets ending with +Inf == _count
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (n, labels), v in samples.items():
            if n == name + "_bucket":
                key = tuple(l for l in labels if l[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(key, []).append((math.inf if le == "+Inf" else float(le), v))
        tc.assertTrue(series, f"histogram {name} has no buckets")
        for key, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            tc.assertEqual(counts, sorted(counts), f"{name}{key}: buckets not cumulative")
            tc.assertEqual(buckets[-1][0], math.inf)
            tc.assertEqual(samples[(name + "_count", key)], counts[-1])
    return samples


def metric(samples, name, **labels):
    """The value of one sample (0 when absent: counters appear on first use)."""
    want = tuple(sorted(labels.items()))
    for (n, ls), v in samples.items():
        if n == name and tuple(sorted(ls)) == want:
            return v
    return 0.0


def token_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class PKI:
    """A CA, a server certificate and client certificates, made at test time (tests/lib/pki.py:
    the tests' CA configuration, EC P-256 keys, valid for 2 days)."""

    def __init__(self, tmp):
        p = pki.Pki(os.path.join(tmp, "pki"))
        self.ca = p.ca("ca", "/CN=Test CA")
        self.other_ca = p.ca("other", "/CN=Other CA")

        def issue(name, ca, cn, section, extra=""):
            return (p.issue(name, ca, "/CN=" + cn, section, extra), p.path(name, ".key"))

        self.server = issue("server", "ca", "localhost", "server_ext")  # DNS:localhost, 127.0.0.1
        self.client = issue("client", "ca", "portal-client", "client_ext")
        self.foreign = issue("foreign", "other", "intruder", "client_ext")
        self.wrong_eku = issue("wrongeku", "ca", "server-as-client", "client_ext",
                               "extendedKeyUsage = serverAuth")


def host(*args, runtime=None, tls_ca=None, ldif=True):
    """An api_host (struct api_config from @args, struct api_runtime from the file text
    @runtime)."""
    if not ARGS.host:
        raise unittest.SkipTest("no --host given")
    extra = list(args)
    if ldif:
        extra += ["--ldif", LDIF]
    if runtime is not None:
        path = os.path.join(TMPDIR.name, f"runtime-{time.monotonic_ns()}.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(runtime)
        extra += ["--runtime", path]
    d = Daemon(extra_args=extra, cmd=[ARGS.host], tls_ca=tls_ca)
    d.runtime_path = extra[extra.index("--runtime") + 1] if runtime is not None else None
    return d


# Secrets of the test tokens: they must never reach a log (check_log_hygiene looks for the
# marker).
SECRET_CHECK = "SECRET-MARKER-check-0123456789"
SECRET_ACCOUNT = "SECRET-MARKER-account-0123456789"
SECRET_METRICS = "SECRET-MARKER-metrics-0123456789"
SECRET_ADMIN = "SECRET-MARKER-admin-0123456789"
TOKENS = (f"token portal {token_hash(SECRET_CHECK)} check\n"
          f"token helpdesk {token_hash(SECRET_ACCOUNT)} account\n"
          f"token prometheus {token_hash(SECRET_METRICS)} metrics\n"
          f"token root {token_hash(SECRET_ADMIN)} admin\n")


class HostTestCase(ApiTestCase):
    def stop(self, d):
        rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())
        check_log_hygiene(d.log())

    def metrics(self, d, token=None):
        r = self.request("GET", "/metrics", daemon=d, token=token)
        self.assertEqual(r.status, 200, r.body[:300])
        return parse_prometheus(self, r.body.decode())

    def inspect(self, d, token=None, body=None, conn=None, cert=None):
        return self.request("POST", "/v1/inspect", body=body or fixture("sid_ext.pem"),
                            headers={"Content-Type": "application/x-pem-file"}, daemon=d,
                            token=token, conn=conn, cert=cert)


class TCMetrics(ApiTestCase):
    """GET /metrics of the main daemon (no tokens: open)."""

    def scrape(self):
        r = self.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r.body[:300])
        return parse_prometheus(self, r.body.decode())

    def test_format_and_counters(self):
        before = self.scrape()
        self.assertEqual(metric(before, "strongmapd_build_info", version="0.1.0"), 1)
        self.request("GET", "/healthz")
        self.request("GET", "/nope")
        v = self.verdict({"certificate": pem_text("upn_only.pem"), "at": AT})
        self.assertEqual(v.json()["outcome"], "deny")
        self.account("henry", "at=" + AT)
        routes = (("/healthz", "200"), ("other", "404"), ("/v1/verdict", "200"),
                  ("/v1/accounts/{name}", "200"))

        def counted(after):
            return all(metric(after, "strongmapd_http_requests_total", route=r, status=s) >
                       metric(before, "strongmapd_http_requests_total", route=r, status=s)
                       for r, s in routes)

        # a request is counted when libmicrohttpd says it has ended, which may be just after
        # its client has the whole answer (api/http.c on_completed): wait for that, bounded
        # (the account request was seen uncounted once, in a clean-clone run)
        deadline = time.monotonic() + 5
        after = self.scrape()
        while not counted(after) and time.monotonic() < deadline:
            time.sleep(0.02)
            after = self.scrape()
        for route, status in routes:
            with self.subTest(route=route):
                delta = (metric(after, "strongmapd_http_requests_total", route=route,
                                status=status) -
                         metric(before, "strongmapd_http_requests_total", route=route,
                                status=status))
                if route == "/healthz":
                    # the harness's own liveness probes may land in between (seen in CI)
                    self.assertGreaterEqual(delta, 1)
                else:
                    self.assertEqual(delta, 1)
        self.assertEqual(metric(after, "strongmapd_verdicts_total", outcome="deny") -
                         metric(before, "strongmapd_verdicts_total", outcome="deny"), 1)
        self.assertGreaterEqual(metric(after, "strongmapd_verdict_reasons_total", outcome="deny",
                                       reason="weak_mapping"), 1)
        self.assertEqual(metric(after, "strongmapd_directory_operations_total", op="verdict") -
                         metric(before, "strongmapd_directory_operations_total", op="verdict"), 1)
        self.assertEqual(metric(after, "strongmapd_account_statuses_total", status="ready") -
                         metric(before, "strongmapd_account_statuses_total", status="ready"), 1)
        hits = metric(after, "strongmapd_directory_cache_hits_total")
        misses = metric(after, "strongmapd_directory_cache_misses_total")
        self.assertGreater(hits + misses, 0)
        self.assertGreaterEqual(metric(after, "strongmapd_http_connections_open"), 1)
        self.assertGreater(metric(after, "strongmapd_http_request_duration_seconds_count",
                                  route="/healthz"), 0)

    def test_verdict_lookups(self):
        """A certificate with 256 DNS names: a bounded number of directory lookups, counted."""
        with open(os.path.join(ARGS.data, "verdict", "many_dns.pem"), encoding="ascii") as f:
            pem = f.read()
        before = self.scrape()
        v = self.verdict({"certificate": pem, "at": AT}).json()
        after = self.scrape()
        self.assertLessEqual(v["directory_lookups"], 8)
        self.assertGreater(v["directory_lookups"], 0)
        self.assertEqual(metric(after, "strongmapd_verdict_directory_lookups_total") -
                         metric(before, "strongmapd_verdict_directory_lookups_total"),
                         v["directory_lookups"])
        self.assertEqual(metric(after, "strongmapd_verdict_lookup_limit_total"),
                         metric(before, "strongmapd_verdict_lookup_limit_total"))

    def test_head(self):
        self.assertEqual(self.request("HEAD", "/metrics").status, 200)
        self.assertProblem(self.request("POST", "/metrics", body=b""), 405,
                           "method-not-allowed")

    def test_concurrent_scrapes(self):
        """Scrapes while other clients count (the counters are shared by the threads)."""
        errors = []

        def client(k):
            try:
                for _ in range(30):
                    path = "/metrics" if k % 2 else "/healthz"
                    c = DAEMON.conn()
                    c.request("GET", path)
                    r = c.getresponse()
                    r.read()
                    c.close()
                    if r.status != 200:
                        errors.append(r.status)
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])


class TDAuth(HostTestCase):
    """Bearer tokens and scopes."""

    @classmethod
    def setUpClass(cls):
        cls.d = host(runtime=TOKENS)

    @classmethod
    def tearDownClass(cls):
        rc, _ = cls.d.stop()
        check_log_hygiene(cls.d.log())
        if rc != 0:
            raise AssertionError(cls.d.log())

    def test_open_routes(self):
        for path in ("/healthz", "/readyz"):
            with self.subTest(path=path):
                self.assertEqual(self.request("GET", path, daemon=self.d).status, 200)
                self.assertEqual(self.request("GET", path, daemon=self.d,
                                              token="wrong-SECRET-MARKER").status, 200)

    def test_missing_token(self):
        r = self.inspect(self.d)
        self.assertProblem(r, 401, "unauthorized")
        self.assertEqual(r.headers["www-authenticate"], 'Bearer realm="strongmapd"')
        r = self.account("henry", daemon=self.d)
        self.assertProblem(r, 401, "unauthorized")
        r = self.request("GET", "/v1/inspect", daemon=self.d)  # no route: 405 before auth
        self.assertProblem(r, 405, "method-not-allowed")
        r = self.request("GET", "/nope", daemon=self.d)
        self.assertProblem(r, 404, "not-found")

    def test_other_scheme_is_no_token(self):
        r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"), daemon=self.d,
                         headers={"Authorization": 'Digest username="portal", response="00"'})
        self.assertProblem(r, 401, "unauthorized")
        self.assertEqual(r.headers["www-authenticate"], 'Bearer realm="strongmapd"')

    def test_basic_with_the_token_as_password(self):
        """HTTP Basic (what rlm_rest can send): any user, the token's secret as password."""
        def basic(text):
            return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}

        for text in ("freeradius:" + SECRET_CHECK, ":" + SECRET_CHECK, "a:" + SECRET_CHECK):
            with self.subTest(user=text.split(":")[0]):
                r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"),
                                 daemon=self.d, headers=basic(text))
                self.assertEqual(r.status, 200, r.body[:200])
        for text in ("portal:SECRET-MARKER", SECRET_CHECK, "portal:" + SECRET_CHECK + "x",
                     "portal:"):
            with self.subTest(text=text[-8:]):
                r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"),
                                 daemon=self.d, headers=basic(text))
                self.assertProblem(r, 401, "unauthorized")
                self.assertIn('error="invalid_token"', r.headers["www-authenticate"])
        r = self.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"), daemon=self.d,
                         headers={"Authorization": "Basic not*base64"})
        self.assertProblem(r, 401, "unauthorized")

    def test_invalid_token(self):
        for tok in ("wrong-SECRET-MARKER", SECRET_CHECK + "x", SECRET_CHECK[:-1],
                    SECRET_CHECK + " extra"):
            with self.subTest(token=tok[-8:]):
                r = self.inspect(self.d, token=tok)
                self.assertProblem(r, 401, "unauthorized")
                self.assertIn('error="invalid_token"', r.headers["www-authenticate"])

    def test_scopes(self):
        cases = [
            (SECRET_CHECK, "POST", "/v1/inspect", 200),
            (SECRET_CHECK, "POST", "/v1/verdict", 200),
            (SECRET_CHECK, "GET", "/v1/accounts/henry", 403),
            (SECRET_CHECK, "GET", "/metrics", 403),
            (SECRET_ACCOUNT, "GET", "/v1/accounts/henry", 200),
            (SECRET_ACCOUNT, "POST", "/v1/verdict", 403),
            (SECRET_METRICS, "GET", "/metrics", 200),
            (SECRET_METRICS, "POST", "/v1/inspect", 403),
            (SECRET_ADMIN, "GET", "/metrics", 200),
            (SECRET_ADMIN, "GET", "/v1/accounts/henry", 403),
        ]
        for secret, method, path, status in cases:
            with self.subTest(secret=secret[14:21], path=path):
                body = None
                headers = {}
                if path == "/v1/inspect":
                    body = fixture("sid_ext.pem")
                elif path == "/v1/verdict":
                    body = json.dumps({"account": "henry", "at": AT})
                    headers = {"Content-Type": "application/json"}
                spec = "/v1/accounts/{name}" if path.startswith("/v1/accounts/") else None
                r = self.request(method, path, body=body, headers=headers, daemon=self.d,
                                 token=secret, spec_path=spec)
                self.assertEqual(r.status, status, r.body[:300])
                if status == 403:
                    self.assertProblem(r, 403, "insufficient-scope")
                    self.assertIn('error="insufficient_scope"', r.headers["www-authenticate"])

    def verdict_as(self, d, secret, doc):
        r = self.request("POST", "/v1/verdict", body=json.dumps(doc).encode(), daemon=d,
                         headers={"Content-Type": "application/json"}, token=secret)
        self.assertEqual(r.status, 200, r.body[:300])
        return r.body.decode(), json.loads(r.body)

    def test_account_data(self):
        """A check token learns the verdict but no account attribute; account tokens see them."""
        d = host(runtime=TOKENS + "scope verdict check,account\n")
        try:
            doc = {"certificate": pem_text("sid_ext.pem"), "account": "mallory", "at": AT}
            text, v = self.verdict_as(d, SECRET_CHECK, doc)
            self.assertIsNone(v["account"])
            self.assertTrue(v["account_redacted"])
            self.assertNotIn("sid_owner", v)
            self.assertEqual((v["kdc_error"]["code"], v["event"]["id"]), (66, 41))
            self.assertIn("sid_mismatch", [r["code"] for r in v["reasons"]])
            for secret in ("mallory,", "dc=example,dc=com", "682003330-1300", '"sam"',
                           "Set-ADUser", "sid_extension_der_base64\":\"M"):
                self.assertNotIn(secret, text)
            text, v = self.verdict_as(d, SECRET_ACCOUNT, doc)
            self.assertFalse(v["account_redacted"])
            self.assertEqual(v["account"]["sam"], "mallory")
            self.assertEqual(v["sid_owner"]["sam"], "alice")
            self.assertIn("Set-ADUser", text)
        finally:
            self.stop(d)
        # a forged certificate (the NTAuth CA's name and key identifier, another key's
        # signature) is not judged for a check token: no lookup, so that the answer cannot tell
        # whether an account has the SID or mapping it carries (security review of 2026-12-08,
        # finding 1: the paths and lookups differed for alice's SID and an unknown one)
        d2 = host(runtime=TOKENS + "scope verdict check,account\n")
        try:
            for name in ("forged_alice_sid.pem", "forged_alice_ed25519.pem",
                         "forged_erin_serial.pem"):
                with self.subTest(cert=name):
                    with open(os.path.join(ROOT, "tests", "data", "verdict", name)) as f:
                        doc = {"certificate": f.read(), "at": AT}
                    _, v = self.verdict_as(d2, SECRET_CHECK, doc)
                    self.assertEqual(v["outcome"], "deny")
                    self.assertEqual((v["directory_lookups"], v["resolved_by"], v["paths"]),
                                     (0, None, []))
                    self.assertEqual(v["issuer_signature"], "invalid")
                    self.assertIn("issuer_signature_invalid", [r["code"] for r in v["reasons"]])
                    # an account token gets the verdict itself (still a deny)
                    _, full = self.verdict_as(d2, SECRET_ACCOUNT, doc)
                    self.assertEqual(full["outcome"], "deny")
                    self.assertGreater(full["directory_lookups"], 0)
        finally:
            self.stop(d2)
        # the same token sees account data when the operator says so
        d = host(runtime=TOKENS + "scope account_data none\n")
        try:
            _, v = self.verdict_as(d, SECRET_CHECK, {"account": "henry", "at": AT})
            self.assertFalse(v["account_redacted"])
            self.assertEqual(v["account"]["sam"], "henry")
        finally:
            self.stop(d)

    def test_probe_scopes(self):
        """/healthz and /readyz are open by default, and take a scope like every route."""
        d = host(runtime=TOKENS + "scope healthz check\nscope readyz metrics\n")
        try:
            self.assertProblem(self.request("GET", "/healthz", daemon=d), 401, "unauthorized")
            self.assertEqual(self.request("GET", "/healthz", daemon=d,
                                          token=SECRET_CHECK).status, 200)
            self.assertProblem(self.request("GET", "/readyz", daemon=d, token=SECRET_CHECK), 403,
                               "insufficient-scope")
            self.assertEqual(self.request("GET", "/readyz", daemon=d,
                                          token=SECRET_METRICS).status, 200)
        finally:
            self.stop(d)

    def test_token_name_logged_never_the_token(self):
        r = self.inspect(self.d, token=SECRET_CHECK)
        self.assertEqual(r.status, 200)
        rid = r.headers["x-request-id"]
        self.d.wait_log(f"id={rid} client=127.0.0.1 token=portal ")
        check_log_hygiene(self.d.log())

    def test_refusal_before_the_body(self):
        """A refused request with a body is answered at once; the body is never read."""
        s = self.d.raw()
        try:
            s.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 200000\r\n\r\n")
            out = b""
            while True:  # answered and closed without our sending the body
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 401 "), out[:200])
        self.assertIn(b"Connection: close", out)
        headers, body = split_raw(out)
        self.check("POST", "/v1/inspect", Response(401, headers, body))

    def test_keep_alive_after_refusal(self):
        """A refused request without a body leaves the connection open."""
        conn = self.d.conn()
        try:
            r1 = self.request("GET", "/v1/accounts/henry", conn=conn,
                              spec_path="/v1/accounts/{name}")
            sock = conn.sock
            r2 = self.request("GET", "/v1/accounts/henry", conn=conn, token=SECRET_ACCOUNT,
                              spec_path="/v1/accounts/{name}")
            self.assertEqual([r1.status, r2.status], [401, 200])
            self.assertIs(conn.sock, sock, "the connection was reopened")
        finally:
            conn.close()

    def test_auth_metrics(self):
        before = self.metrics(self.d, SECRET_METRICS)
        self.inspect(self.d)
        self.inspect(self.d, token="wrong-SECRET-MARKER")
        self.inspect(self.d, token=SECRET_ACCOUNT)
        after = self.metrics(self.d, SECRET_ADMIN)
        for reason in ("missing_token", "invalid_token", "insufficient_scope"):
            with self.subTest(reason=reason):
                self.assertEqual(
                    metric(after, "strongmapd_http_auth_failures_total", reason=reason) -
                    metric(before, "strongmapd_http_auth_failures_total", reason=reason), 1)


class TERateLimit(HostTestCase):
    def test_token_bucket(self):
        d = host(runtime=TOKENS + "rate 0.5\nburst 3\nscope inspect none\n")
        try:
            statuses = [self.inspect(d, token=SECRET_CHECK).status for _ in range(5)]
            self.assertEqual(statuses[:3], [200] * 3)
            self.assertIn(429, statuses[3:])
            r = self.inspect(d, token=SECRET_CHECK)
            self.assertProblem(r, 429, "rate-limited")
            self.assertIn(r.headers["retry-after"], ("1", "2"))  # 0.5/s: one every 2 s
            # another client (an other token; no token: the address) has its own bucket
            self.assertEqual(self.inspect(d, token=SECRET_ADMIN).status, 200)
            self.assertEqual(self.inspect(d).status, 200)
            # open routes are not limited
            for _ in range(10):
                self.assertEqual(self.request("GET", "/healthz", daemon=d).status, 200)
            time.sleep(int(r.headers["retry-after"]) + 0.1)
            self.assertEqual(self.inspect(d, token=SECRET_CHECK).status, 200)
            samples = self.metrics(d, SECRET_METRICS)
            self.assertGreaterEqual(metric(samples, "strongmapd_http_rate_limited_total"), 2)
            d.wait_log("problem=rate-limited")
        finally:
            self.stop(d)

    def test_retry_after_rounds_up(self):
        d = host(runtime="rate 0.2\nburst 1\n")
        try:
            self.assertEqual(self.inspect(d).status, 200)
            r = self.inspect(d)
            self.assertProblem(r, 429, "rate-limited")
            self.assertIn(r.headers["retry-after"], ("5", "4"))
            # 404s are counted against the client too
            self.assertEqual(self.request("GET", "/nope", daemon=d).status, 429)
        finally:
            self.stop(d)


def pem_chain(n):
    one = fixture("sid_ext.pem")
    return one * n


class TFLimits(HostTestCase):
    def test_max_certs(self):
        d = host(runtime="max_certs 2\n")
        try:
            self.assertEqual(self.inspect(d, body=pem_chain(2)).status, 200)
            r = self.inspect(d, body=pem_chain(3))
            self.assertProblem(r, 413, "too-many-certificates")
            self.assertIn("limit is 2", r.json()["detail"])
            r = self.request("POST", "/v1/verdict", daemon=d,
                             body=json.dumps({"certificate": pem_chain(3).decode(), "at": AT}),
                             headers={"Content-Type": "application/json"})
            self.assertProblem(r, 413, "too-many-certificates")
            self.assertIn("certificate: ", r.json()["detail"])
        finally:
            self.stop(d)

    def test_engine_limits_are_4xx(self):
        """33 certificates (SM_MAX_CERTS is 32); 300 SAN entries (SM_MAX_SAN is 256)."""
        r = self.request("POST", "/v1/inspect", body=pem_chain(33))
        self.assertProblem(r, 413, "too-many-certificates")
        pki_dir = os.path.join(TMPDIR.name, "san")
        os.makedirs(pki_dir, exist_ok=True)
        san = "subjectAltName=" + ",".join(f"DNS:h{i}.example.com" for i in range(300))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                        "-subj", "/CN=many", "-days", "2", "-addext", san],
                       check=True, capture_output=True, cwd=pki_dir)
        with open(os.path.join(pki_dir, "c.pem"), "rb") as f:
            many = f.read()
        r = self.request("POST", "/v1/inspect", body=many)
        self.assertEqual(r.status, 400, r.body[:300])
        self.assertIn("256 subjectAltName", r.json()["detail"])
        r = self.verdict({"certificate": many.decode(), "at": AT})
        self.assertEqual(r.status, 400, r.body[:300])

    def test_header_limit(self):
        d = host("--header-limit", "8192")
        try:
            big = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"h" * 9000 + b"\r\n\r\n"
            status, _ = raw_exchange(d, big)
            self.assertEqual(status, 431)
            small = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"h" * 4000 + b"\r\n\r\n"
            status, _ = raw_exchange(d, small, read_until_close=False)
            self.assertEqual(status, 200)
        finally:
            self.stop(d)

    def test_connection_limit(self):
        """At the limit a further connection is closed at once, unanswered (not left waiting in
        the listen backlog); once one of the others closes, a new one is served."""
        d = host("--conn-limit", "2")
        socks = []
        try:
            for _ in range(2):
                c = d.conn()
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                socks.append(c)
            extra = d.raw(timeout=5)
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                try:
                    self.assertEqual(extra.recv(1024), b"")
                except ConnectionResetError:
                    pass
            finally:
                extra.close()
            socks.pop().close()
            deadline = time.monotonic() + 5
            while True:  # the server notices the close on its own schedule
                status, _ = raw_exchange(d, b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
                                         b"Connection: close\r\n\r\n")
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(status, 200)
        finally:
            for c in socks:
                c.close()
            self.stop(d)

    def test_per_ip_connection_limit(self):
        """Two keep-alive connections from one address are served; a third one is closed at
        once, unanswered."""
        d = host("--per-ip-limit", "2")
        socks = []
        try:
            for _ in range(2):
                c = d.conn()
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                socks.append(c)
            extra = d.raw(timeout=5)
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                data = extra.recv(1024)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            finally:
                extra.close()
            self.assertEqual(data, b"", "the third connection was answered")
            for c in socks:  # the first two still work
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
        finally:
            for c in socks:
                c.close()
            self.stop(d)

    def test_trickling_client_is_cut(self):
        """One byte every 0.3 s keeps libmicrohttpd's idle timeout from firing; the request
        timeout (2 s, + idle 2 s before the request line) cuts it anyway, and others are served
        meanwhile."""
        d = host("--request-timeout", "2", "--idle-timeout", "2")
        results = {}

        def trickle(name, head, rest):
            s = d.raw(timeout=20)
            t0 = time.monotonic()
            try:
                s.sendall(head)
                for b in rest:
                    s.sendall(bytes([b]))
                    time.sleep(0.3)
                results[name] = None  # sent it all: not cut
            except OSError:
                results[name] = time.monotonic() - t0
            finally:
                s.close()

        try:
            cases = {
                "request line": (b"", b"GET /healthz" + b"x" * 100),
                "headers": (b"GET /healthz HTTP/1.1\r\n", b"X-Slow: " + b"s" * 100),
                "body": (b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n",
                         b"b" * 1000),
            }
            threads = [threading.Thread(target=trickle, args=(k, *v)) for k, v in cases.items()]
            for t in threads:
                t.start()
            time.sleep(1)
            self.assertEqual(self.request("GET", "/healthz", daemon=d).status, 200)
            for t in threads:
                t.join(30)
            # request line: idle + request timeout from the connection's start (4 s); headers and
            # body: the request timeout from the request line (2 s); + watchdog period + send
            limits = {"request line": 5.5, "headers": 3.5, "body": 3.5}
            for name, took in results.items():
                with self.subTest(trickle=name):
                    self.assertIsNotNone(took, f"{name}: not cut")
                    self.assertLess(took, limits[name])
            d.wait_log("end=deadline")
            samples = self.metrics(d)
            self.assertEqual(metric(samples, "strongmapd_http_request_timeouts_total"), 3)
        finally:
            self.stop(d)


class TGTls(HostTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = PKI(TMPDIR.name)

    def tls_host(self, *extra):
        p = self.pki
        return host("--tls-cert", p.server[0], "--tls-key", p.server[1], *extra, runtime="",
                    tls_ca=p.ca)

    def test_https(self):
        d = self.tls_host()
        try:
            self.assertEqual(self.request("GET", "/healthz", daemon=d).status, 200)
            self.assertEqual(self.inspect(d).status, 200)
            self.assertEqual(self.tls_version(d), "TLSv1.3")
            # plain HTTP on the HTTPS port gets no answer
            status, _ = raw_exchange(d, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", timeout=3)
            self.assertIsNone(status)
        finally:
            self.stop(d)

    def tls_version(self, d):
        conn = d.conn()
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return conn.sock.version()
        finally:
            conn.close()

    def test_priorities(self):
        d = self.tls_host("--tls-priorities", "NORMAL:-VERS-ALL:+VERS-TLS1.2")
        try:
            self.assertEqual(self.tls_version(d), "TLSv1.2")
        finally:
            self.stop(d)

    def test_client_certificate_required(self):
        p = self.pki
        d = self.tls_host("--tls-client-ca", p.ca, "--tls-client-required")
        try:
            self.assertEqual(self.request("GET", "/healthz", daemon=d).status, 200)
            self.assertEqual(self.request("GET", "/readyz", daemon=d).status, 200)
            r = self.inspect(d)
            self.assertProblem(r, 403, "client-certificate-required")
            self.assertEqual(self.inspect(d, cert=p.client).status, 200)
            for cert in (p.foreign, p.wrong_eku):
                with self.subTest(cert=os.path.basename(cert[0])):
                    self.assertProblem(self.inspect(d, cert=cert), 403,
                                       "client-certificate-required")
            r = self.request("GET", "/metrics", daemon=d, cert=p.client)  # needs a cert too
            samples = parse_prometheus(self, r.body.decode())
            self.assertEqual(metric(samples, "strongmapd_http_auth_failures_total",
                                    reason="client_certificate"), 3)
            d.wait_log('note="no client certificate"')
            d.wait_log('note="client certificate not valid"')
        finally:
            self.stop(d)

    def test_client_certificate_optional(self):
        p = self.pki
        d = self.tls_host("--tls-client-ca", p.ca)
        try:
            self.assertEqual(self.inspect(d).status, 200)
            self.assertEqual(self.inspect(d, cert=p.client).status, 200)
            self.assertProblem(self.inspect(d, cert=p.foreign), 403,
                               "client-certificate-required")
        finally:
            self.stop(d)

    def test_tokens_over_https(self):
        d = host("--tls-cert", self.pki.server[0], "--tls-key", self.pki.server[1],
                 runtime=TOKENS, tls_ca=self.pki.ca)
        try:
            self.assertProblem(self.inspect(d), 401, "unauthorized")
            self.assertEqual(self.inspect(d, token=SECRET_CHECK).status, 200)
        finally:
            self.stop(d)

    def test_bad_tls_settings(self):
        p = subprocess.run([ARGS.host, "--tls-cert", self.pki.server[0], "--tls-key",
                            self.pki.client[1]], capture_output=True, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        p = subprocess.run([ARGS.host, "--tls-cert", self.pki.server[0]], capture_output=True,
                           timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"both a certificate and a key", p.stderr)


class THReloadAndDecisionLog(HostTestCase):
    def write_runtime(self, d, text):
        with open(d.runtime_path, "w", encoding="utf-8") as f:
            f.write(text)

    def reload(self, d, text, expect="reloaded"):
        self.write_runtime(d, text)
        n = d.log().count(expect)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while d.log().count(expect) == n:
            self.assertLess(time.monotonic(), deadline, d.log()[-2000:])
            time.sleep(0.02)

    def test_reload_swaps_settings_not_requests_in_flight(self):
        d = host(runtime="")
        try:
            self.assertEqual(self.inspect(d).status, 200)
            # a request in flight: headers and part of the body sent under runtime 1
            pem = fixture("sid_ext.pem")
            s = d.raw()
            s.sendall(b"POST /v1/inspect HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: " + str(len(pem)).encode() + b"\r\n\r\n" + pem[:10])
            time.sleep(0.3)
            self.reload(d, TOKENS)
            # new requests need a token now
            self.assertProblem(self.inspect(d), 401, "unauthorized")
            self.assertEqual(self.inspect(d, token=SECRET_CHECK).status, 200)
            # runtime 1 is still held by the request in flight
            self.assertNotIn("runtime 1 released", d.log())
            s.sendall(pem[10:])
            out = b""
            while b"\r\n\r\n" not in out:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            s.close()
            self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
            d.wait_log("runtime 1 released")
            self.assertNotIn("runtime 2 released", d.log())
            # a bad runtime keeps the current one
            self.reload(d, "token x nothex check\n", expect="reload failed")
            self.assertEqual(self.inspect(d, token=SECRET_CHECK).status, 200)
            self.assertIn("runtime 3 released", d.log())  # the one that failed to build
            samples = self.metrics(d, SECRET_METRICS)
            self.assertEqual(metric(samples, "strongmapd_runtime_reloads_total"), 1)
        finally:
            self.stop(d)
        self.assertIn("runtime 2 released", d.log())  # the last one, at api_stop()

    def test_reload_under_load(self):
        """Reloads while clients send requests: none fails."""
        d = host(runtime="")
        errors, done = [], threading.Event()

        def client():
            conn = d.conn()
            try:
                while not done.is_set():
                    conn.request("POST", "/v1/inspect", body=fixture("sid_ext.pem"),
                                 headers={"Authorization": "Bearer " + SECRET_CHECK})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errors.append(r.status)
            except Exception as e:  # reported below
                errors.append(repr(e))
            finally:
                conn.close()

        try:
            threads = [threading.Thread(target=client) for _ in range(4)]
            for t in threads:
                t.start()
            for i in range(10):
                self.reload(d, TOKENS if i % 2 == 0 else "rate 10000\n")
                time.sleep(0.05)
            done.set()
            for t in threads:
                t.join(30)
            self.assertEqual(errors, [])
        finally:
            self.stop(d)

    def test_decision_log(self):
        log1 = os.path.join(TMPDIR.name, f"decisions-{time.monotonic_ns()}.log")
        d = host(runtime=TOKENS + f"decision_log {log1}\n")
        try:
            r = self.request(
                "POST", "/v1/verdict", daemon=d, token=SECRET_CHECK,
                body=json.dumps({"certificate": pem_text("upn_only.pem"), "at": AT,
                                 "profile": ["windows-2022", "samba"]}),
                headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 200)
            v = r.json()
            rid = r.headers["x-request-id"]
            self.request("POST", "/v1/inspect", daemon=d, token=SECRET_CHECK,
                         body=fixture("sid_ext.pem"))  # not a verdict: no line
            r2 = self.request("POST", "/v1/verdict", daemon=d, token=SECRET_CHECK,
                              body=json.dumps({"account": "henry", "at": AT}),
                              headers={"Content-Type": "application/json"})
            self.assertEqual(r2.status, 200)
            with open(log1, encoding="utf-8") as f:
                text = f.read()
            self.assertNotIn("BEGIN CERTIFICATE", text)
            self.assertNotIn("SECRET-MARKER", text)
            lines = [json.loads(l) for l in text.splitlines()]
            self.assertEqual(len(lines), 2)
            first = lines[0]
            self.assertEqual(first["request_id"], rid)
            self.assertEqual(first["client"], "127.0.0.1")
            self.assertEqual(first["token"], "portal")
            self.assertEqual(first["outcome"], "deny")
            self.assertEqual(first["kdc_error"], v["kdc_error"]["code"])
            self.assertEqual(first["event"], v["event"]["id"])
            # the operator's log names the account; the check token's answer did not
            self.assertIsNone(v["account"])
            self.assertEqual(first["account"], "cn=alice,cn=Users,dc=example,dc=com")
            self.assertEqual(first["profiles"], ["windows-2022", "samba"])
            self.assertEqual(first["profile"], v["profile"])
            self.assertIn("weak_mapping", first["reasons"])
            self.assertEqual(first["certificate_sha1"], v["certificate"]["sha1"])
            self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(lines[1]["outcome"], "allow")
            self.assertIsNone(lines[1]["kdc_error"])
            # rotation: rename, reload, the next line goes to a new file
            os.rename(log1, log1 + ".1")
            self.reload(d, TOKENS + f"decision_log {log1}\n")
            self.request("POST", "/v1/verdict", daemon=d, token=SECRET_CHECK,
                         body=json.dumps({"account": "henry", "at": AT}),
                         headers={"Content-Type": "application/json"})
            with open(log1, encoding="utf-8") as f:
                self.assertEqual(len(f.read().splitlines()), 1)
            with open(log1 + ".1", encoding="utf-8") as f:
                self.assertEqual(len(f.read().splitlines()), 2)
            # an unwritable path: the reload fails, the old log stays
            self.reload(d, TOKENS + "decision_log /nonexistent/dir/x.log\n",
                        expect="reload failed")
        finally:
            self.stop(d)
        self.assertIn("cannot open the decision log /nonexistent/dir/x.log", d.log())



# ---- POST /v1/events/explain: KDC events (tests/data/events/) -------------------------------

KDC_PROVIDER = "Microsoft-Windows-Kerberos-Key-Distribution-Center"
UPN_ONLY_VALUE = "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>10006F5E4D3C2B1A"
LAUGHS = (b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
          b"<Event><EventData><Data>&d;</Data></EventData></Event>")


def event_file(name):
    with open(os.path.join(ARGS.data, "events", name), "rb") as f:
        return f.read()


def minimal_events(n, event_id=39):
    """@n KDC events of @event_id as the smallest XML the reader takes."""
    one = (f"<Event><System><Provider Name='{KDC_PROVIDER}'/><EventID>{event_id}</EventID>"
           "</System></Event>").encode()
    return one * n


class TIEvents(HostTestCase):
    """POST /v1/events/explain: every fixture, as the CLI explains it; hostile bodies; scopes."""

    FIXTURES = {  # file -> media type it is sent with
        "wevtutil.xml": "application/xml",
        "get-winevent.xml": "text/xml; charset=utf-8",
        "get-winevent-utf16.xml": "application/octet-stream",
        "eventviewer.txt": "text/plain; charset=utf-8",
        "messages.txt": None,
    }

    def explain(self, body, ctype="application/xml", daemon=None, token=None, path=None):
        headers = {"Content-Type": ctype} if ctype else {}
        return self.request("POST", path or "/v1/events/explain", body=body, headers=headers,
                            daemon=daemon, token=token, spec_path="/v1/events/explain")

    def cli(self, name, *args):
        if not ARGS.cli:
            self.skipTest("no --cli given")
        p = subprocess.run([ARGS.cli, "explain", os.path.join(ARGS.data, "events", name),
                            *args], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def test_fixtures_as_the_cli(self):
        """Every fixture, raw and as {"events": ...}: the document `strongmap explain` prints."""
        self.assertEqual(sorted(self.FIXTURES),
                         sorted(n for n in os.listdir(os.path.join(ARGS.data, "events"))
                                if n.endswith((".xml", ".txt"))))
        for name, ctype in self.FIXTURES.items():
            with self.subTest(fixture=name):
                r = self.explain(event_file(name), ctype)
                self.assertEqual(r.status, 200, r.body[:300])
                doc = r.json()
                self.assertEqual(doc, self.cli(name, "--ldif", LDIF))
                self.assertEqual(doc["directory"], "ldif")
                if not name.endswith("utf16.xml"):
                    body = json.dumps({"events": event_file(name).decode("utf-8")})
                    r = self.explain(body, "application/json")
                    self.assertEqual(r.status, 200, r.body[:300])
                    self.assertEqual(r.json(), doc)

    def test_wevtutil(self):
        doc = self.explain(event_file("wevtutil.xml")).json()
        self.assertEqual((len(doc["events"]), doc["skipped"]), (8, 2))
        alice = doc["events"][0]
        self.assertEqual((alice["id"], alice["code"]), (39, "weak_mapping"))
        self.assertEqual(alice["account"]["dn"], "cn=alice,cn=Users,dc=example,dc=com")
        self.assertEqual(alice["fix"]["altsecurityidentities"], UPN_ONLY_VALUE)
        self.assertEqual(doc["events"][7]["account"], {"lookup": "not_found"})
        self.assertEqual([e["id"] for e in doc["events"]],
                         [e["id"] for e in self.cli("wevtutil.xml")["events"]])

    def test_bad_input(self):
        wevtutil = event_file("wevtutil.xml")
        cases = [  # body, media type, status, problem, text in the detail
            (LAUGHS, "application/xml", 400, "bad-events", "DOCTYPE"),
            (b"<?xml version='1.0'?><!DOCTYPE Event SYSTEM 'file:///etc/passwd'><Event/>",
             "text/xml", 400, "bad-events", "DOCTYPE"),
            (wevtutil[:900], "application/xml", 400, "bad-events", "byte 900"),
            (b"<a>" * 200 + b"</a>" * 200, None, 400, "bad-events", "nested too deep"),
            (b"<Event><x y='" + b"A" * 100000 + b"'/></Event>", None, 400, "bad-events",
             "attribute"),
            (b"User: \xc3\x28\n", "text/plain", 400, "bad-events", "UTF-8"),
            (b"\xff\xfe<\x00E", "application/octet-stream", 400, "bad-events", "UTF-16"),
            (b"nothing to see\n", "text/plain", 422, "no-events", "0 other events"),
            (wevtutil.split(b"\n")[2], "application/xml", 422, "no-events", "(1 other event)"),
            (b'{"events": 1}', "application/json", 400, "missing-field", "events"),
            (b'{"events": "x", "profile": "samba"}', None, 400, "bad-request", "profile"),
            (b'["x"]', "application/json", 400, "bad-request", "object"),
            (b'{"events": ', "application/json", 400, "bad-json", "line 1"),
            (json.dumps({"events": LAUGHS.decode()}).encode(), None, 400, "bad-events",
             "events: a DOCTYPE"),
            (json.dumps({"events": ""}).encode(), None, 400, "empty-body", "events: "),
            (b"", "application/xml", 400, "empty-body", "events"),
            (wevtutil, "image/png", 415, "unsupported-media-type", "application/xml"),
        ]
        for body, ctype, status, code, text in cases:
            with self.subTest(body=body[:40], status=status):
                r = self.explain(body, ctype)
                self.assertProblem(r, status, code)
                self.assertIn(text, r.json().get("detail", ""))
        r = self.explain(wevtutil, path="/v1/events/explain?profile=samba")
        self.assertBadRequest(r, "query")

    def test_lookup_limit(self):
        """[limits] lookups bounds the accounts one request looks up: with 4, wevtutil.xml's
        first four accounts are found, the 41's certificate SID (a fifth name) and the events
        after are explained without their account ("over_limit", with a note); the default
        (256) looks them all up."""
        full = self.explain(event_file("wevtutil.xml")).json()
        self.assertEqual(full["events"][3]["sid_owner"], "cn=alice,cn=Users,dc=example,dc=com")
        d = Daemon(extra_args=["--ldif", LDIF, "--lookups", "4"])
        try:
            doc = self.explain(event_file("wevtutil.xml"), daemon=d).json()
        finally:
            d.stop()
        looked = [e["account"]["lookup"] for e in doc["events"]]
        self.assertEqual(looked, ["found"] * 4 + ["over_limit"] * 4)
        self.assertEqual([e["account"] for e in doc["events"][:4]],
                         [e["account"] for e in full["events"][:4]])
        self.assertIsNone(doc["events"][3]["sid_owner"])
        for e in doc["events"][4:]:
            notes = [f for f in e["findings"] if f["code"] == "lookup_limit"]
            self.assertEqual(len(notes), 1, e["findings"])
            self.assertIn("more than 4 accounts", notes[0]["message"])
        r = self.request("GET", "/v1/events/explain", spec_path="/v1/events/explain")
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "POST")
        self.assertHealthy()

    def test_body_limits(self):
        # over max_body (256 KiB here): 413 before the engine sees it
        r = self.explain(minimal_events(2200))
        self.assertProblem(r, 413, "body-too-large")
        d = host("--max-body", str(16 * 1024 * 1024))
        try:
            self.assertEqual(self.explain(minimal_events(4096), daemon=d).status, 200)
            r = self.explain(minimal_events(4097), daemon=d)
            self.assertProblem(r, 413, "too-many-events")
            self.assertIn("more than 4096 KDC events", r.json()["detail"])
            # under the body limit, over the engine's 8 MiB
            r = self.explain(b" " * (8 * 1024 * 1024 + 1), "text/plain", daemon=d)
            self.assertProblem(r, 413, "body-too-large")
            self.assertIn("larger than 8388608 bytes", r.json()["detail"])
        finally:
            self.stop(d)

    def test_without_directory_and_directory_down(self):
        body = event_file("wevtutil.xml")
        d = Daemon()
        try:
            r = self.explain(body, daemon=d)
            self.assertEqual(r.status, 200, r.body[:300])
            doc = r.json()
            self.assertIsNone(doc["directory"])
            self.assertEqual({e["account"]["lookup"] for e in doc["events"]}, {"no_directory"})
            self.assertEqual(doc["events"][0]["fix"]["altsecurityidentities"], UPN_ONLY_VALUE)
            self.assertEqual(doc, self.cli("wevtutil.xml"))
        finally:
            self.stop(d)
        d = Daemon(extra_args=DOWN_LDAP)
        try:
            r = self.explain(body, daemon=d)
            self.assertProblem(r, 503, "directory-unavailable")
            self.assertEqual(r.headers.get("retry-after"), "5")
            self.assertNotIn("127.0.0.1", r.json()["detail"])
            # bad input is answered first, also while the directory is down
            self.assertProblem(self.explain(LAUGHS, daemon=d), 400, "bad-events")
            self.assertProblem(self.explain(b"nothing\n", "text/plain", daemon=d), 422,
                               "no-events")
        finally:
            self.stop(d)

    def test_scopes(self):
        body = event_file("wevtutil.xml")
        d = host(runtime=TOKENS)
        try:
            self.assertProblem(self.explain(body, daemon=d), 401, "unauthorized")
            r = self.explain(body, daemon=d, token=SECRET_CHECK)
            self.assertProblem(r, 403, "insufficient-scope")
            self.assertIn('scope="account admin"', r.headers["www-authenticate"])
            self.assertProblem(self.explain(body, daemon=d, token=SECRET_METRICS), 403,
                               "insufficient-scope")
            for secret in (SECRET_ACCOUNT, SECRET_ADMIN):
                r = self.explain(body, daemon=d, token=secret)
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json()["events"][0]["account"]["sam"], "alice")
        finally:
            self.stop(d)
        # opened to "check", which scope.account_data does not cover: no account data
        d = host(runtime=TOKENS + "scope events check\n")
        try:
            r = self.explain(body, daemon=d, token=SECRET_CHECK)
            self.assertEqual(r.status, 200, r.body[:300])
            doc = r.json()
            self.assertIsNone(doc["directory"])
            self.assertEqual({e["account"]["lookup"] for e in doc["events"]}, {"no_directory"})
            self.assertNotIn("cn=Users", r.body.decode())
            self.assertProblem(self.explain(body, daemon=d, token=SECRET_ACCOUNT), 403,
                               "insufficient-scope")
        finally:
            self.stop(d)

    def test_metrics(self):
        def scrape():
            r = self.request("GET", "/metrics")
            self.assertEqual(r.status, 200)
            return parse_prometheus(self, r.body.decode())

        route = "/v1/events/explain"
        before = scrape()
        self.assertEqual(self.explain(event_file("messages.txt"), "text/plain").status, 200)
        self.assertProblem(self.explain(LAUGHS), 400, "bad-events")

        def counted(after):
            return all(metric(after, "strongmapd_http_requests_total", route=route, status=s) >
                       metric(before, "strongmapd_http_requests_total", route=route, status=s)
                       for s in ("200", "400"))

        # counted when libmicrohttpd says the request has ended, which may be just after the
        # client has the whole answer (as in TCMetrics): wait for that, bounded (the 400 was
        # seen uncounted with api.http beside api.audits and api.authz, ctest -j2 --repeat)
        deadline = time.monotonic() + 5
        after = scrape()
        while not counted(after) and time.monotonic() < deadline:
            time.sleep(0.02)
            after = scrape()
        for status, n in (("200", 1), ("400", 1)):
            self.assertEqual(
                metric(after, "strongmapd_http_requests_total", route=route, status=status) -
                metric(before, "strongmapd_http_requests_total", route=route, status=status), n)
        self.assertEqual(metric(after, "strongmapd_directory_operations_total", op="explain") -
                         metric(before, "strongmapd_directory_operations_total", op="explain"), 1)


def cert_path(name):
    return os.path.join(certs_dir(), name)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"),
                   help="tests/data directory (fixtures in certs/)")
    p.add_argument("--log", help="write the main daemon's stderr to this file at the end")
    p.add_argument("--cli", help="path of the strongmap CLI (its documents must be the same)")
    p.add_argument("--host", help="path of tests/api/api_host (security and operations tests)")
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    if ARGS.cli:
        ARGS.cli = os.path.abspath(ARGS.cli)
    if ARGS.host:
        ARGS.host = os.path.abspath(ARGS.host)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
