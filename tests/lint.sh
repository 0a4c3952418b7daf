#!/usr/bin/env bash
# Fails when a C file differs from the repository's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done < <(git ls-files '*.c' '*.h')
[ "$bad" -eq 0 ] && echo "formatting OK"
exit "$bad"
