#!/usr/bin/env python3
"""Gateway tier: two strongmapd replicas behind a real nginx `upstream`, as docs/deployment.md
configures it, one of them killed or stopped under load.

nginx (Debian's nginx-light) runs the configuration of docs/integrations/nginx.md with its
`upstream strongmapd` and `location = /_strongmap` blocks replaced by those of
docs/deployment.md (read from the documents, so that neither can drift from what was tested):
two replicas with the same configuration (the test directory as LDIF) on two loopback ports,
`proxy_next_upstream error timeout http_502 http_503`. Client threads, each on its own
keep-alive TLS connection to nginx, ask for a page without pause, half with a certificate that
carries the account's SID (expected: 200 and the upstream page), half with one that maps only
by UPN (expected: 403 weak_mapping); any other answer, or a failed connection, is a failed
authorization.

- SIGKILL of one replica under load: at most as many failed authorizations as requests were
  in flight at the kill; the other replica serves on; the killed one, started again on its
  port, answers /readyz with 200 and then gets requests from nginx again.
- SIGTERM of one replica under load: not one failed authorization, and it exits 0 (the
  daemon refuses new connections at once and finishes the requests in progress).

Counts, not timings: every wait is bounded by a generous deadline, for a loaded machine.

    test_replicas.py --daemon build/daemon/strongmapd --data tests/data [unittest options]
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

import pki  # noqa: E402  (tests/lib/pki.py)
import procs  # noqa: E402  (tests/lib/procs.py)
import test_api as T  # noqa: E402  (the daemon harness and the test directory)
import test_nginx as N  # noqa: E402  (nginx with a document's configuration, the certificates)

DEPLOY_DOC = os.path.join(ROOT, "docs", "deployment.md")
REPLICA_ADDRS = ("10.0.0.11:8080", "10.0.0.12:8080")  # in the document's upstream block
CLIENTS = 6  # client threads, one connection and at most one request in flight each
WAIT = 30.0  # seconds: the bound of every wait (a loaded 2-core machine)
ARGS = None

UPSTREAM_RE = re.compile(r"^upstream strongmapd \{\n.*?^\}\n", re.S | re.M)
LOCATION_RE = re.compile(r"^    location = /_strongmap \{\n.*?^    \}\n", re.S | re.M)


def deployment_config():
    """nginx.md's configuration with deployment.md's upstream and /_strongmap blocks."""
    with open(DEPLOY_DOC, encoding="utf-8") as f:
        m = re.search(r"```nginx\n(.*?)```", f.read(), re.S)
    if not m:
        raise AssertionError(f"no ```nginx block in {DEPLOY_DOC}")
    blocks = m.group(1)
    http = N.doc_config()
    for name, rx in (("upstream", UPSTREAM_RE), ("location", LOCATION_RE)):
        new = rx.findall(blocks)
        old = rx.findall(http)
        if len(new) != 1 or len(old) != 1:
            raise AssertionError(f"the {name} block: {len(new)} in {DEPLOY_DOC}, "
                                 f"{len(old)} in {N.NGINX_DOC}; one each expected")
        http = http.replace(old[0], new[0])
    return http


class ReplicaNginx(N.Nginx):
    def http_config(self):
        return deployment_config()


class Replica:
    """One strongmapd replica on a fixed loopback port (nginx's upstream names it)."""

    def __init__(self, port, ldif):
        self.port = port
        self.ldif = ldif
        self.d = None
        self.start()

    def start(self):
        cmd = [ARGS.daemon, "--allow-root"]
        if procs.SETPRIV:  # killed with the harness
            cmd = [procs.SETPRIV, "--pdeathsig", "KILL", "--"] + cmd
        for _ in range(int(WAIT / 0.2)):  # a restart: the port may still be held for a moment
            try:
                self.d = T.Daemon(cmd=cmd, listen=f"127.0.0.1:{self.port}",
                                  extra_args=["--ldif", self.ldif,
                                              "--authz-trusted-proxies", "127.0.0.1"])
                return
            except AssertionError as e:
                if "Address already in use" not in str(e):
                    raise
                time.sleep(0.2)
        raise AssertionError(f"port {self.port} stayed in use")

    def running(self):
        return self.d is not None and self.d.proc.poll() is None

    def authz_count(self):
        return self.d.log().count('path="/v1/authz"')

    def readyz(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            c.request("GET", "/readyz")
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()


class Load:
    """CLIENTS threads asking nginx without pause; counts answers as expected or failed."""

    def __init__(self, port, server_ca, sid, upn):
        self.port = port
        self.server_ca = server_ca
        self.certs = (sid, upn)
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []  # (thread, what)
        self.in_flight = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def connect(self, i):
        ctx = ssl.create_default_context(cafile=self.server_ca)
        ctx.check_hostname = False
        ctx.load_cert_chain(*self.certs[i % 2])
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=WAIT, context=ctx)

    def one(self, c, allowed):
        c.request("GET", "/index.html")
        r = c.getresponse()
        body = r.read().decode(errors="replace")
        reason = r.getheader("X-Strongmap-Reason")
        if allowed and r.status == 200 and body == "upstream page for alice\n":
            return None
        if not allowed and r.status == 403 and reason == "weak_mapping":
            return None
        return f"{r.status} {reason} {body[:120]!r}"

    def run(self, i):
        c = self.connect(i)
        while not self.stopping.is_set():
            with self.lock:
                self.in_flight += 1
            try:
                what = self.one(c, i % 2 == 0)
            except (OSError, http.client.HTTPException) as e:
                what = f"{type(e).__name__}: {e}"
                c.close()
                c = self.connect(i)
            with self.lock:
                self.in_flight -= 1
                if what is None:
                    self.ok += 1
                else:
                    self.failed.append((i, what))
        c.close()

    def snapshot(self):
        with self.lock:
            return self.ok, len(self.failed), self.in_flight

    def wait_ok(self, more, what):
        """Wait until @more further answers came as expected."""
        target = self.snapshot()[0] + more
        deadline = time.monotonic() + WAIT
        while self.snapshot()[0] < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: {self.snapshot()} (ok, failed, in flight), "
                                     f"wanted {target} ok; failures: {self.failed[:5]}")
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(WAIT)
            if t.is_alive():
                raise AssertionError("a client thread did not finish")


class GatewayReplicas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-replicas-")
        tmp = cls.tmp.name
        T.ARGS = argparse.Namespace(daemon=ARGS.daemon, data=ARGS.data, host=None)
        T.TMPDIR = cls.tmp
        ldif = T.make_ldif(tmp)
        p = pki.Pki(os.path.join(tmp, "pki"))
        certs = os.path.join(ARGS.data, "certs")
        for name in ("issuing_ca", "root_ca"):  # the CA the directory's NTAuth store holds
            for ext in (".pem", ".key"):
                shutil.copy(os.path.join(certs, name + ext), p.path(name, ext))
        p.ca("server_ca", "/CN=Gateway Test Server CA")
        p.issue("server", "server_ca", "/CN=localhost", "server_ext")
        alice = "/DC=com/DC=example/OU=Users/CN=Alice"
        cls.sid = (p.issue("alice_sid", "issuing_ca", alice, "client_ext",
                           N.UPN_SAN + "\n" + N.SID_EXT), p.path("alice_sid", ".key"))
        cls.upn = (p.issue("alice_upn", "issuing_ca", alice, "client_ext", N.UPN_SAN),
                   p.path("alice_upn", ".key"))
        client_cas = os.path.join(tmp, "pki", "client_cas.pem")
        with open(client_cas, "w", encoding="ascii") as out:
            for name in ("issuing_ca", "root_ca"):
                with open(p.path(name), encoding="ascii") as f:
                    out.write(f.read())
        cls.server_ca = p.path("server_ca")
        cls.replicas = [Replica(port, ldif) for port in procs.free_ports(2)]
        try:
            values = {"/etc/nginx/tls/server.pem": p.path("server"),
                      "/etc/nginx/tls/server.key": p.path("server", ".key"),
                      "/etc/nginx/tls/client-cas.pem": client_cas}
            for addr, r in zip(REPLICA_ADDRS, cls.replicas):
                values[addr] = f"127.0.0.1:{r.port}"
            cls.nginx = ReplicaNginx(tmp, values)
        except BaseException:
            for r in cls.replicas:
                r.d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        logs = []
        for r in cls.replicas:
            if r.running():
                rc, _ = r.d.stop()
                if rc != 0:
                    logs.append(f"strongmapd exited with {rc}:\n{r.d.log()}")
            else:
                r.d.kill()  # reaped; its reader closed
        cls.tmp.cleanup()
        if logs:
            raise AssertionError("\n".join(logs))

    def setUp(self):
        for r in self.replicas:  # each test starts with both replicas up
            if not r.running():
                r.d.kill()
                r.start()
        self.load = None

    def tearDown(self):
        if self.load:
            self.load.stop()

    def start_load(self):
        self.load = Load(self.nginx.port, self.server_ca, self.sid, self.upn)
        self.load.wait_ok(4 * CLIENTS, "first answers through nginx")

    def wait_count(self, replica, more, what):
        """Wait until @replica was asked @more further times (its access log)."""
        target = replica.authz_count() + more
        deadline = time.monotonic() + WAIT
        while replica.authz_count() < target:
            self.assertLess(time.monotonic(), deadline,
                            f"{what}: {self.load.snapshot()} (ok, failed, in flight)\n"
                            + self.nginx.error_log())
            time.sleep(0.05)

    def test_sigkill_under_load_then_restart(self):
        a, b = self.replicas
        self.start_load()
        for r in (a, b):
            self.wait_count(r, 5, f"replica {r.port} before the kill")
        ok0, failed0, _ = self.load.snapshot()
        self.assertEqual(failed0, 0, self.load.failed[:5])

        # requests in flight at the kill: the most of just before and just after it
        in_flight = self.load.snapshot()[2]
        a.d.proc.send_signal(signal.SIGKILL)
        in_flight = max(in_flight, self.load.snapshot()[2])
        a.d.proc.wait(WAIT)
        b_before = b.authz_count()
        self.load.wait_ok(20 * CLIENTS, "answers after the kill")
        # every one of them came from the survivor; its access log is read through a pipe
        # and lags the answers the clients already have, so wait (bounded) for the lines
        deadline = time.monotonic() + WAIT
        while b.authz_count() - b_before < 20 * CLIENTS:
            self.assertLess(time.monotonic(), deadline,
                            f"the survivor logged {b.authz_count() - b_before} of "
                            f"{20 * CLIENTS} answers after the kill")
            time.sleep(0.05)

        a.d.kill()  # reap its reader
        a.start()
        deadline = time.monotonic() + WAIT
        while a.readyz()[0] != 200:
            self.assertLess(time.monotonic(), deadline, a.readyz())
            time.sleep(0.05)
        # nginx tries it again after fail_timeout (5 s) and then shares the load with it
        self.wait_count(a, 10, "the restarted replica takes requests again")
        ok1, failed1, _ = self.load.snapshot()
        self.load.stop()
        self.load = None
        print(f"\nSIGKILL: {ok1 - ok0} answers as expected, {failed1} failed, {in_flight} in "
              f"flight at the kill; restarted replica asked {a.authz_count()} times",
              file=sys.stderr)
        self.assertLessEqual(failed1, in_flight, self.load_failures(failed1))

    def load_failures(self, n):
        return f"{n} failed authorizations:\n{self.nginx.error_log()}"

    def test_sigterm_under_load_drops_nothing(self):
        a, b = self.replicas
        self.start_load()
        for r in (a, b):
            self.wait_count(r, 5, f"replica {r.port} before the stop")
        ok0, _, in_flight = self.load.snapshot()
        log_at = os.path.getsize(self.nginx.log)
        rc, secs = b.d.stop(signal.SIGTERM, timeout=WAIT)
        self.assertEqual(rc, 0, b.d.log()[-3000:])
        a_before = a.authz_count()
        self.load.wait_ok(20 * CLIENTS, "answers after the stop")
        self.assertGreaterEqual(a.authz_count() - a_before, 20 * CLIENTS)
        ok1, failed, _ = self.load.snapshot()
        failures = list(self.load.failed)
        self.load.stop()
        self.load = None
        with open(self.nginx.log, encoding="utf-8", errors="replace") as f:
            f.seek(log_at)
            # nginx's retries: connections refused, and requests sent on an idle keep-alive
            # connection as the stopping replica closed it
            retried = sum(1 for line in f if "[error]" in line)
        print(f"\nSIGTERM: stopped in {secs:.2f} s, {ok1 - ok0} answers as expected after it, "
              f"{failed} failed ({in_flight} requests in flight at the signal; nginx logged "
              f"{retried} upstream errors)", file=sys.stderr)
        self.assertEqual(failed, 0, f"{failures[:5]}\n{self.nginx.error_log()}")
        self.assertIn("stopped", b.d.log())


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    N.ARGS = ARGS
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        print("nginx is missing: scripts/deps.sh installs nginx-light")
        sys.exit(1)  # a failure: the test set needs it
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
