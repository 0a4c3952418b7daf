#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, then
#   1. builds with gcc -Werror and runs every test tier through ctest (unit, cli, openssl, api),
#   2. runs the unit tests under valgrind, builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them all again,
#   3. builds the libFuzzer targets with clang, replays their corpora and fuzzes each briefly,
#   4. runs the clang static analyzer over a fresh build (tests/scan.sh; any report fails),
#   5. checks formatting against .clang-format.
# Usage: ./test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/deps.sh test

step() { printf '\n==== %s ====\n' "$*"; }
failed=()

step "build (gcc, -Werror) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_TESTS=ON -DSM_BENCH=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" || failed+=("tests")

if [ "$quick" -eq 0 ]; then
    step "unit tests under valgrind (no leaks, no invalid accesses)"
    for t in build/tests/test_*; do
        [ -x "$t" ] || continue
        SM_TEST_DATA="$PWD/tests/data" valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect "$t" >/dev/null || failed+=("valgrind $(basename "$t")")
    done

    step "build with ASan+UBSan and test"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSM_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j"$jobs" || failed+=("tests under ASan+UBSan")

    step "fuzz targets (clang libFuzzer)"
    tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" || failed+=("fuzzing")

    step "static analysis (clang scan-build over a fresh build, about 2 minutes)"
    tests/scan.sh || failed+=("static analysis")

    step "formatting"
    tests/lint.sh || failed+=("formatting")
fi

if [ ${#failed[@]} -ne 0 ]; then
    printf '\nFAILED: %s\n' "${failed[*]}"
    exit 1
fi
printf '\nall test steps passed\n'
