#!/usr/bin/env bash
# Install the Debian 12 packages strongmapd needs; only what is missing.
# Usage: scripts/deps.sh [run|bench|test]     (as root, or with sudo available; default: test)
#   run    build the daemon and CLI, and try them (./run.sh)
#   bench  run, and what the benchmarks measure against (bench/run.sh)
#   test   run, bench (ctest runs bench.smoke) and every test tier (./test.sh)
#
# The test suite starts its own slapd and Samba AD DC on loopback; the packages' own services
# must not start (they would take ports 389/636/88), so installation runs with a policy-rc.d
# that forbids service starts when the machine has none.
set -euo pipefail

# building (the compiler, and the libraries the build finds with pkg-config or links:
# lib/dir_ldap_conn.c includes SASL's header) and running: Cyrus SASL's GSSAPI module for Kerberos
# binds to AD (--ldap-sasl-mech GSSAPI); curl and jq are what the two commands ./run.sh prints use;
# libcurl (GnuTLS flavour, as libmicrohttpd's TLS) is how `strongmap gate --daemon` asks strongmapd
run_packages=(
    build-essential cmake pkg-config
    libmbedtls-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libldap-dev libsasl2-dev
    libinih-dev nettle-dev libexpat1-dev libcurl4-gnutls-dev
    libsasl2-modules-gssapi-mit curl jq
)
# benchmarks (bench/run.py): wrk and the nginx baseline, slapd for the directory part,
# openssl and Python's cryptography for the generated directory's certificates (its published
# ones: bench/gen_directory.py), /usr/bin/time for the audit part's peak RSS, the libsss_certmap
# peer, hyperfine;
# Chromium for the page part's first paint (and the browser tier), driven by playwright-core
# from npm with the machine's Node.js >= 20 (see openapi.lint below)
bench_packages=(
    python3 openssl python3-cryptography time wrk nginx-light slapd ldap-utils libsss-certmap-dev
    libtalloc-dev hyperfine chromium
)
# the test tiers, on top of the two sets above (bench.smoke is a test)
test_packages=(
    clang clang-format libcmocka-dev
    # the static analyzer (scan-build) of that clang: tests/scan.sh
    clang-tools
    openssl python3-jsonschema python3-yaml valgrind
    # openapi.lint also needs Node.js >= 20.19 with npm: the machine's (NodeSource's nodejs);
    # Debian 12's nodejs is 18. npm installs the linter itself (tests/openapi/lint.sh).
    # browser tier: the status page in Debian's Chromium (in bench_packages; playwright-core,
    # from npm, drives it: tests/browser/run.sh installs it and downloads no browser)
    # system tests: the cipher suites HTTPS offers, probed with gnutls-cli too
    gnutls-bin
    # gateway tier: FreeRADIUS 3.2 with rlm_rest, and eapol_test for EAP-TLS (tests/gateway)
    freeradius freeradius-rest eapoltest
    # gateway tier: OpenVPN 2.6 with --dev null, and shellcheck on its --tls-verify script
    openvpn shellcheck
    # directory tests: a real slapd, and a real Samba AD DC with Kerberos (GSSAPI bind)
    slapd ldap-utils libsasl2-dev libsasl2-modules-gssapi-mit krb5-kdc krb5-admin-server
    samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools
    krb5-user
    # samba-kdc tier: a Debian 13 root with Samba 4.24+ from trixie-backports (tests/samba-kdc)
    debootstrap
    # packaging test: cpack DEB, lintian, the DEP-5 copyright file (python3-debian), man page
    # lint, unit checks
    dpkg-dev lintian python3-debian mandoc groff-base systemd
)
case "${1:-test}" in
    run) packages=("${run_packages[@]}") ;;
    bench) packages=("${run_packages[@]}" "${bench_packages[@]}") ;;
    test) packages=("${run_packages[@]}" "${bench_packages[@]}" "${test_packages[@]}") ;;
    *)
        echo "usage: scripts/deps.sh [run|bench|test]" >&2
        exit 2
        ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    added_policy=1
fi
cleanup() { [ "$added_policy" -eq 0 ] || $sudo rm -f "$policy"; }
trap cleanup EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
