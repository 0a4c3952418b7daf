#!/usr/bin/env python3
"""HTTP tests of POST /v1/hooks/freeradius, FreeRADIUS rlm_rest's call (body = json).

strongmapd runs with the test directory (tests/data/dir/verdict.ldif.in, filled in by
test_api.py's helpers). The calls carry the attributes FreeRADIUS 3.2 sends from the
check-eap-tls virtual server, in rlm_rest's form ({"Attr": {"type": ..., "value": [...]}}), as
tests/gateway/test_freeradius.py sees them from a real FreeRADIUS. Every answer is checked
against openapi/strongmapd.yaml (its status, content type and schema).

    test_freeradius.py --daemon build/daemon/strongmapd --data tests/data [unittest options]
"""

import argparse
import base64
import http.client
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_api as T  # noqa: E402  (the daemon harness, the OpenAPI checks, the fixtures)

PATH = "/v1/hooks/freeradius"
SKI = "4F:2A:9C:11:00:7E:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45"
MESSAGE = "reply:Reply-Message"


def attrs(user="alice", upn="alice@example.com", eku=("1.3.6.1.5.5.7.3.2",), ski=SKI,
          serial="05aed216d6306b3c", issuer="/CN=Test Root CA", **more):
    """The attributes check-eap-tls passes for a client certificate, in rlm_rest's JSON."""
    a = {
        "User-Name": {"type": "string", "value": [user]},
        "EAP-Type": {"type": "integer", "value": ["TLS"]},
        "TLS-Client-Cert-Serial": {"type": "string", "value": [serial]},
        "TLS-Client-Cert-Expiration": {"type": "string", "value": ["270106183000Z"]},
        "TLS-Client-Cert-Valid-Since": {"type": "string", "value": ["261207183000Z"]},
        "TLS-Client-Cert-Subject": {"type": "string", "value": ["/CN=" + user]},
        "TLS-Client-Cert-Issuer": {"type": "string", "value": [issuer]},
        "TLS-Client-Cert-Common-Name": {"type": "string", "value": [user]},
    }
    if upn:
        a["TLS-Client-Cert-Subject-Alt-Name-Upn"] = {"type": "string", "value": [upn]}
    if eku:
        a["TLS-Client-Cert-X509v3-Extended-Key-Usage-OID"] = {"type": "string",
                                                              "value": list(eku)}
    if ski:
        a["TLS-Client-Cert-X509v3-Subject-Key-Identifier"] = {"type": "string", "value": [ski]}
    a.update(more)
    return a


class FreeradiusTestCase(T.ApiTestCase):
    def call(self, body, daemon=None, token=None, method="POST", raw=None, basic=None):
        d = daemon or self.d
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        if basic:  # rlm_rest's auth = 'basic', username, password
            h["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
        conn = http.client.HTTPConnection(d.host, d.port, timeout=30)
        try:
            conn.request(method, PATH, body=raw if raw is not None else json.dumps(body),
                         headers=h)
            r = conn.getresponse()
            resp = T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()
        self.check_spec(method, resp)
        return resp

    def check_spec(self, method, resp):
        """The status and content type are documented, the body matches its schema."""
        spec = T.SPEC.response(PATH, method, resp.status)
        self.assertIsNotNone(spec, f"{method} {PATH} -> {resp.status} is not documented")
        self.assertRegex(resp.headers.get("x-request-id", ""), T.REQUEST_ID)
        self.assertEqual(resp.headers.get("cache-control"), "no-store")
        if resp.status == 204:
            self.assertEqual(resp.body, b"")
            return
        ctype = resp.headers.get("content-type", "")
        self.assertIn(ctype, spec.get("content", {}), f"{resp.status}: {ctype} not documented")
        try:
            T.SPEC.validate(spec["content"][ctype]["schema"], resp.json())
        except T.jsonschema.ValidationError as e:
            self.fail(f"{method} {PATH} -> {resp.status}: {e.message} at "
                      f"{list(e.absolute_path)}")

    def assertReply(self, resp, status, outcome, code):
        self.assertEqual(resp.status, status, resp.body[:400])
        self.assertEqual(resp.headers.get("content-type"), "application/json")
        if status == 401:  # a challenge on every 401 (RFC 9110), which rlm_rest ignores
            self.assertEqual(resp.headers.get("www-authenticate"), 'Bearer realm="strongmapd"')
        msg = resp.json()[MESSAGE]
        self.assertTrue(msg.startswith(f"strongmapd: {outcome} {code}: "), msg)
        self.assertLessEqual(len(msg), 247)
        return msg


def start(*extra, ldif=None):
    return T.Daemon(extra_args=["--ldif", ldif or T.LDIF] + list(extra))


def stop(tc, d):
    rc, _ = d.stop()
    tc.assertEqual(rc, 0, d.log())
    T.check_log_hygiene(d.log())


class F1Verdicts(FreeradiusTestCase):
    """One daemon with the defaults: fail closed, windows-2022, no tokens."""

    @classmethod
    def setUpClass(cls):
        cls.d = start()

    @classmethod
    def tearDownClass(cls):
        rc, _ = cls.d.stop()
        T.check_log_hygiene(cls.d.log())
        if rc != 0:
            raise AssertionError(cls.d.log())

    def test_sid_not_visible_fails_closed(self):
        """alice maps strongly only by her SID, which rlm_rest cannot pass: 401, and why."""
        msg = self.assertReply(self.call(attrs()), 401, "unknown", "sid_not_visible")
        self.assertIn("does not pass the SID", msg)
        self.assertIn("strongmap gate", msg)

    def test_issuer_serial_mapping(self):
        """erin's X509IssuerSerialNumber names this issuer and serial (the <SR> reversed)."""
        issuer = "/DC=com/DC=example/CN=Example Issuing CA"
        r = self.call(attrs("erin", "erin@example.com", serial="1a2b3c4d5e6f0001",
                            issuer=issuer))
        self.assertEqual(r.status, 204, r.body)
        # another serial, another issuer: no mapping; the SID alone would decide
        for serial, iss in (("1a2b3c4d5e6f0002", issuer), ("1a2b3c4d5e6f0001", "/CN=Other CA")):
            with self.subTest(serial=serial, issuer=iss):
                msg = self.assertReply(self.call(attrs("erin", "erin@example.com",
                                                       serial=serial, issuer=iss)),
                                       401, "unknown", "sid_not_visible")
                self.assertNotIn("<I><SR>", msg)
        # henry's value is written in lower case: the KDC compares ignoring case
        r = self.call(attrs("henry", "henry@example.com", serial="1a2b3c4d5e6f0010",
                            issuer=issuer))
        self.assertEqual(r.status, 204, r.body)

    def test_issuer_not_rebuilt(self):
        """An issuer whose one-line form loses what <I> needs: said, and never a match."""
        for issuer in ("/DC=com/DC=example/CN=Example, Issuing CA", "/CN=a+b",
                       "/DC=com/DC=example/CN=Example Issuing CA/UID=x", "CN=x", "/CN=",
                       "/DC=com/DC=example/CN=Example\\C3\\A9 CA"):
            with self.subTest(issuer=issuer):
                msg = self.assertReply(self.call(attrs("erin", "erin@example.com",
                                                       serial="1a2b3c4d5e6f0001",
                                                       issuer=issuer)),
                                       401, "unknown", "sid_not_visible")
                self.assertIn("<I><SR>", msg)
                self.assertIn("strongmap gate", msg)

    def test_deny_disabled(self):
        """bob is disabled: no SID would help, a deny with its reason."""
        msg = self.assertReply(self.call(attrs("bob", "bob@example.com")), 401, "deny",
                               "account_disabled")
        self.assertIn("disabled", msg)

    def test_deny_eku(self):
        """A server-only EKU: the DC refuses it whatever the SID (event 77's check)."""
        self.assertReply(self.call(attrs(eku=("1.3.6.1.5.5.7.3.1",))), 401, "deny",
                         "eku_not_logon")

    def test_account_not_found(self):
        self.assertReply(self.call(attrs("nobody", "nobody@example.com")), 401, "deny",
                         "account_not_found")

    def test_account_from_user_name(self):
        """No UPN in the certificate: the User-Name names the account, and no SID would make
        the DC map such a certificate to it (it needs a UPN): a deny, not an unknown."""
        self.assertReply(self.call(attrs("alice", None)), 401, "deny", "name_mismatch")

    def test_bad_input(self):
        """Malformed calls: a 4xx problem+json, never a verdict."""
        big = {f"Attr-{i}": {"type": "string", "value": ["x"]} for i in range(257)}
        big.update(attrs())
        cases = [
            ("not json", None, b"{", 400, "bad-json"),
            ("array", [], None, 400, "bad-request"),
            ("value not a list", {"TLS-Client-Cert-Serial": {"type": "string", "value": "01"}},
             None, 400, "bad-request"),
            ("not an object", {"TLS-Client-Cert-Serial": "01"}, None, 400, "bad-request"),
            ("object value", attrs(**{"Foo": {"value": [{"a": 1}]}}), None, 400,
             "bad-request"),
            ("too many values", attrs(**{"Foo": {"value": ["x"] * 33}}), None, 400,
             "bad-request"),
            ("long value", attrs(**{"Foo": {"value": ["x" * 4097]}}), None, 400, "bad-request"),
            ("too many attributes", big, None, 400, "bad-request"),
            ("no certificate attributes", {"User-Name": {"type": "string", "value": ["a"]}},
             None, 400, "missing-field"),
            ("bad EKU OID", attrs(eku=("1.3.6.x",)), None, 400, "bad-request"),
            ("EKU arc 3", attrs(eku=("3.1",)), None, 400, "bad-request"),
            ("numeric UPN", attrs(**{"TLS-Client-Cert-Subject-Alt-Name-Upn": {"value": [5]}}),
             None, 400, "bad-request"),
            ("duplicate keys", None, b'{"User-Name": {"value": ["a"]}, "User-Name": '
             b'{"value": ["b"]}}', 400, "bad-json"),
        ]
        for name, body, raw, status, code in cases:
            with self.subTest(case=name):
                r = self.call(body, raw=raw)
                self.assertProblem(r, status, code)
        self.assertProblem(self.call(None, method="GET"), 405, "method-not-allowed")
        self.assertHealthy()

    def assertHealthy(self):
        r = self.request("GET", "/healthz", daemon=self.d)
        self.assertEqual(r.status, 200)


class F2Policies(FreeradiusTestCase):
    """The settings: fail open, a compatibility-mode fleet, tokens, an SKI mapping."""

    def test_fail_open(self):
        d = start("--authz-directory-down", "fail_open")
        try:
            self.assertReply(self.call(attrs(), daemon=d), 200, "unknown", "sid_not_visible")
            self.assertReply(self.call(attrs("bob", "bob@example.com"), daemon=d), 401, "deny",
                             "account_disabled")
        finally:
            stop(self, d)

    def test_compatibility_mode_allows(self):
        """Under compatibility mode the UPN maps (weakly) without the SID: allow, 204."""
        d = start("--profile", "windows-2022,mode=1")
        try:
            r = self.call(attrs(), daemon=d)
            self.assertEqual(r.status, 204, r.body)
        finally:
            stop(self, d)

    def test_ski_mapping_allows(self):
        """An X509SKI mapping of the SKI FreeRADIUS passes is a strong explicit mapping."""
        with open(T.LDIF, encoding="utf-8") as f:
            text = f.read()
        hexski = SKI.replace(":", "")
        text = text.replace("userPrincipalName: carol@example.com\n",
                            "userPrincipalName: carol@example.com\n"
                            f"altSecurityIdentities: X509:<SKI>{hexski.lower()}\n"
                            "altSecurityIdentities: X509:<I>CN=Sign CA<SR>0100AB00\n", 1)
        self.assertIn(hexski.lower(), text)
        path = os.path.join(T.TMPDIR.name, "ski.ldif")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        log = os.path.join(T.TMPDIR.name, "decisions.log")
        d = start("--decision-log", log, ldif=path)
        try:
            r = self.call(attrs("carol", "carol@example.com"), daemon=d)
            self.assertEqual(r.status, 204, r.body)
            # the verdict of the facts alone denies: it must not be logged as the decision
            with open(log, encoding="utf-8") as f:
                self.assertNotIn('"outcome":"deny"', f.read())
            other = SKI[:-2] + "46"
            self.assertReply(self.call(attrs("carol", "carol@example.com", ski=other),
                                       daemon=d), 401, "unknown", "sid_not_visible")
            # a serial whose top bit is set had a 00 sign byte, which <SR> ends with
            # (the DER content with its sign byte, 00ab0001, is the same serial)
            for serial, status in (("ab0001", 204), ("AB0001", 204), ("00ab0001", 204),
                                   ("2b0001", 401), ("ab01", 401)):
                with self.subTest(serial=serial):
                    r = self.call(attrs("carol", "carol@example.com", ski=other, serial=serial,
                                        issuer="/CN=Sign CA"), daemon=d)
                    self.assertEqual(r.status, status, r.body)
        finally:
            stop(self, d)

    def test_token(self):
        """scope.authz governs the hook; rlm_rest sends the token as a header."""
        secret = "rlm-rest-" + "x" * 24
        d = start("--token", f"radius:{T.token_hash(secret)}:check",
                  "--token", f"helpdesk:{T.token_hash(T.SECRET_ACCOUNT)}:account")
        try:
            r = self.call(attrs(), daemon=d)
            self.assertProblem(r, 401, "unauthorized")
            self.assertProblem(self.call(attrs(), daemon=d, token=T.SECRET_ACCOUNT), 403,
                               "insufficient-scope")
            r = self.call(attrs(), daemon=d, token=secret)
            msg = self.assertReply(r, 401, "unknown", "sid_not_visible")
            # HTTP Basic with the token as password: what rlm_rest's auth = 'basic' sends
            r = self.call(attrs(), daemon=d, basic="freeradius:" + secret)
            self.assertReply(r, 401, "unknown", "sid_not_visible")
            self.assertProblem(self.call(attrs(), daemon=d, basic="freeradius:" + secret[:-1]),
                               401, "unauthorized")
            # without the account scope, a deny names no account data, only codes
            r = self.call(attrs("bob", "bob@example.com"), daemon=d, token=secret)
            msg = self.assertReply(r, 401, "deny", "account_disabled")
            self.assertNotIn("cn=bob", msg.lower())
            self.assertIn("KDC_ERR", msg)
        finally:
            stop(self, d)

    def test_directory_down(self):
        """No directory server answers: 503 when failing closed, 200 unknown when open."""
        for policy in ("fail_closed", "fail_open"):
            with self.subTest(policy=policy):
                d = T.Daemon(extra_args=T.DOWN_LDAP + ["--authz-directory-down", policy])
                try:
                    r = self.call(attrs(), daemon=d)
                    if policy == "fail_closed":
                        self.assertProblem(r, 503, "directory-unavailable")
                    else:
                        self.assertReply(r, 200, "unknown", "directory_unavailable")
                    # bad input stays 400, the directory down or not
                    self.assertProblem(self.call(None, raw=b"[", daemon=d), 400, "bad-json")
                finally:
                    stop(self, d)


def setUpModule():
    T.SPEC = T.Spec()
    T.TMPDIR = tempfile.TemporaryDirectory(prefix="strongmapd-freeradius-")
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
