#!/usr/bin/env bash
# tests/samba/run.sh - integration tier: strongmapd against a real Samba 4.17 AD DC on loopback.
#
# Usage: run.sh --daemon PATH/strongmapd --cli PATH/strongmap [--keep] [--hold SECONDS]
#
# In a temporary directory, with every wait bounded and a trap that stops whatever this script
# started (by PID / process group) on every exit path:
#   1. test CAs and a TLS server certificate (SAN IP:127.0.0.1, DNS:<host>, <host>.example.test,
#      localhost) made with openssl and the tests' CA configuration (tests/lib/ca.cnf); a Samba
#      AD DC provisioned for EXAMPLE.TEST / EXAMPLE with its own smb.conf (loopback only, every
#      path inside the directory, LDAP/CLDAP/KDC only);
#   2. accounts made with samba-tool (alice, bob (disabled), carol, dave, erin, the GSSAPI service
#      user svc-strongmap, computer WS01$), their objectSid read back, altSecurityIdentities
#      (strong X509IssuerSerialNumber on dave, weak X509IssuerSubject on erin), alice's
#      userCertificate, WS01$'s dNSHostName and the NTAuth store (issuing CA in cACertificate)
#      written with ldapmodify over ldaps;
#   3. client certificates issued by the test issuing CA (SID extension from `strongmap sid
#      extension`, UPN only, another account's SID, explicit strong/weak mapping, disabled
#      account, expired, computer DNS SAN, serverAuth-only EKU, unknown UPN, issued before the
#      account) and one from a CA missing from NTAuth;
#   4. strongmapd started against Samba, its answers checked over HTTP (curl; JSON fields with
#      jcheck.py): simple bind over ldaps (POST /v1/verdict for each certificate, on
#      windows-2022, samba and mode-1 what-ifs; GET /v1/accounts/{name}; GET /readyz), a bind
#      name in UPN form, a wrong password and a wrong CA (503 problems, never a verdict),
#      StartTLS with a profile fleet and no cache (the remediation the daemon proposes, written
#      to the account, makes the certificate map), GSSAPI over ldap://<host> with a ticket cache
#      from kinit and with only KRB5_CLIENT_KTNAME; each daemon must exit 0 on SIGTERM;
#   5. mapping write-back with `strongmap map` (docs/write-back.md): a dry run, --apply (the
#      verdict turns to allow), a no-op, the duplicate and foreign-SID refusals, a removal, the
#      audit log;
#   6. `strongmap audit` (docs/audit.md) over Samba's paged results and whenChanged.
# Prints `N passed, M failed` as its last line and exits non-zero when anything failed. About
# 15 s on a 2-CPU machine: provision 4-6 s, accounts 3 s, Samba start to LDAP-ready 0.4-2 s,
# Samba stop 1.5-2 s.
#
# Needs root (Samba's ports 389/636/88/464/3268/3269 are fixed) and these Debian packages:
# samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools
# ldap-utils krb5-user libsasl2-modules-gssapi-mit openssl curl python3 (samba-ad-provision is
# only a Recommends of samba-ad-dc: name it with --no-install-recommends). A missing
# prerequisite or a busy port is a failure, not a skip.
#
# --keep (or SM_SAMBA_KEEP=1) keeps the temporary directory (logs, smb.conf, certificates);
# Samba and the daemons are stopped either way. --hold SECONDS keeps Samba running that long
# after the checks (with --keep: for looking at it by hand; the directory's env.sh sets
# KRB5_CONFIG, KRB5CCNAME and LDAPCONF).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DAEMON=
CLI=
KEEP=${SM_SAMBA_KEEP:-0}
HOLD=0
while [ $# -gt 0 ]; do
    case $1 in
        --daemon) DAEMON=$2; shift 2 ;;
        --cli) CLI=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --hold) HOLD=$2; shift 2 ;;
        -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

REALM=EXAMPLE.TEST
REALM_LC=example.test
DOMAIN=EXAMPLE
BASE=DC=example,DC=test
ADMIN_PW='Passw0rd!Test1'
USER_PW='Passw0rd!User1'
ADMIN_UPN=Administrator@$REALM_LC
NTAUTH_DN="CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,$BASE"
SAMBA_PORTS=(88 389 464 636 3268 3269)
DEB_PACKAGES="samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools ldap-utils krb5-user libsasl2-modules-gssapi-mit openssl curl python3"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)
JCHECK=("$PY" "$HERE/jcheck.py")

PASS=0
FAIL=0
FAILED_NAMES=()
T0=$(date +%s.%N)

say() { printf '%s\n' "$*"; }
elapsed() { # elapsed START -> seconds since START with 2 decimals
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
}
pass() {
    PASS=$((PASS + 1))
    say "PASS $1"
}
fail() { # fail NAME [DETAIL...]
    FAIL=$((FAIL + 1))
    FAILED_NAMES+=("$1")
    say "FAIL $1"
    shift
    local l
    for l in "$@"; do say "     $l"; done
}
summary() {
    say "---- samba tier: $(elapsed "$T0") s in all; provision ${T_PROVISION:-?} s, Samba start to LDAP-ready ${T_START:-?} s"
    [ ${#FAILED_NAMES[@]} -eq 0 ] || say "failed: ${FAILED_NAMES[*]}"
    say "$PASS passed, $FAIL failed"
}
SAMBA_PID=
DAEMON_PIDS=()
HOLD_PID=

# alive PID [GROUP]: the process (or any process of the group PID) still runs
alive() {
    if [ "${2:-0}" = 1 ]; then
        [ -n "$(pgrep -g "$1" 2>/dev/null)" ] || kill -0 "$1" 2>/dev/null
    else
        kill -0 "$1" 2>/dev/null
    fi
}

stop_pid() { # stop_pid PID [GROUP]: TERM, wait up to 10 s, then KILL (the whole group when GROUP=1)
    local pid=$1 group=${2:-0} i
    [ -n "$pid" ] || return 0
    local -a target=("$pid")
    [ "$group" = 1 ] && target=(-- "-$pid")
    if alive "$pid" "$group"; then
        kill -TERM "${target[@]}" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            alive "$pid" "$group" || break
            sleep 0.1
        done
        if alive "$pid" "$group"; then
            say "note: PID $pid (group: $group) still running 10 s after SIGTERM: SIGKILL"
            kill -KILL "${target[@]}" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# teardown: stop the daemons and Samba (idempotent)
teardown() {
    local p t
    [ -z "$HOLD_PID" ] || { kill "$HOLD_PID" 2>/dev/null || true; HOLD_PID=; }
    for p in ${DAEMON_PIDS[@]+"${DAEMON_PIDS[@]}"}; do stop_pid "$p"; done
    DAEMON_PIDS=()
    if [ -n "$SAMBA_PID" ]; then
        t=$(date +%s.%N)
        stop_pid "$SAMBA_PID" 1
        SAMBA_PID=
        say "Samba stopped in $(elapsed "$t") s"
    fi
}

# finish STATUS: stop what runs, print the summary (the last line), exit
finish() {
    teardown
    summary
    exit "$1"
}
# A setup step failed: nothing after it can be trusted. Count it and finish.
abort() {
    fail "setup" "$@"
    finish 1
}

# ---------------------------------------------------------------- preflight
[ "$(id -u)" -eq 0 ] || abort "needs root (running as $(id -un)): the Samba AD DC binds the fixed ports ${SAMBA_PORTS[*]} and provisions as root"
missing=()
for tool in samba samba-tool ldbsearch ldapsearch ldapmodify openssl curl kinit klist setsid pgrep timeout; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/share/samba/setup/provision.ldif ] || missing+=("/usr/share/samba/setup (samba-ad-provision)")
compgen -G '/usr/lib/*/sasl2/libgssapiv2.so*' >/dev/null || missing+=("Cyrus SASL GSSAPI plugin (libsasl2-modules-gssapi-mit)")
"$PY" -c 'import json, re, socket' 2>/dev/null || missing+=("python3")
if [ -z "$DAEMON" ] || [ ! -x "$DAEMON" ]; then missing+=("strongmapd binary (--daemon)"); fi
if [ -z "$CLI" ] || [ ! -x "$CLI" ]; then missing+=("strongmap binary (--cli)"); fi
[ ${#missing[@]} -eq 0 ] || abort "missing: ${missing[*]}" \
    "install: apt-get install $DEB_PACKAGES (scripts/deps.sh)"
# a port is busy when 127.0.0.1:PORT cannot be bound (TCP with SO_REUSEADDR, so that sockets of
# an earlier run in TIME_WAIT do not count; UDP for 88, 389 and 464)
busy=$("$PY" - "${SAMBA_PORTS[@]}" <<'PYEOF'
import socket, sys
busy = []
for port in map(int, sys.argv[1:]):
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if port in (88, 389, 464) else [])
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        except OSError as e:
            busy.append(f"{port}/{'tcp' if kind == socket.SOCK_STREAM else 'udp'} ({e.strerror})")
        finally:
            s.close()
print(" ".join(busy))
PYEOF
)
[ -z "$busy" ] || abort "port(s) $busy in use on this machine (another LDAP/Kerberos server, or a Samba left over from a killed run?): the Samba AD DC needs 88, 389, 464, 636, 3268 and 3269" \
    "$( (command -v ss >/dev/null && ss -Hltnup 2>/dev/null | grep -E ':(88|389|464|636|3268|3269)\b' | head -5) || true)"

# ---------------------------------------------------------------- work dir, cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smd-samba.XXXXXX")
chmod 700 "$WORK"
LOG=$WORK/steps.log
: >"$LOG"
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    teardown
    if [ "$KEEP" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# run CMD...: log the command and its output; on failure show the tail and abort.
run() {
    printf '+ %s\n' "$*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1; then
        local tailtxt
        tailtxt=$(tail -n 15 "$LOG")
        abort "command failed: $*" "$tailtxt"
    fi
}

# ---------------------------------------------------------------- host name
# GSSAPI needs a name that reaches the loopback-only DC; the SPN ldap/<name> is added for it.
HOST_SHORT=$(hostname -s 2>/dev/null || hostname)
HOST_SHORT=${HOST_SHORT,,}
GSS_HOST=$HOST_SHORT
if ! getent ahostsv4 "$GSS_HOST" 2>/dev/null | awk '{print $1}' | grep -qx '127\.0\.0\.1'; then
    GSS_HOST=localhost
fi
# Samba takes its NetBIOS name from the host name (at most 15 characters)
NETBIOS=$(printf '%s' "${HOST_SHORT%%.*}" | tr -c 'A-Za-z0-9-' '-' | cut -c1-15)
NETBIOS=${NETBIOS^^}

# ---------------------------------------------------------------- PKI
PKI=$WORK/pki
mkdir -p "$PKI/db"
: >"$PKI/db/index.txt"
# the tests' one CA configuration; its CA database in $SM_CA_DIR
CA_CNF=$HERE/../lib/ca.cnf
export SM_CA_DIR=$PKI/db

newkey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# mkca NAME SUBJECT: self-signed CA $PKI/NAME.pem / NAME.key
mkca() {
    newkey "$PKI/$1.key"
    run openssl req -new -x509 -config "$CA_CNF" -extensions ca_ext -key "$PKI/$1.key" \
        -subj "$2" -days 3650 -out "$PKI/$1.pem"
}

# issue NAME CA SERIAL SUBJECT EXTFILE [START END]: leaf $PKI/NAME.pem signed by CA
issue() {
    local name=$1 ca=$2 serial=$3 subj=$4 ext=$5 start=${6:-} end=${7:-}
    newkey "$PKI/$name.key"
    run openssl req -new -config "$CA_CNF" -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr"
    echo "$serial" >"$PKI/db/serial"
    local -a dates=(-days 825)
    [ -z "$start" ] || dates=(-startdate "$start" -enddate "$end")
    run openssl ca -batch -config "$CA_CNF" -notext -preserveDN "${dates[@]}" \
        -cert "$PKI/$ca.pem" -keyfile "$PKI/$ca.key" -extfile "$ext" -extensions ext \
        -in "$PKI/$name.csr" -out "$PKI/$name.pem"
}

T=$(date +%s.%N)
mkca tls_ca "/O=strongmapd tests/CN=Strongmap Test TLS CA"
mkca issuing_ca "/DC=test/DC=example/CN=Example Test Issuing CA"
mkca rogue_ca "/DC=test/DC=example/CN=Rogue CA Not In NTAuth"
cat >"$PKI/server.ext" <<EOF
[ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = IP:127.0.0.1,DNS:$HOST_SHORT,DNS:$HOST_SHORT.$REALM_LC,DNS:localhost,DNS:$REALM_LC
EOF
issue server tls_ca 1000 "/CN=$HOST_SHORT.$REALM_LC" "$PKI/server.ext"
chmod 600 "$PKI/server.key"
say "test CAs and TLS server certificate: $(elapsed "$T") s"

# ---------------------------------------------------------------- provision
SAMBA=$WORK/samba
SMBCONF=$SAMBA/etc/smb.conf
T=$(date +%s.%N)
run samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
    --dns-backend=NONE --use-rfc2307 --targetdir="$SAMBA" --adminpass="$ADMIN_PW" \
    --host-name="$HOST_SHORT" --host-ip=127.0.0.1 \
    --option="interfaces = lo" --option="bind interfaces only = yes" \
    --option="netbios name = $NETBIOS"
T_PROVISION=$(elapsed "$T")
say "provision: $T_PROVISION s"

# Our own [global]: the identity lines from the generated file, then every path inside $WORK,
# TLS with the test certificate, and only the services the tests use. "ldap server require
# strong auth" keeps its default (yes), as on a hardened DC: simple binds only over TLS.
mkdir -p "$SAMBA/log" "$SAMBA/run"
awk '
    /^\[/ { inglobal = ($0 ~ /^\[global\]/); next }
    inglobal && /=/ {
        k = $0; sub(/^[ \t]+/, "", k); sub(/[ \t]*=.*/, "", k)
        if (k ~ /^(netbios name|realm|workgroup|server role|private dir|lock directory|state directory|cache directory|binddns dir|idmap_ldb:use rfc2307)$/)
            print "\t" substr($0, match($0, /[^ \t]/))
    }' "$SMBCONF" >"$WORK/global.keep"
grep -q 'private dir' "$WORK/global.keep" || abort "generated smb.conf has no private dir" "$(cat "$SMBCONF")"
{
    echo "# written by tests/samba/run.sh"
    echo "[global]"
    cat "$WORK/global.keep"
    cat <<EOF
	interfaces = lo
	bind interfaces only = yes
	server services = ldap, cldap, kdc
	logging = file
	log file = $SAMBA/log/log.%m
	log level = 1
	max log size = 0
	pid directory = $SAMBA/run
	ncalrpc dir = $SAMBA/run/ncalrpc
	winbindd socket directory = $SAMBA/run/winbindd
	ntp signd socket directory = $SAMBA/run/ntp_signd
	tls enabled = yes
	tls keyfile = $PKI/server.key
	tls certfile = $PKI/server.pem
	tls cafile = $PKI/tls_ca.pem
	panic action =
EOF
} >"$SMBCONF.new"
mv "$SMBCONF.new" "$SMBCONF"

# ---------------------------------------------------------------- accounts (offline, sam.ldb)
SAM=$SAMBA/private/sam.ldb
T=$(date +%s.%N)
for u in alice bob carol dave erin svc-strongmap; do
    run samba-tool user create "$u" "$USER_PW" -H "$SAM" -s "$SMBCONF"
done
run samba-tool user disable bob -H "$SAM" -s "$SMBCONF"
run samba-tool computer create WS01 --prepare-oldjoin -H "$SAM" -s "$SMBCONF"
run samba-tool spn add "ldap/$GSS_HOST" "$NETBIOS\$" -H "$SAM" -s "$SMBCONF"
# the service user's keys for GSSAPI (client keytab)
run samba-tool domain exportkeytab "$WORK/svc.keytab" --principal="svc-strongmap@$REALM" -s "$SMBCONF"
chmod 600 "$WORK/svc.keytab" # strongmapd refuses a keytab others may read
say "accounts: $(elapsed "$T") s"

# sid_of SAM: objectSid as text, from sam.ldb
sid_of() {
    ldbsearch -H "$SAM" "(sAMAccountName=$1)" objectSid 2>>"$LOG" | awk '/^objectSid: /{print $2; exit}'
}
declare -A SID
for u in alice bob carol dave erin 'WS01$'; do
    SID[$u]=$(sid_of "$u")
    [[ ${SID[$u]} == S-1-5-21-* ]] || abort "no objectSid for $u in $SAM"
done
say "objectSid: alice ${SID[alice]}, carol ${SID[carol]}, WS01\$ ${SID[WS01\$]}"
uac_bob=$(ldbsearch -H "$SAM" '(sAMAccountName=bob)' userAccountControl 2>>"$LOG" | awk '/^userAccountControl: /{print $2}')
(((uac_bob & 2) == 2)) || abort "bob is not disabled (userAccountControl $uac_bob)"

# ---------------------------------------------------------------- start Samba
T=$(date +%s.%N)
# own session and process group: cleanup stops the group, workers included
setsid samba -i -s "$SMBCONF" </dev/null >"$SAMBA/log/samba.stdout" 2>&1 &
SAMBA_PID=$!

LDAPCONF=$WORK/ldap.conf
# for this script's own ldapsearch/ldapmodify (strongmapd runs with LDAPNOINIT=1: flags only)
printf 'TLS_CACERT %s\nTLS_REQCERT demand\nREFERRALS off\nSASL_NOCANON on\n' "$PKI/tls_ca.pem" >"$LDAPCONF"
# ldap_as_admin TOOL ARGS...: ldapsearch / ldapmodify bound as Administrator over ldaps
ldap_as_admin() {
    local tool=$1
    shift
    local -a quiet=()
    [ "$tool" != ldapsearch ] || quiet=(-LLL)
    LDAPCONF=$LDAPCONF timeout 20 "$tool" ${quiet[@]+"${quiet[@]}"} -o nettimeout=5 -x \
        -H ldaps://127.0.0.1 -D "$ADMIN_UPN" -w "$ADMIN_PW" "$@"
}

ready=0
for ((i = 0; i < 300; i++)); do # 30 s
    if ! kill -0 "$SAMBA_PID" 2>/dev/null; then
        abort "samba exited during start" "$(tail -n 20 "$SAMBA/log/samba.stdout")"
    fi
    if ldap_as_admin ldapsearch -b "$BASE" -s base dn >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" = 1 ] || abort "Samba's LDAP (ldaps://127.0.0.1) not ready after 30 s" "$(tail -n 20 "$SAMBA/log/samba.stdout")"
T_START=$(elapsed "$T")
say "Samba started (PID $SAMBA_PID), LDAP ready after $T_START s"

# ---------------------------------------------------------------- client certificates
T=$(date +%s.%N)
UPN_OID=1.3.6.1.4.1.311.20.2.3
# leafext FILE UPN|- DNS|- SID|- [EKU]: extension section [ext] for a client certificate; the SID
# extension line comes from `strongmap sid extension` (openssl_extension_config)
leafext() {
    local file=$1 upn=$2 dns=$3 sid=$4 eku=${5:-clientAuth,1.3.6.1.4.1.311.20.2.2} san='' sidline=''
    [ "$upn" = - ] || san="otherName:$UPN_OID;UTF8:$upn"
    [ "$dns" = - ] || san="${san:+$san,}DNS:$dns"
    if [ "$sid" != - ]; then
        "$CLI" sid extension "$sid" >"$file.sid.json" 2>>"$LOG" || abort "strongmap sid extension $sid failed"
        sidline=$("${JCHECK[@]}" --get "$file.sid.json" openssl_extension_config) ||
            abort "no openssl_extension_config in strongmap sid extension output" "$(cat "$file.sid.json")"
        [[ $sidline == "1.3.6.1.4.1.311.25.2 = DER:"* ]] || abort "unexpected openssl_extension_config: $sidline"
    fi
    {
        echo "[ext]"
        echo "basicConstraints = CA:FALSE"
        echo "keyUsage = critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage = $eku"
        echo "subjectKeyIdentifier = hash"
        echo "authorityKeyIdentifier = keyid:always"
        [ -z "$san" ] || echo "subjectAltName = $san"
        [ -z "$sidline" ] || echo "$sidline"
    } >"$file"
}
# cert NAME CA SERIAL SUBJECT UPN|- DNS|- SID|- [EKU] [START END]
cert() {
    leafext "$PKI/$1.ext" "$5" "$6" "$7" "${8:-}"
    issue "$1" "$2" "$3" "$4" "$PKI/$1.ext" "${9:-}" "${10:-}"
}
A=alice@$REALM_LC
EKU=clientAuth,1.3.6.1.4.1.311.20.2.2
cert alice_sid issuing_ca 2001 /CN=Alice "$A" - "${SID[alice]}"
cert alice_upn issuing_ca 2002 /CN=Alice "$A" - -
cert alice_carol_sid issuing_ca 2003 /CN=Alice "$A" - "${SID[carol]}"
cert dave_explicit issuing_ca 2004 "/CN=Dave Explicit" - - -
cert erin_explicit issuing_ca 2005 "/CN=Erin Weak" - - -
cert bob_sid issuing_ca 2006 /CN=Bob "bob@$REALM_LC" - "${SID[bob]}"
cert alice_expired issuing_ca 2007 /CN=Alice "$A" - "${SID[alice]}" "$EKU" 20230101000000Z 20240101000000Z
cert ws01 issuing_ca 2008 "/CN=ws01.$REALM_LC" - "ws01.$REALM_LC" "${SID[WS01\$]}" clientAuth,serverAuth
cert rogue_alice rogue_ca 2009 /CN=Alice "$A" - "${SID[alice]}"
cert nobody issuing_ca 200A /CN=Nobody "nobody@$REALM_LC" - -
# issued before alice's account existed (mode 1 backdating rule: event 40)
cert alice_upn_old issuing_ca 200C /CN=Alice "$A" - - "$EKU" 20250101000000Z 20350101000000Z
cert alice_server_eku issuing_ca 200B /CN=Alice "$A" - "${SID[alice]}" serverAuth
say "client certificates: $(elapsed "$T") s"

# the mapping strings, as strongmap computes them
MAPPING=
mapping() { # mapping CERTNAME KEY: sets MAPPING
    "$CLI" inspect "$PKI/$1.pem" >"$PKI/$1.inspect.json" 2>>"$LOG" || abort "strongmap inspect $1.pem failed"
    MAPPING=$("${JCHECK[@]}" --get "$PKI/$1.inspect.json" "certificates.0.mappings.$2") ||
        abort "no mappings.$2 in strongmap inspect $1.pem"
}
mapping dave_explicit X509IssuerSerialNumber
DAVE_ALTSEC=$MAPPING
mapping erin_explicit X509IssuerSubject
ERIN_ALTSEC=$MAPPING
mapping erin_explicit X509IssuerSerialNumber
ERIN_STRONG=$MAPPING
mapping alice_upn X509IssuerSerialNumber
ALICE_UPN_STRONG=$MAPPING
ALICE_SID_EXT_B64=$("${JCHECK[@]}" --get "$PKI/alice_sid.ext.sid.json" extension_der_base64 || true)
[ -n "$ALICE_SID_EXT_B64" ] || abort "no extension_der_base64 in strongmap sid extension output"
say "dave altSecurityIdentities: $DAVE_ALTSEC"
say "erin altSecurityIdentities: $ERIN_ALTSEC"
[[ $DAVE_ALTSEC == 'X509:<I>DC=test,DC=example,CN=Example Test Issuing CA<SR>0420' ]] ||
    abort "unexpected X509IssuerSerialNumber for serial 2004: $DAVE_ALTSEC"

# ---------------------------------------------------------------- directory contents (ldapmodify)
b64der() { openssl x509 -in "$1" -outform DER | openssl base64 -A; }
dn_of() { # dn_of SAM
    ldap_as_admin ldapsearch -o ldif-wrap=no -b "$BASE" "(sAMAccountName=$1)" dn 2>>"$LOG" |
        awk '/^dn: /{sub(/^dn: /, ""); print; exit}'
}
DN_ALICE=$(dn_of alice)
DN_DAVE=$(dn_of dave)
DN_ERIN=$(dn_of erin)
DN_WS01=$(dn_of 'WS01$')
[[ -n $DN_ALICE && -n $DN_DAVE && -n $DN_ERIN && -n $DN_WS01 ]] ||
    abort "account DNs not found over LDAP (alice '$DN_ALICE', dave '$DN_DAVE', erin '$DN_ERIN', WS01\$ '$DN_WS01')"

cat >"$WORK/accounts.ldif" <<EOF
dn: $DN_DAVE
changetype: modify
replace: altSecurityIdentities
altSecurityIdentities: $DAVE_ALTSEC

dn: $DN_ERIN
changetype: modify
replace: altSecurityIdentities
altSecurityIdentities: $ERIN_ALTSEC

dn: $DN_ALICE
changetype: modify
replace: userCertificate
userCertificate:: $(b64der "$PKI/alice_sid.pem")

dn: $DN_WS01
changetype: modify
replace: dNSHostName
dNSHostName: ws01.$REALM_LC
EOF
run ldap_as_admin ldapmodify -f "$WORK/accounts.ldif"

# NTAuth store: Samba's provision has CN=Public Key Services but no NTAuthCertificates entry.
# certificationAuthority must contain cACertificate, authorityRevocationList and
# certificateRevocationList; AD's own entry holds a single zero byte in the two lists.
set +e
ldap_as_admin ldapsearch -b "$NTAUTH_DN" -s base dn >>"$LOG" 2>&1
nt_rc=$?
set -e
case $nt_rc in
    0) NTAUTH_CHANGE="dn: $NTAUTH_DN
changetype: modify
add: cACertificate
cACertificate:: $(b64der "$PKI/issuing_ca.pem")" ;;
    32) NTAUTH_CHANGE="dn: $NTAUTH_DN
changetype: add
objectClass: top
objectClass: certificationAuthority
cn: NTAuthCertificates
cACertificate:: $(b64der "$PKI/issuing_ca.pem")
authorityRevocationList:: AA==
certificateRevocationList:: AA==" ;;
    *) abort "reading $NTAUTH_DN failed (ldapsearch rc $nt_rc)" "$(tail -n 5 "$LOG")" ;;
esac
printf '%s\n' "$NTAUTH_CHANGE" >"$WORK/ntauth.ldif"
run ldap_as_admin ldapmodify -f "$WORK/ntauth.ldif"
say "NTAuth store: $([ $nt_rc = 32 ] && echo created || echo existed), issuing CA added"

# read back what the daemon will read
ldap_as_admin ldapsearch -o ldif-wrap=no -b "$NTAUTH_DN" -s base cACertificate >"$WORK/ntauth.out" 2>>"$LOG" ||
    abort "NTAuth store not readable"
grep -qF "cACertificate:: $(b64der "$PKI/issuing_ca.pem")" "$WORK/ntauth.out" ||
    abort "the issuing CA is not in $NTAUTH_DN" "$(head -c 400 "$WORK/ntauth.out")"
ldap_as_admin ldapsearch -o ldif-wrap=no -b "$BASE" "(altSecurityIdentities=$(printf '%s' "$DAVE_ALTSEC" | sed 's/[()*\\]/\\&/g'))" sAMAccountName >"$WORK/altsec.out" 2>>"$LOG" ||
    abort "altSecurityIdentities search failed"
grep -qx 'sAMAccountName: dave' "$WORK/altsec.out" || abort "dave not found by altSecurityIdentities" "$(cat "$WORK/altsec.out")"
# objectSid over LDAP (binary) decoded by strongmap = ldbsearch's text form
osid_b64=$(ldap_as_admin ldapsearch -o ldif-wrap=no -b "$BASE" '(sAMAccountName=alice)' objectSid 2>>"$LOG" |
    awk '/^objectSid:: /{print $2; exit}')
"$CLI" sid decode "$osid_b64" >"$WORK/sid.json" 2>>"$LOG" || abort "strongmap sid decode $osid_b64 failed"
[ "$("${JCHECK[@]}" --get "$WORK/sid.json" sid)" = "${SID[alice]}" ] ||
    abort "alice's objectSid over LDAP ($osid_b64) does not decode to ${SID[alice]}"
pass "directory: accounts, altSecurityIdentities, userCertificate, NTAuth store, objectSid over LDAP"

# ---------------------------------------------------------------- Kerberos (for GSSAPI)
KRB5_CONF_FILE=$WORK/krb5.conf
cat >"$KRB5_CONF_FILE" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
[realms]
	$REALM = {
		kdc = 127.0.0.1
	}
[domain_realm]
	.$REALM_LC = $REALM
	$REALM_LC = $REALM
	$GSS_HOST = $REALM
EOF
SVC_PRINCIPAL=svc-strongmap@$REALM
GSS_OK=0
T=$(date +%s.%N)
kinit_ok=0
for ((i = 0; i < 20; i++)); do # the KDC task may start after LDAP: 10 s at most
    if KRB5_CONFIG=$KRB5_CONF_FILE KRB5CCNAME=FILE:$WORK/krb5cc.kinit timeout 20 \
        kinit -k -t "$WORK/svc.keytab" "$SVC_PRINCIPAL" >>"$LOG" 2>&1; then
        kinit_ok=1
        break
    fi
    sleep 0.5
done
if [ "$kinit_ok" = 1 ]; then
    # the same bind with OpenLDAP's client: proves the DC side (SPN, sealing) before the daemon
    if KRB5_CONFIG=$KRB5_CONF_FILE KRB5CCNAME=FILE:$WORK/krb5cc.kinit LDAPCONF=$LDAPCONF timeout 20 \
        ldapsearch -LLL -Q -o nettimeout=5 -Y GSSAPI -H "ldap://$GSS_HOST" -b "$BASE" -s base dn >>"$LOG" 2>&1; then
        GSS_OK=1
        pass "kerberos: kinit with the exported keytab, ldapsearch -Y GSSAPI ldap://$GSS_HOST ($(elapsed "$T") s)"
    else
        fail "kerberos: ldapsearch -Y GSSAPI ldap://$GSS_HOST" "$(tail -n 5 "$LOG")"
    fi
    KRB5_CONFIG=$KRB5_CONF_FILE KRB5CCNAME=FILE:$WORK/krb5cc.kinit klist >>"$LOG" 2>&1 || true
else
    fail "kerberos: kinit -k -t svc.keytab $SVC_PRINCIPAL" "$(tail -n 5 "$LOG")"
fi
cat >"$WORK/env.sh" <<EOF
export KRB5_CONFIG=$KRB5_CONF_FILE KRB5CCNAME=FILE:$WORK/krb5cc.kinit LDAPCONF=$LDAPCONF
# ldapsearch -LLL -x -H ldaps://127.0.0.1 -D $ADMIN_UPN -w '$ADMIN_PW' -b $BASE '(sAMAccountName=alice)'
# ldapsearch -LLL -Y GSSAPI -H ldap://$GSS_HOST -b $BASE '(sAMAccountName=alice)'
EOF

# ---------------------------------------------------------------- the daemon
printf '%s' "$ADMIN_PW" >"$WORK/ldap.pw"
chmod 600 "$WORK/ldap.pw"

# free_port: a TCP port nothing listens on now
free_port() {
    "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

DPID=
DURL=
DLOG=
# forget_pid PID: a reaped daemon leaves DAEMON_PIDS (cleanup must not signal a reused PID)
forget_pid() {
    local -a keep=()
    local p
    for p in ${DAEMON_PIDS[@]+"${DAEMON_PIDS[@]}"}; do [ "$p" = "$1" ] || keep+=("$p"); done
    DAEMON_PIDS=(${keep[@]+"${keep[@]}"})
}
# start_daemon NAME [ENV=VALUE...] -- ARGS...: strongmapd on a free loopback port; waits (15 s at
# most) for GET /healthz. Sets DPID, DURL, DLOG. Non-zero when it did not come up.
start_daemon() {
    local name=$1
    shift
    local -a envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    local port i
    port=$(free_port)
    DLOG=$WORK/daemon-$name.log
    DURL=http://127.0.0.1:$port
    # LDAPNOINIT: no ldap.conf / ~/.ldaprc / LDAP* variables; everything comes from the flags
    env LDAPNOINIT=1 ${envs[@]+"${envs[@]}"} "$DAEMON" --allow-root --listen "127.0.0.1:$port" "$@" \
        </dev/null >"$DLOG" 2>&1 &
    DPID=$!
    DAEMON_PIDS+=("$DPID")
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$DPID" 2>/dev/null; then
            wait "$DPID" 2>/dev/null && rc=0 || rc=$?
            forget_pid "$DPID"
            DPID=
            fail "daemon[$name]: exited during start (status $rc)" "$(tail -n 8 "$DLOG")"
            return 1
        fi
        if curl -fsS -m 2 "$DURL/healthz" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    fail "daemon[$name]: GET /healthz did not answer within 15 s" "$(tail -n 8 "$DLOG")"
    stop_pid "$DPID"
    forget_pid "$DPID"
    DPID=
    return 1
}

# stop_daemon NAME: SIGTERM; a clean exit (status 0 within 10 s) is a check
stop_daemon() {
    local name=$1 rc i
    [ -n "$DPID" ] || return 0
    kill -TERM "$DPID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$DPID" 2>/dev/null; then
        fail "daemon[$name]: still running 10 s after SIGTERM"
        kill -KILL "$DPID" 2>/dev/null || true
    fi
    wait "$DPID" 2>/dev/null && rc=0 || rc=$?
    forget_pid "$DPID"
    if [ "$rc" = 0 ]; then
        pass "daemon[$name]: exits 0 on SIGTERM"
    else
        fail "daemon[$name]: exit status $rc after SIGTERM" "$(tail -n 8 "$DLOG")"
    fi
    DPID=
}

# request body of POST /v1/verdict: {"certificate": PEM, "account": ..., "profile": [...],
# "mode": N}. OPTS is "-" or a comma list of profile names and mode=N / at=TIME items.
verdict_body() { # verdict_body CERTFILE|- ACCOUNT|- OPTS
    "$PY" - "$@" <<'PYEOF'
import json, sys
cert, account, opts = sys.argv[1:4]
body = {}
if cert != "-":
    with open(cert, encoding="ascii") as f:
        body["certificate"] = f.read()
if account != "-":
    body["account"] = account
for item in ([] if opts == "-" else opts.split(",")):
    if item.startswith("mode="):
        body["mode"] = int(item[5:])
    elif item.startswith("at="):
        body["at"] = item[3:]
    else:
        body.setdefault("profile", []).append(item)
print(json.dumps(body))
PYEOF
}

# http NAME METHOD PATH [BODYFILE]: response body to $WORK/resp/<daemon>-NAME.json, status in HTTP_STATUS
HTTP_STATUS=
RESP=
http() {
    local name=$1 method=$2 path=$3 body=${4:-}
    mkdir -p "$WORK/resp"
    RESP=$WORK/resp/$CUR-$name.json
    local -a data=()
    [ -z "$body" ] || data=(-H 'Content-Type: application/json' --data-binary "@$body")
    HTTP_STATUS=$(curl -sS -m 30 -o "$RESP" -w '%{http_code}' -X "$method" ${data[@]+"${data[@]}"} \
        "$DURL$path" 2>>"$LOG") || HTTP_STATUS=000
}

# expect NAME STATUS EXPR...: the last response has STATUS and every jcheck EXPR holds
expect() {
    local name=$1 status=$2 out
    shift 2
    if [ "$HTTP_STATUS" != "$status" ]; then
        fail "$CUR: $name" "HTTP $HTTP_STATUS, want $status" "$(head -c 600 "$RESP" 2>/dev/null)"
        return 0
    fi
    if out=$("${JCHECK[@]}" "$RESP" "$@" 2>&1); then
        pass "$CUR: $name"
    else
        fail "$CUR: $name" "$out" "response: $(head -c 600 "$RESP")"
        return 0
    fi
}

# verdict NAME CERT|- ACCOUNT|- OPTS|- STATUS EXPR...: POST /v1/verdict and check
verdict() {
    local name=$1 cert=$2 account=$3 profiles=$4 status=$5
    shift 5
    local c=-
    [ "$cert" = - ] || c=$PKI/$cert.pem
    verdict_body "$c" "$account" "$profiles" >"$WORK/req-$CUR-$name.json"
    http "$name" POST /v1/verdict "$WORK/req-$CUR-$name.json"
    expect "$name" "$status" "$@"
}

ADMIN_DN="CN=Administrator,CN=Users,$BASE"
LDAPS_ARGS=(--ldap-uri ldaps://127.0.0.1 --ldap-base "$BASE" --ldap-bind-dn "$ADMIN_DN"
    --ldap-password-file "$WORK/ldap.pw" --ldap-ca-file "$PKI/tls_ca.pem")

if ! "$DAEMON" -c /dev/null --ldap-uri ldap://127.0.0.1:1 --ldap-base "$BASE" -p 2>&1 |
    grep -q 'ldap_uri'; then
    fail "daemon: strongmapd does not take --ldap-uri: the LDAP directory checks did not run" \
        "$("$DAEMON" -c /dev/null --ldap-uri ldap://127.0.0.1:1 --ldap-base "$BASE" -p 2>&1 | head -n 5)"
else
    # ---- simple bind over ldaps: every verdict
    CUR=ldaps
    if start_daemon ldaps -- "${LDAPS_ARGS[@]}" --health-details yes; then
        verdict sid_extension alice_sid - - 200 outcome=allow kdc_error=null event=null \
            mapping.strength=strong mapping.method=sid_extension account.sam=alice \
            "account.sid=${SID[alice]}" resolved_by=upn_san ntauth.known=true ntauth.issuer_trusted=true
        verdict sid_extension_samba alice_sid - samba 200 outcome=allow profile=samba \
            profiles.samba.outcome=allow profiles.samba.mapping.method=sid_extension
        verdict sid_extension_named alice_sid alice - 200 outcome=allow account.sam=alice
        verdict upn_only alice_upn - - 200 outcome=deny kdc_error.code=66 \
            kdc_error.name=KDC_ERR_CERTIFICATE_MISMATCH event.id=39 event.level=error \
            account.sam=alice resolved_by=upn_san paths.upn_san.result=match \
            "remediation.altsecurityidentities=$ALICE_UPN_STRONG" \
            "remediation.reissue.sid_uri=tag:microsoft.com,2022-09-14:sid:${SID[alice]}" \
            "remediation.reissue.sid_extension_der_base64=$ALICE_SID_EXT_B64"
        verdict upn_only_samba alice_upn - samba 200 outcome=deny profiles.samba.outcome=deny \
            profiles.samba.kdc_error.code=66
        # compatibility mode (what-if): weak mapping allowed with a warning, unless the
        # certificate predates the account
        verdict upn_only_mode1 alice_upn - windows-2022,mode=1 200 outcome=allow event.id=39 \
            event.level=warning mapping.strength=weak
        verdict upn_only_mode1_backdated alice_upn_old - windows-2022,mode=1 200 outcome=deny \
            kdc_error.code=66 event.id=40
        verdict other_accounts_sid alice_carol_sid - - 200 outcome=deny kdc_error.code=66 event.id=41 \
            account.sam=alice sid_owner.sam=carol "sid_owner.sid=${SID[carol]}" \
            paths.sid_extension.result=mismatch reasons.sid_mismatch?
        verdict strong_altsec dave_explicit - - 200 outcome=allow mapping.strength=strong \
            mapping.method=X509IssuerSerialNumber account.sam=dave resolved_by=explicit_mapping
        # Samba 4.24's KDC passes the binding check (strong mapping) but then needs a UPN SAN
        # naming the account; this certificate has none (75, as a real 4.24 KDC answers)
        verdict strong_altsec_samba dave_explicit - samba 200 outcome=deny kdc_error.code=75 \
            profiles.samba.mapping.method=X509IssuerSerialNumber reasons.samba_upn_required?
        verdict weak_altsec erin_explicit - - 200 outcome=deny kdc_error.code=66 event.id=39 \
            account.sam=erin resolved_by=explicit_mapping mapping.strength=weak \
            mapping.method=X509IssuerSubject "remediation.altsecurityidentities=$ERIN_STRONG"
        verdict disabled_account bob_sid - - 200 outcome=deny kdc_error.code=18 \
            kdc_error.name=KDC_ERR_CLIENT_REVOKED account.sam=bob account.enabled=false
        verdict expired alice_expired - - 200 outcome=deny kdc_error.code=71
        verdict computer_dns_san ws01 - - 200 outcome=allow mapping.method=sid_extension \
            'account.sam=WS01$' account.computer=true resolved_by=dns_san
        verdict issuer_not_in_ntauth rogue_alice - - 200 outcome=deny kdc_error.code=62 \
            ntauth.known=true ntauth.issuer_trusted=false
        verdict unknown_account nobody - - 200 outcome=deny kdc_error.code=6
        verdict server_auth_eku_only alice_server_eku - - 200 outcome=deny kdc_error.code=77
        verdict account_only - alice - 200 account.sam=alice outcome=allow
        http account_status GET /v1/accounts/alice
        expect account_status 200 account.sam=alice "account.sid=${SID[alice]}" status=ready \
            certificates.0.outcome=allow
        http account_status_samba GET '/v1/accounts/alice?profile=samba'
        expect account_status_samba 200 account.sam=alice status=ready 'profiles=["samba"]'
        http account_status_strong_altsec GET /v1/accounts/dave
        expect account_status_strong_altsec 200 account.sam=dave status=ready \
            "altsecurityidentities.0.value=$DAVE_ALTSEC"
        http account_status_weak_altsec GET /v1/accounts/erin
        expect account_status_weak_altsec 200 account.sam=erin status=at_risk reasons.no_strong_path?
        http account_status_computer GET "/v1/accounts/WS01\$"
        expect account_status_computer 200 'account.sam=WS01$' account.computer=true \
            "account.dns_host_name=ws01.$REALM_LC"
        http account_status_disabled GET /v1/accounts/bob
        expect account_status_disabled 200 account.sam=bob status=blocked
        http account_status_by_sid GET "/v1/accounts/${SID[carol]}"
        expect account_status_by_sid 200 account.sam=carol
        http account_status_missing GET /v1/accounts/nobody
        expect account_status_missing 200 account=null status=blocked
        http readyz GET /readyz
        expect readyz 200 status=ready directory.kind=ldap directory.state=up
        stop_daemon ldaps
    fi

    # ---- AD also takes a UPN (or DOMAIN\\name) as the simple bind name, as administrators write it
    CUR=ldaps-upn-bind
    if start_daemon ldaps-upn-bind -- --ldap-uri ldaps://127.0.0.1 --ldap-base "$BASE" \
        --ldap-bind-dn "$ADMIN_UPN" --ldap-password-file "$WORK/ldap.pw" --ldap-ca-file "$PKI/tls_ca.pem"; then
        http readyz GET /readyz
        expect readyz 200 status=ready
        verdict sid_extension alice_sid - - 200 outcome=allow mapping.method=sid_extension
        stop_daemon ldaps-upn-bind
    fi

    # ---- wrong password: the verdict is a directory error, not a crash or an "allow"
    CUR=badpw
    printf 'wrong-password' >"$WORK/bad.pw"
    chmod 600 "$WORK/bad.pw" # strongmapd refuses a password file others can read
    if start_daemon badpw -- --ldap-uri ldaps://127.0.0.1 --ldap-base "$BASE" --ldap-bind-dn "$ADMIN_DN" \
        --ldap-password-file "$WORK/bad.pw" --ldap-ca-file "$PKI/tls_ca.pem"; then
        http readyz GET /readyz
        expect readyz 503 status=503 type=/problems/directory-refused
        verdict refused alice_sid - - 503 status=503 type=/problems/directory-refused
        stop_daemon badpw
    fi

    # ---- a CA that did not issue the DC's certificate: TLS fails, never an answer
    CUR=wrong-ca
    if start_daemon wrong-ca -- --ldap-uri ldaps://127.0.0.1 --ldap-base "$BASE" --ldap-bind-dn "$ADMIN_DN" \
        --ldap-password-file "$WORK/ldap.pw" --ldap-ca-file "$PKI/rogue_ca.pem"; then
        http readyz GET /readyz
        expect readyz 503 status=503 'type~^/problems/directory-(refused|unavailable)$'
        verdict tls_untrusted alice_sid - - 503 status=503 'type~^/problems/directory-(refused|unavailable)$'
        stop_daemon wrong-ca
    fi

    # ---- StartTLS on ldap://, a fleet of profiles, no lookup cache: the remediation the daemon
    # proposes for the UPN-only certificate, written to the account, makes it map strongly
    CUR=starttls
    if start_daemon starttls -- --ldap-uri ldap://127.0.0.1 --ldap-starttls --ldap-base "$BASE" \
        --ldap-bind-dn "$ADMIN_DN" --ldap-password-file "$WORK/ldap.pw" --ldap-ca-file "$PKI/tls_ca.pem" \
        --cache-size 0 --profile windows-2019 --profile samba; then
        http readyz GET /readyz
        expect readyz 200 status=ready
        verdict sid_extension alice_sid - - 200 outcome=allow mapping.method=sid_extension \
            profiles.windows-2019.outcome=allow profiles.samba.outcome=allow
        verdict upn_only alice_upn - - 200 outcome=deny kdc_error.code=66 event.id=39
        fix=$("${JCHECK[@]}" --get "$RESP" remediation.altsecurityidentities 2>/dev/null || true)
        printf 'dn: %s\nchangetype: modify\nadd: altSecurityIdentities\naltSecurityIdentities: %s\n' \
            "$DN_ALICE" "$fix" >"$WORK/fix.ldif"
        if [ -n "$fix" ] && ldap_as_admin ldapmodify -f "$WORK/fix.ldif" >>"$LOG" 2>&1; then
            verdict upn_only_after_remediation alice_upn - windows-2022,samba 200 outcome=allow \
                mapping.strength=strong mapping.method=X509IssuerSerialNumber \
                profiles.samba.outcome=allow
            sed -i 's/^add: /delete: /' "$WORK/fix.ldif"
            ldap_as_admin ldapmodify -f "$WORK/fix.ldif" >>"$LOG" 2>&1 ||
                fail "$CUR: removing the remediation value from alice" "$(tail -n 3 "$LOG")"
        else
            fail "$CUR: upn_only_after_remediation" "could not add altSecurityIdentities '$fix' to alice" \
                "$(tail -n 3 "$LOG")"
        fi
        stop_daemon starttls
    fi

    # ---- mapping write-back (docs/write-back.md) with the CLI: read as svc-strongmap, write as
    # Administrator over ldaps; a dry run writes nothing, --apply makes the UPN-only certificate
    # map strongly (the verdict turns to allow), the same add again is a no-op, the duplicate and
    # foreign-SID refusals, one exact value removed; every --apply in the audit log
    CUR=mapwrite
    printf '%s' "$USER_PW" >"$WORK/svc.pw"
    chmod 600 "$WORK/svc.pw"
    MAPLOG=$WORK/mapwrite.jsonl
    MAP_DIR=(--ldap-uri ldaps://127.0.0.1 --ldap-base "$BASE" --ldap-ca-file "$PKI/tls_ca.pem"
        --ldap-bind-dn "svc-strongmap@$REALM_LC" --ldap-password-file "$WORK/svc.pw")
    MAP_WRITE=(--apply --audit-log "$MAPLOG" --write-bind-dn "$ADMIN_DN" --write-password-file "$WORK/ldap.pw")
    # map NAME STATUS EXPR... -- ARGS...: strongmap map ARGS, its exit status and JSON checked
    map() {
        local name=$1 status=$2 rc=0
        shift 2
        local -a exprs=()
        while [ "$1" != -- ]; do exprs+=("$1"); shift; done
        shift
        "$CLI" map "$@" "${MAP_DIR[@]}" >"$WORK/map-$name.json" 2>"$WORK/map-$name.err" || rc=$?
        if [ "$rc" != "$status" ]; then
            fail "$CUR: $name: exit $rc, expected $status" "$(head -c 600 "$WORK/map-$name.err")"
        elif out=$("${JCHECK[@]}" "$WORK/map-$name.json" "${exprs[@]}" 2>&1); then
            pass "$CUR: $name"
        else
            fail "$CUR: $name" "$out"
        fi
    }
    # alice_values: alice's altSecurityIdentities as Samba holds them, one a line
    alice_values() {
        ldap_as_admin ldapsearch -o ldif-wrap=no -b "$DN_ALICE" -s base altSecurityIdentities 2>>"$LOG" |
            awk '/^altSecurityIdentities: /{sub(/^altSecurityIdentities: /, ""); print}'
    }
    # cli_verdict NAME STATUS: strongmap verdict on alice_upn.pem against Samba, its exit status
    cli_verdict() {
        local rc=0
        "$CLI" verdict "$PKI/alice_upn.pem" "${MAP_DIR[@]}" >"$WORK/map-verdict-$1.json" 2>>"$LOG" || rc=$?
        if [ "$rc" = "$2" ]; then pass "$CUR: verdict $1 (exit $rc)"; else fail "$CUR: verdict $1: exit $rc, expected $2"; fi
    }
    before=$(alice_values)
    cli_verdict before 3
    map dry_run 0 outcome=would_add apply=false "value=$ALICE_UPN_STRONG" -- add alice --cert "$PKI/alice_upn.pem"
    [ "$(alice_values)" = "$before" ] && pass "$CUR: the dry run wrote nothing" ||
        fail "$CUR: the dry run changed alice" "$(alice_values)"
    map apply 0 outcome=added changed=true "value=$ALICE_UPN_STRONG" -- add alice --cert "$PKI/alice_upn.pem" "${MAP_WRITE[@]}"
    alice_values | grep -qxF "$ALICE_UPN_STRONG" && pass "$CUR: Samba holds the value" ||
        fail "$CUR: the value is not in alice's altSecurityIdentities" "$(alice_values)"
    cli_verdict after_apply 0
    map again 0 outcome=present changed=false -- add alice --cert "$PKI/alice_upn.pem" "${MAP_WRITE[@]}"
    map duplicate 3 outcome=refused refusal.code=duplicate "refusal.holders.0~(?i)^CN=alice," -- add carol --cert "$PKI/alice_upn.pem" "${MAP_WRITE[@]}"
    map foreign_sid 3 outcome=refused refusal.code=foreign_sid -- add carol --cert "$PKI/alice_sid.pem" --type X509SKI "${MAP_WRITE[@]}"
    map remove 0 outcome=removed "value=$ALICE_UPN_STRONG" -- remove alice --value "$ALICE_UPN_STRONG" "${MAP_WRITE[@]}"
    [ "$(alice_values)" = "$before" ] && pass "$CUR: alice holds what she held before" ||
        fail "$CUR: alice's values after the removal" "$(alice_values)"
    cli_verdict after_remove 3
    if out=$("$PY" - "$MAPLOG" <<'PYEOF' 2>&1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
got = [(l["phase"], l["outcome"]) for l in lines]
want = [("intent", "would_add"), ("result", "added"), ("result", "present"),
        ("result", "refused"), ("result", "refused"), ("intent", "would_remove"),
        ("result", "removed")]
assert got == want, got
assert all(l["actor"]["kind"] == "cli" and l["account"] for l in lines), lines
PYEOF
    ); then
        pass "$CUR: audit log"
    else
        fail "$CUR: audit log" "$out"
    fi

    # ---- strongmap audit (docs/audit.md) against Samba's paged results: the same lines with
    # pages of one entry as with one page; alice's published certificate, dave's strong value,
    # erin's weak one; --since against the whenChanged Samba keeps (none after tomorrow, all
    # since 2000)
    CUR=audit
    audit_run() { # audit_run NAME STATUS ARGS...: strongmap audit, its exit status checked
        local name=$1 status=$2 rc=0
        shift 2
        "$CLI" audit "${MAP_DIR[@]}" --progress 0 "$@" >"$WORK/audit-$name.jsonl" \
            2>"$WORK/audit-$name.err" || rc=$?
        if [ "$rc" = "$status" ]; then
            pass "$CUR: $name (exit $rc)"
        else
            fail "$CUR: $name: exit $rc, expected $status" "$(head -c 600 "$WORK/audit-$name.err")"
        fi
    }
    audit_run page1 0 --page-size 1
    audit_run page1000 0 --page-size 1000
    audit_run since_2000 0 --since 2000-01-01T00:00:00Z
    audit_run since_tomorrow 0 --since "$(date -u -d tomorrow +%Y-%m-%dT%H:%M:%SZ)"
    audit_run fail_on 3 --fail-on at_risk
    if out=$("$PY" - "$WORK" <<'PYEOF' 2>&1
import json, os, sys
def lines(name):
    with open(os.path.join(sys.argv[1], f"audit-{name}.jsonl")) as f:
        return [json.loads(l) for l in f]
one, many = lines("page1"), lines("page1000")
assert one == many, "pages of 1 and of 1000 differ"
summary, accounts = one[-1], {d["sam"].lower(): d for d in one[:-1]}
assert summary["summary"] and not summary["partial"], summary
assert summary["accounts"] == len(accounts) >= 3, summary
assert len(accounts["alice"]["certificates"]) == 1, accounts["alice"]
assert accounts["dave"]["status"] == "ready", accounts["dave"]["status"]
assert accounts["dave"]["altsecurityidentities"][0]["strength"] == "strong"
assert accounts["erin"]["status"] == "at_risk", accounts["erin"]["status"]
assert all(d["when_changed"] for d in accounts.values()), "Samba keeps whenChanged"
assert lines("since_2000") == one, "--since 2000 left accounts out"
assert lines("since_tomorrow")[-1]["accounts"] == 0, lines("since_tomorrow")[-1]
PYEOF
    ); then
        pass "$CUR: paged walk, accounts, --since"
    else
        fail "$CUR: paged walk, accounts, --since" "$out"
    fi

    # ---- GSSAPI over ldap:// (sealed): a ticket cache from kinit, then only the client keytab
    if [ "$GSS_OK" = 1 ]; then
        GSS_ARGS=(--ldap-uri "ldap://$GSS_HOST" --ldap-base "$BASE" --ldap-sasl-mech GSSAPI)
        CUR=gssapi-ccache
        if start_daemon gssapi-ccache "KRB5_CONFIG=$KRB5_CONF_FILE" "KRB5CCNAME=FILE:$WORK/krb5cc.kinit" \
            -- "${GSS_ARGS[@]}"; then
            http readyz GET /readyz
            expect readyz 200 status=ready
            verdict sid_extension alice_sid - - 200 outcome=allow mapping.method=sid_extension account.sam=alice
            verdict strong_altsec dave_explicit - - 200 outcome=allow mapping.method=X509IssuerSerialNumber
            stop_daemon gssapi-ccache
        fi
        CUR=gssapi-keytab
        : >"$WORK/krb5cc.empty"
        rm -f "$WORK/krb5cc.keytab"
        if start_daemon gssapi-keytab "KRB5_CONFIG=$KRB5_CONF_FILE" "KRB5_CLIENT_KTNAME=$WORK/svc.keytab" \
            "KRB5CCNAME=FILE:$WORK/krb5cc.keytab" -- "${GSS_ARGS[@]}"; then
            verdict sid_extension alice_sid - - 200 outcome=allow mapping.method=sid_extension account.sam=alice
            stop_daemon gssapi-keytab
            # the credentials came from the client keytab, into the (empty) cache named for it
            if KRB5_CONFIG=$KRB5_CONF_FILE KRB5CCNAME=FILE:$WORK/krb5cc.keytab klist 2>>"$LOG" |
                grep -q "Default principal: $SVC_PRINCIPAL"; then
                pass "$CUR: tickets for $SVC_PRINCIPAL obtained from KRB5_CLIENT_KTNAME"
            else
                fail "$CUR: no ticket cache for $SVC_PRINCIPAL in KRB5CCNAME after the run"
            fi
        fi
    else
        fail "gssapi: daemon checks not run (the Kerberos setup above failed)"
    fi
fi

# ---------------------------------------------------------------- end
if [ "$HOLD" != 0 ]; then
    say "holding Samba for $HOLD s (. $WORK/env.sh)"
    sleep "$HOLD" &
    HOLD_PID=$!
    wait "$HOLD_PID" || true # interruptible: a signal runs the trap at once (teardown ends the sleep)
    HOLD_PID=
fi
[ "$FAIL" -eq 0 ] && finish 0
finish 1
