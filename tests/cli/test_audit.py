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
import io
import json
import os
import pty
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
                                  rf"{self.N} of {self.N}")

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
        self.assertRegex(got.decode(), r"ETA [0-9]+ s|of 1500")


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
