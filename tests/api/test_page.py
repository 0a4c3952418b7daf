#!/usr/bin/env python3
"""HTTP tests of the self-service status page (docs/self-service.md): GET /, /status and
/static/{name} (the compiled-in files, their security headers, ETag and 304), POST /status/check
(the form without JavaScript: multipart/form-data answered with HTML) and POST /v1/self/check
(JSON), against the demo directory (examples/demo.ldif and examples/certs, whose verdicts
examples/certs/VERDICTS.txt lists). Every answer is checked against openapi/strongmapd.yaml.
The browser tier (tests/browser) drives the same page in Chromium.

    test_page.py --daemon build/daemon/strongmapd [unittest options]
"""

import argparse
import http.client
import json
import os
import re
import sys
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_api as T  # noqa: E402  (the daemon harness, the OpenAPI document)

EXAMPLES = os.path.join(T.ROOT, "examples")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# words a first screen must not show, and directory data an upload must never reveal
JARGON = ("X509IssuerSerialNumber", "altSecurityIdentities", "KDC_ERR")
DIRECTORY = ("cn=alice", "cn=bob", "S-1-5-21", "sAMAccountName", "disabled", "Users,dc=")


def cert(name):
    with open(os.path.join(EXAMPLES, "certs", name), "rb") as f:
        return f.read()


def multipart(field, filename, data):
    boundary = "----strongmap" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class PageTestCase(unittest.TestCase):
    daemon = None

    def req(self, method, path, body=None, headers=None, daemon=None):
        conn = (daemon or self.daemon).conn()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            resp = T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()
        spec_path = "/static/{name}" if path.startswith("/static/") else path.split("?")[0]
        spec = T.SPEC.response(spec_path, method, resp.status)
        self.assertIsNotNone(spec, f"{method} {path} -> {resp.status} is not documented")
        ctype = resp.headers.get("content-type", "").split(";")[0]
        if resp.body:
            self.assertIn(ctype, spec.get("content", {}), f"{method} {path}: {ctype}")
        if ctype in ("application/json", "application/problem+json"):
            T.SPEC.validate(spec["content"][ctype]["schema"], json.loads(resp.body))
        self.assertEqual(resp.headers.get("x-content-type-options"), "nosniff")
        return resp

    def assertPageHeaders(self, r):
        self.assertEqual(r.headers.get("content-security-policy"), CSP)
        self.assertEqual(r.headers.get("x-frame-options"), "DENY")
        self.assertEqual(r.headers.get("referrer-policy"), "no-referrer")


class P1Files(PageTestCase):
    @classmethod
    def setUpClass(cls):
        # no page rate limit: these tests check more files at once than [page] burst allows
        # (P3RateLimit checks the limit)
        cls.daemon = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                          "--page-rate", "0"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_page_and_files(self):
        total = 0
        for path, ctype in (("/", "text/html"), ("/status", "text/html"),
                            ("/static/status.css", "text/css"),
                            ("/static/status.js", "text/javascript")):
            with self.subTest(path=path):
                r = self.req("GET", path)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers["content-type"].split(";")[0], ctype)
                self.assertPageHeaders(r)
                self.assertEqual(r.headers.get("cache-control"), "no-cache")
                self.assertRegex(r.headers.get("etag", ""), r'^"[0-9a-f]{16}"$')
                if path != "/":
                    total += len(r.body)
        self.assertLessEqual(total, 50 * 1024, "the page's budget")
        html = self.req("GET", "/status").body.decode()
        self.assertIn('<html lang="en">', html)
        self.assertNotRegex(html, r"<script>|<style|\sstyle=|\son[a-z]+=", "inline script or style")

    def test_etag_304(self):
        r = self.req("GET", "/static/status.js")
        etag = r.headers["etag"]
        r2 = self.req("GET", "/static/status.js", headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 304)
        self.assertEqual(r2.body, b"")
        self.assertEqual(r2.headers.get("etag"), etag)
        r3 = self.req("GET", "/static/status.js", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual(r3.status, 200)

    def test_unknown_files(self):
        for path in ("/static/nope.js", "/static/a/status.js", "/static/..%2fstatus.js"):
            with self.subTest(path=path):
                self.assertEqual(self.req("GET", path).status, 404)

    def check_json(self, name):
        r = self.req("POST", "/v1/self/check", body=cert(name),
                     headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        return r.json()

    def test_json_states(self):
        expect = {
            "alice-sid.pem": ("will_work", "works"),
            "v1-mapped.pem": ("will_work", "works"),
            "alice-no-sid.pem": ("will_fail", "weak_mapping"),
            "alice-expired.pem": ("will_fail", "certificate_time_invalid"),
            "alice-server-eku.pem": ("will_fail", "eku_not_logon"),
            "alice-untrusted-ca.pem": ("will_fail", "issuer_not_in_ntauth"),
            "bob.pem": ("will_fail", "account"),  # bob is disabled: not told
        }
        for name, (state, code) in expect.items():
            with self.subTest(cert=name):
                a = self.check_json(name)
                self.assertEqual((a["state"], a["code"]), (state, code))
                for word in JARGON:
                    self.assertNotIn(word, a["why"] + " ".join(a["steps"]))
                text = json.dumps(a)
                for word in DIRECTORY:
                    self.assertNotIn(word, text, name)

    def test_account_reasons_alike(self):
        """A disabled account and an unknown one answer the same (no enumeration)."""
        bob = self.check_json("bob.pem")
        self.assertEqual(bob["details"]["profiles"][0]["kdc_error"], None)
        self.assertEqual(bob["details"]["profiles"][0]["event"], None)

    def test_weak_details_for_it(self):
        a = self.check_json("alice-no-sid.pem")
        self.assertEqual((a["organisation"], a["helpdesk"]), (None, None))
        p = a["details"]["profiles"][0]
        self.assertEqual((p["outcome"], p["kdc_error"], p["event"]),
                         ("deny", "KDC_ERR_CERTIFICATE_MISMATCH", 39))
        self.assertIn("Result: Will fail (will_fail)", a["helpdesk_text"])
        self.assertIn("SHA-1 thumbprint: ", a["helpdesk_text"])

    def test_p7b_chain(self):
        """A .p7b of the whole chain (CA first): the user's certificate is judged."""
        with open(os.path.join(T.ROOT, "tests", "data", "p7b", "chain.p7b"), "rb") as f:
            p7b = f.read()
        body, h = multipart("certificate", "alice.p7b", p7b)
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertEqual(r.status, 200)
        self.assertIn("state-will_fail", r.body.decode())
        self.assertIn("does not carry the account identifier", r.body.decode())
        r = self.req("POST", "/v1/self/check", body=p7b,
                     headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((r.json()["state"], r.json()["code"]), ("will_fail", "weak_mapping"))

    def test_json_bad_input(self):
        r = self.req("POST", "/v1/self/check", body=b"junk")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["type"], "/problems/bad-certificate")

    def test_form(self):
        body, h = multipart("certificate", "alice.cer", cert("alice-no-sid.pem"))
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertEqual(r.status, 200)
        self.assertPageHeaders(r)
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        html = r.body.decode()
        self.assertIn('class="answer state-will_fail"', html)
        self.assertIn("does not carry the account identifier", html)
        self.assertIn("<summary>Details for IT</summary>", html)
        self.assertIn('<textarea id="helpdesk"', html)
        first_screen = html.split("<details>")[0]
        for word in JARGON:
            self.assertNotIn(word, first_screen)

    def test_form_der_and_errors(self):
        pem = cert("alice-sid.pem").decode()
        b64 = "".join(re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END", pem, re.S)
                      .group(1).split())
        import base64
        body, h = multipart("certificate", "alice.der", base64.b64decode(b64))
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertIn('state-will_work', r.body.decode())
        body, h = multipart("certificate", "x.cer", b"not a certificate")
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertEqual(r.status, 400)
        self.assertIn("not a certificate this page can read", r.body.decode())
        self.assertPageHeaders(r)
        body, h = multipart("other", "x.cer", cert("alice-sid.pem"))
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertEqual(r.status, 400)
        self.assertIn("not a certificate this page can read", r.body.decode())
        r = self.req("POST", "/status/check", body=cert("alice-sid.pem"),
                     headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.status, 415)
        self.assertEqual(r.headers["content-type"].split(";")[0], "text/html")


class P2Disabled(PageTestCase):
    def test_page_off(self):
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-enabled", "no"])
        try:
            for m, path in (("GET", "/"), ("GET", "/status"), ("GET", "/static/status.js"),
                            ("POST", "/v1/self/check")):
                with self.subTest(path=path):
                    r = self.req(m, path, body=cert("alice-sid.pem") if m == "POST" else None,
                                 daemon=d)
                    self.assertEqual(r.status, 404)
        finally:
            d.stop()

    def test_organisation_and_helpdesk(self):
        """[page] organisation and helpdesk: shown as text in both answers, never as markup."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-organisation", "Exämple <Corp>",
                                 "--page-helpdesk", "help@example.com"])
        try:
            r = self.req("POST", "/v1/self/check", body=cert("alice-no-sid.pem"), daemon=d)
            a = r.json()
            self.assertEqual((a["organisation"], a["helpdesk"]), ("Exämple <Corp>",
                                                                  "help@example.com"))
            self.assertIn("Organisation: Exämple <Corp>\n", a["helpdesk_text"])
            body, h = multipart("certificate", "a.cer", cert("alice-no-sid.pem"))
            html = self.req("POST", "/status/check", body=body, headers=h, daemon=d).body.decode()
            self.assertIn('<p class="contact">Exämple &lt;Corp&gt;&#39;s helpdesk: '
                          'help@example.com</p>', html)
            self.assertNotIn("<Corp>", html)
        finally:
            d.stop()

    def test_scope(self):
        """[auth] scope.page: with tokens and scope.page = check, the page needs a token."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--token",
                                 "t:" + "ab" * 32 + ":check", "--scope-page", "check"])
        try:
            self.assertEqual(self.req("GET", "/status", daemon=d).status, 401)
        finally:
            d.stop()
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--token",
                                 "t:" + "ab" * 32 + ":check"])
        try:  # open by default, even with tokens
            self.assertEqual(self.req("GET", "/status", daemon=d).status, 200)
        finally:
            d.stop()


class P3RateLimit(PageTestCase):
    """[page] rate and burst: the checks of one client address have a limit of their own,
    on by default; the page's files are not counted, and the limit speaks each route's
    language (HTML for the form, problem+json for the JSON route)."""

    def check(self, d, form):
        if form:
            body, h = multipart("certificate", "a.cer", cert("alice-sid.pem"))
            return self.req("POST", "/status/check", body=body, headers=h, daemon=d)
        return self.req("POST", "/v1/self/check", body=cert("alice-sid.pem"), daemon=d)

    def test_default_limit(self):
        """The default: ten checks at once, then 429 with Retry-After (one every 5 s)."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif")])
        try:
            statuses = [self.check(d, i % 2 == 0).status for i in range(10)]
            self.assertEqual(statuses, [200] * 10)
            for _ in range(3):  # the page's files are not counted
                self.assertEqual(self.req("GET", "/status", daemon=d).status, 200)
                self.assertEqual(self.req("GET", "/static/status.js", daemon=d).status, 200)
            r = self.check(d, False)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json()["type"], "/problems/rate-limited")
            self.assertIn("checks per second from this address", r.json()["detail"])
            self.assertIn(int(r.headers["retry-after"]), range(1, 6))
            r = self.check(d, True)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.headers["content-type"].split(";")[0], "text/html")
            html = r.body.decode()
            self.assertIn("Too many checks from this device", html)
            self.assertRegex(html, r"Please wait [1-5] seconds?, then try again")
            self.assertIn(int(r.headers["retry-after"]), range(1, 6))
            self.assertPageHeaders(r)
            # other routes are not limited by the page's bucket
            self.assertEqual(self.req("POST", "/v1/inspect", body=cert("alice-sid.pem"),
                                      headers={"Content-Type": "application/x-pem-file"},
                                      daemon=d).status, 200)
            m = self.req("GET", "/metrics", daemon=d).body.decode()
            self.assertRegex(m, r"(?m)^strongmapd_http_rate_limited_total 2$")
        finally:
            d.stop()

    def test_refill(self):
        """--page-rate 2 --page-burst 1: one check, refused, allowed again half a second
        later; --page-rate 0 turns the limit off."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-rate", "2", "--page-burst", "1"])
        try:
            self.assertEqual(self.check(d, False).status, 200)
            r = self.check(d, False)
            self.assertEqual((r.status, r.headers.get("retry-after")), (429, "1"))
            time.sleep(0.6)
            self.assertEqual(self.check(d, False).status, 200)
        finally:
            d.stop()
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-rate", "0"])
        try:
            self.assertEqual([self.check(d, False).status for _ in range(15)], [200] * 15)
        finally:
            d.stop()


def setUpModule():
    T.SPEC = T.Spec()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    T.ARGS, rest = p.parse_known_args()
    T.ARGS.daemon = os.path.abspath(T.ARGS.daemon)
    T.ARGS.host = None
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
