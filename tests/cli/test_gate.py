#!/usr/bin/env python3
"""Tests of `strongmap gate`, the hook a CA runs before it issues (unittest, Python 3 standard
library and openssl only).

    test_gate.py --cli PATH/strongmap --daemon PATH/strongmapd --data tests/data [unittest options]

The contract is EJBCA's External Command Certificate Validator's (docs/integrations/ejbca.md):
an exit status above 0 rejects the certificate, and so does anything written to stderr. So
every case checks both: 0 and an empty stderr for a certificate that logs on, a status above 0
with exactly one line on stderr for everything else (a deny, unreadable input, a daemon that is
down, refuses the token, answers too much, too slowly or not a verdict). The verdicts come
from the directory flags (--ldif, and an LDAP server that refuses connections) and from real
strongmapd processes started here (plain HTTP with a bearer token, HTTPS with the tests' CA),
and EJBCA's two command lines are run as it builds them: the certificate's temporary file
(DER) as the first argument, and the PEM on stdin through /bin/sh -c for %cert%.
"""

import argparse
import base64
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import pki  # noqa: E402  (tests/lib/pki.py)
import procs  # noqa: E402  (tests/lib/procs.py)

ARGS = None
AT = "2026-06-01T00:00:00Z"
SECRET = "gate-test-secret-0123456789abcdef"
ALLOW = "sid_ext.pem"     # alice's SID extension: allow on every Windows profile
DENY = "upn_only.pem"     # a UPN only: weak, denied under full enforcement (66, event 39)
LISTEN_RE = re.compile(r"listening on ([0-9.]+):(\d+)")


def certs(name):
    return os.path.join(ARGS.data, "certs", name)


def pem_der_b64(path):
    with open(path, encoding="ascii") as f:
        m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", f.read(), re.S)
    return base64.b64encode(base64.b64decode("".join(m.group(1).split()))).decode()


def gate(*args, stdin=b"", argv0_file=None):
    """Run the CLI's gate; @argv0_file: EJBCA's form, the file before "gate"."""
    cmd = [ARGS.cli] + ([argv0_file] if argv0_file else []) + ["gate"] + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)


class Daemon:
    """A strongmapd on a free loopback port; its stderr read by a thread."""

    def __init__(self, *args):
        self.lines, self.ready = [], threading.Event()
        self.port = None
        self.proc = procs.spawn(
            [ARGS.daemon, "--allow-root", "--listen", "127.0.0.1:0", "--threads", "2", "-v"]
            + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(20) or self.port is None:
            procs.stop_process(self.proc)
            raise AssertionError("strongmapd did not start:\n" + "\n".join(self.lines))

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = LISTEN_RE.search(line)
            if m and self.port is None:
                self.port = int(m.group(2))
                self.ready.set()
        self.ready.set()

    def stop(self):
        procs.stop_process(self.proc)
        self.proc.stderr.close()


class Peer(http.server.ThreadingHTTPServer):
    """Not strongmapd: an HTTP server answering POST with what the test sets (a broken daemon
    or something else on its port), to check that the gate fails closed."""

    def __init__(self):
        self.status, self.body, self.delay = 200, b"", 0.0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(h):  # noqa: N802
                h.rfile.read(int(h.headers.get("Content-Length", 0)))
                time.sleep(self.delay)
                h.send_response(self.status)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(self.body)))
                h.end_headers()
                try:
                    h.wfile.write(self.body)
                except OSError:
                    pass

            def log_message(h, *a):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class GateTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sm-cli-gate-")
        with open(os.path.join(ARGS.data, "dir", "verdict.ldif.in"), encoding="utf-8") as f:
            text = f.read()
        text = text.replace("@ISSUING_CA@", pem_der_b64(certs("issuing_ca.pem")))
        text = text.replace("@USERCERT_UPN_ONLY@", pem_der_b64(certs("upn_only.pem")))
        for key, name in (("@KEYCRED_BCRYPT@", "whfb_keycred_bcrypt.txt"),
                          ("@KEYCRED_SPKI@", "whfb_keycred_spki.txt")):
            with open(os.path.join(ARGS.data, "verdict", name), encoding="ascii") as f:
                text = text.replace(key, f.read().strip())
        cls.ldif = os.path.join(cls.tmp, "verdict.ldif")
        with open(cls.ldif, "w", encoding="utf-8") as f:
            f.write(text)
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(cls.token_file, "w", encoding="ascii") as f:
            f.write(SECRET + "\n")
        os.chmod(cls.token_file, 0o600)
        cls.wrong_token = os.path.join(cls.tmp, "wrong-token")
        with open(cls.wrong_token, "w", encoding="ascii") as f:
            f.write("not-the-secret\n")
        sha = hashlib.sha256(SECRET.encode()).hexdigest()
        cls.daemon = Daemon("--ldif", cls.ldif, "--token", f"ejbca:{sha}:check",
                            "--profile", "windows-2019", "--profile", "windows-2022")
        cls.url = f"http://127.0.0.1:{cls.daemon.port}"
        p = pki.Pki(os.path.join(cls.tmp, "pki"))
        cls.ca = p.ca("ca", "/CN=Gate Test CA")
        server = p.issue("server", "ca", "/CN=localhost", "server_ext")
        cls.https = Daemon("--ldif", cls.ldif, "--tls-cert", server, "--tls-key",
                           p.path("server", ".key"))
        cls.peer = Peer()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.https.stop()
        cls.peer.shutdown()
        cls.peer.server_close()
        shutil.rmtree(cls.tmp)

    def remote(self, *extra):
        return ["--daemon", self.url, "--token-file", self.token_file, "--at", AT] + list(extra)

    def local(self, *extra):
        return ["--ldif", self.ldif, "--at", AT] + list(extra)

    def assertAllow(self, p, *mentions):
        self.assertEqual(p.stderr, b"")
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("allow on ") and out.count("\n") == 1, out)
        for m in mentions:
            self.assertIn(m, out)

    def assertRejected(self, p, code, *mentions):
        """Status @code (> 0), nothing on stdout, one line on stderr naming @mentions."""
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, code, err)
        self.assertEqual(err.count("\n"), 1, repr(err))
        self.assertTrue(err.startswith("strongmap: ") and err.endswith("\n"), repr(err))
        self.assertEqual(p.stdout, b"")
        for m in mentions:
            self.assertIn(m, err)
        return err

    # ---- the verdict from the directory flags --------------------------------------------

    def test_local_allow(self):
        self.assertAllow(gate(certs(ALLOW), *self.local()), "windows-2022", "CN=Alice")

    def test_local_deny(self):
        self.assertRejected(gate(certs(DENY), *self.local()), 3, "deny on windows-2022",
                            "KDC error 66 KDC_ERR_CERTIFICATE_MISMATCH", "KDC event 39")

    def test_local_profiles(self):
        """Every profile must allow: compatibility mode on 2016 lets the UPN-only certificate
        in, a fleet with a 2022 DC in full enforcement does not."""
        self.assertAllow(gate(certs(DENY), *self.local("--profile", "windows-2016,mode=1")),
                         "windows-2016")
        self.assertRejected(gate(certs(DENY), *self.local("--profile", "windows-2016,mode=1",
                                                          "--profile", "windows-2022")),
                            3, "deny on windows-2022")

    def test_local_directory_down(self):
        port = procs.free_ports(1)[0]
        p = gate(certs(ALLOW), "--ldap-uri", f"ldap://127.0.0.1:{port}", "--ldap-base",
                 "DC=example,DC=com", "--at", AT)
        self.assertRejected(p, 4, "directory")

    # ---- unreadable input ------------------------------------------------------------------

    def test_unreadable_input(self):
        missing = os.path.join(self.tmp, "missing.pem")
        for args in ((missing,), (self.tmp,)):
            for mode in (self.local(), self.remote()):
                self.assertRejected(gate(*args, *mode), 1, args[0])
        for stdin in (b"", b"garbage\n", b"-----BEGIN CERTIFICATE-----\nAAAA\n"):
            for mode in (self.local(), self.remote()):
                self.assertRejected(gate(*mode, stdin=stdin), 1, "stdin")
        # more than the one certificate to be issued
        self.assertRejected(gate(certs("chain.pem"), *self.remote()), 1, "3 certificates")

    def test_usage(self):
        for args in (self.remote("--ldif", self.ldif), ["--token-file", self.token_file,
                                                        *self.local()],
                     self.remote("--pretty"), self.remote("--timeout", "0"),
                     [certs(ALLOW), certs(ALLOW), *self.local()], [certs(ALLOW)]):
            p = gate(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertNotEqual(p.stderr, b"")
        p = subprocess.run([ARGS.cli, "verdict", certs(ALLOW), "--daemon", self.url],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 2)

    # ---- the verdict from strongmapd --------------------------------------------------------

    def test_daemon_allow(self):
        """The daemon's default profiles (2019 and 2022), a token, PEM from a file and stdin."""
        self.assertAllow(gate(certs(ALLOW), *self.remote()), "windows-2019, windows-2022",
                         "CN=Alice")
        with open(certs(ALLOW), "rb") as f:
            self.assertAllow(gate(*self.remote(), stdin=f.read()))
            f.seek(0)
            self.assertAllow(gate("-", *self.remote(), stdin=f.read()))

    def test_daemon_deny(self):
        self.assertRejected(gate(certs(DENY), *self.remote()), 3, "deny on windows-2019",
                            "KDC error 66")
        self.assertRejected(gate(certs("expired.pem"), *self.remote()), 3, "KDC error 71")

    def test_daemon_whatif(self):
        """--profile, --mode and --account go to the daemon's query string."""
        self.assertAllow(gate(certs(DENY), *self.remote("--profile", "windows-2016,mode=1")),
                         "windows-2016")
        self.assertRejected(gate(certs(DENY), *self.remote("--profile", "windows-2016",
                                                           "--mode", "2")), 3)
        self.assertAllow(gate(certs(DENY), *self.remote("--profile", "windows-2016",
                                                        "--mode", "1")))
        self.assertRejected(gate(certs(ALLOW), *self.remote("--account", "bob")), 3)

    def test_daemon_down(self):
        port = procs.free_ports(1)[0]
        p = gate(certs(ALLOW), "--daemon", f"http://127.0.0.1:{port}", "--at", AT)
        self.assertRejected(p, 4, f"127.0.0.1:{port}")
        d = Daemon("--ldif", self.ldif)
        url = f"http://127.0.0.1:{d.port}"
        self.assertAllow(gate(certs(ALLOW), "--daemon", url, "--at", AT))
        d.stop()
        self.assertRejected(gate(certs(ALLOW), "--daemon", url, "--at", AT), 4)

    def test_daemon_directory_down(self):
        port = procs.free_ports(1)[0]
        d = Daemon("--ldap-uri", f"ldap://127.0.0.1:{port}", "--ldap-base", "DC=example,DC=com",
                   "--ldap-connect-timeout", "200ms")
        try:
            p = gate(certs(ALLOW), "--daemon", f"http://127.0.0.1:{d.port}", "--at", AT)
            self.assertRejected(p, 4, "503")
        finally:
            d.stop()

    def test_daemon_token(self):
        self.assertRejected(gate(certs(ALLOW), "--daemon", self.url, "--at", AT), 4, "401")
        self.assertRejected(gate(certs(ALLOW), "--daemon", self.url, "--token-file",
                                 self.wrong_token, "--at", AT), 4, "401")
        self.assertRejected(gate(certs(ALLOW), "--daemon", self.url, "--token-file",
                                 os.path.join(self.tmp, "none"), "--at", AT), 1, "--token-file")

    def test_daemon_bad_request(self):
        """What strongmapd refuses as input is bad input (1): here a what-if it checks."""
        self.assertRejected(gate(certs(ALLOW), *self.remote("--profile", "samba",
                                                            "--mode", "0", "--profile",
                                                            "windows-2022")), 2)
        p = gate(certs(ALLOW), *self.remote("--account", "x" * 2000))
        self.assertRejected(p, 1, "400")

    def test_https(self):
        """The daemon's certificate is verified: against --cacert, else the system's CAs,
        which do not hold the tests' CA."""
        url = f"https://localhost:{self.https.port}"
        self.assertAllow(gate(certs(ALLOW), "--daemon", url, "--cacert", self.ca, "--at", AT))
        self.assertAllow(gate(certs(ALLOW), "--daemon", f"https://127.0.0.1:{self.https.port}",
                              "--cacert", self.ca, "--at", AT))
        self.assertRejected(gate(certs(ALLOW), "--daemon", url, "--at", AT), 4, "certificate")
        self.assertRejected(gate(certs(ALLOW), "--daemon", f"http://localhost:{self.https.port}",
                                 "--at", AT), 4)

    def test_not_a_daemon(self):
        """Whatever answers on the daemon's URL, only a verdict document allows."""
        cases = (
            (200, b'{"outcome":"deny"}', 3),
            (200, b'{"outcome":"allow"', 4),                    # cut short
            (200, b'{"outcome":"allow"} x', 4),                 # trailing bytes
            (200, b'{"verdict":{"outcome":"allow"}}', 4),       # not at the top
            (200, b'{"outcome":"allow","outcome":"allow"}', 4),  # a member twice
            (200, b'{"outcome":"unknown"}', 4),
            (200, b'["allow"]', 4),
            (200, b"allow", 4),
            (200, b"", 4),
            (200, b"[" * 100000 + b"]" * 100000, 4),            # nesting past the bound
            (200, b'{"a":"' + b"x" * (5 << 20) + b'"}', 4),    # past the bound on answers
            (500, b'{"title":"Internal Server Error"}', 4),
            (400, b'{"title":"Bad Request","detail":"bad \\u001b[31m certificate"}', 1),
        )
        for status, body, code in cases:
            self.peer.status, self.peer.body = status, body
            p = gate(certs(ALLOW), "--daemon", self.peer.url, "--at", AT)
            err = self.assertRejected(p, code)
            self.assertNotIn("\x1b", err)
        # JSON text as JSON, not as bytes: an escaped letter is the letter (Jansson reads it)
        for body in (b'{"outcome":"allow","profiles":[]}', b'{"outcome":"\\u0061llow"}'):
            self.peer.status, self.peer.body = 200, body
            self.assertAllow(gate(certs(ALLOW), "--daemon", self.peer.url, "--at", AT))

    def test_timeout(self):
        self.peer.status, self.peer.body, self.peer.delay = 200, b'{"outcome":"allow"}', 3.0
        try:
            t0 = time.monotonic()
            p = gate(certs(ALLOW), "--daemon", self.peer.url, "--timeout", "1", "--at", AT)
            self.assertLess(time.monotonic() - t0, 2.9)
            self.assertRejected(p, 4, "timed out")
        finally:
            self.peer.delay = 0.0

    # ---- EJBCA's two command lines -------------------------------------------------------

    def test_ejbca_temporary_file(self):
        """EJBCA writes the certificate (DER) to a temporary file and runs COMMAND FILE ARGS."""
        der = os.path.join(self.tmp, "ExternalCommandCertificateValidator-1.tmp")
        for name, allow in ((ALLOW, True), (DENY, False)):
            subprocess.run(["openssl", "x509", "-in", certs(name), "-outform", "DER", "-out",
                            der], check=True, timeout=30)
            for mode in (self.remote(), self.local()):
                p = gate(*mode, argv0_file=der)
                if allow:
                    self.assertAllow(p)
                else:
                    self.assertRejected(p, 3, "deny")

    def test_ejbca_stdin(self):
        """With %cert% EJBCA removes the placeholder and pipes the PEM through /bin/sh -c."""
        for name, code in ((ALLOW, 0), (DENY, 3)):
            with open(certs(name), encoding="ascii") as f:
                pem = f.read()
            m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", pem, re.S)
            line = (f'echo -n "{m.group(0)}" | {ARGS.cli} gate --daemon {self.url} '
                    f"--token-file {self.token_file} --at {AT}")
            p = subprocess.run(["/bin/sh", "-c", line], capture_output=True, timeout=60)
            self.assertEqual(p.returncode, code, p.stderr)
            self.assertEqual(p.stderr == b"", code == 0)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--data", required=True)
    ARGS, rest = ap.parse_known_args()
    # SIGPIPE stays ignored here (Python's default): the commands run get the default action
    # back anyway (subprocess's restore_signals), and a gate that exits before reading all of
    # its stdin must not kill the harness writing it (cli.gate died of SIGPIPE once under load)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
