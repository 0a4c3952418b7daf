#!/usr/bin/env python3
"""Generate the edge-case name fixtures in this directory (see README.md).

Every fixture is a small X.509 v3 certificate whose *subject* holds one unusual ASN.1
string type, byte sequence or attribute layout. The TBSCertificate is written byte for byte
here (so odd encodings need no placeholder patching), then signed with the checked-in
issuing CA key (tests/data/certs/issuing_ca.key, RSA, sha256WithRSAEncryption, via
`openssl dgst -sign`) and assembled; every signature is checked with `openssl dgst -verify`
against issuing_ca.pem's public key before anything is written. The issuer is copied
verbatim from issuing_ca.pem, so `openssl verify` can build the chain for every fixture
openssl can parse.

Needs python3 (standard library) and the `openssl` command. Writes `<case>.der` and
`manifest.tsv` into the directory holding this script; can be re-run any time (RSA
PKCS#1 v1.5 signatures are deterministic, so the output is byte-identical as long as the
issuing CA key is the same). Re-run it after tests/data/certs/gen.sh made a new CA key.

Usage: tests/data/edge/gen.py [--openssl PATH]
"""

import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CA_PEM = os.path.join(HERE, "..", "certs", "issuing_ca.pem")
CA_KEY = os.path.join(HERE, "..", "certs", "issuing_ca.key")

# ASN.1 universal tags used below
UTF8, NUMERIC, PRINTABLE, T61, IA5, VISIBLE, UNIVERSAL, BMP = 0x0C, 0x12, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E

CN, OU, SERIALNUMBER, EMAIL, DC = "2.5.4.3", "2.5.4.11", "2.5.4.5", "1.2.840.113549.1.9.1", "0.9.2342.19200300.100.1.25"

# name -> (serial, subject, what it is for). A subject is a list of RDNs in DER order; an RDN
# is a list of (attribute type OID, string tag, value bytes) written in the order given
# (mv3 is deliberately not DER-sorted).
CASES = {
    "univ": (0x1001, [[(CN, UNIVERSAL, bytes.fromhex("0001F6000000004100000042"))]],
             "UniversalString (UCS-4): U+1F600 (outside the BMP), 'A', 'B'"),
    "bmp_surr": (0x1002, [[(CN, BMP, bytes.fromhex("D83DDE000041"))]],
                 "BMPString holding a UTF-16 surrogate pair (U+1F600) then 'A'"),
    "bmp_lone_surr": (0x1003, [[(CN, BMP, bytes.fromhex("D83D0041"))]],
                      "BMPString with an unpaired high surrogate D83D then 'A'"),
    "empty_cn": (0x1004, [[(CN, UTF8, b"")]],
                 "commonName that is an empty UTF8String"),
    "numeric": (0x1005, [[(SERIALNUMBER, NUMERIC, b"12345")]],
                "NumericString (serialNumber=12345)"),
    "visible": (0x1006, [[(CN, VISIBLE, b"vis ible")]],
                "VisibleString (tag 26) commonName; openssl 3.0 cannot load it"),
    "ia5_high": (0x1007, [[(CN, IA5, bytes.fromhex("41E942"))]],
                 "IA5String with a byte above 0x7F (E9)"),
    "printable_bad": (0x1008, [[(CN, PRINTABLE, bytes.fromhex("41E942"))]],
                      "PrintableString with a byte above 0x7F (E9)"),
    "printable_at": (0x1009, [[(CN, PRINTABLE, b"a@b_c")]],
                     "PrintableString with '@' and '_' (outside the PrintableString set)"),
    "t61_c2": (0x100A, [[(CN, T61, bytes.fromhex("41C24142"))]],
               "T61String (TeletexString) with byte C2 (a T.61 non-spacing accent, Latin-1 'A^')"),
    "utf8_nul": (0x100B, [[(CN, UTF8, bytes.fromhex("41004200"))]],
                 "UTF8String with NUL bytes: 'A' NUL 'B' NUL"),
    "utf8_ctrl": (0x100C, [[(CN, UTF8, bytes.fromhex("410A421B43"))]],
                  "UTF8String with C0 controls LF and ESC"),
    "utf8_del": (0x100D, [[(CN, UTF8, bytes.fromhex("417F42"))]],
                 "UTF8String with DEL (7F)"),
    "utf8_c1": (0x100E, [[(CN, UTF8, bytes.fromhex("41C28542"))]],
                "UTF8String with the C1 control U+0085 (NEL)"),
    "utf8_bom": (0x100F, [[(CN, UTF8, bytes.fromhex("EFBBBF41"))]],
                 "UTF8String starting with a byte-order mark U+FEFF"),
    "utf8_nbsp_trail": (0x1010, [[(CN, UTF8, bytes.fromhex("41C2A0"))]],
                        "UTF8String ending in U+00A0 (no-break space, not escaped as a trailing space)"),
    "unknown_oid": (0x1011, [[("1.2.3.4.5", UTF8, b"v")]],
                    "attribute type 1.2.3.4.5 that nobody names (RFC 4514: 1.2.3.4.5=#0C0176)"),
    "ev": (0x1012, [[("1.3.6.1.4.1.311.60.2.1.3", PRINTABLE, b"DE")],
                    [("2.5.4.15", UTF8, b"Private Organization")],
                    [("2.5.4.97", UTF8, b"VATDE-123")],
                    [("2.5.4.17", UTF8, b"12345")],
                    [("2.5.4.46", PRINTABLE, b"q")],
                    [("2.5.4.65", UTF8, b"pn")]],
           "EV / eIDAS attributes: jurisdictionCountryName, businessCategory, "
           "organizationIdentifier, postalCode, dnQualifier, pseudonym"),
    "mv3": (0x1013, [[(CN, UTF8, b"b"), (CN, UTF8, b"a"), (OU, UTF8, b"c")]],
            "multi-valued RDN of three values CN=b + CN=a + OU=c, kept in that (non-DER-sorted) order"),
    "leading_hash_sp": (0x1014, [[(CN, UTF8, b"# x ")]],
                        "value with a leading '#' and a trailing space (both escaped in RFC 4514)"),
    "specials": (0x1015, [[(CN, UTF8, b'a"b<c>d;e+f,g=h\\i')]],
                 "value with every RFC 4514 special: \" < > ; + , = \\"),
    "only_space": (0x1016, [[(CN, UTF8, b"  ")]],
                   "value of two spaces (leading and trailing space escapes)"),
    "email_ia5": (0x1017, [[(EMAIL, IA5, b"a@b.c")]],
                  "emailAddress (PKCS#9) as IA5String"),
    "dc_ia5": (0x1018, [[(DC, IA5, b"com")], [(DC, IA5, b"ex")]],
               "two domainComponent RDNs as IA5String"),
    "cr_lf": (0x1019, [[(CN, UTF8, b"a\r\nb")]],
              "UTF8String with CR LF inside"),
    "oid_arc_999": (0x101A, [[("2.999.1", UTF8, b"v")]],
                    "attribute type 2.999.1: a first subidentifier (1079) of two bytes, above 80 "
                    "(strongmap's own OID-to-text must split it as 2.999)"),
}

SHA256_RSA = bytes.fromhex("300D06092A864886F70D01010B0500")  # AlgorithmIdentifier, NULL params
NOT_BEFORE, NOT_AFTER = b"250101000000Z", b"350101000000Z"   # UTCTime, like tests/data/certs
# SubjectPublicKeyInfo: EC P-256, the curve's base point G (a valid point; nobody needs the key)
SPKI = bytes.fromhex(
    "3059301306072A8648CE3D020106082A8648CE3D030107034200"
    "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
    "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")


# ---- DER --------------------------------------------------------------------------------

def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + length + content


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def integer(n):
    return tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def name(rdns):
    return tlv(0x30, b"".join(
        tlv(0x31, b"".join(tlv(0x30, oid(t) + tlv(tag, val)) for t, tag, val in rdn))
        for rdn in rdns))


def children(der):
    """The TLVs inside one constructed DER value (definite lengths only)."""
    hdr, content_len = header(der, 0)
    out, i, end = [], hdr, hdr + content_len
    while i < end:
        h, ln = header(der, i)
        out.append(der[i:i + h + ln])
        i += h + ln
    return out


def header(der, i):
    first = der[i + 1]
    if first < 0x80:
        return 2, first
    n = first & 0x7F
    return 2 + n, int.from_bytes(der[i + 2:i + 2 + n], "big")


# ---- openssl ----------------------------------------------------------------------------

def run(cmd, data=None):
    p = subprocess.run(cmd, input=data, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"gen.py: {' '.join(cmd)} failed: {p.stderr.decode('utf-8', 'replace').strip()}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--openssl", default="openssl")
    args = ap.parse_args()
    ossl = args.openssl

    pem = open(CA_PEM, encoding="ascii").read()
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    if not m:
        sys.exit(f"gen.py: no certificate in {CA_PEM}")
    ca_tbs = children(children(base64.b64decode("".join(m.group(1).split())))[0])
    if ca_tbs[0][0] != 0xA0:
        sys.exit("gen.py: issuing_ca.pem is not a v3 certificate")
    issuer = ca_tbs[5]  # version, serial, signature, issuer, validity, subject

    with tempfile.TemporaryDirectory(prefix="sm-edge-") as tmp:
        pub = os.path.join(tmp, "ca_pub.pem")
        sigfile = os.path.join(tmp, "sig")
        with open(pub, "wb") as f:
            f.write(run([ossl, "x509", "-in", CA_PEM, "-noout", "-pubkey"]))

        out = {}
        for case, (serial, subject, _) in CASES.items():
            tbs = tlv(0x30, b"".join([
                tlv(0xA0, integer(2)),                       # version v3
                integer(serial),
                SHA256_RSA,
                issuer,
                tlv(0x30, tlv(0x17, NOT_BEFORE) + tlv(0x17, NOT_AFTER)),
                name(subject),
                SPKI,
            ]))
            sig = run([ossl, "dgst", "-sha256", "-sign", CA_KEY], tbs)
            with open(sigfile, "wb") as f:
                f.write(sig)
            res = run([ossl, "dgst", "-sha256", "-verify", pub, "-signature", sigfile], tbs)
            if b"Verified OK" not in res:
                sys.exit(f"gen.py: {case}: signature did not verify: {res!r}")
            out[case] = tlv(0x30, tbs + SHA256_RSA + tlv(0x03, b"\x00" + sig))

    for case, der in out.items():
        with open(os.path.join(HERE, case + ".der"), "wb") as f:
            f.write(der)
    with open(os.path.join(HERE, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tserial_hex\tdescription\n")
        for case, (serial, _, desc) in CASES.items():
            f.write(f"{case}.der\t{integer(serial)[2:].hex().upper()}\t{desc}\n")
    print(f"gen.py: wrote {len(out)} certificates and manifest.tsv to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
