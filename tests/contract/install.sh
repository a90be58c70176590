#!/bin/sh
# install.sh -- install Prism (@stoplight/prism-cli, pinned in package-lock.json) into
# tests/contract/node_modules for the integration suite's contract checks (prismlib.py).
#
# Idempotent: when node_modules already matches package-lock.json (recorded in
# node_modules/.bridge-installed) it only checks the installed version, well under a second.
# Otherwise it runs `npm ci`: a clean install of exactly the locked versions (install scripts
# are not run; none of the locked packages has one).
#
# Needs node >= 18.20.1 (Prism 5.14.2's own engines field) and npm on PATH.  The machine image
# has NodeSource's nodejs 20 (npm included); a plain Debian 12 has nodejs 18.20.4 and npm 9.2.0
# (packages nodejs npm), which install and run this Prism too (one dependency, jsep 1.6.0,
# declares node >= 20.16 but works on 18; npm only warns, and this script hides warnings).
# Run it as the user who runs the tests, not through sudo, so node_modules belongs to that user.
set -eu

PRISM_VERSION=5.14.2
NODE_MIN=18.20.1
DIR=$(cd "$(dirname "$0")" && pwd)
cd "$DIR"

fail() {
    echo "contract/install.sh: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 ||
    fail "node is not installed; install Node.js >= $NODE_MIN and npm" \
        "(Debian: apt-get install nodejs npm), then run $0 again"
command -v npm >/dev/null 2>&1 ||
    fail "npm is not installed; install npm for node $(node --version)" \
        "(Debian: apt-get install npm), then run $0 again"
node_version=$(node --version)
node_major=$(node -p 'process.versions.node.split(".")[0]')
node -e '
const [a, b] = [process.versions.node, process.argv[1]].map(v => v.split(".").map(Number));
process.exit((a[0] - b[0] || a[1] - b[1] || a[2] - b[2]) < 0 ? 1 : 0);' "$NODE_MIN" ||
    fail "node $node_version is too old: Prism $PRISM_VERSION needs Node.js >= $NODE_MIN"

# What the installed tree was made from: the lock file, package.json and node's major version.
stamp() {
    { cat package.json package-lock.json; echo "node $node_major"; } | sha256sum | cut -d' ' -f1
}

# The version the installed CLI reports (loads all of it: about 2 s).
prism_version() {
    node node_modules/@stoplight/prism-cli/dist/index.js --version 2>/dev/null || :
}

# The version in the installed package.json (fast).
installed_version() {
    node -p 'require("./node_modules/@stoplight/prism-cli/package.json").version' 2>/dev/null || :
}

want=$(stamp)
if [ -f node_modules/.bridge-installed ] && [ "$(cat node_modules/.bridge-installed)" = "$want" ] &&
    [ "$(installed_version)" = "$PRISM_VERSION" ] && [ -x node_modules/.bin/prism ]; then
    echo "contract: prism $PRISM_VERSION already installed (node $node_version)"
    exit 0
fi

echo "contract: installing prism $PRISM_VERSION with npm ci" \
    "(node $node_version, npm $(npm --version))"
rm -f node_modules/.bridge-installed
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error ||
    fail "npm ci failed"
got=$(prism_version)
[ "$got" = "$PRISM_VERSION" ] || fail "installed prism answers '$got', expected $PRISM_VERSION"
echo "$want" > node_modules/.bridge-installed
echo "contract: prism $PRISM_VERSION installed in $DIR/node_modules"
