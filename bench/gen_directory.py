#!/usr/bin/python3
"""bench/gen_directory.py - a directory of N AD-like accounts, certificates published on them,
and a certificate that maps strongly to one of them, for the benchmarks (python3 stdlib, the
openssl command, and Python's cryptography for the published certificates: Debian's
python3-cryptography).

    python3 bench/gen_directory.py --accounts 10000 [--certs N] --out DIR

writes
  DIR/bench.ldif  examples/demo.ldif (its certificates still work), in the form slapd with
                  tests/data/schema/testad.schema takes (as tests/lib/slapd.py loads it: no
                  second structural class, the NTAuth store as testNTAuthStore with its parent
                  containers, binary attributes with ;binary), plus under ou=Bench:
                  - users cn=u00001 ... (sAMAccountName, userPrincipalName uNNNNN@example.com,
                    objectSid S-1-5-21-1000-2000-3000-<1000+i>, whenCreated, userAccountControl
                    512, every 50th 514 (disabled)); every 10th one or two
                    altSecurityIdentities values, strong (<I>..<SR>..) and weak (<I>..<S>..);
                  - one computer for every 20 users, cn=c00001 ... (sAMAccountName c00001$,
                    dNSHostName c00001.example.com, userAccountControl 4096);
                  - --certs N (default one for every 8 users: 1,250 for 10,000; 0: none)
                    certificates published (userCertificate;binary) on the accounts, real DER
                    signed by tests/data/certs/issuing_ca.key, in the mapping situations of
                    USER_KINDS below: the SID extension (44%), the SID as a SAN URL, no SID with
                    the account holding an X509IssuerSerialNumber, X509SKI or X509IssuerSubject
                    value for it, the UPN alone, a stale serial-number value beside it, expired,
                    another account's SID, the same certificate on two users, the same value on
                    two users; about a tenth on computers (P-256 keys, the DNS name, with or
                    without the SID extension); 8% of the holders also publish an older, expired
                    certificate. The users' RSA-2048 keys are KEY_POOL keys made from the seed
                    (each certificate's SKI hashes its serial too, so that none repeats);
                    issued from 2026-01-02 for three years (the expired ones in 2023-2024);
                  the NTAuth store also holds tests/data/certs/issuing_ca.pem (the issuer below)
                  when the demo's store lacks it.
                  The same file reads with `strongmap verdict --ldif` and loads with slapadd.
  DIR/bench.pem   an RSA-2048 end-entity certificate (DER 1150-1250 bytes) for the account
                  --cert-account (default u00042: enabled, no altSecurityIdentities): UPN SAN,
                  the SID extension (1.3.6.1.4.1.311.25.2) with the account's SID, clientAuth
                  EKU, key usage, SKI/AKI, CRL DP and AIA URLs; valid from now - 1 day to
                  now + 1 year; signed by tests/data/certs/issuing_ca.key with `openssl ca`
                  (openssl x509 -req of OpenSSL 3.0 cannot backdate). A fresh key every run,
                  kept in DIR/bench.key.
  strongmap verdict --ldif DIR/bench.ldif DIR/bench.pem  ->  allow (strong, sid_extension).

The LDIF is deterministic for given --accounts, --certs and --seed (the same bytes with
cryptography 38, Debian 12's, and 48); --certs 0 gives the LDIF of the generator before it had
certificates. bench.pem is not deterministic (fresh key, random serial, the current time).
About 1.5 s for the key pool and 1 to 3 ms a certificate.
"""

import argparse
import base64
import datetime
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEMO_LDIF = os.path.join(ROOT, "examples", "demo.ldif")
CA_PEM = os.path.join(ROOT, "tests", "data", "certs", "issuing_ca.pem")
CA_KEY = os.path.join(ROOT, "tests", "data", "certs", "issuing_ca.key")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import slapd  # noqa: E402  (demo_ldif_for_slapd: the demo in slapd's form, as the tests load it)

BASE_DN = "dc=example,dc=com"
BENCH_OU = f"ou=Bench,{BASE_DN}"
DNS_DOMAIN = "example.com"
DOMAIN_SID = (21, 1000, 2000, 3000)  # S-1-5-21-1000-2000-3000
RID_BASE = 1000
ISSUER_ALTSEC = "DC=com,DC=example,CN=Example Issuing CA"  # AD's order, as in demo.ldif
UPN_OID = "1.3.6.1.4.1.311.20.2.3"
SID_EXT_OID = "1.3.6.1.4.1.311.25.2"
SID_EXT_TYPE_OID = "1.3.6.1.4.1.311.25.2.1"
DER_MIN, DER_MAX, DER_TARGET = 1150, 1250, 1200


def die(msg):
    print(f"gen_directory: {msg}", file=sys.stderr)
    sys.exit(1)


# ---- SIDs ------------------------------------------------------------------------------------


def sid_text(rid):
    return "S-1-5-" + "-".join(str(x) for x in DOMAIN_SID + (rid,))


def sid_binary(rid):
    """objectSid: revision 1, sub-authority count, 48-bit authority (big endian), then the
    sub-authorities as little-endian 32-bit integers."""
    subs = DOMAIN_SID + (rid,)
    return struct.pack("<BB", 1, len(subs)) + (5).to_bytes(6, "big") + struct.pack(
        "<%dI" % len(subs), *subs)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return der(0x06, bytes(out))


def sid_extension_der(sid):
    """szOID_NTDS_CA_SECURITY_EXT's value: SEQUENCE { [0] otherName { OID ...25.2.1,
    [0] EXPLICIT OCTET STRING sid } }, as `strongmap sid extension` prints it."""
    other = der_oid(SID_EXT_TYPE_OID) + der(0xA0, der(0x04, sid.encode("ascii")))
    return der(0x30, der(0xA0, other))


# ---- the LDIF --------------------------------------------------------------------------------


def b64(data):
    return base64.b64encode(data).decode("ascii")


def demo_blocks(ca_der):
    """examples/demo.ldif as slapd with testad.schema takes it (slapd.demo_ldif_for_slapd(),
    shared with the tests), the NTAuth store with @ca_der added when it lacks it."""
    blocks = slapd.demo_ldif_for_slapd().strip().split("\n\n")
    for i, block in enumerate(blocks):
        if not block.lower().startswith("dn: cn=ntauthcertificates"):
            continue
        have = [base64.b64decode(line.split("::", 1)[1].strip()) for line in block.split("\n")
                if line.lower().startswith("cacertificate;binary::")]
        if ca_der not in have:
            blocks[i] = block + "\ncACertificate;binary:: " + b64(ca_der)
        return blocks
    die(f"{DEMO_LDIF} has no NTAuth store")


def serial_sr(rng):
    """An altSecurityIdentities <SR> value: a positive 16-byte serial, bytes reversed."""
    serial = bytes([rng.randrange(0x10, 0x80)]) + bytes(rng.randrange(256) for _ in range(15))
    return serial[::-1].hex().upper()


def when_created(i):
    t = datetime.datetime(2024, 1, 1) + datetime.timedelta(minutes=7 * i)
    return t.strftime("%Y%m%d%H%M%S.0Z")


def user_enabled(i):
    return i % 50 != 7


def user_altsec(i, rng):
    """altSecurityIdentities of user @i: every 10th user (i % 10 == 3), two values every 30th;
    strong and weak forms alternate."""
    if i % 10 != 3:
        return []
    n = 2 if i % 30 == 3 else 1
    out = []
    for k in range(n):
        if (i // 10 + k) % 2 == 0:
            out.append(f"X509:<I>{ISSUER_ALTSEC}<SR>{serial_sr(rng)}")
        else:
            out.append(f"X509:<I>{ISSUER_ALTSEC}<S>DC=com,DC=example,OU=Bench,CN=u{i:05d}")
    return out


def account_blocks(n_users, rng, plan=None):
    """The users and computers; @plan (published_certificates()) adds their certificates and
    the values that go with them."""
    certs, values = plan or ({}, {})

    def published(key):
        return ([f"altSecurityIdentities: {v}" for v in values.get(key, [])] +
                [f"userCertificate;binary:: {b64(der)}" for der in certs.get(key, [])])

    out = [f"dn: {BENCH_OU}\nobjectClass: top\nobjectClass: organizationalUnit\nou: Bench"]
    for i in range(1, n_users + 1):
        name = f"u{i:05d}"
        lines = [
            f"dn: cn={name},{BENCH_OU}",
            "objectClass: top",
            "objectClass: user",
            f"cn: {name}",
            f"sAMAccountName: {name}",
            f"userPrincipalName: {name}@{DNS_DOMAIN}",
            f"objectSid:: {b64(sid_binary(RID_BASE + i))}",
            f"whenCreated: {when_created(i)}",
            f"userAccountControl: {512 if user_enabled(i) else 514}",
            f"displayName: Bench User {i:05d}",
            f"givenName: Bench{i:05d}",
            "sn: User",
            f"mail: {name}@{DNS_DOMAIN}",
        ]
        lines += [f"altSecurityIdentities: {v}" for v in user_altsec(i, rng)]
        out.append("\n".join(lines + published(("u", i))))
    for j in range(1, n_users // 20 + 1):
        name = f"c{j:05d}"
        out.append("\n".join([
            f"dn: cn={name},{BENCH_OU}",
            "objectClass: top",
            "objectClass: user",
            "objectClass: computer",
            f"cn: {name}",
            f"sAMAccountName: {name}$",
            f"dNSHostName: {name}.{DNS_DOMAIN}",
            f"objectSid:: {b64(sid_binary(RID_BASE + n_users + j))}",
            f"whenCreated: {when_created(j)}",
            "userAccountControl: 4096",
        ] + published(("c", j))))
    return out


# ---- published certificates (--certs) ----------------------------------------------------------

# what a published certificate is for its account, with the share of the users' certificates (%)
USER_KINDS = (
    ("sid", 44),         # the SID extension with the account's SID: strong
    ("sid_uri", 3),      # the SID as a SAN URL (tag:microsoft.com,2022-09-14:sid:...), no extension
    ("altsec_sr", 18),   # no SID; the account holds X509IssuerSerialNumber for it: strong
    ("altsec_ski", 5),   # no SID; the account holds X509SKI for it: strong
    ("altsec_is", 4),    # no SID; the account holds X509IssuerSubject for it: weak
    ("upn_only", 12),    # no SID, no value: the UPN alone (weak)
    ("sid_stale", 4),    # the SID extension, and a serial-number value of another certificate
    ("expired", 3),      # the SID extension, expired
    ("other_sid", 2),    # the SID extension with another account's SID
    ("dup_cert", 2),     # the SID extension; the same certificate published on another user too
    ("dup_value", 3),    # as altsec_sr, the value held by another user too
)
COMPUTER_KINDS = (("sid", 60), ("dns_only", 40))  # computers: the SID extension, or the DNS name
COMPUTER_SHARE = 0.1  # of the certificates, while computers are left
RENEWED_SHARE = 0.08  # holders that also publish an older, expired certificate (no SID)
KEY_POOL = 3  # RSA-2048 keys the users' certificates share, made from the seed
CERT_EPOCH = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
OLD_EPOCH = datetime.datetime(2023, 1, 2, tzinfo=datetime.timezone.utc)
SID_URI_PREFIX = "tag:microsoft.com,2022-09-14:sid:"
SMARTCARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
TEMPLATE_V2_OID = "1.3.6.1.4.1.311.21.7"  # szOID_CERTIFICATE_TEMPLATE
TEMPLATE_NAME_OID = "1.3.6.1.4.1.311.20.2"  # szOID_ENROLL_CERTTYPE_EXTENSION (v1 templates)
USER_TEMPLATES = ("1.3.6.1.4.1.311.21.8.1000.2000.3000.4000.101.1",  # made-up template ids
                  "1.3.6.1.4.1.311.21.8.1000.2000.3000.4000.102.1")
SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]


def crypto():
    """The cryptography modules (Debian: python3-cryptography), or a message saying so."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.x509.oid import (AuthorityInformationAccessOID,
                                           ExtendedKeyUsageOID, NameOID)
    except ImportError:
        die("--certs needs Python's cryptography module (Debian: python3-cryptography; "
            "scripts/deps.sh bench)")
    return dict(x509=x509, hashes=hashes, serialization=serialization, ec=ec, rsa=rsa,
                padding=padding, AIA=AuthorityInformationAccessOID, EKU=ExtendedKeyUsageOID,
                NameOID=NameOID)


def probable_prime(bits, rng):
    """A prime of @bits bits (top two set) from @rng: trial division, then 16 Miller-Rabin
    rounds with witnesses from @rng. Python's own pow(); about 0.1 s for 1,024 bits."""
    while True:
        n = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if any(n % p == 0 for p in SMALL_PRIMES) or (n - 1) % 65537 == 0:
            continue
        d, s = n - 1, 0
        while d % 2 == 0:
            d //= 2
            s += 1
        for _ in range(16):
            x = pow(rng.randrange(2, n - 2), d, n)
            if x in (1, n - 1):
                continue
            for _ in range(s - 1):
                x = x * x % n
                if x == n - 1:
                    break
            else:
                break
        else:
            return n


def rsa_key_pool(c, seed):
    """KEY_POOL RSA-2048 public keys, the same for the same seed (cryptography makes keys from
    the system's randomness: the primes are made here)."""
    keys = []
    for k in range(KEY_POOL):
        rng = random.Random(f"bench-rsa-{seed}-{k}")
        while True:
            p, q = probable_prime(1024, rng), probable_prime(1024, rng)
            n = p * q
            if p != q and n.bit_length() == 2048:
                break
        keys.append(c["rsa"].RSAPublicNumbers(65537, n).public_key())
    return keys


def pick(kinds, rng):
    x = rng.randrange(sum(w for _, w in kinds))
    for kind, w in kinds:
        if x < w:
            return kind
        x -= w
    raise AssertionError("unreachable")


class CertMaker:
    """The leaf certificates of the published set, signed by tests/data/certs/issuing_ca.key
    (RSA-2048, PKCS#1 v1.5 with SHA-256: the same bytes for the same input)."""

    def __init__(self, c, seed):
        self.c = c
        x509 = c["x509"]
        with open(CA_PEM, "rb") as f:
            self.ca = x509.load_pem_x509_certificate(f.read())
        with open(CA_KEY, "rb") as f:
            self.ca_key = c["serialization"].load_pem_private_key(f.read(), password=None)
        ski = self.ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        self.aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        self.rsa = rsa_key_pool(c, seed)
        oid = x509.ObjectIdentifier
        self.common = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (self.aki, False),
            (x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier("http://pki.example.com/crl/ca.crl")],
                None, None, None)]), False),
            (x509.AuthorityInformationAccess([
                x509.AccessDescription(c["AIA"].CA_ISSUERS,
                                       x509.UniformResourceIdentifier(
                                           "http://pki.example.com/ca.crt")),
                x509.AccessDescription(c["AIA"].OCSP, x509.UniformResourceIdentifier(
                    "http://ocsp.example.com"))]), False),
        ]
        self.user_eku = x509.ExtendedKeyUsage([c["EKU"].CLIENT_AUTH, oid(SMARTCARD_LOGON)])
        self.computer_eku = x509.ExtendedKeyUsage([c["EKU"].CLIENT_AUTH,
                                                   c["EKU"].SERVER_AUTH])
        self.templates = [x509.UnrecognizedExtension(oid(TEMPLATE_V2_OID), der(
            0x30, der_oid(t) + der(0x02, b"\x64") + der(0x02, b"\x03")))
            for t in USER_TEMPLATES]
        self.machine = x509.UnrecognizedExtension(
            oid(TEMPLATE_NAME_OID), der(0x1E, "Machine".encode("utf-16-be")))

    def make(self, rng, name, computer, start, days, sid_ext=None, sid_uri=None):
        """One certificate for @name (user uNNNNN or computer cNNNNN); returns (DER, serial
        bytes, SKI bytes). Users: RSA-2048 from the pool, UPN in the SAN; computers: a P-256
        key of their own, the DNS name in the SAN."""
        c, x509 = self.c, self.c["x509"]
        oid = x509.ObjectIdentifier
        serial = bytes([rng.randrange(0x10, 0x80)]) + bytes(rng.getrandbits(8)
                                                           for _ in range(15))
        if computer:
            key = c["ec"].derive_private_key(rng.randrange(1, 2 ** 255),
                                             c["ec"].SECP256R1()).public_key()
            san = [x509.DNSName(f"{name}.{DNS_DOMAIN}")]
            usage = dict(digital_signature=True, key_encipherment=False)
        else:
            key = self.rsa[rng.randrange(len(self.rsa))]
            san = [x509.OtherName(oid(UPN_OID), der(0x0C, f"{name}@{DNS_DOMAIN}".encode()))]
            usage = dict(digital_signature=True, key_encipherment=True)
        if sid_uri:
            san.append(x509.UniformResourceIdentifier(SID_URI_PREFIX + sid_uri))
        spki = key.public_bytes(c["serialization"].Encoding.DER,
                                c["serialization"].PublicFormat.SubjectPublicKeyInfo)
        # the users share a few keys: the key's hash alone (RFC 5280's method 1) would give
        # their certificates the same SKI, so the serial goes in too (RFC 7093 leaves the
        # method to the CA)
        ski = hashlib.sha1(spki + serial).digest()
        subject = x509.Name([x509.NameAttribute(c["NameOID"].DOMAIN_COMPONENT, "com"),
                             x509.NameAttribute(c["NameOID"].DOMAIN_COMPONENT, "example"),
                             x509.NameAttribute(c["NameOID"].ORGANIZATIONAL_UNIT_NAME, "Bench"),
                             x509.NameAttribute(c["NameOID"].COMMON_NAME, name)])
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.ca.subject)
             .public_key(key).serial_number(int.from_bytes(serial, "big"))
             .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days)))
        for ext, critical in self.common:
            b = b.add_extension(ext, critical)
        b = b.add_extension(x509.KeyUsage(content_commitment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False,
                                          decipher_only=False, **usage), True)
        b = b.add_extension(self.computer_eku if computer else self.user_eku, False)
        b = b.add_extension(x509.SubjectAlternativeName(san), False)
        b = b.add_extension(x509.SubjectKeyIdentifier(ski), False)
        b = b.add_extension(self.machine if computer else
                            self.templates[rng.randrange(len(self.templates))], False)
        if sid_ext:
            b = b.add_extension(x509.UnrecognizedExtension(oid(SID_EXT_OID),
                                                           sid_extension_der(sid_ext)), False)
        cert = b.sign(self.ca_key, c["hashes"].SHA256())
        return cert.public_bytes(c["serialization"].Encoding.DER), serial, ski


def published_certificates(n_users, n_certs, seed, keep_out):
    """@n_certs userCertificate values for the users and computers (the computers get about a
    tenth), user u@keep_out none; returns ({account: [DER, ...]}, {account: [value, ...]}),
    an account being ("u", i) or ("c", j). Each certificate gets a kind (USER_KINDS,
    COMPUTER_KINDS); a holder is drawn once, some also publish an older, expired certificate.
    The same for the same arguments."""
    certs, values = {}, {}
    if n_certs <= 0:
        return certs, values
    c = crypto()
    rng = random.Random(f"bench-certs-{seed}")
    maker = CertMaker(c, seed)
    users = [i for i in range(1, n_users + 1) if i != keep_out]
    computers = list(range(1, n_users // 20 + 1))
    rng.shuffle(users)
    rng.shuffle(computers)
    made = 0

    def publish(key, der_):
        nonlocal made
        certs.setdefault(key, []).append(der_)
        made += 1

    def value(key, v):
        values.setdefault(key, []).append(v)

    def another(i):
        while True:
            j = rng.randrange(1, n_users + 1)
            if j not in (i, keep_out):
                return j

    def start():
        return CERT_EPOCH + datetime.timedelta(minutes=3 * made)

    while made < n_certs and (users or computers):
        if computers and (not users or rng.random() < COMPUTER_SHARE):
            j = computers.pop()
            name, rid = f"c{j:05d}", RID_BASE + n_users + j
            kind = pick(COMPUTER_KINDS, rng)
            der_, _, _ = maker.make(rng, name, True, start(), 3 * 365,
                                    sid_ext=sid_text(rid) if kind == "sid" else None)
            publish(("c", j), der_)
            continue
        i = users.pop()
        key, name, sid = ("u", i), f"u{i:05d}", sid_text(RID_BASE + i)
        if made + 1 < n_certs and rng.random() < RENEWED_SHARE:
            old = OLD_EPOCH + datetime.timedelta(minutes=3 * made)
            publish(key, maker.make(rng, name, False, old, 365)[0])
        kind = pick(USER_KINDS, rng)
        sid_ext = sid if kind in ("sid", "sid_stale", "expired", "dup_cert") else None
        if kind == "other_sid":
            sid_ext = sid_text(RID_BASE + another(i))
        when, days = (OLD_EPOCH + datetime.timedelta(minutes=3 * made), 365) \
            if kind == "expired" else (start(), 3 * 365)
        der_, serial, ski = maker.make(rng, name, False, when, days, sid_ext=sid_ext,
                                       sid_uri=sid if kind == "sid_uri" else None)
        publish(key, der_)
        if kind in ("altsec_sr", "dup_value"):
            v = f"X509:<I>{ISSUER_ALTSEC}<SR>{serial[::-1].hex().upper()}"
            value(key, v)
            if kind == "dup_value":
                value(("u", another(i)), v)
        elif kind == "altsec_ski":
            value(key, f"X509:<SKI>{ski.hex().upper()}")
        elif kind == "altsec_is":
            value(key, f"X509:<I>{ISSUER_ALTSEC}<S>DC=com,DC=example,OU=Bench,CN={name}")
        elif kind == "sid_stale":
            value(key, f"X509:<I>{ISSUER_ALTSEC}<SR>{serial_sr(rng)}")
        elif kind == "dup_cert" and made < n_certs:
            publish(("u", another(i)), der_)
    return certs, values


# ---- the certificate ---------------------------------------------------------------------------


def openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        die(f"openssl {args[0]} failed: {r.stderr.strip()[-1500:]}")
    return r.stdout


def cert_conf(tmp, name, upn, sid, pad):
    """openssl ca's configuration: a throw-away CA database in @tmp and the leaf's extensions;
    @pad characters of the CRL path are the padding that sets the certificate's size."""
    ext = sid_extension_der(sid)
    crl = "http://pki.example.com/crl/" + ("x" * pad + "/" if pad else "") + "ca.crl"
    return f"""[ca]
default_ca = bench_ca
[bench_ca]
dir = {tmp}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = bench_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
[bench_policy]
commonName = supplied
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = {name}
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, 1.3.6.1.4.1.311.20.2.2
subjectAltName = otherName:{UPN_OID};UTF8:{upn}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:{crl}
authorityInfoAccess = caIssuers;URI:http://pki.example.com/ca.crt, OCSP;URI:http://ocsp.example.com
{SID_EXT_OID} = DER:{ext.hex(":").upper()}
"""


def make_cert(out_dir, name, upn, sid):
    """Sign a fresh RSA-2048 leaf; returns (PEM text, DER size)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = (now - datetime.timedelta(days=1)).strftime("%Y%m%d%H%M%SZ")
    end = (now + datetime.timedelta(days=365)).strftime("%Y%m%d%H%M%SZ")
    subj = f"/DC=com/DC=example/OU=Bench/CN={name}"
    tmp = tempfile.mkdtemp(prefix="gen_directory.")
    try:
        conf = os.path.join(tmp, "openssl.cnf")
        with open(conf, "w", encoding="ascii") as f:
            f.write(cert_conf(tmp, name, upn, sid, 0))
        openssl(["req", "-new", "-config", conf, "-newkey", "rsa:2048", "-nodes", "-subj", subj,
                 "-keyout", "leaf.key", "-out", "leaf.csr"], tmp)
        pad = None
        for _ in range(3):  # the size is deterministic: one try to measure, one to hit
            with open(os.path.join(tmp, "index.txt"), "w", encoding="ascii"):
                pass
            with open(os.path.join(tmp, "serial"), "w", encoding="ascii") as f:
                # 16 bytes, positive, no leading zero: a fixed DER length
                f.write("%02X%s\n" % (random.SystemRandom().randrange(0x10, 0x80),
                                      os.urandom(15).hex().upper()))
            with open(conf, "w", encoding="ascii") as f:
                f.write(cert_conf(tmp, name, upn, sid, pad or 0))
            for old in ("leaf.pem", "leaf.der"):
                if os.path.exists(os.path.join(tmp, old)):
                    os.unlink(os.path.join(tmp, old))
            openssl(["ca", "-batch", "-config", conf, "-name", "bench_ca", "-notext",
                     "-preserveDN", "-cert", CA_PEM, "-keyfile", CA_KEY, "-startdate", start,
                     "-enddate", end, "-extfile", conf, "-extensions", "leaf", "-in",
                     "leaf.csr", "-out", "leaf.pem"], tmp)
            openssl(["x509", "-in", "leaf.pem", "-outform", "der", "-out", "leaf.der"], tmp)
            size = os.path.getsize(os.path.join(tmp, "leaf.der"))
            if DER_MIN <= size <= DER_MAX:
                break
            if pad is not None and pad + DER_TARGET - size < 0:
                die(f"the certificate is {size} bytes without padding (wanted at most {DER_MAX})")
            pad = max(0, (pad or 0) + DER_TARGET - size)
        else:
            die(f"cannot size the certificate into {DER_MIN}-{DER_MAX} bytes (last {size})")
        # openssl x509 -outform pem: the certificate alone, without openssl ca's text
        pem = openssl(["x509", "-in", "leaf.pem"], tmp)
        shutil.copyfile(os.path.join(tmp, "leaf.key"), os.path.join(out_dir, "bench.key"))
        return pem, size
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- main ----------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=10000, metavar="N",
                    help="user accounts u00001..uN (plus N/20 computers; default 10000)")
    ap.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    ap.add_argument("--cert-account", type=int, default=42, metavar="I",
                    help="bench.pem is for user uI (default 42: enabled, no mappings)")
    ap.add_argument("--certs", type=int, default=None, metavar="N",
                    help="published certificates (userCertificate) on the accounts (default: "
                    "one for every 8 users; 0: none)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the LDIF's random values")
    args = ap.parse_args()
    if not 1 <= args.accounts <= 999999:
        ap.error("--accounts must be 1..999999")
    if args.certs is None:
        args.certs = args.accounts // 8
    if not 0 <= args.certs <= 2 * args.accounts:
        ap.error("--certs must be 0..twice --accounts")
    i = args.cert_account
    if not 1 <= i <= args.accounts:
        ap.error("--cert-account must be one of the accounts")
    if not user_enabled(i) or i % 10 == 3:
        ap.error(f"u{i:05d} is disabled or has altSecurityIdentities: pick another")
    for path in (DEMO_LDIF, CA_PEM, CA_KEY):
        if not os.path.isfile(path):
            die(f"{path} not found")
    if not shutil.which("openssl"):
        die("openssl not found")
    os.makedirs(args.out, exist_ok=True)

    with open(CA_PEM, encoding="ascii") as f:
        ca_der = base64.b64decode("".join(
            line for line in f.read().splitlines() if line and not line.startswith("-----")))
    rng = random.Random(args.seed)
    t = time.monotonic()
    plan = published_certificates(args.accounts, args.certs, args.seed, i)
    took = time.monotonic() - t
    blocks = demo_blocks(ca_der) + account_blocks(args.accounts, rng, plan)
    header = (f"# strongmapd benchmark directory: examples/demo.ldif (slapd form) and "
              f"{args.accounts} users + {args.accounts // 20} computers under {BENCH_OU}"
              + (f", {args.certs} certificates published on them" if args.certs else "") +
              f".\n# Generated by bench/gen_directory.py --accounts {args.accounts} "
              + (f"--certs {args.certs} " if args.certs else "") + f"--seed {args.seed}.\n\n")
    ldif = os.path.join(args.out, "bench.ldif")
    with open(ldif + ".tmp", "w", encoding="utf-8") as f:
        f.write(header + "\n\n".join(blocks) + "\n")
    os.replace(ldif + ".tmp", ldif)

    name = f"u{i:05d}"
    pem, size = make_cert(args.out, name, f"{name}@{DNS_DOMAIN}", sid_text(RID_BASE + i))
    with open(os.path.join(args.out, "bench.pem"), "w", encoding="ascii") as f:
        f.write(pem)
    certs, values = plan
    published = (f"; {sum(len(v) for v in certs.values())} certificates published on "
                 f"{len(certs)} accounts ({took:.1f} s), {sum(len(v) for v in values.values())} "
                 f"values for them" if args.certs else "")
    print(f"gen_directory: {ldif}: {len(blocks)} entries{published}; {args.out}/bench.pem: "
          f"{name}, SID {sid_text(RID_BASE + i)}, {size} bytes DER")
    return 0


if __name__ == "__main__":
    sys.exit(main())
