#!/usr/bin/env python3
"""Tests of `strongmap preissue` (unittest, Python 3 standard library and openssl only).

    test_preissue.py --cli PATH/strongmap --data tests/data [unittest options]

The requests are tests/data/csr (gen.sh, openssl req); the directory is
tests/data/dir/verdict.ldif.in filled in as tests/cli/test_cli.py does (its NTAuth store holds
tests/data/certs/issuing_ca.pem). Covers: the requested facts against `openssl req -text`
(subject, SAN, extensions, EKU, key, SPKI SHA-1); the exit status contract (0 issue, 3 refuse
or deny, 1 bad request with one line on stderr, 2 usage, 4 directory down); the security
findings; and the loop a CA runs: preissue -> `openssl x509 -req` or `openssl ca` with the
extension file it wrote -> `strongmap verdict` on the issued certificate -> allow on every
Windows profile (and Samba).
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

CLI = None
DATA = None
AT = "2026-06-01T00:00:00Z"
SID_URI_PREFIX = "tag:microsoft.com,2022-09-14:sid:"
SID_1105 = "S-1-5-21-1004336348-1177238915-682003330-1105"
WINDOWS = ("windows-2016", "windows-2019", "windows-2022")
EKU_NAMES = {"TLS Web Client Authentication": "1.3.6.1.5.5.7.3.2",
             "Microsoft Smartcard Login": "1.3.6.1.4.1.311.20.2.2",
             "PKINIT Client Auth": "1.3.6.1.5.2.3.4"}
# every request that openssl verifies (bad_signature does not; many_san exceeds SM_MAX_SAN)
GOOD = ("rsa_upn.pem", "ec_upn_sid.pem", "sid_other.pem", "sid_uri_other.pem", "upn_other.pem",
        "sid_malformed.pem", "disabled_bob.pem", "computer.pem", "dns_other.pem", "all_san.pem",
        "ed25519.pem", "no_ext.pem")


def run(args, stdin=b""):
    return subprocess.run([CLI] + list(args), input=stdin, capture_output=True, timeout=60)


def csr(name):
    return os.path.join(DATA, "csr", name)


def certs(name):
    return os.path.join(DATA, "certs", name)


def openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)}: {p.stderr.decode()}")
    return p.stdout


def pem_der_b64(path):
    with open(path, encoding="ascii") as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S)
    return base64.b64encode(base64.b64decode("".join(m.group(1).split()))).decode()


class PreissueTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sm-cli-preissue-")
        with open(os.path.join(DATA, "dir", "verdict.ldif.in"), encoding="utf-8") as f:
            text = f.read()
        text = text.replace("@ISSUING_CA@", pem_der_b64(certs("issuing_ca.pem")))
        text = text.replace("@USERCERT_UPN_ONLY@", pem_der_b64(certs("upn_only.pem")))
        for key, name in (("@KEYCRED_BCRYPT@", "whfb_keycred_bcrypt.txt"),
                          ("@KEYCRED_SPKI@", "whfb_keycred_spki.txt")):
            with open(os.path.join(DATA, "verdict", name), encoding="ascii") as f:
                text = text.replace(key, f.read().strip())
        cls.ldif = os.path.join(cls.tmp, "verdict.ldif")
        with open(cls.ldif, "w", encoding="utf-8") as f:
            f.write(text)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def dir(self):
        return ["--ldif", self.ldif, "--at", AT]

    def plan(self, name, account="alice", code=None, extra=()):
        p = run(["preissue", "--csr", csr(name), "--account", account] + self.dir() + list(extra))
        self.assertEqual(p.stderr, b"", name)
        if code is not None:
            self.assertEqual(p.returncode, code, name)
        return json.loads(p.stdout.decode("utf-8"))

    def assertBadInput(self, p, *mentions):
        self.assertEqual(p.returncode, 1, p.stderr)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(err.count("\n"), 1, repr(err))
        self.assertTrue(err.startswith("strongmap: "), repr(err))
        for m in mentions:
            self.assertIn(m.lower(), err.lower())
        self.assertEqual(p.stdout, b"")


# ---- the requested facts against openssl req -text ------------------------------------------

def openssl_facts(path):
    """subject, SAN entries, extension count, EKU OIDs and key bits as openssl prints them."""
    text = openssl("req", "-in", path, "-noout", "-text", "-nameopt", "RFC2253,-esc_msb").decode()
    subject = openssl("req", "-in", path, "-noout", "-subject", "-nameopt",
                      "RFC2253,-esc_msb").decode().strip()
    subject = subject[len("subject="):].strip()
    facts = {"subject": subject, "san": [], "extensions": 0, "eku": [], "bits": None}
    m = re.search(r"Public-Key: \((\d+) bit\)", text)
    facts["bits"] = int(m.group(1)) if m else None
    ext = text.split("Requested Extensions:", 1)
    if len(ext) == 2:
        body = ext[1].split("Signature Algorithm:", 1)[0]
        facts["extensions"] = len(re.findall(r"^ {16}\S.*:( critical)?\s*$", body, re.M))
        m = re.search(r"X509v3 Subject Alternative Name: *\n\s*(.*)\n", body)
        if m:
            facts["san"] = san_items(m.group(1))
        m = re.search(r"X509v3 Extended Key Usage: *\n\s*(.*)\n", body)
        if m:
            facts["eku"] = [EKU_NAMES.get(x.strip(), x.strip()) for x in m.group(1).split(",")]
    return facts


def san_items(line):
    """openssl's one-line SAN as (kind, value) pairs; kinds as the engine names them."""
    out = []
    for item in re.split(r", (?=othername:|email:|DNS:|URI:|IP Address:|DirName:|Registered ID:)",
                         line.strip()):
        kind, _, value = item.partition(":")
        if kind == "othername" and value.startswith(" UPN::"):
            out.append(("upn", value[len(" UPN::"):]))
        elif kind == "othername":
            out.append(("other", value.strip().split("::")[0]))
        elif kind == "IP Address":
            out.append(("ip", str(ipaddress.ip_address(value))))
        elif kind == "DirName":
            parts = [p for p in value.split("/") if p]
            out.append(("dirname", ",".join(reversed(parts))))
        elif kind == "Registered ID":
            out.append(("registered_id", value))
        else:
            out.append((kind.lower(), value))
    return out


def engine_san(doc):
    out = []
    for kind in ("upn", "email", "dns", "uri", "ip", "dirname", "registered_id", "other"):
        for v in doc["san"].get(kind, []):
            out.append((kind, v["oid"] if kind == "other" else v))
    return sorted(out)


def spki_sha1(path):
    pub = openssl("req", "-in", path, "-noout", "-pubkey")
    der = openssl("pkey", "-pubin", "-outform", "DER", data=pub)
    return hashlib.sha1(der).hexdigest().upper()


class TestAgreementWithOpenssl(PreissueTestCase):
    def test_requests(self):
        for name in GOOD:
            with self.subTest(name=name):
                account = "ws01$" if name == "computer.pem" else "alice"
                req = self.plan(name, account)["request"]
                want = openssl_facts(csr(name))
                self.assertEqual(req["subject"], want["subject"])
                self.assertEqual(engine_san(req), sorted(want["san"]))
                self.assertEqual(len(req["extensions"]), want["extensions"])
                self.assertEqual([e["oid"] for e in req["eku"]], want["eku"])
                self.assertEqual(req["key"]["bits"], want["bits"] or req["key"]["bits"])
                self.assertEqual(req["spki_sha1"], spki_sha1(csr(name)))

    def test_sid_extension(self):
        """The SID openssl's asn1parse finds in the request is the one the engine reads."""
        req = self.plan("ec_upn_sid.pem")["request"]
        self.assertEqual(req["sid"]["extension"]["value"], SID_1105)
        dump = openssl("req", "-in", csr("ec_upn_sid.pem"), "-outform", "DER")
        self.assertIn(SID_1105.encode(), dump)


# ---- exit status and findings --------------------------------------------------------------

class TestPlans(PreissueTestCase):
    def test_issue_with_changes(self):
        doc = self.plan("rsa_upn.pem", code=0)
        self.assertFalse(doc["refuse"])
        self.assertEqual(doc["outcome_as_requested"], "deny")
        self.assertEqual(doc["outcome_as_issued"], "allow")
        self.assertTrue(doc["signature"]["verified"])
        self.assertEqual(doc["material"]["sid"], SID_1105)
        self.assertEqual(doc["material"]["san_uri"], SID_URI_PREFIX + SID_1105)
        # the same DER as `strongmap sid extension`
        sid = json.loads(run(["sid", "extension", SID_1105]).stdout)
        self.assertEqual(doc["material"]["sid_extension_der_base64"], sid["extension_der_base64"])
        self.assertEqual(doc["material"]["sid_extension_der_hex"], sid["extension_der_hex"])
        self.assertIn({"action": "add", "what": "sid_extension", "value": SID_1105},
                      [{k: c[k] for k in ("action", "what", "value")} for c in doc["changes"]])

    def test_refusals(self):
        for name, account, code in (("sid_other.pem", "alice", "sid_other_account"),
                                    ("sid_uri_other.pem", "alice", "sid_other_account"),
                                    ("upn_other.pem", "alice", "upn_other_account"),
                                    ("dns_other.pem", "alice", "dns_other_account"),
                                    ("sid_malformed.pem", "alice", "sid_extension_malformed"),
                                    ("disabled_bob.pem", "bob", "account_disabled"),
                                    ("rsa_upn.pem", "nobody-here", "account_not_found")):
            with self.subTest(name=name):
                doc = self.plan(name, account, code=3)
                self.assertTrue(doc["refuse"])
                self.assertIn(code, [f["code"] for f in doc["findings"]])
                errors = [f for f in doc["findings"] if f["code"] == code]
                self.assertEqual(errors[0]["severity"], "error")

    def test_ed25519_verified(self):
        doc = self.plan("ed25519.pem", code=0)
        self.assertTrue(doc["signature"]["verified"])
        self.assertIsNone(doc["signature"]["note"])

    def test_key_not_read_not_verified(self):
        """An id-RSASSA-PSS key, which neither mbedTLS 2.28 nor Nettle reads."""
        doc = self.plan("algs/rsa_pss_key.pem", code=0)
        self.assertFalse(doc["signature"]["verified"])
        self.assertIn("signature not verified: unsupported algorithm", doc["signature"]["note"])

    def test_text(self):
        p = run(["preissue", "--csr", csr("sid_other.pem"), "--account", "alice", "--text"]
                + self.dir())
        self.assertEqual(p.returncode, 3)
        out = p.stdout.decode()
        self.assertIn("REFUSE", out)
        self.assertIn("sid_other_account", out)
        self.assertIn("mallory", out)
        p = run(["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice", "--text"]
                + self.dir())
        self.assertEqual(p.returncode, 0)
        self.assertIn("ISSUE with the changes below", p.stdout.decode())

    def test_bad_requests(self):
        self.assertBadInput(run(["preissue", "--csr", csr("bad_signature.pem"), "--account",
                                 "alice"] + self.dir()), "self-signature does not verify")
        self.assertBadInput(run(["preissue", "--csr", csr("many_san.pem"), "--account",
                                 "alice"] + self.dir()), "subjectAltName")
        with open(csr("rsa_upn.der"), "rb") as f:
            der = f.read()
        for cut in (1, 10, len(der) // 2, len(der) - 1):
            with self.subTest(cut=cut):
                self.assertBadInput(run(["preissue", "--csr", "-", "--account", "alice"]
                                        + self.dir(), der[:cut]))
        self.assertBadInput(run(["preissue", "--csr", "-", "--account", "alice"] + self.dir(),
                                b"\x00garbage\xff" * 100))
        self.assertBadInput(run(["preissue", "--csr", "-", "--account", "alice"] + self.dir(),
                                b""), "empty")
        # an attribute of 100,000 bytes: larger than a request may be
        big = b"\x30\x83" + (100000).to_bytes(3, "big") + b"\x00" * 100000
        self.assertBadInput(run(["preissue", "--csr", "-", "--account", "alice"] + self.dir(),
                                big), "larger than")
        # a certificate is not a request
        self.assertBadInput(run(["preissue", "--csr", certs("upn_only.pem"), "--account",
                                 "alice"] + self.dir()), "CERTIFICATE REQUEST")

    def test_usage(self):
        for args in (["preissue", "--account", "alice"] + self.dir(),
                     ["preissue", "--csr", csr("rsa_upn.pem")] + self.dir(),
                     ["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice", "extra"]
                     + self.dir(),
                     ["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice"],
                     ["verdict", certs("upn_only.pem"), "--csr", csr("rsa_upn.pem")] + self.dir(),
                     ["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice",
                      "--validity-days", "0"] + self.dir()):
            with self.subTest(args=args):
                self.assertEqual(run(args).returncode, 2)

    def test_directory_down(self):
        p = run(["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice", "--ldap-uri",
                 "ldap://127.0.0.1:1", "--ldap-base", "dc=example,dc=com"])
        self.assertEqual(p.returncode, 4, p.stderr)


# ---- the loop a CA runs -------------------------------------------------------------------

class TestEndToEnd(PreissueTestCase):
    def issue_x509(self, name, ext, out):
        openssl("x509", "-req", "-in", csr(name), "-CA", certs("issuing_ca.pem"), "-CAkey",
                certs("issuing_ca.key"), "-extfile", ext, "-days", "3650", "-set_serial",
                "0x7E57000000000011", "-out", out)

    def verdict(self, cert, account, profiles):
        args = ["verdict", cert, "--account", account, "--ldif", self.ldif]
        for p in profiles:
            args += ["--profile", p]
        p = run(args)
        return p.returncode, json.loads(p.stdout.decode("utf-8"))

    def loop(self, name, account, issue):
        ext = os.path.join(self.tmp, name + ".ext")
        out = os.path.join(self.tmp, name + ".crt")
        fleet = []
        for p in WINDOWS + ("samba",):
            fleet += ["--profile", p]
        doc = self.plan(name, account, code=0,
                        extra=["--issuer", certs("issuing_ca.pem"), "--openssl-extfile", ext]
                        + fleet)
        self.assertEqual(doc["outcome_as_issued"], "allow")
        issue(name, ext, out)
        code, v = self.verdict(out, account, WINDOWS + ("samba",))
        self.assertEqual([(p["profile"], p["outcome"]) for p in v["profiles"]],
                         [(p, "allow") for p in WINDOWS + ("samba",)], v)
        self.assertEqual(code, 0)
        self.assertEqual(v["mapping"]["strength"], "strong")
        # the issued certificate carries what the plan said, and what the request asked
        inspect = json.loads(run(["inspect", out]).stdout)["certificates"][0]
        self.assertEqual(inspect["sid"]["extension"]["value"], doc["material"]["sid"])
        self.assertIn(doc["material"]["san_uri"], inspect["san"]["uri"])
        self.assertEqual(inspect["eku"], doc["request"]["eku"])
        return doc, inspect

    def test_openssl_x509(self):
        for name, account in (("rsa_upn.pem", "alice"), ("ec_upn_sid.pem", "alice"),
                              ("ed25519.pem", "alice"), ("all_san.pem", "alice"),
                              ("computer.pem", "ws01$")):
            with self.subTest(name=name):
                doc, inspect = self.loop(name, account, self.issue_x509)
                # requested SANs are kept (-extfile replaces the request's extensions)
                for kind in ("email", "dns", "ip"):
                    for v in doc["request"]["san"][kind]:
                        self.assertIn(v, inspect["san"][kind])

    def test_openssl_ca(self):
        cadir = os.path.join(self.tmp, "ca")
        os.makedirs(cadir, exist_ok=True)
        open(os.path.join(cadir, "index.txt"), "w").close()
        with open(os.path.join(cadir, "serial"), "w") as f:
            f.write("7E57000000000021\n")
        cnf = os.path.join(DATA, "..", "lib", "ca.cnf")

        def issue(name, ext, out):
            env = dict(os.environ, SM_CA_DIR=cadir)
            p = subprocess.run(["openssl", "ca", "-batch", "-config", cnf, "-in", csr(name),
                                "-cert", certs("issuing_ca.pem"), "-keyfile",
                                certs("issuing_ca.key"), "-extfile", ext, "-preserveDN",
                                "-startdate", "20260101000000Z", "-enddate", "20360101000000Z",
                                "-notext", "-out", out], capture_output=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())

        self.loop("rsa_upn.pem", "alice", issue)

    def test_extfile_on_stdout(self):
        p = run(["preissue", "--csr", csr("rsa_upn.pem"), "--account", "alice",
                 "--openssl-extfile", "-"] + self.dir())
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        self.assertRegex(text, r"(?m)^1\.3\.6\.1\.4\.1\.311\.25\.2 = DER:30:3F:A0:3D:")
        self.assertIn("URI.2 = " + SID_URI_PREFIX + SID_1105, text)
        self.assertIn("otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com", text)
        # the request's key usage is critical, and stays so
        self.assertIn("keyUsage = critical,digitalSignature, keyEncipherment\n", text)
        self.assertIn("extendedKeyUsage = 1.3.6.1.5.5.7.3.2\n", text)


def main():
    global CLI, DATA
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--data", required=True)
    args, rest = ap.parse_known_args()
    CLI, DATA = os.path.abspath(args.cli), os.path.abspath(args.data)
    if not shutil.which("openssl"):
        print("openssl not found")
        return 1
    res = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=1).result
    print(f"{res.testsRun - len(res.failures) - len(res.errors)} passed, "
          f"{len(res.failures) + len(res.errors)} failed")
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
