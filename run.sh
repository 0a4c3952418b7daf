#!/usr/bin/env bash
# Install what is missing, build, and run strongmapd in the foreground on 127.0.0.1:8080 with
# the demo directory (examples/demo.ldif: no Active Directory needed).
# Usage: ./run.sh [strongmapd options...]     (Ctrl-C stops it)
# As root, the daemon runs as the unprivileged user "nobody": it never needs root.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--listen 127.0.0.1:8080 --ldif examples/demo.ldif)
echo "strongmapd: try  curl -s --data-binary @examples/certs/alice-no-sid.pem http://127.0.0.1:8080/v1/inspect" >&2
echo "           and  jq -Rs '{certificate: .}' examples/certs/alice-no-sid.pem | curl -s -d @- -H 'Content-Type: application/json' http://127.0.0.1:8080/v1/verdict" >&2
if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
        build/daemon/strongmapd "${args[@]}"
fi
exec build/daemon/strongmapd "${args[@]}"
