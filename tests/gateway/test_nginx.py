#!/usr/bin/env python3
"""Gateway tier: strongmapd behind a real nginx (Debian's nginx-light), as
docs/integrations/nginx.md configures it.

nginx terminates TLS with `ssl_verify_client optional` against the test CA, asks strongmapd's
GET /v1/authz with `auth_request` (the certificate in X-Client-Cert as
$ssl_client_escaped_cert), copies the verdict headers with `auth_request_set` into the upstream
request and into the answer, and serves a custom 403 page naming the reason. The upstream is a
second nginx server that answers with the account it was told. Clients are python's ssl with
client certificates issued at test time by the fixtures' issuing CA (tests/data/certs): one with
the SID extension (allowed), one with only the UPN (denied: weak_mapping), none at all, and one
from a CA nginx does not trust. The nginx configuration is the one of docs/integrations/nginx.md:
the test reads it from there (its files and ports replaced), so that the document cannot drift from what was
tested.

    test_nginx.py --daemon build/daemon/strongmapd --data tests/data [unittest options]
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

import pki  # noqa: E402  (tests/lib/pki.py)
import procs  # noqa: E402  (tests/lib/procs.py)
import test_api as T  # noqa: E402  (the daemon harness and the test directory)

NGINX_DOC = os.path.join(ROOT, "docs", "integrations", "nginx.md")
SID_1105 = "S-1-5-21-1004336348-1177238915-682003330-1105"  # alice in verdict.ldif.in
UPN_SAN = "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com"
SID_EXT = f"""1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_ext
[sid_ext]
other = IMPLICIT:0,SEQUENCE:sid_other
[sid_other]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:{SID_1105}
"""
ARGS = None


def doc_config():
    """The nginx configuration of docs/integrations/nginx.md: its ```nginx block."""
    with open(NGINX_DOC, encoding="utf-8") as f:
        m = re.search(r"```nginx\n(.*?)```", f.read(), re.S)
    if not m:
        raise AssertionError(f"no ```nginx block in {NGINX_DOC}")
    return m.group(1)


class Nginx:
    """nginx with the document's configuration, the test's values in place of its examples."""

    def __init__(self, tmp, values):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir)
        os.chmod(tmp, 0o755)  # nginx's workers (nobody when started as root) read below it
        self.values = dict(values)
        self.log = os.path.join(self.dir, "error.log")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for attempt in range(3):  # a port taken meanwhile: nginx exits, try another
            tls_port, app_port = procs.free_ports(2)
            self.values.update({"127.0.0.1:443": f"127.0.0.1:{tls_port}",
                                "127.0.0.1:8000": f"127.0.0.1:{app_port}"})
            self.port = tls_port
            conf = self.render()
            path = os.path.join(self.dir, "nginx.conf")
            with open(path, "w", encoding="ascii") as f:
                f.write(conf)
            self.proc = procs.spawn([nginx, "-e", self.log, "-c", path],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", app_port), timeout=1).close()
                    socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            procs.stop_process(self.proc)
        raise AssertionError("nginx did not start: " + self.error_log())

    def http_config(self):
        """The http context's configuration under test: the document's."""
        return doc_config()

    def render(self):
        d = self.dir
        http = self.http_config()
        for literal, value in self.values.items():
            if literal not in http:
                raise AssertionError(f"{literal!r} is not in the document's configuration")
            http = http.replace(literal, value)
        app = self.values["127.0.0.1:8000"]
        return f"""worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{http}
    # the application behind the gateway (the test's own): it names the account it was told
    server {{
        listen {app};
        default_type text/plain;
        location / {{ return 200 "upstream page for $http_x_strongmap_account\\n"; }}
    }}
}}
"""

    def error_log(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return "(no error log)"

    def stop(self):
        return procs.stop_process(self.proc)


class GatewayNginx(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-gateway-")
        tmp = cls.tmp.name
        T.ARGS = argparse.Namespace(daemon=ARGS.daemon, data=ARGS.data, host=None)
        T.TMPDIR = cls.tmp
        T.LDIF = T.make_ldif(tmp)
        p = pki.Pki(os.path.join(tmp, "pki"))
        certs = os.path.join(ARGS.data, "certs")
        for name in ("issuing_ca", "root_ca"):  # the CA the directory's NTAuth store holds
            for ext in (".pem", ".key"):
                shutil.copy(os.path.join(certs, name + ext), p.path(name, ext))
        p.ca("server_ca", "/CN=Gateway Test Server CA")
        p.issue("server", "server_ca", "/CN=localhost", "server_ext")
        alice = "/DC=com/DC=example/OU=Users/CN=Alice"
        cls.sid = (p.issue("alice_sid", "issuing_ca", alice, "client_ext", UPN_SAN + "\n" +
                           SID_EXT), p.path("alice_sid", ".key"))
        cls.upn = (p.issue("alice_upn", "issuing_ca", alice, "client_ext", UPN_SAN),
                   p.path("alice_upn", ".key"))
        p.ca("rogue", "/CN=Rogue CA")
        cls.rogue = (p.issue("eve", "rogue", "/CN=eve", "client_ext", UPN_SAN),
                     p.path("eve", ".key"))
        cls.client_cas = os.path.join(tmp, "pki", "client_cas.pem")
        with open(cls.client_cas, "w", encoding="ascii") as out:
            for name in ("issuing_ca", "root_ca"):
                with open(p.path(name), encoding="ascii") as f:
                    out.write(f.read())
        cls.server_ca = p.path("server_ca")
        cls.d = T.Daemon(extra_args=["--ldif", T.LDIF, "--authz-trusted-proxies", "127.0.0.1"])
        try:
            cls.nginx = Nginx(tmp, {
                "/etc/nginx/tls/server.pem": p.path("server"),
                "/etc/nginx/tls/server.key": p.path("server", ".key"),
                "/etc/nginx/tls/client-cas.pem": cls.client_cas,
                "127.0.0.1:8080": f"127.0.0.1:{cls.d.port}"})
        except BaseException:
            cls.d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        rc, _ = cls.d.stop()
        log = cls.d.log()
        cls.tmp.cleanup()
        T.check_log_hygiene(log)
        if rc != 0:
            raise AssertionError(f"strongmapd exited with {rc}:\n{log}")

    def get(self, cert=None, path="/index.html", headers=None):
        ctx = ssl.create_default_context(cafile=self.server_ca)
        ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(*cert)
        c = http.client.HTTPSConnection("127.0.0.1", self.nginx.port, timeout=30, context=ctx)
        try:
            c.request("GET", path, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
        finally:
            c.close()

    def test_allowed_certificate_reaches_the_upstream(self):
        status, h, body = self.get(self.sid)
        self.assertEqual(status, 200, (h, body, self.nginx.error_log()))
        self.assertEqual(body, "upstream page for alice\n")
        self.assertEqual(h.get("x-strongmap-outcome"), "allow")

    def test_denied_certificate_gets_403_with_the_reason(self):
        status, h, body = self.get(self.upn)
        self.assertEqual(status, 403, (h, body, self.nginx.error_log()))
        self.assertEqual(h.get("x-strongmap-reason"), "weak_mapping")
        self.assertEqual(h.get("x-strongmap-outcome"), "deny")
        self.assertIn("weak_mapping", body)  # the custom 403 page
        self.assertIn("altSecurityIdentities", body)  # the fix, one line
        self.assertNotIn("upstream page", body)

    def test_no_certificate_is_denied(self):
        status, h, body = self.get()
        self.assertEqual(status, 403, body)
        self.assertEqual(h.get("x-strongmap-reason"), "no_client_certificate")

    def test_forged_header_through_nginx_is_overwritten(self):
        """A client without a certificate sends its own X-Client-Cert: nginx replaces it."""
        with open(self.sid[0], encoding="ascii") as f:
            forged = re.sub(r"\s", "", f.read())
        status, h, _ = self.get(headers={"X-Client-Cert": forged})
        self.assertEqual(status, 403)
        self.assertEqual(h.get("x-strongmap-reason"), "no_client_certificate")

    def test_forged_header_past_nginx_is_refused(self):
        """From 127.0.0.2, straight to strongmapd: 400, unjudged."""
        with open(self.sid[0], encoding="ascii") as f:
            text = f.read()
        value = urllib.parse.quote(text, safe="-_.~")
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30,
                                       source_address=("127.0.0.2", 0))
        try:
            c.request("GET", "/v1/authz", headers={"X-Client-Cert": value})
            r = c.getresponse()
            body = r.read().decode()
        finally:
            c.close()
        self.assertEqual(r.status, 400, body)
        self.assertIn("trusted_proxies", body)
        self.assertIsNone(r.getheader("X-Strongmap-Outcome"))

    def test_untrusted_ca_is_refused_by_nginx(self):
        status, _, body = self.get(self.rogue)
        self.assertEqual(status, 400, body)  # nginx: "The SSL certificate error"
        self.assertNotIn("upstream page", body)

    def test_each_request_asks_strongmapd(self):
        before = self.d.log().count('path="/v1/authz"')
        for cert in (self.sid, self.upn):
            self.get(cert)
        deadline = time.monotonic() + 5
        while self.d.log().count('path="/v1/authz"') < before + 2:
            self.assertLess(time.monotonic(), deadline, self.d.log()[-2000:])
            time.sleep(0.05)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        print("nginx is missing: scripts/deps.sh installs nginx-light")
        sys.exit(1)  # a failure: the test set needs it
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
