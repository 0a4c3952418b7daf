#!/usr/bin/env bash
# Install the Debian 12 packages strongmapd needs to build, test and run; only what is missing.
# Usage: scripts/deps.sh            (as root, or with sudo available)
#
# The test suite starts its own slapd and Samba AD DC on loopback; the packages' own services
# must not start (they would take ports 389/636/88), so installation runs with a policy-rc.d
# that forbids service starts when the machine has none.
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang clang-format
    libmbedtls-dev libjansson-dev libmicrohttpd-dev libcmocka-dev libldap-dev
    libinih-dev nettle-dev
    openssl curl python3 python3-jsonschema python3-yaml valgrind wrk
    # system tests: the cipher suites HTTPS offers, probed with gnutls-cli too
    gnutls-bin
    # directory tests: a real slapd, and a real Samba AD DC with Kerberos (GSSAPI bind)
    slapd ldap-utils libsasl2-dev libsasl2-modules-gssapi-mit krb5-kdc krb5-admin-server
    samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools
    krb5-user
    # samba-kdc tier: a Debian 13 root with Samba 4.24+ from trixie-backports (tests/samba-kdc)
    debootstrap
    # packaging test: cpack DEB, lintian, the DEP-5 copyright file (python3-debian), man page
    # lint, unit checks
    dpkg-dev lintian python3-debian mandoc groff-base systemd
    # benchmarks (bench/run.sh): the nginx baseline, the libsss_certmap peer, hyperfine
    nginx-light libsss-certmap-dev libtalloc-dev hyperfine
)

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
