#!/usr/bin/env python3
"""`strongmap audit` against a real slapd (tests/lib/slapd.py): the paged walk (RFC 2696) with
pages smaller than the directory gives the same JSON lines as the LDIF backend on the same
entries; the pages are counted by a proxy in front of slapd (tests/lib/delayproxy.py); the
--since filter sent to the server (whenChanged) agrees with the LDIF's, and so does --certs; a
slapd that stops answering in mid-walk leaves a partial output and exit 4 within the
operation timeout; SIGINT between pages, a partial output and exit 130, and in the first pass
(the values), the summary alone; OpenLDAP's size limit on a paged search.

The directory: examples/demo.ldif and four accounts of this test: ann publishes sid_ext.pem
and holds a value that matches it and one that matches nothing (stale); ben holds ann's stale
value in other case (a duplicate); cal, a computer, a strong value; dan a certificate only.

    test_audit.py --cli build/cli/strongmap --data tests/data [unittest options]
"""

import argparse
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import slapd as slapd_mod  # noqa: E402

BASE = "dc=example,dc=com"
AT = "2026-06-01T00:00:00Z"
STALE = "X509:<SHA1-PUKEY>00112233445566778899AABBCCDDEEFF00112233"
ARGS = S = TMP = LDIF = None


def cert_b64(name):
    with open(os.path.join(ARGS.data, "certs", name), encoding="ascii") as f:
        return "".join(l.strip() for l in f if not l.startswith("-----"))


def extra_accounts(binary):
    """This test's accounts; @binary: userCertificate;binary, as slapd takes it."""
    b64 = cert_b64("sid_ext.pem")
    sha1 = hashlib.sha1(base64.b64decode(b64)).hexdigest().upper()
    uc = "userCertificate;binary" if binary else "userCertificate"
    return f"""
dn: cn=ann,cn=Users,{BASE}
objectClass: user
cn: ann
sAMAccountName: ann
userPrincipalName: ann@example.com
{uc}:: {b64}
altSecurityIdentities: X509:<SHA1-PUKEY>{sha1}
altSecurityIdentities: {STALE}
whenChanged: 20260301120000.0Z

dn: cn=ben,cn=Users,{BASE}
objectClass: user
cn: ben
sAMAccountName: ben
altSecurityIdentities: {STALE.lower().replace("x509:<sha1-pukey>", "X509:<SHA1-PUKEY>")}
whenChanged: 20250101000000.0Z

dn: cn=cal,cn=Computers,{BASE}
objectClass: computer
cn: cal
sAMAccountName: CAL$
dNSHostName: cal.example.com
altSecurityIdentities: X509:<SKI>0A0B0C0D0E0F
whenChanged: 20260401000000.0Z

dn: cn=dan,cn=Users,{BASE}
objectClass: user
cn: dan
sAMAccountName: dan
{uc}:: {b64}
"""


def read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def run(args, timeout=120):
    return subprocess.run([ARGS.cli] + list(args), capture_output=True, timeout=timeout)


def audit_ldap(*args, uri=None):
    return run(["audit", "--ldap-uri", uri or S.uri, "--ldap-base", BASE, "--at", AT,
                "--progress", "0"] + list(args))


def audit_ldif(*args):
    return run(["audit", "--ldif", LDIF, "--at", AT, "--progress", "0"] + list(args))


def docs(p):
    return [json.loads(l) for l in p.stdout.decode().splitlines()]


def setUpModule():
    global S, TMP, LDIF
    TMP = tempfile.TemporaryDirectory(prefix="sm-audit-")
    S = slapd_mod.Slapd(TMP.name, ldif_text=slapd_mod.demo_ldif_for_slapd() +
                        extra_accounts(binary=True))
    S.start_anywhere()
    LDIF = os.path.join(TMP.name, "same.ldif")
    with open(os.path.join(ROOT, "examples", "demo.ldif"), encoding="utf-8") as f:
        demo = f.read()
    with open(LDIF, "w", encoding="utf-8") as f:
        f.write(demo.rstrip("\n") + "\n" + extra_accounts(binary=False))


def tearDownModule():
    if S is not None:
        S.kill()
    if TMP is not None:
        TMP.cleanup()


class Proxy:
    """tests/lib/delayproxy.py in front of slapd: counts the SearchRequests."""

    def __init__(self, delay_ms=1, target=None):
        """@target: the slapd to forward to (default the module's)."""
        self.port_file = os.path.join(TMP.name, f"proxy{time.monotonic_ns()}.port")
        self.stats = self.port_file + ".stats"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "lib", "delayproxy.py"),
             (target or S).uri.split("//")[1].rstrip("/"), "--delay-ms", str(delay_ms),
             "--port-file", self.port_file, "--stats", self.stats])
        deadline = time.monotonic() + 20
        while not (os.path.exists(self.port_file) and read(self.port_file).strip()):
            if time.monotonic() > deadline:
                raise RuntimeError("delayproxy did not start")
            time.sleep(0.05)
        self.uri = f"ldap://127.0.0.1:{read(self.port_file).strip()}/"

    def searches(self):
        if not os.path.exists(self.stats):
            return 0
        fields = dict(kv.split("=") for kv in read(self.stats).split())
        return int(fields["searches"])

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


class Audit(unittest.TestCase):
    def test_paged_same_as_ldif(self):
        ref = audit_ldif()
        self.assertEqual(ref.returncode, 0, ref.stderr)
        want = docs(ref)
        accounts = len(want) - 1
        self.assertGreater(accounts, 4)  # several pages of 2
        for page in ("1", "2", "1000"):
            p = audit_ldap("--page-size", page)
            self.assertEqual(p.returncode, 0, (page, p.stderr))
            self.assertEqual(docs(p), want, page)
        # what the directory holds, as the audit says it
        by = {d["sam"]: d for d in want[:-1]}
        ann = {v["value"]: v for v in by["ann"]["altsecurityidentities"]}
        self.assertTrue(ann[STALE]["stale"])
        self.assertTrue(ann[STALE]["duplicate"])  # ann holds it first, flagged all the same
        self.assertEqual(ann[STALE]["holders"], [f"cn=ben,cn=Users,{BASE}"])
        self.assertEqual(by["ann"]["stale"], 1)
        stale_fix = [f for f in by["ann"]["fix"] if STALE in f and "matches none" in f]
        self.assertEqual(len(stale_fix), 1)
        self.assertTrue([v for v in ann.values() if v is not ann[STALE]][0]["matches_windows"])
        ben = by["ben"]["altsecurityidentities"][0]
        self.assertTrue(ben["duplicate"])
        self.assertEqual(ben["holders"], [f"cn=ann,cn=Users,{BASE}"])
        self.assertFalse(ben["stale"])  # ben publishes no certificate: nothing to be stale for
        self.assertTrue(by["CAL$"]["computer"])
        self.assertEqual(len(by["dan"]["certificates"]), 1)
        self.assertEqual(by["dan"]["altsecurityidentities"], [])
        self.assertNotIn("eve", by)  # neither a certificate nor a value
        summary = want[-1]
        # ann's and ben's, henry's and judy's (examples/demo.ldif)
        self.assertEqual((summary["duplicate_values"], summary["stale_values"]), (4, 1))

    def test_pages_counted(self):
        """--page-size 2 asks for the walk page by page: the proxy sees the extra searches."""
        proxy = Proxy()
        try:
            p = audit_ldap("--page-size", "1000", uri=proxy.uri)
            self.assertEqual(p.returncode, 0, p.stderr)
            one_page = proxy.searches()
            accounts = len(docs(p)) - 1
            p = audit_ldap("--page-size", "2", uri=proxy.uri)
            self.assertEqual(p.returncode, 0, p.stderr)
            paged = proxy.searches() - one_page
            # the lookups are the same in both runs; the walk takes ceil(n/2) pages, not one
            print(f"searches: {one_page} with one page, {paged} with pages of 2, "
                  f"{accounts} accounts", file=sys.stderr)
            self.assertGreaterEqual(paged - one_page, (accounts + 1) // 2 - 1,
                                    (one_page, paged, accounts))
        finally:
            proxy.close()

    def test_since(self):
        for since, want in (("2025-06-01T00:00:00Z", ["ann", "CAL$"]),
                            ("2024-01-01T00:00:00Z", ["ann", "ben", "CAL$"]),
                            ("2026-03-01T12:00:00Z", ["CAL$"]),  # later than, not equal
                            ("2030-01-01T00:00:00Z", [])):
            a, b = audit_ldap("--since", since), audit_ldif("--since", since)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertEqual([d["sam"] for d in docs(a)[:-1]], want, since)
            self.assertEqual(docs(a), docs(b), since)

    def test_certs_same_as_ldif(self):
        """--certs over LDAP: each certificate matched through the lookups' connection, the
        accounts the walk does not give read by DN after it; the same lines as the LDIF's."""
        certs = []
        for name in ("certs/upn_only.pem", "certs/computer_dns.pem", "verdict/implicit_upn.pem",
                     "certs/expired.pem", "certs/kb_serial.pem"):
            certs += ["--certs", os.path.join(ARGS.data, name)]
        a, b = audit_ldap("--page-size", "2", *certs), audit_ldif(*certs)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(docs(a), docs(b))
        out = docs(a)
        by = {d["sam"]: d for d in out[:-1]}
        walked = [d["sam"] for d in docs(audit_ldap())[:-1]]
        # alice (her UPN), ws01$ (its DNS name) and ivan (his implicit UPN): not walked
        self.assertEqual([d["sam"] for d in out[:-1]][:len(walked)], walked)
        self.assertEqual(sorted(d["sam"] for d in out[len(walked):-1]), ["alice", "ivan", "ws01$"])
        self.assertEqual({c["source"] for c in by["alice"]["certificates"]}, {"given"})
        self.assertEqual(out[-1]["given"], {"certificates": 5, "matched": 4, "unmatched": 0,
                                            "repeated": 0, "expired": 1, "unreadable": 0})

    def test_csv_same_as_ldif(self):
        a = audit_ldap("--page-size", "3", "--format", "csv")
        b = audit_ldif("--format", "csv")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)

    def test_stops_answering(self):
        """slapd stopped (SIGSTOP) after the first page: the next page times out (the
        operation timeout, 5 s by default), the output ends with a partial summary, exit 4."""
        proxy = Proxy(delay_ms=100)  # slow enough to stop slapd between two pages
        try:
            p = subprocess.Popen([ARGS.cli, "audit", "--ldap-uri", proxy.uri, "--ldap-base",
                                  BASE, "--at", AT, "--progress", "0", "--page-size", "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            first = p.stdout.readline()
            S.pause()
            try:
                rest = p.stdout.read()
                err = p.stderr.read()
                p.wait(timeout=60)
            finally:
                S.resume()
                p.stdout.close()
                p.stderr.close()
            out = [json.loads(l) for l in (first + rest).decode().splitlines()]
            self.assertEqual(p.returncode, 4, err)
            self.assertIn(b"partial", err)
            last = out[-1]
            self.assertEqual((last["partial"], last["stopped_by"]), (True, "directory"))
            self.assertEqual(last["accounts"], len(out) - 1)
            self.assertGreaterEqual(last["accounts"], 1)
        finally:
            proxy.close()

    def test_sigint_between_pages(self):
        """SIGINT in mid-walk over LDAP (pages of one entry, 100 ms away): the accounts read so
        far are written whole, the summary says partial, exit 130; slapd then answers the next
        audit in full."""
        proxy = Proxy(delay_ms=100)
        try:
            p = subprocess.Popen([ARGS.cli, "audit", "--ldap-uri", proxy.uri, "--ldap-base",
                                  BASE, "--at", AT, "--progress", "0", "--page-size", "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            first = p.stdout.readline()
            p.send_signal(signal.SIGINT)
            rest = p.stdout.read()
            err = p.stderr.read()
            p.wait(timeout=60)
            p.stdout.close()
            p.stderr.close()
            out = [json.loads(l) for l in (first + rest).decode().splitlines()]
            self.assertEqual(p.returncode, 130, err)
            last = out[-1]
            self.assertEqual((last["partial"], last["stopped_by"]), (True, "SIGINT"))
            self.assertEqual(last["accounts"], len(out) - 1)
            full = audit_ldap("--page-size", "1", uri=proxy.uri)
            self.assertEqual(full.returncode, 0, full.stderr)
            self.assertGreater(docs(full)[-1]["accounts"], last["accounts"])
        finally:
            proxy.close()

    def test_progress_estimated(self):
        """Over LDAP the first pass counts the accounts holding values alone (dan, with a
        certificate only, is not among them): in the second pass (pages of one entry, 100 ms
        away: seconds) the progress line gives an estimated total and ETA from the share of
        those holders audited; once the walk is done, the exact total. From the LDIF the total
        is exact from the start: no estimate."""
        proxy = Proxy(delay_ms=100)
        try:
            p = run(["audit", "--ldap-uri", proxy.uri, "--ldap-base", BASE, "--at", AT,
                     "--progress", "1", "--page-size", "1"])
        finally:
            proxy.close()
        self.assertEqual(p.returncode, 0, p.stderr)
        n = len(docs(p)) - 1
        err = p.stderr.decode().splitlines()
        print("\n".join(err), file=sys.stderr)
        second = [l for l in err[:-1] if "reading the values" not in l]
        self.assertTrue(second, err)  # a line in mid-pass (a pass of 2 s or more)
        for line in second:
            self.assertRegex(line, r", [0-9]+ of ~[0-9]+, ETA ~[0-9]+ s \(estimated\)$")
        self.assertRegex(err[-1], rf", {n} of {n}, ETA 0 s$")
        ldif = audit_ldif("--progress", "1")
        self.assertEqual(ldif.returncode, 0, ldif.stderr)
        last = ldif.stderr.decode().splitlines()[-1]
        self.assertRegex(last, rf", {n} of {n}, ETA 0 s$")
        self.assertNotIn(b"estimated", ldif.stderr)

    def test_sigint_in_first_pass(self):
        """SIGINT while the first pass reads the values (pages of one entry, 100 ms away):
        no account is audited yet, the output is the partial summary alone, exit 130."""
        proxy = Proxy(delay_ms=100)
        try:
            p = subprocess.Popen([ARGS.cli, "audit", "--ldap-uri", proxy.uri, "--ldap-base",
                                  BASE, "--at", AT, "--progress", "1", "--page-size", "1"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            line = p.stderr.readline()  # a second into a pass of 2 s or more
            self.assertIn(b"reading the values", line)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 130, err)
            docs_ = [json.loads(l) for l in out.decode().splitlines()]
            self.assertEqual(len(docs_), 1, out)
            self.assertEqual((docs_[0]["partial"], docs_[0]["stopped_by"], docs_[0]["accounts"]),
                             (True, "SIGINT", 0))
        finally:
            proxy.close()


class Lookups(unittest.TestCase):
    """The accounts the walk gives are not read again: each verdict asks for its account by DN,
    and the walk's copy answers (lib/dir.c dir_known()). N accounts that each publish a
    certificate with no SID and no DNS name (nothing else to look up): the searches are the
    two passes' pages and the NTAuth store's read, not one more per account."""

    N = 20

    def test_no_read_per_account(self):
        b64 = cert_b64("upn_only.pem")
        with tempfile.TemporaryDirectory(prefix="sm-audit-lookups-") as tmp:
            text = slapd_mod.demo_ldif_for_slapd() + "".join(
                f"\ndn: cn=l{i},cn=Users,{BASE}\nobjectClass: user\ncn: l{i}\n"
                f"sAMAccountName: l{i}\nuserCertificate;binary:: {b64}\n"
                for i in range(self.N))
            s = slapd_mod.Slapd(tmp, ldif_text=text)
            s.start_anywhere()
            proxy = Proxy(target=s)
            try:
                p = audit_ldap("--page-size", "1000", uri=proxy.uri)
                searches = proxy.searches()
            finally:
                proxy.close()
                s.kill()
        self.assertEqual(p.returncode, 0, p.stderr)
        out = docs(p)
        self.assertEqual(sum(1 for d in out[:-1] if d["sam"].startswith("l")), self.N)
        self.assertGreaterEqual(out[-1]["certificates"], self.N)
        # the two passes of one page each, the store's read, and the demo's few lookups
        # (a SID owned elsewhere, a computer's DNS name, a duplicate's holders); before: + N
        print(f"searches: {searches} for {out[-1]['accounts']} accounts", file=sys.stderr)
        self.assertLess(searches, self.N, out[-1])


class SizeLimit(unittest.TestCase):
    """OpenLDAP counts a paged search's entries against the bind's size limit (500 unless
    slapd.conf says otherwise; Active Directory limits a page, not the search): the walk stops
    there with the server's words, the output partial, exit 4; with the limit lifted for the
    bind ("limits ... size=unlimited") every account is audited. docs/audit.md says so."""

    N = 600

    def walk(self, limits):
        with tempfile.TemporaryDirectory(prefix="sm-audit-limit-") as tmp:
            text = f"dn: {BASE}\nobjectClass: domain\ndc: example\n\n" + "".join(
                f"dn: cn=s{i},{BASE}\nobjectClass: user\ncn: s{i}\nsAMAccountName: s{i}\n"
                f"altSecurityIdentities: X509:<SKI>{i:08X}\n\n" for i in range(self.N))
            s = slapd_mod.Slapd(tmp, ldif_text=text,
                                access=(["limits * size=unlimited"] if limits else []) +
                                ["access to * by * read"])
            s.start_anywhere()
            try:
                return audit_ldap("--page-size", "100", uri=s.uri)
            finally:
                s.kill()

    def test_default_limit(self):
        p = self.walk(limits=False)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn(b"Size limit exceeded", p.stderr)
        # the first pass over the values meets the limit: no account audited, the summary alone
        out = docs(p)
        self.assertEqual(len(out), 1)
        self.assertEqual((out[0]["partial"], out[0]["stopped_by"], out[0]["accounts"]),
                         (True, "directory", 0))

    def test_limit_lifted(self):
        p = self.walk(limits=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(docs(p)[-1]["accounts"], self.N)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--data", required=True)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
