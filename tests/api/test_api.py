#!/usr/bin/env python3
"""HTTP tests of strongmapd.

Starts the daemon on a free loopback port (it binds port 0 and logs the real one), talks to it
with http.client and raw sockets, validates every response body against the schema that
openapi/strongmapd.yaml gives for its route and status, and stops it with SIGTERM, checking
that it exits 0 within a few seconds.

The main daemon reads its directory from tests/data/dir/verdict.ldif.in, whose certificate
placeholders are filled in at setup (the verdicts expected per certificate and account are
those of tests/unit/test_verdict.c); other daemons run without a directory, or with an LDAP
server that refuses connections.

    test_api.py --daemon build/daemon/strongmapd --data tests/data [unittest options]

Needs python3-yaml and python3-jsonschema (Debian packages); exits 77 (ctest: skipped) when
they are missing.
"""

import argparse
import base64
import copy
import glob
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (install python3-yaml python3-jsonschema)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OPENAPI = os.path.join(ROOT, "openapi", "strongmapd.yaml")

ARGS = None  # set in main()
START_TIMEOUT = 15.0  # seconds; generous for sanitizer builds
STOP_TIMEOUT = 5.0
PROBLEM_TYPE = re.compile(r"^/problems/[a-z][a-z-]*$")
REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9]+$")
AT = "2026-06-01T00:00:00Z"  # the evaluation time of tests/unit/test_verdict.c
HENRY_SID = "S-1-5-21-1004336348-1177238915-682003330-1304"
DOWN_LDAP = ["--ldap-uri", "ldap://127.0.0.1:1", "--ldap-base", "dc=example,dc=com"]


# ---- OpenAPI -----------------------------------------------------------------------------------


class Spec:
    """openapi/strongmapd.yaml with every local $ref resolved, and schema look-ups."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.validator_cls = jsonschema.Draft202012Validator

    def _pointer(self, ref):
        assert ref.startswith("#/"), ref
        node = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, node, depth=0):
        if depth > 50:
            raise RecursionError("$ref cycle in openapi document")
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.resolve(self._pointer(node["$ref"]), depth + 1)
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                if siblings:
                    merged = copy.deepcopy(target)
                    merged.update(self.resolve(siblings, depth + 1))
                    return merged
                return target
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth + 1) for v in node]
        return node

    def response(self, path, method, status):
        """The resolved response object, or None when the document does not list it."""
        if path not in self.doc["paths"]:
            if status == 404:
                return self.resolve(self.doc["components"]["responses"]["NotFound"])
            return None
        ops = self.doc["paths"][path]
        op = ops.get(method.lower())
        if op is None and method == "HEAD":
            op = ops.get("get")
        if op is None:
            if status == 405:
                return self.resolve(self.doc["components"]["responses"]["MethodNotAllowed"])
            return None
        resp = op["responses"].get(str(status)) or op["responses"].get("default")
        return self.resolve(resp) if resp is not None else None

    def validate(self, schema, instance):
        self.validator_cls(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


SPEC = None


# ---- the daemon under test ---------------------------------------------------------------------


class Daemon:
    """One strongmapd process; collects its stderr lines in a thread."""

    LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")

    def __init__(self, extra_args=(), listen="127.0.0.1:0", notify_socket=None):
        self.lines = []
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
        cmd = [ARGS.daemon, "--allow-root", "--listen", listen, "--threads", "2", "-v"]
        cmd += list(extra_args)
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

    def conn(self, timeout=30):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

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
    SPEC = Spec(OPENAPI)
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
                daemon=None):
        """One request (on @conn or a fresh connection); checks and returns the Response."""
        own = conn is None
        if own:
            conn = (daemon or DAEMON).conn()
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
        else:
            self.assertEqual(ctype, "application/json")
        if resp.status == 405:
            self.assertIn("allow", h)
        spec_resp = SPEC.response(path, method, resp.status)
        self.assertIsNotNone(
            spec_resp, f"{method} {path} -> {resp.status} is not in openapi/strongmapd.yaml")
        if method == "HEAD":
            self.assertEqual(resp.body, b"")
            return
        self.assertIn(ctype, spec_resp.get("content", {}),
                      f"{method} {path} -> {resp.status}: {ctype} not documented")
        schema = spec_resp["content"][ctype]["schema"]
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
            code = set(re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)",', f.read()))
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
        r = self.request("GET", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["status"], "ok")

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
        r = self.post(os.urandom(2048) + b"SECRET-MARKER", "application/octet-stream")
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
        for path in ("/", "/nope", "/healthz/", "/v1/inspect/x", "/V1/INSPECT", "/%00"):
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
        self.assertEqual(status, 404)
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
        r = self.request("GET", "/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ready", "directory": {"kind": "ldif", "state": "up"}})
        self.assertEqual(self.request("HEAD", "/readyz").status, 200)


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
        bad_ldif = os.path.join(ARGS.data, "dir", "bad_syntax.ldif")
        cases = [
            (["--ldif", bad_ldif], 1, b"line 11"),
            (["--ldif", os.path.join(TMPDIR.name, "missing.ldif")], 1, b"missing.ldif"),
            (DOWN_LDAP + ["--ldap-bind-dn", "cn=x", "--ldap-password-file", pw,
                          "--ldap-starttls"], 1, b"empty"),
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
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    if ARGS.cli:
        ARGS.cli = os.path.abspath(ARGS.cli)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
