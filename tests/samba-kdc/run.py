#!/usr/bin/env python3
"""tests/samba-kdc/run.py - strongmapd's `samba` profile against a real Samba 4.24+ KDC.

    run.py --cli PATH/strongmap [--keep] [--case NAME]... [--config NAME]... [--results FILE]
    run.py --prepare-only            make (or check) the cached trixie root and stop

For every case of cases.py (certificate x account) and every binding configuration
(strong certificate binding enforcement full / compatibility / compatibility with 60 minutes of
backdating compensation / none) this runs a REAL PKINIT logon, MIT `kinit` with the client
certificate against Samba's KDC, and compares the KDC's answer (a TGT, or the Kerberos error
code, read from KRB5_TRACE) with `strongmap verdict CERT --account NAME --profile samba --mode N
--backdating S` reading the account over LDAPS from the same DC. Every disagreement (outcome or
error code) fails the tier; nothing is expected in advance.

Steps (times and disk: README.md):
  1. the Debian 13 root with Samba from trixie-backports, cached in /var/cache/strongmap-tests/
     samba-kdc (kdcroot.py; SM_KDC_CACHE overrides); when it cannot be made the tier skips
     (exit 77) with the reason, or fails when CI=true;
  2. an overlay over the cached root (the cache is never written), /proc mounted in it; a test
     PKI made with openssl (RSA keys: with an EC P-256 client key this KDC answered 31); the domain
     provisioned with samba-tool (fixed domain SID), accounts and directory values written with
     Samba's Python bindings (dcsetup.py); key trust values by tests/tools/keycred.py;
  3. per configuration: Samba (`-M single`) bound to 127.0.0.24 only, KDC with PKINIT from the
     Heimdal [kdc] section of its KRB5_CONFIG; every case logged on and predicted; Samba stopped.
Cleanup (Samba's process group, mounts, the work directory) runs on every exit path; a run killed
outright leaves DIR/run.state, and the next run cleans up after it.

Needs root. Host tools: openssl, chroot, mount, python3 (debootstrap for building the root).
Exit status: 0 all agree, 1 a disagreement or a setup failure, 77 skipped (no root could be made).
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import cases  # noqa: E402
import kdcroot  # noqa: E402
import pki  # noqa: E402  (tests/lib/pki.py)

ADDRESS = "127.0.0.24"
ADMIN_PW = "Passw0rd!Test1"
USER_PW = "Passw0rd!User1"
ADMIN_DN = f"CN=Administrator,CN=Users,{cases.BASE}"
KRB5_ERROR_BASE = -1765328384  # MIT's ERROR_TABLE_BASE_krb5: code N is reported as BASE + N
KRB5_NAMES = {
    6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 12: "KDC_ERR_POLICY", 14: "KDC_ERR_ETYPE_NOSUPP",
    16: "KDC_ERR_PADATA_TYPE_NOSUPP", 18: "KDC_ERR_CLIENT_REVOKED", 24: "KDC_ERR_PREAUTH_FAILED",
    25: "KDC_ERR_PREAUTH_REQUIRED", 31: "KRB_AP_ERR_BAD_INTEGRITY", 37: "KRB_AP_ERR_SKEW",
    60: "KRB_ERR_GENERIC", 62: "KDC_ERR_CLIENT_NOT_TRUSTED", 63: "KDC_ERR_KDC_NOT_TRUSTED",
    64: "KDC_ERR_INVALID_SIG", 65: "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
    66: "KDC_ERR_CERTIFICATE_MISMATCH", 70: "KDC_ERR_CANT_VERIFY_CERTIFICATE",
    71: "KDC_ERR_INVALID_CERTIFICATE", 72: "KDC_ERR_REVOKED_CERTIFICATE",
    75: "KDC_ERR_CLIENT_NAME_MISMATCH", 77: "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
}
SID_TYPE_OID = bytes.fromhex("2B060104018237190201")  # 1.3.6.1.4.1.311.25.2.1
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
EXPIRED = (datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
           datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc))
FUTURE = (NOW + datetime.timedelta(days=365), NOW + datetime.timedelta(days=730))


class Interrupted(BaseException):
    pass


class SetupError(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def say(msg=""):
    print(msg, flush=True)


def gtime(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


class Timer:
    def __init__(self):
        self.t = time.monotonic()

    def s(self):
        return round(time.monotonic() - self.t, 2)


# ----------------------------------------------------------------------------- small DER helpers
def der(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([tag, n])
    elif n < 0x100:
        head = bytes([tag, 0x81, n])
    else:
        head = bytes([tag, 0x82, n >> 8, n & 0xFF])
    return head + content


def der_read(buf, pos):
    """(tag, content start, content end) of the TLV at pos."""
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first & 0x80:
        n = first & 0x7F
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    else:
        length = first
    return tag, pos, pos + length


def sid_extension_der(text, value_tag=0x04):
    """szOID_NTDS_CA_SECURITY_EXT: SEQUENCE { [0] { type-id, [0] { OCTET STRING text } } }."""
    return der(0x30, der(0xA0, der(0x06, SID_TYPE_OID) + der(0xA0, der(value_tag, text.encode()))))


# ----------------------------------------------------------------------------- the tier
class Tier:
    def __init__(self, args, stamp):
        self.args = args
        self.stamp = stamp
        self.cache = args.cache
        self.work = None
        self.merged = None  # the overlay: the root as the tests see it
        self.samba = None  # Popen
        self.samba_log = None
        self.times = {}
        self.logon_s = []
        self.verdict_s = []
        self.accounts = {}
        self.certs = {}
        self.results = []
        self.setup_failures = []
        self.samba_tool_notes = []
        self.log = None

    # -------------------------------------------------------------- paths, commands
    def w(self, *parts):
        """host path of /work/... inside the root"""
        return os.path.join(self.merged, "work", *parts)

    def run(self, cmd, timeout=120, what=None, **kw):
        """Run a command, its output into the step log; SetupError with the tail on failure."""
        self.log.write("+ " + " ".join(cmd) + "\n")
        self.log.flush()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=timeout, stdin=kw.pop("stdin", subprocess.DEVNULL),
                               check=False, **kw)
        except subprocess.TimeoutExpired as e:
            raise SetupError(f"{what or cmd[0]}: no answer within {timeout} s") from e
        self.log.write(p.stdout)
        if p.returncode != 0:
            tail = "\n".join(p.stdout.splitlines()[-15:])
            raise SetupError(f"{what or ' '.join(cmd[:3])} failed ({p.returncode}):\n{tail}")
        return p.stdout

    def chroot(self, *cmd, env=(), **kw):
        base = ["chroot", self.merged, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LC_ALL=C.UTF-8", "HOME=/work"] + list(env)
        return self.run(base + list(cmd), **kw)

    # -------------------------------------------------------------- work dir, mounts
    def __enter__(self):
        try:
            return self.enter()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def enter(self):
        self.work = tempfile.mkdtemp(prefix="smkdc.", dir=os.environ.get("TMPDIR", "/tmp"))
        os.chmod(self.work, 0o700)
        kdcroot.write_state(self.cache, {"work": self.work, "pid": os.getpid()})
        self.log = open(os.path.join(self.work, "steps.log"), "w", encoding="utf-8")
        for d in ("upper", "ovl", "root"):
            os.mkdir(os.path.join(self.work, d))
        self.merged = os.path.join(self.work, "root")
        lower = os.path.join(self.cache, "root")
        self.run(["mount", "-t", "overlay", "overlay", "-o",
                  f"lowerdir={lower},upperdir={self.work}/upper,workdir={self.work}/ovl",
                  self.merged], what="mount overlay")
        self.run(["mount", "-t", "proc", "proc", os.path.join(self.merged, "proc")],
                 what="mount /proc")
        os.makedirs(self.w(), mode=0o755)
        return self

    def __exit__(self, *exc):
        self.stop_samba()
        if self.work is None:
            return
        left = kdcroot.unmount_all(self.work)
        if self.log:
            self.log.close()
        if left:
            say(f"NOTE: still mounted: {' '.join(left)} (work directory kept: {self.work})")
            return
        if self.args.keep:
            say(f"kept {self.work} (files of the root: {self.work}/upper/work)")
        else:
            kdcroot.remove_tree(self.work)
        kdcroot.clear_state(self.cache)

    # -------------------------------------------------------------- PKI
    def pki_init(self):
        """pki/: certificates made with the tests' CA configuration (tests/lib/pki.py), every
        openssl command through run() (the step log)."""
        self.pki = pki.Pki(self.w("pki"), run=lambda cmd, env: self.run(
            cmd, what="openssl " + cmd[1], env=env))

    def sign(self, name, ca, serial, subject, ext_text, start, end):
        """Leaf pki/NAME.pem (key NAME.key, RSA) signed by pki/CA.pem from START to END with
        the extension lines (and sections) EXT_TEXT."""
        return self.pki.issue(name, ca, subject, None, ext_text, key="rsa", start=gtime(start),
                              end=gtime(end), serial=serial)

    def keys_ahead(self, names):
        """RSA keys pki/NAME.key for the names, two openssl processes at a time (the machine's
        two cores: about half the time of one after the other)."""
        pki = self.w("pki")

        def one(name):
            path = f"{pki}/{name}.key"
            subprocess.run(["openssl", "genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048", "-out", path], check=True, timeout=120,
                           stdin=subprocess.DEVNULL, capture_output=True)
            os.chmod(path, 0o600)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for fut in [pool.submit(one, n) for n in names]:
                try:
                    fut.result()
                except subprocess.SubprocessError as e:
                    raise SetupError(f"openssl genpkey: {e}") from e

    def pki_infrastructure(self):
        long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        far = NOW + datetime.timedelta(days=5 * 365)
        for ca, serial, subj in (
                ("issuing_ca", "01", "/DC=test/DC=example/CN=KDC Test Issuing CA"),
                ("rogue_ca", "02", "/DC=test/DC=example/CN=Rogue CA Not Trusted By The KDC")):
            # -days from now would not cover the expired case's shifted client clock
            self.pki.ca(ca, subj, key="rsa", start=gtime(long_ago), end=gtime(far),
                        serial=serial)
        realm = cases.REALM
        # the KDC: EKU id-pkinit-KPKdc, SAN id-pkinit-san krbtgt/REALM@REALM (RFC 4556 3.2.2)
        self.sign("kdc", "issuing_ca", "0B01", "/CN=kdc24." + cases.DNS_DOMAIN, f"""\
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment,keyAgreement
extendedKeyUsage = 1.3.6.1.5.2.3.5
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = otherName:1.3.6.1.5.2.2;SEQUENCE:kdc_princ
[kdc_princ]
realm = EXP:0,GeneralString:{realm}
principal_name = EXP:1,SEQUENCE:kdc_pn
[kdc_pn]
name_type = EXP:0,INTEGER:2
name_string = EXP:1,SEQUENCE:kdc_names
[kdc_names]
n1 = GeneralString:krbtgt
n2 = GeneralString:{realm}
""", long_ago, far)
        # LDAPS for strongmap's directory reads
        self.sign("tls", "issuing_ca", "0B02", "/CN=kdc24." + cases.DNS_DOMAIN, f"""\
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:{self.args.address},DNS:kdc24.{cases.DNS_DOMAIN}
""", long_ago, far)

    def client_certs(self):
        sidext = {}

        def sid_line(text, tag=0x04):
            return "1.3.6.1.4.1.311.25.2 = DER:" + ":".join(
                f"{b:02X}" for b in sid_extension_der(text, tag))

        # "now": after every account's whenCreated (whole seconds), so that only the backdated
        # certificates predate their account
        after = max(a["when_created_dt"] for a in self.accounts.values()) + \
            datetime.timedelta(seconds=1)
        while datetime.datetime.now(datetime.timezone.utc) < after:
            time.sleep(0.2)
        now = max(after, datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))
        self.keys_ahead([c["name"] for c in cases.CERTS + cases.PREISSUED])
        for i, c in enumerate(cases.CERTS):
            name = c["name"]
            san = [f"otherName.{k} = 1.3.6.1.4.1.311.20.2.3;UTF8:{u}"
                   for k, u in enumerate(c.get("upn", []), 1)]
            san += [f"DNS.{k} = {d}" for k, d in enumerate(c.get("dns", []), 1)]
            san += [f"email.{k} = {e}" for k, e in enumerate(c.get("email", []), 1)]
            if "uri_sid" in c:
                san.append("URI.1 = tag:microsoft.com,2022-09-14:sid:"
                           + self.accounts[c["uri_sid"]]["sid"])
            lines = ["basicConstraints = CA:FALSE",
                     "keyUsage = critical,digitalSignature,keyEncipherment",
                     f"extendedKeyUsage = {c.get('eku', cases.CLIENT_EKU)}",
                     "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"]
            if san:
                lines.append("subjectAltName = @san")
            if "sid" in c:
                sid = self.accounts[c["sid"]]["sid"]
                if sid not in sidext:
                    sidext[sid] = self.strongmap_sid_extension(sid)
                form = c.get("sid_form", "ok")
                if form == "ok":
                    lines.append(sidext[sid])
                elif form == "lowercase":
                    lines.append(sid_line(sid.lower()))
                elif form == "utf8string":
                    lines.append(sid_line(sid, 0x0C))
                else:
                    raise SetupError(f"{name}: sid_form {form}?")
            if "sid_text" in c:
                lines.append(sid_line(c["sid_text"]))
            if san:
                # "$" starts a variable in openssl's configuration syntax
                lines += ["[san]"] + [x.replace("$", "\\$") for x in san]
            validity = c.get("validity", "now")
            client_time = None
            if validity == "now":
                start, end = now, now + datetime.timedelta(days=365)
            elif validity == "expired":
                start, end = EXPIRED
                client_time = start + (end - start) / 2
            elif validity == "future":
                start, end = FUTURE
                client_time = start + datetime.timedelta(days=30)
            elif validity.startswith("backdated:"):
                created = self.accounts[validity.split(":", 1)[1]]["when_created_dt"]
                start, end = created - datetime.timedelta(minutes=30), NOW + datetime.timedelta(365)
            else:
                raise SetupError(f"{name}: validity {validity}?")
            serial = f"8A1B2C{i + 1:02X}"
            ca = {"issuing": "issuing_ca", "rogue": "rogue_ca"}[c.get("ca", "issuing")]
            pem = self.sign(name, ca, serial, c["subject"], "\n".join(lines) + "\n", start, end)
            self.certs[name] = {"pem": pem, "key": pem[:-4] + ".key", "client_time": client_time,
                                "spec": c}
        # the client's anchors: MIT kinit checks its own certificate's chain before sending it,
        # so the CA the KDC does not trust is one of them too
        with open(self.w("pki", "client-anchors.pem"), "w", encoding="utf-8") as out:
            for pem in (self.w("pki", "issuing_ca.pem"), self.w("pki", "rogue_ca.pem")):
                with open(pem, encoding="utf-8") as f:
                    out.write(f.read())

    def ldap_flags(self):
        """strongmap's directory flags for this DC (LDAPS, the administrator's simple bind)."""
        return ["--ldap-uri", f"ldaps://{self.args.address}", "--ldap-base", cases.BASE,
                "--ldap-bind-dn", ADMIN_DN, "--ldap-password-file", self.pwfile,
                "--ldap-ca-file", self.w("pki", "issuing_ca.pem")]

    def preissued_certs(self):
        """cases.PREISSUED: request -> `strongmap preissue --openssl-extfile` against the running
        DC -> `openssl ca -extfile` with what it wrote, as a CA integrating strongmapd does."""
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        for i, c in enumerate(cases.PREISSUED):
            name = c["name"]
            key, csr = self.w("pki", f"{name}.key"), self.w("pki", f"{name}.req.pem")
            ext = self.w("pki", f"{name}.preissue.ext")
            san = ",".join(f"otherName:1.3.6.1.4.1.311.20.2.3;UTF8:{u}" for u in c["upn"])
            self.run(["openssl", "req", "-new", "-key", key, "-subj", c["subject"],
                      "-addext", f"subjectAltName={san}",
                      "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
                      "-addext", f"extendedKeyUsage={cases.CLIENT_EKU}", "-out", csr],
                     what="openssl req")
            p = subprocess.run([self.args.cli, "preissue", "--csr", csr, "--account",
                                c["account"], "--profile", "samba", "--mode", "2",
                                "--issuer", self.w("pki", "issuing_ca.pem"),
                                "--openssl-extfile", ext] + self.ldap_flags(),
                               capture_output=True, text=True, timeout=60, check=False,
                               env=dict(os.environ, LDAPNOINIT="1"))
            if p.returncode != 0:
                raise SetupError(f"strongmap preissue {name}: exit {p.returncode}: "
                                 f"{p.stderr.strip()[:300]} {p.stdout[:300]}")
            plan = json.loads(p.stdout)
            if plan["refuse"] or plan["outcome_as_issued"] != "allow":
                raise SetupError(f"strongmap preissue {name}: refuse {plan['refuse']}, as issued "
                                 f"{plan['outcome_as_issued']}")
            with open(ext, encoding="utf-8") as f:
                ext_text = f.read()
            if self.accounts[c["account"]]["sid"] not in ext_text:
                raise SetupError(f"{name}: the extension file carries no SID of {c['account']}")
            with open(os.path.join(self.pki.db, "serial"), "w", encoding="ascii") as f:
                f.write(f"8A1B2D{i + 1:02X}\n")
            extfile = self.w("pki", f"{name}.ext")
            with open(extfile, "w", encoding="utf-8") as f:
                f.write(pki.ext_text(None, ext_text))
            pem = self.w("pki", f"{name}.pem")
            self.pki.openssl("ca", "-batch", "-config", pki.CA_CNF, "-notext", "-preserveDN",
                             "-utf8", "-startdate", gtime(now),
                             "-enddate", gtime(now + datetime.timedelta(days=365)),
                             "-cert", self.w("pki", "issuing_ca.pem"),
                             "-keyfile", self.w("pki", "issuing_ca.key"), "-extfile", extfile,
                             "-extensions", "ext", "-in", csr, "-out", pem)
            self.certs[name] = {"pem": pem, "key": key, "client_time": None, "spec": c}
            say(f"{name}: planned by strongmap preissue for {c['account']} (SID "
                f"{plan['material']['sid']}), issued by openssl ca with its extension file")

    def strongmap_sid_extension(self, sid):
        """The SID extension as `strongmap sid extension` writes it, checked against our own
        DER (an independent encoding of MS-WCCE's structure)."""
        doc = json.loads(self.run([self.args.cli, "sid", "extension", sid],
                                  what="strongmap sid extension"))
        ours = sid_extension_der(sid).hex().upper()
        if doc.get("extension_der_hex", "").upper() != ours:
            raise SetupError(f"strongmap sid extension {sid}: {doc.get('extension_der_hex')}, "
                             f"MS-WCCE's structure gives {ours}")
        line = doc["openssl_extension_config"]
        if not line.startswith("1.3.6.1.4.1.311.25.2 = DER:"):
            raise SetupError(f"unexpected openssl_extension_config {line}")
        return line

    # -------------------------------------------------------------- altSecurityIdentities values
    def x509(self, pem, *opts):
        return self.run(["openssl", "x509", "-in", pem, "-noout"] + list(opts), what="openssl x509")

    def ad_name(self, pem, which):
        """Issuer or subject in altSecurityIdentities form: RDNs in encoding order, joined by
        ',' (RFC 2253 prints them reversed)."""
        text = self.x509(pem, "-" + which, "-nameopt", "RFC2253").strip()
        value = text.split("=", 1)[1]
        if "\\" in value or "+" in value:
            raise SetupError(f"{pem}: name {value} needs escaping; the table's names must not")
        return ",".join(reversed(value.split(",")))

    def mapping_value(self, form, cert):
        pem = self.certs[cert]["pem"]
        issuer = self.ad_name(pem, "issuer")
        serial = self.x509(pem, "-serial").strip().split("=", 1)[1]
        serial_bytes = bytes.fromhex(serial if len(serial) % 2 == 0 else "0" + serial)
        if form in ("isr", "isr00", "isfwd"):
            rev = serial_bytes[::-1].hex().upper()
            sr = {"isr": rev, "isfwd": serial_bytes.hex().upper(),
                  "isr00": rev + ("00" if serial_bytes[0] & 0x80 else "")}[form]
            return f"X509:<I>{issuer}<SR>{sr}"
        if form == "ski":
            out = self.x509(pem, "-ext", "subjectKeyIdentifier").splitlines()
            return "X509:<SKI>" + out[1].strip().replace(":", "").upper()
        if form == "sha1":
            fp = self.x509(pem, "-fingerprint", "-sha1").strip().split("=", 1)[1]
            return "X509:<SHA1-PUKEY>" + fp.replace(":", "").upper()
        if form in ("spki", "keybits"):
            spki = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-pubkey"],
                                  capture_output=True, check=True, timeout=30).stdout
            spki_der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki,
                                      capture_output=True, check=True, timeout=30).stdout
            data = spki_der
            if form == "keybits":
                _, pos, _ = der_read(spki_der, 0)  # SubjectPublicKeyInfo
                _, _, alg_end = der_read(spki_der, pos)  # AlgorithmIdentifier
                tag, bpos, bend = der_read(spki_der, alg_end)  # BIT STRING
                if tag != 0x03:
                    raise SetupError(f"{pem}: no BIT STRING in the SPKI")
                data = spki_der[bpos + 1:bend]  # without the unused-bits byte
            return "X509:<SHA1-PUKEY>" + hashlib.sha1(data).hexdigest().upper()
        if form == "is":
            return f"X509:<I>{issuer}<S>{self.ad_name(pem, 'subject')}"
        if form == "s":
            return f"X509:<S>{self.ad_name(pem, 'subject')}"
        if form == "rfc822":
            return "X509:<RFC822>" + self.certs[cert]["spec"]["email"][0]
        raise SetupError(f"mapping form {form}?")

    # -------------------------------------------------------------- domain
    def provision(self):
        self.chroot("samba-tool", "domain", "provision", f"--realm={cases.REALM}",
                    "--domain=EXAMPLE", "--server-role=dc", "--dns-backend=NONE",
                    "--targetdir=/work/samba", f"--adminpass={ADMIN_PW}", "--host-name=kdc24",
                    f"--host-ip={self.args.address}", f"--domain-sid={cases.DOMAIN_SID}",
                    f"--option=interfaces = {self.args.address}/8",
                    "--option=bind interfaces only = yes", timeout=300, what="samba-tool provision")
        keep = []
        section = None
        with open(self.w("samba", "etc", "smb.conf"), encoding="utf-8") as f:
            for line in f:
                s = line.strip()
                if s.startswith("["):
                    section = s
                    continue
                key = s.split("=", 1)[0].strip()
                if section == "[global]" and key in (
                        "netbios name", "realm", "workgroup", "server role", "private dir",
                        "lock directory", "state directory", "cache directory", "binddns dir"):
                    keep.append("\t" + s)
        if not any("private dir" in k for k in keep):
            raise SetupError("the generated smb.conf has no private dir")
        self.smb_global = keep
        for d in ("log", "run"):
            os.makedirs(self.w("samba", d), exist_ok=True)
        a = self.args.address
        with open(self.w("kdc.conf"), "w", encoding="utf-8") as f:
            # Heimdal's [kdc] section: what Samba's KDC reads for PKINIT
            f.write(f"""[libdefaults]
	default_realm = {cases.REALM}
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	{cases.REALM} = {{
		kdc = {a}
	}}
[kdc]
	enable-pkinit = yes
	pkinit_identity = FILE:/work/pki/kdc.pem,/work/pki/kdc.key
	pkinit_anchors = FILE:/work/pki/issuing_ca.pem
""")
        with open(self.w("client.conf"), "w", encoding="utf-8") as f:
            f.write(f"""[libdefaults]
	default_realm = {cases.REALM}
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	udp_preference_limit = 1
[realms]
	{cases.REALM} = {{
		kdc = {a}
		pkinit_anchors = FILE:/work/pki/client-anchors.pem
	}}
""")

    def dcsetup(self, verb, spec):
        spec = dict(spec, smbconf="/work/samba/etc/smb.conf", sam="/work/samba/private/sam.ldb",
                    password=USER_PW)
        with open(self.w(f"dcsetup-{verb}.json"), "w", encoding="utf-8") as f:
            json.dump(spec, f)
        self.chroot("python3", "/work/dcsetup.py", verb, f"/work/dcsetup-{verb}.json",
                    f"/work/dcsetup-{verb}.out.json", what=f"dcsetup.py {verb}")
        with open(self.w(f"dcsetup-{verb}.out.json"), encoding="utf-8") as f:
            return json.load(f)

    def make_accounts(self):
        shutil.copy(os.path.join(HERE, "dcsetup.py"), self.w("dcsetup.py"))
        self.accounts = self.dcsetup("accounts", {"accounts": [
            {"name": a["name"], "kind": a.get("kind", "user"), "upn": a.get("upn", True),
             "disabled": a.get("disabled", False)} for a in cases.ACCOUNTS]})
        for acc in self.accounts.values():
            acc["when_created_dt"] = datetime.datetime.strptime(
                acc["when_created"].split(".")[0], "%Y%m%d%H%M%S").replace(
                    tzinfo=datetime.timezone.utc)
        if self.accounts["bob"]["uac"] & 2 != 2:
            raise SetupError("bob is not disabled")
        if self.accounts["ivan"]["upn"] is not None:
            raise SetupError("ivan still has a userPrincipalName")

    def directory_values(self):
        changes = {}
        for acc, values in cases.ALTSEC.items():
            changes.setdefault(acc, {})["altSecurityIdentities"] = [
                self.mapping_value(form, cert) for form, cert in values]
        keycred = os.path.join(os.path.dirname(HERE), "tools", "keycred.py")
        if not os.path.exists(keycred):
            raise SetupError(f"{keycred} is missing: the key trust cases need it")
        for acc, (cert, writer) in cases.KEYCREDS.items():
            if writer == "samba-tool":
                continue
            extra = {"der": ["--material", "der"], "computer": ["--computer"]}.get(writer, [])
            value = self.run([sys.executable, keycred, "make", "--owner",
                              self.accounts[acc]["dn"]] + extra + [self.certs[cert]["pem"]],
                             what="keycred.py make").strip()
            changes.setdefault(acc, {})["msDS-KeyCredentialLink"] = [value]
        for acc, name in cases.DNS_HOST_NAMES.items():
            changes.setdefault(acc, {})["dNSHostName"] = [name]
        self.dcsetup("modify", {"changes": changes})
        for acc, (cert, writer) in cases.KEYCREDS.items():
            if writer != "samba-tool":
                continue
            pub = self.x509(self.certs[cert]["pem"], "-pubkey")
            with open(self.w(f"{acc}.pub"), "w", encoding="utf-8") as f:
                f.write(pub)
            # it writes the value, then fails describing it (see the README): checked below
            try:
                self.chroot("samba-tool", "user", "keytrust", "add", acc, f"/work/{acc}.pub",
                            "-H", "/work/samba/private/sam.ldb", "-s", "/work/samba/etc/smb.conf",
                            what="samba-tool user keytrust add")
            except SetupError as e:
                lines = str(e).splitlines()
                err = [x for x in lines if x.startswith("ERROR")] or lines[-1:]
                self.samba_tool_notes.append(f"samba-tool user keytrust add {acc} fails "
                                             "(after writing the value): " + err[0].strip()[:200])
            changes.setdefault(acc, {})["msDS-KeyCredentialLink"] = ["(samba-tool)"]
        out = self.dcsetup("show", {"names": list(changes)})
        self.directory = out
        for acc, attrs in changes.items():
            for attr, values in attrs.items():
                got = out[acc][attr]
                if attr == "altSecurityIdentities" and got != values:
                    raise SetupError(f"{acc}: altSecurityIdentities read back as {got}, "
                                     f"written {values}")
                if attr != "altSecurityIdentities" and len(got) != len(values):
                    raise SetupError(f"{acc}: {attr} read back as {got}")
        self.altsec = {acc: attrs["altSecurityIdentities"] for acc, attrs in changes.items()
                       if "altSecurityIdentities" in attrs}
        # Samba's own reading of the key credential links (informational)
        for acc in cases.KEYCREDS:
            try:
                self.chroot("samba-tool", "user", "keytrust", "view", acc,
                            "-H", "/work/samba/private/sam.ldb", "-s", "/work/samba/etc/smb.conf",
                            what=f"samba-tool user keytrust view {acc}")
            except SetupError as e:
                lines = str(e).splitlines()
                err = [x for x in lines if x.startswith("ERROR")] or lines[-1:]
                self.samba_tool_notes.append(f"samba-tool user keytrust view {acc} fails: "
                                             + err[0].strip()[:200])

    # -------------------------------------------------------------- Samba
    def start_samba(self, cfg):
        name, enforcement, _, comp = cfg
        a = self.args.address
        with open(self.w("samba", "etc", "smb.conf"), "w", encoding="utf-8") as f:
            f.write("# written by tests/samba-kdc/run.py\n[global]\n" + "\n".join(self.smb_global)
                    + f"""
	interfaces = {a}/8
	bind interfaces only = yes
	disable netbios = yes
	server services = ldap, kdc
	logging = file
	log file = /work/samba/log/{name}.log
	log level = 1 kerberos:3
	max log size = 0
	pid directory = /work/samba/run
	ncalrpc dir = /work/samba/run/ncalrpc
	winbindd socket directory = /work/samba/run/winbindd
	ntp signd socket directory = /work/samba/run/ntp_signd
	tls enabled = yes
	tls keyfile = /work/pki/tls.key
	tls certfile = /work/pki/tls.pem
	tls cafile = /work/pki/issuing_ca.pem
	panic action =
	strong certificate binding enforcement = {enforcement}
	certificate backdating compensation = {comp}
""")
        t = Timer()
        self.samba_log = open(self.w("samba", "log", f"{name}.stdout"), "w", encoding="utf-8")
        self.samba = subprocess.Popen(
            ["chroot", self.merged, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
             "KRB5_CONFIG=/work/kdc.conf", "samba", "-i", "-M", "single",
             "-s", "/work/samba/etc/smb.conf"],
            stdin=subprocess.DEVNULL, stdout=self.samba_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.samba.poll() is not None:
                raise SetupError(f"samba exited during start ({self.samba.returncode}): "
                                 + self.tail(self.w("samba", "log", f"{name}.stdout")))
            if self.kdc_ready() and self.port_open(636):
                break
            if time.monotonic() > deadline:
                raise SetupError("Samba's KDC or LDAPS not ready after 60 s: "
                                 + self.tail(self.w("samba", "log", f"{name}.stdout")))
            time.sleep(0.1)
        return t.s()

    def kdc_ready(self):
        try:
            p = subprocess.run(
                ["chroot", self.merged, "env", "-i", "KRB5_CONFIG=/work/client.conf",
                 "kinit", "-c", "FILE:/work/ready.cc", f"Administrator@{cases.REALM}"],
                input=ADMIN_PW + "\n", capture_output=True, text=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return False
        return p.returncode == 0

    def port_open(self, port):
        try:
            with socket.create_connection((self.args.address, port), timeout=2):
                return True
        except OSError:
            return False

    def stop_samba(self):
        if self.samba is None:
            return None
        t = Timer()
        pgid = self.samba.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.samba.wait(timeout=15)
        except subprocess.TimeoutExpired:
            say("NOTE: samba still running 15 s after SIGTERM: SIGKILL")
        for _ in range(100):  # its whole process group
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.samba.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.samba = None
        if self.samba_log:
            self.samba_log.close()
            self.samba_log = None
        return t.s()

    def kdc_log_since(self, offset):
        """The KDC's own words about the last logon: its PKINIT lines in Samba's log."""
        with open(self.samba_log.name, encoding="utf-8", errors="replace") as f:
            f.seek(offset)
            lines = f.read().splitlines()
        keep = []
        for line in lines:
            line = line.strip()
            if line.startswith("Kerberos: ") and re.search(
                    r"PKINIT|PK-INIT.*(fail|error)|Failed|not found|revoked|disabled|mismatch",
                    line, re.I) and "Looking for" not in line:
                keep.append(line[len("Kerberos: "):])
        return keep

    @staticmethod
    def tail(path, n=15):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-n:])
        except OSError:
            return "(no log)"

    # -------------------------------------------------------------- one case
    def logon(self, case, cert, account, cfg):
        """The KDC's answer: ("allow", None, detail) or ("deny", code, detail) or
        ("error", None, detail) when no KDC answer could be read."""
        c = self.certs[cert]
        tag = f"{case}.{cfg[0]}"
        trace = f"/work/trace/{tag}.log"
        os.makedirs(self.w("trace"), exist_ok=True)
        os.makedirs(self.w("cc"), exist_ok=True)
        inner = ["kinit", "-c", f"FILE:/work/cc/{tag}", "-X",
                 f"X509_user_identity=FILE:/work/pki/{cert}.pem,/work/pki/{cert}.key",
                 f"{account}@{cases.REALM}"]
        if c["client_time"]:
            inner = ["faketime", "-f", "@" + c["client_time"].strftime("%Y-%m-%d %H:%M:%S")] + inner
        cmd = ["chroot", self.merged, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
               "KRB5_CONFIG=/work/client.conf", f"KRB5_TRACE={trace}"] + inner
        t = Timer()
        log_at = os.path.getsize(self.samba_log.name)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=30, check=False)
        except subprocess.TimeoutExpired:
            return ("error", None, "kinit: no answer within 30 s")
        self.logon_s.append(t.s())
        self.kdc_said = self.kdc_log_since(log_at)
        with open(self.w("trace", f"{tag}.log"), encoding="utf-8", errors="replace") as f:
            text = f.read()
        msg = (p.stderr.strip().splitlines() or [""])[-1]
        codes = [int(x) - KRB5_ERROR_BASE for x in re.findall(r"Received error from KDC: (-?\d+)/",
                                                               text)]
        sent_pkinit = "Preauth module pkinit (16) (real) returned: 0/Success" in text
        other_preauth = re.findall(r"Preauth module (?!pkinit)(\S+) \(\d+\) \(real\)", text)
        if other_preauth:
            return ("error", None, f"kinit used other preauth ({', '.join(other_preauth)}): {msg}")
        if p.returncode == 0:
            return ("allow", None, "TGT")
        final = [x for x in codes if x != 25]
        if final:
            return ("deny", final[-1], msg + ("" if sent_pkinit else " (before PKINIT)"))
        return ("error", None, f"no KDC error in the trace (kinit {p.returncode}): {msg}")

    def verdict(self, cert, account, cfg):
        """strongmapd's `samba` verdict: ("allow"|"deny", code, detail) or ("error", None, ..)."""
        _, _, mode, comp = cfg
        cmd = [self.args.cli, "verdict", self.certs[cert]["pem"], "--account", account,
               "--profile", "samba", "--mode", str(mode), "--backdating", str(comp * 60),
               "--ldap-uri", f"ldaps://{self.args.address}", "--ldap-base", cases.BASE,
               "--ldap-bind-dn", ADMIN_DN, "--ldap-password-file", self.pwfile,
               "--ldap-ca-file", self.w("pki", "issuing_ca.pem"),
               # the KDC's pkinit_anchors (krb5.conf [kdc] above), as an operator gives them
               "--samba-anchors", self.w("pki", "issuing_ca.pem")]
        t = Timer()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False,
                               env=dict(os.environ, LDAPNOINIT="1"))
        except subprocess.TimeoutExpired:
            return ("error", None, "strongmap verdict: no answer within 60 s")
        self.verdict_s.append(t.s())
        if p.returncode not in (0, 3):
            return ("error", None, f"strongmap exit {p.returncode}: {p.stderr.strip()[:300]}")
        try:
            doc = json.loads(p.stdout)
            prof = doc["profiles"][0] if doc.get("profiles") else doc
            outcome = prof["outcome"]
            code = (prof.get("kdc_error") or {}).get("code")
            reasons = [r.get("code") for r in prof.get("reasons", [])] or \
                [r.get("code") for r in doc.get("reasons", [])]
            method = (prof.get("mapping") or {}).get("method")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            return ("error", None, f"unreadable verdict ({e}): {p.stdout[:300]}")
        if outcome not in ("allow", "deny"):
            return ("error", None, f"outcome {outcome!r}")
        detail = f"mapping {method}" if outcome == "allow" else ", ".join(x for x in reasons if x)
        return (outcome, code if outcome == "deny" else None, detail)

    # -------------------------------------------------------------- the whole run
    def setup(self):
        t = Timer()
        self.pki_init()
        self.pki_infrastructure()
        self.times["pki_ca_kdc_tls_s"] = t.s()
        t = Timer()
        self.provision()
        self.times["provision_s"] = t.s()
        say(f"provisioned {cases.REALM} (domain SID {cases.DOMAIN_SID}) in "
            f"{self.times['provision_s']} s")
        t = Timer()
        self.make_accounts()
        self.times["accounts_s"] = t.s()
        t = Timer()
        self.client_certs()
        self.times["client_certs_s"] = t.s()
        t = Timer()
        self.directory_values()
        self.times["directory_values_s"] = t.s()
        say(f"{len(self.accounts)} accounts in {self.times['accounts_s']} s, {len(self.certs)} "
            f"client certificates in {self.times['client_certs_s']} s, altSecurityIdentities and "
            f"key credentials in {self.times['directory_values_s']} s")
        for note in self.samba_tool_notes:
            say(f"NOTE {note}")
        self.pwfile = os.path.join(self.work, "ldap.pw")
        with open(self.pwfile, "w", encoding="utf-8") as f:
            f.write(ADMIN_PW)
        os.chmod(self.pwfile, 0o600)

    def cases_run(self, deadline):
        configs = [c for c in cases.CONFIGS if not self.args.config or c[0] in self.args.config]
        todo = [c for c in cases.CASES if not self.args.case or c[0] in self.args.case]
        unknown = set(self.args.case or []) - {c[0] for c in cases.CASES}
        if unknown or (self.args.config and not configs):
            raise SetupError(f"unknown --case/--config: {sorted(unknown) or self.args.config}")
        self.times["samba_start_s"] = {}
        self.times["samba_stop_s"] = {}
        for cfg in configs:
            started = self.start_samba(cfg)
            self.times["samba_start_s"][cfg[0]] = started
            if any(name not in self.certs for name in (c["name"] for c in cases.PREISSUED)):
                self.preissued_certs()
            t = Timer()
            for case, cert, account, _ in todo:
                if time.monotonic() > deadline:
                    raise SetupError(f"time budget of {self.args.budget} s exhausted")
                self.kdc_said = []
                kdc = self.logon(case, cert, account, cfg)
                sm = self.verdict(cert, account, cfg)
                self.results.append({"case": case, "config": cfg[0], "cert": cert,
                                     "account": account, "kdc": kdc, "strongmapd": sm,
                                     "kdc_log": self.kdc_said})
            self.times.setdefault("cases_s", {})[cfg[0]] = t.s()
            self.times["samba_stop_s"][cfg[0]] = self.stop_samba()
            say(f"config {cfg[0]:<11} (strong certificate binding enforcement = {cfg[1]}, "
                f"certificate backdating compensation = {cfg[3]}): Samba ready in {started} s, "
                f"{len(todo)} cases in {self.times['cases_s'][cfg[0]]} s")
        du = subprocess.run(["du", "-sxm", os.path.join(self.work, "upper")], capture_output=True,
                            text=True, timeout=120, check=False).stdout.split()
        self.times["work_disk_mib"] = int(du[0]) if du else None


def short(answer):
    """TGT / allow / the error code / ERROR"""
    kind, code, detail = answer
    if kind == "allow":
        return "TGT" if detail == "TGT" else "allow"
    return str(code) if kind == "deny" else "ERROR"


def agree(r):
    k, s = r["kdc"], r["strongmapd"]
    return k[0] != "error" and s[0] != "error" and k[0] == s[0] and k[1] == s[1]


def long_form(answer):
    kind, code, detail = answer
    if kind == "allow":
        return "TGT" if detail == "TGT" else f"allow ({detail})"
    if kind == "deny":
        return f"{code} {KRB5_NAMES.get(code, '?')} ({detail})"
    return f"ERROR {detail}"


def report(results):
    """The summary table (one row per case, one column per configuration) and one line per
    disagreement. Returns the disagreeing results."""
    configs = [c[0] for c in cases.CONFIGS if any(r["config"] == c[0] for r in results)]
    by = {(r["case"], r["config"]): r for r in results}
    names = [c[0] for c in cases.CASES if any(r["case"] == c[0] for r in results)]
    say("")
    say("Summary: a cell is the KDC's answer when strongmapd agrees (TGT = allow, else the "
        "Kerberos error code), else 'KDC <> strongmapd !!'")
    w = max(len(n) for n in names) + 1
    cw = 18
    say(f"{'case':<{w}} {'account':<11} " + "".join(f"{c:<{cw}}" for c in configs))
    for n in names:
        row = f"{n:<{w}} {by[(n, configs[0])]['account']:<11} "
        for c in configs:
            r = by.get((n, c))
            if r is None:
                cell = "-"
            elif agree(r):
                cell = short(r["kdc"])
            else:
                cell = f"{short(r['kdc'])} <> {short(r['strongmapd'])} !!"
            row += f"{cell:<{cw}}"
        say(row.rstrip())
    codes = sorted({r[k][1] for r in results for k in ("kdc", "strongmapd")
                    if r[k][0] == "deny"})
    say("codes: " + ", ".join(f"{c} {KRB5_NAMES.get(c, '?')}" for c in codes))
    bad = [r for r in results if not agree(r)]
    if bad:
        say("")
        say(f"DISAGREEMENTS ({len(bad)} of {len(results)} logons): "
            "case | configuration | KDC answer | strongmapd answer")
        for r in bad:
            say(f"DISAGREE {r['case']} | {r['config']} | KDC: {long_form(r['kdc'])} | "
                f"strongmapd: {long_form(r['strongmapd'])}")
            if r.get("kdc_log"):
                say(f"         KDC log: {' / '.join(r['kdc_log'])[:300]}")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", help="the built strongmap CLI")
    ap.add_argument("--cache", default=os.environ.get("SM_KDC_CACHE", kdcroot.DEFAULT_CACHE))
    ap.add_argument("--mirror", default=os.environ.get("SM_KDC_MIRROR", kdcroot.MIRROR))
    ap.add_argument("--address", default=ADDRESS, help="Samba's loopback address (not 127.0.0.1)")
    ap.add_argument("--rebuild", action="store_true", help="build a new root even if valid")
    ap.add_argument("--prepare-only", action="store_true", help="only make/check the root")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--config", action="append", help="only this configuration (repeatable)")
    ap.add_argument("--results", help="also write the results as JSON to this file")
    ap.add_argument("--budget", type=int, default=1500, help="seconds for the whole run")
    ap.add_argument("--lock-wait", type=int, default=900)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    deadline = t0 + args.budget
    ci = os.environ.get("CI", "").lower() == "true"
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    def unavailable(reason):
        if ci:
            say(f"FAIL: the samba-kdc root cannot be made and CI=true: {reason}")
            return 1
        say(f"SKIP: the samba-kdc root cannot be made: {reason}")
        return 77

    if os.geteuid() != 0:
        return unavailable("needs root (debootstrap, chroot, mount; Samba binds ports 88/389/636)")
    missing = [t for t in ("openssl", "chroot", "mount", "umount", "du") if not shutil.which(t)]
    if missing:
        say(f"FAIL: missing host tools: {' '.join(missing)} (scripts/deps.sh)")
        return 1
    if not args.prepare_only and (not args.cli or not os.access(args.cli, os.X_OK)):
        say(f"FAIL: --cli {args.cli}: not an executable strongmap")
        return 1
    if args.address == "127.0.0.1" or not re.fullmatch(r"127\.\d+\.\d+\.\d+", args.address):
        say("FAIL: --address must be a loopback address other than 127.0.0.1 (tests/samba's)")
        return 1
    tier = None
    try:
        with kdcroot.Lock(args.cache, args.lock_wait):
            kdcroot.clean_leftovers(args.cache)
            t = Timer()
            try:
                stamp = kdcroot.ensure_root(args.cache, args.mirror, args.rebuild)
            except kdcroot.RootUnavailable as e:
                return unavailable(str(e))
            say(f"root: {args.cache}/root ({stamp['cache']} in {t.s()} s; built {stamp['built']}"
                f", {stamp.get('disk_mib')} MiB; debootstrap {stamp.get('debootstrap_s')} s, "
                f"install {stamp.get('install_s')} s)")
            say(f"Samba: {stamp['samba_version']}; MIT krb5-user {stamp['packages']['krb5-user']}"
                f", krb5-pkinit {stamp['packages']['krb5-pkinit']}; faketime "
                f"{stamp['packages']['faketime']}")
            if args.prepare_only:
                return 0
            with Tier(args, stamp) as tier:
                try:
                    tier.setup()
                    tier.cases_run(deadline)
                except SetupError as e:
                    tier.setup_failures.append(str(e))
                    say(f"FAIL setup: {e}")
                    say("steps log tail:\n" + Tier.tail(os.path.join(tier.work, "steps.log"), 20))
                bad = report(tier.results) if tier.results else []
                lt, vt = tier.logon_s, tier.verdict_s
                tier.times["logon_avg_s"] = round(sum(lt) / len(lt), 3) if lt else None
                tier.times["verdict_avg_s"] = round(sum(vt) / len(vt), 3) if vt else None
                tier.times["total_s"] = round(time.monotonic() - t0, 1)
                say("")
                say(f"timings: {json.dumps(tier.times)}")
                if args.results:
                    with open(args.results, "w", encoding="utf-8") as f:
                        json.dump({"samba_version": stamp["samba_version"],
                                   "packages": stamp["packages"], "times": tier.times,
                                   "altsec": getattr(tier, "altsec", {}),
                                   "setup_failures": tier.setup_failures,
                                   "results": tier.results}, f, indent=1)
                n = len(tier.results)
                say(f"samba-kdc: Samba {stamp['samba_version'].split()[-1]}: {n - len(bad)} of {n}"
                    f" logons agree, {len(bad)} disagree"
                    + (f", setup failed: {tier.setup_failures[0].splitlines()[0]}"
                       if tier.setup_failures else ""))
                return 1 if bad or tier.setup_failures or not n else 0
    except Interrupted as e:
        say(f"interrupted ({e}); cleaned up")
        return 130
    except (SetupError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        say(f"FAIL: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
