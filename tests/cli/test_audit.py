#!/usr/bin/env python3
"""Tests of `strongmap audit` (unittest, Python 3 standard library, python3-yaml and
python3-jsonschema for the OpenAPI schema).

    test_audit.py --cli PATH/strongmap --data tests/data --examples examples

With examples/demo.ldif: every JSON line valid against openapi/strongmapd.yaml's AuditLine,
the accounts walked, the duplicate (judy holds henry's value in other case), the summary as
the last line; the CSV (RFC 4180, read back with the csv module) with one row per account
and the closing comment; --fail-on, --since, the usage errors. With a generated LDIF big
enough to take a while: SIGINT and SIGTERM leave valid output whose last line says it is
partial (JSON and CSV), exit 128 + the signal; the progress lines on stderr, plain when not a
terminal and redrawn on one (a pty).
"""

import argparse
import csv
import html.parser
import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

CLI = DATA = EXAMPLES = SPEC = None
AT = "2026-06-01T00:00:00Z"


def run(args, timeout=60):
    return subprocess.run([CLI] + list(args), capture_output=True, timeout=timeout)


def demo(*args):
    return run(["audit", "--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--at", AT,
                "--progress", "0"] + list(args))


def lines(out):
    return [json.loads(l) for l in out.decode().splitlines()]


def cert_b64(name):
    with open(os.path.join(DATA, "certs", name), encoding="ascii") as f:
        return "".join(l.strip() for l in f if not l.startswith("-----"))


def big_ldif(path, n):
    """@n users, each publishing sid_ext.pem (a verdict each) and holding a value."""
    b64 = cert_b64("sid_ext.pem")
    with open(path, "w", encoding="ascii") as f:
        f.write("dn: DC=example,DC=com\nobjectClass: domain\ndc: example\n\n")
        for i in range(n):
            f.write(f"dn: CN=u{i},CN=Users,DC=example,DC=com\nobjectClass: user\n"
                    f"sAMAccountName: u{i}\nuserPrincipalName: u{i}@example.com\n"
                    f"userCertificate:: {b64}\n"
                    f"altSecurityIdentities: X509:<SKI>{i:08X}\n\n")


class Demo(unittest.TestCase):
    def test_jsonl(self):
        p = demo()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        docs = lines(p.stdout)
        schema = SPEC.resolve(SPEC.doc["components"]["schemas"]["AuditLine"])
        for d in docs:
            SPEC.validate(schema, d)
        accounts, summary = docs[:-1], docs[-1]
        self.assertTrue(summary["summary"])
        self.assertFalse(summary["partial"])
        self.assertIsNone(summary["stopped_by"])
        sams = [a["sam"] for a in accounts]
        self.assertEqual(sams, ["mallory", "erin", "frank", "gina", "henry", "judy"])
        self.assertEqual(summary["accounts"], 6)
        self.assertEqual(summary["ready"] + summary["at_risk"] + summary["blocked"], 6)
        by = {a["sam"]: a for a in accounts}
        self.assertEqual(by["mallory"]["status"], "at_risk")
        # henry holds the value (lower case), judy a copy: both flagged, each naming the other
        # (the first holder too: the first pass knows every holder before any line is written)
        judy = [v for v in by["judy"]["altsecurityidentities"] if v["duplicate"]]
        self.assertEqual(len(judy), 1)
        self.assertEqual(judy[0]["holders"], ["cn=henry,cn=Users,dc=example,dc=com"])
        self.assertEqual(by["judy"]["duplicates"], 1)
        self.assertTrue(any("one account only" in f for f in by["judy"]["fix"]))
        henry = [v for v in by["henry"]["altsecurityidentities"] if v["duplicate"]]
        self.assertEqual(len(henry), 1)
        self.assertEqual(henry[0]["holders"], ["cn=judy,cn=Users,dc=example,dc=com"])
        self.assertEqual(by["henry"]["duplicates"], 1)
        self.assertTrue(any("one account only" in f for f in by["henry"]["fix"]))
        for sam in ("mallory", "erin", "frank", "gina"):
            self.assertEqual(by[sam]["duplicates"], 0, sam)
        self.assertEqual(summary["duplicate_values"], 2)
        # henry publishes a certificate his value matches on Windows; Samba reads "x509:"
        # case-sensitively and ignores it
        hv = by["henry"]["altsecurityidentities"][0]
        self.assertEqual(len(by["henry"]["certificates"]), 1)
        self.assertEqual((hv["readers"], hv["matches_windows"], hv["matches_samba"],
                          hv["stale"]), ("windows", True, False, False))
        # no published certificate: nothing is known to match, nothing is stale
        self.assertIsNone(by["erin"]["altsecurityidentities"][0]["matches_windows"])
        self.assertFalse(by["erin"]["altsecurityidentities"][0]["stale"])

    def test_csv(self):
        p = demo("--format", "csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode()
        body = [l for l in text.splitlines(True) if not l.startswith("#")]
        rows = list(csv.DictReader(io.StringIO("".join(body))))
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[0]["dn"], "cn=mallory,cn=Users,dc=example,dc=com")
        self.assertEqual(rows[0]["status"], "at_risk")
        self.assertIn("no_strong_path", rows[0]["reasons"])
        self.assertTrue(rows[0]["fix"])
        for sam in ("henry", "judy"):
            row = [r for r in rows if r["sam"] == sam][0]
            self.assertEqual(row["duplicates"], "1", sam)
            self.assertIn("duplicate_value", row["reasons"].split(";"))
        judy = [r for r in rows if r["sam"] == "judy"][0]
        self.assertIn('"X509:<I>', judy["fix"])  # quotes survive the CSV quoting
        erin = [r for r in rows if r["sam"] == "erin"][0]
        self.assertEqual(erin["fix"], "")
        self.assertTrue(text.splitlines()[-1].startswith("# complete: 6 accounts"))
        self.assertEqual(sum(l.startswith("#") for l in text.splitlines()), 1)

    def test_csv_hostile_names(self):
        """A name a spreadsheet would run as a formula gets a leading apostrophe; quotes,
        commas and a line break stay inside their field."""
        with tempfile.TemporaryDirectory() as t:
            path = os.path.join(t, "h.ldif")
            with open(path, "w", encoding="utf-8") as f:
                f.write("dn: DC=example,DC=com\nobjectClass: domain\n\n"
                        'dn: CN=x\\, \\"y\\",CN=Users,DC=example,DC=com\nobjectClass: user\n'
                        "sAMAccountName: =HYPERLINK(1)\n"
                        "userPrincipalName:: " + __import__("base64").b64encode(
                            b"a\nb@example.com").decode() + "\n"
                        "altSecurityIdentities: X509:<SKI>0A0B\n\n")
            p = run(["audit", "--ldif", path, "--format", "csv", "--progress", "0"])
            self.assertEqual(p.returncode, 0, p.stderr)
            text = p.stdout.decode()
            body = "".join(l for l in text.splitlines(True) if not l.startswith("#"))
            rows = list(csv.DictReader(io.StringIO(body)))
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0]["dn"], 'CN=x\\, \\"y\\",CN=Users,DC=example,DC=com')
            self.assertEqual(rows[0]["sam"], "'=HYPERLINK(1)")
            self.assertEqual(rows[0]["upn"], "a\nb@example.com")

    def test_fail_on(self):
        self.assertEqual(demo("--fail-on", "at_risk").returncode, 3)
        self.assertEqual(demo("--fail-on", "blocked").returncode, 0)

    def test_profiles(self):
        p = demo("--profile", "windows-2016", "--profile", "samba")
        self.assertEqual(p.returncode, 0, p.stderr)
        docs = lines(p.stdout)
        schema = SPEC.resolve(SPEC.doc["components"]["schemas"]["AuditLine"])
        for d in docs[:-1]:
            SPEC.validate(schema, d)
            self.assertEqual([x["profile"] for x in d["profiles"]], ["windows-2016", "samba"])

    def test_since(self):
        with tempfile.TemporaryDirectory() as t:
            path = os.path.join(t, "d.ldif")
            with open(os.path.join(EXAMPLES, "demo.ldif"), encoding="utf-8") as f:
                text = f.read()
            # judy changed in 2026, henry in 2024; the others have no whenChanged
            text = text.replace("dn: cn=judy,", "dn: cn=judy,", 1)
            out = []
            for block in text.split("\n\n"):
                if block.startswith("dn: cn=judy,"):
                    block += "\nwhenChanged: 20260301120000.0Z"
                elif block.startswith("dn: cn=henry,"):
                    block += "\nwhenChanged: 20240301120000.0Z"
                out.append(block)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n\n".join(out))
            p = run(["audit", "--ldif", path, "--at", AT, "--progress", "0",
                     "--since", "2025-01-01T00:00:00Z"])
            self.assertEqual(p.returncode, 0, p.stderr)
            docs = lines(p.stdout)
            self.assertEqual([d["sam"] for d in docs[:-1]], ["judy"])
            self.assertEqual(docs[0]["when_changed"], "2026-03-01T12:00:00Z")
            # "later than": the very second is excluded
            p = run(["audit", "--ldif", path, "--progress", "0",
                     "--since", "2026-03-01T12:00:00Z"])
            self.assertEqual(lines(p.stdout)[-1]["accounts"], 0)
            p = run(["audit", "--ldif", path, "--progress", "0",
                     "--since", "2020-01-01T00:00:00Z"])
            self.assertEqual([d["sam"] for d in lines(p.stdout)[:-1]], ["henry", "judy"])

    def test_usage(self):
        ldif = os.path.join(EXAMPLES, "demo.ldif")
        for args in (["audit"], ["audit", "--ldif", ldif, "--format", "xml"],
                     ["audit", "--ldif", ldif, "--fail-on", "never"],
                     ["audit", "--ldif", ldif, "--since", "yesterday"],
                     ["audit", "--ldif", ldif, "--page-size", "5"],
                     ["audit", "--ldif", ldif, "--text"], ["audit", "--ldif", ldif, "--pretty"],
                     ["audit", "--ldif", ldif, "extra"],
                     ["audit", "--ldap-uri", "ldap://127.0.0.1:1", "--ldap-base", "DC=x",
                      "--page-size", "0"],
                     ["audit", "--ldap-uri", "ldap://127.0.0.1:1", "--ldap-base", "DC=x",
                      "--page-size", "1001"],
                     ["account", "x", "--ldif", ldif, "--format", "csv"]):
            p = run(args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertEqual(len(p.stderr.decode().strip().splitlines()), 1, (args, p.stderr))
            self.assertEqual(p.stdout, b"", args)

    def test_no_directory(self):
        # nothing listens there: exit 4, and the output still ends with a partial summary
        p = run(["audit", "--ldap-uri", "ldap://127.0.0.1:9", "--ldap-base", "DC=x",
                 "--progress", "0"])
        self.assertEqual(p.returncode, 4, p.stderr)
        docs = lines(p.stdout)
        self.assertEqual(len(docs), 1)
        self.assertEqual((docs[0]["partial"], docs[0]["stopped_by"]), (True, "directory"))


class Certs(unittest.TestCase):
    """--certs: certificates from a test CA (tests/lib/pki.py) that the demo directory's NTAuth
    store trusts, in a folder (PEM with text around it, a bundle with a broken block, DER, a
    .p7b; a FIFO, a dangling link, a file over the size bound, others left alone) and a file,
    each on the line of the account a DC maps it to."""

    @classmethod
    def setUpClass(cls):
        import base64
        import pki  # tests/lib/pki.py
        cls.tmp = tempfile.TemporaryDirectory(prefix="sm-audit-certs-")
        t = cls.tmp.name
        p = cls.pki = pki.Pki(os.path.join(t, "pki"))
        p.ca("ca", "/DC=com/DC=example/CN=Audit Test CA", start="20200101000000Z",
             end="20400101000000Z")
        valid = dict(start="20250101000000Z", end="20350101000000Z")

        def upn(name, who, extra="", **kw):
            return p.issue(name, "ca", f"/CN={who}", "client_ext",
                           f"subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:{who}"
                           "@example.com\n" + extra, **kw)

        # the demo directory with this CA in its NTAuth store
        with open(p.path("ca"), encoding="ascii") as f:
            ca_b64 = "".join(l.strip() for l in f if not l.startswith("-----"))
        with open(os.path.join(EXAMPLES, "demo.ldif"), encoding="utf-8") as f:
            text = f.read()
        marker = "cn: NTAuthCertificates\n"
        assert marker in text
        text = text.replace(marker, marker + f"cACertificate:: {ca_b64}\n", 1)
        cls.ldif = os.path.join(t, "demo.ldif")
        with open(cls.ldif, "w", encoding="utf-8") as f:
            f.write(text)
        mallory_sid = [d for d in lines(demo().stdout)[:-1] if d["sam"] == "mallory"][0]["sid"]
        sid_ext = json.loads(run(["sid", "extension", mallory_sid]).stdout)
        erin = upn("erin", "erin", **valid)  # UPN only: weak; erin's value matches not it
        ivan = upn("ivan", "ivan", **valid)  # ivan's implicit UPN; no cert, no value: unwalked
        nobody = upn("nobody", "nobody", **valid)  # no such account
        gina_old = upn("gina_old", "gina", start="20200101000000Z", end="20250101000000Z")
        mallory = upn("mallory", "mallory", sid_ext["openssl_extension_config"], **valid)
        cls.certs = os.path.join(t, "certs")
        os.makedirs(os.path.join(cls.certs, "sub"))

        def read(path):
            with open(path, encoding="ascii") as f:
                return f.read()

        def write(name, data, mode="w"):
            with open(os.path.join(cls.certs, name), mode) as f:
                f.write(data)

        write("erin.pem", "subject=CN = erin\nissuer=Audit Test CA\n" + read(erin) + "\n")
        write("bundle.PEM", read(ivan) + "text between\n" + read(nobody) +
              "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        write("mallory.cer", base64.b64decode("".join(
            l for l in read(mallory).splitlines() if not l.startswith("-----"))), "wb")
        r = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", gina_old,
                            "-certfile", erin, "-outform", "DER", "-out",
                            os.path.join(cls.certs, "old.p7b")], capture_output=True)
        assert r.returncode == 0, r.stderr
        write("notes.txt", read(nobody))  # not named as a certificate: left alone
        write(os.path.join("sub", "x.pem"), read(nobody))  # not recursed
        os.mkfifo(os.path.join(cls.certs, "fifo.pem"))
        os.symlink("missing.pem", os.path.join(cls.certs, "dangling.pem"))
        with open(os.path.join(cls.certs, "huge.pem"), "wb") as f:
            f.truncate(33 * 1024 * 1024)  # sparse
        cls.alice = os.path.join(DATA, "certs", "sid_ext.pem")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def audit(self, *args):
        return run(["audit", "--ldif", self.ldif, "--at", AT, "--progress", "0"] + list(args))

    def test_jsonl(self):
        p = self.audit("--certs", self.certs, "--certs", self.alice)
        self.assertEqual(p.returncode, 0, p.stderr)
        docs = lines(p.stdout)
        schema = SPEC.resolve(SPEC.doc["components"]["schemas"]["AuditLine"])
        for d in docs:
            SPEC.validate(schema, d)
        by = {d["sam"]: d for d in docs[:-1]}
        sams = [d["sam"] for d in docs[:-1]]
        # the walk's accounts, then those certificates were given for (alice: sid_ext.pem;
        # ivan: his implicit UPN), neither holding a value or a published certificate
        self.assertEqual(sams[:6], ["mallory", "erin", "frank", "gina", "henry", "judy"])
        self.assertEqual(sorted(sams[6:]), ["alice", "ivan"])

        # erin: a strong value, ready without --certs; her certificate (UPN only) is on her
        # line, denied (the value does not match it), and the value is stale now
        e = by["erin"]
        self.assertEqual(e["status"], "at_risk")
        self.assertIn("given_certificate_denied", [r["code"] for r in e["reasons"]])
        self.assertEqual(len(e["certificates"]), 1)  # given twice (erin.pem, old.p7b): once
        c = e["certificates"][0]
        self.assertEqual((c["source"], c["file"], c["verdict"], c["subject"]),
                         ("given", os.path.join(self.certs, "erin.pem"), "deny", "CN=erin"))
        v = e["altsecurityidentities"][0]
        self.assertEqual((v["stale"], v["matches_windows"], v["matches_samba"]),
                         (True, False, False))
        self.assertEqual(e["stale"], 1)
        self.assertTrue(any("published or given" in f for f in e["fix"]), e["fix"])
        self.assertTrue(any(f.startswith("Set-ADUser") for f in e["fix"]), e["fix"])
        # mallory: at risk without --certs; a certificate with her SID makes her ready, and
        # her weak value (another subject) is stale
        m = by["mallory"]
        self.assertEqual(m["status"], "ready")
        self.assertEqual(m["reasons"][0]["code"], "strong_certificate")
        self.assertEqual(m["certificates"][0]["verdict"], "allow")
        self.assertEqual(m["certificates"][0]["file"], os.path.join(self.certs, "mallory.cer"))
        self.assertTrue(m["altsecurityidentities"][0]["stale"])
        # ivan: not walked (no value, no published certificate); his line from the bundle
        i = by["ivan"]
        self.assertEqual([(c["source"], c["file"]) for c in i["certificates"]],
                         [("given", os.path.join(self.certs, "bundle.PEM"))])
        self.assertEqual(by["alice"]["certificates"][0]["file"], self.alice)
        self.assertEqual(by["alice"]["certificates"][0]["verdict"], "allow")
        # the others: no certificate given, nothing changes; henry's published one stays
        self.assertEqual(by["henry"]["certificates"][0]["source"], "published")
        self.assertIsNone(by["henry"]["certificates"][0]["file"])
        for sam in ("frank", "gina", "judy"):
            self.assertEqual(by[sam]["certificates"], [], sam)
            self.assertEqual(by[sam]["given_not_evaluated"], 0)
        # the totals: erin twice (repeated), gina's expired, nobody's unmatched; unreadable:
        # the bundle's broken block, the FIFO, the dangling link, the file over 32 MiB
        s = docs[-1]
        self.assertEqual(s["given"], {"certificates": 7, "matched": 4, "unmatched": 1,
                                      "repeated": 1, "expired": 1, "unreadable": 4})
        self.assertEqual(s["accounts"], 8)
        err = p.stderr.decode()
        for name in ("fifo.pem", "dangling.pem", "huge.pem", "bundle.PEM"):
            self.assertIn(os.path.join(self.certs, name), err)
        for name in ("notes.txt", "x.pem", "erin.pem"):
            self.assertNotIn(name, err)

        # without --certs: erin ready, nothing stale; alice and ivan not audited
        p = self.audit()
        by = {d["sam"]: d for d in lines(p.stdout)[:-1]}
        self.assertEqual(by["erin"]["status"], "ready")
        self.assertFalse(by["erin"]["altsecurityidentities"][0]["stale"])
        self.assertEqual(by["mallory"]["status"], "at_risk")
        self.assertNotIn("ivan", by)
        self.assertIsNone(lines(p.stdout)[-1]["given"])

    def test_csv(self):
        p = self.audit("--certs", self.certs, "--format", "csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode().splitlines()
        rows = list(csv.DictReader(io.StringIO("\n".join(text[:-1]) + "\n")))
        erin = [r for r in rows if r["sam"] == "erin"][0]
        self.assertEqual((erin["certificates"], erin["certificates_denied"],
                          erin["certificates_given"], erin["stale"]), ("1", "1", "1", "1"))
        self.assertIn("given_certificate_denied", erin["reasons"].split(";"))
        self.assertIn("; 6 certificates given (3 matched, 1 unmatched, 1 repeated, 1 expired, "
                      "4 unreadable)", text[-1])

    def test_since_and_files(self):
        # --since applies to the accounts certificates were given for: ivan has no whenChanged
        p = self.audit("--certs", os.path.join(self.certs, "bundle.PEM"),
                       "--since", "2000-01-01T00:00:00Z")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("ivan", [d.get("sam") for d in lines(p.stdout)])
        # an empty folder: nothing given, nothing said
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty, exist_ok=True)
        p = self.audit("--certs", empty)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        self.assertEqual(lines(p.stdout)[-1]["given"]["certificates"], 0)
        # a file with no certificate at all: said and skipped, the audit goes on
        p = self.audit("--certs", os.path.join(self.certs, "notes.txt"),
                       "--certs", os.path.join(EXAMPLES, "demo.ldif"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"demo.ldif", p.stderr)
        self.assertEqual(lines(p.stdout)[-1]["given"]["unreadable"], 1)
        self.assertEqual(lines(p.stdout)[-1]["given"]["certificates"], 1)

    def test_per_account(self):
        """17 certificates for frank: the 16 with the latest notAfter are evaluated, the line
        says one was not."""
        folder = os.path.join(self.tmp.name, "frank")
        os.makedirs(folder, exist_ok=True)
        for i in range(17):
            pem = self.pki.issue(f"frank{i}", "ca", "/CN=frank", "client_ext",
                                 "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:"
                                 "frank@example.com", start="20250101000000Z",
                                 end=f"20{30 + i // 12}{1 + i % 12:02d}01000000Z")
            os.rename(pem, os.path.join(folder, f"frank{i:02d}.pem"))
        p = self.audit("--certs", folder)
        self.assertEqual(p.returncode, 0, p.stderr)
        f = [d for d in lines(p.stdout) if d.get("sam") == "frank"][0]
        self.assertEqual(len(f["certificates"]), 16)
        self.assertEqual(f["given_not_evaluated"], 1)
        files = [os.path.basename(c["file"]) for c in f["certificates"]]
        self.assertEqual(files, [f"frank{i:02d}.pem" for i in range(16, 0, -1)])  # newest first

    def test_bounds(self):
        p = self.audit(*(["--certs", self.alice] * 65))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--certs: at most 64", p.stderr)


class Report(html.parser.HTMLParser):
    """An audit's HTML report read back: its elements in order (tag, attributes), the text of
    each part the tests look at, the raw text of the script and the style."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.stack = [], []
        self.raw = {}  # script, style: their text as it is in the file
        self.totals, self.rows, self.cell, self.captions = {}, [], None, []
        self.in_dd, self.in_caption, self.row = None, False, None
        self.text_of = {"title": "", "h1": "", "header": ""}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self.stack.append(tag)
        if tag == "dd" and "data-k" in a:
            self.in_dd = a["data-k"]
        if tag == "tr" and "data-status" in a:
            self.row = {"status": a["data-status"], "cells": []}
        if tag in ("th", "td") and self.row is not None:
            self.cell = ""
        if tag == "figcaption":
            self.in_caption = True

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass
        if tag == "dd":
            self.in_dd = None
        if tag in ("th", "td") and self.row is not None and self.cell is not None:
            self.row["cells"].append(self.cell)
            self.cell = None
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        if tag == "figcaption":
            self.in_caption = False

    def handle_data(self, data):
        top = self.stack[-1] if self.stack else None
        if top in ("script", "style"):
            self.raw[top] = self.raw.get(top, "") + data
        if self.in_dd:
            self.totals[self.in_dd] = int(data)
        if self.cell is not None:
            self.cell += data
        if self.in_caption:
            self.captions.append(data)
        for k in self.text_of:
            if k in self.stack:
                self.text_of[k] += data


def sha256_b64(text):
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class Html(unittest.TestCase):
    """--format html: one file, no external asset; its totals, rows, escaping and policy."""

    HOSTILE_DN = "CN=\\<img src=x onerror=alert(1)\\>\\, \\\"q\\\" & 'ü',CN=Users,DC=example,DC=com"
    HOSTILE_VALUE = "X509:<I>DC=com,DC=example,CN=</td><script>alert(2)</script><SR>0102"

    @classmethod
    def setUpClass(cls):
        import base64
        cls.tmp = tempfile.TemporaryDirectory(prefix="sm-audit-html-")
        cls.ldif = os.path.join(cls.tmp.name, "hostile.ldif")
        b64 = lambda b: base64.b64encode(b).decode()
        with open(os.path.join(EXAMPLES, "demo.ldif"), encoding="utf-8") as f:
            demo_text = f.read()
        with open(cls.ldif, "w", encoding="utf-8") as f:
            f.write(demo_text.rstrip("\n") + "\n\n")
            sam = b64('<script>alert("x")</script>'.encode())
            upn = b64("jürgen&\"'@example.com".encode())
            f.write(f"dn:: {b64(cls.HOSTILE_DN.encode())}\nobjectClass: user\n"
                    f"sAMAccountName:: {sam}\nuserPrincipalName:: {upn}\n"
                    f"altSecurityIdentities:: {b64(cls.HOSTILE_VALUE.encode())}\n\n")
            f.write("dn: CN=nihon,CN=Users,DC=example,DC=com\nobjectClass: user\n"
                    f"sAMAccountName:: {b64('日本語&amp;'.encode())}\n"
                    f"altSecurityIdentities:: {b64(cls.HOSTILE_VALUE.lower().encode())}\n\n")
            f.write("dn: CN=bytes,CN=Users,DC=example,DC=com\nobjectClass: user\n"
                    f"sAMAccountName:: {b64(b'bad' + bytes([0xff, 0xfe, 0x01]) + b'end')}\n"
                    "altSecurityIdentities: X509:<SKI>0A0B0C\n\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def report(self, *args):
        p = run(["audit", "--ldif", self.ldif, "--at", AT, "--progress", "0", "--format", "html"]
                + list(args))
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode("utf-8")  # strict: valid UTF-8 whatever the names hold
        return text, Report(text)

    def test_structure(self):
        text, r = self.report()
        jsonl = lines(run(["audit", "--ldif", self.ldif, "--at", AT, "--progress", "0"]).stdout)
        summary, accounts = jsonl[-1], jsonl[:-1]
        # totals equal the JSON lines'
        for k in ("ready", "at_risk", "blocked", "errors", "certificates", "values",
                  "duplicate_values", "stale_values", "samba_only_values",
                  "windows_only_values"):
            self.assertEqual(r.totals[k], summary[k], k)
        self.assertEqual(r.totals["accounts"], summary["accounts"] + summary["errors"])
        # every account a row, its DN and status as in the JSON lines
        self.assertEqual(len(r.rows), len(accounts))
        self.assertEqual(sorted(row["cells"][1] for row in r.rows),
                         sorted(a["dn"] for a in accounts))
        by_dn = {row["cells"][1]: row for row in r.rows}
        for a in accounts:
            self.assertEqual(by_dn[a["dn"]]["status"], a["status"], a["dn"])
            self.assertEqual(by_dn[a["dn"]]["cells"][6], str(len(a["altsecurityidentities"])))
        # the charts: five inline SVG images, labelled
        svgs = [a for t, a in r.tags if t == "svg"]
        self.assertEqual(len(svgs), 5)
        self.assertTrue(all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs))
        self.assertEqual([c.strip() for c in r.captions],
                         ["By status", "By reason (accounts)", "By issuing CA (certificates)",
                          "By template (certificates)", "By DC profile (accounts)"])
        # nothing fetched: no src, href, srcset, url(), @import; one script, one style
        for tag, attrs in r.tags:
            for a in ("src", "href", "srcset", "action", "poster", "data"):
                self.assertNotIn(a, attrs, (tag, attrs))
            self.assertFalse(any(k.startswith("on") for k in attrs), (tag, attrs))
        self.assertNotIn("url(", r.raw["style"])
        self.assertNotIn("@import", r.raw["style"])
        self.assertEqual([t for t, _ in r.tags].count("script"), 1)
        self.assertEqual([t for t, _ in r.tags].count("style"), 1)
        # the policy: the script's and the style's hashes, nothing inline allowed otherwise
        csp = [a["content"] for t, a in r.tags if t == "meta"
               and a.get("http-equiv") == "Content-Security-Policy"]
        self.assertEqual(len(csp), 1)
        policy = dict(d.strip().split(" ", 1) for d in csp[0].split(";"))
        self.assertEqual(policy["default-src"], "'none'")
        self.assertEqual(policy["script-src"], f"'sha256-{sha256_b64(r.raw['script'])}'")
        self.assertEqual(policy["style-src"], f"'sha256-{sha256_b64(r.raw['style'])}'")
        self.assertNotIn("unsafe", csp[0])
        self.assertTrue(text.rstrip().endswith("</html>"))
        self.assertNotIn("Partial report", text)
        # accessible table: a caption, column headers with scope, a row header per row
        self.assertIn(("caption", {}), r.tags)
        cols = [a for t, a in r.tags if t == "th" and a.get("scope") == "col"]
        self.assertEqual(len(cols), 10)
        self.assertEqual(len([a for t, a in r.tags if t == "th" and a.get("scope") == "row"]),
                         len(accounts))

    def test_escaping(self):
        text, r = self.report()
        # what the directory holds comes back as text, never as markup
        by_dn = {row["cells"][1]: row for row in r.rows}
        hostile = by_dn[self.HOSTILE_DN]
        self.assertEqual(hostile["cells"][0], '<script>alert("x")</script>')
        self.assertIn(self.HOSTILE_VALUE, hostile["cells"][9])  # the duplicate's fix names it
        nihon = by_dn["CN=nihon,CN=Users,DC=example,DC=com"]
        self.assertEqual(nihon["cells"][0], "日本語&amp;")  # an entity in a name stays text
        bad = by_dn["CN=bytes,CN=Users,DC=example,DC=com"]
        self.assertEqual(bad["cells"][0], "bad\ufffd\ufffd\ufffdend")  # invalid UTF-8, a control
        self.assertNotIn("<script>alert", text)
        self.assertNotIn("<img", text)
        self.assertNotIn("</td><script>", text)
        self.assertEqual(text.count("<script>"), 1)
        # elements: only those the report writes
        allowed = {"html", "head", "meta", "title", "style", "body", "header", "h1", "p", "time",
                   "strong", "main", "section", "h2", "dl", "div", "dt", "dd", "figure",
                   "figcaption", "svg", "desc", "text", "g", "rect", "span", "label", "input",
                   "select", "option", "table", "caption", "thead", "tr", "th", "tbody", "td",
                   "ul", "li", "footer", "script"}
        self.assertEqual({t for t, _ in r.tags} - allowed, set())

    def test_given_and_profiles(self):
        # a certificate whose names are anybody's: its issuer shows in a chart, escaped
        text, r = self.report("--certs", os.path.join(DATA, "certs", "upn_only.pem"),
                              "--profile", "windows-2016", "--profile", "samba")
        self.assertEqual(r.totals["given"], 1)
        self.assertIn("CN=Example Issuing CA,DC=example,DC=com", text)
        alice = [row for row in r.rows if row["cells"][0] == "alice"][0]
        self.assertEqual(alice["cells"][4], "1")
        self.assertIn("windows-2016: ", alice["cells"][2])

    def test_partial(self):
        big = os.path.join(self.tmp.name, "big.ldif")
        big_ldif(big, Interrupt.N_BIG)
        p = subprocess.Popen([CLI, "audit", "--ldif", big, "--at", AT, "--progress", "1",
                              "--format", "html"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # the first pass's last line ("reading the values: N accounts, ...") comes when it
        # ends: signalled then, the walk is in its second pass (a second or less: waiting for
        # its first progress line would come too late)
        line = p.stderr.readline()
        while line and not re.search(rb"reading the values: \d+ accounts,", line):
            line = p.stderr.readline()
        self.assertTrue(line, "no end of the first pass on stderr")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 130, err)
        text = out.decode()
        r = Report(text)
        self.assertIn("Partial report.", text)
        self.assertIn("stopped by SIGINT", text)
        self.assertIn("(partial)", r.text_of["title"])
        self.assertLess(len(r.rows), Interrupt.N_BIG)  # none or some, never all
        self.assertEqual(r.totals["accounts"], len(r.rows))
        self.assertTrue(text.rstrip().endswith("</html>"))


class Interrupt(unittest.TestCase):
    N = 1500  # the progress tests' directory, audited whole
    N_BIG = 16000  # the interrupted one: seconds to audit whole, signalled after one line

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ldif = os.path.join(cls.tmp.name, "small.ldif")
        big_ldif(cls.ldif, cls.N)
        cls.big = os.path.join(cls.tmp.name, "big.ldif")
        big_ldif(cls.big, cls.N_BIG)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def interrupt(self, sig, fmt):
        p = subprocess.Popen([CLI, "audit", "--ldif", self.big, "--at", AT, "--progress", "0",
                              "--format", fmt], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = p.stdout.readline()  # the first lines are out: the walk is under way
        self.assertTrue(first)
        p.send_signal(sig)
        rest = p.stdout.read()  # the same buffered reader: what readline() read ahead stays
        err = p.stderr.read()
        p.wait(timeout=60)
        self.assertEqual(p.returncode, 128 + sig, err)
        self.assertIn(b"partial", err)
        return (first + rest).decode(), err

    def test_sigint_jsonl(self):
        out, _ = self.interrupt(signal.SIGINT, "jsonl")
        docs = [json.loads(l) for l in out.splitlines()]  # every line whole
        last = docs[-1]
        self.assertEqual((last["summary"], last["partial"], last["stopped_by"]),
                         (True, True, "SIGINT"))
        self.assertEqual(last["accounts"], len(docs) - 1)
        self.assertLess(last["accounts"], self.N_BIG)
        schema = SPEC.resolve(SPEC.doc["components"]["schemas"]["AuditLine"])
        SPEC.validate(schema, last)
        SPEC.validate(schema, docs[0])

    def test_sigterm_csv(self):
        out, _ = self.interrupt(signal.SIGTERM, "csv")
        text = out.splitlines()
        self.assertTrue(text[-1].startswith("# partial, stopped by SIGTERM: "), text[-1])
        rows = list(csv.DictReader(io.StringIO("\n".join(text[:-1]) + "\n")))
        self.assertGreater(len(rows), 0)
        self.assertTrue(all(r["fix"] is not None for r in rows))  # every row complete
        self.assertIn(f": {len(rows)} accounts", text[-1])

    def test_progress_plain(self):
        p = run(["audit", "--ldif", self.ldif, "--at", AT, "--progress", "1"], timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        err = p.stderr.decode().splitlines()
        self.assertGreaterEqual(len(err), 1)
        self.assertNotIn("\r", p.stderr.decode())
        self.assertRegex(err[-1], rf"^audit: {self.N} accounts \(.*\), [0-9.]+/s, "
                                  rf"{self.N} of {self.N}, ETA 0 s$")
        # an LDIF's first pass counts every account: an exact total and ETA, never estimated
        self.assertNotIn("estimated", p.stderr.decode())

    def test_progress_tty(self):
        master, slave = pty.openpty()
        p = subprocess.Popen([CLI, "audit", "--ldif", self.ldif, "--at", AT],
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                got += chunk
            elif p.poll() is not None:
                break
        p.wait(timeout=60)
        os.close(master)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"\r\x1b[K", got)  # redrawn in place
        self.assertRegex(got.decode(), r"of 1500, ETA [0-9]+ s")
        self.assertNotIn(b"estimated", got)  # the LDIF's total is exact


def main():
    global CLI, DATA, EXAMPLES, SPEC
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--examples", required=True)
    args, rest = ap.parse_known_args()
    CLI, DATA, EXAMPLES = args.cli, args.data, args.examples
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from openapi import Spec  # tests/lib/openapi.py
    SPEC = Spec()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
