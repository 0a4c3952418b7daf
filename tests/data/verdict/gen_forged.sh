#!/usr/bin/env bash
# Generates tests/data/verdict/forged_*.pem: certificates that name the committed test issuing
# CA (tests/data/certs/issuing_ca.pem, in the test directories' NTAuth store) as their issuer,
# its subject and its key identifier as AKI, but are signed by another key: what anyone can make
# to ask whether an account has a given SID or mapping. A DC cannot build a valid chain for
# them; the engine must deny them (issuer_signature_invalid) whatever they carry.
#   forged_alice_sid.pem  alice's UPN and SID (S-1-5-21-...-1105): allowed if the signature
#                         were not checked (the SID is strong)
#   forged_alice_ed25519.pem  alice's UPN and SID, signed by an Ed25519 key (an algorithm
#                         mbedTLS 2.28 cannot read): must not pass as "not checkable"
#   forged_erin_serial.pem  the serial of erin's strong X509:<I><SR> mapping (verdict.ldif.in,
#                         the demo directory), no UPN: allowed through the explicit mapping if
#                         it were not checked
#
# Needs bash, coreutils and openssl 3.0. Every run makes new keys. Usage:
# tests/data/verdict/gen_forged.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CA=$HERE/../certs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongmapd-forged-certs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
CA_CNF=$HERE/../../lib/ca.cnf
export SM_CA_DIR=$WORK
: >"$WORK/index.txt"

SUBJECT=$(openssl x509 -in "$CA/issuing_ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
SKI=$(openssl x509 -in "$CA/issuing_ca.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
# RFC 2253 order is the reverse of the encoding: openssl -subj wants the encoding order
SUBJ=$(python3 -c 'import sys; print("/" + "/".join(reversed(sys.argv[1].split(","))))' "$SUBJECT")

cat >"$WORK/ext.cnf" <<CNF
[forged_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = $SKI

[sid_alice]
other = IMPLICIT:0,SEQUENCE:on_alice
[on_alice]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:S-1-5-21-1004336348-1177238915-682003330-1105

[x_sid]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,1.3.6.1.4.1.311.20.2.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_alice

[x_serial]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,1.3.6.1.4.1.311.20.2.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/forger.key" 2>/dev/null
openssl req -new -config "$CA_CNF" -key "$WORK/forger.key" -subj "$SUBJ" -out "$WORK/forger.csr"
echo 01 >"$WORK/serial"
openssl ca -batch -config "$CA_CNF" -notext -preserveDN -selfsign -keyfile "$WORK/forger.key" \
    -startdate 20240101000000Z -enddate 20450101000000Z -extfile "$WORK/ext.cnf" \
    -extensions forged_ca -in "$WORK/forger.csr" -out "$WORK/forger.pem" 2>"$WORK/forger.log" ||
    { cat "$WORK/forger.log" >&2; exit 1; }

issue() { # issue NAME SERIAL SUBJECT SECTION
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/$1.key" 2>/dev/null
    openssl req -new -config "$CA_CNF" -key "$WORK/$1.key" -subj "$3" -out "$WORK/$1.csr"
    echo "$2" >"$WORK/serial"
    openssl ca -batch -config "$CA_CNF" -notext -preserveDN -utf8 \
        -cert "$WORK/forger.pem" -keyfile "$WORK/forger.key" \
        -startdate 20250101000000Z -enddate 20350101000000Z \
        -extfile "$WORK/ext.cnf" -extensions "$4" \
        -in "$WORK/$1.csr" -out "$HERE/$1.pem" 2>"$WORK/$1.log" || { cat "$WORK/$1.log" >&2; exit 1; }
}

# the same CA name and key identifier with an Ed25519 key
openssl genpkey -algorithm ED25519 -out "$WORK/forger_ed.key" 2>/dev/null
openssl req -new -config "$CA_CNF" -key "$WORK/forger_ed.key" -subj "$SUBJ" -out "$WORK/forger_ed.csr"
echo 02 >"$WORK/serial"
openssl ca -batch -config "$CA_CNF" -notext -preserveDN -selfsign -keyfile "$WORK/forger_ed.key" \
    -startdate 20240101000000Z -enddate 20450101000000Z -extfile "$WORK/ext.cnf" \
    -extensions forged_ca -in "$WORK/forger_ed.csr" -out "$WORK/forger_ed.pem" 2>"$WORK/forger_ed.log" ||
    { cat "$WORK/forger_ed.log" >&2; exit 1; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/ed_alice.key" 2>/dev/null
openssl req -new -config "$CA_CNF" -key "$WORK/ed_alice.key" -subj '/CN=alice@example.com' \
    -out "$WORK/ed_alice.csr"
echo 1A2B3C4D5E6F0203 >"$WORK/serial"
openssl ca -batch -config "$CA_CNF" -notext -preserveDN -utf8 \
    -cert "$WORK/forger_ed.pem" -keyfile "$WORK/forger_ed.key" \
    -startdate 20250101000000Z -enddate 20350101000000Z -extfile "$WORK/ext.cnf" -extensions x_sid \
    -in "$WORK/ed_alice.csr" -out "$HERE/forged_alice_ed25519.pem" 2>"$WORK/ed_alice.log" ||
    { cat "$WORK/ed_alice.log" >&2; exit 1; }

issue forged_alice_sid 1A2B3C4D5E6F0201 '/CN=alice@example.com' x_sid
issue forged_erin_serial 1A2B3C4D5E6F0001 '/DC=com/DC=example/OU=Users/CN=Mallory' x_serial
echo "wrote forged_alice_sid.pem, forged_alice_ed25519.pem and forged_erin_serial.pem to $HERE"
