#!/usr/bin/env bash
# Lints openapi/strongmapd.yaml with Redocly CLI, at the version package-lock.json here pins,
# under redocly.yaml here (the recommended rules, warnings made errors).
# Usage: tests/openapi/lint.sh WORKDIR [DOCUMENT]
# npm installs the linter into WORKDIR/node_modules (ctest gives a folder of the build tree), once
# per version of package-lock.json. Needs Node.js >= 20.19 and npm (the machine's NodeSource
# nodejs; Debian 12's own nodejs is 18) and the npm registry for the first run.
# When the linter cannot be had: exit 77 (ctest: skipped), or 1 under CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: lint.sh WORKDIR [DOCUMENT]}
doc=${2:-$here/../../openapi/strongmapd.yaml}

unavailable() {
    echo "openapi.lint: $*" >&2
    if [ "${CI:-}" = true ]; then
        echo "openapi.lint: FAIL (CI=true: the linter must run)" >&2
        exit 1
    fi
    echo "SKIP: the linter could not be installed (under CI=true this fails)" >&2
    exit 77
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    unavailable "node and npm not found (Node.js >= 20.19 with npm is needed)"
fi
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    unavailable "Node.js $(node --version) is too old: @redocly/cli needs >= 20.19"

mkdir -p "$work"
# installed.lock: the lock file of the last install that completed
if ! cmp -s "$here/package-lock.json" "$work/installed.lock" ||
    [ ! -x "$work/node_modules/.bin/redocly" ]; then
    rm -f "$work/installed.lock"
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error) ||
        unavailable "npm ci of tests/openapi/package-lock.json failed"
    cp "$here/package-lock.json" "$work/installed.lock"
fi

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
echo "redocly $("$work/node_modules/.bin/redocly" --version 2>/dev/null | head -n1)"
exec "$work/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" "$doc"
