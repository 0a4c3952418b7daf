#!/usr/bin/env python3
"""System tests of strongmapd as a process: its configuration file and flags, reload, systemd
protocols and privileges.

  TConfig       strongmapd -n (configuration OK, or the error with its file and line, for a table
                of bad files), -p (effective configuration, secrets masked, flags over the
                file), the documents naming every directive
  TReload       SIGHUP changes what requests get (a token, the DC profiles' mode); a bad file or
                directory keeps the running configuration (logged); restart-only directives are
                ignored; RELOADING=1 + MONOTONIC_USEC and READY=1 on a fake NOTIFY_SOCKET
  TReloadLoad   8 keep-alive clients, thousands of requests, 20 reloads: no request fails
  TPerms        (root only) owners and modes of the configuration, the TLS key, the bind
                password, the keytab and the other files named: refused or warned about by -n,
                at start and at a reload
  TFifo         a FIFO where a file is named: refused at once by -n and by a reload, which
                keeps the running configuration
  TTls          the cipher suites HTTPS offers, probed with openssl s_client and gnutls-cli:
                forward-secret AEAD only by default; [tls] priorities, checked by -n
  TSocket       socket activation: LISTEN_FDS / LISTEN_PID with the sockets at fd 3.., through
                a small python wrapper that execs the daemon
  TPrivileges   (root only) refusing root, --user nobody (Uid in /proc/<pid>/status), files
                read before the drop (TLS key, LDIF in a root-only directory)

python3 standard library only, plus openssl(1) for throw-away TLS certificates and as a TLS
client, and gnutls-cli(1) (gnutls-bin).

    test_system.py --daemon build/daemon/strongmapd [--source .] [unittest args, e.g. TConfig]
"""

import argparse
import hashlib
import http.client
import json
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import pki  # noqa: E402  (tests/lib/pki.py)

ARGS = None
START_TIMEOUT = 20.0  # sanitizer builds start slowly
TOKEN_SECRET = "s3cret-system-test-token"
TOKEN_HASH = hashlib.sha256(TOKEN_SECRET.encode()).hexdigest()
LISTEN_RE = re.compile(r"listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")


def src(*parts):
    return os.path.join(ARGS.source, *parts)


def cert_json(name):
    with open(src("examples", "certs", name), encoding="ascii") as f:
        return json.dumps({"certificate": f.read()})


def env_for(no_leaks=False):
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        env.pop(k, None)
    if no_leaks:
        # A process that dropped root is not dumpable: LeakSanitizer cannot ptrace it at exit.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


class Daemon:
    """One strongmapd process; its stderr lines are collected by a thread."""

    def __init__(self, args, env=None, listeners=1, prefix=(), pass_fds=(), preexec_fn=None):
        self.lines = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.addrs = []
        self.eof = False
        cmd = list(prefix) + [ARGS.daemon] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env or env_for(),
                                     pass_fds=pass_fds, preexec_fn=preexec_fn)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        with self.lock:
            ok = self.changed.wait_for(lambda: len(self.addrs) >= listeners or self.eof,
                                       START_TIMEOUT)
        if not ok or len(self.addrs) < listeners:
            self.kill()
            raise AssertionError("daemon did not start:\n" + self.log())

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
                m = LISTEN_RE.search(line)
                if m:
                    self.addrs.append((m.group(1).strip("[]"), int(m.group(2))))
                self.changed.notify_all()
        with self.lock:
            self.eof = True
            self.changed.notify_all()

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_log(self, pattern, count=1, timeout=15.0):
        """Wait until @pattern (regex) matched @count lines; returns the last match."""
        rx = re.compile(pattern)

        def found():
            return [m for m in map(rx.search, self.lines) if m]

        with self.lock:
            self.changed.wait_for(lambda: len(found()) >= count or self.eof, timeout)
            hits = found()
        if len(hits) < count:
            raise AssertionError(f"no {count} log lines match {pattern!r}:\n" + self.log())
        return hits[-1]

    def conn(self, i=0, timeout=30, context=None):
        host, port = self.addrs[i]
        if context:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, i=0, context=None):
        c = self.conn(i, context=context)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def verdict(self, name="alice-no-sid.pem", headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        status, body = self.request("POST", "/v1/verdict", cert_json(name), h)
        return status, json.loads(body)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("daemon did not stop:\n" + self.log())
        self.reader.join(5)
        self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.proc.stderr.close()


class Notify:
    """A fake service manager: an AF_UNIX datagram socket, its messages collected."""

    def __init__(self, tmpdir):
        self.path = os.path.join(tmpdir, f"notify-{os.getpid()}-{id(self)}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.sock.settimeout(0.2)
        self.msgs = []

    def wait(self, pred, timeout=15.0):
        """Receive until @pred(all messages so far) holds."""
        deadline = time.monotonic() + timeout
        while not pred(self.msgs):
            if time.monotonic() > deadline:
                raise AssertionError(f"not the notifications expected: {self.msgs!r}")
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def count(self, prefix):
        return sum(m.startswith(prefix) for m in self.msgs)

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="strongmapd-system-")
        os.chmod(self.tmp, 0o755)  # a daemon that dropped root must still reach its files
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, text, name="strongmapd.conf"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def run_daemon(self, *args, env=None, timeout=30):
        return subprocess.run([ARGS.daemon, *args], stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, env=env or env_for())

    def start(self, *args, **kw):
        d = Daemon(args, **kw)
        self.daemons.append(d)
        return d

    def stop(self, d):
        rc = d.stop()
        self.assertEqual(rc, 0, d.log())
        for line in d.log().splitlines():
            self.assertRegex(line, r"^<[0-7]>", "log line without a priority prefix")
        self.assertNotIn(TOKEN_SECRET, d.log())
        self.assertNotIn(TOKEN_HASH, d.log())


ROOT_OK = ["--allow-root"] if os.geteuid() == 0 else []


# ---- configuration: -n, -p, flags, documents ------------------------------------------------


class TConfig(Base):
    def check(self, text, *flags):
        path = self.conf(text)
        return path, self.run_daemon("-n", "-c", path, *flags)

    def test_example_and_defaults_are_ok(self):
        for args in (["-c", src("examples", "strongmapd.conf")], ["-c", "/dev/null"]):
            with self.subTest(args=args):
                p = self.run_daemon("-n", *args)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(b"configuration OK", p.stderr)

    def test_good_file(self):
        ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), ldif)
        path, p = self.check(
            "# every section, values at their bounds\n"
            "[server]\n  listen = 127.0.0.1:0\n\tlisten = [::1]:0\nthreads = 256\n"
            "[auth]\ntoken = ops:%s:check,account\nscope.metrics = none ; open\n"
            "[directory]\nldif = demo.ldif\n"  # relative to the file's directory
            "[profiles]\nprofile = samba\nprofile = windows-2016\nmode = 1\nbackdating = 0\n"
            "[cache]\nsize = 0\nttl = 86400\n"
            "[limits]\nmax_body = 16M\nmax_header = 8K\nrate = 0.5\nburst = 1\n"
            "[log]\nlevel = debug\n" % TOKEN_HASH)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"configuration OK\n")

    def test_bad_files(self):
        ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), ldif)
        empty_pw = self.conf("", "empty.pw")
        notpem = self.conf("not a key\n", "key.txt")
        for secret in (empty_pw, notpem):
            os.chmod(secret, 0o600)
        bad_ldif = src("tests", "data", "dir", "bad_syntax.ldif")
        long_line = "[directory]\nldap_base = " + "dc=x," * 60 + "dc=com\n"
        cases = [
            # (file text, line of the error, text the message has)
            ("[server]\nthreads = 0\n", 2, "threads: 0 is below the minimum 1"),
            ("[server]\nthreads = 257\n", 2, "threads: 257 is above the maximum 256"),
            ("[server]\nthreads = four\n", 2, 'threads: "four" is not a number'),
            ("# x\n[server]\nthreads = 2\nthreads = 3\n", 4, "given twice (first on line 3)"),
            ("[server]\nthread = 2\n", 2, "thread: unknown key in [server]"),
            ("[srv]\nthreads = 2\n", 2, "unknown section [srv]"),
            ("threads = 2\n", 1, "outside a section"),
            ("[server\nthreads = 2\n", 1, "a section header without ']'"),
            ("[server]\n\njust words\n", 3, 'expected "key = value"'),
            ("[server]\nlisten = localhost:80\n", 2, "listen: \"localhost:80\" is not"),
            ("[server]\nlisten = 127.0.0.1:65536\n", 2, "listen:"),
            ("[server]\nallow_root = maybe\n", 2, "allow_root: \"maybe\" is not yes or no"),
            ("[server]\ngroup = nogroup\n", 2, "group needs user"),
            ("[tls]\ncert = /x.pem\n", 2, "cert needs key"),
            ("[tls]\nclient_ca = /ca.pem\n", 2, "client_ca needs cert"),
            ("[tls]\ncert = /nonexistent/c.pem\nkey = /nonexistent/k.pem\n", 2,
             "cert: cannot read /nonexistent/c.pem"),
            ("[tls]\ncert = %s\nkey = %s\n" % (src("tests", "data", "certs", "upn_only.pem"),
                                               notpem), 3, "holds no PEM PRIVATE KEY"),
            ("[auth]\ntoken = ops\n", 2, "token: expected NAME:SHA256:SCOPES"),
            ("[auth]\ntoken = ops:abcd:check\n", 2, "64 hexadecimal digits"),
            ("[auth]\ntoken = ops:%s:root\n" % TOKEN_HASH, 2, "token: expected scopes"),
            ("[auth]\ntoken = a:%s:check\ntoken = a:%s:check\n" % (TOKEN_HASH, "0" * 64), 3,
             "the name a is given twice"),
            ("[auth]\nscope.inspect = everyone\n", 2, "scope.inspect: \"everyone\""),
            ("[directory]\nldif = %s\nldap_uri = ldap://x\nldap_base = dc=x\n" % ldif, 3,
             "ldap_uri and ldif exclude each other"),
            ("[directory]\nldap_uri = ldap://127.0.0.1:1\n", 2, "ldap_uri needs ldap_base"),
            ("[directory]\nldap_uri = http://x\n", 2, "is not an ldap:// or ldaps:// URI"),
            ("[directory]\nldap_base = dc=x\n", 2, "ldap_base needs ldap_uri"),
            ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=x\n"
             "ldap_bind_dn = cn=x\n", 4, "ldap_bind_dn needs ldap_password_file"),
            ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=x\n"
             "ldap_sasl_mech = PLAIN\n", 4, "only GSSAPI"),
            ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=x\n"
             "ldap_bind_dn = cn=x\nldap_password_file = %s\nldap_starttls = yes\n" % empty_pw,
             5, "the password is empty"),
            ("[directory]\nconnect_timeout = 50ms\n", 2, "50ms is below the minimum 100ms"),
            ("[directory]\nop_timeout = 5 minutes\n", 2, "is not a time"),
            ("[directory]\nldif = /nonexistent.ldif\n", 2, "ldif: cannot read the LDIF export"),
            ("[directory]\nldif = %s\n" % bad_ldif, 2, "line 11"),
            ("[profiles]\nprofile = windows-2003\n", 2, "unknown profile"),
            ("[profiles]\nmode = 0\n", 2, "mode 0 does not suit profile windows-2022"),
            ("[profiles]\nmode = 3\n", 2, "mode: 3 is above the maximum 2"),
            ("[cache]\nttl = 86401\n", 2, "ttl: 86401 is above the maximum 86400"),
            ("[cache]\nsize = -1\n", 2, "size: \"-1\" is not a number"),
            ("[limits]\nmax_body = 17M\n", 2, "max_body: 17M is above the maximum 16M"),
            ("[limits]\nmax_body = 1G\n", 2, "is not a size"),
            ("[limits]\nrate = fast\n", 2, "rate: \"fast\" is not a number"),
            ("[limits]\nmax_certs = 0\n", 2, "max_certs: 0 is below the minimum 1"),
            ("[limits]\nconnections = \n", 2, "connections: empty value"),
            ("[log]\nlevel = loud\n", 2, "unknown level \"loud\""),
            ("[log]\ndecision_log = /nonexistent/dir/d.log\n", 2, "does not exist"),
            ("[server]\nuser = no-such-user-here\n", 2, "no such user"),
            ("[server]\nuser = root\n", 2, "is root"),
            (long_line, 2, "the line is longer than"),
            ("[server]\nthreads = 2\x00\n", 2, "a NUL byte"),
            ("[server]\nthreads = \x1b[31m2\n", 2, "control characters"),
        ]
        for text, line, fragment in cases:
            with self.subTest(text=text[:60]):
                path, p = self.check(text)
                err = p.stderr.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, err)
                self.assertIn(f"{path}:{line}: ", err)
                self.assertIn(fragment, err)
                self.assertEqual(len(err.splitlines()), 1, err)  # one line, no usage

    def test_no_tokens_needs_loopback(self):
        """Issue 15 point 1: without tokens every route is open; that is the default on
        loopback, and needs allow_unauthenticated = yes on any other address."""
        refused = "not a loopback address, without any [auth] token: every route would answer"
        for listen in ("0.0.0.0:0", "[::]:0", "192.0.2.1:8080"):
            with self.subTest(listen=listen):
                path, p = self.check("[server]\nlisten = 127.0.0.1:0\nlisten = %s\n" % listen)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(f"listening on {listen}, {refused}".encode(), p.stderr)
        for text in ("[server]\nlisten = 0.0.0.0:0\n[auth]\nallow_unauthenticated = yes\n",
                     "[server]\nlisten = [::]:0\n[auth]\ntoken = ops:%s:check\n" % TOKEN_HASH,
                     "[server]\nlisten = 127.0.0.2:0\nlisten = [::1]:0\n"
                     "listen = [::ffff:127.0.0.1]:0\n"):
            with self.subTest(text=text):
                path, p = self.check(text)
                self.assertEqual(p.returncode, 0, p.stderr)
        # the start itself, not only -n
        try:
            p = self.run_daemon("-c", "/dev/null", "--listen", "0.0.0.0:0", *ROOT_OK, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("started on 0.0.0.0 without a token")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(refused.encode(), p.stderr)
        d = self.start("-c", "/dev/null", "--listen", "0.0.0.0:0", "--allow-unauthenticated",
                       *ROOT_OK)
        d.wait_log(r"^<4>listening on 0\.0\.0\.0:\d+, not a loopback address, without \[auth\] "
                   r"token \(allow_unauthenticated\)")
        self.stop(d)

    def test_lab_mode_needs_loopback_or_a_token(self):
        """[page] lab_mode answers any typed account name with its details: refused on a
        listener that is not loopback while the page is open (scope.page none), also a
        [self] listener, also with tokens for the other routes; accepted on loopback, or with
        the page behind a token. Before, it started without a word (security review 2)."""
        refused = "[page] lab_mode answers any account name typed into the page"
        token = "[auth]\ntoken = ops:%s:admin\n" % TOKEN_HASH
        for text in ("[server]\nlisten = 0.0.0.0:0\n" + token + "[page]\nlab_mode = yes\n",
                     "[server]\nlisten = 127.0.0.1:0\n[self]\nlisten = [::]:0\n"
                     "[page]\nlab_mode = yes\n"):
            with self.subTest(text=text):
                path, p = self.check(text)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(refused.encode(), p.stderr)
        for text in ("[server]\nlisten = 127.0.0.1:0\n[page]\nlab_mode = yes\n",
                     "[server]\nlisten = 0.0.0.0:0\n" + token + "scope.page = admin\n"
                     "[page]\nlab_mode = yes\n",
                     "[server]\nlisten = 0.0.0.0:0\n" + token + "[page]\nlab_mode = no\n"):
            with self.subTest(text=text):
                path, p = self.check(text)
                self.assertEqual(p.returncode, 0, p.stderr)
        # the start itself
        try:
            p = self.run_daemon("-c", "/dev/null", "--listen", "127.0.0.1:0", "--self-listen",
                                "0.0.0.0:0", "--page-lab-mode", "yes", *ROOT_OK, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("started lab mode on 0.0.0.0")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(refused.encode(), p.stderr)

    def test_missing_file(self):
        p = self.run_daemon("-n", "-c", os.path.join(self.tmp, "missing.conf"))
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"missing.conf: No such file", p.stderr)

    def test_bad_flags_are_usage_errors(self):
        for args in (["--threads", "0"], ["--rate", "x"], ["-o", "limits.nope=1"],
                     ["-o", "rate=1"], ["--ldap-uri", "ldap://x"], ["--tls-cert", "/c.pem"],
                     ["--ldif", "a", "--ldif", "b"], ["-n", "-p"], ["--log-level", "loud"]):
            with self.subTest(args=args):
                p = self.run_daemon("-c", "/dev/null", *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(b"usage:", p.stderr)

    def test_start_failures_are_logged_once(self):
        """A setting refused at the start: one error line, which names the directive or the
        address and the reason (issue 10: the API logged it, then the daemon again)."""
        log = os.path.join(self.tmp, "missing", "decisions.jsonl")
        for flags, why in (
                (["--decision-log", log],
                 "--decision-log: cannot open the decision log %s: No such file or directory"
                 % log),
                (["--threads", "2", "--connections", "1"],
                 "cannot start the HTTP server on 127.0.0.1:PORT: the connection limit must be "
                 "2 (threads) to 65536, the per-IP limit at most that")):
            with self.subTest(flags=flags):
                p = self.run_daemon("-c", "/dev/null", "--listen", "127.0.0.1:0", *ROOT_OK,
                                    *flags)
                self.assertEqual(p.returncode, 1, p.stderr)
                errors = [ln for ln in p.stderr.decode().splitlines() if ln.startswith("<3>")]
                self.assertEqual(len(errors), 1, p.stderr)
                self.assertRegex(errors[0],
                                 "^<3>" + re.escape(why).replace("PORT", r"\d+") + "$")

    def test_ldap_uri_libldap_refuses(self):
        """An ldap_uri libldap cannot parse: a usage error (2) from a flag, 1 from the file."""
        bad = "ldap://[::1"
        p = self.run_daemon("-c", "/dev/null", "--listen", "127.0.0.1:0", "--ldap-uri", bad,
                            "--ldap-base", "dc=example,dc=com", *ROOT_OK)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"<3>LDAP settings refused (--ldap-uri): URI 1 is not an LDAP URL",
                      p.stderr)
        path = self.conf("[directory]\nldap_uri = %s\nldap_base = dc=example,dc=com\n" % bad)
        p = self.run_daemon("-c", path, "--listen", "127.0.0.1:0", *ROOT_OK)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"<3>LDAP settings refused ({path}:2: ldap_uri): URI 1 is not an LDAP "
                      "URL".encode(), p.stderr)

    def test_print_masks_secrets(self):
        pwfile = os.path.join(self.tmp, "never-read.pw")  # does not even exist: -p reads no file
        path = self.conf(
            "[auth]\ntoken = ops:%s:check,account\ntoken = scraper:%s:metrics\n"
            "[directory]\nldap_uri = ldaps://dc1.example.com\nldap_uri = ldaps://dc2.example.com\n"
            "ldap_base = dc=example,dc=com\nldap_bind_dn = cn=svc,dc=example,dc=com\n"
            "ldap_password_file = %s\n" % (TOKEN_HASH, "ab" * 32, pwfile))
        p = self.run_daemon("-p", "-c", path)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("token = ops:***:check,account\n", out)
        self.assertIn("token = scraper:***:metrics\n", out)
        self.assertNotIn(TOKEN_HASH, out)
        self.assertNotIn("ab" * 32, out)
        self.assertIn(f"ldap_password_file = {pwfile}\n", out)
        self.assertIn("ldap_uri = ldaps://dc1.example.com\nldap_uri = ldaps://dc2.example.com\n",
                      out)

    def test_flags_override_file(self):
        path = self.conf("[server]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\nthreads = 3\n"
                         "[limits]\nrate = 5\n[profiles]\nprofile = samba\n[log]\nlevel = error\n")
        p = self.run_daemon("-p", "-c", path)
        out = p.stdout.decode()
        self.assertIn("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2\n", out)
        self.assertIn("threads = 3\n", out)
        p = self.run_daemon("-p", "-c", path, "--threads", "5", "-l", "[::1]:9",
                            "-o", "limits.rate=7.5", "--profile", "windows-2016",
                            "--profile", "windows-2019", "-v")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("\nlisten = [::1]:9\nthreads = 5\n", out)  # the file's two are replaced
        self.assertIn("rate = 7.5\n", out)
        self.assertIn("profile = windows-2016\nprofile = windows-2019\n", out)
        self.assertIn("level = debug\n", out)

    def test_print_round_trip(self):
        path = self.conf("[server]\nlisten = 127.0.0.1:0\n[limits]\nmax_body = 1048576\n"
                         "[directory]\nconnect_timeout = 1500ms\n")
        first = self.run_daemon("-p", "-c", path, "--idle-timeout", "9").stdout.decode()
        self.assertIn("max_body = 1M\n", first)
        self.assertIn("connect_timeout = 1500ms\n", first)
        again = self.conf(first, "again.conf")
        p = self.run_daemon("-n", "-c", again)
        self.assertEqual(p.returncode, 0, p.stderr)
        second = self.run_daemon("-p", "-c", again).stdout.decode()
        self.assertEqual(first.splitlines()[2:], second.splitlines()[2:])

    def test_documents_name_every_directive(self):
        out = self.run_daemon("-p", "-c", "/dev/null").stdout.decode()
        keys, section = [], None
        for line in out.splitlines():
            m = re.match(r"^\[(\w+)\]$", line)
            if m:
                section = m.group(1)
            m = re.match(r"^#?([a-z_.]+) =", line)
            if m:
                keys.append((section, m.group(1)))
        self.assertGreater(len(keys), 40)

        def man(name):
            with open(src("daemon", name), encoding="utf-8") as f:
                return f.read().replace("\\-", "-").replace("\\&", "")

        conf5, daemon8 = man("strongmapd.conf.5"), man("strongmapd.8")
        with open(src("examples", "strongmapd.conf"), encoding="utf-8") as f:
            example = f.read()
        for section, key in keys:
            with self.subTest(key=f"{section}.{key}"):
                self.assertRegex(conf5, r'(?m)^\.BI "%s = "' % re.escape(key))
                self.assertIn(f".SH [{section}]", conf5)
                self.assertRegex(example, r"(?m)^# %s = " % re.escape(key))
        help_text = self.run_daemon("--help").stdout.decode()
        flags = set(re.findall(r"(--[a-z-]+)", help_text))
        self.assertGreater(len(flags), 45)
        for flag in flags:
            with self.subTest(flag=flag):
                self.assertRegex(conf5 + daemon8, re.escape(flag) + r"\b")


# ---- reload --------------------------------------------------------------------------------


RELOAD_CONF = """[server]
listen = 127.0.0.1:0
threads = 2
[directory]
ldif = {ldif}
[profiles]
profile = windows-2022
mode = {mode}
{auth}
"""


class TReload(Base):
    def setUp(self):
        super().setUp()
        self.ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), self.ldif)
        os.chmod(self.ldif, 0o644)
        self.notify = Notify(self.tmp)

    def tearDown(self):
        self.notify.close()
        super().tearDown()

    def write(self, mode=2, auth=""):
        return self.conf(RELOAD_CONF.format(ldif=self.ldif, mode=mode, auth=auth))

    def reload(self, d, n):
        """SIGHUP, then wait for the n-th reload's RELOADING=1 and its READY=1."""
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        d.signal(signal.SIGHUP)
        self.notify.wait(lambda ms: self.notify.count("RELOADING=1") >= n and
                         self.notify.count("READY=1") >= n + 1)
        after = time.clock_gettime(time.CLOCK_MONOTONIC)
        msg = [m for m in self.notify.msgs if m.startswith("RELOADING=1")][n - 1]
        usec = int(re.search(r"^MONOTONIC_USEC=(\d+)$", msg, re.M).group(1))
        self.assertLessEqual(before * 1e6 - 1e3, usec)  # CLOCK_MONOTONIC, in microseconds
        self.assertLessEqual(usec, after * 1e6 + 1e3)
        d.wait_log(r"configuration reloaded|reload failed", count=n)

    def test_reload_changes_answers(self):
        path = self.write(mode=2)
        env = env_for()
        env["NOTIFY_SOCKET"] = self.notify.path
        d = self.start("-c", path, *ROOT_OK, env=env)
        self.notify.wait(lambda ms: self.notify.count("READY=1") == 1)
        status, v = d.verdict()
        self.assertEqual((status, v["outcome"]), (200, "deny"), v)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

        # mode 1 (compatibility) and a token: the same request is allowed, with the token
        self.write(mode=1, auth="[auth]\ntoken = ops:%s:check,account" % TOKEN_HASH)
        self.reload(d, 1)
        d.wait_log(r"configuration reloaded: 1 tokens")
        status, _ = d.verdict()
        self.assertEqual(status, 401)
        status, v = d.verdict(headers={"Authorization": "Bearer " + TOKEN_SECRET})
        self.assertEqual((status, v["outcome"]), (200, "allow"), v)

        # a bad file: the running configuration stays (token and mode), the log says why
        bad = self.conf("[profiles]\nmode = 1\nprofile = nonsense\n")
        self.assertEqual(bad, path)
        self.reload(d, 2)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: "
                   + re.escape(path) + r":3: profile: unknown profile")
        status, v = d.verdict(headers={"Authorization": "Bearer " + TOKEN_SECRET})
        self.assertEqual((status, v["outcome"]), (200, "allow"), v)
        self.assertEqual(d.verdict()[0], 401)

        # a good file whose directory does not parse: kept as well
        with open(self.ldif, "a", encoding="ascii") as f:
            f.write("\ndn: CN=Broken,DC=example,DC=com\nsAMAccountName broken\n")
        self.write(mode=2, auth="[auth]\ntoken = ops:%s:check,account" % TOKEN_HASH)
        self.reload(d, 3)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*ldif: cannot read "
                   r"the LDIF export")
        status, v = d.verdict(headers={"Authorization": "Bearer " + TOKEN_SECRET})
        self.assertEqual((status, v["outcome"]), (200, "allow"), v)
        self.assertEqual(d.request("GET", "/readyz")[0], 200)

        # restart-only directives are reported and ignored, the rest applies
        shutil.copy(src("examples", "demo.ldif"), self.ldif)
        self.conf(RELOAD_CONF.format(ldif=self.ldif, mode=2,
                                     auth="[auth]\nallow_unauthenticated = yes").replace(
            "threads = 2", "threads = 3").replace("127.0.0.1:0", "127.0.0.1:1"))
        self.reload(d, 4)
        d.wait_log(r"^<4>reload: .*:2: listen changed: needs a restart, ignoring")
        d.wait_log(r"^<4>reload: .*:3: threads changed: needs a restart, ignoring")
        status, v = d.verdict()
        self.assertEqual((status, v["outcome"]), (200, "deny"), v)  # no token, mode 2 again
        d.wait_log(r"^<4>reload: token loosened: ops:\*\*\*:check,account -> \(none\)$")

        # every reload, failed or not, ended with READY=1; the stop says STOPPING=1
        self.stop(d)
        self.notify.wait(lambda ms: self.notify.count("STOPPING=1") == 1)
        seq = [m.split("=")[0] for m in self.notify.msgs]
        self.assertEqual(seq, ["READY"] + ["RELOADING", "READY"] * 4 + ["STOPPING"], seq)

    def test_reload_refused_by_the_server_is_logged_once(self):
        """A decision log that cannot be opened at a reload: one warning that says why, and the
        running configuration stays (issue 10: the API logged an error first)."""
        path = self.write(mode=2)
        env = env_for()
        env["NOTIFY_SOCKET"] = self.notify.path
        d = self.start("-c", path, *ROOT_OK, env=env)
        self.notify.wait(lambda ms: self.notify.count("READY=1") == 1)
        log = os.path.join(self.tmp, "missing", "decisions.jsonl")
        self.conf(RELOAD_CONF.format(ldif=self.ldif, mode=2, auth="[log]\ndecision_log = " + log))
        self.reload(d, 1)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*:\d+: "
                   r"decision_log: cannot open the decision log "
                   + re.escape(log) + r": No such file or directory$")
        self.assertEqual(d.verdict()[0], 200)
        self.stop(d)
        self.assertEqual(d.log().count("cannot open the decision log"), 1, d.log())

    def test_reload_never_drops_authentication(self):
        """Issue 15 point 1: a file without tokens (empty, or cut short by a rewrite) must not
        turn authentication off at a SIGHUP, unless it says allow_unauthenticated = yes;
        loosened limits are warned about."""
        auth = "[auth]\ntoken = ops:%s:check,account" % TOKEN_HASH
        path = self.write(mode=2, auth=auth + "\n[limits]\nrate = 1000")
        env = env_for()
        env["NOTIFY_SOCKET"] = self.notify.path
        d = self.start("-c", path, *ROOT_OK, env=env)
        self.notify.wait(lambda ms: self.notify.count("READY=1") == 1)
        bearer = {"Authorization": "Bearer " + TOKEN_SECRET}
        self.assertEqual(d.verdict()[0], 401)
        full = RELOAD_CONF.format(ldif=self.ldif, mode=1, auth="")
        cut = full[:full.index("[profiles]")]  # a rewrite caught half-way: mode 1, no [auth]
        n = 0
        for text in ("", cut, full):
            with self.subTest(text=text):
                self.conf(text)
                n += 1
                self.reload(d, n)
                self.assertEqual(d.verdict()[0], 401)
                d.wait_log(r"^<4>reload failed, keeping the running configuration: the new "
                           r"configuration has no \[auth\] token: every route would answer "
                           r"without authentication \(set allow_unauthenticated = yes", count=n)
                status, v = d.verdict(headers=bearer)
                self.assertEqual((status, v["outcome"]), (200, "deny"), v)  # mode 2 stays
        self.assertNotIn("configuration reloaded", d.log())

        # loosened limits are applied, with a warning each
        self.conf(full.replace("mode = 1", "mode = 2") + auth + "\nscope.metrics = none\n"
                  "scope.preissue = issue,check\nscope.healthz = admin\n[limits]\nmax_body = 1M\nrate = 0\nmax_certs = 32\nidle_timeout = 300\n"
                  "[cache]\nttl = 600\n")
        n += 1
        self.reload(d, n)
        d.wait_log(r"configuration reloaded: 1 tokens")
        for line in (r"max_body loosened: 256K -> 1M", r"scope.metrics loosened: admin,metrics "
                     r"-> none", r"ttl loosened: 60 -> 600", r"rate loosened: 1000 -> 0",
                     r"idle_timeout changed \(looser\): needs a restart, ignoring"):
            d.wait_log(r"^<4>reload: .*" + line + "$")
        d.wait_log(r"^<4>reload: .*scope.preissue loosened: account,admin,issue -> "
                   r"check,issue$")  # one more scope may call it
        self.assertNotIn("max_certs loosened", d.log())  # the same as before
        self.assertNotIn("scope.healthz loosened", d.log())  # open before: now tighter
        self.assertEqual(d.verdict()[0], 401)
        self.assertEqual(d.request("GET", "/metrics")[0], 200)  # scope.metrics = none

        # said explicitly: no tokens, every route open
        self.conf(full + "[auth]\nallow_unauthenticated = yes\n")
        n += 1
        self.reload(d, n)
        d.wait_log(r"configuration reloaded: 0 tokens")
        d.wait_log(r"^<4>reload: token loosened: ops:\*\*\*:check,account -> \(none\)$")
        d.wait_log(r"^<4>reload: .*allow_unauthenticated loosened: no -> yes$")
        status, v = d.verdict()
        self.assertEqual((status, v["outcome"]), (200, "allow"), v)  # open, mode 1

        # back to a token: never refused
        self.write(mode=2, auth=auth)
        n += 1
        self.reload(d, n)
        d.wait_log(r"configuration reloaded: 1 tokens")
        self.assertEqual(d.verdict()[0], 401)
        self.stop(d)
        self.notify.wait(lambda ms: self.notify.count("STOPPING=1") == 1)
        self.assertEqual(self.notify.count("READY=1"), n + 1)  # every reload ended with READY=1

    def test_reload_keeps_https_and_client_certificates(self):
        """A reload cannot turn HTTPS or client certificates off (restart-only), and a file
        that would is refused as a whole rather than applied in part."""
        pki = self.pki()
        tls = ("[tls]\ncert = %s\nkey = %s\nclient_ca = %s\n"
               % (pki["server.pem"], pki["server.key"], pki["ca.pem"]))
        auth = "[auth]\ntoken = ops:%s:check,account\n" % TOKEN_HASH
        path = self.conf(RELOAD_CONF.format(ldif=self.ldif, mode=2, auth=tls + auth))
        d = self.start("-c", path, *ROOT_OK)
        ctx = ssl.create_default_context(cafile=pki["ca.pem"])
        ctx.load_cert_chain(pki["client.pem"], pki["client.key"])
        ctx.check_hostname = False
        bearer = {"Authorization": "Bearer " + TOKEN_SECRET,
                  "Content-Type": "application/json"}
        n = 0
        for text, why in (
                (RELOAD_CONF.format(ldif=self.ldif, mode=1, auth=auth),
                 r"no \[tls\] cert and key: it would serve plain HTTP"),
                (RELOAD_CONF.format(ldif=self.ldif, mode=1, auth=tls.replace(
                    "client_ca = %s\n" % pki["ca.pem"], "") + auth),
                 r"no \[tls\] client_ca: client certificates would no longer be checked"),
                (RELOAD_CONF.format(ldif=self.ldif, mode=1,
                                    auth=tls + "client_required = no\n" + auth),
                 r"client_required = no: requests without a client certificate")):
            self.conf(text)
            n += 1
            d.signal(signal.SIGHUP)
            d.wait_log(r"configuration reloaded|reload failed", count=n)
            status, body = d.request("POST", "/v1/verdict", cert_json("alice-no-sid.pem"),
                                     bearer, context=ctx)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["outcome"], "deny")  # mode 2: nothing applied
            d.wait_log(r"^<4>reload failed, keeping the running configuration: the new "
                       r"configuration (has|says) " + why)
        self.assertNotIn("configuration reloaded", d.log())
        self.stop(d)

    def pki(self):
        """A CA, a server certificate for 127.0.0.1, a client certificate (tests/lib/pki.py)."""
        p = pki.Pki(os.path.join(self.tmp, "pki"))
        p.ca("ca", "/CN=system test CA")
        p.issue("server", "ca", "/CN=server", "server_ext")
        p.issue("client", "ca", "/CN=client", "client_ext")
        return {name + suffix: p.path(name, suffix)
                for name in ("ca", "server", "client") for suffix in (".pem", ".key")}

    def test_samba_anchors(self):
        """samba_pkinit_anchors: Samba's KDC trusts these CAs; a reload takes a new set, and a
        bad file is refused (by -n too) with the running set kept."""
        def pem(name):
            with open(src("tests", "data", "certs", name), encoding="ascii") as f:
                return f.read()

        anchors = self.conf(pem("issuing_ca.pem"), "anchors.pem")
        samba = ("[profiles]\nprofile = samba\nsamba_pkinit_anchors = %s\n" % anchors)
        path = self.conf(RELOAD_CONF.format(ldif=self.ldif, mode=2, auth="").replace(
            "[profiles]\nprofile = windows-2022\nmode = 2\n", samba))
        self.assertEqual(self.run_daemon("-n", "-c", path).returncode, 0)
        env = env_for()
        env["NOTIFY_SOCKET"] = self.notify.path
        d = self.start("-c", path, *ROOT_OK, env=env)
        self.notify.wait(lambda ms: self.notify.count("READY=1") == 1)
        status, v = d.verdict("alice-sid.pem")
        self.assertEqual((status, v["outcome"]), (200, "allow"), v)
        # the KDC trusts only the root: the issuing CA is no anchor
        self.conf(pem("root_ca.pem"), "anchors.pem")
        self.reload(d, 1)
        status, v = d.verdict("alice-sid.pem")
        self.assertEqual((status, v["kdc_error"]["code"]), (200, 62), v)
        # not certificates: -n says so, a reload keeps the running set
        self.conf("not a certificate\n", "anchors.pem")
        p = self.run_daemon("-n", "-c", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"samba_pkinit_anchors", p.stderr)
        self.reload(d, 2)
        d.wait_log(r"reload failed, keeping the running configuration: .*samba_pkinit_anchors")
        self.assertEqual(d.verdict("alice-sid.pem")[1]["kdc_error"]["code"], 62)
        self.stop(d)

    def test_flags_survive_reload(self):
        path = self.write(mode=2)
        d = self.start("-c", path, "--mode", "1", *ROOT_OK)
        self.assertEqual(d.verdict()[1]["outcome"], "allow")
        self.write(mode=2, auth="[log]\nlevel = debug")
        d.signal(signal.SIGHUP)
        d.wait_log(r"configuration reloaded")
        self.assertEqual(d.verdict()[1]["outcome"], "allow")  # --mode 1 still wins
        self.stop(d)

    def test_several_addresses(self):
        path = self.conf("[server]\nlisten = 127.0.0.1:0\nlisten = 127.0.0.1:0\nthreads = 1\n")
        d = self.start("-c", path, *ROOT_OK, listeners=2)
        self.assertNotEqual(d.addrs[0], d.addrs[1])
        for i in (0, 1):
            self.assertEqual(d.request("GET", "/healthz", i=i)[0], 200)
        d.signal(signal.SIGHUP)
        d.wait_log(r"configuration reloaded")
        for i in (0, 1):
            self.assertEqual(d.request("GET", "/healthz", i=i)[0], 200)
        self.stop(d)


class TReloadLoad(Base):
    """Config reload under load: no request fails."""

    CLIENTS = 8
    PER_CLIENT = 500
    RELOADS = 20

    def test_reload_under_load(self):
        ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), ldif)
        confs = [self.conf(RELOAD_CONF.format(ldif=ldif, mode=m, auth="[cache]\nsize = %d" % s),
                           f"c{m}.conf") for m, s in ((2, 10000), (1, 0))]
        with open(confs[0], encoding="utf-8") as f:
            live = self.conf(f.read())
        d = self.start("-c", live, "--threads", "4", *ROOT_OK)
        body = cert_json("alice-no-sid.pem")
        failures, outcomes, done = [], set(), [0]
        lock = threading.Lock()

        def client(k):
            c = d.conn(timeout=60)
            try:
                for i in range(self.PER_CLIENT):
                    try:
                        if i % 3 == 2:
                            c.request("GET", "/readyz")
                        else:
                            c.request("POST", "/v1/verdict", body,
                                      {"Content-Type": "application/json"})
                        r = c.getresponse()
                        data = r.read()
                        if r.status != 200:
                            raise AssertionError(f"status {r.status}: {data[:200]!r}")
                        if i % 3 != 2:
                            with lock:
                                outcomes.add(json.loads(data)["outcome"])
                        if r.getheader("Connection", "").lower() == "close":
                            raise AssertionError("the server closed a keep-alive connection")
                    except Exception as e:  # noqa: BLE001 - every failure counts
                        with lock:
                            failures.append(f"client {k} request {i}: {e!r}")
                        c.close()
                        c = d.conn(timeout=60)
                    with lock:
                        done[0] += 1
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(self.CLIENTS)]
        for t in threads:
            t.start()
        total = self.CLIENTS * self.PER_CLIENT
        for n in range(self.RELOADS):
            # spread the reloads over the run
            while True:
                with lock:
                    if done[0] >= total * (n + 1) // (self.RELOADS + 2):
                        break
                time.sleep(0.005)
            shutil.copy(confs[(n + 1) % 2], live)
            d.signal(signal.SIGHUP)
            d.wait_log(r"configuration reloaded", count=n + 1, timeout=60)
        for t in threads:
            t.join(300)
        self.assertEqual(failures[:10], [], f"{len(failures)} failed requests")
        self.assertEqual(done[0], total)
        self.assertEqual(outcomes, {"allow", "deny"})  # the reloads did change the answer
        self.assertEqual(d.log().count("configuration reloaded"), self.RELOADS)
        self.assertNotIn("reload failed", d.log())
        self.stop(d)


# ---- TLS ------------------------------------------------------------------------------------


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise AssertionError(f"{tool} is not installed (scripts/deps.sh)")
    return path


class TTls(Base):
    """The cipher suites HTTPS offers (issue 15 point 10): by default forward-secret AEAD suites
    only, TLS 1.3 and 1.2; [tls] priorities changes them and is checked by -n. Probed with
    openssl s_client and gnutls-cli against an RSA certificate, which static-RSA key exchange
    needs."""

    def setUp(self):
        super().setUp()
        self.key = os.path.join(self.tmp, "key.pem")
        self.cert = os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=localhost", "-days", "2", "-keyout", self.key,
                        "-out", self.cert], check=True, capture_output=True)
        os.chmod(self.key, 0o600)

    def https(self, *flags):
        return self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", "--tls-cert", self.cert,
                          "--tls-key", self.key, *ROOT_OK, *flags)

    def test_key_gnutls_refuses_is_one_error(self):
        """A key file that looks like PEM but GnuTLS cannot read: one error line with
        libmicrohttpd's reasons (issue 10: they were logged, then the daemon's own line)."""
        with open(self.key, "w", encoding="ascii") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        p = self.run_daemon("-c", "/dev/null", "--listen", "127.0.0.1:0", "--tls-cert",
                            self.cert, "--tls-key", self.key, *ROOT_OK)
        self.assertEqual(p.returncode, 1, p.stderr)
        errors = [ln for ln in p.stderr.decode().splitlines() if ln.startswith("<3>")]
        self.assertEqual(len(errors), 1, p.stderr)
        self.assertRegex(errors[0], r"^<3>cannot start the HTTP server on 127\.0\.0\.1:\d+: "
                         r"libmicrohttpd: .*x509 certificate/key")

    @staticmethod
    def s_client(d, *args):
        """True when openssl s_client completes a handshake with @args."""
        host, port = d.addrs[0]
        p = subprocess.run([need("openssl"), "s_client", "-connect", f"{host}:{port}", "-brief",
                            *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        out = p.stdout + p.stderr
        return p.returncode == 0 and b"Ciphersuite" in out

    @staticmethod
    def gnutls_cli(d, priority):
        host, port = d.addrs[0]
        p = subprocess.run([need("gnutls-cli"), "--insecure", "--port", str(port),
                            "--priority", priority, host], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        return p.returncode == 0 and b"Handshake was completed" in p.stdout

    def test_default_offers_forward_secret_aead_only(self):
        d = self.https()
        refused = [  # TLS 1.2 suites a client can ask for by name (OpenSSL's names)
            ("-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"),  # static RSA, CBC-SHA1
            ("-tls1_2", "-cipher", "AES256-GCM-SHA384:@SECLEVEL=0"),  # static RSA, AEAD
            ("-tls1_2", "-cipher", "AES128-SHA256:@SECLEVEL=0"),  # static RSA, CBC-SHA256
            ("-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"),  # CBC-SHA1
            ("-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0"),  # CBC-SHA1
            ("-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"),  # not GCM nor ChaCha20
            ("-tls1_1", "-cipher", "ALL:@SECLEVEL=0"),
            ("-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"),  # finite-field DH
            ("-tls1_3", "-groups", "ffdhe2048"),
        ]
        accepted = [
            ("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
            ("-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"),
            ("-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"),
            ("-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"),
            ("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"),
            ("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"),
        ]
        for args in refused:
            with self.subTest(openssl=args):
                self.assertFalse(self.s_client(d, *args), "handshake completed")
        for args in accepted:
            with self.subTest(openssl=args):
                self.assertTrue(self.s_client(d, *args), "handshake failed")
        tls12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
        for prio, ok in ((tls12 + ":-KX-ALL:+RSA", False),
                         (tls12 + ":-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256",
                          False),
                         (tls12 + ":-CIPHER-ALL:+CAMELLIA-128-GCM:+AES-128-CCM", False),
                         (tls12 + ":-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM", True),
                         # GnuTLS clients offer RFC 7919 groups, which a GnuTLS server takes
                         # for DHE even without DH parameters: only ECDHE is the default
                         (tls12 + ":-KX-ALL:+DHE-RSA", False),
                         ("NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-FFDHE2048", False),
                         ("NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519", True),
                         ("NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1", True),
                         ("NORMAL:-VERS-ALL:+VERS-TLS1.3", True)):
            with self.subTest(gnutls=prio):
                self.assertEqual(self.gnutls_cli(d, prio), ok)
        self.assertEqual(d.request("GET", "/healthz", context=ssl._create_unverified_context())[0],
                         200)
        self.stop(d)

    def test_priorities_directive(self):
        d = self.https("--tls-priorities", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%SERVER_PRECEDENCE")
        self.assertTrue(self.s_client(d, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"))
        self.assertFalse(self.s_client(d, "-tls1_3"))
        self.stop(d)

    def test_bad_priorities_are_refused_by_check(self):
        path = self.conf("[tls]\ncert = %s\nkey = %s\n# a typo\npriorities = NORMAL:+AES-128-GMC\n"
                         % (self.cert, self.key))
        p = self.run_daemon("-n", "-c", path)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{path}:5: priorities: GnuTLS refuses".encode(), p.stderr)
        self.assertIn(b"+AES-128-GMC", p.stderr)
        p = self.run_daemon("-n", "-c", "/dev/null", "--tls-priorities", "NORMAL:%NOPE")
        self.assertEqual(p.returncode, 2, p.stderr)  # a bad flag value: a usage error
        self.assertIn(b"--tls-priorities: GnuTLS refuses", p.stderr)


# ---- permissions of the files named ---------------------------------------------------------


@unittest.skipUnless(os.geteuid() == 0, "needs root (files of other owners and groups)")
class TPerms(Base):
    """Issue 15 point 9: owners and modes of the configuration, the secrets (TLS key, bind
    password, keytab) and the other files named, checked as OpenSSH checks its keys and
    configuration; by -n, at start and at a reload."""

    def setUp(self):
        super().setUp()
        self.nobody = pwd.getpwnam("nobody")
        self.other_gid = grp.getgrnam("daemon").gr_gid  # nobody's own group, nor root's
        self.key = os.path.join(self.tmp, "key.pem")
        self.cert = os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.pw = self.conf("secret\n", "bind.pw")
        self.ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), self.ldif)
        for path, mode in ((self.key, 0o600), (self.pw, 0o600), (self.cert, 0o644),
                           (self.ldif, 0o644)):
            os.chmod(path, mode)

    def set(self, path, mode, uid=0, gid=0):
        os.chown(path, uid, gid)
        os.chmod(path, mode)

    def check(self, text, *flags, env=None):
        p = self.run_daemon("-n", "-c", self.conf(text, "check.conf"), *flags, env=env)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def tls_conf(self):
        return "[tls]\ncert = %s\nkey = %s\n" % (self.cert, self.key)

    def ldap_conf(self, extra=""):
        return ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=example,dc=com\n"
                "ldap_bind_dn = cn=svc,dc=example,dc=com\nldap_password_file = %s\n"
                "ldap_starttls = yes\n%s" % (self.pw, extra))

    def test_configuration_file(self):
        nobody, other = self.nobody.pw_uid, self.other_gid
        cases = [  # mode, uid, gid, refused because
            (0o644, 0, 0, None), (0o640, 0, other, None), (0o600, 0, 0, None),
            (0o664, 0, 0, None),  # root's own group
            (0o666, 0, 0, "is writable by everyone (mode 0666): chmod o-w"),
            (0o646, 0, 0, "is writable by everyone"),
            (0o664, 0, other, "is writable by group %d (mode 0664), not its owner's own group: "
                              "chmod g-w" % other),
            (0o644, nobody, 0, "belongs to uid %d, neither root nor the user strongmapd runs "
                               "as" % nobody),
        ]
        for mode, uid, gid, why in cases:
            with self.subTest(mode=oct(mode), uid=uid, gid=gid):
                path = self.conf("[server]\nthreads = 1\n", "perm.conf")
                self.set(path, mode, uid, gid)
                for opt in ("-n", "-p"):
                    p = self.run_daemon(opt, "-c", path)
                    err = p.stderr.decode()
                    if why is None:
                        self.assertEqual(p.returncode, 0, err)
                    else:
                        self.assertEqual(p.returncode, 1, err)
                        self.assertIn(f"strongmapd: {path} {why}", err)

    def test_secrets(self):
        nobody, other = self.nobody.pw_uid, self.other_gid
        user = "[server]\nuser = nobody\n"  # strongmapd would switch to nobody
        cases = [  # mode, uid, gid, configuration, refused because (None: fine)
            (0o600, 0, 0, "", None), (0o400, 0, 0, "", None),
            (0o640, 0, other, "", None),  # root:strongmapd 0640, as the unit needs
            (0o600, nobody, other, user, None),
            (0o640, nobody, self.nobody.pw_gid, user, None),  # nobody's own group
            (0o644, 0, 0, "", "holds a secret and is readable by everyone (mode 0644): "
                              "chmod 0600"),
            (0o604, 0, 0, "", "holds a secret and is readable by everyone"),
            (0o666, 0, 0, "", "holds a secret and is writable by everyone (mode 0666)"),
            (0o660, 0, other, "", "holds a secret and is writable by group %d" % other),
            (0o640, nobody, other, user, "holds a secret, belongs to uid %d and is readable by "
                                         "group %d (mode 0640): chmod 0600 it" % (nobody, other)),
            (0o600, nobody, 0, "", "holds a secret and belongs to uid %d, neither root nor the "
                                   "user strongmapd runs as" % nobody),
        ]
        for name, path, key in (("TLS key", self.key, "key"),
                                ("bind password", self.pw, "ldap_password_file")):
            for mode, uid, gid, conf, why in cases:
                with self.subTest(file=name, mode=oct(mode), uid=uid, gid=gid, conf=conf):
                    self.set(path, mode, uid, gid)
                    rc, err = self.check(conf + self.tls_conf() + self.ldap_conf())
                    if why is None:
                        self.assertEqual(rc, 0, err)
                        self.assertEqual(err, "configuration OK\n")
                    else:
                        self.assertEqual(rc, 1, err)
                        self.assertRegex(err, r"^strongmapd: .*check\.conf:\d+: %s: %s %s" % (
                            key, re.escape(path), re.escape(why)))
            self.set(path, 0o600)
        # a Kerberos keytab (KRB5_CLIENT_KTNAME) is a secret too
        keytab = os.path.join(self.tmp, "svc.keytab")
        with open(keytab, "wb") as f:
            f.write(b"\x05\x02")
        os.chmod(keytab, 0o644)
        env = env_for()
        env["KRB5_CLIENT_KTNAME"] = "FILE:" + keytab
        rc, err = self.check("[directory]\nldap_uri = ldap://dc1.example.com\n"
                             "ldap_base = dc=example,dc=com\nldap_sasl_mech = GSSAPI\n", env=env)
        self.assertEqual(rc, 1, err)
        self.assertIn(f"ldap_sasl_mech: {keytab} holds a secret and is readable by everyone", err)

    def test_other_files(self):
        nobody, other = self.nobody.pw_uid, self.other_gid
        log = os.path.join(self.tmp, "decisions.jsonl")
        open(log, "w", encoding="ascii").close()
        for name, path, text, key in (
                ("certificate", self.cert, self.tls_conf(), "cert"),
                ("client CA", self.cert, self.tls_conf() + "client_ca = %s\n" % self.cert,
                 "cert"),
                ("LDIF", self.ldif, "[directory]\nldif = %s\n" % self.ldif, "ldif"),
                ("LDAP CA", self.cert, self.ldap_conf("ldap_ca_file = %s\n" % self.cert),
                 "cert|ldap_ca_file"),
                ("decision log", log, "[log]\ndecision_log = %s\n" % log, "decision_log")):
            with self.subTest(file=name):
                self.set(path, 0o666)
                rc, err = self.check(text)
                self.assertEqual(rc, 1, err)
                self.assertRegex(err, r"^strongmapd: .*check\.conf:\d+: (%s): %s is writable by "
                                 r"everyone \(mode 0666\)" % (key, re.escape(path)))
                # group-writable or another owner: a warning, not a refusal
                for mode, uid, gid, why in ((0o664, 0, other, "is writable by group %d" % other),
                                            (0o644, nobody, 0, "belongs to uid %d" % nobody)):
                    self.set(path, mode, uid, gid)
                    rc, err = self.check(text)
                    self.assertEqual(rc, 0, err)
                    self.assertRegex(err, r"(?m)^<4>.*check\.conf:\d+: (%s): %s %s" % (
                        key, re.escape(path), re.escape(why)))
                self.set(path, 0o644)

    def test_start_and_reload(self):
        """Not only -n: the start refuses an open key, a reload an open password or LDIF."""
        self.set(self.key, 0o644)
        p = self.run_daemon("-c", self.conf(self.tls_conf() + "[server]\nlisten = 127.0.0.1:0\n"),
                            *ROOT_OK)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"holds a secret and is readable by everyone (mode 0644)", p.stderr)
        self.set(self.key, 0o600)
        path = self.conf("[server]\nlisten = 127.0.0.1:0\n[auth]\ntoken = ops:%s:check\n%s"
                         % (TOKEN_HASH, self.ldap_conf()))
        d = self.start("-c", path, *ROOT_OK)
        self.set(self.pw, 0o644)
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*ldap_password_file: "
                   + re.escape(self.pw) + r" holds a secret and is readable by everyone")
        self.set(path, 0o666)
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: "
                   + re.escape(path) + r" is writable by everyone")
        self.stop(d)


class TFifo(Base):
    """Security review of 2026-12-08, finding 6: a FIFO where the configuration names a file
    strongmapd reads (a catalogue of [page] messages, the Samba anchors, step-ca's issuer and
    webhooks, the TLS files). The open waited for a writer: -n hung, and a reload hung the main
    thread, after which SIGTERM no longer stopped the daemon. Now the FIFO is "not a regular
    file", at once."""

    def setUp(self):
        super().setUp()
        self.fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(self.fifo, 0o644)
        self.key = os.path.join(self.tmp, "key.pem")
        self.cert = os.path.join(self.tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        os.chmod(self.key, 0o600)
        os.chmod(self.cert, 0o644)
        self.msgs = os.path.join(self.tmp, "messages")
        os.mkdir(self.msgs)
        self.ldif = os.path.join(self.tmp, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), self.ldif)
        os.chmod(self.ldif, 0o644)

    def check(self, text):
        path = self.conf(text, "fifo.conf")
        try:
            p = self.run_daemon("-n", "-c", path, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("strongmapd -n hangs on a FIFO")
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def test_check(self):
        fifo = self.fifo
        tls = "[tls]\ncert = %s\nkey = %s\n"
        for key, text, what in (
                ("cert", tls % (fifo, self.key), "%s is not a regular file of at most" % fifo),
                ("key", tls % (self.cert, fifo), "%s is not a regular file of at most" % fifo),
                ("client_ca", tls % (self.cert, self.key) + "client_ca = %s\n" % fifo,
                 "%s is not a regular file of at most" % fifo),
                ("samba_pkinit_anchors", "[profiles]\nsamba_pkinit_anchors = %s\n" % fifo,
                 "%s is not a regular file" % fifo),
                ("issuer", "[step-ca]\nissuer = %s\n" % fifo, "%s is not a regular file" % fifo),
                ("webhooks", "[step-ca]\nwebhooks = %s\n" % fifo,
                 "%s is not a regular file" % fifo),
                ("messages", "[page]\nmessages = %s\n" % self.msgs,
                 "%s/fr.json is not a regular file" % self.msgs)):
            with self.subTest(key=key):
                os.mkfifo(os.path.join(self.msgs, "fr.json"), 0o644)
                try:
                    rc, err = self.check(text)
                finally:
                    os.unlink(os.path.join(self.msgs, "fr.json"))
                self.assertEqual(rc, 1, err)
                self.assertRegex(err, r"^strongmapd: .*fifo\.conf:\d+: %s: %s" % (
                    key, re.escape(what)))
                self.assertEqual(len(err.splitlines()), 1, err)

    def test_check_more(self):
        """The same for the configuration file itself, the bind passwords (read by
        common/options.c), the LDIF (lib/dir_ldif.c), and the files libldap and Kerberos open
        themselves (the LDAP CA bundle, the keytab), which are now checked to be regular files
        first: -n passed those, and the first lookup would have hung."""
        fifo = self.fifo
        pw = self.conf("secret\n", "bind.pw")
        os.chmod(pw, 0o600)
        ldap = ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=example,dc=com\n"
                "ldap_starttls = yes\n")
        simple = ldap + "ldap_bind_dn = cn=svc,dc=example,dc=com\nldap_password_file = %s\n"
        keytab = os.path.join(self.tmp, "keytab")  # a secret's mode: that check passes
        os.mkfifo(keytab, 0o600)
        env = env_for()
        env["KRB5_CLIENT_KTNAME"] = "FILE:" + keytab
        for key, text, what, case_env in (
                ("ldif", "[directory]\nldif = %s\n" % fifo, "%s is not a regular file" % fifo,
                 None),
                ("ldap_password_file", simple % fifo,
                 "%s: not a regular file of at most" % fifo, None),
                ("password_file", simple % pw + "[write]\nbind_dn = cn=w,dc=example,dc=com\n"
                 "password_file = %s\naudit_log = %s\n" % (fifo, os.path.join(self.tmp, "a.log")),
                 "%s: not a regular file of at most" % fifo, None),
                ("ldap_ca_file", simple % pw + "ldap_ca_file = %s\n" % fifo,
                 "%s is not a regular file" % fifo, None),
                ("ldap_sasl_mech", ldap + "ldap_sasl_mech = GSSAPI\n",
                 "%s is not a regular file" % keytab, env)):
            with self.subTest(key=key):
                path = self.conf(text, "fifo.conf")
                try:
                    p = self.run_daemon("-n", "-c", path, env=case_env, timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail("strongmapd -n hangs on a FIFO")
                err = p.stderr.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, err)
                self.assertRegex(err, r"^strongmapd: .*fifo\.conf:\d+: %s: %s" % (
                    key, re.escape(what)))
                self.assertEqual(len(err.splitlines()), 1, err)
        # the configuration file, given by -c and at a reload
        for args in (["-n", "-c", fifo], ["-c", fifo, *ROOT_OK]):
            with self.subTest(args=args):
                try:
                    p = self.run_daemon(*args, timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail("strongmapd hangs on a FIFO as its configuration file")
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(f"{fifo}: not a regular file of at most".encode(), p.stderr)
        path = self.conf("[server]\nlisten = 127.0.0.1:0\n")
        d = self.start("-c", path, *ROOT_OK)
        os.rename(path, path + ".real")
        os.mkfifo(path, 0o644)
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*"
                   + re.escape(path) + ": not a regular file", timeout=5)
        self.stop(d)

    def test_logs(self):
        """The logs it writes: a FIFO nothing reads as the decision log or the write-back's
        audit log made the start hang in open(). Now each is refused at once; a decision log
        FIFO that something reads (a log collector) is taken and written to."""
        fifo = self.fifo
        pw = self.conf("secret\n", "bind.pw")
        os.chmod(pw, 0o600)
        write = ("[directory]\nldap_uri = ldap://127.0.0.1:1\nldap_base = dc=example,dc=com\n"
                 "ldap_starttls = yes\nldap_bind_dn = cn=svc,dc=example,dc=com\n"
                 "ldap_password_file = %s\n[write]\nbind_dn = cn=w,dc=example,dc=com\n"
                 "password_file = %s\naudit_log = %s\n" % (pw, pw, fifo))
        for key, text, what in (
                ("decision_log", "[directory]\nldif = %s\n[log]\ndecision_log = %s\n" % (
                    self.ldif, fifo), "cannot open the decision log %s: a FIFO nothing reads"),
                ("audit_log", write, "cannot open the audit log %s: a FIFO nothing reads")):
            with self.subTest(key=key):
                path = self.conf(text + "[server]\nlisten = 127.0.0.1:0\n", "fifo.conf")
                try:  # -n does not open the logs: the start does
                    p = self.run_daemon("-c", path, *ROOT_OK, timeout=10)
                except subprocess.TimeoutExpired:
                    self.fail("strongmapd hangs on a FIFO as its %s" % key)
                err = p.stderr.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, err)
                self.assertIn(what % fifo, err)
        # with a reader: the decision log's lines reach it
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            path = self.conf("[directory]\nldif = %s\n[log]\ndecision_log = %s\n"
                             "[server]\nlisten = 127.0.0.1:0\n" % (self.ldif, fifo))
            d = self.start("-c", path, *ROOT_OK)
            try:
                status, v = d.verdict("alice-sid.pem")
                self.assertEqual((status, v["outcome"]), (200, "allow"))
                got = b""
                deadline = time.monotonic() + 10
                while b"\n" not in got and time.monotonic() < deadline:
                    try:
                        got += os.read(reader, 65536)
                    except BlockingIOError:
                        time.sleep(0.05)
                self.assertIn(b'"outcome":"allow"', got)
            finally:
                self.stop(d)
        finally:
            os.close(reader)

    def test_reload(self):
        """A reload that meets a FIFO fails and keeps the running configuration; the daemon
        still answers, reloads again and stops on SIGTERM."""
        path = self.conf("[server]\nlisten = 127.0.0.1:0\n[directory]\nldif = %s\n"
                         "[page]\nmessages = %s\n" % (self.ldif, self.msgs))
        with open(os.path.join(self.msgs, "fr.json"), "w", encoding="utf-8") as f:
            f.write('{"page.title": "Fonctionnera-t-il ?"}')
        os.chmod(os.path.join(self.msgs, "fr.json"), 0o644)
        d = self.start("-c", path, *ROOT_OK)
        os.mkfifo(os.path.join(self.msgs, "es.json"), 0o644)
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*messages: "
                   + re.escape(self.msgs) + r"/es\.json is not a regular file", timeout=5)
        status, body = d.request("GET", "/status", headers={"Accept-Language": "fr"})
        self.assertEqual(status, 200)
        self.assertIn("<h1>Fonctionnera-t-il ?</h1>", body.decode())
        os.unlink(os.path.join(self.msgs, "es.json"))
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<6>configuration reloaded", timeout=5)
        self.stop(d)


# ---- socket activation ---------------------------------------------------------------------

# The service manager's part (sd_listen_fds(3)): the descriptors named in argv[1] are moved to
# 3, 4, ..., LISTEN_PID is set to this process, which keeps its pid across the exec.
WRAPPER = """
import fcntl, os, sys
fds = [int(x) for x in sys.argv[1].split(",")]
high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[2], sys.argv[2:])
"""


class TSocket(Base):
    def listening(self, host="127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((host, 0))
        s.listen(16)
        return s

    def wrapper(self, socks):
        fds = [s.fileno() for s in socks]
        return (sys.executable, "-c", WRAPPER, ",".join(map(str, fds))), tuple(fds)

    def test_inherited_sockets_are_used(self):
        socks = [self.listening(), self.listening()]
        ports = sorted(s.getsockname()[1] for s in socks)
        path = self.conf("[server]\nlisten = 127.0.0.1:1\nthreads = 1\n")  # would fail to bind
        prefix, keep = self.wrapper(socks)
        d = self.start("-c", path, *ROOT_OK, listeners=2, prefix=prefix, pass_fds=keep)
        for s in socks:
            s.close()  # the daemon holds its own copies
        self.assertEqual(sorted(p for _, p in d.addrs), ports)
        d.wait_log(r"socket activation: 2 sockets from the service manager")
        for i in (0, 1):
            self.assertEqual(d.request("GET", "/healthz", i=i)[0], 200)
        fds = os.listdir(f"/proc/{d.proc.pid}/fd")
        self.assertIn("3", fds)
        self.assertIn("4", fds)
        self.stop(d)

    def test_socket_survives_a_graceful_stop(self):
        """The service manager's socket stays listening after SIGTERM, so that a restart
        (systemctl restart with strongmapd.socket) finds it working and clients wait in its
        backlog meanwhile; it was shut down (issue 12)."""
        s = self.listening()
        port = s.getsockname()[1]
        path = self.conf("[server]\nlisten = 127.0.0.1:1\nthreads = 1\n")  # would fail to bind
        prefix, keep = self.wrapper([s])
        for _ in range(2):  # the second process gets the socket the first one stopped on
            d = self.start("-c", path, *ROOT_OK, prefix=prefix, pass_fds=keep)
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
            self.stop(d)
            c = socket.create_connection(("127.0.0.1", port), timeout=5)  # in the backlog
            c.close()
        s.close()

    def test_other_pid_is_ignored(self):
        s = self.listening()
        env = env_for()
        env.update(LISTEN_FDS="1", LISTEN_PID="1")  # for another process: bind as configured
        d = self.start("--listen", "127.0.0.1:0", "--threads", "1", *ROOT_OK, env=env)
        self.assertNotEqual(d.addrs[0][1], s.getsockname()[1])
        self.assertNotIn("socket activation", d.log())
        s.close()
        self.stop(d)

    def test_inherited_open_socket_needs_tokens(self):
        """A socket from the service manager on a non-loopback address: no tokens needs
        allow_unauthenticated = yes too (issue 15 point 1)."""
        for extra, ok in (((), False), (("--allow-unauthenticated",), True),
                          (("--token", "ops:%s:check" % TOKEN_HASH), True)):
            with self.subTest(extra=extra):
                s = self.listening("0.0.0.0")
                prefix, keep = self.wrapper([s])
                if ok:
                    d = self.start("-c", "/dev/null", *ROOT_OK, *extra, prefix=prefix,
                                   pass_fds=keep)
                    s.close()
                    self.stop(d)
                    continue
                try:
                    p = subprocess.run([*prefix, ARGS.daemon, "-c", "/dev/null", *ROOT_OK],
                                       env=env_for(), pass_fds=keep, capture_output=True,
                                       timeout=20)
                except subprocess.TimeoutExpired:
                    self.fail("served a non-loopback socket without a token")
                finally:
                    s.close()
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(b"not a loopback address, without any [auth] token", p.stderr)

    def test_unusable_socket_is_refused(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # bound, not listening
        s.bind(("127.0.0.1", 0))
        prefix, keep = self.wrapper([s])
        p = subprocess.run([*prefix, ARGS.daemon, "-c", "/dev/null", *ROOT_OK], env=env_for(),
                           pass_fds=keep, capture_output=True, timeout=30)
        s.close()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"socket activation: descriptor 3 is not listening", p.stderr)


# ---- privileges ----------------------------------------------------------------------------


def ids(pid):
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups", "CapEff", "CapPrm"):
                out[k] = v.split()
    return out


@unittest.skipUnless(os.geteuid() == 0, "needs root")
class TPrivileges(Base):
    def setUp(self):
        super().setUp()
        self.nobody = pwd.getpwnam("nobody")
        self.private = os.path.join(self.tmp, "private")  # root's only
        os.mkdir(self.private, 0o700)

    def test_refuses_root(self):
        p = self.run_daemon("-c", "/dev/null", "--listen", "127.0.0.1:0")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"refusing to run as root", p.stderr)
        self.assertIn(b"user=", p.stderr)

    def test_allow_root(self):
        d = self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", "--allow-root")
        self.assertEqual(ids(d.proc.pid)["Uid"], ["0"] * 4)
        d.wait_log(r"^<4>running as root")
        self.stop(d)

    def test_drop_to_nobody(self):
        ldif = os.path.join(self.private, "demo.ldif")
        shutil.copy(src("examples", "demo.ldif"), ldif)
        os.chmod(ldif, 0o600)
        key, cert = os.path.join(self.private, "key.pem"), os.path.join(self.private, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(key, 0o600)
        path = self.conf("[server]\nlisten = 127.0.0.1:0\nthreads = 2\nuser = nobody\n"
                         "[tls]\ncert = private/cert.pem\nkey = private/key.pem\n"
                         "[directory]\nldif = private/demo.ldif\n")
        d = self.start("-c", path, env=env_for(no_leaks=True))
        d.wait_log(r"running as user nobody, group \S+")
        st = ids(d.proc.pid)
        uid, gid = self.nobody.pw_uid, self.nobody.pw_gid
        self.assertEqual(st["Uid"], [str(uid)] * 4)
        self.assertEqual(st["Gid"], [str(gid)] * 4)
        self.assertEqual(st["Groups"], [str(gid)])
        self.assertEqual(int(st["CapEff"][0], 16), 0)
        self.assertEqual(int(st["CapPrm"][0], 16), 0)
        ctx = ssl.create_default_context(cafile=cert)
        # the key and the LDIF were read as root, before the drop
        self.assertEqual(d.request("GET", "/readyz", context=ctx)[0], 200)
        status, body = d.request("POST", "/v1/verdict", cert_json("alice-no-sid.pem"),
                                 {"Content-Type": "application/json"}, context=ctx)
        self.assertEqual(status, 200, body)
        # a reload runs as nobody: the root-only LDIF cannot be read again, the old one stays
        d.signal(signal.SIGHUP)
        d.wait_log(r"^<4>reload failed, keeping the running configuration: .*Permission denied")
        self.assertEqual(d.request("GET", "/readyz", context=ctx)[0], 200)
        self.stop(d)

    def test_group_and_numeric_user(self):
        gid = grp.getgrnam("nogroup").gr_gid if self._has_group("nogroup") else 65534
        d = self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", "--user",
                       str(self.nobody.pw_uid), "--group", str(gid), env=env_for(no_leaks=True))
        st = ids(d.proc.pid)
        self.assertEqual(st["Uid"], [str(self.nobody.pw_uid)] * 4)
        self.assertEqual(st["Gid"], [str(gid)] * 4)
        self.stop(d)

    @staticmethod
    def _has_group(name):
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False

    def test_unprivileged_start(self):
        """Started as an ordinary user (as systemd does with User=): no flag needed."""
        nobody = ["setpriv", f"--reuid={self.nobody.pw_uid}", f"--regid={self.nobody.pw_gid}",
                  "--clear-groups"]
        d = self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", prefix=nobody,
                       env=env_for(no_leaks=True))
        self.assertEqual(d.request("GET", "/healthz")[0], 200)
        self.stop(d)
        d = self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", "--user", "nobody",
                       prefix=nobody, env=env_for(no_leaks=True))  # already that user: fine
        self.stop(d)
        p = subprocess.run(nobody + [ARGS.daemon, "-c", "/dev/null", "--listen", "127.0.0.1:0",
                                     "--user", "daemon"], capture_output=True, timeout=30,
                           env=env_for(no_leaks=True))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"not started as root", p.stderr)

    def test_no_core_dump_of_the_key(self):
        """Issue 15 point 11: started unprivileged (as the unit does) with HTTPS, the daemon
        is not dumpable: no core file holding the TLS key when it crashes, and another process
        of the same user can neither read /proc/<pid>/mem nor its environment."""
        work = os.path.join(self.tmp, "work")  # the daemon's cwd: core_pattern "core" goes here
        os.mkdir(work)
        key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-days", "2", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        for path in (work, key, cert):
            os.chown(path, self.nobody.pw_uid, self.nobody.pw_gid)
        os.chmod(key, 0o600)
        with open(key, encoding="ascii") as f:
            key_line = f.read().splitlines()[1].encode()  # a line of the key's base64
        as_nobody = ["setpriv", f"--reuid={self.nobody.pw_uid}",
                     f"--regid={self.nobody.pw_gid}", "--clear-groups"]

        def unlimited_core():
            import resource
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            os.chdir(work)

        d = self.start("-c", "/dev/null", "--listen", "127.0.0.1:0", "--tls-cert", cert,
                       "--tls-key", key, prefix=as_nobody, preexec_fn=unlimited_core,
                       env=env_for(no_leaks=True))
        pid = d.proc.pid
        self.assertEqual(ids(pid)["Uid"], [str(self.nobody.pw_uid)] * 4)
        # proc(5): the files of a process that is not dumpable belong to root
        self.assertEqual(os.stat(f"/proc/{pid}/mem").st_uid, 0)
        p = subprocess.run(as_nobody + ["cat", f"/proc/{pid}/environ"], capture_output=True,
                           timeout=30)
        self.assertNotEqual(p.returncode, 0, "the same user read /proc/<pid>/environ")
        self.assertIn(b"Permission denied", p.stderr)
        # a crash: the kernel writes no core (core_pattern "core", RLIMIT_CORE unlimited)
        with open("/proc/sys/kernel/core_pattern", encoding="ascii") as f:
            pattern = f.read().strip()
        with open(ARGS.daemon, "rb") as f:
            sanitized = b"__asan_init" in f.read()  # ASan turns core dumps off by itself
        d.signal(signal.SIGABRT)
        d.proc.wait(15)
        d.kill()
        if pattern.startswith("|") or "/" in pattern or sanitized:
            return  # cores go to a handler elsewhere: only /proc was checked
        cores = [n for n in os.listdir(work) if n.startswith("core")]
        for name in cores:
            with open(os.path.join(work, name), "rb") as f:
                self.assertFalse(key_line in f.read(), f"the TLS key is in the core dump {name}")
        self.assertEqual(cores, [])


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--daemon", required=True)
    p.add_argument("--source", default=os.path.dirname(os.path.dirname(HERE)))
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    ARGS.source = os.path.abspath(ARGS.source)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
