#!/usr/bin/env bash
# Build the libFuzzer targets with clang, replay each seed corpus, then fuzz each target for
# SECONDS (default 20) on a scratch copy of the corpus. Exits non-zero on any crash or leak.
# Optional: TARGET (e.g. keycred) fuzzes that target only; SM_FUZZ_BUILD names the build
# directory (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
only=${2:-}
build=${SM_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$build" -DSM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" ${only:+--target fuzz_$only}
for src in tests/fuzz/fuzz_${only:-*}.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz_}
    bin=$build/tests/fuzz/fuzz_$t
    seeds=tests/fuzz/corpus/$t
    work=$(mktemp -d)
    echo "fuzz_$t: replaying $(ls "$seeds" | wc -l) seeds"
    "$bin" -runs=0 "$seeds"
    echo "fuzz_$t: fuzzing for ${seconds}s"
    "$bin" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/fuzz_$t-" -print_final_stats=1 "$work" "$seeds" 2>&1 |
        tail -n 12
    rm -rf "$work"
done
