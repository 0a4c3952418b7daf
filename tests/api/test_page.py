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
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "lib"))
import pki  # noqa: E402  (tests/lib/pki.py)
import test_api as T  # noqa: E402  (the daemon harness, the OpenAPI document)

EXAMPLES = os.path.join(T.ROOT, "examples")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# words a first screen must not show, and directory data an upload must never reveal
JARGON = ("X509IssuerSerialNumber", "altSecurityIdentities", "KDC_ERR")
DIRECTORY = ("cn=alice", "cn=bob", "S-1-5-21", "sAMAccountName", "disabled", "Users,dc=")
UPN_SAN = "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com"
SID_EXT = f"""1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_ext
[sid_ext]
other = IMPLICIT:0,SEQUENCE:sid_other
[sid_other]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:S-1-5-21-1004336348-1177238915-682003330-1105
"""


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

    def test_forged_uploads(self):
        """A certificate crafted with the NTAuth CA's name and key identifier, signed by another
        key, answers the same whether or not an enabled account has the SID it claims: before,
        alice's SID got "will work" and an unknown SID "will fail" (an oracle for anyone)."""
        issuing = os.path.join(T.ROOT, "tests", "data", "certs", "issuing_ca.pem")
        out = subprocess.run(["openssl", "x509", "-in", issuing, "-noout", "-ext",
                              "subjectKeyIdentifier"], capture_output=True, text=True, check=True)
        ski = out.stdout.strip().splitlines()[-1].strip()
        nobody_sid = ALICE_SID.rsplit("-", 1)[0] + "-9999"
        with tempfile.TemporaryDirectory(prefix="strongmapd-forged-") as tmp:
            p = pki.Pki(tmp)
            p.ca("forger", "/DC=com/DC=example/CN=Example Issuing CA",
                 extra=f"subjectKeyIdentifier = {ski}", days=400)
            answers = {}
            for name, upn, sid in (("alice", "alice", ALICE_SID), ("nobody", "nobody", nobody_sid)):
                pem = p.issue(name, "forger", f"/CN={upn}@example.com", "client_ext",
                              UPN_SAN.replace("alice", upn) + "\n" +
                              SID_EXT.replace(ALICE_SID, sid), days=400)
                with open(pem, "rb") as f:
                    r = self.req("POST", "/v1/self/check", body=f.read(),
                                 headers={"Content-Type": "application/x-pem-file"})
                self.assertEqual(r.status, 200, r.body[:300])
                answers[name] = r.json()
        for name, a in answers.items():
            with self.subTest(cert=name):
                self.assertEqual((a["state"], a["code"]), ("will_fail", "issuer_signature_invalid"))
                self.assertIn("not really issued", a["why"])
                for word in DIRECTORY:
                    self.assertNotIn(word, json.dumps(a), name)
        same = ("state", "code", "why", "steps")
        self.assertEqual({k: answers["alice"][k] for k in same},
                         {k: answers["nobody"][k] for k in same})
        self.assertEqual(answers["alice"]["details"]["profiles"],
                         answers["nobody"]["details"]["profiles"])

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


# ---- who asks: identity path 2 (a trusted proxy's header), lab mode, path 1 (the client
# certificate of the TLS connection); docs/self-service.md "Who is asking"

READINESS_STATE = {"ready": "will_work", "at_risk": "at_risk", "blocked": "will_fail"}
ALICE_SID = "S-1-5-21-1004336348-1177238915-682003330-1105"
BOB_SID = "S-1-5-21-1004336348-1177238915-682003330-1106"
CAROL_SID = "S-1-5-21-1004336348-1177238915-682003330-1107"


class IdentityTestCase(PageTestCase):
    def ask(self, path, daemon=None, source=None, headers=None, cert=None, method="GET",
            body=None):
        """@path from @source (an address of the loopback network; None: 127.0.0.1), with
        @headers ([(name, value)]: a name may repeat) and the client certificate @cert."""
        d = daemon or self.daemon
        if d.tls_ca:
            ctx = T.tls_context(d.tls_ca, cert)
            conn = http.client.HTTPSConnection(d.host, d.port, timeout=30, context=ctx,
                                               source_address=(source, 0) if source else None)
        else:
            conn = http.client.HTTPConnection(d.host, d.port, timeout=30,
                                              source_address=(source, 0) if source else None)
        try:
            conn.putrequest(method, path)
            for name, value in headers or ():
                conn.putheader(name, value)
            conn.endheaders(body)
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
        if ctype != "application/problem+json":  # what a browser may render
            self.assertPageHeaders(resp)
        return resp

    def account(self, name, daemon=None):
        """GET /v1/accounts/NAME, as an administrator sees the account."""
        conn = (daemon or self.daemon).conn()
        try:
            conn.request("GET", "/v1/accounts/" + name)
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            return json.loads(r.read())
        finally:
            conn.close()

    def assertNoAccountData(self, body, *names):
        text = body.decode() if isinstance(body, bytes) else body
        for word in ("S-1-5-21", "cn=", "CN=", "objectSid", "altSecurityIdentities",
                     "Enabled", '"enabled"', '"sam"', "Readiness") + names:
            self.assertNotIn(word, text)

    @staticmethod
    def alike(doc, name):
        """An answer with the name asked for and the time taken out, to compare two."""
        doc = json.loads(doc) if isinstance(doc, bytes) else dict(doc)
        doc["identity"] = dict(doc["identity"], name=None)
        doc["helpdesk_text"] = re.sub(r"(?m)^(Identity|Checked): .*$", "", doc["helpdesk_text"])
        return json.dumps(doc, sort_keys=True).replace(name, "NAME")


def html_alike(body, name):
    text = body.decode()
    text = re.sub(r"(?m)^(Identity|Checked): .*$", "", text)
    return text.replace(name, "NAME")


class P4ProxyHeader(IdentityTestCase):
    """Path 2: [page] identity_header (X-Remote-User) believed from [page] trusted_proxies
    (127.0.0.1) only."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                          "--page-rate", "0",
                                          "--page-trusted-proxies", "127.0.0.1"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_self_json(self):
        """GET /v1/self answers for the proxy's user what GET /v1/accounts/{name} shows, in
        the page's words, with the account's own details."""
        for name in ("alice", "gina"):
            with self.subTest(name=name):
                r = self.ask("/v1/self", headers=[("X-Remote-User", name)])
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.headers.get("cache-control"), "no-store")
                a = r.json()
                acc = self.account(name)
                self.assertEqual(a["identity"], {"source": "proxy_header", "name": name})
                self.assertFalse(a["lab_mode"])
                self.assertEqual(a["state"], READINESS_STATE[acc["status"]])
                self.assertEqual(a["account"]["status"], acc["status"])
                self.assertEqual(a["code"], acc["reasons"][0]["code"])
                self.assertEqual(a["account"]["dn"], acc["account"]["dn"])
                self.assertEqual(a["account"]["sid"], acc["account"]["sid"])
                self.assertTrue(a["account"]["enabled"])
                for word in JARGON:
                    self.assertNotIn(word, a["why"] + " ".join(a["steps"]))
        a = self.ask("/v1/self", headers=[("X-Remote-User", "alice")]).json()
        self.assertEqual((a["state"], a["code"]), ("at_risk", "no_strong_path"))
        self.assertEqual(a["account"]["sid"], ALICE_SID)
        self.assertIn(f"objectSid: {ALICE_SID}\n", a["helpdesk_text"])
        g = self.ask("/v1/self", headers=[("X-Remote-User", "gina")]).json()
        self.assertEqual((g["state"], g["code"]), ("will_work", "strong_mapping"))
        self.assertEqual(g["account"]["mappings"],
                         [m["value"] for m in self.account("gina")["altsecurityidentities"]])

    def test_user_names_only(self):
        """The header names a user: a SID, a DN or a DOMAIN\\ prefix is refused (400), not
        looked up. Before, each of these answered with alice's details (security review,
        finding 4); user@REALM still finds her."""
        for value in (ALICE_SID, "cn=alice,cn=Users,dc=example,dc=com", "OTHERDOMAIN\\alice",
                      "s-1-5-21-1"):
            with self.subTest(value=value):
                r = self.ask("/v1/self", headers=[("X-Remote-User", value)])
                self.assertEqual(r.status, 400, r.body[:300])
                self.assertIn("a user principal name", r.json()["detail"])
                self.assertNotIn(ALICE_SID, r.body.decode())
        a = self.ask("/v1/self", headers=[("X-Remote-User", "alice@EXAMPLE.COM")]).json()
        self.assertEqual(a["account"]["sid"], ALICE_SID)

    def test_page(self):
        """GET /status for the proxy's user: the answer in the server's page (no JavaScript
        needed), above the upload form; never stored."""
        r = self.ask("/status", headers=[("X-Remote-User", "alice")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        self.assertIsNone(r.headers.get("etag"))
        html = r.body.decode()
        self.assertIn('<section class="answer self state-at_risk"', html)
        self.assertIn("For <strong>alice</strong>, as your organisation", html)
        self.assertIn('<span class="sr-only">Your account: </span>At risk</h2>', html)
        self.assertIn(f"<dt>objectSid</dt><dd>{ALICE_SID}</dd>", html)
        self.assertIn('<form id="check"', html)  # the upload stays
        self.assertLess(html.index("self-state"), html.index('<form id="check"'))
        self.assertNotIn("<!--self-->", html)
        first_screen = html.split("<details>")[0]
        for word in JARGON:
            self.assertNotIn(word, first_screen)
        self.assertNotRegex(html, r"<script>|<style|\sstyle=|\son[a-z]+=")
        # escaped: a name with markup comes back as text
        r = self.ask("/status", headers=[("X-Remote-User", "<b>x</b>&")])
        self.assertIn("For <strong>&lt;b&gt;x&lt;/b&gt;&amp;</strong>", r.body.decode())
        self.assertNotIn("<b>x</b>", r.body.decode())

    def test_forged_header(self):
        """127.0.0.2 is not the proxy: its X-Remote-User is refused, 400, never judged, and
        the answer says nothing about the account."""
        for path in ("/v1/self", "/status", "/"):
            with self.subTest(path=path):
                r = self.ask(path, source="127.0.0.2", headers=[("X-Remote-User", "alice")])
                self.assertEqual(r.status, 400, r.body[:300])
                self.assertIn("127.0.0.2", r.body.decode())
                self.assertIn("trusted_proxies", r.body.decode())
                self.assertNoAccountData(r.body, "At risk", "no_strong_path")
        self.assertEqual(self.ask("/v1/self", source="127.0.0.2", headers=[
            ("X-Remote-User", "alice")]).json()["type"], "/problems/bad-request")
        # without the header, 127.0.0.2 gets the page and no identity
        r = self.ask("/status", source="127.0.0.2")
        self.assertEqual((r.status, r.headers.get("cache-control")), (200, "no-cache"))
        self.assertEqual(self.ask("/v1/self", source="127.0.0.2").json()["type"],
                         "/problems/no-identity")

    def test_no_identity(self):
        r = self.ask("/v1/self")
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["type"], "/problems/no-identity")
        r = self.ask("/status", headers=[("X-Remote-User", "")])  # the proxy signed nobody in
        self.assertEqual((r.status, r.headers.get("cache-control")), (200, "no-cache"))
        self.assertNotIn("answer self", r.body.decode())

    def test_header_twice_or_bad(self):
        for headers in ([("X-Remote-User", "alice"), ("X-Remote-User", "bob")],
                        [("X-Remote-User", "a" * 513)]):
            with self.subTest(n=len(headers)):
                r = self.ask("/v1/self", headers=headers)
                self.assertEqual(r.status, 400)
                self.assertNoAccountData(r.body)

    def test_unknown_and_disabled_alike(self):
        """No enumeration: bob (disabled) and a name nobody has get the same answer, without
        any detail."""
        bob = self.ask("/v1/self", headers=[("X-Remote-User", "bob")])
        nobody = self.ask("/v1/self", headers=[("X-Remote-User", "nobody")])
        self.assertEqual((bob.status, nobody.status), (200, 200))
        self.assertEqual(self.alike(bob.body, "bob"), self.alike(nobody.body, "nobody"))
        a = bob.json()
        self.assertEqual((a["state"], a["code"], a["account"], a["certificates"]),
                         ("will_fail", "account", None, []))
        self.assertNoAccountData(bob.body)
        pages = [self.ask("/status", headers=[("X-Remote-User", n)]) for n in ("bob", "nobody")]
        self.assertEqual(html_alike(pages[0].body, "bob"), html_alike(pages[1].body, "nobody"))
        self.assertNoAccountData(pages[0].body)

    def test_typed_name_without_lab_mode(self):
        r = self.ask("/v1/self?account=alice")
        self.assertEqual(r.status, 400)
        self.assertIn("lab_mode", r.json()["detail"])
        r = self.ask("/status?account=alice")  # the page ignores it
        self.assertEqual((r.status, r.headers.get("cache-control")), (200, "no-cache"))


class P5ProxySettings(IdentityTestCase):
    def test_other_header_and_rate(self):
        """[page] identity_header names another header; the page's rate limit counts the
        lookups, per signed-in user behind the proxy, else per address; without [page]
        trusted_proxies the header is believed from nobody."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-trusted-proxies", "127.0.0.0/30",
                                 "--page-identity-header", "X-Forwarded-User",
                                 "--page-rate", "2", "--page-burst", "1"])
        try:
            r = self.ask("/v1/self", daemon=d, source="127.0.0.2",
                         headers=[("X-Forwarded-User", "alice")])
            self.assertEqual(r.json()["identity"], {"source": "proxy_header", "name": "alice"})
            r = self.ask("/v1/self", daemon=d, source="127.0.0.2",
                         headers=[("X-Forwarded-User", "alice")])
            self.assertEqual((r.status, r.json()["type"]), (429, "/problems/rate-limited"))
            # behind the proxy everyone shares its address: the bucket is the signed-in user's
            r = self.ask("/v1/self", daemon=d, source="127.0.0.2",
                         headers=[("X-Forwarded-User", "gina")])
            self.assertEqual(r.status, 200)
            pem = cert("alice-sid.pem")
            upload = [("Content-Type", "application/x-pem-file"),
                      ("Content-Length", str(len(pem)))]
            for who, status in (("carol", 200), ("carol", 429), (None, 200), (None, 429)):
                with self.subTest(upload=who, status=status):
                    h = upload + ([("X-Forwarded-User", who)] if who else [])
                    r = self.ask("/v1/self/check", daemon=d, source="127.0.0.2", method="POST",
                                 headers=h, body=pem)
                    self.assertEqual(r.status, status)
            # X-Remote-User is now just a header
            self.assertEqual(self.ask("/v1/self", daemon=d,
                                      headers=[("X-Remote-User", "alice")]).status, 403)
        finally:
            d.stop()
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif")])
        try:
            r = self.ask("/v1/self", daemon=d, headers=[("X-Remote-User", "alice")])
            self.assertEqual(r.status, 400)
            self.assertIn("trusted_proxies", r.json()["detail"])
        finally:
            d.stop()

    def test_reload(self):
        """A reload applies [page] trusted_proxies and lab_mode, and logs the loosening."""
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "strongmapd.conf")
            ldif = os.path.join(EXAMPLES, "demo.ldif")

            def write(page):
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(f"[directory]\nldif = {ldif}\n[page]\n{page}")

            write("trusted_proxies = 127.0.0.2\n")
            d = T.Daemon(extra_args=["-c", conf])
            try:
                h = [("X-Remote-User", "alice")]
                self.assertEqual(self.ask("/v1/self", daemon=d, headers=h).status, 400)
                self.assertEqual(self.ask("/v1/self?account=alice", daemon=d).status, 400)
                write("trusted_proxies = 127.0.0.2, 127.0.0.1\nlab_mode = yes\n")
                d.proc.send_signal(signal.SIGHUP)
                d.wait_log("configuration reloaded")
                self.assertIn(":4: trusted_proxies loosened: 127.0.0.2 -> 127.0.0.2, 127.0.0.1",
                              d.log())
                self.assertIn(":5: lab_mode loosened: no -> yes", d.log())
                self.assertEqual(self.ask("/v1/self", daemon=d, headers=h).status, 200)
                self.assertEqual(self.ask("/v1/self?account=alice", daemon=d).status, 200)
            finally:
                d.stop()

    def test_bad_settings(self):
        for args, key in ((["--page-trusted-proxies", "10.0.0.1/8"], "--page-trusted-proxies: "),
                          (["--page-identity-header", "X Remote"], "--page-identity-header: ")):
            with self.subTest(key=key):
                p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n"] + args,
                                   capture_output=True, text=True, timeout=10)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(key, p.stderr)


class P6LabMode(IdentityTestCase):
    """[page] lab_mode: a typed account name, answered as path 2 and labelled lab mode."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                          "--page-rate", "0", "--page-lab-mode", "yes",
                                          "--page-trusted-proxies", "127.0.0.1"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_json(self):
        a = self.ask("/v1/self?account=alice").json()
        self.assertEqual(a["identity"], {"source": "lab_mode", "name": "alice"})
        self.assertTrue(a["lab_mode"])
        self.assertEqual((a["state"], a["code"]), ("at_risk", "no_strong_path"))
        self.assertEqual(a["account"]["sid"], ALICE_SID)
        self.assertIn("typed in lab mode", a["helpdesk_text"])
        # a proven identity wins over the typed name
        a = self.ask("/v1/self?account=bob", headers=[("X-Remote-User", "gina")]).json()
        self.assertEqual(a["identity"], {"source": "proxy_header", "name": "gina"})
        for q in ("?account=", "?account=a&account=b", "?other=1", "?account=%00"):
            with self.subTest(q=q):
                self.assertEqual(self.ask("/v1/self" + q).status, 400)

    def test_page(self):
        html = self.ask("/status").body.decode()
        self.assertIn('<form id="lab" class="lab" method="get" action="/status">', html)
        self.assertIn("Lab mode.", html)
        self.assertNotIn("answer self", html)
        r = self.ask("/status?account=alice")
        html = r.body.decode()
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        self.assertIn('<strong class="lab">Lab mode:</strong>', html)
        self.assertIn('value="alice"', html)
        self.assertIn('<section class="answer self state-at_risk"', html)
        r = self.ask("/status?account=%22%3E%3Cscript%3E")
        self.assertNotIn('"><script>', r.body.decode())
        self.assertIn("&quot;&gt;&lt;script&gt;", r.body.decode())

    def test_unknown_and_disabled_alike(self):
        bob = self.ask("/v1/self?account=bob")
        nobody = self.ask("/v1/self?account=nobody")
        self.assertEqual(self.alike(bob.body, "bob"), self.alike(nobody.body, "nobody"))
        self.assertNoAccountData(bob.body)
        pages = [self.ask(f"/status?account={n}") for n in ("bob", "nobody")]
        self.assertEqual(html_alike(pages[0].body, "bob"), html_alike(pages[1].body, "nobody"))


class P7ClientCertificate(IdentityTestCase):
    """Path 1: HTTPS with optional client certificates ([tls] client_ca, client_required =
    no): the certificate presented is judged, for the account it maps to. Certificates issued
    at test time by the demo's issuing CA (tests/data/certs, in examples/demo.ldif's NTAuth)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-page-")
        p = pki.Pki(os.path.join(cls.tmp.name, "pki"))
        certs = os.path.join(T.ROOT, "tests", "data", "certs")
        for name in ("issuing_ca", "root_ca"):
            for ext in (".pem", ".key"):
                shutil.copy(os.path.join(certs, name + ext), p.path(name, ext))
        p.ca("server_ca", "/CN=Page Test Server CA")
        p.issue("server", "server_ca", "/CN=localhost", "server_ext")
        alice = "/DC=com/DC=example/OU=Users/CN=Alice"
        # valid for 400 days: not expiring within the 30 days that make a certificate at risk
        cls.sid = (p.issue("alice_sid", "issuing_ca", alice, "client_ext",
                           UPN_SAN + "\n" + SID_EXT, days=400), p.path("alice_sid", ".key"))
        cls.upn = (p.issue("alice_upn", "issuing_ca", alice, "client_ext", UPN_SAN, days=400),
                   p.path("alice_upn", ".key"))
        cls.bob = (p.issue("bob", "issuing_ca", "/CN=Bob", "client_ext",
                           UPN_SAN.replace("alice", "bob"), days=400), p.path("bob", ".key"))
        cls.bob_sid = (p.issue("bob_sid", "issuing_ca", "/CN=Bob", "client_ext",
                               UPN_SAN.replace("alice", "bob") + "\n" +
                               SID_EXT.replace(ALICE_SID, BOB_SID), days=400),
                       p.path("bob_sid", ".key"))
        # "enrollee supplies subject": eve's certificate names carol's UPN, from the right CA
        cls.eve_ess = (p.issue("eve_ess", "issuing_ca", "/CN=Eve", "client_ext",
                               UPN_SAN.replace("alice", "carol"), days=400),
                       p.path("eve_ess", ".key"))
        p.ca("rogue", "/CN=Rogue CA")
        cls.rogue = (p.issue("eve", "rogue", "/CN=eve", "client_ext", UPN_SAN),
                     p.path("eve", ".key"))
        # a CA the TLS listener accepts but the forest's NTAuth store does not hold
        p.ca("partner", "/CN=Partner CA", days=400)
        cls.partner = (p.issue("partner_alice", "partner", "/CN=Alice", "client_ext",
                               UPN_SAN + "\n" + SID_EXT, days=400),
                       p.path("partner_alice", ".key"))
        client_cas = os.path.join(cls.tmp.name, "client_cas.pem")
        with open(client_cas, "w", encoding="ascii") as out:
            for name in ("issuing_ca", "root_ca", "partner"):
                with open(p.path(name), encoding="ascii") as f:
                    out.write(f.read())
        cls.daemon = T.Daemon(extra_args=[
            "--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--page-rate", "0",
            "--tls-cert", p.path("server"), "--tls-key", p.path("server", ".key"),
            "--tls-client-ca", client_cas, "--tls-client-required", "no",
            "--page-trusted-proxies", "127.0.0.1"], tls_ca=p.path("server_ca"))

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.tmp.cleanup()

    def test_presented_certificate(self):
        a = self.ask("/v1/self", cert=self.sid).json()
        self.assertEqual(a["identity"], {"source": "client_certificate", "name": None})
        self.assertEqual((a["state"], a["code"]), ("will_work", "works"))
        self.assertEqual(a["account"]["sid"], ALICE_SID)
        self.assertEqual(a["account"]["sam"], "alice")
        der = base64.b64decode(T.pem_der_b64(self.sid[0]))
        self.assertEqual(len(a["certificates"]), 1)
        c = a["certificates"][0]
        self.assertEqual(c["sha1"], hashlib.sha1(der).hexdigest().upper())  # exactly that one
        self.assertEqual(c["state"], "will_work")
        # a certificate without the SID: will fail, as for an upload (below)
        a = self.ask("/v1/self", cert=self.upn).json()
        self.assertEqual((a["state"], a["code"]), ("will_fail", "weak_mapping"))
        p = a["certificates"][0]["profiles"][0]
        self.assertEqual((p["kdc_error"], p["event"]), ("KDC_ERR_CERTIFICATE_MISMATCH", 39))

    def test_page(self):
        r = self.ask("/status", cert=self.sid)
        html = r.body.decode()
        self.assertEqual(r.headers.get("cache-control"), "no-store")
        self.assertIn("For the certificate your browser presented, which names "
                      "<strong>alice</strong>.", html)
        self.assertIn('<section class="answer self state-will_work"', html)
        self.assertIn(f"<dt>objectSid</dt><dd>{ALICE_SID}</dd>", html)
        r = self.ask("/status")  # no certificate: the plain page
        self.assertEqual((r.status, r.headers.get("cache-control")), (200, "no-cache"))

    def test_weak_certificate_proves_no_account(self):
        """A certificate that maps only weakly (its UPN) proves possession of its key, not that
        the account it names is the holder's: whoever enrols may write any UPN into a
        certificate ("enrollee supplies subject"). The answer is then what an upload of it
        shows: no account, no fix, account reasons in the generic words. Before, eve's
        certificate naming carol showed carol's DN, SID and mappings (security review,
        finding 6)."""
        for name, c, code in (("eve_ess", self.eve_ess, "weak_mapping"),
                              ("alice_upn", self.upn, "weak_mapping"),
                              ("bob", self.bob, "account")):
            with self.subTest(cert=name):
                r = self.ask("/v1/self", cert=c)
                a = r.json()
                self.assertEqual(a["identity"], {"source": "client_certificate", "name": None})
                self.assertEqual((a["state"], a["code"]), ("will_fail", code))
                self.assertIsNone(a["account"])
                self.assertIsNone(a["certificates"][0]["fix"])
                html = self.ask("/status", cert=c).body.decode()
                self.assertIn("For the certificate your browser presented.", html)
                # the certificate's own subject and issuer are shown (CN=...), no account's
                for word in ("S-1-5-21", "cn=", "objectSid", "sAMAccountName", "Enabled",
                             '"enabled"', "Readiness", "altSecurityIdentities", "X509:<I>",
                             "<dt>Fix</dt>", "which names", "KDC_ERR_CLIENT_REVOKED"):
                    self.assertNotIn(word, r.body.decode())
                    self.assertNotIn(word, html)
                with open(c[0], "rb") as f:
                    pem = f.read()
                u = self.ask("/v1/self/check", method="POST", body=pem,
                             headers=[("Content-Type", "application/x-pem-file"),
                                      ("Content-Length", str(len(pem)))]).json()
                self.assertEqual((a["state"], a["code"], a["why"], a["steps"]),
                                 (u["state"], u["code"], u["why"], u["steps"]))
                self.assertEqual(a["certificates"][0]["profiles"], u["details"]["profiles"])

    def test_ca_outside_ntauth_proves_no_account(self):
        """A certificate from a CA the TLS listener accepts but NTAuth does not hold, carrying
        alice's SID: such a CA can write any SID into what it issues, so the SID proves no
        account. Before, alice's DN, SID and mappings were shown (security review of
        2026-12-08, finding 3)."""
        r = self.ask("/v1/self", cert=self.partner)
        a = r.json()
        self.assertEqual(a["identity"], {"source": "client_certificate", "name": None})
        self.assertEqual((a["state"], a["code"]), ("will_fail", "issuer_not_in_ntauth"))
        self.assertIsNone(a["account"])
        for word in ("S-1-5-21", "objectSid", "sAMAccountName", "altSecurityIdentities"):
            self.assertNotIn(word, r.body.decode())

    def test_certificate_and_header(self):
        # a certificate alone: the browser's own
        a = self.ask("/v1/self", cert=self.sid).json()
        self.assertEqual(a["identity"]["source"], "client_certificate")
        # a trusted proxy naming the user, with a certificate of its own on its connection (as
        # nginx's proxy_ssl_certificate): the header is the user; before, the proxy's
        # certificate was judged for every signed-in person (security review, finding 5)
        a = self.ask("/v1/self", cert=self.sid, headers=[("X-Remote-User", "gina")]).json()
        self.assertEqual(a["identity"], {"source": "proxy_header", "name": "gina"})
        a = self.ask("/v1/self", headers=[("X-Remote-User", "gina")]).json()
        self.assertEqual(a["identity"], {"source": "proxy_header", "name": "gina"})
        # a forged header is refused even with a certificate
        r = self.ask("/v1/self", cert=self.sid, source="127.0.0.2",
                     headers=[("X-Remote-User", "gina")])
        self.assertEqual(r.status, 400)

    def test_disabled_account(self):
        """bob's own certificate, with his SID: his account's state is his to see (the
        certificate proves who he is). Without the SID it proves nothing (above)."""
        a = self.ask("/v1/self", cert=self.bob_sid).json()
        self.assertEqual((a["state"], a["code"]), ("will_fail", "account_disabled"))
        self.assertFalse(a["account"]["enabled"])
        self.assertEqual(a["account"]["sid"], BOB_SID)

    def test_untrusted_certificate(self):
        """A certificate from a CA not in [tls] client_ca: refused as every route refuses
        it (403), not judged."""
        r = self.ask("/v1/self", cert=self.rogue)  # admission verifies, after the handshake
        self.assertEqual((r.status, r.json()["type"]),
                         (403, "/problems/client-certificate-required"))


class P8SelfListener(IdentityTestCase):
    """[self] listen: a listener of the page's own serves its routes and nothing else; the
    main listener keeps every route."""

    def test_page_routes_only(self):
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--page-rate", "0",
                                 "--page-trusted-proxies", "127.0.0.1",
                                 "--self-listen", "127.0.0.1:0"])
        try:
            d.wait_log("(the status page only, ")
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) \(the status page only, ", d.log())
            page = types.SimpleNamespace(host="127.0.0.1", port=int(m.group(1)), tls_ca=None)
            self.assertNotEqual(page.port, d.port)
            for path in ("/", "/status", "/static/status.css"):
                with self.subTest(path=path):
                    self.assertEqual(self.ask(path, daemon=page).status, 200)
            a = self.ask("/v1/self", daemon=page, headers=[("X-Remote-User", "alice")]).json()
            self.assertEqual(a["identity"]["name"], "alice")
            r = self.ask("/v1/self/check", daemon=page, method="POST",
                         headers=[("Content-Type", "application/x-pem-file"),
                                  ("Content-Length", str(len(cert("alice-sid.pem"))))],
                         body=cert("alice-sid.pem"))
            self.assertEqual(r.json()["state"], "will_work")
            # every other route is not there (404, also for a method the main listener has)
            for method, path in (("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                                 ("GET", "/v1/accounts/alice"), ("POST", "/v1/inspect"),
                                 ("GET", "/v1/inspect"), ("POST", "/v1/verdict"),
                                 ("GET", "/v1/authz")):
                with self.subTest(method=method, path=path):
                    conn = http.client.HTTPConnection(page.host, page.port, timeout=30)
                    try:
                        conn.request(method, path, body=b"" if method == "POST" else None)
                        r = conn.getresponse()
                        self.assertEqual(r.status, 404)
                        self.assertEqual(json.loads(r.read())["type"], "/problems/not-found")
                    finally:
                        conn.close()
            self.assertEqual(self.ask("/status/check", daemon=page, method="GET").status, 405)
            # the main listener: everything
            self.assertEqual(self.account("alice", daemon=d)["status"], "at_risk")
        finally:
            d.stop()

    def test_open_address_without_tokens(self):
        """The page's listener on an address other than loopback needs no token (its routes
        are the page's, open to people), where [server] listen would be refused."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--self-listen", "0.0.0.0:0"])
        try:
            d.wait_log("(the status page only, ")
            port = int(re.search(r"listening on 0\.0\.0\.0:(\d+) \(the status page only",
                                 d.log()).group(1))
            page = types.SimpleNamespace(host="127.0.0.1", port=port, tls_ca=None)
            self.assertEqual(self.ask("/status", daemon=page).status, 200)
            self.assertNotIn("not a loopback address", d.log())
        finally:
            d.stop()


# ---- languages: the message catalogues (web/messages/LANG.json) and Accept-Language;
# docs/self-service.md "Languages"

MESSAGES = os.path.join(T.ROOT, "web", "messages")
KEY_PREFIXES = ("page.", "state.", "answer.", "details.", "helpdesk.", "text.", "self.", "lab.",
                "problem.", "why.", "step.", "links.")


def catalogue(lang):
    with open(os.path.join(MESSAGES, lang + ".json"), encoding="utf-8") as f:
        return json.load(f)


def placeholders(text):
    return re.findall(r"%.", text)


def data_messages(html):
    """The script's texts the server put in <main data-messages="...">."""
    m = re.search(r'<main id="main" data-messages="([^"]*)"', html)
    return json.loads(html_unescape(m.group(1))) if m else None


def html_unescape(s):
    import html
    return html.unescape(s)


class P9Catalogues(unittest.TestCase):
    """The shipped catalogues against English, and the code and the page against them."""

    def test_same_keys_and_placeholders(self):
        en = catalogue("en")
        langs = sorted(f[:-5] for f in os.listdir(MESSAGES) if f.endswith(".json"))
        self.assertIn("de", langs)
        for lang in langs:
            with self.subTest(lang=lang):
                c = catalogue(lang)
                self.assertEqual(sorted(c), sorted(en), f"{lang}.json: not English's keys")
                for key, text in c.items():
                    self.assertEqual(placeholders(text), placeholders(en[key]), f"{lang}: {key}")
                    self.assertTrue(text.strip(), f"{lang}: {key} is empty")
                    self.assertNotRegex("".join(placeholders(text)), r"%[^s%]", f"{lang}: {key}")

    def test_every_key_is_known_and_used(self):
        """Every key the C code, the page's template and the script name is English's; every
        key of English is named somewhere (why.* and step.*: lib/state.c's ids, state.*:
        sm_state_name())."""
        en = catalogue("en")
        used = set()
        for name in os.listdir(os.path.join(T.ROOT, "api")):
            if name.endswith(".c"):
                with open(os.path.join(T.ROOT, "api", name), encoding="utf-8") as f:
                    for key in re.findall(r'"([a-z_]+\.[a-z0-9_.]+)"', f.read()):
                        if key.startswith(KEY_PREFIXES):
                            used.add(key)
        with open(os.path.join(T.ROOT, "web", "status.html"), encoding="utf-8") as f:
            used |= {k for k in re.findall(r"\{\{([^}@]+)\}\}", f.read())}
        with open(os.path.join(T.ROOT, "web", "status.js"), encoding="utf-8") as f:
            used |= {k for k in re.findall(r"'([a-z_]+\.[a-z0-9_.]+)'", f.read())
                     if k.startswith(KEY_PREFIXES)}
        used = {k for k in used if not k.endswith(".")}  # "why." + an id: below
        self.assertEqual(sorted(used - set(en)), [], "keys the code names that English lacks")
        dynamic = ("state.", "why.", "step.")
        self.assertEqual(sorted(k for k in set(en) - used if not k.startswith(dynamic)), [],
                         "keys of English nothing names")
        self.assertEqual(sorted(k[6:] for k in en if k.startswith("state.")),
                         ["at_risk", "will_fail", "will_work"])


class P9Languages(PageTestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                          "--page-rate", "0",
                                          "--page-trusted-proxies", "127.0.0.1"])

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def lang_of(self, r):
        self.assertEqual(r.headers.get("vary"), "Accept-Language")
        return r.headers.get("content-language")

    def test_accept_language(self):
        """RFC 9110 12.5.4: q-values, the field's order among equals, language ranges that
        find a catalogue of their tag, of a region of it, or their shorter forms, q=0, '*',
        English when nothing fits or the field cannot be read."""
        cases = (
            (None, "en"), ("de", "de"), ("DE", "de"), ("de-DE", "de"), ("de-CH-1996", "de"),
            ("de-CH, fr;q=0.9", "de"), ("fr, de;q=0.5", "de"), ("en;q=0.5, de", "de"),
            ("de;q=0.5, en;q=0.5", "de"), ("en , de", "en"), ("de;q=0, *", "en"),
            ("en;q=0, *;q=0.5", "de"), ("*", "en"), ("xx, yy-ZZ", "en"), ("de;q=0", "en"),
            ("en-GB;q=0.8, de;q=0.9", "de"), ("de; q=0.001", "de"), ("de;q=1.000", "de"),
            ("de;q=1.5", "en"), ("de;q=0.0001", "en"), ("de;level=1", "en"), (";;,,q=", "en"),
            ("d\u00e9", "en"), ("-de", "en"), ("toolongtag", "en"), ("x" * 300 + ", de", "de"),
        )
        for field, want in cases:
            with self.subTest(field=field):
                h = {"Accept-Language": field.encode("utf-8")} if field is not None else {}
                r = self.req("GET", "/status", headers=h)
                self.assertEqual(r.status, 200)
                self.assertEqual(self.lang_of(r), want)
                self.assertIn(f'<html lang="{want}">', r.body.decode())
                r = self.req("POST", "/v1/self/check", body=cert("alice-no-sid.pem"),
                             headers=dict(h, **{"Content-Type": "application/x-pem-file"}))
                self.assertEqual(self.lang_of(r), want)

    def test_german(self):
        """de: the page, the answers and the helpdesk text in German; the JSON's stable codes
        and the technical values as in English."""
        de = catalogue("de")
        h = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}
        html = self.req("GET", "/status", headers=h).body.decode()
        self.assertIn(f"<h1>{de['page.title']}</h1>", html)
        self.assertIn("<title>Funktioniert mein Zertifikat?</title>", html)
        msgs = data_messages(html)
        self.assertEqual(msgs["state.will_fail"], de["state.will_fail"])
        a = self.req("POST", "/v1/self/check", body=cert("alice-no-sid.pem"),
                     headers=dict(h, **{"Content-Type": "application/x-pem-file"})).json()
        self.assertEqual((a["state"], a["code"]), ("will_fail", "weak_mapping"))
        self.assertEqual(a["why"], de["why.weak_mapping"])  # lib/state.c's sentence, worded
        self.assertEqual(a["steps"], [de["step.renew_for_identifier"],
                                      de["step.ask_link_otherwise"]])
        self.assertIn(f"Grund: {de['why.weak_mapping']} [weak_mapping]\n", a["helpdesk_text"])
        self.assertIn("Ergebnis: Funktioniert nicht (will_fail)\n", a["helpdesk_text"])
        self.assertIn("SHA-1-Fingerabdruck: ", a["helpdesk_text"])
        self.assertIn("  windows-2022: abgelehnt, KDC_ERR_CERTIFICATE_MISMATCH, KDC-Ereignis 39\n",
                      a["helpdesk_text"])
        self.assertEqual(a["details"]["profiles"][0]["outcome"], "deny")  # a code: not words
        body, mh = multipart("certificate", "a.cer", cert("alice-no-sid.pem"))
        r = self.req("POST", "/status/check", body=body, headers=dict(mh, **h))
        html = r.body.decode()
        self.assertEqual(self.lang_of(r), "de")
        self.assertIn('<html lang="de">', html)
        self.assertIn('<span class="sr-only">Ergebnis: </span>Funktioniert nicht</h2>', html)
        self.assertIn("<summary>Details für die IT</summary>", html)
        self.assertIn(f'<p class="why">{de["why.weak_mapping"]}</p>', html)
        self.assertIn("<dt>DC windows-2022</dt><dd>abgelehnt, KDC_ERR_CERTIFICATE_MISMATCH, "
                      "KDC-Ereignis 39</dd>", html)
        self.assertIn('data-copied="Kopiert."', html)
        self.assertIn(f">{de['page.another']}</a>", html)
        # an error page and the rate limit's in German too
        body, mh = multipart("certificate", "x.cer", b"not a certificate")
        r = self.req("POST", "/status/check", body=body, headers=dict(mh, **h))
        self.assertEqual((r.status, self.lang_of(r)), (400, "de"))
        self.assertIn(de["problem.bad_file"], r.body.decode())
        # problem+json stays English, like the whole API
        r = self.req("POST", "/v1/self/check", body=b"junk", headers=h)
        self.assertEqual((r.status, r.json()["title"]), (400, "Not a readable certificate"))

    def test_german_account(self):
        """The answer for a known caller (GET /v1/self, the page) in German: the readiness's
        sentence and steps, the identity, the details; the account's values as they are."""
        de = catalogue("de")
        h = {"Accept-Language": "de", "X-Remote-User": "alice"}
        r = self.req("GET", "/v1/self", headers=h)
        a = r.json()
        self.assertEqual(self.lang_of(r), "de")
        self.assertEqual((a["state"], a["code"]), ("at_risk", "no_strong_path"))
        self.assertEqual(a["why"], de["why.readiness_no_strong_path"])
        self.assertEqual(a["steps"], [de["step.check_certificate_here"],
                                      de["step.renew_for_account_identifier"]])
        self.assertEqual(a["account"]["sam"], "alice")
        self.assertIn("Identität: alice, angemeldet über die Anmeldung der Organisation\n",
                      a["helpdesk_text"])
        self.assertIn(f"objectSid: {ALICE_SID}\n", a["helpdesk_text"])  # an attribute's name
        self.assertIn("Aktiviert: ja\n", a["helpdesk_text"])
        r = self.req("GET", "/status", headers=h)
        html = r.body.decode()
        self.assertEqual((self.lang_of(r), r.headers.get("cache-control")), ("de", "no-store"))
        self.assertIn('<html lang="de">', html)
        self.assertIn("Für <strong>alice</strong>, wie die Anmeldung Ihrer Organisation Sie "
                      "kennt.", html)
        self.assertIn('<span class="sr-only">Ihr Konto: </span>Gefährdet</h2>', html)
        self.assertIn("<dt>Aktiviert</dt><dd>ja</dd>", html)
        self.assertIn(f"<dt>objectSid</dt><dd>{ALICE_SID}</dd>", html)

    def test_etag_per_language(self):
        en = self.req("GET", "/status")
        de = self.req("GET", "/status", headers={"Accept-Language": "de"})
        self.assertNotEqual(en.headers["etag"], de.headers["etag"])
        r = self.req("GET", "/status", headers={"Accept-Language": "de",
                                                "If-None-Match": en.headers["etag"]})
        self.assertEqual(r.status, 200)
        r = self.req("GET", "/status", headers={"Accept-Language": "de",
                                                "If-None-Match": de.headers["etag"]})
        self.assertEqual((r.status, self.lang_of(r)), (304, "de"))
        # the style sheet and the script are the same in every language
        r = self.req("GET", "/static/status.js", headers={"Accept-Language": "de"})
        self.assertIsNone(r.headers.get("content-language"))
        self.assertEqual(self.req("GET", "/static/status.html").status, 404)  # the template

    def test_budget_and_csp_in_each_language(self):
        """The page's 50 KB in every shipped language; no inline script or style; the script
        finds every text it asks for in the page."""
        with open(os.path.join(T.ROOT, "web", "status.js"), encoding="utf-8") as f:
            js_keys = {k for k in re.findall(r"'([a-z_]+\.[a-z0-9_.]+)'", f.read())
                       if k.startswith(KEY_PREFIXES) and not k.endswith(".")}
        js_keys |= {"state.will_work", "state.at_risk", "state.will_fail"}  # 'state.' + a.state
        for lang in ("en", "de"):
            with self.subTest(lang=lang):
                page = self.req("GET", "/status", headers={"Accept-Language": lang})
                total = len(page.body) + sum(len(self.req("GET", "/static/" + n).body)
                                             for n in ("status.css", "status.js"))
                self.assertLessEqual(total, 50 * 1024)
                html = page.body.decode()
                self.assertNotRegex(html, r"<script>|<style|\sstyle=|\son[a-z]+=")
                self.assertNotIn("{{", html)
                msgs = data_messages(html)
                self.assertEqual(sorted(js_keys - set(msgs)), [])
                self.assertEqual(sorted(k for k in msgs if msgs[k] != catalogue(lang)[k]), [])


class P10MessagesDirectory(PageTestCase):
    """[page] messages: an operator's catalogues, read at start and at each reload; a language
    added, a shipped text overridden, per-key fallback, warnings that name the keys, and a
    catalogue that cannot be used refused with the running ones kept."""

    @staticmethod
    def write(path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def reload(self, d, expect):
        """SIGHUP, and wait for the next @expect in the log."""
        n = d.log().count(expect)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while d.log().count(expect) <= n:
            self.assertLess(time.monotonic(), deadline, f"{expect!r} not logged:\n{d.log()}")
            time.sleep(0.02)

    def test_directory_and_reload(self):
        en = catalogue("en")
        with tempfile.TemporaryDirectory(prefix="strongmapd-messages-") as tmp:
            msgs = os.path.join(tmp, "messages")
            os.mkdir(msgs)
            conf = os.path.join(tmp, "strongmapd.conf")
            self.write(conf, f"[directory]\nldif = {os.path.join(EXAMPLES, 'demo.ldif')}\n"
                             f"[page]\nrate = 0\nmessages = {msgs}\n")
            fr = {"page.title": "Mon certificat fonctionnera-t-il ?",
                  "state.will_fail": "Ne fonctionnera pas",
                  "why.weak_mapping": "Le certificat ne porte pas l'identifiant du compte.",
                  "nope.key": "?"}
            self.write(os.path.join(msgs, "fr.json"), json.dumps(fr))
            self.write(os.path.join(msgs, "de.json"), '{"page.title": "Klappt es?"}')
            self.write(os.path.join(msgs, "README"), "not a catalogue: ignored")
            # -n: the check says which keys are missing, and passes
            p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "-c", conf],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(f"{msgs}/fr.json: 1 key English does not have, ignored: nope.key",
                          p.stderr)
            n_missing = len(en) - 3
            self.assertIn(f"{msgs}/fr.json: {n_missing} keys missing (English is used): "
                          "answer.account_sr, ", p.stderr)
            self.assertNotIn("de.json", p.stderr)  # de falls back to the shipped German
            d = T.Daemon(extra_args=["-c", conf])
            try:
                self.assertIn("keys missing (English is used)", d.log())
                fr_h = {"Accept-Language": "fr-FR, en;q=0.5"}
                r = self.req("GET", "/status", headers=fr_h, daemon=d)
                self.assertEqual(r.headers["content-language"], "fr")
                html = r.body.decode()
                self.assertIn('<html lang="fr">', html)
                self.assertIn(f"<h1>{fr['page.title']}</h1>", html)
                self.assertIn(f"<p>{en['page.intro'].replace(chr(39), '&#39;')}</p>", html)
                a = self.req("POST", "/v1/self/check", body=cert("alice-no-sid.pem"),
                             headers=dict(fr_h, **{"Content-Type": "application/x-pem-file"}),
                             daemon=d).json()
                self.assertEqual((a["state"], a["code"]), ("will_fail", "weak_mapping"))
                self.assertEqual(a["why"], fr["why.weak_mapping"])
                self.assertEqual(a["steps"][0], en["step.renew_for_identifier"])  # per key
                self.assertIn("Result: Ne fonctionnera pas (will_fail)\n", a["helpdesk_text"])
                de_h = {"Accept-Language": "de"}
                html = self.req("GET", "/status", headers=de_h, daemon=d).body.decode()
                self.assertIn("<h1>Klappt es?</h1>", html)
                self.assertIn(f"<p>{catalogue('de')['page.intro']}</p>", html)  # shipped German

                # not JSON: the reload is refused, saying where, and the running texts stay
                self.write(os.path.join(msgs, "de.json"), '{"page.title": "Klappt es jetzt?",}')
                self.reload(d, "reload failed, keeping the running configuration")
                self.assertIn(f"{msgs}/de.json: line 1, column 35: ", d.log())
                html = self.req("GET", "/status", headers=de_h, daemon=d).body.decode()
                self.assertIn("<h1>Klappt es?</h1>", html)
                # placeholders other than English's: refused too
                self.write(os.path.join(msgs, "de.json"),
                           '{"page.answer_title": "%d - Klappt es?"}')
                self.reload(d, "reload failed, keeping the running configuration")
                self.assertIn(f"{msgs}/de.json: page.answer_title: a % that is neither %s",
                              d.log())
                self.write(os.path.join(msgs, "de.json"),
                           '{"page.answer_title": "Klappt es?"}')
                self.reload(d, "reload failed, keeping the running configuration")
                self.assertIn("page.answer_title: 0 placeholders (%s), where English has 1",
                              d.log())
                # mended: the reload applies it
                self.write(os.path.join(msgs, "de.json"), '{"page.title": "Klappt es jetzt?"}')
                self.reload(d, "configuration reloaded")
                html = self.req("GET", "/status", headers=de_h, daemon=d).body.decode()
                self.assertIn("<h1>Klappt es jetzt?</h1>", html)
                # a file name that is no language tag
                self.write(os.path.join(msgs, "de_DE.json"), "{}")
                self.reload(d, "reload failed, keeping the running configuration")
                self.assertIn('"de_DE" is not a language tag', d.log())
            finally:
                d.stop()
            p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "-c", conf],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("is not a language tag", p.stderr)

    def test_many_keys_and_a_long_path(self):
        """Security review of 2026-12-08, findings 4 and 5: a catalogue with 1,100 keys English
        does not have overflowed their list on the stack ("stack smashing detected", exit 134
        from -n; a reload killed the daemon), and a directory's path of 717 bytes made the
        warning's line overflow its buffer. Both are warnings, the keys English has are taken,
        and a reload applies them."""
        with tempfile.TemporaryDirectory(prefix="strongmapd-messages-") as tmp:
            msgs = os.path.join(tmp, "d" * 200, "e" * 200, "f" * 200, "m" * 100)
            self.assertGreater(len(msgs), 717)
            os.makedirs(msgs)
            fr = {"page.title": "Mon certificat fonctionnera-t-il ?"}
            fr.update((f"zz.k{i:04}", "x") for i in range(1100))
            self.write(os.path.join(msgs, "fr.json"), json.dumps(fr))
            args = ["--allow-root", "--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                    "--page-rate", "0", "--page-messages", msgs]
            p = subprocess.run([T.ARGS.daemon, "-n"] + args, capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr[-2000:])
            warning = re.search(re.escape(msgs) + r"/fr\.json: 1100 keys English does not "
                                r"have, ignored: zz\.k\d{4}(, zz\.k\d{4})* and (\d+) more\n",
                                p.stderr)
            self.assertIsNotNone(warning, p.stderr[-2000:])
            self.assertIn(f"{msgs}/fr.json: {len(catalogue('en')) - 1} keys missing (English "
                          "is used): ", p.stderr)
            d = T.Daemon(extra_args=args[1:])
            try:
                fr_h = {"Accept-Language": "fr"}
                html = self.req("GET", "/status", headers=fr_h, daemon=d).body.decode()
                self.assertIn(f"<h1>{fr['page.title']}</h1>", html)
                fr["page.title"] = "Fonctionnera-t-il ?"
                self.write(os.path.join(msgs, "fr.json"), json.dumps(fr))
                self.reload(d, "configuration reloaded")
                self.assertIsNone(d.proc.poll(), d.log()[-2000:])
                html = self.req("GET", "/status", headers=fr_h, daemon=d).body.decode()
                self.assertIn("<h1>Fonctionnera-t-il ?</h1>", html)
            finally:
                d.stop()


# ---- [page] link: the organisation's links (docs/self-service.md, "Configuration")

LINKS = [("Company Portal", "https://portal.manage.microsoft.com/"),
         ("Re-enrol <your> VPN", "https://it.example.com/vpn?a=1&b='2'#top")]
LINKS_HTML = ('<ul class="links">\n'
              '<li><a href="https://portal.manage.microsoft.com/">Company Portal</a></li>\n'
              '<li><a href="https://it.example.com/vpn?a=1&amp;b=&#39;2&#39;#top">'
              'Re-enrol &lt;your&gt; VPN</a></li>\n</ul>\n')
HELP_START = '<!--help--><section id="help" class="help" aria-labelledby="help-heading">'


class P11Links(IdentityTestCase):
    """[page] link (repeatable, "TITLE | URL"): the organisation's links on the empty page (with
    its helpdesk, in a section of help), in every answer (the server's, JSON's), escaped, in
    each language; checked at start, by -n and at a reload, with the file and line."""

    @classmethod
    def setUpClass(cls):
        args = ["--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--page-rate", "0",
                "--page-lab-mode", "yes", "--page-organisation", "Example Corp",
                "--page-helpdesk", "help@example.com"]
        for title, url in LINKS:
            args += ["--page-link", f"  {title} |{url} "]  # blanks around either part dropped
        cls.daemon = T.Daemon(extra_args=args)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def test_empty_page(self):
        for lang, heading, links in (("en", "Need help?", "Useful links"),
                                     ("de", catalogue("de")["links.help"],
                                      catalogue("de")["links.heading"])):
            with self.subTest(lang=lang):
                html = self.ask("/status", headers=[("Accept-Language", lang)]).body.decode()
                self.assertIn(HELP_START + f'\n<h2 id="help-heading">{heading}</h2>\n', html)
                self.assertIn(f"<h3>{links}</h3>\n" + LINKS_HTML + "</section>\n<!--/help-->",
                              html)
                self.assertIn('<p class="contact">', html)
                self.assertNotIn("<your>", html)
                self.assertNotIn("target=", html)  # links open in the same tab
                self.assertNotRegex(html, r"<script>|<style|\sstyle=|\son[a-z]+=")
                # the help comes after the answer's place, before the file how-to
                self.assertLess(html.index('id="answer"'), html.index(HELP_START))
                self.assertLess(html.index(HELP_START), html.index("<details>"))

    def test_answers(self):
        want = [{"title": t, "url": u} for t, u in LINKS]
        a = self.req("POST", "/v1/self/check", body=cert("alice-no-sid.pem")).json()
        self.assertEqual(a["links"], want)
        self.assertEqual(self.ask("/v1/self?account=alice").json()["links"], want)
        # the server's answer: the links with the answer, and no second section of help
        body, h = multipart("certificate", "a.cer", cert("alice-no-sid.pem"))
        html = self.req("POST", "/status/check", body=body, headers=h).body.decode()
        self.assertIn("</p>\n<h3>Useful links</h3>\n" + LINKS_HTML + "<details>", html)
        self.assertNotIn("<!--help-->", html)
        html = self.ask("/status?account=alice").body.decode()
        self.assertIn("<h3>Useful links</h3>\n" + LINKS_HTML + "<details>", html)
        self.assertNotIn("<!--help-->", html)
        self.assertNotIn('id="help"', html)
        # lab mode's form alone: the page's help stays
        self.assertIn(HELP_START, self.ask("/status").body.decode())
        # a problem has no answer to carry them: the section of help
        body, h = multipart("certificate", "a.cer", b"not a certificate")
        r = self.req("POST", "/status/check", body=body, headers=h)
        self.assertEqual(r.status, 400)
        self.assertIn(HELP_START, r.body.decode())
        self.assertIn(LINKS_HTML, r.body.decode())

    def test_none(self):
        """Without any of them: no section, an empty list in the JSON."""
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif")])
        try:
            self.assertNotIn("<!--help-->", self.ask("/status", daemon=d).body.decode())
            a = self.req("POST", "/v1/self/check", body=cert("alice-sid.pem"), daemon=d).json()
            self.assertEqual(a["links"], [])
        finally:
            d.stop()
        # links alone: the section has them, and no helpdesk line
        d = T.Daemon(extra_args=["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                                 "--page-link", "IT | http://it.example"])
        try:
            html = self.ask("/status", daemon=d).body.decode()
            self.assertIn(HELP_START, html)
            self.assertIn('<li><a href="http://it.example">IT</a></li>', html)
            self.assertNotIn('class="contact"', html)
        finally:
            d.stop()

    def check_conf(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "strongmapd.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(text)
            p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "-c", conf],
                               capture_output=True, text=True, timeout=10)
            return p, conf

    def test_bad_links(self):
        """A link that is not TITLE | an absolute http(s) URL with a host and no credentials,
        or too long, or one too many: -n fails naming the file, line and key, and so does the
        daemon's start."""
        long_title = "T" * 121
        long_url = "https://a.example/" + "x" * 495
        for value, reason in (
                ("Portal https://portal.example/", "expected TITLE | URL"),
                (" | https://portal.example/", "the title is empty"),
                ("Portal | ", "the URL is empty"),
                ("Portal | javascript:alert(1)", "is not an absolute http:// or https:// URL"),
                ("Portal | data:text/html,x", "is not an absolute http:// or https:// URL"),
                ("Portal | /status", "is not an absolute http:// or https:// URL"),
                ("Portal | //portal.example/", "is not an absolute http:// or https:// URL"),
                ("Portal | ftp://portal.example/", "is not an absolute http:// or https:// URL"),
                ("Portal | https://", "the URL has no host"),
                ("Portal | https:///x", "the URL has no host"),
                ("Portal | https://bob@portal.example/", "a user name or password in the URL"),
                ("Portal | https://bob:pw@portal.example/", "a user name or password in the URL"),
                ("Portal | https://portal.example:0/", "only :PORT (1 to 65535)"),
                ("Portal | https://portal.example:65536/", "only :PORT (1 to 65535)"),
                ("Portal | https://portal.example:x/", "only :PORT (1 to 65535)"),
                ("Portal | https://portal_x.example/", "the host may hold letters, digits"),
                ("Portal | https://[zz::1]/", "is not an IPv6 address"),
                ("Portal | https://portal.example/a b", "byte 25 of the URL (a space)"),
                ('Portal | https://portal.example/"><script>', "RFC 3986 does not allow"),
                ("Portal | https://portal.example/%zz", "a % not followed by two hexadecimal"),
                ("Portal | https://portal.example/\u00e9", "(not ASCII)"),
                ("Portal | https://b\u00fccher.example/", "its punycode form"),
                ("Portal | https://portal.example/[x]", "RFC 3986 does not allow")):
            with self.subTest(value=value):
                p, conf = self.check_conf(f"[page]\norganisation = X\nlink = {value}\n")
                self.assertNotEqual(p.returncode, 0, value)
                self.assertIn(f"{conf}:3: link: ", p.stderr)
                self.assertIn(reason, p.stderr)
        # past the bounds (a line of the file holds 198 bytes: these on the command line)
        for value, reason in ((f"{long_title} | https://a.example/", "the title is longer than "
                               "120 bytes"), (f"Portal | {long_url}", "the URL is longer than "
                                              "512 bytes")):
            p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "--page-link", value],
                               capture_output=True, text=True, timeout=10)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(f"--page-link: {reason}", p.stderr)
        with tempfile.TemporaryDirectory() as tmp:  # a title that is not UTF-8
            conf = os.path.join(tmp, "strongmapd.conf")
            with open(conf, "wb") as f:
                f.write(b"[page]\nlink = Bad \xff title | https://a.example/\n")
            p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "-c", conf],
                               capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b":2: link: the title is not valid UTF-8", p.stderr)
        links = "".join(f"link = L{i} | https://a.example/{i}\n" for i in range(9))
        p, conf = self.check_conf("[page]\n" + links)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"{conf}:10: link: given more than 8 times", p.stderr)
        # the longest that are allowed, and IPv6 and IPv4 hosts, ports, queries, fragments
        good = [f"{'T' * 120} | https://a.example/" + "x" * 494,
                "v6 | https://[2001:db8::1]:8443/p?q=1#f", "v4 | http://192.0.2.1/",
                "Pipes | in | the title | HTTPS://IT.example/~me/(x);y=1,2*3+$!"]
        p, conf = self.check_conf("[page]\n" + "".join(f"link = {g}\n" for g in good[1:]))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([T.ARGS.daemon, "--allow-root", "-n", "--page-link", good[0]],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        # -p prints them as given
        p = subprocess.run([T.ARGS.daemon, "--allow-root", "-p", "--page-link", good[1],
                            "--page-link", good[2]], capture_output=True, text=True, timeout=10)
        self.assertIn(f"link = {good[1]}\nlink = {good[2]}\n", p.stdout)
        # a daemon does not start with one
        p = subprocess.run([T.ARGS.daemon, "--allow-root", "--listen", "127.0.0.1:0",
                            "--page-link", "x | javascript:1"], capture_output=True, text=True,
                           timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--page-link: ", p.stderr)

    def test_reload(self):
        """A reload applies the links (the page, its ETag, the answers); one it cannot take is
        refused and the running ones kept."""
        ldif = os.path.join(EXAMPLES, "demo.ldif")
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "strongmapd.conf")

            def write(page):
                with open(conf, "w", encoding="utf-8") as f:
                    f.write(f"[directory]\nldif = {ldif}\n[page]\nrate = 0\n{page}")

            write("link = Portal | https://portal.example/\n")
            d = T.Daemon(extra_args=["-c", conf])

            def reload(expect):
                n = d.log().count(expect)
                d.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while d.log().count(expect) <= n:
                    self.assertLess(time.monotonic(), deadline, f"{expect!r}:\n{d.log()}")
                    time.sleep(0.02)
            try:
                r = self.ask("/status", daemon=d)
                self.assertIn('<a href="https://portal.example/">Portal</a>', r.body.decode())
                write("link = Portal | https://portal.example/\n"
                      "link = VPN | https://vpn.example/enrol\n")
                reload("configuration reloaded")
                r2 = self.ask("/status", daemon=d)
                self.assertIn('<a href="https://vpn.example/enrol">VPN</a>', r2.body.decode())
                self.assertNotEqual(r.headers["etag"], r2.headers["etag"])
                self.assertEqual(self.ask("/status", daemon=d, headers=[
                    ("If-None-Match", r.headers["etag"])]).status, 200)
                a = self.req("POST", "/v1/self/check", body=cert("alice-sid.pem"), daemon=d).json()
                self.assertEqual([k["title"] for k in a["links"]], ["Portal", "VPN"])
                write("link = VPN | https://user:pw@vpn.example/\n")
                reload("reload failed, keeping the running configuration")
                self.assertIn(f"{conf}:5: link: a user name or password in the URL", d.log())
                r3 = self.ask("/status", daemon=d)
                self.assertEqual(r3.headers["etag"], r2.headers["etag"])
                write("")  # none: back to the shipped page
                reload("configuration reloaded")
                self.assertNotIn("<!--help-->", self.ask("/status", daemon=d).body.decode())
            finally:
                d.stop()

    def test_budget(self):
        """The page with the most and the longest links, of the characters escaping makes
        longest, stays within its 50 KB in each shipped language."""
        url = "https://a.example/" + "'" * 494
        args = ["--ldif", os.path.join(EXAMPLES, "demo.ldif"),
                "--page-organisation", '"' * 255, "--page-helpdesk", '"' * 255]
        for i in range(8):
            args += ["--page-link", '"' * 119 + str(i) + " | " + url]
        d = T.Daemon(extra_args=args)
        try:
            files = sum(len(self.ask("/static/" + n, daemon=d).body)
                        for n in ("status.css", "status.js"))
            for lang in ("en", "de"):
                with self.subTest(lang=lang):
                    page = self.ask("/status", daemon=d, headers=[("Accept-Language", lang)])
                    self.assertEqual(page.body.decode().count("<li><a href="), 8)
                    self.assertLessEqual(len(page.body) + files, 50 * 1024)
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
