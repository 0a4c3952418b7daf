#!/usr/bin/env python3
"""strongmapd's audit jobs (POST /v1/audits) against a real slapd: the daemon's LDAP path is
its own (a pool of handles for the audits, two a job, no lookup cache), so it is checked here
as the CLI's is in test_audit.py. The same directory (examples/demo.ldif and test_audit.py's
four accounts): a job's JSON lines and CSV with pages of 2 are byte for byte `strongmap audit`'s
over LDAP; with slapd 100 ms away and pages of one entry (a walk of seconds), the account
route answers while the audit runs (the audit holds no worker's handle), a DELETE stops the
walk within a page's round trip and keeps a partial report, and a slapd that stops answering
in mid-walk fails the job with a partial report ("stopped_by": "directory") within the
operation timeout. Every answer is checked against openapi/strongmapd.yaml.

    test_audit_jobs.py --cli build/cli/strongmap --daemon build/daemon/strongmapd --data tests/data
"""

import argparse
import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, HERE)

import slapd as slapd_mod  # noqa: E402
import test_api as T  # noqa: E402  (the daemon harness)
import test_audit as DA  # noqa: E402  (this tier's audit directory, runner and proxy)
import test_audits as TA  # noqa: E402  (tests/api: the audit jobs' request helpers)

BASE = DA.BASE
AT = DA.AT


def setUpModule():
    DA.TMP = tempfile.TemporaryDirectory(prefix="sm-audits-")
    DA.S = slapd_mod.Slapd(DA.TMP.name, ldif_text=slapd_mod.demo_ldif_for_slapd() +
                           DA.extra_accounts(binary=True))
    DA.S.start_anywhere()


def tearDownModule():
    if DA.S is not None:
        DA.S.kill()
    if DA.TMP is not None:
        DA.TMP.cleanup()


def daemon(uri):
    return T.Daemon(extra_args=["--ldap-uri", uri, "--ldap-base", BASE])


class Jobs(TA.AuditTestCase):
    def test_same_as_cli(self):
        self.daemon = daemon(DA.S.uri)
        try:
            job = self.wait(self.start({"at": AT, "page_size": 2,
                                        "format": ["jsonl", "csv"]})["id"])
            self.assertEqual((job["state"], job["partial"]), ("done", False), job)
            self.assertEqual(job["options"]["page_size"], 2)
            want = DA.audit_ldap("--page-size", "2")
            self.assertEqual(want.returncode, 0, want.stderr)
            self.assertEqual(self.report(job["id"], "jsonl").body, want.stdout)
            csv = DA.audit_ldap("--page-size", "2", "--format", "csv")
            self.assertEqual(self.report(job["id"], "csv").body, csv.stdout)
            n = job["totals"]["accounts"]
            self.assertGreater(n, 4)
            # the first pass read the holders of values alone (dan publishes a certificate and
            # holds none: the second pass alone reads him), the total exact once done
            p = job["progress"]
            self.assertEqual((p["indexed"], p["total"]), (n - 1, n), p)
            self.assertEqual((p["estimated_total"], p["eta_estimated"]), (None, False), p)
        finally:
            self.stop_clean(self.daemon)

    def test_served_meanwhile_and_cancelled(self):
        proxy = DA.Proxy(delay_ms=100)
        self.daemon = daemon(proxy.uri)
        try:
            job = self.start({"at": AT, "page_size": 1})
            j = self.wait(job["id"], lambda j: j["state"] != "queued" and (
                j["state"] != "running" or j["totals"]["accounts"] >= 1), timeout=60)
            self.assertEqual(j["state"], "running")
            # in the second pass over LDAP the total is unknown (the first pass read the
            # holders of values alone), the ETA an estimate from the share of them audited
            p = j["progress"]
            self.assertEqual((p["phase"], p["total"], p["eta_estimated"]),
                             ("auditing", None, True), p)
            self.assertGreaterEqual(p["estimated_total"], j["totals"]["accounts"])
            self.assertIsInstance(p["eta_seconds"], int)
            # a request of the workers' while the audit walks: the daemon's two worker handles
            # are both free (an audit that took them for its walk and lookups would hold this
            # request for the seconds its walk takes)
            t0 = time.monotonic()
            r = self.req("GET", "/v1/accounts/alice", spec_path="/v1/accounts/{name}")
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertLess(time.monotonic() - t0, 3)
            self.assertEqual(self.doc(job["id"])["state"], "running")
            t0 = time.monotonic()
            self.assertEqual(self.req("DELETE", "/v1/audits/" + job["id"]).status, 202)
            j = self.wait(job["id"], timeout=30)
            took = time.monotonic() - t0
            print(f"cancelled after {j['totals']['accounts']} accounts, {took:.2f} s after the "
                  f"DELETE", file=sys.stderr)
            self.assertLess(took, 3)  # a page's round trip: 4 x 100 ms, and the lookups'
            self.assertEqual((j["state"], j["stopped_by"]), ("cancelled", "cancelled"))
            docs = TA.lines(self.report(job["id"], "jsonl").body)
            self.assertEqual((docs[-1]["partial"], docs[-1]["accounts"]),
                             (True, len(docs) - 1))
        finally:
            self.stop_clean(self.daemon)
            proxy.close()

    def test_directory_stops_answering(self):
        """slapd stopped after the first accounts: the next page times out (5 s), the job
        fails with a partial report that says why."""
        proxy = DA.Proxy(delay_ms=100)
        self.daemon = daemon(proxy.uri)
        try:
            job = self.start({"at": AT, "page_size": 1})
            self.wait(job["id"], lambda j: j["state"] != "queued" and (
                j["state"] != "running" or j["totals"]["accounts"] >= 1), timeout=60)
            DA.S.pause()
            try:
                t0 = time.monotonic()
                j = self.wait(job["id"], timeout=60)
                took = time.monotonic() - t0
            finally:
                DA.S.resume()
            self.assertEqual((j["state"], j["partial"], j["stopped_by"]),
                             ("failed", True, "directory"), j)
            self.assertEqual(j["error"]["code"], "directory_unavailable")
            self.assertLess(took, 20)
            last = TA.lines(self.report(job["id"], "jsonl").body)[-1]
            self.assertEqual((last["partial"], last["stopped_by"]), (True, "directory"))
            self.assertGreaterEqual(last["accounts"], 1)
        finally:
            self.stop_clean(self.daemon)
            proxy.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", required=True)
    p.add_argument("--daemon", required=True)
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    args, rest = p.parse_known_args()
    DA.ARGS = argparse.Namespace(cli=os.path.abspath(args.cli), data=args.data)
    T.ARGS = argparse.Namespace(daemon=os.path.abspath(args.daemon), data=args.data, log=None,
                                host=None, cli=DA.ARGS.cli)
    T.SPEC = T.Spec()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
