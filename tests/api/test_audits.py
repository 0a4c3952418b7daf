#!/usr/bin/env python3
"""HTTP tests of the audit jobs: POST /v1/audits, GET|DELETE /v1/audits/{id} (docs/audit.md).

Against examples/demo.ldif: an audit started, followed and fetched in each format, its JSON lines
and CSV byte for byte `strongmap audit`'s on the same LDIF with the same options (the HTML report
too, but for its time of writing), the report's Content-Security-Policy the one its file carries,
Accept negotiation, fail_on as the job's outcome, since, a format not built, unknown ids, hostile
bodies (4xx problem+json each), scopes, the limits (jobs running, jobs held), the TTL, and the
shorter life of a job whose reports were fetched. Against a generated LDIF big enough to take a
while: progress, a report asked for too early, the limit while one runs, a cancellation (a
partial report that says so), the time limit, max_report, a reload while one runs (it ends as
it began) and a stop while one runs (the daemon exits at once and clean; under ASan, no leak).
GET /metrics counts the jobs all along: started, ended by result, forgotten (expired, deleted),
running and held, the reports' bytes, the accounts audited (as they go), the last duration.
Every answer is checked against openapi/strongmapd.yaml.

    test_audits.py --daemon build/daemon/strongmapd --cli build/cli/strongmap [unittest options]
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_api as T  # noqa: E402  (the daemon harness, the OpenAPI document)

EXAMPLES = os.path.join(T.ROOT, "examples")
DEMO = os.path.join(EXAMPLES, "demo.ldif")
AT = "2026-06-01T00:00:00Z"
CLI = None
# accounts of the generated LDIF: an audit of it must outlast B2Bounds' 1 s timeout and give the
# mid-audit tests time to act. Each account's certificate is its own (big_ldif()), so that each
# verdict checks a signature: about 3 s on an idle machine (the same certificate for every
# account took 0.8 s for 16,000 once the LDIF backend had indexes, 978402e).
N_BIG = 24000
# (the daemons of the big tests have none: with one, the lookups of accounts that all publish
# the same certificate are the cache's, and an audit takes a fraction of a second)
ADMIN = "SECRET-MARKER-audit-admin-0123456789"
CHECK = "SECRET-MARKER-audit-check-0123456789"
MEDIA = {"jsonl": "application/jsonl", "csv": "text/csv", "html": "text/html"}


def big_ldif(path, n):
    """@n users, each publishing a certificate of its own and holding a value; the NTAuth store
    holds the test issuing CA. Each certificate is sid_ext.pem with the last bytes of its
    signature changed: the engine checks each one's signature with the CA's key (a verdict's
    real work, remembered by thumbprint, so the same certificate everywhere would be checked
    once) and denies it as not signed by that CA."""
    def der(name):
        with open(os.path.join(T.ROOT, "tests", "data", "certs", name), encoding="ascii") as f:
            return base64.b64decode("".join(l.strip() for l in f if not l.startswith("-----")))
    cert, ca = der("sid_ext.pem"), base64.b64encode(der("issuing_ca.pem")).decode()
    with open(path, "w", encoding="ascii") as f:
        f.write("dn: DC=example,DC=com\nobjectClass: domain\ndc: example\n\n")
        f.write("dn: CN=NTAuthCertificates,CN=Public Key Services,CN=Services,"
                "CN=Configuration,DC=example,DC=com\nobjectClass: certificationAuthority\n"
                f"cACertificate:: {ca}\n\n")
        for i in range(n):
            own = base64.b64encode(cert[:-3] + i.to_bytes(3, "big")).decode()
            f.write(f"dn: CN=u{i},CN=Users,DC=example,DC=com\nobjectClass: user\n"
                    f"sAMAccountName: u{i}\nuserPrincipalName: u{i}@example.com\n"
                    f"userCertificate:: {own}\n"
                    f"altSecurityIdentities: X509:<SKI>{i:08X}\n\n")


def cli(*args):
    import subprocess
    p = subprocess.run([CLI, "audit", "--progress", "0"] + list(args), capture_output=True,
                       timeout=120)
    return p.stdout


class AuditTestCase(unittest.TestCase):
    daemon = None

    def req(self, method, path, body=None, headers=None, token=None, daemon=None,
            spec_path=None):
        """One request, checked against the OpenAPI document (its path @spec_path, else the
        request's, or the audit route's); the Response."""
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = (daemon or self.daemon).conn()
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            resp = T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()
        route = path.split("?")[0]
        if not spec_path:
            spec_path = "/v1/audits/{id}" if route.startswith("/v1/audits/") else route
        spec = T.SPEC.response(spec_path, method, resp.status)
        self.assertIsNotNone(spec, f"{method} {path} -> {resp.status} is not documented")
        self.assertRegex(resp.headers.get("x-request-id", ""), T.REQUEST_ID)
        self.assertEqual(resp.headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(resp.headers.get("cache-control"), "no-store")
        ctype = resp.headers.get("content-type", "").split(";")[0]
        if resp.status >= 400:
            self.assertEqual(ctype, "application/problem+json", resp.body[:200])
        if resp.body and method != "HEAD":
            self.assertIn(ctype, spec.get("content", {}), f"{method} {path}: {ctype}")
            if ctype in ("application/json", "application/problem+json"):
                T.SPEC.validate(spec["content"][ctype]["schema"], json.loads(resp.body))
        if resp.status == 429 or (resp.status == 409 and "retry-after" in resp.headers):
            self.assertRegex(resp.headers.get("retry-after", ""), r"^[1-9][0-9]*$")
        return resp

    @staticmethod
    def stop_clean(d):
        """Stop @d: exit 0, and nothing from a sanitizer (an ASan build fails on any leak)."""
        rc, _ = d.stop()
        log = d.log()
        assert rc == 0, log[-3000:]
        assert "Sanitizer" not in log and "runtime error" not in log, log[-3000:]

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r.body[:300])
        self.assertEqual(json.loads(r.body)["type"], "/problems/" + code, r.body[:300])

    def setUp(self):
        self.created = []  # (id, token, daemon): forgotten after the test

    def tearDown(self):
        for job_id, token, daemon in self.created:
            d = daemon or self.daemon
            if d.proc.poll() is not None:
                continue
            r = self.req("DELETE", "/v1/audits/" + job_id, token=token, daemon=d)
            if r.status == 202:  # it ran: cancelled, then forgotten
                self.wait(job_id, token=token, daemon=d, timeout=30)
                self.req("DELETE", "/v1/audits/" + job_id, token=token, daemon=d)

    def start(self, body=None, token=None, daemon=None):
        r = self.req("POST", "/v1/audits", body=body, token=token, daemon=daemon)
        self.assertEqual(r.status, 202, r.body[:300])
        job = r.json()
        self.created.append((job["id"], token, daemon))
        self.assertEqual(r.headers["location"], "/v1/audits/" + job["id"])
        self.assertIn(job["state"], ("queued", "running", "done"))
        return job

    def doc(self, job_id, token=None, daemon=None):
        r = self.req("GET", "/v1/audits/" + job_id, token=token, daemon=daemon)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.headers.get("vary"), "Accept")
        return r.json()

    def wait(self, job_id, until=lambda j: j["state"] not in ("queued", "running"), timeout=180,
             token=None, daemon=None):
        deadline = time.monotonic() + timeout
        while True:
            j = self.doc(job_id, token=token, daemon=daemon)
            if until(j):
                return j
            if time.monotonic() > deadline:
                self.fail(f"audit {job_id} still {j['state']}: {j}")
            time.sleep(0.05)

    def report(self, job_id, fmt, token=None, daemon=None):
        r = self.req("GET", f"/v1/audits/{job_id}?format={fmt}", token=token, daemon=daemon)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.headers["content-type"].split(";")[0], MEDIA[fmt])
        self.assertRegex(r.headers.get("content-disposition", ""),
                         rf'^(attachment|inline); filename="strongmap-audit-{job_id[:8]}\.{fmt}"$')
        return r

    def metrics(self, daemon=None):
        """GET /metrics: {name without strongmapd_audit_, or (name, labels): value} of the
        audit jobs' metrics."""
        r = self.req("GET", "/metrics", daemon=daemon)
        self.assertEqual(r.status, 200, r.body[:300])
        got = {}
        for (name, labels), v in T.parse_prometheus(self, r.body.decode()).items():
            if name.startswith("strongmapd_audit_"):
                got[(name[len("strongmapd_audit_"):],) + tuple(v for _, v in labels)] = v
        return got


def lines(body):
    return [json.loads(l) for l in body.decode().splitlines()]


class D1Demo(AuditTestCase):
    """examples/demo.ldif, no tokens."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=["--ldif", DEMO])

    @classmethod
    def tearDownClass(cls):
        cls.stop_clean(cls.daemon)

    def test_formats_equal_cli(self):
        before = self.metrics()
        job = self.start({"at": AT, "format": ["jsonl", "csv", "html"]})
        job = self.wait(job["id"])
        self.assertEqual((job["state"], job["outcome"], job["partial"], job["stopped_by"]),
                         ("done", "pass", False, None))
        m = self.metrics()
        delta = {k: m[k] - before.get(k, 0) for k in m}
        self.assertEqual((delta[("jobs_started_total",)], delta[("jobs_finished_total", "done")],
                          delta[("jobs_finished_total", "failed")],
                          delta[("jobs_finished_total", "cancelled")],
                          delta[("accounts_total",)], delta[("jobs_held",)],
                          m[("jobs_running",)]), (1, 1, 0, 0, 6, 1, 0))
        self.assertEqual(delta[("report_bytes",)], sum(r["bytes"] for r in job["reports"]))
        # the job's own elapsed time (milliseconds: 0 for this small audit; B2Bounds sees more)
        self.assertAlmostEqual(m[("last_duration_seconds",)],
                               job["progress"]["elapsed_seconds"], delta=0.0015)
        self.assertEqual(job["totals"]["accounts"], 6)
        self.assertEqual(job["progress"]["indexed"], 6)
        self.assertEqual(job["options"]["at"], AT)
        self.assertEqual([r["format"] for r in job["reports"]], ["jsonl", "csv", "html"])
        jsonl = self.report(job["id"], "jsonl")
        self.assertEqual(jsonl.body, cli("--ldif", DEMO, "--at", AT))
        schema = T.SPEC.resolve(T.SPEC.doc["components"]["schemas"]["AuditLine"])
        for doc in lines(jsonl.body):
            T.SPEC.validate(schema, doc)
        self.assertEqual(job["reports"][0]["bytes"], len(jsonl.body))
        csv = self.report(job["id"], "csv")
        self.assertEqual(csv.body, cli("--ldif", DEMO, "--at", AT, "--format", "csv"))
        html = self.report(job["id"], "html")
        mine = cli("--ldif", DEMO, "--at", AT, "--format", "html").decode()
        stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        self.assertEqual(stamp.sub("T", html.body.decode()), stamp.sub("T", mine))
        # the header's policy is the file's own, and no framing
        meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"',
                         html.body.decode()).group(1)
        self.assertEqual(html.headers["content-security-policy"],
                         meta + "; frame-ancestors 'none'")
        self.assertEqual(html.headers["x-frame-options"], "DENY")
        self.assertTrue(html.body.decode().rstrip().endswith("</html>"))

    def test_accept(self):
        job = self.wait(self.start({"at": AT, "format": ["jsonl", "csv", "html"]})["id"])
        path = "/v1/audits/" + job["id"]
        cases = (({"Accept": "text/csv"}, "text/csv"),
                 ({"Accept": "application/json"}, "application/json"),
                 ({"Accept": "application/x-ndjson"}, "application/jsonl"),
                 ({"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "text/html"),
                 ({"Accept": "text/csv;q=0.5, application/json"}, "application/json"),
                 ({"Accept": "text/*;q=0.9, application/json;q=0.1"}, "text/csv"),
                 ({}, "application/json"))
        for h, want in cases:
            with self.subTest(accept=h):
                r = self.req("GET", path, headers=h)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers["content-type"].split(";")[0], want)
                self.assertEqual(r.headers.get("vary"), "Accept")
        self.assertProblem(self.req("GET", path, headers={"Accept": "image/png"}), 406,
                           "not-acceptable")
        # only a report is acceptable, and it was not built
        j2 = self.wait(self.start({"at": AT})["id"])
        self.assertProblem(self.req("GET", "/v1/audits/" + j2["id"],
                                    headers={"Accept": "text/csv"}), 406, "not-acceptable")
        r = self.req("GET", f"/v1/audits/{j2['id']}?format=html")
        self.assertProblem(r, 406, "not-acceptable")
        self.assertIn("jsonl", r.json()["detail"])

    def test_options(self):
        for fail_on, outcome in (("at_risk", "fail"), ("blocked", "pass"), (None, "pass")):
            with self.subTest(fail_on=fail_on):
                job = self.wait(self.start({"at": AT, "fail_on": fail_on})["id"])
                self.assertEqual(job["outcome"], outcome)
                self.assertEqual(job["options"]["fail_on"], fail_on)
        body = {"at": AT, "profile": ["windows-2016", "samba"], "since": "2024-01-01T00:00:00Z"}
        job = self.wait(self.start(body)["id"])
        self.assertEqual(job["options"]["profiles"], ["windows-2016", "samba"])
        got = self.report(job["id"], "jsonl").body
        self.assertEqual(got, cli("--ldif", DEMO, "--at", AT, "--profile", "windows-2016",
                                  "--profile", "samba", "--since", "2024-01-01T00:00:00Z"))
        self.assertProblem(self.req("POST", "/v1/audits", body={"page_size": 10}), 400,
                           "bad-request")  # an LDIF is not paged

    def test_no_body(self):
        job = self.wait(self.start()["id"])
        self.assertEqual(job["state"], "done")
        self.assertEqual(job["options"]["formats"], ["jsonl"])
        self.assertEqual(job["options"]["profiles"], ["windows-2022"])

    def test_unknown(self):
        for path in ("/v1/audits/" + secrets.token_hex(16), "/v1/audits/xyz",
                     "/v1/audits/" + secrets.token_hex(16).upper(),
                     "/v1/audits/" + secrets.token_hex(17)):
            with self.subTest(path=path):
                self.assertProblem(self.req("GET", path), 404, "not-found")
                self.assertProblem(self.req("DELETE", path), 404, "not-found")
        r = self.req("GET", "/v1/audits")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers.get("allow"), "POST")

    def test_hostile(self):
        cases = [
            (b"{", "application/json", 400, "bad-json"),
            (b"[]", "application/json", 400, "bad-request"),
            (b'{"at": 1}', "application/json", 400, "bad-request"),
            (b'{"at": "yesterday"}', "application/json", 400, "bad-request"),
            (b'{"since": "2026-13-01T00:00:00Z"}', "application/json", 400, "bad-request"),
            (b'{"profile": "windows-1995"}', "application/json", 400, "bad-request"),
            (b'{"profile": []}', "application/json", 400, "bad-request"),
            (b'{"fail_on": "ready"}', "application/json", 400, "bad-request"),
            (b'{"format": "pdf"}', "application/json", 400, "bad-request"),
            (b'{"format": ["csv", "csv"]}', "application/json", 400, "bad-request"),
            (b'{"format": []}', "application/json", 400, "bad-request"),
            (b'{"page_size": 0}', "application/json", 400, "bad-request"),
            (b'{"page_size": 1001}', "application/json", 400, "bad-request"),
            (b'{"page_size": "5"}', "application/json", 400, "bad-request"),
            (b'{"certs": "/etc/ssl/certs"}', "application/json", 400, "bad-request"),
            (b'{"certificates": ["/tmp"]}', "application/json", 400, "bad-request"),
            (b'{"nope": 1}', "application/json", 400, "bad-request"),
            (b'{"at": "2026-06-01T00:00:00Z", "at": "2026-06-01T00:00:00Z"}',
             "application/json", 400, "bad-json"),
            (b'{"mode": 7}', "application/json", 400, "bad-request"),
            (b'{"format": "\\u0000"}', "application/json", 400, "bad-json"),  # NUL refused
            (b"\xff\xfe", "application/json", 400, "bad-json"),
            (b'{"at": "2026-06-01T00:00:00Z"}', "text/plain", 415, "unsupported-media-type"),
            (b"x" * (300 * 1024), "application/json", 413, "body-too-large"),
        ]
        for body, ctype, status, code in cases:
            with self.subTest(body=body[:40]):
                r = self.req("POST", "/v1/audits", body=body, headers={"Content-Type": ctype})
                self.assertProblem(r, status, code)
        r = self.req("POST", "/v1/audits?format=csv", body={"at": AT})
        self.assertProblem(r, 400, "bad-request")
        self.assertIn("certificate files", self.req(
            "POST", "/v1/audits", body={"certs": "/"}).json()["detail"])
        job = self.wait(self.start({"at": AT})["id"])
        for q in ("format=pdf", "format=", "x=1", "format=jsonl&format=csv", "format=%ZZ"):
            with self.subTest(query=q):
                self.assertProblem(self.req("GET", f"/v1/audits/{job['id']}?{q}"), 400,
                                   "bad-request")
        self.assertProblem(self.req("DELETE", f"/v1/audits/{job['id']}?format=jsonl"), 400,
                           "bad-request")

    def test_delete_ended(self):
        job = self.wait(self.start({"at": AT})["id"])
        before = self.metrics()
        r = self.req("DELETE", "/v1/audits/" + job["id"])
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertProblem(self.req("GET", "/v1/audits/" + job["id"]), 404, "not-found")
        m = self.metrics()
        self.assertEqual(m[("jobs_forgotten_total", "deleted")] -
                         before[("jobs_forgotten_total", "deleted")], 1)
        self.assertEqual(m[("jobs_held",)] - before[("jobs_held",)], -1)
        self.assertEqual(m[("jobs_forgotten_total", "expired")],
                         before[("jobs_forgotten_total", "expired")])

    def test_fetched_goes_sooner(self):
        """Once each report was sent in full, the job goes a minute later, not after the TTL;
        HEAD fetches nothing."""
        def expires(j):
            return time.mktime(time.strptime(j["expires"], "%Y-%m-%dT%H:%M:%SZ"))
        job = self.wait(self.start({"at": AT, "format": ["jsonl", "csv"]})["id"])
        first = expires(job)
        self.assertGreater(first - time.mktime(time.gmtime()), 3000)  # ttl 3600 s
        r = self.req("HEAD", f"/v1/audits/{job['id']}?format=jsonl")
        self.assertEqual((r.status, r.body), (200, b""))
        self.report(job["id"], "jsonl")
        self.assertEqual(expires(self.doc(job["id"])), first)  # csv not fetched yet
        self.report(job["id"], "csv")
        deadline = time.monotonic() + 5  # counted when libmicrohttpd says it was sent
        while expires(self.doc(job["id"])) == first and time.monotonic() < deadline:
            time.sleep(0.05)
        left = expires(self.doc(job["id"])) - time.mktime(time.gmtime())
        self.assertLessEqual(left, 61)
        self.assertGreater(left, 30)
        self.report(job["id"], "jsonl")  # still there meanwhile, for a retry


class D2Scope(AuditTestCase):
    """Tokens: scope admin starts, reads and deletes audits; others get 403, none 401."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=[
            "--ldif", DEMO, "--token", f"ops:{T.token_hash(ADMIN)}:admin",
            "--token", f"portal:{T.token_hash(CHECK)}:check,account"])

    @classmethod
    def tearDownClass(cls):
        cls.stop_clean(cls.daemon)

    def test_scope(self):
        self.assertProblem(self.req("POST", "/v1/audits", body={"at": AT}), 401, "unauthorized")
        self.assertProblem(self.req("POST", "/v1/audits", body={"at": AT}, token=CHECK), 403,
                           "insufficient-scope")
        job = self.start({"at": AT}, token=ADMIN)
        self.assertEqual(job["requested_by"], "ops")
        job = self.wait(job["id"], token=ADMIN)
        path = "/v1/audits/" + job["id"]
        self.assertProblem(self.req("GET", path), 401, "unauthorized")
        self.assertProblem(self.req("GET", path + "?format=jsonl", token=CHECK), 403,
                           "insufficient-scope")
        self.assertProblem(self.req("DELETE", path, token=CHECK), 403, "insufficient-scope")
        self.assertEqual(self.report(job["id"], "jsonl", token=ADMIN).status, 200)
        self.assertEqual(self.req("DELETE", path, token=ADMIN).status, 204)


class D3Limits(AuditTestCase):
    """[audit] jobs = 1: four held at most; ttl 2 s."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = T.Daemon(extra_args=["--ldif", DEMO, "--audit-ttl", "2"])

    @classmethod
    def tearDownClass(cls):
        cls.stop_clean(cls.daemon)

    def test_held_then_expired(self):
        def counts():
            m = self.metrics()
            return tuple(m[k] for k in (("jobs_started_total",), ("jobs_finished_total", "done"),
                                        ("jobs_forgotten_total", "expired"),
                                        ("jobs_forgotten_total", "deleted"), ("jobs_held",),
                                        ("jobs_running",), ("accounts_total",)))
        self.assertEqual(counts(), (0, 0, 0, 0, 0, 0, 0))  # this class's own daemon
        ids = [self.wait(self.start({"at": AT})["id"])["id"] for _ in range(4)]
        r = self.req("POST", "/v1/audits", body={"at": AT})
        self.assertProblem(r, 429, "too-many-audits")
        self.assertLessEqual(int(r.headers["retry-after"]), 3)
        self.assertIn("DELETE", r.json()["detail"])
        self.assertEqual(counts(), (4, 4, 0, 0, 4, 0, 24))  # the refused one is not counted
        self.assertEqual(self.req("DELETE", "/v1/audits/" + ids[0]).status, 204)
        last = self.wait(self.start({"at": AT})["id"])
        # past the TTL the reaper forgets them, no request needed
        self.daemon.wait_log(f"audit {last['id'][:8]}...: expired, its report dropped",
                             timeout=10)
        for i in ids[1:] + [last["id"]]:
            self.assertProblem(self.req("GET", "/v1/audits/" + i), 404, "not-found")
        self.assertEqual(counts(), (5, 5, 4, 1, 0, 0, 30))
        self.assertEqual(self.metrics()[("report_bytes",)], 0)
        self.start({"at": AT})


class B1Big(AuditTestCase):
    """A generated LDIF of N_BIG accounts: audits that take a while."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-audits-")
        cls.ldif = os.path.join(cls.tmp.name, "big.ldif")
        big_ldif(cls.ldif, N_BIG)
        cls.daemon = T.Daemon(extra_args=["--ldif", cls.ldif, "--cache-size", "0"])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        cls.stop_clean(cls.daemon)

    def running(self, job_id, accounts=1):
        return self.wait(job_id, lambda j: j["state"] != "queued" and (
            j["state"] != "running" or j["totals"]["accounts"] >= accounts))

    def test_progress_limit_cancel(self):
        before = self.metrics()
        job = self.start({"at": AT, "format": ["jsonl", "csv"]})
        j = self.running(job["id"], accounts=50)
        self.assertEqual(j["state"], "running", "the audit ended before the test could look")
        # counted as it goes: at least what the job said a moment before
        m = self.metrics()
        self.assertEqual(m[("jobs_running",)], 1)
        self.assertGreaterEqual(m[("accounts_total",)] - before.get(("accounts_total",), 0),
                                j["totals"]["accounts"])
        self.assertEqual(m[("jobs_finished_total", "cancelled")],
                         before.get(("jobs_finished_total", "cancelled"), 0))
        p = j["progress"]
        self.assertEqual((p["phase"], p["indexed"], p["total"]), ("auditing", N_BIG, N_BIG))
        self.assertGreater(p["rate"], 0)
        self.assertIsNotNone(p["eta_seconds"])
        # the LDIF's first pass counted every account: the exact total and ETA, no estimate
        self.assertEqual((p["estimated_total"], p["eta_estimated"]), (None, False), p)
        # its report is not there yet: 409, with an estimate
        r = self.req("GET", f"/v1/audits/{job['id']}?format=jsonl")
        self.assertProblem(r, 409, "audit-not-done")
        self.assertIn("retry-after", r.headers)
        self.assertProblem(self.req("GET", "/v1/audits/" + job["id"],
                                    headers={"Accept": "text/csv"}), 409, "audit-not-done")
        # one at a time
        r = self.req("POST", "/v1/audits", body={"at": AT})
        self.assertProblem(r, 429, "too-many-audits")
        self.assertIn("jobs = 1", r.json()["detail"])
        # the other routes are served meanwhile
        self.assertEqual(self.req("GET", "/healthz").status, 200)
        # cancelled: promptly, its partial report says so
        t0 = time.monotonic()
        r = self.req("DELETE", "/v1/audits/" + job["id"])
        self.assertEqual(r.status, 202)
        self.assertTrue(r.json()["cancel_requested"])
        j = self.wait(job["id"], timeout=10)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual((j["state"], j["partial"], j["stopped_by"], j["outcome"]),
                         ("cancelled", True, "cancelled", None))
        docs = lines(self.report(job["id"], "jsonl").body)
        last = docs[-1]
        self.assertEqual((last["summary"], last["partial"], last["stopped_by"]),
                         (True, True, "cancelled"))
        self.assertEqual(last["accounts"], len(docs) - 1)
        self.assertLess(last["accounts"], N_BIG)
        self.assertEqual(last["accounts"], j["totals"]["accounts"])
        m = self.metrics()
        self.assertEqual(m[("jobs_running",)], 0)
        self.assertEqual(m[("jobs_finished_total", "cancelled")] -
                         before.get(("jobs_finished_total", "cancelled"), 0), 1)
        self.assertEqual(m[("accounts_total",)] - before.get(("accounts_total",), 0),
                         j["totals"]["accounts"])
        T.SPEC.validate(T.SPEC.resolve(T.SPEC.doc["components"]["schemas"]["AuditLine"]), last)
        csv = self.report(job["id"], "csv").body.decode().splitlines()
        self.assertTrue(csv[-1].startswith("# partial, stopped by cancelled: "), csv[-1])
        # a second DELETE forgets it; the next audit may start
        self.assertEqual(self.req("DELETE", "/v1/audits/" + job["id"]).status, 204)
        j2 = self.start({"at": AT})
        self.assertEqual(self.req("DELETE", "/v1/audits/" + j2["id"]).status, 202)
        self.wait(j2["id"], timeout=10)

    def test_reload_while_running(self):
        """SIGHUP while an audit runs: the reload is applied, and the audit ends as it began,
        complete, with the runtime it started with."""
        job = self.start({"at": AT})
        j = self.running(job["id"], accounts=20)
        self.assertEqual(j["state"], "running")
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.daemon.wait_log("configuration reloaded", timeout=30)
        j = self.wait(job["id"], timeout=300)
        self.assertEqual((j["state"], j["partial"], j["totals"]["accounts"]),
                         ("done", False, N_BIG))
        self.assertEqual(self.req("DELETE", "/v1/audits/" + job["id"]).status, 204)


class B2Bounds(AuditTestCase):
    """[audit] timeout 1 s and max_report 64K over the big LDIF; a stop while one runs."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-audits-")
        cls.ldif = os.path.join(cls.tmp.name, "big.ldif")
        big_ldif(cls.ldif, N_BIG)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_time_limit(self):
        self.daemon = T.Daemon(extra_args=["--ldif", self.ldif, "--cache-size", "0",
                                           "--audit-timeout", "1"])
        try:
            job = self.start({"at": AT})
            j = self.wait(job["id"], timeout=30)
            self.assertEqual((j["state"], j["partial"], j["stopped_by"]),
                             ("failed", True, "time_limit"), j)
            self.assertEqual(j["error"]["code"], "time_limit")
            self.assertLessEqual(j["progress"]["elapsed_seconds"], 5)
            m = self.metrics()
            self.assertEqual((m[("jobs_finished_total", "failed")],
                              m[("jobs_finished_total", "done")]), (1, 0))
            self.assertGreaterEqual(m[("last_duration_seconds",)], 1)  # the 1 s timeout
            self.assertAlmostEqual(m[("last_duration_seconds",)],
                                   j["progress"]["elapsed_seconds"], delta=0.0015)
            last = lines(self.report(job["id"], "jsonl").body)[-1]
            self.assertEqual((last["partial"], last["stopped_by"]), (True, "time_limit"))
        finally:
            self.stop_clean(self.daemon)

    def test_max_report(self):
        self.daemon = T.Daemon(extra_args=["--ldif", self.ldif, "--audit-max-report", "64K"])
        try:
            job = self.start({"at": AT, "format": ["jsonl", "html"]})
            j = self.wait(job["id"], timeout=60)
            self.assertEqual((j["state"], j["stopped_by"], j["reports"]),
                             ("failed", "report_too_large", []))
            self.assertEqual(j["error"]["code"], "report_too_large")
            self.assertIn("max_report (65536 bytes)", j["error"]["message"])
            r = self.req("GET", f"/v1/audits/{job['id']}?format=jsonl")
            self.assertProblem(r, 409, "audit-not-done")
            self.assertNotIn("retry-after", r.headers)
        finally:
            self.stop_clean(self.daemon)

    def test_stop_while_running(self):
        """SIGTERM while an audit runs: it is cancelled, its thread joined, the daemon exits 0 in
        time (under ASan: with no leak)."""
        self.daemon = T.Daemon(extra_args=["--ldif", self.ldif, "--cache-size", "0",
                                           "--audit-jobs", "2"])
        stopped = False
        try:
            a = self.start({"at": AT, "format": ["jsonl", "csv", "html"]})
            b = self.start({"at": AT})
            self.wait(a["id"], lambda j: j["totals"]["accounts"] > 0 or j["state"] != "running")
            self.wait(b["id"], lambda j: j["state"] != "queued")
            stopped = True
            self.stop_clean(self.daemon)  # within T.STOP_TIMEOUT
            self.assertIn("stopped", self.daemon.log())
        finally:
            if not stopped:
                self.daemon.stop()


def main():
    global CLI
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--cli", required=True, help="path of the strongmap binary")
    T.ARGS, rest = p.parse_known_args()
    T.ARGS.daemon = os.path.abspath(T.ARGS.daemon)
    T.ARGS.host = None
    CLI = os.path.abspath(T.ARGS.cli)
    T.SPEC = T.Spec()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
