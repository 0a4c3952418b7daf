#!/usr/bin/env bash
# Generates the certificates of tests/data/verdict/: cases of the verdict rules that the
# general fixtures in tests/data/certs/ do not cover (implicit UPN, computer host names, Samba's
# name check, a SID of another account under the right UPN, an offline template, 256 DNS names).
# They are issued by the committed test issuing CA (tests/data/certs/issuing_ca.pem/.key), so the
# general fixtures need not change; tests/data/dir/verdict.ldif.in holds the accounts.
#
# Needs bash, coreutils and openssl 3.0. Every run makes new keys (thumbprints change; serials,
# names, dates and extensions do not). Usage: tests/data/verdict/gen.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CA=$HERE/../certs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongmapd-verdict-certs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# the tests' one CA configuration, its CA database in $SM_CA_DIR; the extensions in ext.cnf
CA_CNF=$HERE/../../lib/ca.cnf
export SM_CA_DIR=$WORK
: >"$WORK/index.txt"

DOM=S-1-5-21-1004336348-1177238915-682003330
UPN_OID=1.3.6.1.4.1.311.20.2.3

cat >"$WORK/ext.cnf" <<CNF
[sid_1110]
other = IMPLICIT:0,SEQUENCE:on_1110
[on_1110]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$DOM-1110
[sid_1106]
other = IMPLICIT:0,SEQUENCE:on_1106
[on_1106]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$DOM-1106

[san_ivan]
otherName.1 = $UPN_OID;UTF8:ivan@example.com
[san_alice]
otherName.1 = $UPN_OID;UTF8:alice@example.com
[san_dc01]
DNS.1 = dc01.example.com
[san_two_dns]
DNS.1 = ws03.example.com
DNS.2 = ws01.example.com
[tmpl_offline]
template = OID:1.3.6.1.4.1.311.21.8.7.7.7
major = INTEGER:100
minor = INTEGER:1

[base]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,1.3.6.1.4.1.311.20.2.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[x_implicit_upn]
.include = base
subjectAltName = @san_ivan
[x_implicit_upn_sid]
subjectAltName = @san_ivan
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_1110
[x_dc01]
subjectAltName = @san_dc01
extendedKeyUsage = clientAuth,serverAuth
[x_two_dns]
subjectAltName = @san_two_dns
extendedKeyUsage = clientAuth,serverAuth
[x_alice_sid_other]
subjectAltName = @san_alice
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_1106
[x_offline_template]
subjectAltName = @san_alice
1.3.6.1.4.1.311.21.7 = ASN1:SEQUENCE:tmpl_offline
[x_many_dns]
subjectAltName = @san_many
[san_kate]
otherName.1 = $UPN_OID;UTF8:kate@example.com
[x_whfb]
subjectAltName = @san_kate
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF

# every section gets the common extensions (openssl's .include is for files, not sections)
python3 - "$WORK/ext.cnf" <<'PY'
import sys
p = sys.argv[1]
text = open(p).read().replace(".include = base\n", "")
common = ("basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
          "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n")
out = []
for block in text.split("\n["):
    head = block.split("]", 1)[0]
    if head == "x_whfb":  # self-signed, as a Windows Hello for Business client makes it
        block = block.rstrip("\n") + "\nbasicConstraints = CA:FALSE\nsubjectKeyIdentifier = hash\n"
    elif head.startswith("x_"):
        if "extendedKeyUsage" not in block:
            block = block.rstrip("\n") + "\nextendedKeyUsage = clientAuth,1.3.6.1.4.1.311.20.2.2\n"
        block = block.rstrip("\n") + "\n" + common
    out.append(block)
text = "\n[".join(out)
text += "\n[san_many]\n" + "".join(f"DNS.{i} = host{i:03d}.example.com\n" for i in range(1, 257))
open(p, "w").write(text)
PY

issue() { # issue NAME SERIAL SUBJECT SECTION
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/$1.key" 2>/dev/null
    openssl req -new -config "$CA_CNF" -key "$WORK/$1.key" -subj "$3" -out "$WORK/$1.csr"
    echo "$2" >"$WORK/serial"
    openssl ca -batch -config "$CA_CNF" -notext -preserveDN -utf8 \
        -cert "$CA/issuing_ca.pem" -keyfile "$CA/issuing_ca.key" \
        -startdate 20250101000000Z -enddate 20350101000000Z \
        -extfile "$WORK/ext.cnf" -extensions "$4" \
        -in "$WORK/$1.csr" -out "$HERE/$1.pem" 2>"$WORK/$1.log" || { cat "$WORK/$1.log" >&2; exit 1; }
}

# whfb.pem: a self-signed key trust certificate (Windows Hello for Business) for kate, and the
# msDS-KeyCredentialLink values holding its key, as Windows (BCRYPT key material) and
# samba-tool (SubjectPublicKeyInfo) write them; verdict.ldif.in's @KEYCRED_*@ take them.
whfb() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/whfb.key" 2>/dev/null
    openssl req -new -config "$CA_CNF" -key "$WORK/whfb.key" -subj '/CN=kate@example.com' \
        -out "$WORK/whfb.csr"
    echo 1A2B3C4D5E6F0108 >"$WORK/serial"
    openssl ca -batch -config "$CA_CNF" -notext -preserveDN -utf8 -selfsign \
        -keyfile "$WORK/whfb.key" -startdate 20250101000000Z -enddate 20550101000000Z \
        -extfile "$WORK/ext.cnf" -extensions x_whfb -in "$WORK/whfb.csr" -out "$HERE/whfb.pem" \
        2>"$WORK/whfb.log" ||
        { cat "$WORK/whfb.log" >&2; exit 1; }
    local owner="CN=kate,CN=Users,DC=example,DC=com"
    python3 "$HERE/../../tools/keycred.py" make --owner "$owner" --created 2025-01-02T08:00:00Z \
        --device-id 6d1e6c1a-7f43-4b8e-9a3e-2f0c5d7e8a91 "$HERE/whfb.pem" >"$HERE/whfb_keycred_bcrypt.txt"
    python3 "$HERE/../../tools/keycred.py" make --owner "$owner" --created 2025-01-02T08:00:00Z \
        --no-device-id --material spki "$HERE/whfb.pem" >"$HERE/whfb_keycred_spki.txt"
}
whfb

issue implicit_upn 1A2B3C4D5E6F0101 '/CN=ivan@example.com' x_implicit_upn
issue implicit_upn_sid 1A2B3C4D5E6F0102 '/CN=ivan@example.com' x_implicit_upn_sid
issue computer_dc01 1A2B3C4D5E6F0103 '/CN=dc01.example.com' x_dc01
issue computer_two_dns 1A2B3C4D5E6F0104 '/CN=ws03.example.com' x_two_dns
issue alice_sid_other 1A2B3C4D5E6F0105 '/CN=alice@example.com' x_alice_sid_other
issue offline_template 1A2B3C4D5E6F0106 '/CN=Alice Offline' x_offline_template
issue many_dns 1A2B3C4D5E6F0107 '/CN=host001.example.com' x_many_dns
echo "wrote $(ls "$HERE"/*.pem | wc -l) certificates to $HERE"
