#!/usr/bin/env bash
# tests/package: build the Debian packages with cpack from a configured, built tree and check
# them: strongmapd (daemon, CLI, units, man pages, conffile) and libstrongmap-dev (libstrongmap.a
# and its headers). Their contents, control fields and Depends, conffiles, maintainer scripts,
# the units (hardening score, systemd-analyze verify), sysusers.d and tmpfiles.d, lint of every
# man page, the copyright file (DEP-5) and changelog.Debian.gz, lintian (no error, no warning:
# packaging/*.lintian-overrides says why each overridden tag is), and a program built against
# the -dev package with exactly the -dev packages it Depends on.
# Usage: test_package.sh CPACK BUILD_DIR SOURCE_DIR SCRATCH_DIR
# Needs: cpack, dpkg-deb, dpkg-shlibdeps and dpkg-parsechangelog (dpkg-dev), lintian,
# python3-debian, systemd-analyze, systemd-sysusers and systemd-tmpfiles (systemd), mandoc,
# groff (groff-base), readelf (binutils), a C compiler; every one missing is a failure.
set -euo pipefail

cpack=$1 build=$2 src=$3 scratch=$4
max_exposure=2.0
failures=()
fail() {
    failures+=("$*")
    echo "FAIL: $*" >&2
}
ok() { echo "ok: $*"; }

cc=${CC:-cc}
for tool in "$cpack" dpkg-deb dpkg-shlibdeps dpkg-parsechangelog lintian systemd-analyze \
    systemd-sysusers systemd-tmpfiles mandoc groff gzip readelf "$cc"; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh)"
done
# python3-debian is the Debian python's module (a python3 earlier in PATH may not have it)
/usr/bin/python3 -c 'import debian.copyright' 2>/dev/null ||
    fail "python3-debian is not installed (scripts/deps.sh)"
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
debname=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")-1_$(dpkg --print-architecture).deb
deb=$scratch/strongmapd_$debname
devdeb=$scratch/libstrongmap-dev_$debname
if [ ${#debs[@]} -ne 2 ] || [ ! -f "$deb" ] || [ ! -f "$devdeb" ]; then
    echo "FAIL: expected $(basename "$deb") and $(basename "$devdeb"), found: ${debs[*]##*/}" >&2
    exit 1
fi
ok "cpack built $(basename "$deb") and $(basename "$devdeb")"

# ---- contents ------------------------------------------------------------------------------
# "mode owner path" per entry, paths without the leading "."
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }' >"$scratch/contents"
dpkg-deb -c "$devdeb" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }' >"$scratch/contents-dev"
has() { # has MODE PATH [CONTENTS]: strongmapd's contents unless told
    local in=${3:-$scratch/contents}
    awk -v m="$1" -v p="$2" '$1 == m && $3 == p { f = 1 } END { exit !f }' "$in" ||
        fail "$(basename "$in"): the package lacks $2 (mode $1)"
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
has "$file" /usr/share/doc/strongmapd/copyright
has "$file" /usr/share/doc/strongmapd/changelog.Debian.gz
has "$file" /usr/share/lintian/overrides/strongmapd
# the library's files are libstrongmap-dev's only
if grep -Eq ' /usr/include/.| /usr/lib/.*\.(a|so)$' "$scratch/contents"; then
    fail "strongmapd holds development files: $(grep -E ' /usr/include/.| /usr/lib/.*\.(a|so)$' "$scratch/contents" | awk '{ print $3 }' | tr '\n' ' ')"
fi

# libstrongmap-dev: every public header, the static library, its doc files, and nothing else
for h in "$src"/include/strongmap/*.h; do
    has "$file" "/usr/include/strongmap/${h##*/}" "$scratch/contents-dev"
done
devlib=$(awk '$3 ~ /^\/usr\/lib\/([^/]+\/)?libstrongmap\.a$/ { print $3 }' "$scratch/contents-dev")
if [ -n "$devlib" ]; then
    has "$file" "$devlib" "$scratch/contents-dev"
else
    fail "libstrongmap-dev lacks /usr/lib/[TRIPLET/]libstrongmap.a"
fi
has "$file" /usr/share/doc/libstrongmap-dev/copyright "$scratch/contents-dev"
has "$file" /usr/share/doc/libstrongmap-dev/changelog.Debian.gz "$scratch/contents-dev"
has "$file" /usr/share/lintian/overrides/libstrongmap-dev "$scratch/contents-dev"
awk -v lib="$devlib" '$1 !~ /^d/ && $3 !~ /^\/usr\/include\/strongmap\/[^/]+\.h$/ && $3 != lib &&
     $3 !~ /^\/usr\/share\/(doc|lintian\/overrides)\/libstrongmap-dev/ { print $3 }' \
    "$scratch/contents-dev" >"$scratch/dev-extra"
[ ! -s "$scratch/dev-extra" ] || fail "libstrongmap-dev holds more: $(tr '\n' ' ' <"$scratch/dev-extra")"

# nothing outside /usr and /etc, nothing from a /usr/local prefix, all root's, no man page
# left uncompressed
for c in "$scratch/contents" "$scratch/contents-dev"; do
    awk -v pkg="$(basename "$c")" '
     $3 !~ /^\/(usr|etc)\// && $3 !~ /^\/(usr|etc)?\/?$/ { print pkg ": outside /usr and /etc: " $3 }
     $3 ~ /^\/usr\/local\// { print pkg ": under /usr/local: " $3 }
     $2 != "root/root" { print pkg ": not owned by root: " $2 " " $3 }
     $3 ~ /^\/usr\/share\/man\/.*\.[1-9]$/ { print pkg ": man page not compressed: " $3 }' \
        "$c" >"$scratch/bad-paths"
    if [ -s "$scratch/bad-paths" ]; then
        while read -r line; do fail "$line"; done <"$scratch/bad-paths"
    fi
done

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

devfield() { dpkg-deb -f "$devdeb" "$1"; }
[ "$(devfield Package)" = libstrongmap-dev ] || fail "libstrongmap-dev: Package: $(devfield Package)"
[ "$(devfield Source)" = strongmapd ] || fail "libstrongmap-dev: Source: $(devfield Source)"
[ "$(devfield Section)" = libdevel ] || fail "libstrongmap-dev: Section: $(devfield Section)"
[ "$(devfield Priority)" = optional ] || fail "libstrongmap-dev: Priority: $(devfield Priority)"
[ "$(field Priority)" = optional ] || fail "Priority: $(field Priority)"
[ "$(devfield Version)" = "$version-1" ] || fail "libstrongmap-dev: Version: $(devfield Version)"
[ "$(devfield Architecture)" = "$(dpkg --print-architecture)" ] ||
    fail "libstrongmap-dev: Architecture: $(devfield Architecture)"
[ "$(devfield Maintainer)" = "$(field Maintainer)" ] || fail "libstrongmap-dev: Maintainer: $(devfield Maintainer)"
# (sed, not head: head would close the pipe early, and pipefail see dpkg-deb's SIGPIPE)
synopsis=$(field Description | sed -n 1p) devsynopsis=$(devfield Description | sed -n 1p)
[ "$devsynopsis" != "$synopsis" ] || fail "both packages have the synopsis: $synopsis"
[[ "$devsynopsis" == *"static library and headers"* ]] || fail "libstrongmap-dev: synopsis: $devsynopsis"
devdepends=$(devfield Depends)
echo "libstrongmap-dev Depends: $devdepends"
for dev in libldap-dev libmbedtls-dev nettle-dev libgmp-dev libexpat1-dev; do
    [[ ", $devdepends," =~ ,\ ${dev}[\ ,] ]] || fail "libstrongmap-dev: Depends lacks $dev"
done
[[ "$devdepends" =~ libmbedtls-dev\ \(\>=\ [0-9]+\.[0-9]+\),\ libmbedtls-dev\ \(\<\<\ [0-9]+\.[0-9]+\) ]] ||
    fail "libstrongmap-dev: Depends does not bound libmbedtls-dev to the MAJOR.MINOR it was built with"
if [[ "$devdepends" =~ (^|,\ )(strongmapd|systemd|libjansson|libmicrohttpd|libasan|libubsan|libcmocka) ]]; then
    fail "libstrongmap-dev Depends on what libstrongmap.a does not use: $devdepends"
fi

# ---- conffiles -----------------------------------------------------------------------------
dpkg-deb -e "$deb" "$scratch/DEBIAN"
dpkg-deb -e "$devdeb" "$scratch/DEBIAN-dev"
for f in conffiles preinst postinst prerm postrm config triggers shlibs symbols; do
    [ ! -e "$scratch/DEBIAN-dev/$f" ] || fail "libstrongmap-dev has a $f"
done
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
    # verify also loads the machine's other units and warns about theirs (Debian's own
    # freeradius.service: "MemoryLimit=" is deprecated): only what it says of ours counts
    if out=$(systemd-analyze verify --man=no "$scratch/verify/strongmapd.service" \
        "$scratch/verify/strongmapd.socket" 2>&1); then
        out=$(grep -F -e strongmapd <<<"$out" || true)
    fi
    if [ -z "$out" ]; then
        ok "systemd-analyze verify: service and socket"
    else
        echo "$out" >&2
        fail "systemd-analyze verify"
    fi
fi

# ---- the programs: full RELRO (GOT read-only after start-up: -z relro -z now) ---------------
for prog in usr/sbin/strongmapd usr/bin/strongmap; do
    if [ ! -f "$root/$prog" ]; then
        continue # reported above
    fi
    dyn=$(readelf -dW "$root/$prog") hdr=$(readelf -lW "$root/$prog")
    if grep -q GNU_RELRO <<<"$hdr" && grep -Eq '\(FLAGS_1\).* NOW( |$)' <<<"$dyn"; then
        ok "/$prog: full RELRO"
    else
        fail "/$prog is not linked with -z relro -z now"
    fi
done

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

# ---- copyright and changelog.Debian.gz ---------------------------------------------------
devroot=$scratch/root-dev
dpkg-deb -x "$devdeb" "$devroot"
nfail=${#failures[@]}
for doc in "$root/usr/share/doc/strongmapd" "$devroot/usr/share/doc/libstrongmap-dev"; do
    pkg=${doc##*/}
    if [ ! -f "$doc/copyright" ] || [ ! -f "$doc/changelog.Debian.gz" ]; then
        fail "$pkg: no copyright or changelog.Debian.gz in $doc"
        continue
    fi
    # the machine-readable format (DEP-5), parsed strictly by python3-debian
    if out=$(/usr/bin/python3 - "$doc/copyright" 2>&1 <<'EOF'
import sys
import warnings

from debian import copyright

warnings.simplefilter("error")  # python3-debian warns about what it tolerates
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        c = copyright.Copyright(f, strict=True)
except Exception as e:
    sys.exit("%s: %s" % (type(e).__name__, e))
if c.header.format != "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/":
    sys.exit("Format: " + str(c.header.format))
files = list(c.all_files_paragraphs())
if not any(p.files == ("*",) for p in files):
    sys.exit("no Files: * paragraph")
for p in files:
    if not p.copyright or not p.license or not p.license.text.strip():
        sys.exit("Files: %s without Copyright or License text" % " ".join(p.files))
EOF
    ); then
        ok "$pkg: copyright is machine-readable (copyright-format 1.0)"
    else
        fail "$pkg: copyright: $out"
    fi
    cmp -s "$doc/copyright" "$src/packaging/copyright" || fail "$pkg: copyright is not packaging/copyright"
    # gzip -9n: no name, no time stamp (reproducible), and the package's version on top
    if [ "$(od -An -tx1 -j4 -N4 "$doc/changelog.Debian.gz" | tr -d ' ')" != 00000000 ]; then
        fail "$pkg: changelog.Debian.gz carries a time stamp (not gzip -n)"
    fi
    gzip -dc "$doc/changelog.Debian.gz" >"$scratch/changelog-$pkg" || fail "$pkg: gzip -dc changelog.Debian.gz"
    cl_version=$(dpkg-parsechangelog -l "$scratch/changelog-$pkg" -S Version 2>&1) || true
    cl_source=$(dpkg-parsechangelog -l "$scratch/changelog-$pkg" -S Source 2>&1) || true
    [ "$cl_version" = "$version-1" ] || fail "$pkg: changelog.Debian.gz: version $cl_version, not $version-1"
    [ "$cl_source" = strongmapd ] || fail "$pkg: changelog.Debian.gz: source $cl_source, not strongmapd"
done
cmp -s "$scratch/changelog-strongmapd" "$scratch/changelog-libstrongmap-dev" 2>/dev/null ||
    fail "the two packages' changelogs differ"
[ ${#failures[@]} -ne "$nfail" ] || ok "copyright and changelog.Debian.gz ($version-1) in both packages"

# ---- lintian: no error, no warning (overrides in packaging/*.lintian-overrides) ------------
# The exit status says whether an error or a warning was found (--fail-on); -I --pedantic show
# the informational tags too, for the log.
lintian_rc=0
lintian_out=$(lintian --fail-on error,warning -I --pedantic "$deb" "$devdeb" 2>&1) || lintian_rc=$?
lintian_out=$(grep -v '^running with root privileges' <<<"$lintian_out" || true)
[ -z "$lintian_out" ] || echo "$lintian_out"
if [ "$lintian_rc" -eq 0 ] && ! grep -Eq '^[EW]: ' <<<"$lintian_out"; then
    ok "lintian: no error, no warning ($(grep -c '^[IP]: ' <<<"$lintian_out" || true) informational tags)"
else
    fail "lintian (exit $lintian_rc): $(grep -E '^[EW]: ' <<<"$lintian_out" | tr '\n' ';')"
fi

# ---- libstrongmap-dev builds a program -----------------------------------------------------
# The headers compile on their own (C11, pedantic); every object of libstrongmap.a links
# (--whole-archive: no undefined symbol left) with the libraries the package's description
# names, and each of those comes from a -dev package the package Depends on.
devlibs=(ldap lber mbedx509 mbedcrypto hogweed nettle gmp expat)
for l in "${devlibs[@]}"; do
    so=$("$cc" -print-file-name="lib$l.so")
    owner=$(dpkg -S "$(readlink -f "$(dirname "$so")")/lib$l.so" 2>/dev/null | cut -d: -f1) || true
    [[ -n "$owner" && ", $devdepends," =~ ,\ ${owner}[\ ,] ]] ||
        fail "libstrongmap-dev: -l$l ($so, from ${owner:-no package}) is not from a package it Depends on"
done
for l in strongmap "${devlibs[@]}"; do
    grep -Eq "(^|[[:space:]])-l$l([[:space:].]|$)" <<<"$(devfield Description)" ||
        fail "libstrongmap-dev: the description does not name -l$l"
done
# (the program calls only sm_version(): --whole-archive links the rest)
cat >"$scratch/use.c" <<'EOF'
#include <stdio.h>
#include <strongmap/strongmap.h>

int main(void) {
    return printf("%s\n", sm_version()) > 0 ? 0 : 1;
}
EOF
run=""
if out=$("$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$devroot/usr/include" \
    -o "$scratch/use" "$scratch/use.c" -Wl,--whole-archive "$devroot$devlib" \
    -Wl,--no-whole-archive "${devlibs[@]/#/-l}" 2>&1) && run=$("$scratch/use" 2>&1) &&
    [ "$run" = "$version" ]; then
    ok "a C11 program built against libstrongmap-dev ($(printf -- '-l%s ' "${devlibs[@]}")) runs: sm_version() $run"
else
    fail "building or running a program against libstrongmap-dev: $out $run"
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

echo "strongmapd:"
awk '$1 !~ /^d/ { print "  " $3 }' "$scratch/contents"
echo "libstrongmap-dev:"
awk '$1 !~ /^d/ { print "  " $3 }' "$scratch/contents-dev"
if [ ${#failures[@]} -ne 0 ]; then
    printf '\n%d failure(s):\n' "${#failures[@]}" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "package checks passed"
