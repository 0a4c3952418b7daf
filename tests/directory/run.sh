#!/usr/bin/env bash
# tests/directory/run.sh TEST_BINARY - the LDAP backend's tests against a real slapd.
#
# In a temporary directory: a test CA, a server certificate for IP:127.0.0.1 and a second,
# unrelated CA (tests/lib/pki.py); slapd with test.ldif.in on free loopback ports (ldap:// and ldaps://)
# and a "stalled" peer that accepts TCP connections and never answers, both from the tests'
# slapd harness (tests/lib/slapd.py); a port where nothing listens. The URIs and files go to
# TEST_BINARY (cmocka) as SM_TEST_* variables. Every wait is bounded; the EXIT trap stops the
# test binary, slapd, the KDC and the stalled peer and removes the directory whichever way the
# script ends.
#
# For the GSSAPI case, an MIT Kerberos realm EXAMPLE.COM: krb5kdc on a free port, a keytab for
# slapd (ldap/127.0.0.1) and a client keytab (svc-strongmap) that the test names in
# KRB5_CLIENT_KTNAME.
#
# TEST_BINARY stops, starts, pauses and resumes slapd with "slapd.py ctl DIR stop|start|pause|resume"
# (the command is in SM_TEST_CTL). SM_TEST_FILTER=test_name runs one case.
#
# A delaying proxy (tests/lib/delayproxy.py, 30 ms each way) in front of slapd's ldap:// counts
# the round trips and searches that cross it (SM_TEST_PROXY_URI, SM_TEST_PROXY_STATS); slapd's
# cn=admin binds with SM_TEST_ADMIN_PW, so that a test can change the NTAuth store.
#
# Needs the Debian packages slapd, ldap-utils, openssl, python3, krb5-kdc, krb5-admin-server and
# libsasl2-modules-gssapi-mit.
# shellcheck disable=SC2317 # functions run through wait_for and the traps
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(cd "$here/../lib" && pwd)
KRB5KDC=${KRB5KDC:-/usr/sbin/krb5kdc}
KDB5_UTIL=${KDB5_UTIL:-/usr/sbin/kdb5_util}
KADMIN_LOCAL=${KADMIN_LOCAL:-/usr/sbin/kadmin.local}
export LDAPNOINIT=1 # ldapsearch here ignores ldap.conf, ~/.ldaprc and LDAP* variables
# sanitizer builds: a leak inside MIT Kerberos is not ours (see lsan.supp)
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

die() {
    echo "run.sh: $*" >&2
    exit 1
}

# wait_for SECONDS CMD...: run CMD every 20 ms until it succeeds; fails after SECONDS.
wait_for() {
    local tries=$(($1 * 50))
    shift
    while ! "$@" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.02
    done
}

# slapd.py CMD ...: the tests' slapd harness (see tests/lib/slapd.py)
slapd_py() {
    python3 "$lib/slapd.py" "$@"
}

[ $# -eq 1 ] || die "usage: run.sh TEST_BINARY"
bin=$1
for tool in openssl python3 "$KRB5KDC" "$KDB5_UTIL" "$KADMIN_LOCAL"; do
    command -v "$tool" >/dev/null ||
        die "$tool not found (Debian: slapd ldap-utils openssl python3 krb5-kdc krb5-admin-server)"
done
[ -e /usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so ] || [ -n "$(ls /usr/lib/*/sasl2/libgssapiv2.so 2>/dev/null)" ] ||
    die "the SASL GSSAPI module is missing (Debian: libsasl2-modules-gssapi-mit)"

D=$(mktemp -d "${TMPDIR:-/tmp}/sm-dirtest.XXXXXX")
stall_pid=
proxy_pid=
kdc_pid=
bin_pid=
cleanup() {
    if [ -n "$bin_pid" ]; then
        kill "$bin_pid" 2>/dev/null || true
        wait "$bin_pid" 2>/dev/null || true
    fi
    if [ -e "$D/slapd/state.json" ]; then
        slapd_py ctl "$D" stop || true
    fi
    if [ -n "$kdc_pid" ]; then
        kill "$kdc_pid" 2>/dev/null || true
        wait "$kdc_pid" 2>/dev/null || true
    fi
    if [ -n "$stall_pid" ]; then
        kill "$stall_pid" 2>/dev/null || true
        wait "$stall_pid" 2>/dev/null || true
    fi
    if [ -n "$proxy_pid" ]; then
        kill "$proxy_pid" 2>/dev/null || true
        wait "$proxy_pid" 2>/dev/null || true
    fi
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- certificates (tests/lib/pki.py, the tests' one CA configuration) ----
pki() {
    python3 "$lib/pki.py" "$@" || die "pki.py $* failed"
}
pki ca "$D" ca "/CN=strongmap test CA" --der
pki ca "$D" other-ca "/CN=strongmap unrelated CA" --der
pki issue "$D" tls ca /CN=127.0.0.1 server_ext
pki issue "$D" alice ca "/CN=Alice Example" client_ext \
    "subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.com" --der

b64() { base64 -w0 "$1"; }

# ---- directory data ----
sed -e "s|@ALICE_DER@|$(b64 "$D/alice.der")|" -e "s|@CA_DER@|$(b64 "$D/ca.der")|" \
    -e "s|@OTHER_CA_DER@|$(b64 "$D/other-ca.der")|" "$here/test.ldif.in" >"$D/test.ldif"
for team in 16 20; do # SM_MAX_ACCOUNTS accounts share one value, and more than that
    for i in $(seq 1 "$team"); do
        printf '\ndn: cn=team%s-%s,cn=Users,dc=example,dc=com\nobjectClass: user\ncn: team%s-%s\nsAMAccountName: team%s-%s\naltSecurityIdentities: X509:<RFC822>team%s@example.com\n' \
            "$team" "$i" "$team" "$i" "$team" "$i" "$team"
    done
done >>"$D/test.ldif"

# ---- Kerberos: a realm for the GSSAPI case ----
K=$D/krb5
mkdir "$K"
read -r P_KDC P_DEAD < <(slapd_py free-ports 2) # clients use TCP (udp_preference_limit)
cat >"$K/krb5.conf" <<EOF
[libdefaults]
    default_realm = EXAMPLE.COM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1
[realms]
    EXAMPLE.COM = {
        kdc = 127.0.0.1:$P_KDC
    }
EOF
cat >"$K/kdc.conf" <<EOF
[kdcdefaults]
    kdc_ports = $P_KDC
    kdc_tcp_ports = $P_KDC
[realms]
    EXAMPLE.COM = {
        database_name = $K/principal
        key_stash_file = $K/stash
        acl_file = $K/kadm5.acl
    }
[logging]
    kdc = FILE:$K/kdc.log
EOF
export KRB5_CONFIG=$K/krb5.conf KRB5_KDC_PROFILE=$K/kdc.conf
kadmin() {
    "$KADMIN_LOCAL" -q "$1" >>"$K/kadmin.log" 2>&1 || {
        cat "$K/kadmin.log" >&2
        die "kadmin.local: $1 failed"
    }
}
"$KDB5_UTIL" create -s -r EXAMPLE.COM -P "master-$RANDOM$RANDOM" >"$K/kdb5_util.log" 2>&1 ||
    die "kdb5_util create failed: $(cat "$K/kdb5_util.log")"
kadmin "addprinc -randkey ldap/127.0.0.1"
kadmin "addprinc -randkey svc-strongmap"
kadmin "ktadd -k $K/ldap.keytab ldap/127.0.0.1"
kadmin "ktadd -k $K/client.keytab svc-strongmap"
"$KRB5KDC" -n -P "$K/kdc.pid" >"$K/krb5kdc.out" 2>&1 &
kdc_pid=$!
kdc_ready() {
    : <>"/dev/tcp/127.0.0.1/$P_KDC"
}
wait_for 10 kdc_ready || die "krb5kdc did not start: $(cat "$K/krb5kdc.out")"

# ---- slapd (its service key: ldap.keytab), the stalled peer, the delaying proxy ----
ADMIN_PW="admin-$RANDOM$RANDOM"
out=$(slapd_py start "$D" --ldif "$D/test.ldif" --tls "$D/tls.pem" "$D/tls.key" \
    --sasl-realm EXAMPLE.COM --env "KRB5_CONFIG=$KRB5_CONFIG" --env "KRB5_KTNAME=$K/ldap.keytab" \
    --rootpw "$ADMIN_PW") ||
    die "slapd did not start"
eval "$out" # SLAPD_URI, SLAPD_TLS_URI

python3 "$lib/slapd.py" stalled-peer "$D/stall.port" & # not through a function: $! is its pid
stall_pid=$!
wait_for 10 test -s "$D/stall.port" || die "the stalled peer did not start"
P_STALL=$(cat "$D/stall.port")

# plain ldap:// to slapd, 30 ms each way, counting round trips and searches (tests/lib/delayproxy.py)
STORE_DN="cn=NTAuthTest,cn=Public Key Services,cn=Services,cn=Configuration,dc=example,dc=com"
slapd_hostport=${SLAPD_URI#ldap://}
python3 "$lib/delayproxy.py" "${slapd_hostport%/}" --delay-ms 30 --port-file "$D/proxy.port" \
    --stats "$D/proxy.stats" --store-dn "$STORE_DN" &
proxy_pid=$!
wait_for 10 test -s "$D/proxy.port" || die "the delaying proxy did not start"
P_PROXY=$(cat "$D/proxy.port")

export SM_TEST_LDAP_URI="$SLAPD_URI"
export SM_TEST_LDAPS_URI="$SLAPD_TLS_URI"
export SM_TEST_DEAD_URI="ldaps://127.0.0.1:$P_DEAD/"
export SM_TEST_STALL_URI="ldaps://127.0.0.1:$P_STALL/"
export SM_TEST_STALL_PLAIN_URI="ldap://127.0.0.1:$P_STALL/"
# GSSAPI names the server by the URI's host, here ldap/127.0.0.1@EXAMPLE.COM. (Not "localhost":
# libldap checks a certificate for "localhost" against the machine's host name.)
export SM_TEST_KEYTAB="$K/client.keytab"
export SM_TEST_BASE="dc=example,dc=com"
export SM_TEST_BIND_DN="cn=svc-strongmap,cn=Users,dc=example,dc=com"
export SM_TEST_BIND_PW="Correct-Horse-7"
export SM_TEST_CA="$D/ca.pem"
export SM_TEST_OTHER_CA="$D/other-ca.pem"
export SM_TEST_CA_DER="$D/ca.der"
export SM_TEST_OTHER_CA_DER="$D/other-ca.der"
export SM_TEST_ALICE_DER="$D/alice.der"
export SM_TEST_CTL="python3 '$lib/slapd.py' ctl '$D'"
export SM_TEST_PROXY_URI="ldap://127.0.0.1:$P_PROXY/"
export SM_TEST_PROXY_STATS="$D/proxy.stats"
export SM_TEST_STORE_DN="$STORE_DN"
export SM_TEST_ADMIN_DN="cn=admin,dc=example,dc=com"
export SM_TEST_ADMIN_PW="$ADMIN_PW"
export SM_TEST_TMP="$D"
unset KRB5_KDC_PROFILE # the test binary is a client

# In the background, so that a signal to this script is handled at once (bash defers traps while
# a foreground child runs); the EXIT trap stops the binary too.
"$bin" &
bin_pid=$!
set +e
wait "$bin_pid"
rc=$?
set -e
bin_pid=
exit "$rc"
