#!/usr/bin/python3
"""bench/gen_directory.py - a directory of N AD-like accounts and a certificate that maps
strongly to one of them, for the benchmarks (python3 stdlib + the openssl command).

    python3 bench/gen_directory.py --accounts 10000 --out DIR

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

The LDIF is deterministic for given --accounts and --seed; the certificate is not (fresh key,
random serial, the current time).
"""

import argparse
import base64
import datetime
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

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


def account_blocks(n_users, rng):
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
        out.append("\n".join(lines))
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
        ]))
    return out


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
    ap.add_argument("--seed", type=int, default=1, help="seed of the LDIF's random values")
    args = ap.parse_args()
    if not 1 <= args.accounts <= 99999:
        ap.error("--accounts must be 1..99999")
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
    blocks = demo_blocks(ca_der) + account_blocks(args.accounts, rng)
    header = (f"# strongmapd benchmark directory: examples/demo.ldif (slapd form) and "
              f"{args.accounts} users + {args.accounts // 20} computers under {BENCH_OU}.\n"
              f"# Generated by bench/gen_directory.py --accounts {args.accounts} "
              f"--seed {args.seed}.\n\n")
    ldif = os.path.join(args.out, "bench.ldif")
    with open(ldif + ".tmp", "w", encoding="utf-8") as f:
        f.write(header + "\n\n".join(blocks) + "\n")
    os.replace(ldif + ".tmp", ldif)

    name = f"u{i:05d}"
    pem, size = make_cert(args.out, name, f"{name}@{DNS_DOMAIN}", sid_text(RID_BASE + i))
    with open(os.path.join(args.out, "bench.pem"), "w", encoding="ascii") as f:
        f.write(pem)
    print(f"gen_directory: {ldif}: {len(blocks)} entries; {args.out}/bench.pem: {name}, "
          f"SID {sid_text(RID_BASE + i)}, {size} bytes DER")
    return 0


if __name__ == "__main__":
    sys.exit(main())
