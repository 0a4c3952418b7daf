#!/usr/bin/env bash
# The benchmarks (not tests): installs what is missing, builds an optimised tree in build-bench/
# and runs bench/run.py, which prints every figure beside its baseline from the same run.
# Usage: bench/run.sh [--smoke] [--json FILE]
#                     [--only http,directory,wan,authz,latency,engine,memory,startup,issuance,page,
#                             audit]
#                     [--duration S] [--rounds N] [--connections N] [--page-loads N]
#                     [--audit-large N] [--audit-page N]
# The page part also needs Node.js >= 20 with npm (not Debian 12's nodejs: scripts/deps.sh).
# A full run takes about ten minutes; --smoke takes seconds (CI runs it: bench.smoke).
# Run it on an otherwise idle machine: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSM_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
exec /usr/bin/python3 bench/run.py --build build-bench "$@"
