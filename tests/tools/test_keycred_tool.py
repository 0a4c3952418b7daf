#!/usr/bin/env python3
"""Tests of tests/tools/keycred.py against openssl (unittest, standard library only).

    test_keycred_tool.py --certs tests/data/certs [--unit PATH/test_keycred] [unittest options]

Every value keycred.py makes for the RSA fixture certificates is decoded again and compared
with what `openssl` says about the certificate's key: modulus, exponent, bits, and the SHA-1 of
the DER RSAPublicKey. With --unit, the C parser (lib/keycred.c, through the unit test binary's
`--check` mode) must read the same values and match them to the certificate.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "keycred.py")
CERTS = None
UNIT = None
OWNER = "CN=Alice,OU=Users,DC=example,DC=com"


def run(*args, check=True, stdin=None):
    r = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                       input=stdin)
    if check and r.returncode:
        raise AssertionError(f"keycred.py {args}: {r.returncode} {r.stderr}")
    return r


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], capture_output=True, check=True,
                          input=data).stdout


def rsa_fixtures():
    out = []
    for path in sorted(glob.glob(os.path.join(CERTS, "*.pem"))):
        text = openssl("x509", "-in", path, "-noout", "-text").decode()
        if "Public Key Algorithm: rsaEncryption" in text:
            out.append(path)
    return out


class KeycredTool(unittest.TestCase):
    def test_fixtures_round_trip(self):
        paths = rsa_fixtures()
        self.assertGreater(len(paths), 10)
        for path in paths:
            for extra, kind, form in (([], "rsa", None), (["--computer"], "der", "rsapublickey"),
                                      (["--material", "spki"], "der", "spki")):
                with self.subTest(cert=os.path.basename(path), extra=extra):
                    value = run("make", "--owner", OWNER, *extra, path).stdout.strip()
                    m = re.fullmatch(r"B:(\d+):([0-9A-F]+):(.*)", value)
                    self.assertIsNotNone(m)
                    self.assertEqual(int(m.group(1)), len(m.group(2)))
                    self.assertEqual(m.group(3), OWNER)
                    got = json.loads(run("show", value).stdout)
                    modulus = openssl("x509", "-in", path, "-noout", "-modulus").decode()
                    self.assertEqual(got["modulus"], modulus.strip().split("=", 1)[1])
                    pub = openssl("x509", "-in", path, "-noout", "-pubkey")
                    rpk = openssl("rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER",
                                  data=pub)
                    self.assertEqual(got["rsa_public_key_sha1"],
                                     hashlib.sha1(rpk).hexdigest().upper())
                    text = openssl("x509", "-in", path, "-noout", "-text").decode()
                    bits = int(re.search(r"Public-Key: \((\d+) bit\)", text).group(1))
                    self.assertEqual(got["key_bits"], bits)
                    spki = openssl("x509", "-in", path, "-noout", "-pubkey")
                    spki = openssl("pkey", "-pubin", "-outform", "DER", data=spki)
                    self.assertEqual(got["spki_sha1"], hashlib.sha1(spki).hexdigest().upper())
                    self.assertEqual((got["key_kind"], got.get("der_form")), (kind, form))
                    self.assertTrue(got["key_id_ok"])
                    self.assertTrue(got["key_hash_ok"])
                    self.assertEqual((got["usage"], got["source"], got["version"]), (1, 0, 512))
                    self.assertEqual(got["identifiers"], sorted(got["identifiers"]))
                    if UNIT:
                        r = subprocess.run([UNIT, "--check", value, path], capture_output=True,
                                           text=True)
                        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_fields(self):
        path = os.path.join(CERTS, "upn_only.pem")
        value = run("make", "--owner", OWNER, "--device-id",
                    "12345678-9abc-def0-1122-334455667788", "--created", "2025-03-01T12:00:00Z",
                    "--last-logon", "2025-04-02T00:00:00Z", path).stdout.strip()
        got = json.loads(run("show", value).stdout)
        self.assertEqual(got["device_id"], "12345678-9abc-def0-1122-334455667788")
        self.assertEqual(got["created"], "2025-03-01T12:00:00Z")
        self.assertEqual(got["last_logon"], "2025-04-02T00:00:00Z")
        self.assertEqual(got["identifiers"], [1, 2, 3, 4, 5, 6, 8, 9])
        # Windows GUID byte order: the first three fields little-endian
        self.assertIn("100006" + "78563412BC9AF0DE1122334455667788", value)
        # FILETIME of 2025-03-01T12:00:00Z, little-endian, as the last entry
        ft = (1740830400 + 11644473600) * 10_000_000
        tail = "080009" + ft.to_bytes(8, "little").hex().upper()
        self.assertTrue(value.split(":")[2].endswith(tail))

    def test_negative_options(self):
        path = os.path.join(CERTS, "upn_only.pem")
        got = json.loads(run("show", run("make", "--owner", OWNER, "--bad-keyid",
                                          path).stdout).stdout)
        self.assertFalse(got["key_id_ok"])
        got = json.loads(run("show", run("make", "--owner", OWNER, "--no-keyhash", "--usage",
                                         "fido", "--no-device-id", path).stdout).stdout)
        self.assertNotIn("key_hash_ok", got)
        self.assertEqual(got["usage"], 7)
        self.assertEqual(got["identifiers"], [1, 3, 4, 5, 9])

    def test_refusals(self):
        r = run("make", "--owner", OWNER, os.path.join(CERTS, "ec_key.pem"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not an RSA key", r.stderr)
        r = run("make", "--owner", OWNER, "--computer", "--last-logon", "2025-01-01",
                os.path.join(CERTS, "upn_only.pem"), check=False)
        self.assertEqual(r.returncode, 1)
        r = run("show", "B:4:0002:CN=x", check=False)
        self.assertEqual(r.returncode, 1)
        r = run("show", "B:5:00020000:CN=x", check=False)
        self.assertIn("count does not match", r.stderr)

    def test_private_and_public_key_input(self):
        key = os.path.join(CERTS, "root_ca.key")
        pub = openssl("pkey", "-in", key, "-pubout")
        a = json.loads(run("show", run("make", "--owner", OWNER, key).stdout).stdout)
        tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"keycred-pub-{os.getpid()}.pem")
        try:
            with open(tmp, "wb") as f:
                f.write(pub)
            b = json.loads(run("show", run("make", "--owner", OWNER, tmp).stdout).stdout)
        finally:
            os.unlink(tmp)
        self.assertEqual(a["modulus"], b["modulus"])
        ca = json.loads(run("show", run("make", "--owner", OWNER, os.path.join(
            CERTS, "root_ca.pem")).stdout).stdout)
        self.assertEqual(a["modulus"], ca["modulus"])


def main():
    global CERTS, UNIT
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs", required=True)
    ap.add_argument("--unit")
    args, rest = ap.parse_known_args()
    CERTS, UNIT = args.certs, args.unit
    unittest.main(argv=[sys.argv[0], *rest], verbosity=1)


if __name__ == "__main__":
    main()
