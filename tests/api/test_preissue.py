#!/usr/bin/env python3
"""HTTP tests of the issuance surfaces (issue 11): POST /v1/preissue and step-ca's webhooks.

Uses the harness of test_api.py (the daemon, the OpenAPI check of every response) with the
certificate requests of tests/data/csr (gen.sh there) and the directory of
tests/data/dir/verdict.ldif.in. The step-ca contract is tested with a client that signs its
bodies as step-ca does (hex HMAC-SHA256 of the raw body keyed with the base64-decoded secret,
X-Smallstep-Webhook-ID) and sends bodies shaped like step-ca's webhook/types.go; the loop a
portal runs (request -> plan -> `openssl ca` -> verdict) is run with a real `openssl ca`.

    test_preissue.py --daemon build/daemon/strongmapd --data tests/data [unittest options]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_api as ta  # noqa: E402  (the harness: Daemon, ApiTestCase, the OpenAPI checks)

ALICE_SID = "S-1-5-21-1004336348-1177238915-682003330-1105"
MALLORY_SID = "S-1-5-21-1004336348-1177238915-682003330-1300"
SID_URI = "tag:microsoft.com,2022-09-14:sid:"
WINDOWS = ("windows-2016", "windows-2019", "windows-2022", "windows-2025")
HOOK_ID = "0d9f4b1e-5c2a-4f7e-9a3b-1c2d3e4f5a6b"
HOOK_SECRET = base64.b64encode(hashlib.sha512(b"strongmapd test webhook").digest()).decode()
OTHER_SECRET = base64.b64encode(hashlib.sha512(b"another webhook").digest()).decode()
SECRET_CHECK = "SECRET-MARKER-check-preissue-0123"
SECRET_ISSUE = "SECRET-MARKER-issue-preissue-0123"

DAEMON = None  # with the directory and the webhooks
TOKENS = None  # the same with bearer tokens
TMP = None


def csr_path(name):
    return os.path.join(ta.ARGS.data, "csr", name)


def csr(name):
    with open(csr_path(name), "rb") as f:
        return f.read()


def pem_body_b64(data):
    """The base64 of the DER inside a PEM text (bytes)."""
    m = re.search(rb"-----BEGIN [A-Z ]+-----(.*?)-----END", data, re.S)
    return "".join(m.group(1).decode().split())


def setUpModule():
    global DAEMON, TOKENS, TMP
    ta.SPEC = ta.Spec()
    TMP = tempfile.TemporaryDirectory(prefix="strongmapd-preissue-")
    ldif = ta.make_ldif(TMP.name)
    hooks = os.path.join(TMP.name, "webhooks")
    with open(hooks, "w", encoding="ascii") as f:
        f.write(f"# step-ca webhooks\n\n{HOOK_ID} {HOOK_SECRET}\nother-hook {OTHER_SECRET}\n")
    os.chmod(hooks, 0o600)
    fleet = []
    for p in WINDOWS:
        fleet += ["--profile", p]
    DAEMON = ta.Daemon(extra_args=["--ldif", ldif, "--stepca-webhooks", hooks] + fleet)
    TOKENS = ta.Daemon(extra_args=[
        "--ldif", ldif, "--stepca-webhooks", hooks,
        "--token", f"ca:{hashlib.sha256(SECRET_ISSUE.encode()).hexdigest()}:issue",
        "--token", f"portal:{hashlib.sha256(SECRET_CHECK.encode()).hexdigest()}:check"])


def tearDownModule():
    for d in (DAEMON, TOKENS):
        if d:
            rc, _ = d.stop()
            ta.check_log_hygiene(d.log())
            if rc != 0:
                raise AssertionError(f"daemon exited with {rc}:\n{d.log()}")
    TMP.cleanup()


class Case(ta.ApiTestCase):
    def check(self, method, path, resp):
        if resp.status == 401 and path.startswith("/v1/hooks/"):
            # the webhooks' challenge is their signature, not a bearer token
            self.assertEqual(resp.headers.get("www-authenticate"),
                             'X-Smallstep-Signature realm="strongmapd"')
            resp.headers["www-authenticate"] = "Bearer realm=(checked above)"
        super().check(method, path, resp)

    def preissue(self, body, query="", ctype="application/x-pem-file", daemon=None, token=None):
        path = "/v1/preissue" + ("?" + query if query else "")
        headers = {"Content-Type": ctype} if ctype else {}
        return self.request("POST", path, body=body, headers=headers, daemon=daemon or DAEMON,
                            token=token)

    def plan(self, name, account, status=200, query=""):
        r = self.preissue(csr(name), "account=" + urllib.parse.quote(account) + query)
        self.assertEqual(r.status, status, r.body[:400])
        return r.json()


# ---- POST /v1/preissue ------------------------------------------------------------------------


class T1Preissue(Case):
    def codes(self, doc, severity="error"):
        return {f["code"] for f in doc["findings"] if f["severity"] == severity}

    def test_good_request(self):
        doc = self.plan("rsa_upn.pem", "alice")
        self.assertFalse(doc["refuse"])
        self.assertTrue(doc["signature"]["verified"])
        self.assertEqual(doc["account"]["sid"], ALICE_SID)
        self.assertEqual(doc["material"]["sid"], ALICE_SID)
        self.assertEqual(doc["material"]["san_uri"], SID_URI + ALICE_SID)
        self.assertEqual(doc["outcome_as_issued"], "allow")
        # the fleet (windows-2025 is evaluated as the windows-2022 DC it behaves as)
        self.assertEqual([p["profile"] for p in doc["profiles"]],
                         ["windows-2016", "windows-2019", "windows-2022", "windows-2022"])
        # the DER of the SID extension is MS-WCCE's structure with the account's SID
        der = base64.b64decode(doc["material"]["sid_extension_der_base64"])
        self.assertEqual(der.hex().upper(), doc["material"]["sid_extension_der_hex"])
        self.assertTrue(der.endswith(ALICE_SID.encode()))

    def test_every_encoding(self):
        want = self.plan("rsa_upn.pem", "alice")
        for name in ("rsa_upn.der", "rsa_upn.b64", "rsa_upn_new.pem"):
            with self.subTest(name=name):
                doc = self.plan(name, "alice")
                self.assertEqual(doc["material"], want["material"])
                self.assertEqual(doc["request"]["spki_sha1"], want["request"]["spki_sha1"])
        r = self.preissue(csr("rsa_upn.der"), "account=alice", ctype="application/pkcs10")
        self.assertEqual(r.status, 200)

    def test_each_fixture(self):
        # (file, account, refuse, an error finding expected)
        cases = (("ec_upn_sid.pem", "alice", False, None),
                 ("sid_other.pem", "alice", True, "sid_other_account"),
                 ("sid_uri_other.pem", "alice", True, "sid_other_account"),
                 ("upn_other.pem", "alice", True, "upn_other_account"),
                 ("sid_malformed.pem", "alice", True, "sid_extension_malformed"),
                 ("disabled_bob.pem", "bob", True, "account_disabled"),
                 ("computer.pem", "ws01$", False, None),
                 ("dns_other.pem", "alice", True, "dns_other_account"),
                 ("all_san.pem", "alice", False, None),
                 ("no_ext.pem", "alice", False, None),
                 ("rsa_upn.pem", "nobody-here", True, "account_not_found"))
        for name, account, refuse, code in cases:
            with self.subTest(name=name):
                doc = self.plan(name, account)
                self.assertEqual(doc["refuse"], refuse, doc["findings"])
                if code:
                    self.assertIn(code, self.codes(doc))
                else:
                    self.assertEqual(self.codes(doc), set())
                    self.assertEqual(doc["outcome_as_issued"], "allow")

    def test_sid_of_another_account_is_named(self):
        doc = self.plan("sid_other.pem", "alice")
        msg = [f["message"] for f in doc["findings"] if f["code"] == "sid_other_account"][0]
        self.assertIn(MALLORY_SID, msg)
        self.assertIn({"action": "remove", "what": "sid_extension", "value": MALLORY_SID},
                      [{k: c[k] for k in ("action", "what", "value")} for c in doc["changes"]])

    def test_ed25519_verified(self):
        doc = self.plan("ed25519.pem", "alice")
        self.assertTrue(doc["signature"]["verified"])
        self.assertIsNone(doc["signature"]["note"])

    def test_key_not_read_not_verified(self):
        """An id-RSASSA-PSS key, which neither mbedTLS 2.28 nor Nettle reads."""
        doc = self.plan("algs/rsa_pss_key.pem", "alice")
        self.assertFalse(doc["signature"]["verified"])
        self.assertIn("unsupported algorithm", doc["signature"]["note"])

    def test_json_form(self):
        with open(os.path.join(ta.ARGS.data, "certs", "issuing_ca.pem"), encoding="ascii") as f:
            issuer = f.read()
        body = {"csr": csr("rsa_upn.pem").decode(), "account": "alice",
                "profile": ["windows-2016", "windows-2022"], "issuer": issuer,
                "validity_days": 30, "at": "2026-06-01T00:00:00Z"}
        r = self.preissue(json.dumps(body), ctype="application/json")
        self.assertEqual(r.status, 200, r.body[:300])
        doc = r.json()
        self.assertEqual([p["profile"] for p in doc["profiles"]], ["windows-2016", "windows-2022"])
        self.assertEqual(doc["issued"]["not_before"], "2026-06-01T00:00:00Z")
        self.assertEqual(doc["issued"]["not_after"], "2026-07-01T00:00:00Z")
        self.assertTrue(doc["issued"]["issuer"].startswith("CN=Example Issuing CA"))
        # base64 DER in the JSON form too
        body = {"csr": pem_body_b64(csr("rsa_upn.pem")), "account": "alice"}
        r = self.preissue(json.dumps(body), ctype="application/json")
        self.assertEqual(r.status, 200, r.body[:300])

    def test_same_plan_as_the_cli(self):
        if not ta.ARGS.cli:
            self.skipTest("no --cli")
        p = subprocess.run([ta.ARGS.cli, "preissue", "--csr", csr_path("sid_other.pem"),
                            "--account", "alice", "--ldif", ta.make_ldif(TMP.name),
                            "--at", "2026-06-01T00:00:00Z", "--profile", "windows-2022"],
                           capture_output=True, timeout=60)
        cli = json.loads(p.stdout)
        api = self.plan("sid_other.pem", "alice", query="&profile=windows-2022&at=2026-06-01T00:00:00Z")
        self.assertEqual(api, cli)


EKU_CLIENT_AUTH = base64.b64encode(bytes.fromhex("300a06082b06010505070302")).decode()


def sid_extension_b64(sid):
    """The SID extension's DER (MS-WCCE 2.2.2.7.7.4) for @sid, as openssl writes it."""
    text = sid.encode()
    inner = b"\x04" + bytes([len(text)]) + text                      # OCTET STRING
    inner = b"\xa0" + bytes([len(inner)]) + inner                    # [0] EXPLICIT
    oid = bytes.fromhex("060a2b060104018237190201")                  # 1.3.6.1.4.1.311.25.2.1
    other = b"\xa0" + bytes([len(oid + inner)]) + oid + inner        # otherName [0]
    return base64.b64encode(b"\x30" + bytes([len(other)]) + other).decode()


class T1PreissuePlanned(Case):
    """Planned facts in place of a request: read as the request that asks for them."""

    def planned(self, status=200, **facts):
        body = dict({"account": "alice", "at": "2026-06-01T00:00:00Z"}, **facts)
        r = self.preissue(json.dumps(body), ctype="application/json")
        self.assertEqual(r.status, status, r.body[:400])
        return r.json()

    def test_same_plan_as_the_request(self):
        """rsa_upn.pem's facts (subject, UPN, clientAuth) planned: the same plan but for the
        key and the signature."""
        doc = self.planned(subject="CN=Alice,OU=Users,DC=example,DC=com",
                           san={"upn": ["alice@example.com"]},
                           extensions=[{"oid": "2.5.29.37", "critical": False,
                                        "value": EKU_CLIENT_AUTH}])
        body = {"csr": csr("rsa_upn.pem").decode(), "account": "alice",
                "at": "2026-06-01T00:00:00Z"}
        r = self.preissue(json.dumps(body), ctype="application/json")
        ref = r.json()
        self.assertFalse(doc["signature"]["verified"])
        self.assertIn("planned", doc["signature"]["note"])
        for key in ("refuse", "outcome_as_requested", "outcome_as_issued", "material", "changes",
                    "account"):
            self.assertEqual(doc[key], ref[key], key)
        self.assertEqual(doc["request"]["subject"], ref["request"]["subject"])
        self.assertEqual(doc["request"]["san"], ref["request"]["san"])
        self.assertEqual([(p["profile"], p["as_requested"]["outcome"], p["as_issued"]["outcome"])
                          for p in doc["profiles"]],
                         [(p["profile"], p["as_requested"]["outcome"], p["as_issued"]["outcome"])
                          for p in ref["profiles"]])
        self.assertEqual(doc["outcome_as_issued"], "allow")

    def test_sid_planned_in(self):
        """The SID extension and URL the plan gives, planned in: allowed as requested."""
        doc = self.planned(san={"upn": ["alice@example.com"], "uri": [SID_URI + ALICE_SID]},
                           extensions=[{"oid": "1.3.6.1.4.1.311.25.2",
                                        "value": sid_extension_b64(ALICE_SID)}])
        self.assertFalse(doc["refuse"])
        self.assertEqual(doc["outcome_as_requested"], "allow")
        self.assertEqual(doc["material"]["sid_extension_der_base64"],
                         sid_extension_b64(ALICE_SID))
        self.assertEqual(doc["request"]["subject"], "")

    def test_another_accounts_sid_refused(self):
        doc = self.planned(subject="CN=Alice", extensions=[
            {"oid": "1.3.6.1.4.1.311.25.2", "value": sid_extension_b64(MALLORY_SID)}])
        self.assertTrue(doc["refuse"])
        self.assertIn("sid_other_account", {f["code"] for f in doc["findings"]})

    def test_malformed(self):
        cases = (
            ({"subject": 5}, "subject"),
            ({"subject": "CN"}, "subject"),
            ({"subject": "CN=a+OU=b"}, "subject"),
            ({"subject": "XX=alice"}, "subject"),
            ({"san": ["alice@example.com"]}, "san"),
            ({"san": {"ip": ["192.0.2.1"]}}, "san"),
            ({"san": {"upn": "alice@example.com"}}, "san"),
            ({"san": {"upn": [""]}}, "san"),
            ({"san": {"dns": ["x" * 3000]}}, "san"),
            ({"san": {"dns": ["a"] * 300}}, "san"),
            ({"extensions": {"oid": "2.5.29.37"}}, "extensions"),
            ({"extensions": [{"oid": "2.5.29.37"}]}, "extensions"),
            ({"extensions": [{"oid": "two.five", "value": EKU_CLIENT_AUTH}]}, "extensions"),
            ({"extensions": [{"oid": "2.5.29.37", "value": "not base64!"}]}, "extensions"),
            ({"extensions": [{"oid": "2.5.29.37", "value": EKU_CLIENT_AUTH, "x": 1}]},
             "extensions"),
            ({"extensions": [{"oid": "2.5.29.37", "critical": "yes", "value": EKU_CLIENT_AUTH}]},
             "extensions"),
            ({"san": {"upn": ["a@b"]}, "extensions": [{"oid": "2.5.29.17",
                                                       "value": EKU_CLIENT_AUTH}]}, "twice"),
            ({"extensions": [{"oid": "2.5.29.37", "value": EKU_CLIENT_AUTH}] * 65}, "extensions"),
        )
        for facts, mention in cases:
            with self.subTest(facts=str(facts)[:80]):
                doc = self.planned(400, **facts)
                self.assertEqual(doc["type"], "/problems/bad-request")
                self.assertIn(mention, doc["detail"])


class T2PreissueBad(Case):
    def test_bad_signature(self):
        r = self.preissue(csr("bad_signature.pem"), "account=alice")
        self.assertProblem(r, 400, "csr-signature")

    def test_too_many_san(self):
        r = self.preissue(csr("many_san.pem"), "account=alice")
        self.assertProblem(r, 400, "bad-csr")

    def test_garbage(self):
        for body in (b"garbage", b"\x30\x82\xff\xff" + os.urandom(300), b"\x00" * 64,
                     b"-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"):
            with self.subTest(body=body[:20]):
                self.assertProblem(self.preissue(body, "account=alice"), 400, "bad-csr")

    def test_a_certificate_is_not_a_request(self):
        r = self.preissue(ta.fixture("sid_ext.pem"), "account=alice")
        self.assertProblem(r, 400, "bad-csr")

    def test_truncated(self):
        der = csr("rsa_upn.der")
        pem = csr("rsa_upn.pem")
        for n in list(range(1, len(der), 37)) + [len(der) - 1]:
            with self.subTest(n=n):
                r = self.preissue(der[:n], "account=alice", ctype="application/pkcs10")
                self.assertIn(r.status, (400,), r.body[:200])
        for n in range(10, len(pem) - 30, 97):
            with self.subTest(pem=n):
                self.assertEqual(self.preissue(pem[:n], "account=alice").status, 400)

    def test_flipped_bytes_never_5xx(self):
        der = bytearray(csr("rsa_upn.der"))
        for i in range(0, len(der), 11):
            b = bytearray(der)
            b[i] ^= 0x41
            with self.subTest(i=i):
                r = self.preissue(bytes(b), "account=alice", ctype="application/pkcs10")
                self.assertIn(r.status, (200, 400), r.body[:200])

    def test_missing_account(self):
        self.assertProblem(self.preissue(csr("rsa_upn.pem")), 400, "missing-field")
        r = self.preissue(json.dumps({"csr": csr("rsa_upn.pem").decode()}), ctype="application/json")
        self.assertProblem(r, 400, "missing-field")

    def test_bad_members(self):
        pem = csr("rsa_upn.pem").decode()
        for body, field in (({"account": "alice"}, "csr"),
                            ({"csr": 5, "account": "alice"}, "csr"),
                            ({"csr": pem, "account": "alice", "certificate": pem}, "unknown"),
                            ({"csr": pem, "account": "alice", "validity_days": 0}, "validity_days"),
                            ({"csr": pem, "account": "alice", "profile": "windows-1999"}, "profile"),
                            ({"subject": "CN=Alice", "csr": pem, "account": "alice"}, "not both")):
            with self.subTest(body=list(body)):
                r = self.preissue(json.dumps(body), ctype="application/json")
                self.assertEqual(r.status, 400, r.body[:300])
                self.assertIn(field, r.json()["detail"])
        r = self.preissue(json.dumps({"csr": pem, "account": "alice"}), "account=alice",
                          ctype="application/json")
        self.assertBadRequest(r, "query")
        self.assertBadRequest(self.preissue(csr("rsa_upn.pem"), "account=alice&colour=red"),
                              "query")

    def test_empty_and_media_type(self):
        self.assertProblem(self.preissue(b"", "account=alice"), 400, "empty-body")
        self.assertProblem(self.preissue(csr("rsa_upn.pem"), "account=alice", ctype="image/png"),
                           415, "unsupported-media-type")


class T3PreissueScope(Case):
    def test_scopes(self):
        body = csr("rsa_upn.pem")
        self.assertProblem(self.preissue(body, "account=alice", daemon=TOKENS), 401, "unauthorized")
        r = self.preissue(body, "account=alice", daemon=TOKENS, token=SECRET_CHECK)
        self.assertProblem(r, 403, "insufficient-scope")
        self.assertIn('scope="account admin issue"', r.headers["www-authenticate"])
        r = self.preissue(body, "account=alice", daemon=TOKENS, token=SECRET_ISSUE)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["account"]["sid"], ALICE_SID)
        # the issue token may not ask for verdicts
        r = self.request("POST", "/v1/verdict?account=alice", body=ta.fixture("sid_ext.pem"),
                         daemon=TOKENS, token=SECRET_ISSUE)
        self.assertProblem(r, 403, "insufficient-scope")


# ---- step-ca's webhooks -----------------------------------------------------------------------


def sign(body, secret=HOOK_SECRET):
    """X-Smallstep-Signature as step-ca computes it (authority/provisioner/webhook.go)."""
    return hmac.new(base64.b64decode(secret), body, hashlib.sha256).hexdigest()


def step_csr_body(data, subject_cn="Alice"):
    """A webhook request body of kind ENRICHING for the request @data (PEM bytes), shaped as
    step-ca's webhook.RequestBody with an X509CertificateRequest (x509util.CertificateRequest's
    fields, publicKey, publicKeyAlgorithm, raw)."""
    return json.dumps({
        "timestamp": "2026-12-07T12:00:00.123456789Z",
        "provisionerName": "portal",
        "x509CertificateRequest": {
            "version": 0,
            "subject": {"commonName": subject_cn},
            "rawSubject": None,
            "dnsNames": None, "emailAddresses": None, "ipAddresses": None, "uris": None,
            "sans": None,
            "extensions": [],
            "keyUsage": 0, "extKeyUsage": None, "unknownExtKeyUsage": None,
            "basicConstraints": None, "signatureAlgorithm": "",
            "publicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
            "publicKeyAlgorithm": "RSA",
            "raw": pem_body_b64(data),
        }}).encode()


def step_cert_body(data):
    """A body of kind AUTHORIZING for the certificate @data (PEM bytes)."""
    return json.dumps({
        "timestamp": "2026-12-07T12:00:00Z",
        "x509Certificate": {
            "subject": {"commonName": "Alice"}, "sans": [], "extensions": [],
            "publicKey": "", "publicKeyAlgorithm": "RSA",
            "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2036-01-01T00:00:00Z",
            "raw": pem_body_b64(data),
        }}).encode()


class HookCase(Case):
    def hook(self, kind, body, sig=None, hook_id=HOOK_ID, query="", daemon=None, headers=None):
        h = {"Content-Type": "application/json"}
        if hook_id is not None:
            h["X-Smallstep-Webhook-ID"] = hook_id
        if sig is not False:
            h["X-Smallstep-Signature"] = sig if sig is not None else sign(body)
        h.update(headers or {})
        return self.request("POST", f"/v1/hooks/step-ca/{kind}" + ("?" + query if query else ""),
                            body=body, headers=h, daemon=daemon or DAEMON)


class T4StepCaSignature(HookCase):
    def test_good_signature(self):
        r = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")))
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertTrue(r.json()["allow"])

    def test_second_webhook_its_own_secret(self):
        body = step_csr_body(csr("rsa_upn.pem"))
        r = self.hook("enrich", body, sig=sign(body, OTHER_SECRET), hook_id="other-hook")
        self.assertEqual(r.status, 200)
        # a webhook's signature under another webhook's ID
        r = self.hook("enrich", body, sig=sign(body, OTHER_SECRET))
        self.assertProblem(r, 401, "webhook-signature")

    def test_refused(self):
        body = step_csr_body(csr("rsa_upn.pem"))
        tampered = body.replace(b"portal", b"portaL")
        wrong = base64.b64encode(b"\x01" * 64).decode()
        cases = (("tampered body", dict(body=tampered, sig=sign(body))),
                 ("wrong secret", dict(body=body, sig=sign(body, wrong))),
                 ("no signature", dict(body=body, sig=False)),
                 ("no webhook ID", dict(body=body, hook_id=None)),
                 ("unknown webhook", dict(body=body, hook_id="nope")),
                 ("short signature", dict(body=body, sig=sign(body)[:-2])),
                 ("not hex", dict(body=body, sig="zz" * 32)),
                 ("upper-case hex of another body", dict(body=body, sig=sign(tampered).upper())))
        for kind in ("enrich", "authorize"):
            for what, kw in cases:
                with self.subTest(kind=kind, what=what):
                    self.assertProblem(self.hook(kind, **kw), 401, "webhook-signature")

    def test_upper_case_hex_accepted(self):
        body = step_csr_body(csr("rsa_upn.pem"))
        self.assertEqual(self.hook("enrich", body, sig=sign(body).upper()).status, 200)

    def test_bearer_tokens_do_not_apply(self):
        # with tokens configured the hooks still answer to their signature (scope.hooks none)
        r = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")), daemon=TOKENS)
        self.assertEqual(r.status, 200, r.body[:300])
        r = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")), sig=False, daemon=TOKENS,
                      headers={"Authorization": "Bearer " + SECRET_ISSUE})
        self.assertProblem(r, 401, "webhook-signature")


class T4StepCaSecrets(HookCase):
    """The secrets file: read again at a reload, refused when others may read it."""

    def test_reload_replaces_the_secrets(self):
        path = os.path.join(TMP.name, "webhooks-reload")
        with open(path, "w", encoding="ascii") as f:
            f.write(f"{HOOK_ID} {HOOK_SECRET}\n")
        os.chmod(path, 0o600)
        d = ta.Daemon(extra_args=["--ldif", ta.make_ldif(TMP.name), "--stepca-webhooks", path])
        try:
            body = step_csr_body(csr("rsa_upn.pem"))
            self.assertEqual(self.hook("enrich", body, daemon=d).status, 200)
            with open(path, "w", encoding="ascii") as f:
                f.write(f"{HOOK_ID} {OTHER_SECRET}\n")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log("configuration reloaded")
            self.assertProblem(self.hook("enrich", body, daemon=d), 401, "webhook-signature")
            r = self.hook("enrich", body, sig=sign(body, OTHER_SECRET), daemon=d)
            self.assertEqual(r.status, 200)
            # a bad file at a reload: refused, the running secrets stay
            with open(path, "w", encoding="ascii") as f:
                f.write(f"{HOOK_ID} not-base64!\n")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log("reload failed")
            self.assertEqual(self.hook("enrich", body, sig=sign(body, OTHER_SECRET),
                                       daemon=d).status, 200)
        finally:
            rc, _ = d.stop()
        self.assertEqual(rc, 0, d.log())
        self.assertIn("the secret is not base64", d.log())
        self.assertNotIn(OTHER_SECRET, d.log())
        self.assertNotIn(HOOK_SECRET, d.log())

    def test_refused_files(self):
        for name, text, mode, why in (
                ("world", f"{HOOK_ID} {HOOK_SECRET}\n", 0o644, "webhooks"),
                ("dup", f"a {HOOK_SECRET}\na {OTHER_SECRET}\n", 0o600, "given twice"),
                ("badid", f"a/b {HOOK_SECRET}\n", 0o600, "the ID must be"),
                ("three", f"a {HOOK_SECRET} x\n", 0o600, "expected \"ID SECRET\"")):
            with self.subTest(name=name):
                path = os.path.join(TMP.name, "webhooks-" + name)
                with open(path, "w", encoding="ascii") as f:
                    f.write(text)
                os.chmod(path, mode)
                p = subprocess.run([ta.ARGS.daemon, "--allow-root", "--check", "--listen",
                                    "127.0.0.1:0", "--stepca-webhooks", path],
                                   capture_output=True, timeout=30)
                self.assertNotEqual(p.returncode, 0, p.stderr)
                self.assertIn(why, p.stderr.decode())


class T5StepCaEnrich(HookCase):
    def test_data_for_the_template(self):
        r = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")))
        doc = r.json()
        self.assertEqual(set(doc), {"allow", "data"})
        data = doc["data"]
        self.assertEqual(data["sid"], ALICE_SID)
        self.assertEqual(data["sidUri"], SID_URI + ALICE_SID)
        self.assertEqual(data["upn"], "alice@example.com")
        self.assertEqual(data["account"], "cn=alice,cn=Users,dc=example,dc=com")
        plan = self.plan("rsa_upn.pem", "alice")
        self.assertEqual(data["sidExtension"], plan["material"]["sid_extension_der_base64"])

    def test_another_accounts_sid(self):
        # (the account is the request's UPN; dns_other names none, so the URL names it)
        for name, code, query in (("sid_other.pem", "sid_other_account", ""),
                                  ("sid_uri_other.pem", "sid_other_account", ""),
                                  ("sid_malformed.pem", "sid_extension_malformed", ""),
                                  ("dns_other.pem", "dns_other_account", "account=alice")):
            with self.subTest(name=name):
                r = self.hook("enrich", step_csr_body(csr(name)), query=query)
                self.assertEqual(r.status, 200)
                doc = r.json()
                self.assertFalse(doc["allow"])
                self.assertNotIn("data", doc)
                self.assertEqual(doc["error"]["code"], code)
        doc = self.hook("enrich", step_csr_body(csr("sid_other.pem"))).json()
        self.assertIn(MALLORY_SID, doc["error"]["message"])
        self.assertIn("mallory", doc["error"]["message"])

    def test_account_from_the_url(self):
        # upn_other asks for mallory's UPN: for mallory it is fine, for alice it is refused
        body = step_csr_body(csr("upn_other.pem"))
        self.assertTrue(self.hook("enrich", body).json()["allow"])
        doc = self.hook("enrich", body, query="account=alice").json()
        self.assertFalse(doc["allow"])
        self.assertEqual(doc["error"]["code"], "upn_other_account")

    def test_disabled_and_unknown(self):
        doc = self.hook("enrich", step_csr_body(csr("disabled_bob.pem"))).json()
        self.assertEqual((doc["allow"], doc["error"]["code"]), (False, "account_disabled"))
        doc = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")), query="account=ghost").json()
        self.assertEqual((doc["allow"], doc["error"]["code"]), (False, "account_not_found"))

    def test_computer(self):
        doc = self.hook("enrich", step_csr_body(csr("computer.pem"), "ws01.example.com")).json()
        self.assertTrue(doc["allow"], doc)
        self.assertEqual(doc["data"]["dns"], "ws01.example.com")

    def test_malformed_calls(self):
        for body, code in ((b"{", "bad-json"),
                           (b"[]", "missing-field"),
                           (json.dumps({"sshCertificateRequest": {"keyID": "x"}}).encode(),
                            "missing-field"),
                           (json.dumps({"x509CertificateRequest": {"subject": {}}}).encode(),
                            "missing-field"),
                           (json.dumps({"x509CertificateRequest": {"raw": "AAAA"}}).encode(),
                            "bad-csr"),
                           (step_csr_body(csr("bad_signature.pem")), "csr-signature"),
                           (step_csr_body(csr("many_san.pem")), "bad-csr")):
            with self.subTest(body=body[:40]):
                self.assertProblem(self.hook("enrich", body), 400, code)
        body = step_csr_body(csr("rsa_upn.pem"))
        self.assertProblem(self.hook("enrich", body, query="profile=windows-1999"), 400,
                           "bad-request")

    def test_truncated_raw_never_5xx(self):
        raw = base64.b64decode(pem_body_b64(csr("ec_upn_sid.pem")))
        for n in range(1, len(raw), 23):
            body = json.dumps({"x509CertificateRequest": {
                "raw": base64.b64encode(raw[:n]).decode()}}).encode()
            with self.subTest(n=n):
                self.assertProblem(self.hook("enrich", body), 400, "bad-csr")


# ---- the loop a portal runs, with a real CA ---------------------------------------------------


def extfile(plan):
    """What a portal puts into `openssl ca -extfile` from the plan: the issued certificate's
    SANs (the material's UPN first, the SID URI), the SID extension's DER, and the request's
    EKU and key usage."""
    issued = plan["issued"]
    lines = ["basicConstraints = CA:FALSE"]
    if issued["key_usage"]:
        lines.append("keyUsage = critical," + ",".join(issued["key_usage"]))
    if issued["eku"]:
        lines.append("extendedKeyUsage = " + ",".join(e["oid"] for e in issued["eku"]))
    lines.append("subjectAltName = @san")
    der = plan["material"]["sid_extension_der_hex"]
    lines.append("1.3.6.1.4.1.311.25.2 = DER:" + ":".join(der[i:i + 2]
                                                        for i in range(0, len(der), 2)))
    lines.append("[san]")
    for i, upn in enumerate(issued["san"]["upn"], 1):
        lines.append(f"otherName.{i} = 1.3.6.1.4.1.311.20.2.3;UTF8:{upn}")
    for i, dns in enumerate(issued["san"]["dns"], 1):
        lines.append(f"DNS.{i} = {dns}")
    for i, uri in enumerate(issued["san"]["uri"], 1):
        lines.append(f"URI.{i} = {uri}")
    return "\n".join(lines) + "\n"


class T6EndToEnd(HookCase):
    def setUp(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl")
        self.dir = tempfile.mkdtemp(dir=TMP.name)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("7E57000000000031\n")

    def openssl_ca(self, name, ext_text):
        certs = os.path.join(ta.ARGS.data, "certs")
        ext = os.path.join(self.dir, name + ".ext")
        out = os.path.join(self.dir, name + ".crt")
        with open(ext, "w", encoding="utf-8") as f:
            f.write(ext_text)
        p = subprocess.run(
            ["openssl", "ca", "-batch", "-config",
             os.path.join(os.path.dirname(ta.ARGS.data), "lib", "ca.cnf"),
             "-in", csr_path(name), "-cert", os.path.join(certs, "issuing_ca.pem"),
             "-keyfile", os.path.join(certs, "issuing_ca.key"), "-extfile", ext, "-preserveDN",
             "-startdate", "20260101000000Z", "-enddate", "20360101000000Z", "-notext",
             "-out", out], capture_output=True, env=dict(os.environ, SM_CA_DIR=self.dir),
            timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        with open(out, "rb") as f:
            return f.read()

    def test_portal_loop(self):
        with open(os.path.join(ta.ARGS.data, "certs", "issuing_ca.pem"), encoding="ascii") as f:
            issuer = f.read()
        for name, account in (("rsa_upn.pem", "alice"), ("ec_upn_sid.pem", "alice"),
                              ("all_san.pem", "alice"), ("no_ext.pem", "alice"),
                              ("computer.pem", "ws01$")):
            with self.subTest(name=name):
                # 1. the plan
                r = self.preissue(json.dumps({
                    "csr": csr(name).decode(), "account": account, "profile": list(WINDOWS),
                    "issuer": issuer, "at": "2026-06-01T00:00:00Z"}), ctype="application/json")
                self.assertEqual(r.status, 200, r.body[:300])
                plan = r.json()
                self.assertFalse(plan["refuse"])
                self.assertEqual(plan["outcome_as_issued"], "allow")
                # 2. issue with openssl ca and the material
                cert = self.openssl_ca(name, extfile(plan))
                # 3. the verdict of the issued certificate
                q = "account=" + urllib.parse.quote(account) + "&at=2026-06-01T00:00:00Z" + \
                    "".join("&profile=" + p for p in WINDOWS)
                r = self.request("POST", "/v1/verdict?" + q, body=cert,
                                 headers={"Content-Type": "application/x-pem-file"},
                                 daemon=DAEMON)
                self.assertEqual(r.status, 200, r.body[:300])
                v = r.json()
                self.assertEqual([p["outcome"] for p in v["profiles"]],
                                 ["allow"] * len(WINDOWS), v["reasons"])
                self.assertEqual(v["mapping"]["strength"], "strong")
                # 4. step-ca's authorizing hook agrees on the signed certificate
                r = self.hook("authorize", step_cert_body(cert),
                              query="at=2026-06-01T00:00:00Z")
                self.assertEqual(r.json(), {"allow": True}, r.body[:300])

    def test_authorize_denies(self):
        # a certificate issued as requested (no SID): weak, denied under full enforcement
        cert = self.openssl_ca("rsa_upn.pem",
                               "basicConstraints = CA:FALSE\nsubjectAltName = @san\n[san]\n"
                               "otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com\n")
        r = self.hook("authorize", step_cert_body(cert), query="at=2026-06-01T00:00:00Z")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertFalse(doc["allow"])
        self.assertIn("denies the certificate", doc["error"]["message"])
        # a certificate carrying another account's SID (issued from sid_other's request as is)
        cert = self.openssl_ca("sid_other.pem", "basicConstraints = CA:FALSE\n")
        doc = self.hook("authorize", step_cert_body(cert), query="account=alice").json()
        self.assertFalse(doc["allow"])

    def test_plans_counted(self):
        """Every issuance plan is a directory operation in /metrics (op="preissue"): the
        route, both hooks. Before, plans bypassed the pool's counters."""
        def count():
            r = self.request("GET", "/metrics", daemon=DAEMON)
            return ta.metric(ta.parse_prometheus(self, r.body.decode()),
                             "strongmapd_directory_operations_total", op="preissue")
        before = count()
        self.assertEqual(self.hook("enrich", step_csr_body(csr("rsa_upn.pem"))).status, 200)
        self.assertEqual(self.hook("authorize", template_body()).status, 200)
        r = self.request("POST", "/v1/preissue?account=alice", body=csr("rsa_upn.pem"),
                         headers={"Content-Type": "application/x-pem-file"}, daemon=DAEMON)
        self.assertEqual(r.status, 200)
        self.assertEqual(count() - before, 3)

    def test_authorize_bad_raw(self):
        body = json.dumps({"x509Certificate": {"raw": "MIIB"}}).encode()
        self.assertProblem(self.hook("authorize", body), 400, "bad-certificate")
        body = json.dumps({"x509Certificate": {"raw": 7}}).encode()
        self.assertProblem(self.hook("authorize", body), 400, "bad-request")


# ---- step-ca's AUTHORIZING call as step-ca makes it: the template's fields, no DER -------------


def der(tag, body):
    """One DER TLV."""
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + body


def upn_san_b64(upn):
    """A subjectAltName extension's DER holding one UPN otherName, as step-ca writes it."""
    oid = bytes.fromhex("060a2b0601040182371402 03".replace(" ", ""))
    value = der(0xa0, der(0x0c, upn.encode()))
    return base64.b64encode(der(0x30, der(0xa0, oid + value))).decode()


def spki_b64(pem_path, kind):
    """The SubjectPublicKeyInfo of a request or certificate, base64 (step-ca's publicKey)."""
    p = subprocess.run(["openssl", kind, "-in", pem_path, "-noout", "-pubkey"],
                       capture_output=True, check=True)
    return pem_body_b64(p.stdout)


def template_body(**fields):
    """An AUTHORIZING body as step-ca sends it: x509util.Certificate's fields and the key."""
    cert = {
        "version": 0, "subject": {"commonName": "alice"}, "issuer": {}, "serialNumber": None,
        "dnsNames": None, "emailAddresses": None, "ipAddresses": None, "uris": None,
        "sans": [{"type": "userPrincipalName", "value": "alice@example.com"}],
        "extensions": None, "keyUsage": ["digitalSignature", "keyEncipherment"],
        "extKeyUsage": ["clientAuth"], "unknownExtKeyUsage": None, "subjectKeyId": None,
        "authorityKeyId": None, "basicConstraints": None, "signatureAlgorithm": "",
        "publicKey": spki_b64(csr_path("rsa_upn.pem"), "req"), "publicKeyAlgorithm": "RSA",
        "notBefore": "2026-06-01T00:00:00Z", "notAfter": "2027-06-01T00:00:00Z",
    }
    cert.update(fields)
    return json.dumps({"timestamp": "2026-06-01T00:00:00Z", "x509Certificate": cert}).encode()


class T7StepCaAuthorizeTemplate(HookCase):
    """/v1/hooks/step-ca/authorize with what step-ca really sends: the rendered template, not
    signed yet (no "raw"). Before, every such call got 400 missing-field."""

    def allow(self, body, query=""):
        r = self.hook("authorize", body, query=query)
        self.assertEqual(r.status, 200, r.body[:400])
        return r.json()

    def test_with_the_enrichment(self):
        # the template adds the enrich hook's SID extension: strong, allowed everywhere
        data = self.hook("enrich", step_csr_body(csr("rsa_upn.pem"))).json()["data"]
        sid_ext = {"id": "1.3.6.1.4.1.311.25.2", "critical": False,
                   "value": data["sidExtension"]}
        self.assertEqual(self.allow(template_body(extensions=[sid_ext])), {"allow": True})
        # step-ca puts a SAN with a UPN into "extensions" itself: the same answer
        san_ext = {"id": "2.5.29.17", "critical": False, "value": upn_san_b64("alice@example.com")}
        self.assertEqual(self.allow(template_body(extensions=[san_ext, sid_ext], sans=None)),
                         {"allow": True})
        # the SID URI in the SAN instead of the extension: Windows Server 2019 and later read
        # it, 2016 does not (the fleet here has a 2016 DC)
        uri = {"type": "uri", "value": SID_URI + ALICE_SID}
        body = template_body(sans=[{"type": "userPrincipalName", "value": "alice@example.com"},
                                   uri])
        self.assertEqual(self.allow(body, query="profile=windows-2019&profile=windows-2022"),
                         {"allow": True})
        doc = self.allow(body)
        self.assertFalse(doc["allow"])
        self.assertTrue(doc["error"]["message"].startswith("windows-2016 would deny"), doc)

    def test_without_the_sid(self):
        doc = self.allow(template_body())
        self.assertFalse(doc["allow"])
        self.assertIn("would deny the certificate", doc["error"]["message"])
        self.assertNotIn("as it should be issued", doc["error"]["message"])
        # not a logon certificate: server authentication only
        data = self.hook("enrich", step_csr_body(csr("rsa_upn.pem"))).json()["data"]
        sid_ext = {"id": "1.3.6.1.4.1.311.25.2", "critical": False,
                   "value": data["sidExtension"]}
        doc = self.allow(template_body(extensions=[sid_ext], extKeyUsage=["serverAuth"]))
        self.assertFalse(doc["allow"], doc)

    def test_another_accounts_sid(self):
        sid_ext = {"id": "1.3.6.1.4.1.311.25.2", "critical": False,
                   "value": sid_extension_b64(MALLORY_SID)}
        doc = self.allow(template_body(extensions=[sid_ext]), query="account=alice")
        self.assertEqual((doc["allow"], doc["error"]["code"]), (False, "sid_other_account"))

    def test_ski_mapping(self):
        """An account mapped by X509SKI: step-ca writes the SHA-1 of the key (or the template's
        subjectKeyId), so the certificate is strongly mapped before it exists."""
        ldif = os.path.join(ta.ARGS.data, "dir", "test.ldif")  # alice: X509:<SKI> of sid_ext.pem
        hooks = os.path.join(TMP.name, "webhooks")
        d = ta.Daemon(extra_args=["--ldif", ldif, "--stepca-webhooks", hooks])
        try:
            key = spki_b64(os.path.join(ta.certs_dir(), "sid_ext.pem"), "x509")
            r = self.hook("authorize", template_body(publicKey=key), daemon=d)
            self.assertEqual(r.json(), {"allow": True}, r.body[:400])
            # another key: no mapping left but the UPN
            r = self.hook("authorize", template_body(), daemon=d)
            self.assertFalse(r.json()["allow"])
            # the template sets the SKI: that one counts
            ski = base64.b64encode(bytes.fromhex("627E29B2855E219188C9A2DEF3A97A227EA7ED4C"))
            r = self.hook("authorize", template_body(subjectKeyId=ski.decode()), daemon=d)
            self.assertEqual(r.json(), {"allow": True}, r.body[:400])
        finally:
            d.stop()

    def test_issuer(self):
        """[step-ca] issuer: with the CA step-ca signs with known, its hooks check it against
        the forest's NTAuth store (the demo directory holds the issuing CA, not the root)."""
        hooks = os.path.join(TMP.name, "webhooks")
        data = self.hook("enrich", step_csr_body(csr("rsa_upn.pem"))).json()["data"]
        sid_ext = {"id": "1.3.6.1.4.1.311.25.2", "critical": False,
                   "value": data["sidExtension"]}
        for ca, allowed in (("issuing_ca.pem", True), ("root_ca.pem", False)):
            with self.subTest(ca=ca):
                d = ta.Daemon(extra_args=["--ldif", ta.make_ldif(TMP.name), "--stepca-webhooks",
                                          hooks, "--stepca-issuer",
                                          os.path.join(ta.certs_dir(), ca)])
                try:
                    doc = self.hook("authorize", template_body(extensions=[sid_ext]),
                                    daemon=d).json()
                    self.assertEqual(doc["allow"], allowed, doc)
                    if not allowed:
                        self.assertEqual(doc["error"]["code"], "issuer_not_in_ntauth")
                    doc = self.hook("enrich", step_csr_body(csr("rsa_upn.pem")), daemon=d).json()
                    self.assertEqual(doc["allow"], allowed, doc)
                    if not allowed:
                        self.assertEqual(doc["error"]["code"], "issuer_not_in_ntauth")
                finally:
                    d.stop()
        # an end-entity certificate is no issuer: the daemon does not start
        p = subprocess.run([ta.ARGS.daemon, "--allow-root", "--ldif", ta.make_ldif(TMP.name),
                            "--stepca-issuer", os.path.join(ta.certs_dir(), "sid_ext.pem"),
                            "--check"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("one CA certificate", p.stderr)

    def test_bad_templates(self):
        cases = [
            ({"extensions": {}}, "extensions"),
            ({"extensions": [{"id": "2.5.29.37", "value": "%%%"}]}, "not base64"),
            ({"extensions": [{"id": "x.y", "value": "MAA="}]}, "dotted OID"),
            ({"keyUsage": ["digitalSignature", "launchMissiles"]}, "launchMissiles"),
            ({"extKeyUsage": "clientAuthh"}, "clientAuthh"),
            ({"unknownExtKeyUsage": ["smartcard"]}, "dotted OID"),
            ({"publicKey": "AAAA"}, "publicKey"),
            ({"publicKey": 5}, "publicKey"),
            ({"subject": {"commonName": 7}}, "commonName"),
            ({"subject": {"extraNames": [{"type": "2.5.4.4", "value": {"x": 1}}]}},
             "extraNames"),
            ({"subject": {"nickname": "al"}}, "nickname"),
            ({"sans": [{"type": "dns", "value": 3}]}, "sans"),
            ({"notBefore": "yesterday"}, "notBefore"),
            ({"notBefore": "2027-06-01T00:00:00Z", "notAfter": "2026-06-01T00:00:00Z"},
             "notAfter"),
            ({"basicConstraints": {"isCA": "yes"}}, "basicConstraints"),
        ]
        for fields, text in cases:
            with self.subTest(fields=fields):
                r = self.hook("authorize", template_body(**fields))
                self.assertProblem(r, 400, "bad-request")
                self.assertIn(text, r.json()["detail"])
        # a template naming nobody, and one the directory does not know
        doc = self.allow(template_body(subject={}, sans=None))
        self.assertEqual((doc["allow"], doc["error"]["code"]), (False, "no_account"))
        doc = self.allow(template_body(), query="account=ghost")
        self.assertEqual((doc["allow"], doc["error"]["code"]), (False, "account_not_found"))

    def test_subject_escaping(self):
        """Values with RFC 4514 specials reach the engine as text, not as structure."""
        subject = {"commonName": "alice, OU=Admins", "organization": ["Ex+ample", "#1"],
                   "country": "SE", "extraNames": [{"type": "0.9.2342.19200300.100.1.1",
                                                    "value": "alice"}]}
        doc = self.allow(template_body(subject=subject), query="account=alice")
        self.assertFalse(doc["allow"])  # no SID: weak, but read
        self.assertIn("error", doc)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True)
    p.add_argument("--data", default=os.path.join(ta.ROOT, "tests", "data"))
    p.add_argument("--cli")
    args, rest = p.parse_known_args()
    args.daemon = os.path.abspath(args.daemon)
    args.data = os.path.abspath(args.data)
    if args.cli:
        args.cli = os.path.abspath(args.cli)
    args.log = None
    args.host = None
    ta.ARGS = args
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
