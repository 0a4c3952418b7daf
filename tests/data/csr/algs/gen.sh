#!/usr/bin/env bash
# Generates the signature-algorithm fixtures in this directory (see README.md): one small request
# per key type and signature algorithm, to check lib/cert_sig.c (Nettle) against mbedTLS and
# openssl. Needs bash and openssl 3.0 (Debian 12). Every run makes new keys.
#
# Usage: tests/data/csr/algs/gen.sh       (writes into the directory holding this script)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongmapd-csr-algs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out
mkdir -p "$OUT"

run() {
    if ! "$@" >"$WORK/log" 2>&1; then
        echo "gen.sh: command failed: $*" >&2
        cat "$WORK/log" >&2
        exit 1
    fi
}

SUBJ=/CN=alice
SAN=subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3\;UTF8:alice@example.com

# req NAME KEYFILE [openssl req options]
req() {
    local name=$1 key=$2
    shift 2
    run openssl req -new -key "$key" -subj "$SUBJ" -addext "$SAN" "$@" -out "$OUT/$name.pem"
}

run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa2048.key"
run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$WORK/rsa3072.key"
run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 \
    -out "$WORK/rsa_e3.key"
for h in sha1 sha224 sha384 sha512; do
    req "rsa_$h" "$WORK/rsa2048.key" "-$h"
done
req rsa3072_sha256 "$WORK/rsa3072.key" -sha256
req rsa_e3_sha256 "$WORK/rsa_e3.key" -sha256
# RSASSA-PSS signatures by an rsaEncryption key (mbedTLS reads these)
for h in sha256:32 sha384:48 sha512:64 sha256:0 sha1:20; do
    req "rsa_pss_${h%%:*}_salt${h##*:}" "$WORK/rsa2048.key" "-${h%%:*}" \
        -sigopt rsa_padding_mode:pss -sigopt "rsa_pss_saltlen:${h##*:}"
done
req rsa_pss_sha256_mgf1_sha1 "$WORK/rsa2048.key" -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha1
# an id-RSASSA-PSS key: neither mbedTLS 2.28 nor lib/cert_sig.c reads it (not verified)
run openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$WORK/pss.key"
req rsa_pss_key "$WORK/pss.key" -sha256

# ECDSA
for c in P-256:sha256 P-256:sha1 P-256:sha512 P-224:sha224 P-384:sha384 P-521:sha512 \
    secp256k1:sha256 brainpoolP256r1:sha256; do
    curve=${c%%:*} h=${c##*:}
    run openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" \
        -pkeyopt ec_param_enc:named_curve -out "$WORK/$curve.key"
    req "ec_${curve}_$h" "$WORK/$curve.key" "-$h"
done

# EdDSA
for a in ED25519 ED448; do
    run openssl genpkey -algorithm $a -out "$WORK/$a.key"
    req "$(tr 'A-Z' 'a-z' <<<"$a")" "$WORK/$a.key"
done

for f in "$OUT"/*.pem; do
    run openssl req -in "$f" -verify -noout
done
rm -f "$HERE"/*.pem
cp "$OUT"/*.pem "$HERE"/
echo "gen.sh: wrote $(ls "$OUT" | wc -l) files into $HERE"
