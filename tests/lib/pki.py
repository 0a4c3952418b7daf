#!/usr/bin/env python3
"""tests/lib/pki.py - throw-away certificate authorities for the tests (python3 stdlib and the
openssl command), every one made with the tests' one CA configuration, tests/lib/ca.cnf.

    p = Pki(directory)                            # created; its CA database in DIR/db
    p.ca("ca", "/CN=Test CA")                     # DIR/ca.pem and DIR/ca.key, self-signed
    p.issue("server", "ca", "/CN=localhost", "server_ext")
    p.issue("alice", "ca", "/CN=Alice", "client_ext",
            "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com")
    p.issue("kdc", "ca", "/CN=kdc", None, "basicConstraints = CA:FALSE\\n...")

Both return DIR/NAME.pem. Extensions: a section of ca.cnf (ca_ext, issuing_ca_ext, server_ext,
client_ext) or None, and lines of the caller's: a "key = value" line replaces the section's line
with that key or is added; from the first "[section]" line on, the text is taken as it is (the
sections its lines name). Keys: EC P-256, or key="rsa" (2048 bits); an existing DIR/NAME.key
is used as it is. Validity: `days` from now (default 2) or start and end (openssl's
YYYYMMDDHHMMSSZ). Serial: random (64 bits, positive) unless given (hex). Errors: PkiError with
openssl's message, or what the caller's run() raises.

Command line (for shell harnesses), EC keys and 2 days as above (--days N: N days):
    pki.py ca DIR NAME SUBJECT [--der] [--days N]
    pki.py issue DIR NAME CA SUBJECT SECTION [LINE...] [--der] [--days N]
--der writes DIR/NAME.der too.
"""

import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CA_CNF = os.path.join(HERE, "ca.cnf")


class PkiError(RuntimeError):
    pass


def sections(path=CA_CNF):
    """{section: [line, ...]} of an openssl configuration (comments and blank lines out)."""
    out, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                cur = out.setdefault(line[1:-1].strip(), [])
            elif cur is not None:
                cur.append(line)
    return out


def ext_text(section, extra=""):
    """The [ext] section: @section's lines of ca.cnf (or none), changed and extended by
    @extra (see the module's text)."""
    lines = list(sections()[section]) if section else []
    keys = [line.split("=", 1)[0].strip() for line in lines]
    added, rest = [], []
    for line in extra.splitlines():
        if rest or line.strip().startswith("["):
            rest.append(line)
        elif line.split("=", 1)[0].strip() in keys:
            lines[keys.index(line.split("=", 1)[0].strip())] = line
        elif line.strip():
            added.append(line)
    return "[ext]\n" + "\n".join(lines + added + rest) + "\n"


class Pki:
    def __init__(self, directory, run=None):
        """@run(cmd, env): runs an openssl command line instead of subprocess.run (a harness's
        own runner, which logs)."""
        self.dir = directory
        self.db = os.path.join(directory, "db")
        os.makedirs(self.db, exist_ok=True)
        open(os.path.join(self.db, "index.txt"), "a", encoding="ascii").close()
        self.run = run

    def path(self, name, suffix=".pem"):
        return os.path.join(self.dir, name + suffix)

    def openssl(self, *args):
        cmd = ["openssl"] + list(args)
        env = dict(os.environ, SM_CA_DIR=self.db)
        if self.run is not None:
            self.run(cmd, env)
            return
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise PkiError(f"openssl {args[0]} failed ({r.returncode}): {r.stderr[-1500:]}")

    def key(self, name, key="ec"):
        """DIR/NAME.key: made unless it exists."""
        path = self.path(name, ".key")
        if not os.path.exists(path):
            alg = {"ec": ["EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                   "rsa": ["RSA", "-pkeyopt", "rsa_keygen_bits:2048"]}[key]
            self.openssl("genpkey", "-quiet", "-algorithm", *alg, "-out", path)
            os.chmod(path, 0o600)
        return path

    def _sign(self, name, subject, signer, section, extra, key, days, start, end, serial):
        keyfile = self.key(name, key)
        csr = self.path(name, ".csr")
        self.openssl("req", "-new", "-config", CA_CNF, "-utf8", "-key", keyfile, "-subj",
                     subject, "-out", csr)
        if serial is None:
            serial = "%02X%s" % (random.randrange(0x10, 0x80), os.urandom(7).hex().upper())
        with open(os.path.join(self.db, "serial"), "w", encoding="ascii") as f:
            f.write(serial + "\n")
        extfile = self.path(name, ".ext")
        with open(extfile, "w", encoding="utf-8") as f:
            f.write(ext_text(section, extra))
        dates = ["-startdate", start, "-enddate", end] if start else ["-days", str(days)]
        if signer is None:
            signer = ["-selfsign", "-keyfile", keyfile]
        pem = self.path(name)
        self.openssl("ca", "-batch", "-config", CA_CNF, "-notext", "-preserveDN", "-utf8",
                     *dates, *signer, "-extfile", extfile, "-extensions", "ext", "-in", csr,
                     "-out", pem)
        return pem

    def ca(self, name, subject, section="ca_ext", extra="", issuer=None, key="ec", days=2,
           start=None, end=None, serial=None):
        """A CA DIR/NAME.pem: self-signed, or signed by the CA @issuer (a name here)."""
        signer = None
        if issuer is not None:
            signer = ["-cert", self.path(issuer), "-keyfile", self.path(issuer, ".key")]
        return self._sign(name, subject, signer, section, extra, key, days, start, end, serial)

    def issue(self, name, ca, subject, section, extra="", key="ec", days=2, start=None,
              end=None, serial=None):
        """An end entity DIR/NAME.pem (key DIR/NAME.key) signed by the CA @ca (a name here)."""
        signer = ["-cert", self.path(ca), "-keyfile", self.path(ca, ".key")]
        return self._sign(name, subject, signer, section, extra, key, days, start, end, serial)

    def der(self, name):
        self.openssl("x509", "-in", self.path(name), "-outform", "DER", "-out",
                     self.path(name, ".der"))
        return self.path(name, ".der")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("ca", help="a self-signed CA DIR/NAME.pem")
    i = sub.add_parser("issue", help="an end entity DIR/NAME.pem signed by DIR/CA.pem")
    for sp in (c, i):
        sp.add_argument("dir")
        sp.add_argument("name")
    i.add_argument("ca")
    for sp in (c, i):
        sp.add_argument("subject")
        sp.add_argument("--der", action="store_true", help="DIR/NAME.der too")
        sp.add_argument("--days", type=int, default=2, help="valid this many days from now")
    i.add_argument("section", help="of tests/lib/ca.cnf")
    i.add_argument("lines", nargs="*", help='"key = value" lines added to the section')
    a = p.parse_args()
    pki = Pki(a.dir)
    try:
        if a.cmd == "ca":
            pki.ca(a.name, a.subject, days=a.days)
        else:
            pki.issue(a.name, a.ca, a.subject, a.section, "\n".join(a.lines), days=a.days)
        if a.der:
            pki.der(a.name)
    except (PkiError, OSError, subprocess.SubprocessError) as e:
        sys.exit(f"pki.py {a.cmd} {a.name}: {e}")  # the message to stderr, exit status 1


if __name__ == "__main__":
    main()
