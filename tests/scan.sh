#!/usr/bin/env bash
# The clang static analyzer (scan-build, from Debian's clang-tools) over a fresh build of all
# the C code but the fuzz targets (library, daemon, CLI, tests, benchmarks), with the
# project's own flags (RelWithDebInfo, -Werror). Fails on any report, and when scan-build is
# missing. The code states what the analyzer cannot see across files with assert();
# --force-analyze-debug-code keeps those although RelWithDebInfo defines NDEBUG. The HTML
# reports stay in BUILD/scan-reports (scan-view shows them).
# Usage: tests/scan.sh   (SM_SCAN_BUILD names the build directory, default build-scan; it is
# removed and made again)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SM_SCAN_BUILD:-build-scan}
case "$build" in "" | / | . | ..) echo "tests/scan.sh: bad SM_SCAN_BUILD" >&2; exit 2 ;; esac
if ! command -v scan-build >/dev/null; then
    echo "tests/scan.sh: scan-build is missing (Debian package clang-tools, scripts/deps.sh)" >&2
    exit 1
fi
rm -rf "$build"
sb=(scan-build --status-bugs --force-analyze-debug-code -o "$build/scan-reports")
"${sb[@]}" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_TESTS=ON -DSM_BENCH=ON \
    >/dev/null
"${sb[@]}" cmake --build "$build" -j"$(nproc)"
