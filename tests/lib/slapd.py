#!/usr/bin/env python3
"""tests/lib/slapd.py - the one slapd harness of the tests and benchmarks (python3 stdlib, the
Debian packages slapd and ldap-utils; openssl for TLS, through tests/lib/pki.py).

A real slapd (OpenLDAP) on 127.0.0.1 serving an AD-like domain (dc=example,dc=com) with the
tests' schema, tests/data/schema/testad.schema: ldap:// and, with TLS, ldaps://. Every wait is
bounded. Users: tests/robust (robustlib.py), bench/run.py and bench/gen_directory.py in Python;
tests/directory/run.sh through the command line below.

Python:
    s = Slapd(tmp)                     # examples/demo.ldif (demo_ldif_for_slapd()); or
    s = Slapd(tmp, ldif_text=..., tls=True, tls_files=None, sasl_realm=None, env=None)
    s.start() / s.start_anywhere()     # the ports chosen at construction / others if taken
    s.uri, s.tls_uri, s.ca             # s.ca: the CA file of the TLS certificate made here
    s.kill(), s.pause(), s.resume()    # SIGKILL ("the server died") / SIGSTOP / SIGCONT
  By default slapd runs in the foreground as our child and dies with the harness
  (procs.spawn); detach=True lets slapd detach itself (pidfile) so that another process can
  stop and start it again: what the command line does.

Command line (for shell harnesses):
    slapd.py start TMP --ldif FILE [--tls CERT KEY] [--sasl-realm REALM] [--env NAME=VALUE]...
                   [--rootpw PASSWORD]
        loads FILE into a new slapd under TMP/slapd, starts it (other ports if taken) and
        prints SLAPD_URI=ldap://127.0.0.1:PORT/ and SLAPD_TLS_URI=ldaps://... for eval.
        --sasl-realm: GSSAPI with sasl-host 127.0.0.1 (slapd's keytab via --env KRB5_KTNAME=).
    slapd.py ctl TMP stop|start|pause|resume
        SIGKILL (and wait for the end) / start on the same ports / SIGSTOP / SIGCONT.
    slapd.py stalled-peer PORTFILE
        a listener that accepts TCP connections and never answers, until killed (at most
        900 s); its port goes to PORTFILE once it listens.
    slapd.py free-ports N
        N distinct loopback ports free right now, on one line.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from pki import Pki
from procs import free_ports, pid_gone, spawn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCHEMA = os.path.join(ROOT, "tests", "data", "schema", "testad.schema")
DEMO_LDIF = os.path.join(ROOT, "examples", "demo.ldif")
SLAPD = os.environ.get("SLAPD", "/usr/sbin/slapd")
SLAPADD = os.environ.get("SLAPADD", "/usr/sbin/slapadd")
BASE_DN = "dc=example,dc=com"
START_TIMEOUT = 15.0  # seconds until slapd answers a search
STOP_TIMEOUT = 10.0  # seconds until a SIGKILLed slapd has ended

NTAUTH_PARENTS = """dn: cn=Configuration,dc=example,dc=com
objectClass: container
cn: Configuration

dn: cn=Services,cn=Configuration,dc=example,dc=com
objectClass: container
cn: Services

dn: cn=Public Key Services,cn=Services,cn=Configuration,dc=example,dc=com
objectClass: container
cn: Public Key Services
"""


def demo_ldif_for_slapd():
    """examples/demo.ldif in the form slapd with testad.schema takes: no second structural
    class (person), the NTAuth store as testNTAuthStore (AD's certificationAuthority needs CRL
    values in slapd) with its parent containers, binary attributes with ;binary."""
    with open(DEMO_LDIF, encoding="utf-8") as f:
        src = f.read()
    blocks = []
    for block in src.strip().split("\n\n"):
        lines = []
        for line in block.split("\n"):
            if line.startswith("#"):
                continue
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            else:
                lines.append(line)
        out = []
        for line in lines:
            key, _, val = line.partition(":")
            k = key.lower()
            if k == "objectclass":
                v = val.strip()
                if v.lower() == "person":
                    continue
                if v.lower() == "certificationauthority":
                    v = "testNTAuthStore"
                line = "objectClass: " + v
            elif k in ("usercertificate", "cacertificate"):
                line = key + ";binary:" + val
            out.append(line)
        if out:
            if out[0].lower().startswith("dn: cn=ntauthcertificates"):
                blocks.append(NTAUTH_PARENTS.strip())
            blocks.append("\n".join(out))
    return "\n\n".join(blocks) + "\n"


class Slapd:
    """slapd on 127.0.0.1 (ldap:// and, with TLS, ldaps://) holding one LDIF."""

    STATE = "state.json"  # what the command line needs to find this slapd again

    def __init__(self, tmp, tls=False, ldif_text=None, tls_files=None, sasl_realm=None,
                 env=None, detach=False, access=None, rootpw=None, allow=None, maxsize=None,
                 load_timeout=60):
        """@ldif_text: what to load instead of the demo directory (already in slapd's form).
        @access: slapd.conf "access to ..." lines for the database (default: slapd's: everyone
        reads, only the rootdn writes); @allow: slapd's "allow" features ("update_anon")
        @tls: ldaps:// with a server certificate for 127.0.0.1 from a throw-away CA made here
        (self.ca); @tls_files: (certificate, key) to use instead. @sasl_realm: GSSAPI as
        ldap/127.0.0.1@REALM. @env: variables for slapd (KRB5_KTNAME). @detach: see the
        module's text. @rootpw: cn=admin,dc=example,dc=com binds with it (and writes).
        @maxsize: the MDB map's bytes (default 64 MiB: the tests' directories; the benchmark's
        100,000 accounts need more); @load_timeout: seconds slapadd may take."""
        for tool in (SLAPD, SLAPADD, "ldapsearch"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} not found (Debian: slapd ldap-utils)")
        self.dir = os.path.join(tmp, "slapd")
        os.mkdir(self.dir)
        self.proc = None
        self.tls = bool(tls or tls_files)
        self.ca = None
        self.env = dict(env or {})
        self.detach = detach
        if tls_files:
            self.tls_cert, self.tls_key = tls_files
        elif tls:
            self._make_tls()
        ldif = os.path.join(self.dir, "data.ldif")
        with open(ldif, "w", encoding="utf-8") as f:
            f.write(ldif_text if ldif_text is not None else demo_ldif_for_slapd())
        conf = [
            "include   /etc/ldap/schema/core.schema",
            "include   /etc/ldap/schema/cosine.schema",
            "include   /etc/ldap/schema/inetorgperson.schema",
            f"include   {SCHEMA}",
            f"pidfile   {self.dir}/slapd.pid",
            f"argsfile  {self.dir}/slapd.args",
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "loglevel  none",
        ] + [f"allow     {feature}" for feature in (allow or [])]
        if self.tls:
            conf += [f"TLSCertificateFile    {self.tls_cert}",
                     f"TLSCertificateKeyFile {self.tls_key}"]
        if sasl_realm:
            # GSSAPI names the server by the URI's host: ldap/127.0.0.1@REALM
            conf += ["sasl-host  127.0.0.1", f"sasl-realm {sasl_realm}"]
        conf += [
            "database  mdb",
            f"maxsize   {maxsize or 67108864}",
            f'suffix    "{BASE_DN}"',
            f'rootdn    "cn=admin,{BASE_DN}"',
        ] + ([f"rootpw    {rootpw}"] if rootpw else []) + [
            f"directory {self.dir}/db",
            "index objectClass eq",
            "index userPrincipalName,sAMAccountName,dNSHostName eq",
            # as on Active Directory (searchFlags fATTINDEX): the audit's first pass asks for
            # (altSecurityIdentities=*)
            "index altSecurityIdentities eq,pres",
            "index objectSid eq",
        ] + list(access or [])
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("\n".join(conf) + "\n")
        os.mkdir(os.path.join(self.dir, "db"))
        r = subprocess.run([SLAPADD, "-q", "-f", self.conf, "-l", ldif],
                           capture_output=True, text=True, timeout=load_timeout)
        if r.returncode != 0:
            raise RuntimeError("slapadd failed: " + r.stderr[-2000:])
        self.port, self.tls_port = free_ports(2)
        self._save()

    def _make_tls(self):
        """A throw-away CA (self.ca) and a server certificate for 127.0.0.1 (tests/lib/pki.py)."""
        p = Pki(os.path.join(self.dir, "pki"))
        self.ca = p.ca("ca", "/CN=strongmapd slapd test CA")
        self.tls_cert = p.issue("tls", "ca", "/CN=127.0.0.1", "server_ext")
        self.tls_key = p.path("tls", ".key")

    # -- the state the command line shares between its calls --

    def _save(self):
        state = {k: getattr(self, k) for k in ("conf", "port", "tls_port", "tls", "ca", "env",
                                               "detach")}
        with open(os.path.join(self.dir, self.STATE + ".tmp"), "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(os.path.join(self.dir, self.STATE + ".tmp"),
                   os.path.join(self.dir, self.STATE))

    @classmethod
    def load(cls, tmp):
        """The slapd that "slapd.py start TMP" made (always detached)."""
        self = cls.__new__(cls)
        self.dir = os.path.join(tmp, "slapd")
        with open(os.path.join(self.dir, cls.STATE), encoding="utf-8") as f:
            for k, v in json.load(f).items():
                setattr(self, k, v)
        self.proc = None
        return self

    # -- running --

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}/"

    @property
    def tls_uri(self):
        return f"ldaps://127.0.0.1:{self.tls_port}/"

    def ready(self):
        r = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-b", "", "-s", "base", "-LLL",
                            "namingContexts"], capture_output=True, timeout=10,
                           env=dict(os.environ, LDAPNOINIT="1"))
        return r.returncode == 0

    def pid(self):
        """slapd's process id, or None when it does not run."""
        if self.proc is not None:
            return self.proc.pid if self.proc.poll() is None else None
        try:
            with open(os.path.join(self.dir, "slapd.pid"), encoding="ascii") as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return None if pid_gone(pid) else pid

    def _log(self):
        try:
            with open(os.path.join(self.dir, "slapd.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def start(self, timeout=START_TIMEOUT):
        """Start on the same ports as before; returns when it answers a search."""
        if self.pid() is not None:
            return
        urls = self.uri + (" " + self.tls_uri if self.tls else "")
        env = dict(os.environ, **self.env)
        with open(os.path.join(self.dir, "slapd.log"), "ab") as log:
            if self.detach:
                # slapd forks; its parent exits once the child has started (or failed to)
                r = subprocess.run([SLAPD, "-f", self.conf, "-h", urls], env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   timeout=timeout)
                if r.returncode != 0:
                    raise RuntimeError(f"slapd exited with {r.returncode} (ports {self.port}/"
                                       f"{self.tls_port}): {self._log()}")
            else:
                self.proc = spawn([SLAPD, "-d", "0", "-f", self.conf, "-h", urls], env=env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.proc.returncode} (ports "
                                   f"{self.port}/{self.tls_port}): {self._log()}")
            if self.ready():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("slapd did not answer within %.0f s: %s" % (timeout, self._log()))

    def start_anywhere(self, attempts=3):
        """start(); when that fails (a port taken between the choice and slapd's bind),
        again on other ports. For callers that have not yet handed the URIs out."""
        for attempt in range(1, attempts + 1):
            try:
                self.start()
                return
            except RuntimeError as e:
                self.kill()
                if attempt == attempts:
                    raise
                print(f"slapd.py: {e} (attempt {attempt}); other ports", file=sys.stderr)
                self.port, self.tls_port = free_ports(2)
                self._save()

    def kill(self):
        """SIGKILL (the tests' "server died"; also the fastest cleanup); returns once slapd
        has ended (its sockets are closed)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            return
        pid = self.pid()
        if pid is None:
            return
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while not pid_gone(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"slapd (pid {pid}) did not end after SIGKILL")
            time.sleep(0.02)
        try:
            os.unlink(os.path.join(self.dir, "slapd.pid"))
        except OSError:
            pass

    def _signal(self, sig):
        pid = self.pid()
        if pid is None:
            raise RuntimeError("slapd does not run")
        os.kill(pid, sig)

    def pause(self):
        self._signal(signal.SIGSTOP)

    def resume(self):
        self._signal(signal.SIGCONT)


class StalledPeer:
    """Accepts TCP connections on 127.0.0.1 and never answers (nor closes them)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)

    def close(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for c in self.held:
            c.close()


# ---- command line ----------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="load an LDIF into a new slapd and start it")
    s.add_argument("tmp")
    s.add_argument("--ldif", required=True)
    s.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    s.add_argument("--sasl-realm")
    s.add_argument("--rootpw", help="cn=admin,dc=example,dc=com binds with it (and writes)")
    s.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    c = sub.add_parser("ctl", help="stop, start, pause or resume that slapd")
    c.add_argument("tmp")
    c.add_argument("what", choices=("stop", "start", "pause", "resume"))
    st = sub.add_parser("stalled-peer", help="accept TCP connections, never answer")
    st.add_argument("portfile")
    fp = sub.add_parser("free-ports", help="N free loopback ports")
    fp.add_argument("n", type=int)
    a = p.parse_args()
    try:
        if a.cmd == "start":
            with open(a.ldif, encoding="utf-8") as f:
                text = f.read()
            env = dict(kv.split("=", 1) for kv in a.env)
            d = Slapd(a.tmp, ldif_text=text, tls_files=a.tls, sasl_realm=a.sasl_realm, env=env,
                      detach=True, rootpw=a.rootpw)
            d.start_anywhere()
            print(f"SLAPD_URI={shlex.quote(d.uri)}")
            print(f"SLAPD_TLS_URI={shlex.quote(d.tls_uri)}")
        elif a.cmd == "ctl":
            d = Slapd.load(a.tmp)
            {"stop": d.kill, "start": d.start, "pause": d.pause, "resume": d.resume}[a.what]()
        elif a.cmd == "stalled-peer":
            signal.alarm(900)  # never outlive a lost harness by long
            peer = StalledPeer()
            with open(a.portfile + ".tmp", "w", encoding="ascii") as f:
                f.write(str(peer.port))
            os.replace(a.portfile + ".tmp", a.portfile)
            peer.thread.join()
        else:
            print(" ".join(str(x) for x in free_ports(a.n)))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"slapd.py {a.cmd}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
