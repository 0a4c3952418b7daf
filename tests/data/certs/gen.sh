#!/usr/bin/env bash
# Generates the X.509 test fixtures in this directory (see README.md and manifest.tsv).
#
# Needs only bash, coreutils and openssl 3.0 (Debian 12). Every run makes new keys, so
# signatures, SKIs and thumbprints change; serials, names, dates and extensions do not.
#
# Usage: tests/data/certs/gen.sh            (writes into the directory holding this script)
#
# OpenSSL 3.0 has no -not_before/-not_after on `x509`/`req`, so every certificate is issued with
# `openssl ca -startdate/-enddate` (explicit serial via the CA's serial file, -preserveDN so the
# subject stays exactly as built). Tricks used:
#   * `stbl_section` (OpenSSL's ASN1 string-table config module) in a req config lifts the
#     64-character limit on commonName (long_cn) and forces BMPString for chosen attributes.
#   * `string_mask = default` makes openssl pick T61String for Latin-1-only values and
#     BMPString for values with characters above U+00FF (teletex, bmp_names).
#   * Odd extension encodings are written with the `ASN1:` generator syntax of x509v3 configs.
#   * OpenSSL 3.0 adds subjectKeyIdentifier by default; no_ski says `subjectKeyIdentifier = none`,
#     and v1_cert is issued with no extension section at all (openssl then writes version 1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongmapd-certs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out
LOG=$WORK/log
mkdir -p "$OUT" "$WORK/ca" "$WORK/keys" "$WORK/csr"
# the tests' one CA configuration (openssl req's utf8only requests and openssl ca), its CA
# database in $SM_CA_DIR; the leaves' extension sections are in $EXT (below)
CA_CNF=$HERE/../../lib/ca.cnf
export SM_CA_DIR=$WORK/ca
: >"$SM_CA_DIR/index.txt"
: >"$LOG"

SID_1105=S-1-5-21-1004336348-1177238915-682003330-1105
SID_1106=S-1-5-21-1004336348-1177238915-682003330-1106
SID_1200=S-1-5-21-1004336348-1177238915-682003330-1200
SID_1105_NONCANON=S-1-5-21-01004336348-1177238915-682003330-1105
SID_URI_PREFIX=tag:microsoft.com,2022-09-14:sid:
UPN_OID=1.3.6.1.4.1.311.20.2.3

START=20250101000000Z
END=20350101000000Z

run() {
    echo "+ $*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        echo "gen.sh: command failed: $*" >&2
        tail -n 25 "$LOG" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- request configs
# utf8only (req=utf8, the default): $CA_CNF's; every string attribute except DC (IA5) and C
# (Printable) becomes UTF8String.

# default mask: PrintableString when possible, else T61String (Latin-1), else BMPString.
cat >"$WORK/req_default.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
string_mask = default
[dn]
CN = unused
EOF

# BMPString forced for O and OU even when the value is plain ASCII; CN follows the default mask
# (so a CN with a character above U+00FF becomes BMPString too).
cat >"$WORK/req_bmp.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
stbl_section = stbl
[stbl]
organizationName = min:1,max:64,mask:BMPSTRING,flags:nomask
organizationalUnitName = min:1,max:64,mask:BMPSTRING,flags:nomask
[req]
distinguished_name = dn
prompt = no
string_mask = default
[dn]
CN = unused
EOF

# commonName allowed up to 1000 characters (RFC 5280's ub-common-name is 64).
cat >"$WORK/req_long.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
stbl_section = stbl
[stbl]
commonName = min:1,max:1000,mask:UTF8STRING,flags:nomask
[req]
distinguished_name = dn
prompt = no
string_mask = utf8only
[dn]
CN = unused
EOF

# ---------------------------------------------------------------- leaf extensions
# (the CAs' sections, ca_ext and issuing_ca_ext, are $CA_CNF's)
EXT=$WORK/ext.cnf
cat >"$EXT" <<EOF
# ---- SID extension values (MS-WCCE 2.2.2.7.7.4; docs/mapping-rules.md 2.5)
[sid_1105]
other = IMPLICIT:0,SEQUENCE:on_1105
[sid_1106]
other = IMPLICIT:0,SEQUENCE:on_1106
[sid_1200]
other = IMPLICIT:0,SEQUENCE:on_1200
[on_1105]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$SID_1105
[on_1106]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$SID_1106
[on_1200]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$SID_1200

[sid_bad_oid_v]
other = IMPLICIT:0,SEQUENCE:on_bad_oid
[on_bad_oid]
typeid = OID:1.3.6.1.4.1.311.25.2.2
value = EXPLICIT:0,OCTETSTRING:$SID_1105

[sid_two_v]
other1 = IMPLICIT:0,SEQUENCE:on_1105
other2 = IMPLICIT:0,SEQUENCE:on_1106

[sid_not_octet_v]
other = IMPLICIT:0,SEQUENCE:on_not_octet
[on_not_octet]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,UTF8String:$SID_1105

[sid_bad_text_v]
other = IMPLICIT:0,SEQUENCE:on_bad_text
[on_bad_text]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:S-1-5-21-abc-1105

# a section with no values generates an empty SEQUENCE (30 00)
[sid_empty_v]

[sid_empty_string_v]
other = IMPLICIT:0,SEQUENCE:on_empty_string
[on_empty_string]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:

[sid_noncanon_v]
other = IMPLICIT:0,SEQUENCE:on_noncanon
[on_noncanon]
typeid = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0,OCTETSTRING:$SID_1105_NONCANON

# ---- subjectAltName sections
[san_upn]
otherName.1 = $UPN_OID;UTF8:alice@example.com

[san_upn_uri]
otherName.1 = $UPN_OID;UTF8:alice@example.com
URI.1 = $SID_URI_PREFIX$SID_1105

[san_upn_uri_1106]
otherName.1 = $UPN_OID;UTF8:alice@example.com
URI.1 = $SID_URI_PREFIX$SID_1106

[san_upn_uri_two]
otherName.1 = $UPN_OID;UTF8:alice@example.com
URI.1 = $SID_URI_PREFIX$SID_1105
URI.2 = $SID_URI_PREFIX$SID_1106

[san_upn_uri_bad]
otherName.1 = $UPN_OID;UTF8:alice@example.com
URI.1 = ${SID_URI_PREFIX}S-1-5-21-xyz

[san_bob]
otherName.1 = $UPN_OID;UTF8:bob@example.com

[san_carol]
otherName.1 = $UPN_OID;UTF8:carol@example.com

[san_computer]
DNS.1 = ws01.example.com

[san_all]
otherName.1 = $UPN_OID;UTF8:alice@example.com
otherName.2 = 1.3.6.1.4.1.311.25.1;FORMAT:HEX,OCTETSTRING:00112233445566778899AABBCCDDEEFF
email.1 = alice@example.com
email.2 = a.smith@example.com
DNS.1 = alice-laptop.example.com
URI.1 = https://example.com/x
IP.1 = 192.0.2.7
IP.2 = 2001:db8::7
dirName.1 = san_all_dn
RID.1 = 1.2.3.4
[san_all_dn]
CN = DirName Entry
O = Example

# ---- template fixture values
[tmpl_v2]
template = OID:1.3.6.1.4.1.311.21.8.1.2.3
major = INTEGER:100
minor = INTEGER:4
EOF

# ext SECTION [key=value ...]: a leaf extension section. The defaults below apply unless a
# key=value argument overrides them; an empty value drops the line. Unknown keys are appended
# in argument order.
ext() {
    local name=$1
    shift
    local -A val=(
        [basicConstraints]="CA:FALSE"
        [keyUsage]="critical,digitalSignature,keyEncipherment"
        [extendedKeyUsage]="clientAuth,1.3.6.1.4.1.311.20.2.2"
        [subjectAltName]="@san_upn"
        [subjectKeyIdentifier]="hash"
        [authorityKeyIdentifier]="keyid:always"
        [1.3.6.1.4.1.311.25.2]="ASN1:SEQUENCE:sid_1105"
    )
    local -a order=(basicConstraints keyUsage extendedKeyUsage subjectAltName
        subjectKeyIdentifier authorityKeyIdentifier 1.3.6.1.4.1.311.25.2)
    local kv k
    for kv in "$@"; do
        k=${kv%%=*}
        [[ -v "val[$k]" ]] || order+=("$k")
        val[$k]=${kv#*=}
    done
    {
        printf '\n[%s]\n' "$name"
        for k in "${order[@]}"; do
            if [[ -n "${val[$k]}" ]]; then printf '%s = %s\n' "$k" "${val[$k]}"; fi
        done
    } >>"$EXT"
}

# ---------------------------------------------------------------- keys, requests, issuing
newkey() { # newkey FILE TYPE
    case $2 in
        rsa) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
        ec256) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
        ec384) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
        ed25519) run openssl genpkey -algorithm ED25519 -out "$1" ;;
        pss) run openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
        *) echo "unknown key type $2" >&2; exit 1 ;;
    esac
}

MANIFEST=$WORK/manifest.rows

der_serial() { # DER INTEGER content of a certificate's serial, upper-case hex, with sign byte
    local s
    s=$(openssl x509 -noout -serial -in "$1")
    s=${s#serial=}
    ((${#s} % 2)) && s=0$s
    case ${s:0:1} in [89A-Fa-f]) s=00$s ;; esac
    printf '%s' "${s^^}"
}

row() { # row FILE CERT SID_EXT SID_URI MBEDTLS DESCRIPTION
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(der_serial "$2")" "$3" "$4" "$5" "$6" >>"$MANIFEST"
}

# issue NAME SERIAL SUBJECT EXTSECTION|- [key=rsa] [req=utf8] [start=] [end=] [signer=issuing|self]
#       [sigopt=n:v]...
# Writes $OUT/NAME.pem (and $WORK/keys/NAME.key).
issue() {
    local name=$1 serial=$2 subj=$3 sect=$4
    shift 4
    local key=rsa req=utf8 start=$START end=$END signer=issuing
    local -a extra=()
    local kv
    for kv in "$@"; do
        case $kv in
            key=*) key=${kv#key=} ;;
            req=*) req=${kv#req=} ;;
            start=*) start=${kv#start=} ;;
            end=*) end=${kv#end=} ;;
            signer=*) signer=${kv#signer=} ;;
            sigopt=*) extra+=(-sigopt "${kv#sigopt=}") ;;
            *) echo "issue: bad option $kv" >&2; exit 1 ;;
        esac
    done
    local k=$WORK/keys/$name.key csr=$WORK/csr/$name.csr reqcnf=$WORK/req_$req.cnf
    [[ $req != utf8 ]] || reqcnf=$CA_CNF
    newkey "$k" "$key"
    run openssl req -new -config "$reqcnf" -key "$k" -utf8 -multivalue-rdn \
        -subj "$subj" -out "$csr"
    echo "$serial" >"$SM_CA_DIR/serial"
    local -a sign
    case $signer in
        issuing) sign=(-cert "$WORK/keys/issuing_ca.pem" -keyfile "$WORK/keys/issuing_ca.key") ;;
        root) sign=(-cert "$WORK/keys/root_ca.pem" -keyfile "$WORK/keys/root_ca.key") ;;
        self) sign=(-selfsign -keyfile "$k") ;;
        *) echo "issue: bad signer $signer" >&2; exit 1 ;;
    esac
    [[ $sect != - ]] && sign+=(-extfile "$EXT" -extensions "$sect")
    run openssl ca -batch -config "$CA_CNF" -notext -preserveDN -utf8 -multivalue-rdn \
        -startdate "$start" -enddate "$end" -in "$csr" -out "$OUT/$name.pem" \
        "${sign[@]}" ${extra[@]+"${extra[@]}"}
}

# ---------------------------------------------------------------- extension sections
ext x_sid_ext
ext x_sid_uri 1.3.6.1.4.1.311.25.2= subjectAltName=@san_upn_uri
ext x_sid_both_agree subjectAltName=@san_upn_uri
ext x_sid_both_conflict subjectAltName=@san_upn_uri_1106
ext x_sid_bad_oid 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_bad_oid_v
ext x_sid_two 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_two_v
ext x_sid_not_octet 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_not_octet_v
ext x_sid_bad_text 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_bad_text_v
ext x_sid_empty 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_empty_v
ext x_sid_empty_string 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_empty_string_v
ext x_sid_critical 1.3.6.1.4.1.311.25.2=critical,ASN1:SEQUENCE:sid_1105
ext x_sid_uri_two 1.3.6.1.4.1.311.25.2= subjectAltName=@san_upn_uri_two
ext x_sid_uri_bad 1.3.6.1.4.1.311.25.2= subjectAltName=@san_upn_uri_bad
ext x_sid_noncanonical 1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_noncanon_v
ext x_upn_only 1.3.6.1.4.1.311.25.2=
ext x_computer extendedKeyUsage=clientAuth,serverAuth subjectAltName=@san_computer \
    1.3.6.1.4.1.311.25.2=ASN1:SEQUENCE:sid_1200
ext x_bob subjectAltName=@san_bob 1.3.6.1.4.1.311.25.2=
ext x_no_san subjectAltName= 1.3.6.1.4.1.311.25.2=
ext x_no_ski subjectKeyIdentifier=none
ext x_sig_only keyUsage=critical,digitalSignature
ext x_unknown_critical "1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:unknown critical extension"
ext x_empty_subject subjectAltName=critical,@san_carol 1.3.6.1.4.1.311.25.2=
ext x_eku_server_only extendedKeyUsage=serverAuth
ext x_no_eku extendedKeyUsage=
ext x_eku_any extendedKeyUsage=anyExtendedKeyUsage
ext x_all_san subjectAltName=@san_all
ext x_template 1.3.6.1.4.1.311.21.7=ASN1:SEQUENCE:tmpl_v2 1.3.6.1.4.1.311.20.2=ASN1:BMPSTRING:User \
    crlDistributionPoints=URI:http://pki.example.com/ca.crl \
    "authorityInfoAccess=caIssuers;URI:http://pki.example.com/ca.crt,OCSP;URI:http://ocsp.example.com"

# ---------------------------------------------------------------- CAs
newkey "$WORK/keys/root_ca.key" rsa
run openssl req -new -config "$CA_CNF" -key "$WORK/keys/root_ca.key" \
    -subj '/DC=com/DC=example/CN=Example Root CA' -out "$WORK/csr/root_ca.csr"
echo 01 >"$SM_CA_DIR/serial"
run openssl ca -batch -config "$CA_CNF" -notext -preserveDN -selfsign \
    -keyfile "$WORK/keys/root_ca.key" -startdate 20200101000000Z -enddate 21200101000000Z \
    -extensions ca_ext -in "$WORK/csr/root_ca.csr" -out "$WORK/keys/root_ca.pem"

newkey "$WORK/keys/issuing_ca.key" rsa
run openssl req -new -config "$CA_CNF" -key "$WORK/keys/issuing_ca.key" \
    -subj '/DC=com/DC=example/CN=Example Issuing CA' -out "$WORK/csr/issuing_ca.csr"
echo 02 >"$SM_CA_DIR/serial"
run openssl ca -batch -config "$CA_CNF" -notext -preserveDN \
    -cert "$WORK/keys/root_ca.pem" -keyfile "$WORK/keys/root_ca.key" \
    -startdate 20200101000000Z -enddate 21100101000000Z \
    -extensions issuing_ca_ext -in "$WORK/csr/issuing_ca.csr" -out "$WORK/keys/issuing_ca.pem"

cp "$WORK/keys/root_ca.pem" "$WORK/keys/root_ca.key" "$WORK/keys/issuing_ca.pem" \
    "$WORK/keys/issuing_ca.key" "$OUT/"
cp "$WORK/keys/issuing_ca.pem" "$OUT/ca_cert.pem"

# ---------------------------------------------------------------- leaves
ALICE='/DC=com/DC=example/OU=Users/CN=Alice'

issue sid_ext 1A2B3C4D5E6F0001 "$ALICE" x_sid_ext
issue sid_uri 1A2B3C4D5E6F0002 "$ALICE" x_sid_uri
issue sid_both_agree 1A2B3C4D5E6F0003 "$ALICE" x_sid_both_agree
issue sid_both_conflict 1A2B3C4D5E6F0004 "$ALICE" x_sid_both_conflict
issue sid_bad_oid 1A2B3C4D5E6F0005 "$ALICE" x_sid_bad_oid
issue sid_two 1A2B3C4D5E6F0006 "$ALICE" x_sid_two
issue sid_not_octet 1A2B3C4D5E6F0007 "$ALICE" x_sid_not_octet
issue sid_bad_text 1A2B3C4D5E6F0008 "$ALICE" x_sid_bad_text
issue sid_empty 1A2B3C4D5E6F0009 "$ALICE" x_sid_empty
issue sid_empty_string 1A2B3C4D5E6F000A "$ALICE" x_sid_empty_string
issue sid_critical 1A2B3C4D5E6F000B "$ALICE" x_sid_critical
issue sid_uri_two 1A2B3C4D5E6F000C "$ALICE" x_sid_uri_two
issue sid_uri_bad 1A2B3C4D5E6F000D "$ALICE" x_sid_uri_bad
issue sid_noncanonical 1A2B3C4D5E6F000E "$ALICE" x_sid_noncanonical
issue upn_only 1A2B3C4D5E6F0010 '/CN=alice@example.com' x_upn_only
issue computer_dns 1A2B3C4D5E6F0011 '/CN=ws01.example.com' x_computer
issue multivalue_rdn 1A2B3C4D5E6F0012 '/DC=com/DC=example/OU=Users/CN=Bob+UID=bob' x_bob
issue quotes 1A2B3C4D5E6F0013 \
    '/DC=com/DC=example/O=#Hash Org/OU= Sales Team /L=Back\\slash City/CN=Jörg, "Jr" \+ Co;<x>=#' \
    x_sid_ext
issue utf8_names 1A2B3C4D5E6F0014 '/DC=com/DC=example/O=Müller GmbH/OU=Users/CN=Zoë Ñandú 東京' \
    x_sid_ext
issue bmp_names 1A2B3C4D5E6F0015 '/DC=com/DC=example/O=Example BMP Org/OU=Ωmega Team/CN=Zoë Ω 東京' \
    x_sid_ext req=bmp
issue teletex 1A2B3C4D5E6F0016 '/DC=com/DC=example/O=Example/CN=Renée Teletex' x_sid_ext req=default
issue serial_high_bit 8F1E2D3C4B5A69788796A5B4C3D2E1F0 "$ALICE" x_sid_ext
issue kb_serial 2B0000000011AC0000000012 "$ALICE" x_sid_ext
issue no_ski 1A2B3C4D5E6F0017 "$ALICE" x_no_ski
issue ec_key 1A2B3C4D5E6F0018 "$ALICE" x_sig_only key=ec256
issue ec_p384 1A2B3C4D5E6F0019 "$ALICE" x_sig_only key=ec384
issue unknown_critical 1A2B3C4D5E6F001A "$ALICE" x_unknown_critical
issue ed25519 1A2B3C4D5E6F001B '/DC=com/DC=example/OU=Users/CN=Alice Ed25519' x_sig_only \
    key=ed25519 signer=self
issue rsa_pss 1A2B3C4D5E6F001C "$ALICE" x_sig_only key=pss \
    sigopt=rsa_padding_mode:pss sigopt=rsa_pss_saltlen:digest sigopt=rsa_mgf1_md:sha256
LONG_CN=$(for _ in {1..30}; do printf 0123456789; done)
issue long_cn 1A2B3C4D5E6F001D "/DC=com/DC=example/OU=Users/CN=$LONG_CN" x_sid_ext req=long
issue empty_subject 1A2B3C4D5E6F001E '/' x_empty_subject
issue trailing_garbage 1A2B3C4D5E6F001F "$ALICE" x_sid_ext
issue expired 1A2B3C4D5E6F0020 "$ALICE" x_sid_ext start=20230101000000Z end=20240101000000Z
issue not_yet_valid 1A2B3C4D5E6F0021 "$ALICE" x_sid_ext start=20990101000000Z end=21090101000000Z
issue eku_server_only 1A2B3C4D5E6F0022 "$ALICE" x_eku_server_only
issue no_eku 1A2B3C4D5E6F0023 "$ALICE" x_no_eku
issue eku_any 1A2B3C4D5E6F0024 "$ALICE" x_eku_any
issue all_san 1A2B3C4D5E6F0025 "$ALICE" x_all_san
issue template 1A2B3C4D5E6F0026 "$ALICE" x_template
issue v1_cert 1A2B3C4D5E6F0027 '/DC=com/DC=example/OU=Users/CN=Alice V1' -

# ---------------------------------------------------------------- derived files
run openssl x509 -in "$OUT/sid_ext.pem" -outform DER -out "$OUT/sid_ext.der"
{ openssl base64 -A -in "$OUT/sid_ext.der"; echo; } >"$OUT/sid_ext.b64"

# trailing_garbage.der: DER certificate then the 8 bytes "GARBAGE\n";
# trailing_garbage.pem: PEM certificate then junk text (no further PEM header).
run openssl x509 -in "$OUT/trailing_garbage.pem" -outform DER -out "$WORK/tg.der"
{ cat "$WORK/tg.der"; printf 'GARBAGE\n'; } >"$OUT/trailing_garbage.der"
run openssl x509 -in "$OUT/trailing_garbage.pem" -out "$WORK/tg.pem"
{
    cat "$WORK/tg.pem"
    printf 'this line is junk after the certificate, not base64: !@#$%%^&*()\n'
    printf 'GARBAGE\n'
} >"$OUT/trailing_garbage.pem"

# chain.pem: sid_ext leaf, issuing CA, root CA, with text before, between and after.
nameline() { openssl x509 -noout "-$1" -nameopt compat -in "$2"; }
{
    echo "Certificate chain for alice@example.com (leaf, issuing CA, root CA)"
    echo "Bag Attributes"
    echo "    localKeyID: 01 00 00 00"
    echo "    friendlyName: alice@example.com"
    nameline subject "$OUT/sid_ext.pem"
    nameline issuer "$OUT/sid_ext.pem"
    cat "$OUT/sid_ext.pem"
    echo
    openssl x509 -in "$OUT/issuing_ca.pem" -text
    echo "Bag Attributes: <No Attributes>"
    nameline subject "$OUT/root_ca.pem"
    nameline issuer "$OUT/root_ca.pem"
    cat "$OUT/root_ca.pem"
    echo "-- end of chain --"
} >"$OUT/chain.pem"

# ---------------------------------------------------------------- self-checks
CHAIN_OPTS=(-CAfile "$OUT/root_ca.pem" -untrusted "$OUT/issuing_ca.pem" -attime 1893456000) # 2030-01-01
for f in "$OUT"/*.pem; do
    case $(basename "$f") in
        ed25519.pem | expired.pem | not_yet_valid.pem | chain.pem | *_ca.pem | ca_cert.pem | \
            unknown_critical.pem | sid_critical.pem | eku_server_only.pem | no_eku.pem | eku_any.pem) ;;
        *) run openssl verify -purpose sslclient "${CHAIN_OPTS[@]}" "$f" ;;
    esac
done
run openssl verify -ignore_critical "${CHAIN_OPTS[@]}" "$OUT/unknown_critical.pem" "$OUT/sid_critical.pem"
run openssl verify "${CHAIN_OPTS[@]}" "$OUT/eku_server_only.pem" "$OUT/no_eku.pem" "$OUT/eku_any.pem"
run openssl verify -CAfile "$OUT/ed25519.pem" "$OUT/ed25519.pem"
run openssl verify -CAfile "$OUT/root_ca.pem" -untrusted "$OUT/issuing_ca.pem" \
    -attime 1704067100 "$OUT/expired.pem"                                   # 2023-12-31
run openssl verify -CAfile "$OUT/root_ca.pem" -untrusted "$OUT/issuing_ca.pem" \
    -attime 4102444900 "$OUT/not_yet_valid.pem"                             # 2100-01-01

check() { # check DESCRIPTION COMMAND...: fail unless the command succeeds
    local what=$1
    shift
    if ! "$@"; then
        echo "gen.sh: self-check failed: $what" >&2
        exit 1
    fi
}
has() { [[ $1 == *"$2"* ]]; }
check "high-bit serial" has "$(openssl x509 -noout -serial -in "$OUT/serial_high_bit.pem")" \
    serial=8F1E2D3C4B5A69788796A5B4C3D2E1F0
check "300-byte CN" has "$(openssl x509 -in "$OUT/long_cn.pem" -noout -subject -nameopt RFC2253)" \
    "CN=$LONG_CN,"
check "LONG_CN length" test "${#LONG_CN}" -eq 300
check "v1" has "$(openssl x509 -in "$OUT/v1_cert.pem" -noout -text)" 'Version: 1 (0x0)'
check "no SKI" test -z "$(openssl x509 -in "$OUT/no_ski.pem" -noout -ext subjectKeyIdentifier 2>/dev/null)"
check "BMPString" has "$(openssl asn1parse -in "$OUT/bmp_names.pem")" BMPSTRING
check "T61String" has "$(openssl asn1parse -in "$OUT/teletex.pem")" T61STRING

# ---------------------------------------------------------------- manifest
V5=valid:$SID_1105
{
    printf 'file\tserial_hex\tsid_ext\tsid_uri\tparses_in_mbedtls\tdescription\n'
} >"$MANIFEST"
o=$OUT
row root_ca.pem $o/root_ca.pem absent absent yes "root CA DC=com,DC=example,CN=Example Root CA, self-signed, 2020-01-01..2120-01-01"
row issuing_ca.pem $o/issuing_ca.pem absent absent yes "issuing CA DC=com,DC=example,CN=Example Issuing CA, signs every leaf except ed25519, 2020-01-01..2110-01-01"
row ca_cert.pem $o/ca_cert.pem absent absent yes "copy of issuing_ca.pem (basicConstraints critical CA:TRUE, pathlen:0)"
row sid_ext.pem $o/sid_ext.pem "$V5" absent yes "SID extension (MS-WCCE layout) + UPN alice@example.com"
row sid_ext.der $o/sid_ext.pem "$V5" absent yes "sid_ext.pem as DER"
row sid_ext.b64 $o/sid_ext.pem "$V5" absent yes "sid_ext.der as base64 on one line (newline-terminated), no PEM armour; parses_in_mbedtls refers to the decoded DER (mbedtls_x509_crt_parse rejects the raw file)"
row sid_uri.pem $o/sid_uri.pem absent "$V5" yes "SAN URI tag:microsoft.com,2022-09-14:sid:...-1105 + UPN, no SID extension"
row sid_both_agree.pem $o/sid_both_agree.pem "$V5" "$V5" yes "SID extension and SID URI, same SID"
row sid_both_conflict.pem $o/sid_both_conflict.pem "$V5" "valid:$SID_1106" yes "SID extension ...-1105, SID URI ...-1106"
row sid_bad_oid.pem $o/sid_bad_oid.pem malformed absent yes "SID extension whose otherName type-id is 1.3.6.1.4.1.311.25.2.2 (text $SID_1105)"
row sid_two.pem $o/sid_two.pem malformed absent yes "SID extension with two SID otherNames (...-1105, ...-1106)"
row sid_not_octet.pem $o/sid_not_octet.pem malformed absent yes "SID otherName value is [0] EXPLICIT UTF8String instead of OCTET STRING (text $SID_1105)"
row sid_bad_text.pem $o/sid_bad_text.pem malformed absent yes "SID OCTET STRING holds S-1-5-21-abc-1105"
row sid_empty.pem $o/sid_empty.pem malformed absent yes "SID extension value is an empty SEQUENCE (30 00)"
row sid_empty_string.pem $o/sid_empty_string.pem malformed absent yes "SID otherName OCTET STRING of length 0"
row sid_critical.pem $o/sid_critical.pem "$V5" absent no "valid SID extension marked critical; mbedtls_x509_crt_parse_der rejects unknown critical extensions (the _with_ext_cb variant accepts it)"
row sid_uri_two.pem $o/sid_uri_two.pem absent malformed yes "two SID URIs (...-1105, ...-1106), no SID extension"
row sid_uri_bad.pem $o/sid_uri_bad.pem absent malformed yes "SID URI tag:microsoft.com,2022-09-14:sid:S-1-5-21-xyz, no SID extension"
row sid_noncanonical.pem $o/sid_noncanonical.pem "valid:$SID_1105_NONCANON" absent yes "SID extension text with a leading zero in a sub-authority (Windows parses it as $SID_1105; not canonical text)"
row upn_only.pem $o/upn_only.pem absent absent yes "CN=alice@example.com, UPN otherName only (typical Intune/third-party certificate)"
row computer_dns.pem $o/computer_dns.pem "valid:$SID_1200" absent yes "computer certificate CN=ws01.example.com, DNS SAN, EKU clientAuth+serverAuth, no UPN"
row multivalue_rdn.pem $o/multivalue_rdn.pem absent absent yes "subject DC=com,DC=example,OU=Users,{CN=Bob + UID=bob} (multi-valued RDN), UPN bob@example.com"
row quotes.pem $o/quotes.pem "$V5" absent yes "values needing quoting: CN 'Jörg, \"Jr\" + Co;<x>=#', OU ' Sales Team ', O '#Hash Org', L 'Back\\slash City' (all UTF8String)"
row utf8_names.pem $o/utf8_names.pem "$V5" absent yes "UTF8String non-ASCII values: O=Müller GmbH, CN=Zoë Ñandú 東京"
row bmp_names.pem $o/bmp_names.pem "$V5" absent yes "BMPString (tag 30) values: O=Example BMP Org, OU=Ωmega Team, CN=Zoë Ω 東京"
row teletex.pem $o/teletex.pem "$V5" absent yes "CN=Renée Teletex as T61String (tag 20) with Latin-1 byte 0xE9; O PrintableString"
row serial_high_bit.pem $o/serial_high_bit.pem "$V5" absent yes "serial 0x8F1E2D3C4B5A69788796A5B4C3D2E1F0 (DER has a 00 sign byte)"
row kb_serial.pem $o/kb_serial.pem "$V5" absent yes "serial 0x2B0000000011AC0000000012 (KB5014754 example)"
row no_ski.pem $o/no_ski.pem "$V5" absent yes "no subjectKeyIdentifier extension (AKI present)"
row ec_key.pem $o/ec_key.pem "$V5" absent yes "EC P-256 key, signed by the RSA issuing CA"
row ec_p384.pem $o/ec_p384.pem "$V5" absent yes "EC P-384 key, signed by the RSA issuing CA"
row unknown_critical.pem $o/unknown_critical.pem "$V5" absent no "extra critical extension 1.3.6.1.4.1.55555.1 (UTF8String); mbedtls rejects unknown critical extensions"
row ed25519.pem $o/ed25519.pem "$V5" absent no "Ed25519 key, self-signed (issuer = subject DC=com,DC=example,OU=Users,CN=Alice Ed25519)"
row rsa_pss.pem $o/rsa_pss.pem "$V5" absent no "RSASSA-PSS SubjectPublicKeyInfo, signed with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) by the issuing CA"
row long_cn.pem $o/long_cn.pem "$V5" absent yes "CN of exactly 300 bytes ('0123456789' x 30, UTF8String); mbedtls_x509_dn_gets fails on it"
row empty_subject.pem $o/empty_subject.pem absent absent yes "empty subject, critical SAN with UPN carol@example.com"
row chain.pem $o/sid_ext.pem "$V5" absent yes "sid_ext leaf + issuing CA + root CA with text lines before, between and after the PEM blocks"
row trailing_garbage.der $o/trailing_garbage.pem "$V5" absent yes "DER certificate followed by the 8 bytes 'GARBAGE\\n' (mbedtls ignores trailing bytes)"
row trailing_garbage.pem $o/trailing_garbage.pem "$V5" absent yes "PEM certificate followed by two lines of junk text"
row expired.pem $o/expired.pem "$V5" absent yes "notBefore 2023-01-01, notAfter 2024-01-01"
row not_yet_valid.pem $o/not_yet_valid.pem "$V5" absent yes "notBefore 2099-01-01, notAfter 2109-01-01 (GeneralizedTime)"
row eku_server_only.pem $o/eku_server_only.pem "$V5" absent yes "EKU serverAuth only"
row no_eku.pem $o/no_eku.pem "$V5" absent yes "no extendedKeyUsage extension"
row eku_any.pem $o/eku_any.pem "$V5" absent yes "EKU anyExtendedKeyUsage only"
row all_san.pem $o/all_san.pem "$V5" absent yes "SAN with UPN, GUID otherName 1.3.6.1.4.1.311.25.1, rfc822 x2, DNS, URI https://example.com/x, IP 192.0.2.7, IP 2001:db8::7, dirName, registeredID 1.2.3.4"
row template.pem $o/template.pem "$V5" absent yes "template ext 1.3.6.1.4.1.311.21.7 {1.3.6.1.4.1.311.21.8.1.2.3, 100, 4}, 1.3.6.1.4.1.311.20.2 BMPString User, CRL DP, AIA caIssuers+OCSP"
row v1_cert.pem $o/v1_cert.pem absent absent yes "X.509 v1 certificate, no extensions, CN=Alice V1"
mv "$MANIFEST" "$OUT/manifest.tsv"

# every certificate file in $OUT must have a manifest row
for f in "$OUT"/*.pem "$OUT"/*.der "$OUT"/*.b64; do
    cut -f1 "$OUT/manifest.tsv" | grep -qxF "$(basename "$f")" || {
        echo "gen.sh: $(basename "$f") missing from manifest" >&2
        exit 1
    }
done

# ---------------------------------------------------------------- install
rm -f "$HERE"/*.pem "$HERE"/*.der "$HERE"/*.b64 "$HERE"/*.key "$HERE"/manifest.tsv
n=$(find "$OUT" -maxdepth 1 -type f | wc -l)
mv "$OUT"/* "$HERE"/
echo "gen.sh: wrote $n files to $HERE"

# ---------------------------------------------------------------- dependents
# Material derived from these certificates (new keys change it): the test directory, the
# hand-encoded edge cases signed by the issuing CA, and the demo.
python3 "$HERE/../dir/gen.py"
python3 "$HERE/../edge/gen.py"
python3 "$HERE/../../../examples/make-demo.py"
echo "gen.sh: regenerated tests/data/dir, tests/data/edge and examples/"
