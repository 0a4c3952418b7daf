#!/bin/sh
# PKCS#7 certs-only bundles (.p7b) of the demo certificates in examples/certs, made by openssl
# crl2pkcs7 as Windows' certificate export makes them (DER), and as PEM. tests/unit/test_pkcs7.c
# compares their certificates with examples/certs at test time: run this again when those change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
certs=$here/../../../examples/certs
cd "$here"
# the issuing CA first, then the user's certificate (the order of a chain export)
openssl crl2pkcs7 -nocrl -certfile "$certs/issuing-ca.pem" -certfile "$certs/alice-no-sid.pem" \
    -outform DER -out chain.p7b
openssl crl2pkcs7 -nocrl -certfile "$certs/alice-sid.pem" -out alice-sid.p7b.pem
openssl crl2pkcs7 -nocrl -outform DER -out empty.p7b
