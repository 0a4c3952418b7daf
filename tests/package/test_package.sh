#!/usr/bin/env bash
# tests/package: build the Debian package with cpack from a configured, built tree and check it:
# contents, control fields and Depends, conffiles, maintainer scripts, the units (hardening
# score, systemd-analyze verify), sysusers.d and tmpfiles.d, and lint of every man page.
# Usage: test_package.sh CPACK BUILD_DIR SOURCE_DIR SCRATCH_DIR
# Needs: cpack, dpkg-deb, dpkg-shlibdeps (dpkg-dev), systemd-analyze, systemd-sysusers and
# systemd-tmpfiles (systemd), mandoc, groff (groff-base); every one missing is a failure.
set -euo pipefail

cpack=$1 build=$2 src=$3 scratch=$4
max_exposure=2.0
failures=()
fail() {
    failures+=("$*")
    echo "FAIL: $*" >&2
}
ok() { echo "ok: $*"; }

for tool in "$cpack" dpkg-deb dpkg-shlibdeps systemd-analyze systemd-sysusers systemd-tmpfiles \
    mandoc groff gzip; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh)"
done
[ ${#failures[@]} -eq 0 ] || exit 1

rm -rf "$scratch"
mkdir -p "$scratch"
if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$scratch" >"$scratch/cpack.log" 2>&1; then
    cat "$scratch/cpack.log" >&2
    echo "FAIL: cpack -G DEB" >&2
    exit 1
fi
shopt -s nullglob
debs=("$scratch"/*.deb)
if [ ${#debs[@]} -ne 1 ]; then
    echo "FAIL: expected one .deb in $scratch, found ${#debs[@]}" >&2
    exit 1
fi
deb=${debs[0]}
ok "cpack built $(basename "$deb")"

# ---- contents ------------------------------------------------------------------------------
# "mode owner path" per entry, paths without the leading "."
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }' >"$scratch/contents"
has() { # has MODE PATH
    awk -v m="$1" -v p="$2" '$1 == m && $3 == p { f = 1 } END { exit !f }' "$scratch/contents" ||
        fail "the package lacks $2 (mode $1)"
}
exe='-rwxr-xr-x' file='-rw-r--r--'
has "$exe" /usr/sbin/strongmapd
has "$exe" /usr/bin/strongmap
has "$file" /usr/lib/systemd/system/strongmapd.service
has "$file" /usr/lib/systemd/system/strongmapd.socket
has "$file" /usr/lib/sysusers.d/strongmapd.conf
has "$file" /usr/lib/tmpfiles.d/strongmapd.conf
has "$file" /usr/share/man/man8/strongmapd.8.gz
has "$file" /usr/share/man/man1/strongmap.1.gz
if [ -e "$src/daemon/strongmapd.conf.5" ]; then
    has "$file" /usr/share/man/man5/strongmapd.conf.5.gz
else
    echo "note: daemon/strongmapd.conf.5 does not exist yet: not looked for"
fi
# nothing outside /usr and /etc, nothing from a /usr/local prefix, all root's, no man page
# left uncompressed
awk '$3 !~ /^\/(usr|etc)\// && $3 !~ /^\/(usr|etc)?\/?$/ { print "outside /usr and /etc: " $3 }
     $3 ~ /^\/usr\/local\// { print "under /usr/local: " $3 }
     $2 != "root/root" { print "not owned by root: " $2 " " $3 }
     $3 ~ /^\/usr\/share\/man\/.*\.[1-9]$/ { print "man page not compressed: " $3 }' \
    "$scratch/contents" >"$scratch/bad-paths"
if [ -s "$scratch/bad-paths" ]; then
    while read -r line; do fail "$line"; done <"$scratch/bad-paths"
fi

# ---- control fields ------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ "$(field Package)" = strongmapd ] || fail "Package: $(field Package)"
[ "$(field Section)" = net ] || fail "Section: $(field Section)"
[ "$(field Version)" = "$version-1" ] || fail "Version: $(field Version), expected $version-1"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
[[ "$(field Maintainer)" =~ ^[^\<]+\ \<[^@\>]+@[^\>]+\>$ ]] || fail "Maintainer: $(field Maintainer)"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 libjansson4 'libmicrohttpd[0-9]+' 'libldap-[0-9.]+-[0-9]+' \
    'libmbedx509-[0-9]+' 'libmbedcrypto[0-9]+'; do
    [[ ", $depends," =~ ,\ $lib\ \(\>=\ [^\)]+\), ]] || fail "Depends lacks a versioned $lib"
done
[[ "$depends" =~ (^|,\ )systemd\ \|\ [^,]*systemd-sysusers ]] || fail "Depends lacks systemd-sysusers"
[[ "$depends" =~ (^|,\ )systemd\ \|\ [^,]*systemd-tmpfiles ]] || fail "Depends lacks systemd-tmpfiles"
if [[ "$depends" =~ (libasan|libubsan|libcmocka|-dev\ ) ]]; then
    fail "Depends names a test or development package: $depends"
fi

# ---- conffiles -----------------------------------------------------------------------------
dpkg-deb -e "$deb" "$scratch/DEBIAN"
if [ -e "$src/examples/strongmapd.conf" ]; then
    has "$file" /etc/strongmapd/strongmapd.conf
    if [ "$(cat "$scratch/DEBIAN/conffiles" 2>/dev/null)" = /etc/strongmapd/strongmapd.conf ]; then
        ok "conffiles: /etc/strongmapd/strongmapd.conf"
    else
        fail "conffiles is not exactly /etc/strongmapd/strongmapd.conf"
    fi
else
    echo "note: examples/strongmapd.conf does not exist yet: no conffile looked for"
    [ ! -e "$scratch/DEBIAN/conffiles" ] || fail "conffiles without an example configuration"
fi

# ---- maintainer scripts --------------------------------------------------------------------
for s in postinst prerm postrm; do
    f=$scratch/DEBIAN/$s
    if [ ! -x "$f" ]; then
        fail "no executable $s"
        continue
    fi
    sh -n "$f" || fail "$s: sh syntax"
    if command -v shellcheck >/dev/null; then
        shellcheck -s sh "$f" || fail "$s: shellcheck"
    fi
done
pi=$scratch/DEBIAN/postinst
grep -Eq '^[[:space:]]*systemd-sysusers strongmapd\.conf' "$pi" || fail "postinst: no systemd-sysusers"
grep -Eq '^[[:space:]]*systemd-tmpfiles --create strongmapd\.conf' "$pi" || fail "postinst: no systemd-tmpfiles --create"
grep -q 'daemon-reload' "$pi" || fail "postinst: no daemon-reload"
# installing must not enable or start anything
if sed 's/#.*//' "$pi" | grep -Eq '(systemctl|deb-systemd-invoke|deb-systemd-helper).*[[:space:]](start|enable|restart|reload-or-restart)([[:space:]]|$)'; then
    fail "postinst enables or starts a unit"
fi
grep -Eq 'deb-systemd-invoke stop strongmapd\.socket strongmapd\.service' "$scratch/DEBIAN/prerm" ||
    fail "prerm does not stop the socket and the service"

# ---- the units -----------------------------------------------------------------------------
root=$scratch/root
dpkg-deb -x "$deb" "$root"
unitdir=$root/usr/lib/systemd/system
svc=$unitdir/strongmapd.service
if [ -f "$svc" ]; then
    sec=$(systemd-analyze security --offline=yes "$svc" 2>&1) || true
    exposure=$(sed -n 's/.*Overall exposure level for strongmapd\.service: \([0-9.]*\).*/\1/p' <<<"$sec")
    if [ -z "$exposure" ]; then
        echo "$sec" >&2
        fail "systemd-analyze security gave no exposure level"
    elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
        echo "$sec" >&2
        fail "exposure $exposure is above $max_exposure"
    else
        ok "systemd-analyze security --offline=yes: exposure $exposure (at most $max_exposure)"
    fi
    grep -qx 'Type=notify' "$svc" || fail "the service is not Type=notify"
    grep -qx 'NotifyAccess=main' "$svc" || fail "the service lacks NotifyAccess=main"
    grep -qx 'User=strongmapd' "$svc" || fail "the service does not run as strongmapd"
    # no core dump may hold the TLS key or the bind password (the daemon is also not dumpable)
    grep -qx 'LimitCORE=0' "$svc" || fail "the service lacks LimitCORE=0"
    grep -Eq '^ExecStart=/usr/sbin/strongmapd -c /etc/strongmapd/strongmapd\.conf$' "$svc" ||
        fail "ExecStart is not strongmapd -c /etc/strongmapd/strongmapd.conf"
    grep -Eq '^ExecStartPre=/usr/sbin/strongmapd -n -c /etc/strongmapd/strongmapd\.conf$' "$svc" ||
        fail "no ExecStartPre configuration check"
    # shellcheck disable=SC2016 # $MAINPID is systemd's
    grep -Fqx 'ExecReload=/bin/kill -HUP $MAINPID' "$svc" || fail "ExecReload does not send SIGHUP"
    # the socket is optional: the service must not require it, nor bind an address itself
    if grep -Eq '^(Requires|BindsTo|Sockets)=.*strongmapd\.socket' "$svc"; then
        fail "the service requires its socket"
    fi
    if grep -Eq '^ExecStart=.*(-l|--listen)' "$svc"; then
        fail "ExecStart names a listen address (the socket or the configuration does)"
    fi
    sock=$unitdir/strongmapd.socket
    grep -qx 'ListenStream=127.0.0.1:8080' "$sock" || fail "the socket does not listen on 127.0.0.1:8080"
    grep -qx 'Accept=no' "$sock" || fail "the socket is not Accept=no"

    # verify: the units as installed, the binary's path pointing into the extracted package
    # (verify checks that ExecStart= programs exist); man: links are checked above, by file
    mkdir -p "$scratch/verify"
    for u in strongmapd.service strongmapd.socket; do
        sed "s#/usr/sbin/strongmapd#$root/usr/sbin/strongmapd#g" "$unitdir/$u" >"$scratch/verify/$u"
    done
    if out=$(systemd-analyze verify --man=no "$scratch/verify/strongmapd.service" \
        "$scratch/verify/strongmapd.socket" 2>&1) && [ -z "$out" ]; then
        ok "systemd-analyze verify: service and socket"
    else
        echo "$out" >&2
        fail "systemd-analyze verify"
    fi
fi

# ---- sysusers.d and tmpfiles.d, applied to an empty root -----------------------------------
sysroot=$scratch/sysroot
mkdir -p "$sysroot/etc" "$sysroot/var/log" "$sysroot/usr/lib"
touch "$sysroot/etc/passwd" "$sysroot/etc/group" "$sysroot/etc/shadow" "$sysroot/etc/gshadow"
cp -r "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$sysroot/usr/lib/"
if systemd-sysusers --root="$sysroot" strongmapd.conf >/dev/null 2>&1 &&
    uid=$(awk -F: '$1 == "strongmapd" { print $3 }' "$sysroot/etc/passwd") && [ -n "$uid" ] &&
    gid=$(awk -F: '$1 == "strongmapd" { print $3 }' "$sysroot/etc/group") && [ -n "$gid" ]; then
    ok "sysusers.d: user strongmapd ($uid:$gid), $(awk -F: '$1 == "strongmapd" { print $7 }' "$sysroot/etc/passwd")"
    if [ "$(id -u)" -eq 0 ]; then
        # tmpfiles.d chowns, so only root can apply it
        systemd-tmpfiles --root="$sysroot" --create strongmapd.conf || fail "systemd-tmpfiles --create"
        for want in "etc/strongmapd 750 0:$gid" "var/log/strongmapd 750 $uid:$gid"; do
            read -r path mode owner <<<"$want"
            got=$(stat -c '%a %u:%g' "$sysroot/$path" 2>/dev/null) || got=missing
            [ "$got" = "$mode $owner" ] || fail "tmpfiles.d: /$path is $got, expected $mode $owner"
        done
        ok "tmpfiles.d: /etc/strongmapd and /var/log/strongmapd"
    else
        echo "note: not root: tmpfiles.d not applied"
    fi
else
    fail "systemd-sysusers did not create the user strongmapd"
fi

# ---- man pages: no warnings from mandoc nor groff ------------------------------------------
pages=("$root"/usr/share/man/man*/*.gz)
[ ${#pages[@]} -gt 0 ] || fail "no man pages"
for page in "${pages[@]}"; do
    name=${page#"$root"}
    out=$(mandoc -Tlint -W warning "$page" 2>&1) || true
    [ -z "$out" ] || fail "mandoc -Tlint: $name: $out"
    out=$(gzip -dc "$page" | groff -man -Tutf8 -ww -z 2>&1) || true
    [ -z "$out" ] || fail "groff -ww: $name: $out"
    if [ -z "$(gzip -dc "$page" | groff -man -Tutf8 2>/dev/null | head -c 1)" ]; then
        fail "$name renders to nothing"
    fi
done
ok "linted ${#pages[@]} man pages: ${pages[*]#"$root/usr/share/man/"}"

echo "package contents:"
awk '$1 !~ /^d/ { print "  " $3 }' "$scratch/contents"
if [ ${#failures[@]} -ne 0 ]; then
    printf '\n%d failure(s):\n' "${#failures[@]}" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "package checks passed"
