#!/usr/bin/env bash
# Generates the PKCS#10 request fixtures in this directory (see README.md).
#
# Needs only bash, coreutils, python3 and openssl 3.0 (Debian 12). Every run makes new keys, so
# signatures and key hashes change; subjects and requested extensions do not. The accounts are
# those of tests/data/dir/verdict.ldif.in (alice 1105, bob 1106 disabled, mallory 1300, ws01$
# 1200). Tests compare with `openssl req -text` at test time rather than hard-code key values.
#
# Usage: tests/data/csr/gen.sh            (writes into the directory holding this script)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongmapd-csr.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out
mkdir -p "$OUT"

DOM=S-1-5-21-1004336348-1177238915-682003330
UPN_OID=1.3.6.1.4.1.311.20.2.3
SID_URI=tag:microsoft.com,2022-09-14:sid:

run() {
    if ! "$@" >"$WORK/log" 2>&1; then
        echo "gen.sh: command failed: $*" >&2
        cat "$WORK/log" >&2
        exit 1
    fi
}

# The request configuration: each fixture names its extension section with -reqexts.
CNF=$WORK/req.cnf
cat >"$CNF" <<EOF
[req]
distinguished_name = dn
attributes = attrs
prompt = no
string_mask = utf8only
[dn]
CN = unused
[attrs]
challengePassword = not-a-secret-fixture

[upn_alice]
subjectAltName = otherName:$UPN_OID;UTF8:alice@example.com
extendedKeyUsage = clientAuth
keyUsage = critical,digitalSignature,keyEncipherment

[upn_alice_sid_alice]
subjectAltName = otherName:$UPN_OID;UTF8:alice@example.com
extendedKeyUsage = clientAuth, 1.3.6.1.4.1.311.20.2.2
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_1105

[upn_alice_sid_mallory]
subjectAltName = otherName:$UPN_OID;UTF8:alice@example.com
extendedKeyUsage = clientAuth
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_1300

[upn_alice_uri_mallory]
subjectAltName = @san_uri_mallory
extendedKeyUsage = clientAuth
[san_uri_mallory]
# a section: the URI's comma would end an inline list
otherName.1 = $UPN_OID;UTF8:alice@example.com
URI.1 = ${SID_URI}$DOM-1300

[upn_mallory]
subjectAltName = otherName:$UPN_OID;UTF8:mallory@example.com
extendedKeyUsage = clientAuth

[sid_malformed]
subjectAltName = otherName:$UPN_OID;UTF8:alice@example.com
extendedKeyUsage = clientAuth
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_bad_text

[upn_bob_sid_bob]
subjectAltName = otherName:$UPN_OID;UTF8:bob@example.com
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_1106

[computer_ws01]
subjectAltName = DNS:ws01.example.com
extendedKeyUsage = clientAuth

[dns_other]
subjectAltName = DNS:ws01.example.com
extendedKeyUsage = clientAuth

[all_san]
subjectAltName = otherName:$UPN_OID;UTF8:alice@example.com, email:alice@example.com, DNS:alice.example.com, URI:https://example.com/alice, IP:192.0.2.7, IP:2001:db8::7, dirName:dir_sect, RID:1.2.3.4, otherName:1.3.6.1.4.1.99999.1;UTF8:other
extendedKeyUsage = clientAuth, 1.3.6.1.4.1.311.20.2.2, 1.3.6.1.5.2.3.4
keyUsage = critical,digitalSignature
basicConstraints = CA:FALSE
1.3.6.1.4.1.311.21.7 = ASN1:SEQUENCE:template_v2
1.3.6.1.4.1.311.20.2 = ASN1:BMPSTRING:User
[dir_sect]
O = Example
CN = Alice Dir

[many_san]
subjectAltName = @many

# ---- SID extension values (MS-WCCE 2.2.2.7.7.4)
[sid_1105]
other = IMPLICIT:0,SEQUENCE:on_1105
[on_1105]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$DOM-1105
[sid_1106]
other = IMPLICIT:0,SEQUENCE:on_1106
[on_1106]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$DOM-1106
[sid_1300]
other = IMPLICIT:0,SEQUENCE:on_1300
[on_1300]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$DOM-1300
[sid_bad_text]
other = IMPLICIT:0,SEQUENCE:on_bad_text
[on_bad_text]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:S-1-5-21-abc-1105

[template_v2]
oid = OID:1.3.6.1.4.1.311.21.8.1.2.3
major = INTEGER:100
minor = INTEGER:4

[many]
EOF
# 10,000 one-letter DNS names: 30 KB of SAN, far beyond SM_MAX_SAN (256), within SM_MAX_CERT_DER
for i in $(seq 1 10000); do echo "DNS.$i = a"; done >>"$CNF"

key() { # key FILE rsa|ec|ed25519
    case $2 in
        rsa) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
        ec) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
        ed25519) run openssl genpkey -algorithm ED25519 -out "$1" ;;
    esac
}

# req NAME KEYTYPE SUBJECT SECTION [extra openssl req args]
req() {
    local name=$1 kt=$2 subj=$3 sect=$4
    shift 4
    key "$WORK/$name.key" "$kt"
    run openssl req -new -config "$CNF" -key "$WORK/$name.key" -subj "$subj" -reqexts "$sect" \
        -utf8 "$@" -out "$OUT/$name.pem"
}

ALICE='/DC=com/DC=example/OU=Users/CN=Alice'
# rsa_upn carries a challengePassword: openssl writes the attributes section only without -subj,
# so its subject comes from the configuration
sed 's/^CN = unused$/0.DC = com\n1.DC = example\nOU = Users\nCN = Alice/' "$CNF" >"$WORK/alice.cnf"
key "$WORK/rsa_upn.key" rsa
run openssl req -new -config "$WORK/alice.cnf" -key "$WORK/rsa_upn.key" -reqexts upn_alice -utf8 \
    -out "$OUT/rsa_upn.pem"
req ec_upn_sid ec "$ALICE" upn_alice_sid_alice
req sid_other rsa "$ALICE" upn_alice_sid_mallory
req sid_uri_other rsa "$ALICE" upn_alice_uri_mallory
req upn_other rsa "$ALICE" upn_mallory
req sid_malformed rsa "$ALICE" sid_malformed
req disabled_bob rsa '/DC=com/DC=example/OU=Users/CN=Bob' upn_bob_sid_bob
req computer ec '/CN=ws01.example.com' computer_ws01
req dns_other ec "$ALICE" dns_other
req all_san rsa "$ALICE" all_san
req ed25519 ed25519 "$ALICE" upn_alice
req many_san ec '/CN=many' many_san

# no extensionRequest attribute at all (no -reqexts; the config's req section names none)
key "$WORK/no_ext.key" rsa
run openssl req -new -config "$CNF" -key "$WORK/no_ext.key" -subj "$ALICE" -out "$OUT/no_ext.pem"

# a bad self-signature: rsa_upn with the last byte of its signature flipped
python3 - "$OUT/rsa_upn.pem" "$OUT/bad_signature.pem" <<'PY'
import base64, sys
text = open(sys.argv[1]).read()
body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
der = bytearray(base64.b64decode(body))
der[-1] ^= 0x01
b64 = base64.b64encode(bytes(der)).decode()
lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(lines) +
                             "\n-----END CERTIFICATE REQUEST-----\n")
PY
# the same request as DER, as base64 and under the old "NEW CERTIFICATE REQUEST" label
run openssl req -in "$OUT/rsa_upn.pem" -outform DER -out "$OUT/rsa_upn.der"
base64 -w 76 "$OUT/rsa_upn.der" >"$OUT/rsa_upn.b64"
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' "$OUT/rsa_upn.pem" >"$OUT/rsa_upn_new.pem"

# checks: every request but bad_signature and ed25519 verifies with openssl
for f in "$OUT"/*.pem; do
    case $(basename "$f") in
        bad_signature.pem) # openssl 3.0 says so but exits 0
            openssl req -in "$f" -verify -noout 2>&1 | grep -q 'verify failure' ||
                { echo "gen.sh: bad_signature.pem verifies" >&2; exit 1; } ;;
        *) run openssl req -in "$f" -verify -noout ;;
    esac
done

rm -f "$HERE"/*.pem "$HERE"/*.der "$HERE"/*.b64
cp "$OUT"/* "$HERE"/
echo "gen.sh: wrote $(ls "$OUT" | wc -l) files into $HERE"
