#!/usr/bin/env python3
"""HTTP tests of GET|POST /v1/authz, the fast authorization endpoint for proxies.

strongmapd runs with the test directory (tests/data/dir/verdict.ldif.in, filled in by
test_api.py's helpers) and [authz] settings given as flags or in a configuration file. The
client certificate travels in the header the way each proxy sends it (nginx's
$ssl_client_escaped_cert, RFC 9440 Client-Cert, Envoy's X-Forwarded-Client-Cert, HAProxy's
base64 DER); a forged header comes from 127.0.0.2 while the trusted proxy is 127.0.0.1. Every
response is checked against openapi/strongmapd.yaml: its status and headers are documented, a
JSON body matches its schema.

    test_authz.py --daemon build/daemon/strongmapd --data tests/data [unittest options]
"""

import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_api as T  # noqa: E402  (the daemon harness, the OpenAPI checks, the fixtures)

HEADER = "X-Client-Cert"
TRUSTED = "127.0.0.1 ::1"
VERDICT_HEADERS = ("x-strongmap-outcome", "x-strongmap-reason", "x-strongmap-kdc-error",
                   "x-strongmap-event", "x-strongmap-account", "x-strongmap-fix")
HEADER_SAFE = re.compile(r"^[\x20-\x7e]*$")


def pem(name):
    return T.fixture(name).decode("ascii")


def der(name):
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem(name), re.S)
    return base64.b64decode("".join(m.group(1).split()))


def nginx_form(text):
    """As nginx's $ssl_client_escaped_cert writes a PEM (ngx_escape_uri, URI component)."""
    return urllib.parse.quote(text, safe="-_.~!*'()")


def forms(name):
    """The certificate @name as each proxy forwards it: (form, header value)."""
    p, d = pem(name), der(name)
    b64 = base64.b64encode(d).decode()
    return [
        ("nginx", nginx_form(p)),
        ("rfc9440", f":{b64}:"),
        ("envoy", f'Hash=0123abcd;Cert="{nginx_form(p)}";Subject="CN=x,O=y";URI=spiffe://a/b'),
        ("envoy-unquoted", f"By=spiffe://proxy;Cert={nginx_form(p)}"),
        # two elements: the first is the end client's (set by the edge proxy)
        ("envoy-two", f'Cert="{nginx_form(p)}",By=spiffe://hop;Hash=00ff'),
        ("haproxy", b64),
        ("url-encoded-throughout", urllib.parse.quote(p, safe="")),
    ]


class AuthzTestCase(T.ApiTestCase):
    """Requests to /v1/authz: the OpenAPI document must describe every answer."""

    def authz(self, value=None, daemon=None, query="", method="GET", source=None, token=None,
              headers=None, body=None):
        h = dict(headers or {})
        if value is not None:
            h[HEADER] = value
        if token:
            h["Authorization"] = "Bearer " + token
        d = daemon or self.d
        conn = http.client.HTTPConnection(d.host, d.port, timeout=30,
                                          source_address=(source, 0) if source else None)
        try:
            conn.request(method, "/v1/authz" + ("?" + query if query else ""), body=body,
                         headers=h)
            r = conn.getresponse()
            resp = T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()
        self.check_authz(method, resp)
        return resp

    def check_authz(self, method, resp):
        spec = T.SPEC.response("/v1/authz", method, resp.status)
        self.assertIsNotNone(spec, f"{method} /v1/authz -> {resp.status} is not documented")
        for name, value in resp.headers.items():
            if name.startswith("x-strongmap-"):
                self.assertIn(name, VERDICT_HEADERS)
                self.assertRegex(value, HEADER_SAFE)
                self.assertIn(name, {k.lower() for k in spec.get("headers", {})},
                              f"{name} is not documented for {resp.status}")
        if "x-strongmap-outcome" not in resp.headers:
            self.check(method, "/v1/authz", resp)  # a problem
            return
        self.assertIn(resp.status, (200, 403))
        self.assertRegex(resp.headers.get("x-request-id", ""), T.REQUEST_ID)
        self.assertEqual(resp.headers.get("cache-control"), "no-store")
        if resp.body == b"":
            self.assertNotIn("content-type", resp.headers)  # no body, no type
            return
        self.assertEqual(resp.headers.get("content-type"), "application/json")
        try:
            T.SPEC.validate(spec["content"]["application/json"]["schema"], resp.json())
        except T.jsonschema.ValidationError as e:
            self.fail(f"{method} /v1/authz -> {resp.status}: {e.message} at "
                      f"{list(e.absolute_path)}")

    def assertVerdict(self, resp, status, outcome, reason=None):
        self.assertEqual(resp.status, status, (resp.headers, resp.body[:300]))
        self.assertEqual(resp.headers.get("x-strongmap-outcome"), outcome, resp.headers)
        if reason is not None:
            self.assertEqual(resp.headers.get("x-strongmap-reason"), reason, resp.headers)


def start(*extra, ldif=True):
    args = ["--ldif", T.LDIF] if ldif else []
    return T.Daemon(extra_args=args + list(extra))


def stop(tc, d):
    rc, _ = d.stop()
    tc.assertEqual(rc, 0, d.log())
    T.check_log_hygiene(d.log())


class A1Forms(AuthzTestCase):
    def assertHealthy(self):
        r = self.request("GET", "/healthz", daemon=self.d)
        self.assertEqual(r.status, 200)

    """One daemon trusting the loopback proxy; no tokens (every caller sees accounts)."""

    @classmethod
    def setUpClass(cls):
        cls.d = start("--authz-trusted-proxies", TRUSTED)

    @classmethod
    def tearDownClass(cls):
        rc, _ = cls.d.stop()
        T.check_log_hygiene(cls.d.log())
        if rc != 0:
            raise AssertionError(cls.d.log())

    def test_allow_in_every_form(self):
        for form, value in forms("sid_ext.pem"):
            with self.subTest(form=form):
                r = self.authz(value)
                self.assertVerdict(r, 200, "allow")
                self.assertEqual(r.body, b"")
                self.assertEqual(r.headers.get("x-strongmap-account"), "alice")
                self.assertNotIn("x-strongmap-kdc-error", r.headers)
                self.assertNotIn("x-strongmap-fix", r.headers)

    def test_deny_in_every_form(self):
        for form, value in forms("upn_only.pem"):
            with self.subTest(form=form):
                r = self.authz(value)
                self.assertVerdict(r, 403, "deny", "weak_mapping")
                self.assertEqual(r.headers["x-strongmap-kdc-error"],
                                 "66 KDC_ERR_CERTIFICATE_MISMATCH")
                self.assertEqual(r.headers["x-strongmap-event"], "39")
                self.assertEqual(r.headers["x-strongmap-account"], "alice")
                fix = r.headers["x-strongmap-fix"]
                self.assertGreater(len(fix), 10)
                self.assertLessEqual(len(fix), 300)

    def test_analysis_kept(self):
        """A header seen before is not analysed again (api/certcache.c), and the verdict is
        still made afresh: the same answer each time, another profile's answer for another
        profile, a bad header refused each time and never kept."""
        def hits():
            r = self.request("GET", "/metrics", daemon=self.d)
            return T.metric(T.parse_prometheus(self, r.body.decode()),
                            "strongmapd_authz_certificate_cache_hits_total")

        value = forms("upn_only.pem")[0][1]
        before = hits()
        answers = [self.authz(value) for _ in range(3)]
        self.assertGreaterEqual(hits() - before, 2)
        for r in answers:
            self.assertVerdict(r, 403, "deny", "weak_mapping")
            self.assertEqual(r.headers["x-strongmap-kdc-error"], "66 KDC_ERR_CERTIFICATE_MISMATCH")
        # the analysis kept, the verdict for the profile asked: Samba compatibility mode
        r = self.authz(value, query="profile=samba,mode=none")
        self.assertVerdict(r, 200, "allow")
        before = hits()
        for _ in range(2):
            self.assertProblem(self.authz(":bm90IGEgY2VydGlmaWNhdGU=:"), 400, "bad-certificate")
        self.assertEqual(hits(), before)
        self.assertHealthy()

    def test_same_as_verdict(self):
        """The outcome and codes are those of POST /v1/verdict for the same profiles."""
        for name in ("sid_ext.pem", "upn_only.pem", "expired.pem", "eku_server_only.pem"):
            for profile in (None, "windows-2016", "samba"):
                with self.subTest(cert=name, profile=profile):
                    doc = {"certificate": pem(name)}
                    if profile:
                        doc["profile"] = profile
                    v = self.verdict(doc, daemon=self.d).json()
                    q = "profile=" + profile if profile else ""
                    r = self.authz(forms(name)[1][1], query=q)
                    self.assertVerdict(r, 200 if v["outcome"] == "allow" else 403,
                                       v["outcome"])
                    kdc = v["kdc_error"]
                    self.assertEqual(r.headers.get("x-strongmap-kdc-error"),
                                     kdc and f"{kdc['code']} {kdc['name']}")
                    self.assertEqual(r.headers.get("x-strongmap-event"),
                                     v["event"] and str(v["event"]["id"]))
                    j = self.authz(forms(name)[1][1], query=q + ("&" if q else "") +
                                   "format=json")
                    self.assertEqual(j.status, r.status)
                    jv = j.json()
                    jv.pop("evaluated_at", None)
                    v.pop("evaluated_at", None)
                    self.assertEqual(jv["outcome"], v["outcome"])
                    self.assertEqual(jv["reasons"], v["reasons"])
                    if v["outcome"] == "deny":
                        self.assertIn(r.headers["x-strongmap-reason"],
                                      [x["code"] for x in v["reasons"]] +
                                      [x["code"] for p in v["profiles"] for x in p["reasons"]])

    def test_no_certificate(self):
        """No header, or an empty one (nginx without a client certificate): deny."""
        for value in (None, "", "   "):
            with self.subTest(value=value):
                r = self.authz(value)
                self.assertVerdict(r, 403, "deny", "no_client_certificate")
        r = self.authz(None, query="format=json")
        self.assertEqual(r.json(), {"outcome": "deny", "reason": "no_client_certificate"})

    def test_methods(self):
        value = forms("sid_ext.pem")[0][1]
        r = self.authz(value, method="POST", body=b"ignored body",
                       headers={"Content-Type": "text/plain"})
        self.assertVerdict(r, 200, "allow")
        r = self.authz(forms("upn_only.pem")[0][1], method="HEAD")
        self.assertVerdict(r, 403, "deny", "weak_mapping")
        self.assertEqual(r.body, b"")
        r = self.authz(value, method="PUT")
        T.ApiTestCase.assertProblem(self, r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "GET, HEAD, POST")

    def test_format_json(self):
        r = self.authz(forms("sid_ext.pem")[0][1], query="format=json")
        self.assertVerdict(r, 200, "allow")
        self.assertEqual(r.headers["content-type"], "application/json")
        v = r.json()
        self.assertEqual(v["account"]["sam"], "alice")
        self.assertEqual(v["mapping"]["method"], "sid_extension")

    def test_forged_header_from_another_peer(self):
        """127.0.0.2 is not the proxy: its header is not judged, whatever it holds."""
        for form, value in forms("sid_ext.pem")[:3] + [("garbage", "x"), ("empty", "")]:
            with self.subTest(form=form):
                r = self.authz(value, source="127.0.0.2")
                self.assertProblem(r, 400, "bad-request")
                self.assertNotIn("x-strongmap-outcome", r.headers)
                detail = r.json()["detail"]
                self.assertIn(HEADER, detail)
                self.assertIn("127.0.0.2", detail)
                self.assertIn("trusted_proxies", detail)
        # without the header, 127.0.0.2 learns only that it presented no certificate
        self.assertVerdict(self.authz(None, source="127.0.0.2"), 403, "deny",
                           "no_client_certificate")

    def test_bad_headers(self):
        """Garbage in every form: a 4xx problem, never a 5xx, never a verdict."""
        p = pem("sid_ext.pem")
        b64 = base64.b64encode(der("sid_ext.pem")).decode()
        cases = [
            ("rfc9440 open", ":" + b64, "bad-request"),
            ("rfc9440 bad char", ":" + b64[:20] + "!" + b64[21:] + ":", "bad-request"),
            ("rfc9440 empty", "::", "bad-request"),
            ("rfc9440 colon", ":", "bad-request"),
            ("rfc9440 not der", ":" + base64.b64encode(b"not a certificate").decode() + ":",
             "bad-certificate"),
            ("nginx bad escape", nginx_form(p)[:40] + "%ZZ" + nginx_form(p)[40:],
             "bad-request"),
            ("nginx nul", nginx_form(p)[:40] + "%00" + nginx_form(p)[40:], "bad-request"),
            ("nginx truncated", nginx_form(p)[:300], "bad-certificate"),
            ("pem garbage", nginx_form("-----BEGIN CERTIFICATE-----\ngarbage\n"
                                       "-----END CERTIFICATE-----\n"), "bad-certificate"),
            ("envoy unclosed", 'Cert="' + nginx_form(p), "bad-request"),
            ("envoy no cert", "Hash=abcd;Subject=\"CN=x\"", "bad-request"),
            ("envoy cert in the second", 'Hash=ab,Cert="' + nginx_form(p) + '"', "bad-request"),
            ("envoy too many", ",".join(['Cert="' + nginx_form(p) + '"'] + ["By=x"] * 16),
             "bad-request"),
            ("envoy empty cert", 'Cert=""', "bad-certificate"),
            ("haproxy garbage", "bm90IGEgY2VydGlmaWNhdGU=", "bad-certificate"),
            ("word", "yes", "bad-certificate"),
            ("two certificates", nginx_form(pem("chain.pem")), "bad-certificate"),
            ("utf8", "Zoë", None),  # refused with the head (400), or by the parser
        ]
        for name, value, code in cases:
            with self.subTest(case=name):
                r = self.authz(value.encode("utf-8").decode("latin-1"))
                self.assertEqual(r.status, 400, r.body[:300])
                if code:
                    self.assertProblem(r, 400, code)
                    self.assertIn(HEADER, r.json().get("detail", ""))
        self.assertHealthy()

    def test_header_twice(self):
        value = forms("sid_ext.pem")[1][1]
        raw = (f"GET /v1/authz HTTP/1.1\r\nHost: t\r\n{HEADER}: {value}\r\n"
               f"{HEADER}: {value}\r\nConnection: close\r\n\r\n").encode()
        status, out = T.raw_exchange(self.d, raw)
        self.assertEqual(status, 400, out[:300])
        self.assertIn(b"given more than once", out)

    def test_bad_query(self):
        value = forms("sid_ext.pem")[0][1]
        for q, field in (("format=xml", "format"), ("profile=nt4", "profile"),
                         ("account=alice", "query"), ("at=2026-01-01T00:00:00Z", "query")):
            with self.subTest(query=q):
                T.ApiTestCase.assertBadRequest(self, self.authz(value, query=q), field)

    def test_oversized(self):
        """Over the head's limit: 431; over the certificate limit within it: 400."""
        d = start("--authz-trusted-proxies", TRUSTED, "--max-header", "256K")
        try:
            big = base64.b64encode(os.urandom(48 * 1024)).decode()
            r = self.authz(big, daemon=d)
            self.assertProblem(r, 400, "bad-certificate")
            self.assertIn("limit", r.json()["detail"])
            r = self.authz(":" + big + ":", daemon=d)
            self.assertProblem(r, 400, "bad-certificate")
        finally:
            stop(self, d)
        value = base64.b64encode(os.urandom(20 * 1024)).decode()
        status, _ = T.raw_exchange(self.d, (f"GET /v1/authz HTTP/1.1\r\nHost: t\r\n"
                                            f"{HEADER}: {value}\r\n\r\n").encode())
        self.assertEqual(status, 431)
        self.assertHealthy()

    def test_metrics(self):
        def count(outcome):
            r = self.request("GET", "/metrics", daemon=self.d)
            return T.metric(T.parse_prometheus(self, r.body.decode()),
                            "strongmapd_authz_total", outcome=outcome)

        before = {o: count(o) for o in ("allow", "deny")}
        self.authz(forms("sid_ext.pem")[0][1])
        self.authz(forms("upn_only.pem")[0][1])
        self.authz(None)
        self.assertEqual(count("allow") - before["allow"], 1)
        self.assertEqual(count("deny") - before["deny"], 2)
        r = self.request("GET", "/metrics", daemon=self.d)
        samples = T.parse_prometheus(self, r.body.decode())
        self.assertGreaterEqual(T.metric(samples, "strongmapd_http_requests_total",
                                         route="/v1/authz", status="403"), 2)

    def test_access_log(self):
        """One access log line; the certificate header itself is never logged."""
        r = self.authz(forms("upn_only.pem")[0][1])
        self.d.wait_log(f"id={r.headers['x-request-id']} ")
        self.assertNotIn("BEGIN", self.d.log())
        self.assertNotIn("MII", self.d.log())


class A2Access(AuthzTestCase):
    """Tokens: the check scope may ask; account data only for the scopes that may see it."""

    def test_scope_and_redaction(self):
        portal, gateway = "SECRET-MARKER-portal-0123456789", "SECRET-MARKER-gateway-0123456789"
        d = start("--authz-trusted-proxies", TRUSTED,
                  "--token", f"portal:{T.token_hash(portal)}:check",
                  "--token", f"gateway:{T.token_hash(gateway)}:check,account",
                  "--token", f"helpdesk:{T.token_hash(T.SECRET_ACCOUNT)}:account")
        try:
            value = forms("upn_only.pem")[0][1]
            self.assertProblem(self.authz(value, daemon=d), 401, "unauthorized")
            self.assertProblem(self.authz(value, daemon=d, token=T.SECRET_ACCOUNT), 403,
                               "insufficient-scope")
            r = self.authz(value, daemon=d, token=portal)
            self.assertVerdict(r, 403, "deny", "weak_mapping")
            self.assertNotIn("x-strongmap-account", r.headers)
            self.assertNotIn("alice", r.headers.get("x-strongmap-fix", ""))
            j = self.authz(value, daemon=d, token=portal, query="format=json")
            v = j.json()
            self.assertTrue(v["account_redacted"])
            self.assertIsNone(v["account"])
            self.assertNotIn("Set-ADUser", j.body.decode())
            self.assertNotIn('"sam"', j.body.decode())
            r = self.authz(value, daemon=d, token=gateway)
            self.assertVerdict(r, 403, "deny", "weak_mapping")
            self.assertEqual(r.headers["x-strongmap-account"], "alice")
            self.assertFalse(self.authz(value, daemon=d, token=gateway,
                                        query="format=json").json()["account_redacted"])
        finally:
            stop(self, d)


class A3Directory(AuthzTestCase):
    """The directory down: fail closed (503, the default) or fail open (200, unknown)."""

    def test_fail_closed_and_open(self):
        value = forms("sid_ext.pem")[0][1]
        for policy in (None, "fail_closed", "fail_open"):
            with self.subTest(policy=policy):
                extra = ["--authz-trusted-proxies", TRUSTED] + T.DOWN_LDAP
                if policy:
                    extra += ["--authz-directory-down", policy]
                d = start(*extra, ldif=False)
                try:
                    r = self.authz(value, daemon=d)
                    r2 = self.authz(value, daemon=d, query="format=json")
                    if policy == "fail_open":
                        self.assertVerdict(r, 200, "unknown", "directory_unavailable")
                        self.assertEqual(r.body, b"")
                        self.assertEqual(r2.json(), {"outcome": "unknown",
                                                     "reason": "directory_unavailable"})
                    else:
                        self.assertProblem(r, 503, "directory-unavailable")
                        self.assertEqual(r.headers.get("retry-after"), "5")
                        self.assertProblem(r2, 503, "directory-unavailable")
                    # bad input and a forgery stay 400, the directory down or not
                    self.assertProblem(self.authz(":x", daemon=d), 400, "bad-request")
                    self.assertProblem(self.authz(value, daemon=d, source="127.0.0.2"), 400,
                                       "bad-request")
                    # no certificate needs no directory
                    self.assertVerdict(self.authz(None, daemon=d), 403, "deny",
                                       "no_client_certificate")
                    m = T.parse_prometheus(self, self.request("GET", "/metrics",
                                                              daemon=d).body.decode())
                    self.assertEqual(T.metric(m, "strongmapd_authz_total", outcome="unknown"),
                                     2 if policy == "fail_open" else 0)
                    self.assertEqual(T.metric(m, "strongmapd_authz_total",
                                              outcome="unavailable"),
                                     0 if policy == "fail_open" else 2)
                finally:
                    stop(self, d)

    def test_no_directory(self):
        d = start("--authz-trusted-proxies", TRUSTED, "--authz-directory-down", "fail_open",
                  ldif=False)
        try:  # no directory configured is a configuration error, not a directory down
            self.assertProblem(self.authz(forms("sid_ext.pem")[0][1], daemon=d), 503,
                               "no-directory")
        finally:
            stop(self, d)


class A4Configuration(AuthzTestCase):
    """[authz] in strongmapd.conf: checked with its place, reloaded with the runtime."""

    def conf(self, tmp, text):
        path = os.path.join(tmp, "strongmapd.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[directory]\nldif = {T.LDIF}\n[authz]\n" + text)
        return path

    def test_reload_trusted_proxies(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.conf(tmp, "trusted_proxies = 127.0.0.1\nheader = Client-Cert\n")
            d = T.Daemon(extra_args=["-c", path])
            try:
                value = forms("sid_ext.pem")[1][1]
                r = self.authz(None, daemon=d, headers={"Client-Cert": value})
                self.assertVerdict(r, 200, "allow")
                # X-Client-Cert is not the configured header: no certificate
                self.assertVerdict(self.authz(value, daemon=d), 403, "deny",
                                   "no_client_certificate")
                # a narrower list and the default policy: applied, nothing loosened
                self.conf(tmp, "trusted_proxies = 127.0.0.1/32\nheader = Client-Cert\n")
                d.proc.send_signal(signal.SIGHUP)
                d.wait_log("configuration reloaded")
                self.assertNotIn("loosened", d.log())
                self.conf(tmp, "trusted_proxies = 10.0.0.0/8, fd00::/8\nheader = Client-Cert\n"
                          "directory_down = fail_open\n")
                d.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 5
                while d.log().count("configuration reloaded") < 2:
                    self.assertLess(time.monotonic(), deadline, d.log())
                    time.sleep(0.02)
                r = self.authz(None, daemon=d, headers={"Client-Cert": value})
                self.assertProblem(r, 400, "bad-request")
                self.assertIn("127.0.0.1", r.json()["detail"])
                # a reload that believes more peers, or lets clients through, says so
                self.assertIn(f"{path}:4: trusted_proxies loosened: 127.0.0.1/32 -> 10.0.0.0/8, "
                              "fd00::/8", d.log())
                self.assertIn(f"{path}:6: directory_down loosened: fail_closed -> fail_open",
                              d.log())
            finally:
                stop(self, d)

    def test_bad_settings(self):
        with tempfile.TemporaryDirectory() as tmp:
            for text, key, why in (
                    ("trusted_proxies = 127.0.0.1 localhost\n", "trusted_proxies", "localhost"),
                    ("trusted_proxies = 10.0.0.1/8\n", "trusted_proxies", "10.0.0.1/8"),
                    ("header = X Bad\n", "header", "token"),
                    ("directory_down = maybe\n", "directory_down", "fail_closed")):
                with self.subTest(text=text):
                    path = self.conf(tmp, text)
                    r = __import__("subprocess").run(
                        [T.ARGS.daemon, "--allow-root", "-n", "-c", path],
                        capture_output=True, text=True, timeout=30)
                    self.assertNotEqual(r.returncode, 0, r.stderr)
                    self.assertIn(f"{path}:4: {key}:", r.stderr)
                    self.assertIn(why, r.stderr)

    def test_printed(self):
        r = __import__("subprocess").run(
            [T.ARGS.daemon, "--allow-root", "-p", "--authz-trusted-proxies",
             "127.0.0.1, ::1 10.0.0.0/8", "--authz-directory-down", "fail_open"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[authz]\n", r.stdout)
        self.assertIn("trusted_proxies = 127.0.0.1, ::1 10.0.0.0/8\n", r.stdout)
        self.assertIn("header = X-Client-Cert\n", r.stdout)
        self.assertIn("directory_down = fail_open\n", r.stdout)


def setUpModule():
    T.SPEC = T.Spec()
    T.TMPDIR = tempfile.TemporaryDirectory(prefix="strongmapd-authz-")
    T.LDIF = T.make_ldif(T.TMPDIR.name)


def tearDownModule():
    T.TMPDIR.cleanup()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--data", default=os.path.join(T.ROOT, "tests", "data"))
    T.ARGS, rest = p.parse_known_args()
    T.ARGS.daemon = os.path.abspath(T.ARGS.daemon)
    T.ARGS.host = None
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
