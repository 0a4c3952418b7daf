#!/usr/bin/env python3
"""Tests of the `strongmap` command line tool (unittest, Python 3 standard library only).

    test_cli.py --cli PATH/strongmap --certs tests/data/certs [unittest options]

Covers the exit status contract (0 ok, 1 bad input with exactly one line on stderr, 2 usage),
input handling (files, stdin, several files, size limit), the inspect JSON contract for every
fixture, --text/--pretty, `sid extension`/`sid decode` (MS-WCCE 2.2.2.7.7.4, checked with openssl
asn1parse), `altsecid lint` with the KB5014754 example (docs/mapping-rules.md 2.4), JSON validity for
a certificate whose UTF8String CN holds invalid UTF-8, and `verdict`/`account` against the
test LDIF (tests/data/dir/verdict.ldif.in; exit 0 allow/ready, 3 deny/not ready, 4 directory
down). Ends with a line `N passed, M failed`.
"""

import argparse
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

CLI = None
CERTS = None
OPENSSL = shutil.which("openssl")

MAX_INPUT = 1024 * 1024  # SM_MAX_INPUT
MAX_CERTS = 32  # SM_MAX_CERTS
SPEC_SID = "S-1-5-21-12494900-2147801102-4061876462-500"
SPEC_EXT_PREFIX = "303DA03B060A2B060104018237190201A02D042B"  # MS-WCCE 2.2.2.7.7.4
SID_URI_PREFIX = "tag:microsoft.com,2022-09-14:sid:"
SID_EXT_OID = "1.3.6.1.4.1.311.25.2"
SID_OTHERNAME_OID = "1.3.6.1.4.1.311.25.2.1"
KB_ISSUER_AD = "DC=com,DC=example,CN=Example Issuing CA"
KB_VALUE = "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>1200000000AC11000000002B"
MAPPING_TYPES = ("X509IssuerSerialNumber", "X509SKI", "X509SHA1PublicKey", "X509IssuerSID",
                 "X509IssuerSubject", "X509SubjectOnly", "X509RFC822")


def run(args, stdin=None):
    """Run the CLI; stdin may be bytes or an open file. Returns CompletedProcess (bytes)."""
    kw = {"stdin": stdin} if hasattr(stdin, "read") else {"input": stdin if stdin is not None else b""}
    return subprocess.run([CLI] + list(args), capture_output=True, timeout=60, **kw)


def cert(name):
    return os.path.join(CERTS, name)


def fixtures():
    return sorted(f for f in os.listdir(CERTS) if f.endswith((".pem", ".der", ".b64")))


def manifest():
    rows = {}
    with open(os.path.join(CERTS, "manifest.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                cols = line.rstrip("\n").split("\t")
                rows[cols[0]] = dict(zip(header, cols))
    return rows


def reverse_serial(hexstr):
    return bytes.fromhex(hexstr)[::-1].hex().upper()


def sid_binary(text):
    """objectSid bytes for a SID text (MS-DTYP 2.4.2), computed independently of the engine."""
    parts = text.split("-")
    rev, auth, subs = int(parts[1]), int(parts[2]), [int(x) for x in parts[3:]]
    return (struct.pack("BB", rev, len(subs)) + auth.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


class CliTestCase(unittest.TestCase):
    maxDiff = None

    def assertExit(self, p, code, args=""):
        self.assertEqual(p.returncode, code,
                         f"{args}: exit {p.returncode}, stderr={p.stderr.decode('utf-8', 'replace')!r}")

    def assertBadInput(self, p, *mentions):
        """Exit 1, exactly one line on stderr (prefixed by the program name), nothing on stdout."""
        self.assertExit(p, 1)
        err = p.stderr.decode("utf-8", "replace")
        self.assertTrue(err.endswith("\n"), repr(err))
        self.assertEqual(err.count("\n"), 1, f"expected one line on stderr, got {err!r}")
        self.assertTrue(err.startswith("strongmap: "), repr(err))
        for m in mentions:
            self.assertIn(m.lower(), err.lower())
        self.assertEqual(p.stdout, b"")
        return err

    def json_ok(self, args, stdin=None):
        p = run(args, stdin)
        self.assertExit(p, 0, args)
        self.assertEqual(p.stderr, b"", args)
        return json.loads(p.stdout.decode("utf-8"))


# ---- exit status: usage errors (2) ----------------------------------------------------------

class TestUsage(CliTestCase):
    def test_no_arguments(self):
        p = run([])
        self.assertExit(p, 2)
        self.assertIn(b"usage:", p.stderr)

    def test_unknown_subcommand(self):
        p = run(["frobnicate"])
        self.assertExit(p, 2)
        self.assertIn(b"frobnicate", p.stderr)
        self.assertEqual(p.stdout, b"")

    def test_unknown_option(self):
        for args in (["inspect", "--bogus", cert("sid_ext.pem")], ["--bogus", "inspect"]):
            with self.subTest(args=args):
                self.assertExit(run(args), 2, args)

    def test_missing_arguments(self):
        for args in (["altsecid"], ["altsecid", "lint"], ["altsecid", "frob", "X509:<SKI>AB"],
                     ["sid"], ["sid", "extension"], ["sid", "decode"],
                     ["sid", "frob", SPEC_SID], ["sid", "extension", SPEC_SID, SPEC_SID],
                     ["inspect", "--at"]):
            with self.subTest(args=args):
                p = run(args)
                self.assertExit(p, 2, args)
                self.assertEqual(p.stdout, b"")
                self.assertNotEqual(p.stderr, b"")

    def test_bad_at_time(self):
        self.assertExit(run(["inspect", "--at", "yesterday", cert("sid_ext.pem")]), 2)

    def test_help_and_version(self):
        p = run(["--help"])
        self.assertExit(p, 0)
        self.assertIn(b"usage:", p.stdout)
        p = run(["version"])
        self.assertExit(p, 0)
        self.assertTrue(p.stdout.startswith(b"strongmap "), p.stdout)


# ---- exit status: bad input (1, one line on stderr) -------------------------------------------

class TestBadInput(CliTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sm-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_nonexistent_file(self):
        path = os.path.join(self.tmp, "does-not-exist.pem")
        self.assertBadInput(run(["inspect", path]), path)

    def test_empty_file(self):
        path = self.write("empty.pem", b"")
        self.assertBadInput(run(["inspect", path]), path)

    def test_empty_stdin(self):
        self.assertBadInput(run(["inspect"], b""), "stdin")

    def test_garbage_file(self):
        path = self.write("garbage.bin", bytes(range(256)) * 8)
        self.assertBadInput(run(["inspect", path]), path)
        path = self.write("garbage.txt", b"this is not a certificate\n" * 10)
        self.assertBadInput(run(["inspect", path]), path)

    def test_truncated_der(self):
        with open(cert("sid_ext.der"), "rb") as f:
            der = f.read()
        path = self.write("truncated.der", der[: len(der) // 2])
        self.assertBadInput(run(["inspect", path]), path)

    def test_private_key_only(self):
        with open(cert("issuing_ca.key"), "rb") as f:
            key = f.read()
        self.assertIn(b"PRIVATE KEY-----", key)
        path = self.write("key.pem", key)
        self.assertBadInput(run(["inspect", path]), "no certificate")

    def test_too_large_file(self):
        with open(cert("sid_ext.pem"), "rb") as f:
            pem = f.read()
        big = pem + b"#" * (MAX_INPUT + 1 - len(pem))
        self.assertEqual(len(big), MAX_INPUT + 1)
        path = self.write("big.pem", big)
        self.assertBadInput(run(["inspect", path]), path)
        self.assertBadInput(run(["inspect"], big), "stdin")
        # 1 MiB exactly is still accepted (the limit is inclusive)
        exact = self.write("exact.pem", big[:MAX_INPUT])
        doc = self.json_ok(["inspect", exact])
        self.assertEqual(len(doc["certificates"]), 1)

    def test_too_many_certificates(self):
        with open(cert("sid_ext.pem"), "rb") as f:
            pem = f.read()
        ok = self.write("32.pem", pem * MAX_CERTS)
        self.assertEqual(len(self.json_ok(["inspect", ok])["certificates"]), MAX_CERTS)
        path = self.write("33.pem", pem * (MAX_CERTS + 1))
        self.assertBadInput(run(["inspect", path]), path)

    def test_too_large_stdin_lint(self):
        p = run(["altsecid", "lint", "-"], b"X509:<SKI>AB\n" * (MAX_INPUT // 13 + 1))
        self.assertBadInput(p, "stdin")

    def test_cert_option_bad_file(self):
        path = os.path.join(self.tmp, "nope.pem")
        self.assertBadInput(run(["altsecid", "lint", "--cert", path, KB_VALUE]), path)

    def test_bad_sids(self):
        for bad in ("S-1-5-21-abc", "", "X-1-5-21-1", "S-1-5-21--1", "S-1-5-21-1-",
                    "S-1-5-21-4294967296", "S-1-281474976710656-1", "S-2-5-21-1",
                    "S-1-5-21-1 ", " S-1-5-21-1", "S-1-5-21-1\\n",
                    "S-1-5-21-" + "-".join(["1"] * 15)):  # 16 sub-authorities
            with self.subTest(sid=bad):
                self.assertBadInput(run(["sid", "extension", bad]), "not a SID")

    # Regression: fail() used to echo arguments verbatim, so a newline in an argument made
    # two lines on stderr.
    def test_bad_input_with_newline_is_one_line(self):
        self.assertBadInput(run(["sid", "extension", "S-1-5-21-1\n"]), "not a SID")
        self.assertBadInput(run(["sid", "decode", "zz\nzz"]))

    def test_bad_altsec_values(self):
        for value in ("", "X509:<SKI>" + "A" * 5000, b"X509:<S>CN=\xff"):
            with self.subTest(value=value[:20]):
                self.assertBadInput(run(["altsecid", "lint", value]))
        self.assertBadInput(run(["altsecid", "lint", "-"], b"X509:<SKI>AB\nX509:<S>CN=\xff\n"))

    def test_bad_binary_sids(self):
        for bad in ("zz", "AQUAAAAAAAUVAAAA", "0105000000000005150000", "!!!!"):
            with self.subTest(value=bad):
                self.assertBadInput(run(["sid", "decode", bad]))

    def test_bad_file_among_good_ones(self):
        path = os.path.join(self.tmp, "missing.pem")
        p = run(["inspect", cert("sid_ext.pem"), path, cert("kb_serial.pem")])
        self.assertExit(p, 1)
        err = p.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn(path, err)
        docs = [json.loads(line) for line in p.stdout.decode().splitlines()]
        self.assertEqual(len(docs), 2)
        self.assertEqual(docs[1]["certificates"][0]["serial"], "2B0000000011AC0000000012")


# ---- inspect ------------------------------------------------------------------------------

class TestInspect(CliTestCase):
    def test_stdin(self):
        ref = self.json_ok(["inspect", cert("sid_ext.pem")])
        for name in ("sid_ext.pem", "sid_ext.der", "sid_ext.b64"):
            with self.subTest(name=name):
                with open(cert(name), "rb") as f:
                    doc = self.json_ok(["inspect"], f)
                self.assertEqual(len(doc["certificates"]), 1)
                self.assertEqual(doc["certificates"][0]["sha1"], ref["certificates"][0]["sha1"])
                with open(cert(name), "rb") as f:
                    doc2 = self.json_ok(["inspect", "-"], f)
                self.assertEqual(doc2, doc)

    def test_formats(self):
        self.assertEqual(self.json_ok(["inspect", cert("sid_ext.pem")])["format"], "pem")
        self.assertEqual(self.json_ok(["inspect", cert("sid_ext.der")])["format"], "der")
        self.assertEqual(self.json_ok(["inspect", cert("sid_ext.b64")])["format"], "base64")

    def test_multiple_files(self):
        names = ["sid_ext.pem", "kb_serial.pem", "sid_ext.der", "chain.pem"]
        p = run(["inspect"] + [cert(n) for n in names])
        self.assertExit(p, 0)
        lines = p.stdout.decode("utf-8").splitlines()
        self.assertEqual(len(lines), len(names))
        docs = [json.loads(line) for line in lines]
        m = manifest()
        for n, d in zip(names, docs):
            self.assertEqual(d["certificates"][0]["serial"], m[n]["serial_hex"], n)
        self.assertEqual(len(docs[3]["certificates"]), 3)
        self.assertEqual([c["index"] for c in docs[3]["certificates"]], [0, 1, 2])

    def test_text(self):
        doc = self.json_ok(["inspect", cert("kb_serial.pem")])
        c = doc["certificates"][0]
        p = run(["inspect", "--text", cert("kb_serial.pem")])
        self.assertExit(p, 0)
        text = p.stdout.decode("utf-8")
        self.assertIn(c["subject"], text)
        self.assertIn(c["issuer"], text)
        self.assertIn(KB_VALUE, text)
        for t in MAPPING_TYPES:
            v = c["mappings"][t]
            for one in (v if isinstance(v, list) else [v] if v else []):
                self.assertRegex(text, r"(?m)^.*\b%s\b.*%s\s*$" % (t, re.escape(one)))
        with self.assertRaises(ValueError):
            json.loads(text)

    def test_text_multiple_files(self):
        p = run(["inspect", "--text", cert("sid_ext.pem"), cert("kb_serial.pem")])
        self.assertExit(p, 0)
        text = p.stdout.decode("utf-8")
        self.assertIn("==> %s <==" % cert("sid_ext.pem"), text)
        self.assertIn("==> %s <==" % cert("kb_serial.pem"), text)

    def test_pretty(self):
        compact = run(["inspect", cert("all_san.pem")])
        for args in (["inspect", "--pretty", cert("all_san.pem")],
                     ["--pretty", "inspect", cert("all_san.pem")]):
            with self.subTest(args=args):
                p = run(args)
                self.assertExit(p, 0)
                out = p.stdout.decode("utf-8")
                self.assertGreater(out.count("\n"), 20)
                self.assertRegex(out, r'(?m)^  "certificates": \[$')
                self.assertEqual(json.loads(out), json.loads(compact.stdout))
        self.assertEqual(compact.stdout.count(b"\n"), 1)

    def test_contract_every_fixture(self):
        m = manifest()
        names = fixtures()
        self.assertGreater(len(names), 0)
        for name in names:
            with self.subTest(fixture=name):
                p = run(["inspect", cert(name)])
                self.assertExit(p, 0, name)
                doc = json.loads(p.stdout.decode("utf-8"))  # strict UTF-8 too
                self.assertIsInstance(doc["certificates"], list)
                self.assertGreaterEqual(len(doc["certificates"]), 1)
                self.assertEqual(doc.get("errors", []), [])
                for c in doc["certificates"]:
                    self.check_contract(c)
                first = doc["certificates"][0]
                row = m.get(name)
                self.assertIsNotNone(row, f"{name} is missing from manifest.tsv")
                self.assertEqual(first["serial"], row["serial_hex"])
                self.check_sid_carriers(first, row)

    def check_contract(self, c):
        for k in ("subject", "issuer", "serial", "not_before", "not_after", "sha1", "sha256"):
            self.assertIsInstance(c[k], str, k)
        for k in ("not_before", "not_after"):
            self.assertRegex(c[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(c["serial"], r"^([0-9A-F]{2})+$")
        self.assertRegex(c["sha1"], r"^[0-9A-F]{40}$")
        self.assertRegex(c["sha256"], r"^[0-9A-F]{64}$")
        self.assertIn("ski", c)
        if c["ski"] is not None:
            self.assertRegex(c["ski"], r"^([0-9A-F]{2})+$")
        for k in ("upn", "dns", "email", "uri", "ip", "other"):
            self.assertIsInstance(c["san"][k], list, k)
        for o in c["san"]["other"]:
            self.assertIn("oid", o)
            self.assertIn("value", o)
        for k in ("value", "source", "status"):
            self.assertIn(k, c["sid"])
        self.assertIn(c["sid"]["status"], ("valid", "malformed", "absent"))
        self.assertIsInstance(c["eku"], list)
        self.assertIn("template", c)
        for t in MAPPING_TYPES:
            self.assertIn(t, c["mappings"])
        self.assertIsInstance(c["mappings"]["X509RFC822"], list)
        self.assertIsInstance(c["findings"], list)
        for f in c["findings"]:
            for k in ("code", "severity", "message"):
                self.assertIsInstance(f[k], str, k)
        # docs/mapping-rules.md 2.4: how a DC writes the strong mappings
        self.assertEqual(c["mappings"]["X509IssuerSerialNumber"],
                         "X509:<I>%s<SR>%s" % (c["issuer_ad"], reverse_serial(c["serial"])))
        self.assertEqual(c["mappings"]["X509SHA1PublicKey"], "X509:<SHA1-PUKEY>" + c["sha1"])
        self.assertEqual(c["mappings"]["X509SKI"],
                         "X509:<SKI>" + c["ski"] if c["ski"] is not None else None)

    def check_sid_carriers(self, c, row):
        for col, key in (("sid_ext", "extension"), ("sid_uri", "san_uri")):
            want, got = row[col], c["sid"][key]
            if want == "absent":
                self.assertEqual(got["status"], "absent", key)
            elif want == "malformed":
                self.assertEqual(got["status"], "malformed", key)
            else:
                self.assertTrue(want.startswith("valid:"), want)
                self.assertEqual(got["status"], "valid", key)
                self.assertEqual(got["text"], want[len("valid:"):], key)

    def test_der_matches_file(self):
        """sha1/sha256 of the DER decoded here from the PEM/base64 file."""
        for name in ("sid_ext.pem", "sid_ext.der", "sid_ext.b64", "serial_high_bit.pem"):
            with self.subTest(name=name):
                with open(cert(name), "rb") as f:
                    raw = f.read()
                if name.endswith(".pem"):
                    b64 = re.search(rb"-----BEGIN CERTIFICATE-----(.*?)-----END", raw, re.S).group(1)
                    der = base64.b64decode(b"".join(b64.split()))
                elif name.endswith(".b64"):
                    der = base64.b64decode(b"".join(raw.split()))
                else:
                    der = raw
                c = self.json_ok(["inspect", cert(name)])["certificates"][0]
                self.assertEqual(c["sha1"], hashlib.sha1(der).hexdigest().upper())
                self.assertEqual(c["sha256"], hashlib.sha256(der).hexdigest().upper())

    def test_invalid_utf8_cn(self):
        """A UTF8String CN with invalid bytes: the JSON stays valid, name_invalid_text is raised."""
        with open(cert("sid_ext.der"), "rb") as f:
            der = f.read()
        # subject CN: OID 2.5.4.3, UTF8String (0C) of length 5, "Alice"
        pat = bytes.fromhex("0603550403") + b"\x0c\x05Alice"
        self.assertEqual(der.count(pat), 1, "the CN=Alice UTF8String is not where expected")
        at = der.find(pat) + len(pat) - 5
        patches = {
            "lone 0xFF": b"A\xffice",
            "lone continuation byte": b"A\x80ice",
            "overlong NUL (C0 80)": b"A\xc0\x80ce",
            "UTF-16 surrogate (ED A0 80)": b"A\xed\xa0\x80e",
            "truncated sequence at the end": b"Alic\xe2",
            "above U+10FFFF (F4 90 80 80)": b"\xf4\x90\x80\x80e",
        }
        tmp = tempfile.mkdtemp(prefix="sm-utf8-")
        try:
            for what, value in patches.items():
                with self.subTest(patch=what):
                    bad = der[:at] + value + der[at + 5:]
                    self.assertEqual(len(bad), len(der))
                    path = os.path.join(tmp, "bad.der")
                    with open(path, "wb") as f:
                        f.write(bad)
                    for args in (["inspect", path], ["inspect", "--pretty", path]):
                        p = run(args)
                        self.assertExit(p, 0, args)
                        out = p.stdout.decode("utf-8")  # raises on invalid UTF-8
                        doc = json.loads(out)
                        c = doc["certificates"][0]
                        codes = [f["code"] for f in c["findings"]]
                        self.assertIn("name_invalid_text", codes)
                        self.assertIsInstance(c["subject"], str)
                        self.assertTrue(c["subject"].endswith(",OU=Users,DC=example,DC=com"),
                                        c["subject"])
                        self.assertTrue(c["subject"].startswith("CN="), c["subject"])
                        self.assertIsInstance(c["mappings"]["X509SubjectOnly"], str)
                    p = run(["inspect", "--text", path])
                    self.assertExit(p, 0)
                    p.stdout.decode("utf-8")
                    with open(path, "rb") as f:
                        self.json_ok(["inspect"], f)
        finally:
            shutil.rmtree(tmp)


# ---- sid --------------------------------------------------------------------------------------

class TestSid(CliTestCase):
    def test_extension_spec_example(self):
        doc = self.json_ok(["sid", "extension", SPEC_SID])
        self.assertEqual(doc["sid"], SPEC_SID)
        self.assertEqual(doc["extension_oid"], SID_EXT_OID)
        want = SPEC_EXT_PREFIX + SPEC_SID.encode("ascii").hex().upper()
        self.assertEqual(doc["extension_der_hex"], want)
        self.assertEqual(base64.b64decode(doc["extension_der_base64"], validate=True),
                         bytes.fromhex(want))
        self.assertEqual(doc["san_uri"], SID_URI_PREFIX + SPEC_SID)
        binary = sid_binary(SPEC_SID)
        self.assertEqual(doc["object_sid_hex"], binary.hex().upper())
        self.assertEqual(base64.b64decode(doc["object_sid_base64"]), binary)
        self.assertEqual(doc["ldap_filter"],
                         "(objectSid=" + "".join("\\%02x" % b for b in binary) + ")")

    @unittest.skipUnless(OPENSSL, "openssl not installed")
    def test_extension_asn1parse(self):
        for sid in (SPEC_SID, "S-1-5-21-1004336348-1177238915-682003330-1105", "S-1-5-32-544"):
            with self.subTest(sid=sid):
                doc = self.json_ok(["sid", "extension", sid])
                der = base64.b64decode(doc["extension_der_base64"], validate=True)
                p = subprocess.run([OPENSSL, "asn1parse", "-inform", "DER"], input=der,
                                   capture_output=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                out = p.stdout.decode("utf-8", "replace")
                self.assertRegex(out, r"d=0\s+hl=2\s+l=\s*%d cons: SEQUENCE" % (len(der) - 2))
                self.assertRegex(out, r"d=1 .*cons: cont \[ 0 \]")
                self.assertRegex(out, r"d=2 .*prim: OBJECT\s+:%s\s*(\n|$)"
                                 % re.escape(SID_OTHERNAME_OID))
                self.assertRegex(out, r"d=3 .*prim: OCTET STRING\s+:%s\s*(\n|$)" % re.escape(sid))
                # the whole input is consumed: no trailing bytes
                last = [l for l in out.splitlines() if l.strip()][-1]
                m = re.match(r"\s*(\d+):d=\d+\s+hl=(\d+)\s+l=\s*(\d+)", last)
                self.assertEqual(int(m.group(1)) + int(m.group(2)) + int(m.group(3)), len(der))

    def test_extension_text(self):
        p = run(["sid", "extension", "--text", SPEC_SID])
        self.assertExit(p, 0)
        out = p.stdout.decode()
        self.assertIn(SPEC_EXT_PREFIX, out)
        self.assertIn(SID_URI_PREFIX + SPEC_SID, out)

    def test_text_is_the_document(self):
        """--text renders the SID itself (cli/text.c); it must say what the JSON says, key by key
        in its order. The SIDs give every length of binary and DER modulo 3 (base64 padding)."""
        longest = "S-1-281474976710655-" + "-".join(["4294967295"] * 15)
        sids = (SPEC_SID, "S-1-5-32-544", "S-1-1-0", "S-1-5-18", "S-1-5-21-1-2-3-500",
                "S-1-5-21-4294967295-0-1-2", "S-1-5-21-1-2", "S-1-5-21-10-20", longest)
        for sid in sids:
            for cmd, value in (("extension", sid), ("decode", sid_binary(sid).hex())):
                with self.subTest(sid=sid, cmd=cmd):
                    doc = self.json_ok(["sid", cmd, value])
                    p = run(["sid", cmd, "--text", value])
                    self.assertExit(p, 0)
                    want = "".join("%-26s %s\n" % (k, v) for k, v in doc.items())
                    self.assertEqual(p.stdout.decode(), want)

    def test_decode(self):
        want = "S-1-5-21-1004336348-1177238915-682003330-1100"
        binary = sid_binary(want)
        for value in ("AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoTAQAAA==", binary.hex().upper(),
                      binary.hex(), "".join("\\%02x" % b for b in binary)):
            with self.subTest(value=value):
                doc = self.json_ok(["sid", "decode", value])
                self.assertEqual(doc["sid"], want)
                self.assertEqual(doc["object_sid_base64"], "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoTAQAAA==")

    def test_round_trip(self):
        for sid in (SPEC_SID, "S-1-5-32-544", "S-1-1-0", "S-1-5-21-4294967295-0-1-2"):
            with self.subTest(sid=sid):
                doc = self.json_ok(["sid", "extension", sid])
                self.assertEqual(doc["sid"], sid)
                back = self.json_ok(["sid", "decode", doc["object_sid_base64"]])
                self.assertEqual(back["sid"], sid)
                back = self.json_ok(["sid", "decode", doc["object_sid_hex"]])
                self.assertEqual(back["sid"], sid)


# ---- altsecid lint ----------------------------------------------------------------------------

class TestAltsecid(CliTestCase):
    KB = "kb_serial.pem"
    UNREVERSED = "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>2B0000000011AC0000000012"

    def lint(self, *values, certfile=KB, stdin=None):
        args = ["altsecid", "lint"]
        if certfile:
            args += ["--cert", cert(certfile)]
        return self.json_ok(args + list(values), stdin)

    def test_kb_example_matches(self):
        serial = manifest()[self.KB]["serial_hex"]
        self.assertEqual(serial, "2B0000000011AC0000000012")
        self.assertEqual(KB_VALUE, "X509:<I>%s<SR>%s" % (KB_ISSUER_AD, reverse_serial(serial)))
        doc = self.lint(KB_VALUE)
        self.assertEqual(len(doc["values"]), 1)
        v = doc["values"][0]
        self.assertEqual(v["value"], KB_VALUE)
        self.assertEqual(v["kind"], "mapping")
        self.assertEqual(v["type"], "X509IssuerSerialNumber")
        self.assertEqual(v["strength"], "strong")
        self.assertIs(v["matches"], True)
        self.assertEqual(doc["certificate"]["serial"], serial)
        self.assertIn(KB_VALUE, doc["certificate"]["strong_mappings"])

    def test_unreversed_serial_fix(self):
        doc = self.lint(self.UNREVERSED)
        v = doc["values"][0]
        self.assertIs(v["matches"], False)
        fixes = [f.get("fix") for f in v["findings"] if f.get("fix")]
        self.assertIn(KB_VALUE, fixes, v["findings"])
        for f in v["findings"]:
            for k in ("code", "severity", "message"):
                self.assertIsInstance(f[k], str)

    def test_stdin_values(self):
        data = (KB_VALUE + "\r\n\n" + self.UNREVERSED + "\n").encode()
        doc = self.lint("-", stdin=data)
        self.assertEqual([v["value"] for v in doc["values"]], [KB_VALUE, self.UNREVERSED])
        self.assertEqual([v["matches"] for v in doc["values"]], [True, False])
        self.assertEqual(doc, self.lint(KB_VALUE, self.UNREVERSED))

    def test_other_strong_mappings_match(self):
        c = self.json_ok(["inspect", cert(self.KB)])["certificates"][0]
        values = ["X509:<SHA1-PUKEY>" + c["sha1"], "X509:<SHA1-PUKEY>" + c["sha1"].lower(),
                  "X509:<SKI>" + c["ski"],
                  "X509:<I>%s<SID>%s" % (KB_ISSUER_AD, c["sid"]["value"])]
        doc = self.lint(*values)
        for v in doc["values"]:
            self.assertIs(v["matches"], True, v)
            self.assertEqual(v["strength"], "strong", v)

    def test_without_cert(self):
        doc = self.lint(KB_VALUE, certfile=None)
        v = doc["values"][0]
        self.assertEqual(v["type"], "X509IssuerSerialNumber")
        self.assertNotIn("matches", v)
        self.assertNotIn("certificate", doc)

    def test_not_x509(self):
        doc = self.lint("Kerberos:alice@EXAMPLE.COM")
        self.assertEqual(doc["values"][0]["kind"], "not_x509")
        self.assertIs(doc["values"][0]["matches"], False)

    def test_text(self):
        p = run(["altsecid", "lint", "--text", "--cert", cert(self.KB), self.UNREVERSED])
        self.assertExit(p, 0)
        out = p.stdout.decode("utf-8")
        self.assertIn(self.UNREVERSED, out)
        self.assertIn(KB_VALUE, out)


# ---- verdict and account (the directory: tests/data/dir/verdict.ldif.in, filled in) ------------

AT = "2026-06-01T00:00:00Z"  # the evaluation time of tests/unit/test_verdict.c
DOWN_LDAP = ["--ldap-uri", "ldap://127.0.0.1:1", "--ldap-base", "dc=example,dc=com"]


def pem_der_b64(path):
    with open(path, encoding="ascii") as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S)
    return base64.b64encode(base64.b64decode("".join(m.group(1).split()))).decode()


class DirTestCase(CliTestCase):
    """Writes the test LDIF once; dir() is the directory flags with the fixed time."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sm-cli-dir-")
        with open(os.path.join(CERTS, "..", "dir", "verdict.ldif.in"), encoding="utf-8") as f:
            text = f.read()
        text = text.replace("@ISSUING_CA@", pem_der_b64(cert("issuing_ca.pem")))
        text = text.replace("@USERCERT_UPN_ONLY@", pem_der_b64(cert("upn_only.pem")))
        for key, name in (("@KEYCRED_BCRYPT@", "whfb_keycred_bcrypt.txt"),
                          ("@KEYCRED_SPKI@", "whfb_keycred_spki.txt")):
            with open(os.path.join(CERTS, "..", "verdict", name), encoding="ascii") as f:
                text = text.replace(key, f.read().strip())
        cls.ldif = os.path.join(cls.tmp, "verdict.ldif")
        with open(cls.ldif, "w", encoding="utf-8") as f:
            f.write(text)
        cls.pw = os.path.join(cls.tmp, "bind.pw")
        with open(cls.pw, "w", encoding="ascii") as f:
            f.write("secret\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def dir(self):
        return ["--ldif", self.ldif, "--at", AT]

    def doc(self, args, code, stdin=None):
        """Run; expect exit @code, nothing on stderr, one JSON document on stdout."""
        p = run(args + self.dir(), stdin)
        self.assertExit(p, code, args)
        self.assertEqual(p.stderr, b"", args)
        return json.loads(p.stdout.decode("utf-8"))


class TestVerdict(DirTestCase):
    def test_allow_exits_0(self):
        v = self.doc(["verdict", cert("sid_ext.pem")], 0)
        self.assertEqual(v["outcome"], "allow")
        self.assertEqual(v["mapping"], {"strength": "strong", "method": "sid_extension"})
        self.assertEqual(v["resolved_by"], "upn_san")
        self.assertIsNone(v["kdc_error"])

    def test_deny_exits_3(self):
        v = self.doc(["verdict", cert("upn_only.pem")], 3)
        self.assertEqual(v["outcome"], "deny")
        self.assertEqual(v["kdc_error"]["code"], 66)
        self.assertEqual((v["event"]["id"], v["event"]["level"]), (39, "error"))
        v = self.doc(["verdict", cert("expired.pem")], 3)
        self.assertEqual(v["kdc_error"]["code"], 71)

    def test_mode_1(self):
        v = self.doc(["verdict", cert("upn_only.pem"), "--mode", "1"], 0)
        self.assertEqual((v["event"]["id"], v["event"]["level"]), (39, "warning"))
        self.assertEqual(v["profiles"][0]["mode"], 1)

    def test_stdin_and_formats(self):
        with open(cert("upn_only.pem"), "rb") as f:
            self.assertEqual(self.doc(["verdict", "-"], 3, f.read())["kdc_error"]["code"], 66)
        for name in ("sid_ext.der", "sid_ext.b64"):
            with self.subTest(name=name):
                self.assertEqual(self.doc(["verdict", cert(name)], 0)["outcome"], "allow")

    def test_account(self):
        v = self.doc(["verdict", cert("sid_ext.pem"), "--account", "mallory"], 3)
        self.assertEqual(v["event"]["id"], 41)
        self.assertEqual(v["sid_owner"]["sam"], "alice")
        v = self.doc(["verdict", "--account", "henry"], 0)  # its published certificate
        self.assertEqual(v["mapping"]["method"], "X509IssuerSerialNumber")
        self.assertEqual(v["resolved_by"], "named")
        v = self.doc(["verdict", cert("sid_ext.pem"), "--account=nobody-here"], 3)
        self.assertEqual(v["kdc_error"]["code"], 6)
        self.assertIsNone(v["account"])

    def test_fleet(self):
        v = self.doc(["verdict", cert("sid_uri.pem"), "--profile", "windows-2022",
                      "--profile", "windows-2016", "--profile", "samba"], 3)
        self.assertEqual([(p["profile"], p["outcome"]) for p in v["profiles"]],
                         [("windows-2022", "allow"), ("windows-2016", "deny"), ("samba", "deny")])
        self.assertEqual(v["profile"], "windows-2016")
        v = self.doc(["verdict", cert("upn_only.pem"), "--profile", "samba", "--mode", "0"], 0)
        self.assertEqual(v["profiles"][0]["profile"], "samba")

    def test_profile_options(self):
        """A profile with options (docs/mapping-rules.md): the update level and UseSubjectAltName."""
        v = self.doc(["verdict", cert("sid_ext.pem"), "--account", "frank",
                      "--profile", "windows-2022,update=2025-08-12"], 3)
        self.assertEqual(v["kdc_error"]["code"], 75)  # X509IssuerSID only from 2025-09-09
        self.assertEqual(v["profiles"][0]["settings"]["update"], "2025-08-12")
        self.assertFalse(v["profiles"][0]["settings"]["honours_x509_issuer_sid"])
        v = self.doc(["verdict", cert("sid_ext.pem"), "--account", "frank"], 0)
        self.assertTrue(v["profiles"][0]["settings"]["honours_x509_issuer_sid"])
        v = self.doc(["verdict", cert("sid_ext.pem"), "--profile", "windows-2019,UseSubjectAltName=0"], 3)
        self.assertEqual(v["kdc_error"]["code"], 6)
        p = run(["verdict", cert("sid_ext.pem"), "--profile", "windows-2022,colour=blue"] + self.dir())
        self.assertExit(p, 2, "unknown option")
        self.assertIn(b"unknown option", p.stderr)

    def test_mode_1_is_a_what_if(self):
        v = self.doc(["verdict", cert("upn_only.pem"), "--mode", "1"], 0)
        self.assertIn("compatibility_whatif", [r["code"] for r in v["profiles"][0]["reasons"]])
        self.assertEqual(v["profiles"][0]["settings"]["update"], "2025-08-12")
        p = run(["verdict", cert("upn_only.pem"), "--mode", "1", "--text"] + self.dir())
        self.assertIn(b"What-if", p.stdout)

    def test_samba_anchors(self):
        """--samba-anchors: the CAs Samba's KDC trusts; another issuer is 62."""
        args = ["verdict", cert("sid_ext.pem"), "--profile", "samba", "--samba-anchors"]
        self.assertEqual(self.doc(args + [cert("issuing_ca.pem")], 0)["outcome"], "allow")
        v = self.doc(args + [cert("root_ca.pem")], 3)
        self.assertEqual(v["kdc_error"]["code"], 62)
        p = run(args + ["/nonexistent.pem"] + self.dir())
        self.assertExit(p, 1, "missing anchors file")

    def test_key_trust(self):
        whfb = os.path.join(CERTS, "..", "verdict", "whfb.pem")
        v = self.doc(["verdict", whfb], 0)
        self.assertEqual(v["mapping"], {"strength": "strong", "method": "key_trust"})
        self.assertEqual(len(v["key_credentials"]), 2)
        self.assertTrue(all(k["matches"] for k in v["key_credentials"]))

    def test_backdating(self):
        gap = 1893456000 - 1735689600  # carol's whenCreated - empty_subject.pem's notBefore
        args = ["verdict", cert("empty_subject.pem"), "--mode", "1", "--backdating"]
        self.assertEqual(self.doc(args + [str(gap)], 0)["profiles"][0]["backdating_seconds"], gap)
        self.assertEqual(self.doc(args + [str(gap - 1)], 3)["event"]["id"], 40)

    def test_options_anywhere(self):
        p = run(["--ldif", self.ldif, "--at", AT, "verdict", "--profile=samba", "--mode=0",
                 cert("upn_only.pem")])
        self.assertExit(p, 0)
        self.assertEqual(json.loads(p.stdout)["profiles"][0]["profile"], "samba")

    def test_text_and_pretty(self):
        p = run(["verdict", cert("upn_only.pem"), "--text"] + self.dir())
        self.assertExit(p, 3)
        out = p.stdout.decode()
        for text in ("Verdict      DENY on windows-2022 (mode 2", "KDC error    66 "
                     "KDC_ERR_CERTIFICATE_MISMATCH", "KDC event    39 (error)",
                     "found by upn_san", "altSecurityIdentities  X509:<I>", "[weak_mapping]"):
            self.assertIn(text, out)
        p = run(["verdict", cert("upn_only.pem"), "--pretty"] + self.dir())
        self.assertExit(p, 3)
        self.assertGreater(p.stdout.count(b"\n"), 20)
        json.loads(p.stdout)

    def test_bad_input_exits_1(self):
        bad_ldif = os.path.join(CERTS, "..", "dir", "bad_syntax.ldif")
        self.assertBadInput(run(["verdict", "--account", "alice"] + self.dir()),
                            "publishes no certificate")
        self.assertBadInput(run(["verdict", os.path.join(self.tmp, "none.pem")] + self.dir()),
                            "none.pem")
        self.assertBadInput(run(["verdict", "-"] + self.dir(), b"not a certificate\n"), "stdin")
        self.assertBadInput(run(["verdict", "--account", "a" * 513] + self.dir()), "512")
        self.assertBadInput(run(["verdict", "--account", "S-1-x"] + self.dir()), "SID")
        self.assertBadInput(run(["verdict", cert("sid_ext.pem"), "--ldif", bad_ldif]), "line 11")
        self.assertBadInput(run(["verdict", cert("sid_ext.pem"), "--ldif",
                                 os.path.join(self.tmp, "none.ldif")]), "none.ldif")
        self.assertBadInput(run(["verdict", cert("sid_ext.pem")] + DOWN_LDAP +
                                ["--ldap-bind-dn", "cn=x", "--ldap-password-file",
                                 os.path.join(self.tmp, "none.pw"), "--ldap-starttls"]),
                            "none.pw")

    def test_directory_down_exits_4(self):
        p = run(["verdict", cert("sid_ext.pem")] + DOWN_LDAP)
        self.assertExit(p, 4)
        self.assertEqual(p.stdout, b"")
        err = p.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.startswith("strongmap: directory: "), err)
        self.assertExit(run(["account", "henry"] + DOWN_LDAP), 4)

    def test_usage_errors(self):
        pem = cert("sid_ext.pem")
        for args in (["verdict", pem],  # no directory
                     ["verdict"] + self.dir(),  # neither FILE nor --account
                     ["verdict", pem, pem] + self.dir(),
                     ["verdict", pem, "--mode", "3"] + self.dir(),
                     ["verdict", pem, "--mode", "0"] + self.dir(),  # windows-2022 takes 1 or 2
                     ["verdict", pem, "--mode", "0", "--profile", "samba",
                      "--profile", "windows-2016"] + self.dir(),
                     ["verdict", pem, "--mode", "x"] + self.dir(),
                     ["verdict", pem, "--backdating", "-1"] + self.dir(),
                     ["verdict", pem, "--backdating", "4294967296"] + self.dir(),
                     ["verdict", pem, "--profile", "windows-2003"] + self.dir(),
                     ["verdict", pem, "--at", "soon"] + self.dir(),
                     ["verdict", pem, "--account"],
                     ["verdict", pem, "--ldif", self.ldif, "--ldap-uri", "ldap://x"],
                     ["verdict", pem, "--ldap-uri", "ldap://x"],
                     ["verdict", pem, "--ldap-uri", "https://x", "--ldap-base", "dc=x"],
                     ["verdict", pem, "--ldap-sasl-mech", "PLAIN"] + DOWN_LDAP,
                     ["verdict", pem, "--ldap-bind-dn", "cn=x"] + DOWN_LDAP,
                     # a simple bind over ldap:// without StartTLS: refused by the backend
                     ["verdict", pem, "--ldap-bind-dn", "cn=x,dc=example,dc=com",
                      "--ldap-password-file", self.pw] + DOWN_LDAP,
                     ["verdict", pem, "--text=yes"] + self.dir(),
                     ["account"] + self.dir(),
                     ["account", "a", "b"] + self.dir(),
                     ["account", "henry", "--account", "x"] + self.dir(),
                     ["inspect", pem, "--ldif", self.ldif],
                     ["inspect", pem, "--profile", "samba"],
                     ["sid", "extension", "S-1-5-21-1-2-3-4", "--mode", "1"]):
            with self.subTest(args=args[:6]):
                p = run(args)
                self.assertExit(p, 2, args)
                self.assertEqual(p.stdout, b"")
                self.assertNotEqual(p.stderr, b"")

    def test_usage_documents_exit_codes(self):
        p = run(["--help"])
        self.assertExit(p, 0)
        for text in (b"verdict [FILE]", b"account NAME", b"--ldap-uri", b"--profile",
                     b"3 verdict deny", b"4 directory unavailable"):
            self.assertIn(text, p.stdout)


class TestAccount(DirTestCase):
    def test_statuses(self):
        for name, status, code in (("henry", "ready", 0), ("gina", "ready", 0),
                                   ("alice@example.com", "at_risk", 3), ("bob", "blocked", 3),
                                   ("EXAMPLE\\henry", "ready", 0),
                                   ("cn=henry,cn=Users,dc=example,dc=com", "ready", 0)):
            with self.subTest(name=name):
                self.assertEqual(self.doc(["account", name], code)["status"], status)

    def test_document(self):
        # Samba ignores henry's lower-case "x509:" value: at risk on this fleet
        doc = self.doc(["account", "henry", "--profile", "windows-2016", "--profile", "samba"], 3)
        self.assertEqual(doc["status"], "at_risk")
        self.assertEqual(doc["account"]["sam"], "henry")
        self.assertEqual(doc["profiles"], ["windows-2016", "samba"])
        self.assertEqual(len(doc["certificates"]), 1)
        self.assertEqual(len(doc["certificates"][0]["profiles"]), 2)
        self.assertEqual(doc["altsecurityidentities"][0]["type"], "X509IssuerSerialNumber")

    def test_not_found(self):
        doc = self.doc(["account", "nobody-here"], 3)
        self.assertIsNone(doc["account"])
        self.assertEqual(doc["status"], "blocked")

    def test_text(self):
        p = run(["account", "henry", "--text"] + self.dir())
        self.assertExit(p, 0)
        out = p.stdout.decode()
        for text in ("Account      cn=henry,", "Status       READY", "Published certificates: 1",
                     "ALLOW; strong X509IssuerSerialNumber"):
            self.assertIn(text, out)

    def test_bad_names(self):
        for name in ("", "a" * 513, "S-1-5-x"):
            with self.subTest(name=name[:10]):
                self.assertBadInput(run(["account", name] + self.dir()))


# ---- terminal escapes in --text output (issue 15 point 8) ---------------------------------------

def der_tlv(tag, body):
    n = len(body)
    length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else b"\x82" + n.to_bytes(2, "big")
    return bytes([tag]) + length + body


def der_oid(text):
    parts = [int(x) for x in text.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for v in parts[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(reversed(chunk))
    return der_tlv(0x06, body)


# What a terminal acts on, or what reorders text: C0 but newline, DEL, C1, U+2028/U+2029, the
# bidirectional marks, embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


class TestTerminalEscapes(CliTestCase):
    """--text output escapes what certificates and directories bring: ESC sequences (clear the
    screen, set the title, colours), CR and LF (forged lines), C1 controls, bidi overrides.
    The fixture is made here with openssl: subject and SAN values hold them."""

    CN = "evil\x1b[2J\rspoof\nline"
    O = "M\u00fcller \u202egnp.exe\u202c c1 \u009b31m"
    UPN = "upn\x1b]0;title\x07\u2028x@example.com"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sm-cli-esc-")
        san = der_tlv(0x30, der_tlv(0x82, b"dns\x1b[2J.example.com")
                      + der_tlv(0x81, b"mail\r\nBcc:x@example.com")
                      + der_tlv(0x86, b"https://x.example/\x1b[31mred")
                      + der_tlv(0xA0, der_oid("1.3.6.1.4.1.311.20.2.3")
                                + der_tlv(0xA0, der_tlv(0x0C, cls.UPN.encode()))))
        cnf = os.path.join(cls.tmp, "req.cnf")
        with open(cnf, "w", encoding="ascii") as f:
            f.write("[req]\ndistinguished_name = dn\nprompt = no\nstring_mask = utf8only\n"
                    "[dn]\nCN = x\n[ext]\nsubjectAltName = DER:%s\n" % san.hex())
        cls.cert = os.path.join(cls.tmp, "escapes.pem")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                        os.path.join(cls.tmp, "key.pem"), "-out", cls.cert, "-days", "2",
                        "-config", cnf, "-extensions", "ext", "-utf8",
                        "-subj", "/CN=%s/O=%s" % (cls.CN, cls.O)],
                       check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def safe_text(self, p, code=0):
        self.assertExit(p, code)
        out = p.stdout.decode("utf-8")  # valid UTF-8 as well
        bad = sorted({hex(ord(c)) for c in UNSAFE.findall(out)})
        self.assertEqual(bad, [], "unescaped characters in --text output")
        return out

    def test_inspect(self):
        out = self.safe_text(run(["inspect", "--text", self.cert]))
        for line in ("  SAN        DNS dns\\x1b[2J.example.com\n",
                     "  SAN        email mail\\x0d\\x0aBcc:x@example.com\n",
                     "  SAN        URI https://x.example/\\x1b[31mred\n",
                     "  SAN        UPN upn\\x1b]0;title\\x07\\xe2\\x80\\xa8x@example.com\n"):
            self.assertIn(line, out)
        # the AD form of the names (altSecurityIdentities) quotes them raw; the subject line is
        # RFC 4514, which escapes C0 itself but not C1 nor bidi
        self.assertIn('<S>CN="evil\\x1b[2J\\x0dspoof\\x0aline",O=M\u00fcller '
                      '\\xe2\\x80\\xaegnp.exe\\xe2\\x80\\xac c1 \\xc2\\x9b31m\n', out)
        self.assertIn("M\u00fcller", out)  # printable UTF-8 stays as it is
        self.assertNotRegex(out, r"(?m)^(spoof|line|Bcc:)")  # no line forged by a CR or LF

    def test_altsecid_lint(self):
        value = "X509:<RFC822>a\x1b[2J\r\n\u202eb@example.com"
        out = self.safe_text(run(["altsecid", "lint", "--text", "--cert", self.cert, value]))
        self.assertIn("X509:<RFC822>a\\x1b[2J\\x0d\\x0a\\xe2\\x80\\xaeb@example.com\n", out)

    def test_account_from_the_directory(self):
        """Directory values (a computer account anyone may create) are escaped too."""
        sam = "evil\x1b[2J\r\x9b$"
        ldif = os.path.join(self.tmp, "esc.ldif")
        b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
        with open(ldif, "w", encoding="ascii") as f:
            f.write("dn: dc=example,dc=com\nobjectClass: domain\ndc: example\n\n"
                    "dn:: %s\nobjectClass: user\ncn:: %s\nsAMAccountName:: %s\n"
                    "userPrincipalName:: %s\nuserAccountControl: 512\n"
                    "altSecurityIdentities:: %s\n"
                    % (b64("cn=evil\x1b[2J,dc=example,dc=com"), b64("evil\x1b[2J"), b64(sam),
                       b64(self.UPN), b64("X509:<RFC822>m\x1b[2J@example.com")))
        p = run(["account", sam, "--text", "--ldif", ldif, "--at", AT])
        out = self.safe_text(p, 3)
        self.assertIn("sAMAccountName evil\\x1b[2J\\x0d\\xc2\\x9b$", out)
        self.assertIn("X509:<RFC822>m\\x1b[2J@example.com", out)

    def test_error_messages(self):
        """A bad value quoted in an error: one line, escaped the same way."""
        p = run(["altsecid", "lint", "X509:<I>\x1b[2J\u202e" + "a" * 5000])  # too long
        err = self.assertBadInput(p)
        self.assertIsNone(UNSAFE.search(err[:-1]), err)
        self.assertIn("\\x1b[2J\\xe2\\x80\\xae", err)


# ---- explain: KDC events (tests/data/events/, the directory of verdict and account) ----------

EVENTS = None  # tests/data/events, next to CERTS
UPN_ONLY_VALUE = "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>10006F5E4D3C2B1A"
MSG39 = ("The Key Distribution Center (KDC) encountered a user certificate that was valid but "
         "could not be mapped to a user in a secure way (such as via explicit mapping, key trust "
         "mapping, or a SID).\n")


def events(name):
    return os.path.join(CERTS, "..", "events", name)


def thumbprint(path):
    with open(path, encoding="ascii") as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S)
    return hashlib.sha1(base64.b64decode("".join(m.group(1).split()))).hexdigest().upper()


class TestExplain(DirTestCase):
    def explain(self, args, stdin=None):
        p = run(["explain"] + args + ["--ldif", self.ldif], stdin)
        self.assertExit(p, 0, args)
        self.assertEqual(p.stderr, b"", args)
        return json.loads(p.stdout.decode("utf-8"))

    def test_wevtutil(self):
        doc = self.explain([events("wevtutil.xml")])
        self.assertEqual((len(doc["events"]), doc["skipped"], doc["directory"]), (8, 2, "ldif"))
        alice = doc["events"][0]
        self.assertEqual((alice["id"], alice["level"], alice["code"]), (39, "error", "weak_mapping"))
        self.assertEqual(alice["account"]["lookup"], "found")
        self.assertEqual(alice["account"]["dn"], "cn=alice,cn=Users,dc=example,dc=com")
        self.assertEqual(alice["certificate"]["issuer_ad"], KB_ISSUER_AD)
        self.assertEqual(alice["fix"]["altsecurityidentities"], UPN_ONLY_VALUE)
        self.assertEqual(alice["fix"]["command"], "Set-ADUser -Identity 'alice' -Add "
                         "@{altSecurityIdentities='" + UPN_ONLY_VALUE + "'}")
        # henry publishes upn_only.pem and holds its value already (in lower case)
        henry = doc["events"][1]
        self.assertTrue(henry["certificate"]["from_published_certificate"])
        self.assertEqual(henry["holds"].lower(), UPN_ONLY_VALUE.lower())
        self.assertIsNone(henry["fix"]["altsecurityidentities"])
        # 41: the certificate carries alice's SID
        mallory = doc["events"][3]
        self.assertEqual(mallory["code"], "sid_mismatch")
        self.assertEqual(mallory["sid_owner"], "cn=alice,cn=Users,dc=example,dc=com")
        self.assertIsNone(mallory["fix"]["altsecurityidentities"])
        # 45: a user name with every PowerShell quote, an issuer with a quoted comma
        eve = doc["events"][4]
        self.assertEqual(eve["account"]["dn"], "cn=eve,cn=Users,dc=example,dc=com")
        self.assertEqual(eve["certificate"]["X509IssuerSerialNumber"],
                         'X509:<I>C=US,O="Fabrikam, Inc.",CN=Fabrikam Issuing CA 01<SR>78695A4B3C2D1E8F00')
        self.assertIn("NTAuthCA", eve["fix"]["command"])
        self.assertEqual(doc["events"][5]["account"]["sam"], "gina")  # 21: EXAMPLE\\gina
        ws03 = doc["events"][6]
        self.assertEqual(ws03["fix"]["command"].split()[0], "Set-ADComputer")
        self.assertEqual(doc["events"][7]["account"], {"lookup": "not_found"})
        self.assertEqual(doc["by_ca"][0], {"issuer": KB_ISSUER_AD, "events": [0, 1, 2, 3, 6, 7]})
        self.assertEqual(len(doc["by_account"]), 8)

    def test_published_certificate(self):
        """An event with the real thumbprint of the certificate henry publishes."""
        text = (MSG39 + "User: henry\nCertificate Issuer: CN=Example Issuing CA, DC=example, "
                "DC=com\nCertificate Serial Number: 1A2B3C4D5E6F0010\nCertificate Thumbprint: "
                + thumbprint(cert("upn_only.pem")) + "\n")
        ev = self.explain(["-"], text.encode())["events"][0]
        self.assertTrue(ev["certificate"]["from_published_certificate"])
        self.assertEqual(ev["certificate"]["X509IssuerSerialNumber"], UPN_ONLY_VALUE)
        codes = [f["code"] for f in ev["findings"]]
        self.assertNotIn("rebuilt_differs", codes)

    def test_every_form_agrees(self):
        utf8 = self.explain([events("get-winevent.xml")])
        utf16 = self.explain([events("get-winevent-utf16.xml")])
        self.assertEqual(utf8, utf16)
        self.assertIn("issuer_from_ntauth", [f["code"] for f in utf8["events"][0]["findings"]])
        self.assertEqual(utf8["events"][0]["fix"]["altsecurityidentities"], UPN_ONLY_VALUE)
        viewer = self.explain([events("eventviewer.txt")])
        self.assertEqual([e["id"] for e in viewer["events"]], [39, 41])
        self.assertEqual(viewer["events"][0]["fields"]["user"], "alice")
        self.assertEqual(viewer["events"][0]["fix"], utf8["events"][0]["fix"])
        msgs = self.explain([events("messages.txt")])
        self.assertEqual([e["id"] for e in msgs["events"]], [39, 40, 21, 45])
        with open(events("messages.txt"), "rb") as f:
            self.assertEqual(self.explain(["-"], f.read()), msgs)

    def test_text(self):
        p = run(["explain", "--text", events("wevtutil.xml"), "--ldif", self.ldif])
        self.assertExit(p, 0)
        out = p.stdout.decode("utf-8")
        self.assertIn("8 KDC events, 8 accounts, 3 issuing CAs; 2 other events skipped", out)
        self.assertIn("Account cn=alice,cn=Users,dc=example,dc=com (found)", out)
        self.assertIn("Set-ADUser -Identity 'alice' -Add @{altSecurityIdentities='"
                      + UPN_ONLY_VALUE + "'}", out)
        self.assertIn("By issuing CA\n  " + KB_ISSUER_AD + ": 6 events ([0] [1] [2] [3] [6] [7])", out)

    def test_without_directory(self):
        doc = json.loads(run(["explain", events("wevtutil.xml")]).stdout)
        self.assertIsNone(doc["directory"])
        self.assertEqual(doc["events"][0]["account"], {"lookup": "no_directory"})
        self.assertEqual(doc["events"][0]["fix"]["altsecurityidentities"], UPN_ONLY_VALUE)

    def test_hostile(self):
        laughs = (b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                  b"<Event><EventData><Data>&b;</Data></EventData></Event>")
        self.assertBadInput(run(["explain", "-"], laughs), "DOCTYPE")
        self.assertBadInput(run(["explain"], b"<a>" * 200 + b"</a>" * 200), "nested too deep")
        self.assertBadInput(run(["explain"], b"<Event><x y='" + b"A" * 100000 + b"'/></Event>"),
                            "attribute")
        with open(events("wevtutil.xml"), "rb") as f:
            self.assertBadInput(run(["explain"], f.read()[:900]), "not well-formed", "byte 900")
        self.assertBadInput(run(["explain"], b" " * (8 * 1024 * 1024 + 1)), "too large")
        self.assertBadInput(run(["explain"], b""), "empty")
        self.assertBadInput(run(["explain"], b"nothing to see\n"), "no KDC event")
        self.assertBadInput(run(["explain"], b"User: \xc3\x28\n"), "UTF-8")

    def test_json_flag(self):
        default = run(["explain", events("messages.txt")]).stdout
        self.assertEqual(run(["explain", "--json", events("messages.txt")]).stdout, default)
        self.assertEqual(run(["explain", "--text", events("messages.txt"), "--json"]).stdout,
                         default)
        self.assertExit(run(["inspect", "--json", cert("upn_only.pem")]), 2)

    def test_usage_and_directory_down(self):
        self.assertExit(run(["explain", events("wevtutil.xml"), events("messages.txt")]), 2)
        self.assertExit(run(["explain", events("wevtutil.xml"), "--profile", "samba"]), 2)
        p = run(["explain", events("wevtutil.xml")] + DOWN_LDAP)
        self.assertExit(p, 4)
        self.assertIn("directory", p.stderr.decode())


# ---- runner -------------------------------------------------------------------------------------

def main():
    global CLI, CERTS
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--certs", required=True)
    args, rest = ap.parse_known_args()
    CLI = os.path.abspath(args.cli)
    CERTS = os.path.abspath(args.certs)
    if not os.access(CLI, os.X_OK):
        print(f"not executable: {CLI}")
        print("0 passed, 1 failed")
        return 1
    if not glob.glob(os.path.join(CERTS, "*.pem")):
        print(f"no fixtures in {CERTS}")
        print("0 passed, 1 failed")
        return 1

    prog = unittest.main(module=__name__, argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    passed = r.testsRun - failed - len(r.skipped)
    sys.stdout.flush()
    if r.expectedFailures:
        print(f"{len(r.expectedFailures)} expected failure(s) (known bugs, counted as passed): "
              + ", ".join(t.id().split(".")[-1] for t, _ in r.expectedFailures))
    if r.skipped:
        print(f"{len(r.skipped)} skipped: " + ", ".join(t.id().split(".")[-1] for t, _ in r.skipped))
    print(f"{passed} passed, {failed} failed")
    if r.testsRun == 0:
        return 1
    return 0 if r.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
