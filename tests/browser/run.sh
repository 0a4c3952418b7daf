#!/usr/bin/env bash
# The browser tier: the status page (docs/self-service.md) in Debian's Chromium, driven by
# playwright-core, with axe-core (both pinned in package-lock.json here, installed by npm into
# WORKDIR; no browser is downloaded: test_page.js launches /usr/bin/chromium).
# Usage: tests/browser/run.sh WORKDIR STRONGMAPD [ARTIFACTS [SCRIPT]]  (SCRIPT: test_page.js,
# the default, test_identity.js, or test_audit_report.js, which takes the strongmap CLI in
# place of STRONGMAPD)
# When Chromium, Node.js or the driver cannot be had: exit 77 (ctest: skipped), or 1 under
# CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run.sh WORKDIR STRONGMAPD [ARTIFACTS]}
daemon=${2:?usage: run.sh WORKDIR STRONGMAPD [ARTIFACTS]}
artifacts=${3:-$work/artifacts}
script=${4:-test_page.js}

unavailable() {
    echo "browser: $*" >&2
    if [ "${CI:-}" = true ]; then
        echo "browser: FAIL (CI=true: the browser tests must run)" >&2
        exit 1
    fi
    echo "SKIP: $* (under CI=true this fails)" >&2
    exit 77
}

[ -x /usr/bin/chromium ] || unavailable "no /usr/bin/chromium (Debian package chromium; scripts/deps.sh test)"
command -v node >/dev/null && command -v npm >/dev/null || unavailable "node and npm not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    unavailable "Node.js $(node --version) is too old: playwright-core needs >= 20"

mkdir -p "$work" "$artifacts"
if ! cmp -s "$here/package-lock.json" "$work/installed.lock" ||
    [ ! -d "$work/node_modules/playwright-core" ] || [ ! -d "$work/node_modules/axe-core" ]; then
    rm -f "$work/installed.lock"
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund --loglevel=error) ||
        unavailable "npm ci of tests/browser/package-lock.json failed"
    cp "$here/package-lock.json" "$work/installed.lock"
fi
export NODE_PATH="$work/node_modules"
exec node "$here/$script" "$daemon" "$here/../../examples" "$artifacts"
