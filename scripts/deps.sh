#!/usr/bin/env bash
# Install the Debian 12 packages strongmapd needs to build, test and run; only what is missing.
# Usage: scripts/deps.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang clang-format
    libmbedtls-dev libjansson-dev libmicrohttpd-dev libcmocka-dev libldap-dev
    openssl curl python3 python3-jsonschema python3-yaml valgrind
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
