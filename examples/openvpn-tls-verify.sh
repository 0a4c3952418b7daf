#!/bin/sh
# OpenVPN --tls-verify hook: admit a client only when a Windows domain controller under full
# enforcement (KB5014754) would log its certificate on, as strongmapd predicts it.
#
# OpenVPN runs `openvpn-tls-verify.sh [gate options...] DEPTH SUBJECT` once for each
# certificate of the client's chain (the root first, the client's own last, at depth 0), after
# its own chain check; exit 0 lets the handshake go on. With --tls-export-cert DIR it also sets
# peer_cert to a PEM file of the certificate at that depth. At depth 0 this script runs
#     strongmap gate [gate options...] "$peer_cert"
# and exits with its status (0 allow; 3 deny; 1, 2, 4 no verdict: fails closed), so the gate's
# one line on standard error (why not) lands in OpenVPN's log. Certificates above depth 0
# (the CAs) are OpenVPN's to check: exit 0. Configuration (docs/integrations/openvpn.md):
#     script-security 2
#     tls-export-cert /run/openvpn-server/strongmap
#     tls-verify "/usr/local/libexec/strongmap/openvpn-tls-verify.sh --daemon http://127.0.0.1:8080 --token-file /etc/openvpn/server/strongmap.token --timeout 3"
# The strongmap binary is $STRONGMAP (OpenVPN's `setenv STRONGMAP /path`), /usr/bin/strongmap
# by default.

strongmap=${STRONGMAP:-/usr/bin/strongmap}

if [ "$#" -lt 2 ]; then
    echo "openvpn-tls-verify: usage: openvpn-tls-verify.sh [gate options...] DEPTH SUBJECT" >&2
    exit 2
fi

# the last two arguments are OpenVPN's; the ones before them are the gate's
n=$#
i=0
depth=
for arg; do
    i=$((i + 1))
    if [ "$i" -le $((n - 2)) ]; then
        set -- "$@" "$arg"
    elif [ "$i" -eq $((n - 1)) ]; then
        depth=$arg
    fi
done
shift "$n"

case $depth in
    '' | *[!0-9]*)
        echo "openvpn-tls-verify: the depth is not a number: $depth" >&2
        exit 2
        ;;
esac
# the CAs of the chain: OpenVPN has checked them (--ca); in p2p mode the previous client's
# variables are still set at these depths, so nothing else is read here
[ "$depth" -eq 0 ] || exit 0

if [ -z "${peer_cert:-}" ] || [ ! -f "$peer_cert" ]; then
    echo "openvpn-tls-verify: no peer_cert file: is --tls-export-cert set?" >&2
    exit 1
fi
exec "$strongmap" gate "$@" "$peer_cert"
