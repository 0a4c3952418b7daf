#!/usr/bin/env python3
"""Gateway tier: strongmapd behind a real OpenVPN 2.6 server (Debian's openvpn), through the
--tls-verify script examples/openvpn-tls-verify.sh, as docs/integrations/openvpn.md configures
it, with real OpenVPN clients connecting on loopback.

Both ends run with --dev null: OpenVPN's null device needs no tun device and configures no
address, while the TLS handshake, --tls-verify and --tls-export-cert work as with a tun. The
server's block of docs/integrations/openvpn.md is read from the page (its paths, address and
token replaced), so that the page cannot drift from what was tested. Client certificates are
issued at test time by the fixtures' issuing CA (tests/data/certs), whose root the test
directory's NTAuth store holds.

    test_openvpn.py --daemon build/daemon/strongmapd --cli build/cli/strongmap
                    --data tests/data [unittest options]
"""

import argparse
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

import pki  # noqa: E402  (tests/lib/pki.py)
import procs  # noqa: E402  (tests/lib/procs.py)
import test_api as T  # noqa: E402  (the daemon harness and the test directory)

DOC = os.path.join(ROOT, "docs", "integrations", "openvpn.md")
SCRIPT = os.path.join(ROOT, "examples", "openvpn-tls-verify.sh")
TOKEN = "openvpn-" + "t" * 24
SID_1105 = "S-1-5-21-1004336348-1177238915-682003330-1105"  # alice in verdict.ldif.in
SID_EXT = f"""1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_ext
[sid_ext]
other = IMPLICIT:0,SEQUENCE:sid_other
[sid_other]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:{SID_1105}
"""
UPN_SAN = "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com"
DONE = "Initialization Sequence Completed"
ARGS = None


def parents(path):
    """@path's directories, from / down."""
    out, d = [], os.path.dirname(path)
    while True:
        out.append(d)
        if d == os.path.dirname(d):
            return out[::-1]
        d = os.path.dirname(d)


def openvpn_bin():
    return shutil.which("openvpn") or "/usr/sbin/openvpn"


def doc_block():
    """The ```openvpn-server block of docs/integrations/openvpn.md."""
    with open(DOC, encoding="utf-8") as f:
        m = re.search(r"```openvpn-server\n(.*?)```", f.read(), re.S)
    if not m:
        raise AssertionError(f"no ```openvpn-server block in {DOC}")
    return m.group(1)


def fill(text, values):
    for literal, value in values.items():
        if literal not in text:
            raise AssertionError(f"{literal!r} is not in the document's block")
        text = text.replace(literal, value)
    return text


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def wait_for(fn, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


class Server:
    """openvpn --tls-server --dev null on a loopback UDP port, with the page's block."""

    def __init__(self, tmp, name, pki_dir, url, user=None):
        """@user: (uid, gid, name, group) to run as, with the page's advice applied: the export
        directory the user's, the token file readable by its group, persist-key."""
        self.dir = d = os.path.join(tmp, "server-" + name)
        os.makedirs(d)
        self.export = os.path.join(d, "export")
        os.makedirs(self.export, mode=0o700)
        token = os.path.join(d, "strongmap.token")
        with open(token, "w", encoding="ascii") as f:
            f.write(TOKEN + "\n")
        extra = ""
        if user is not None:
            uid, gid, uname, gname = user
            os.chmod(d, 0o711)
            os.chown(self.export, uid, gid)
            os.chown(token, 0, gid)
            os.chmod(token, 0o640)
            extra = f"user {uname}\ngroup {gname}\npersist-key\n"
        self.conf = os.path.join(d, "server.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(fill(doc_block(), {
                "/var/lib/openvpn/strongmap": self.export,
                "/usr/local/libexec/strongmap/openvpn-tls-verify.sh": SCRIPT,
                "http://127.0.0.1:8080": url,
                "/etc/openvpn/server/strongmap.token": token,
                "/usr/bin/strongmap": ARGS.cli}) + extra)
        self.log_path = os.path.join(d, "server.log")
        for _ in range(3):
            self.port = procs.free_ports(1)[0]
            if self.start(pki_dir):
                return
        raise AssertionError("OpenVPN did not start:\n" + self.log())

    def start(self, p):
        self.logf = open(self.log_path, "w", encoding="utf-8")
        self.proc = procs.spawn(
            [openvpn_bin(), "--dev", "null", "--proto", "udp", "--local", "127.0.0.1",
             "--lport", str(self.port), "--tls-server", "--ca", os.path.join(p, "client_cas.pem"),
             "--cert", os.path.join(p, "server.pem"), "--key", os.path.join(p, "server.key"),
             "--dh", "none", "--verb", "3", "--config", self.conf],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.dir)
        if wait_for(lambda: DONE in self.log() or self.proc.poll() is not None or
                    "UDPv4 link local (bound)" in self.log(), 20):
            if self.proc.poll() is None and "UDPv4 link local (bound)" in self.log():
                return True
        procs.stop_process(self.proc)
        self.logf.close()
        if "Address already in use" in self.log():
            return False
        raise AssertionError("OpenVPN did not start:\n" + self.log()[-4000:])

    def log(self):
        return read(self.log_path)

    def stop(self):
        procs.stop_process(self.proc)
        self.logf.close()


class GatewayOpenvpn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-openvpn-")
        tmp = cls.tmp.name
        T.ARGS = argparse.Namespace(daemon=ARGS.daemon, data=ARGS.data, host=None)
        T.TMPDIR = cls.tmp
        cls.pki = pdir = os.path.join(tmp, "pki")
        p = pki.Pki(pdir)
        certs = os.path.join(ARGS.data, "certs")
        for name in ("issuing_ca", "root_ca"):  # the CA the directory's NTAuth store holds
            for ext in (".pem", ".key"):
                shutil.copy(os.path.join(certs, name + ext), p.path(name, ext))
        p.ca("server_ca", "/CN=OpenVPN Test Server CA")
        p.issue("server", "server_ca", "/CN=vpn.example.com", "server_ext")
        users = "/DC=com/DC=example/OU=Users/CN="
        p.issue("alice_sid", "issuing_ca", users + "Alice", "client_ext", UPN_SAN + "\n" + SID_EXT)
        p.issue("alice_upn", "issuing_ca", users + "Alice", "client_ext", UPN_SAN)
        with open(os.path.join(pdir, "client_cas.pem"), "w", encoding="ascii") as out:
            for name in ("issuing_ca", "root_ca"):
                out.write(read(p.path(name)))
        cls.d = T.Daemon(extra_args=["--ldif", T.make_ldif(tmp),
                                     "--token", f"openvpn:{T.token_hash(TOKEN)}:check"])
        cls.servers = []

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.stop()
        rc, _ = cls.d.stop()
        log = cls.d.log()
        cls.tmp.cleanup()
        T.check_log_hygiene(log)
        if rc != 0:
            raise AssertionError(f"strongmapd exited with {rc}:\n{log}")

    def server(self, name, url=None, user=None):
        s = Server(self.tmp.name, name, self.pki, url or f"http://127.0.0.1:{self.d.port}",
                   user)
        self.servers.append(s)
        return s

    def client(self, server, cert):
        """An OpenVPN client with @cert: (its process, its log's path)."""
        log = os.path.join(server.dir, f"client-{cert}.log")
        logf = open(log, "w", encoding="utf-8")
        proc = procs.spawn(
            [openvpn_bin(), "--dev", "null", "--proto", "udp", "--remote", "127.0.0.1",
             str(server.port), "--nobind", "--tls-client", "--remote-cert-tls", "server",
             "--ca", os.path.join(self.pki, "server_ca.pem"),
             "--cert", os.path.join(self.pki, cert + ".pem"),
             "--key", os.path.join(self.pki, cert + ".key"),
             "--tls-exit", "--connect-retry-max", "1", "--hand-window", "4", "--verb", "3"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        return proc, log

    def test_sid_certificate_gets_a_tunnel(self):
        s = self.server("allow")
        proc, log = self.client(s, "alice_sid")
        try:
            ok = wait_for(lambda: DONE in read(log) or proc.poll() is not None, 30)
            self.assertIn(DONE, read(log), read(log)[-3000:] + s.log()[-3000:])
        finally:
            procs.stop_process(proc)
        self.assertTrue(ok)
        self.assertTrue(wait_for(lambda: DONE in s.log(), 30), s.log()[-3000:])
        slog = s.log()
        # called once per certificate of the chain, the CAs first
        self.assertRegex(slog, r"VERIFY SCRIPT OK: depth=2, .*CN=Example Root CA")
        self.assertRegex(slog, r"VERIFY SCRIPT OK: depth=1, .*CN=Example Issuing CA")
        self.assertRegex(slog, r"VERIFY SCRIPT OK: depth=0, .*CN=Alice")
        self.assertNotIn("VERIFY SCRIPT ERROR", slog)
        self.assertIn("allow on windows-2022: ", slog)  # strongmap gate's line
        self.assertEqual(os.listdir(s.export), [])  # OpenVPN removed the exported PEM
        # the verdict was strongmapd's: POST /v1/verdict with the token
        self.assertTrue(self.d.wait_log("/v1/verdict", 5), self.d.log()[-2000:])

    def test_upn_only_certificate_is_refused(self):
        s = self.server("deny")
        proc, log = self.client(s, "alice_upn")
        try:
            self.assertTrue(wait_for(lambda: "VERIFY SCRIPT ERROR" in s.log(), 30), s.log())
            # the client is not told over UDP: it gives up after --hand-window
            rc = proc.wait(30)
        finally:
            procs.stop_process(proc)
        slog, clog = s.log(), read(log)
        self.assertRegex(slog, r"VERIFY SCRIPT ERROR: depth=0, .*CN=Alice")
        self.assertIn("KDC error 66 KDC_ERR_CERTIFICATE_MISMATCH, KDC event 39", slog)
        self.assertNotIn(DONE, slog)
        self.assertNotIn(DONE, clog)
        self.assertIn("TLS key negotiation failed", clog)
        self.assertIsNotNone(rc)

    def test_strongmapd_down_fails_closed(self):
        port = procs.free_ports(1)[0]  # nothing listens there
        s = self.server("down", url=f"http://127.0.0.1:{port}")
        proc, _ = self.client(s, "alice_sid")
        try:
            self.assertTrue(wait_for(lambda: "VERIFY SCRIPT ERROR" in s.log(), 30), s.log())
        finally:
            procs.stop_process(proc)
        slog = s.log()
        self.assertRegex(slog, r"VERIFY SCRIPT ERROR: depth=0, .*CN=Alice")
        self.assertRegex(slog, r"strongmap: [^\n]*127\.0\.0\.1")  # the gate's reason
        self.assertNotIn(DONE, slog)

    def test_unprivileged_server_as_the_page_says(self):
        """With `user nobody`: the export directory nobody's, the token file its group's."""
        if os.geteuid() != 0:
            self.skipTest("OpenVPN's `user` needs root")
        for path in (ARGS.cli, SCRIPT):  # the binary and the script, as nobody runs them
            if not all(os.stat(d).st_mode & 0o001 for d in parents(path)):
                self.skipTest(f"{path} is not reachable by other users")
        os.chmod(self.tmp.name, 0o711)
        pw = pwd.getpwnam("nobody")
        s = self.server("nobody", user=(pw.pw_uid, pw.pw_gid, "nobody",
                                        grp.getgrgid(pw.pw_gid).gr_name))
        proc, log = self.client(s, "alice_sid")
        try:
            wait_for(lambda: DONE in read(log) or proc.poll() is not None, 30)
            self.assertIn(DONE, read(log), read(log)[-3000:] + s.log()[-3000:])
        finally:
            procs.stop_process(proc)
        slog = s.log()
        self.assertIn("UID set to nobody", slog)
        self.assertRegex(slog, r"VERIFY SCRIPT OK: depth=0, .*CN=Alice")
        # and a directory nobody cannot write fails the handshake, as the page says
        os.chown(s.export, 0, 0)
        proc, log = self.client(s, "alice_sid")
        try:
            self.assertTrue(wait_for(lambda: "Failed to export certificate" in s.log(), 30),
                            s.log()[-3000:])
        finally:
            procs.stop_process(proc)

    def run_script(self, args, env):
        return subprocess.run([SCRIPT] + args, env=env, capture_output=True, text=True,
                              timeout=30)

    def test_script_above_depth_0_allows_without_asking(self):
        """The CAs' calls exit 0 and run nothing, even with a stale peer_cert."""
        env = {"PATH": "/usr/bin:/bin", "STRONGMAP": "/nonexistent/strongmap",
               "peer_cert": "/nonexistent.pem"}
        r = self.run_script(["--daemon", "http://127.0.0.1:1", "1",
                             "C=US, O=Example, CN=Example Issuing CA"], env)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_script_without_peer_cert_fails_closed(self):
        env = {"PATH": "/usr/bin:/bin", "STRONGMAP": ARGS.cli}
        r = self.run_script(["--daemon", f"http://127.0.0.1:{self.d.port}", "0", "CN=Alice"],
                            env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls-export-cert", r.stderr)
        r = self.run_script(["0"], env)
        self.assertEqual(r.returncode, 2)
        r = self.run_script(["--daemon", "x", "zero", "CN=Alice"], env)
        self.assertEqual(r.returncode, 2)

    def test_script_passes_the_gate_options_and_status(self):
        """At depth 0, the arguments before OpenVPN's two go to strongmap gate, the file last."""
        env = {"PATH": "/usr/bin:/bin", "STRONGMAP": ARGS.cli,
               "peer_cert": os.path.join(self.pki, "alice_upn.pem")}
        token = os.path.join(self.tmp.name, "token")
        with open(token, "w", encoding="ascii") as f:
            f.write(TOKEN + "\n")
        base = ["--daemon", f"http://127.0.0.1:{self.d.port}", "--token-file", token]
        r = self.run_script(base + ["0", "CN=Alice, OU=a b"], env)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("KDC event 39", r.stderr)
        # a what-if passed through: compatibility mode on a DC without the 2025-09 update
        r = self.run_script(base + ["--profile", "windows-2022,update=2025-08-12", "--mode", "1",
                                    "0", "CN=Alice"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        env["peer_cert"] = os.path.join(self.pki, "alice_sid.pem")
        r = self.run_script(base + ["0", "CN=Alice"], env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("allow on "), r.stdout)

    def test_script_is_shellcheck_clean(self):
        sc = shutil.which("shellcheck")
        if sc is None:
            if os.environ.get("CI") == "true":
                self.fail("shellcheck is missing: scripts/deps.sh test installs it")
            self.skipTest("shellcheck is not installed (scripts/deps.sh test installs it)")
        r = subprocess.run([sc, SCRIPT], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--cli", required=True, help="path of the strongmap binary")
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    ARGS.cli = os.path.abspath(ARGS.cli)
    if not (shutil.which("openvpn") or os.path.exists("/usr/sbin/openvpn")):
        print("OpenVPN is needed: scripts/deps.sh installs openvpn")
        sys.exit(1)  # a failure, under CI=true too: the test set needs it
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
