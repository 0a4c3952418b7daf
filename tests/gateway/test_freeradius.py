#!/usr/bin/env python3
"""Gateway tier: strongmapd behind a real FreeRADIUS 3.2 (Debian's freeradius and
freeradius-rest), with real EAP-TLS authentications by eapol_test (Debian's eapoltest), as
docs/integrations/freeradius.md configures it.

FreeRADIUS runs twice from a copy of Debian's /etc/freeradius/3.0, on loopback ports of its
own: once with rlm_rest in the check-eap-tls virtual server calling POST /v1/hooks/freeradius,
once with the eap module's verify client running `strongmap gate --daemon` on the whole
certificate. The blocks of docs/integrations/freeradius.md are read from the page (their
addresses, paths and token replaced), so that the page cannot drift from what was tested.
Client certificates are issued at test time by the fixtures' issuing CA (tests/data/certs),
whose root the test directory's NTAuth store holds.

    test_freeradius.py --daemon build/daemon/strongmapd --cli build/cli/strongmap
                       --data tests/data [unittest options]
"""

import argparse
import os
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

DOC = os.path.join(ROOT, "docs", "integrations", "freeradius.md")
RADDB = "/etc/freeradius/3.0"
SECRET = "testing123"  # the stock localhost client's
TOKEN = "freeradius-" + "t" * 24
SID_1105 = "S-1-5-21-1004336348-1177238915-682003330-1105"  # alice in verdict.ldif.in
SID_EXT = f"""1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_ext
[sid_ext]
other = IMPLICIT:0,SEQUENCE:sid_other
[sid_other]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:{SID_1105}
"""
ARGS = None


def upn_san(upn):
    return f"subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:{upn}"


def doc_block(name):
    """The ```freeradius-NAME block of docs/integrations/freeradius.md."""
    with open(DOC, encoding="utf-8") as f:
        m = re.search(r"```freeradius-" + name + r"\n(.*?)```", f.read(), re.S)
    if not m:
        raise AssertionError(f"no ```freeradius-{name} block in {DOC}")
    return m.group(1)


def fill(text, values):
    for literal, value in values.items():
        if literal not in text:
            raise AssertionError(f"{literal!r} is not in the document's block")
        text = text.replace(literal, value)
    return text


def sub1(pattern, repl, text, what):
    """re.sub that must replace exactly once: Debian's files are what the test expects."""
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    if n != 1:
        raise AssertionError(f"{what}: {pattern!r} not found in Debian's configuration")
    return new


class FreeRadius:
    """radiusd -X from a copy of Debian's configuration; @mode "rest" (the token in a header),
    "basic" (rlm_rest's HTTP Basic) or "verify"."""

    def __init__(self, tmp, mode, pki_dir, strongmapd_port):
        self.dir = d = os.path.join(tmp, "raddb-" + mode)
        shutil.copytree(RADDB, d, symlinks=True)
        for name in ("server.pem", "server.key", "client_cas.pem"):
            shutil.copy(os.path.join(pki_dir, name), os.path.join(d, "certs", name))
        url = f"http://127.0.0.1:{strongmapd_port}"
        self.log_path = os.path.join(d, "radiusd.log")
        for attempt in range(3):
            self.port, acct, inner = procs.free_ports(3)
            self.configure(mode, url, acct, inner)
            if self.start():
                return
        raise AssertionError("FreeRADIUS did not start:\n" + self.log())

    def edit(self, rel, fn):
        path = os.path.join(self.dir, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(fn(text))

    def configure(self, mode, url, acct, inner):
        d = self.dir
        self.edit("radiusd.conf", lambda t: sub1(
            r"^raddbdir = .*$", f"raddbdir = {d}", sub1(
                r"^logdir = .*$", f"logdir = {d}/log", sub1(
                    r"^run_dir = .*$", f"run_dir = {d}/run", sub1(
                        r"^(\s*)user = freerad$", r"\1#user = freerad", sub1(
                            r"^(\s*)group = freerad$", r"\1#group = freerad", sub1(
                                r"^(\s*)reject_delay = 1$", r"\1reject_delay = 0", sub1(
                                    r"^proxy_requests\s*= yes", "proxy_requests = no", t,
                                    "proxy"), "reject_delay"), "group"), "user"), "run_dir"),
                "logdir"), "raddbdir"))
        os.makedirs(os.path.join(d, "log", "radacct"), exist_ok=True)
        os.makedirs(os.path.join(d, "run"), exist_ok=True)

        def eap(t):
            t = sub1(r"default_eap_type = md5", "default_eap_type = tls", t, "eap type")
            t = sub1(r"private_key_file = /etc/ssl/private/ssl-cert-snakeoil.key",
                     "private_key_file = ${certdir}/server.key", t, "key")
            t = sub1(r"certificate_file = /etc/ssl/certs/ssl-cert-snakeoil.pem",
                     "certificate_file = ${certdir}/server.pem", t, "cert")
            t = sub1(r"ca_file = /etc/ssl/certs/ca-certificates.crt",
                     "ca_file = ${certdir}/client_cas.pem", t, "ca_file")
            if mode != "verify":
                t = sub1(r"^\t#\tvirtual_server = check-eap-tls$",
                         "\t\tvirtual_server = check-eap-tls", t, "virtual_server")
            else:
                tmpdir = os.path.join(d, "verify-tmp")
                os.makedirs(tmpdir, mode=0o700)
                block = fill(doc_block("verify"), {
                    "/var/lib/freeradius/verify-tmp": tmpdir,
                    "/usr/bin/strongmap": ARGS.cli,
                    "http://127.0.0.1:8080": url,
                    "/etc/freeradius/3.0/strongmap.token": os.path.join(d, "strongmap.token")})
                # the commented-out verify section of tls-config tls-common
                t = sub1(r"^\t\tverify \{\n(?:(?!\t\t\}\n)[^\n]*\n)*?\t\t\}\n", lambda m: block, t,
                         "verify")
            return t

        self.edit("mods-available/eap", eap)
        with open(os.path.join(d, "strongmap.token"), "w", encoding="ascii") as f:
            f.write(TOKEN + "\n")

        def listen(m):  # the site's listeners: loopback, the test's ports, no IPv6
            block = m.group(0)
            if re.search(r"^\tipv6addr = ::", block, re.M):
                return ""
            port = self.port if re.search(r"^\ttype = auth$", block, re.M) else acct
            block = sub1(r"^\tipaddr = \*$", "\tipaddr = 127.0.0.1", block, "listen ipaddr")
            return sub1(r"^\tport = 0$", f"\tport = {port}", block, "listen port")

        self.edit("sites-available/default",
                  lambda t: re.sub(r"^listen \{\n.*?^\}\n", listen, t, flags=re.M | re.S))
        if mode != "verify":  # the Reply-Message stays in EAP answers (the page says why)
            def keep_reply_message(t):
                t, n = re.subn(r"^(\t+)(remove_reply_message_if_eap)$", r"\1#\2", t,
                               flags=re.M)
                if n != 2:
                    raise AssertionError(f"remove_reply_message_if_eap: {n} calls, not 2")
                return t

            self.edit("sites-available/default", keep_reply_message)
        self.edit("sites-available/inner-tunnel",
                  lambda t: sub1(r"port = 18120", f"port = {inner}", t, "inner-tunnel"))
        if mode != "verify":
            with open(os.path.join(d, "mods-enabled", "rest"), "w", encoding="utf-8") as f:
                f.write(fill(doc_block("rest" if mode == "rest" else "rest-basic"),
                             {"http://127.0.0.1:8080": url} |
                             ({"CHANGE-ME": TOKEN} if mode == "basic" else {})))
            site = fill(doc_block("check-eap-tls"), {"CHANGE-ME": TOKEN})
            if mode == "basic":  # the page: the update control lines go
                site = sub1(r"^\t\tupdate control \{\n[^}]*\}\n", "", site, "update control")
            with open(os.path.join(d, "sites-enabled", "check-eap-tls"), "w",
                      encoding="utf-8") as f:
                f.write(site)

    def start(self):
        radiusd = shutil.which("freeradius") or "/usr/sbin/freeradius"
        self.logf = open(self.log_path, "w", encoding="utf-8")
        self.proc = procs.spawn([radiusd, "-X", "-d", self.dir], stdin=subprocess.DEVNULL,
                                stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            if "Ready to process requests" in self.log():
                return True
            time.sleep(0.05)
        procs.stop_process(self.proc)
        self.logf.close()
        if "Address already in use" in self.log():
            return False
        raise AssertionError("FreeRADIUS did not start:\n" + self.log()[-4000:])

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        procs.stop_process(self.proc)
        self.logf.close()


class GatewayFreeradius(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="strongmapd-radius-")
        tmp = cls.tmp.name
        T.ARGS = argparse.Namespace(daemon=ARGS.daemon, data=ARGS.data, host=None)
        T.TMPDIR = cls.tmp
        pdir = os.path.join(tmp, "pki")
        p = pki.Pki(pdir)
        certs = os.path.join(ARGS.data, "certs")
        for name in ("issuing_ca", "root_ca"):  # the CA the directory's NTAuth store holds
            for ext in (".pem", ".key"):
                shutil.copy(os.path.join(certs, name + ext), p.path(name, ext))
        p.ca("server_ca", "/CN=RADIUS Test Server CA")
        p.issue("server", "server_ca", "/CN=localhost", "server_ext")
        users = "/DC=com/DC=example/OU=Users/CN="
        cls.certs = {}
        for name, cn, upn, extra in (
                ("alice_sid", "Alice", "alice@example.com", SID_EXT),
                ("alice_upn", "Alice", "alice@example.com", ""),
                ("bob", "Bob", "bob@example.com", ""),
                ("carol", "Carol", "carol@example.com", ""),
                ("eve", "Eve", "eve@example.com", "")):
            p.issue(name, "issuing_ca", users + cn, "client_ext", upn_san(upn) + "\n" + extra)
            cls.certs[name] = (cn, p.path(name), p.path(name, ".key"))
        with open(os.path.join(pdir, "client_cas.pem"), "w", encoding="ascii") as out:
            for name in ("issuing_ca", "root_ca"):
                with open(p.path(name), encoding="ascii") as f:
                    out.write(f.read())
        # carol's account maps her certificate's SKI (X509SKI: strong, and FreeRADIUS passes it)
        ski = subprocess.run(["openssl", "x509", "-in", p.path("carol"), "-noout", "-ext",
                              "subjectKeyIdentifier"], check=True, capture_output=True,
                             text=True).stdout.splitlines()[-1].strip().replace(":", "")
        # eve's account maps her certificate's issuer and serial (X509IssuerSerialNumber) as
        # the KDC builds it: the issuer in DER order, the serial's DER content reversed
        out = subprocess.run(["openssl", "x509", "-in", p.path("eve"), "-noout", "-serial"],
                             check=True, capture_output=True, text=True).stdout
        serial = out.strip().split("=", 1)[1]
        serial = ("0" if len(serial) % 2 else "") + serial
        if int(serial[:2], 16) >= 0x80:
            serial = "00" + serial
        sr = "".join(reversed([serial[i:i + 2] for i in range(0, len(serial), 2)])).upper()
        ldif = T.make_ldif(tmp)
        with open(ldif, encoding="utf-8") as f:
            text = f.read()
        text = sub1(r"^userPrincipalName: carol@example.com\n",
                    f"userPrincipalName: carol@example.com\naltSecurityIdentities: "
                    f"X509:<SKI>{ski}\n", text, "carol")
        text = sub1(r"^userPrincipalName: eve@example.com\n",
                    f"userPrincipalName: eve@example.com\naltSecurityIdentities: "
                    f"X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>{sr}\n", text, "eve")
        with open(ldif, "w", encoding="utf-8") as f:
            f.write(text)
        cls.server_ca = p.path("server_ca")
        cls.d = T.Daemon(extra_args=["--ldif", ldif,
                                     "--token", f"radius:{T.token_hash(TOKEN)}:check"])
        cls.radius = {}
        try:
            for mode in ("rest", "basic", "verify"):
                cls.radius[mode] = FreeRadius(tmp, mode, pdir, cls.d.port)
        except BaseException:
            for r in cls.radius.values():
                r.stop()
            cls.d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        for r in cls.radius.values():
            r.stop()
        rc, _ = cls.d.stop()
        log = cls.d.log()
        cls.tmp.cleanup()
        T.check_log_hygiene(log)
        if rc != 0:
            raise AssertionError(f"strongmapd exited with {rc}:\n{log}")

    def eap_tls(self, mode, cert):
        """eapol_test with @cert against FreeRADIUS @mode: (accepted, its output)."""
        cn, pem, key = self.certs[cert]
        conf = os.path.join(self.tmp.name, f"eapol-{mode}-{cert}.conf")
        with open(conf, "w", encoding="ascii") as f:
            f.write("network={\n key_mgmt=WPA-EAP\n eap=TLS\n"
                    f' identity="{cn}"\n ca_cert="{self.server_ca}"\n'
                    f' client_cert="{pem}"\n private_key="{key}"\n eapol_flags=0\n}}\n')
        eapol = shutil.which("eapol_test") or "/usr/sbin/eapol_test"
        r = subprocess.run([eapol, "-c", conf, "-a", "127.0.0.1", "-p",
                            str(self.radius[mode].port), "-s", SECRET, "-t", "10"],
                           capture_output=True, text=True, timeout=60)
        self.assertIn(r.returncode, (0, 252), r.stdout[-3000:] + r.stderr)
        return r.returncode == 0, r.stdout

    def reply_message(self, out):
        """The Reply-Message of the last RADIUS answer eapol_test printed."""
        m = re.findall(r"Attribute 18 \(Reply-Message\) length=\d+\n\s+Value: '?([^\n]*?)'?\n",
                       out)
        if not m:
            m = re.findall(r"Reply-Message[^\n]*?\"?(strongmapd:[^\n\"]*)", out)
        return m[-1] if m else None

    def test_rest_ski_mapping_accepted(self):
        ok, out = self.eap_tls("rest", "carol")
        self.assertTrue(ok, out[-3000:] + self.radius["rest"].log()[-3000:])
        self.assertIn("Access-Accept", out)

    def test_rest_issuer_serial_accepted(self):
        """FreeRADIUS's issuer and serial rebuild eve's X509IssuerSerialNumber mapping."""
        ok, out = self.eap_tls("rest", "eve")
        self.assertTrue(ok, out[-3000:] + self.radius["rest"].log()[-3000:])
        self.assertIn("Access-Accept", out)

    def test_rest_basic_accepted(self):
        """rlm_rest's HTTP Basic authenticates it: the same certificate gets Access-Accept."""
        self.assertIn("Authorization: Bearer", doc_block("check-eap-tls"))
        ok, out = self.eap_tls("basic", "carol")
        self.assertTrue(ok, out[-3000:] + self.radius["basic"].log()[-3000:])
        self.assertIn("Access-Accept", out)
        self.assertNotIn("REST-HTTP-Header", self.radius["basic"].log())

    def test_rest_disabled_rejected_with_reason(self):
        ok, out = self.eap_tls("rest", "bob")
        self.assertFalse(ok)
        self.assertIn("Access-Reject", out)
        msg = self.reply_message(out)
        self.assertIsNotNone(msg, out[-3000:] + self.radius["rest"].log()[-3000:])
        self.assertTrue(msg.startswith("strongmapd: deny account_disabled: "), msg)

    def test_rest_sid_not_visible_rejected_with_reason(self):
        """alice's certificate carries her SID, which rlm_rest cannot pass: fail closed."""
        ok, out = self.eap_tls("rest", "alice_sid")
        self.assertFalse(ok)
        msg = self.reply_message(out)
        self.assertIsNotNone(msg, out[-3000:])
        self.assertTrue(msg.startswith("strongmapd: unknown sid_not_visible: "), msg)

    def test_verify_sid_accepted(self):
        ok, out = self.eap_tls("verify", "alice_sid")
        self.assertTrue(ok, out[-3000:] + self.radius["verify"].log()[-3000:])
        self.assertIn("Access-Accept", out)

    def test_verify_upn_only_rejected(self):
        ok, out = self.eap_tls("verify", "alice_upn")
        self.assertFalse(ok)
        self.assertIn("Access-Reject", out)
        log = self.radius["verify"].log()
        self.assertIn("fails external verification", log)
        self.assertIn("KDC event 39", log)  # strongmap gate's line, in the log


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--daemon", required=True, help="path of the strongmapd binary")
    p.add_argument("--cli", required=True, help="path of the strongmap binary")
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    ARGS, rest = p.parse_known_args()
    ARGS.daemon = os.path.abspath(ARGS.daemon)
    ARGS.cli = os.path.abspath(ARGS.cli)
    missing = [x for x, path in (("freeradius", "/usr/sbin/freeradius"),
                                 ("eapol_test", "/usr/sbin/eapol_test"))
               if not (shutil.which(x) or os.path.exists(path))]
    if missing or not os.path.exists(os.path.join(RADDB, "mods-available", "rest")):
        print("FreeRADIUS 3.2 with rlm_rest and eapol_test are needed: scripts/deps.sh "
              "installs freeradius, freeradius-rest and eapoltest")
        sys.exit(1)  # a failure, under CI=true too: the test set needs them
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
