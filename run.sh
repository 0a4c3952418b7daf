#!/usr/bin/env bash
# Install what is missing, build, and run strongmapd in the foreground on 127.0.0.1:8080 with
# the demo directory (examples/demo.ldif: no Active Directory needed).
# Usage: ./run.sh [strongmapd options...]     (Ctrl-C stops it)
# As root, the daemon drops to the unprivileged user "nobody" after start-up.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh run   # only what building and running need; ./test.sh installs the rest
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_TESTS=OFF -DSM_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--listen 127.0.0.1:8080 --ldif examples/demo.ldif)
echo "strongmapd: try  curl -s --data-binary @examples/certs/alice-no-sid.pem http://127.0.0.1:8080/v1/inspect" >&2
echo "           and  jq -Rs '{certificate: .}' examples/certs/alice-no-sid.pem | curl -s -d @- -H 'Content-Type: application/json' http://127.0.0.1:8080/v1/verdict" >&2
# as root the daemon opens its socket and files, then drops to nobody itself
[ "$(id -u)" -eq 0 ] && args+=(--user nobody)
exec build/daemon/strongmapd -c /dev/null "${args[@]}"
