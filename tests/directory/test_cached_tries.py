#!/usr/bin/env python3
"""strongmapd's cached tries against a real slapd (docs/performance.md, "Verdicts from the
caches on the HTTP thread"). /v1/verdict, /v1/authz, /v1/self/check and /status/check first run
on libmicrohttpd's thread with the directory handle in cache-only mode; only when the lookup
cache or the kept NTAuth store cannot answer does the request go to the job pool, which asks
slapd. Checked here through a proxy that counts slapd's searches (tests/lib/delayproxy.py):

- a cold request is deferred and asks slapd; the same request again is answered from the
  caches without a search, with the same answer;
- the deferred request's first try counts nothing twice: the lookup cache's hits and misses,
  /v1/authz's certificate cache hits, and the page's per-client rate limit (a burst of 2
  serves two cold checks, not one);
- once the kept NTAuth store is older than its TTL the request is deferred again and the
  store read once.

    test_cached_tries.py --daemon build/daemon/strongmapd --data tests/data
"""

import argparse
import os
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
sys.path.insert(0, HERE)

import slapd as slapd_mod  # noqa: E402
import test_api as T  # noqa: E402  (the daemon harness)
import test_audit as DA  # noqa: E402  (this tier's slapd, proxy and helpers)

BASE = DA.BASE
CERTS = os.path.join(ROOT, "examples", "certs")
TTL = 3  # --ntauth-ttl


def setUpModule():
    DA.TMP = tempfile.TemporaryDirectory(prefix="sm-cached-")
    DA.S = slapd_mod.Slapd(DA.TMP.name, ldif_text=slapd_mod.demo_ldif_for_slapd())
    DA.S.start_anywhere()


def tearDownModule():
    if DA.S is not None:
        DA.S.kill()
    if DA.TMP is not None:
        DA.TMP.cleanup()


def pem(name):
    with open(os.path.join(CERTS, name), "rb") as f:
        return f.read()


class CachedTries(T.HostTestCase):
    def setUp(self):
        # cleanups run whatever fails: a proxy left running would hold ctest's pipe open
        self.proxy = DA.Proxy(delay_ms=1)
        self.addCleanup(self.proxy.close)
        self.d = T.Daemon(extra_args=[
            "--ldap-uri", self.proxy.uri, "--ldap-base", BASE, "--ntauth-ttl", str(TTL),
            "--authz-trusted-proxies", "127.0.0.1", "--page-rate", "0.01", "--page-burst",
            "2"])
        self.addCleanup(self.d.kill)

    def tearDown(self):
        self.stop(self.d)


    def counters(self):
        s = self.metrics(self.d)
        return {
            "answered": T.metric(s, "strongmapd_cached_tries_total", result="answered"),
            "deferred": T.metric(s, "strongmapd_cached_tries_total", result="deferred"),
            "hits": T.metric(s, "strongmapd_directory_cache_hits_total"),
            "misses": T.metric(s, "strongmapd_directory_cache_misses_total"),
            "cert_hits": T.metric(s, "strongmapd_authz_certificate_cache_hits_total"),
            "verdicts": T.metric(s, "strongmapd_directory_operations_total", op="verdict"),
        }

    def delta(self, before):
        now = self.counters()
        return {k: now[k] - before[k] for k in now}

    def verdict(self, name):
        return self.request("POST", "/v1/verdict", body=pem(name), daemon=self.d,
                            headers={"Content-Type": "application/x-pem-file"})

    def test_verdict(self):
        c0, s0 = self.counters(), self.proxy.searches()
        cold = self.verdict("alice-sid.pem")
        self.assertEqual(cold.status, 200, cold.body[:300])
        d1, s1 = self.delta(c0), self.proxy.searches()
        self.assertEqual((d1["answered"], d1["deferred"], d1["verdicts"]), (0, 1, 1), d1)
        self.assertGreater(s1 - s0, 0, "the job pool asked slapd")
        self.assertEqual(d1["hits"], 0, d1)  # the first try's misses are not counted
        misses = d1["misses"]
        self.assertGreater(misses, 0, d1)

        c1 = self.counters()
        warm = self.verdict("alice-sid.pem")
        d2 = self.delta(c1)
        self.assertEqual(self.proxy.searches(), s1, "the caches answered: no search")
        self.assertEqual((d2["answered"], d2["deferred"], d2["verdicts"]), (1, 0, 1), d2)
        self.assertEqual((d2["hits"], d2["misses"]), (misses, 0), d2)  # the same lookups
        self.assertEqual(warm.json(), cold.json())

        # the kept NTAuth store grows old: deferred again, the store read with the search
        time.sleep(TTL + 0.3)
        c2 = self.counters()
        again = self.verdict("alice-sid.pem")
        d3 = self.delta(c2)
        self.assertEqual((d3["answered"], d3["deferred"]), (0, 1), d3)
        self.assertGreater(self.proxy.searches(), s1)
        self.assertEqual(again.json(), cold.json())

        # another account with the store kept: deferred once, then from the caches
        c3, s3 = self.counters(), self.proxy.searches()
        self.assertEqual(self.verdict("bob.pem").status, 200)
        self.assertEqual(self.delta(c3)["deferred"], 1)
        s4 = self.proxy.searches()
        self.assertGreater(s4, s3)
        c4 = self.counters()
        self.assertEqual(self.verdict("bob.pem").status, 200)
        self.assertEqual((self.delta(c4)["answered"], self.proxy.searches()), (1, s4))

    def authz(self, headers):
        """GET /v1/authz as a proxy sends it (no body: tests/api/test_authz.py checks the rest)."""
        conn = self.d.conn()
        try:
            conn.request("GET", "/v1/authz", headers=headers)
            r = conn.getresponse()
            r.read()
            return T.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, b"")
        finally:
            conn.close()

    def test_authz(self):
        h = {"X-Client-Cert": urllib.parse.quote(pem("alice-sid.pem").decode(), safe="")}
        c0 = self.counters()
        r = self.authz(h)
        self.assertEqual(r.status, 200, r.headers)
        d1 = self.delta(c0)
        self.assertEqual((d1["deferred"], d1["cert_hits"]), (1, 0), d1)  # the retry's hit: 0
        s1 = self.proxy.searches()
        r2 = self.authz(h)
        self.assertEqual(r2.status, 200)
        d2 = self.delta(c0)
        self.assertEqual((d2["answered"], d2["deferred"], d2["cert_hits"]), (1, 1, 1), d2)
        self.assertEqual(self.proxy.searches(), s1)
        for k in ("x-strongmap-outcome", "x-strongmap-reason", "x-strongmap-account"):
            self.assertEqual(r.headers.get(k), r2.headers.get(k), k)

    def test_page_rate_taken_once(self):
        # two cold checks (two accounts) with a burst of 2: each deferred, each one token
        c0 = self.counters()
        for name in ("alice-sid.pem", "bob.pem"):
            r = self.request("POST", "/v1/self/check", body=pem(name), daemon=self.d,
                             headers={"Content-Type": "application/x-pem-file"})
            self.assertEqual(r.status, 200, (name, r.body[:300]))
        self.assertEqual(self.delta(c0)["deferred"], 2)
        r = self.request("POST", "/v1/self/check", body=pem("alice-sid.pem"), daemon=self.d,
                         headers={"Content-Type": "application/x-pem-file"})
        self.assertEqual(r.status, 429, "the third check is over the burst")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True)
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    args, rest = p.parse_known_args()
    DA.ARGS = argparse.Namespace(cli=None, data=args.data)
    T.ARGS = argparse.Namespace(daemon=os.path.abspath(args.daemon), data=args.data, log=None,
                                host=None, cli=None)
    T.SPEC = T.Spec()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
