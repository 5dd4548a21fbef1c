#!/usr/bin/env bash
# Installs what is missing, builds with warnings treated as failures, runs every
# test (the JACK tests start their own private dummy jackd servers), and builds
# the DocC documentation, which must be free of warnings too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
if grep -E "(warning|error):" "$log" | grep -v "^warning: 'swift-" >/dev/null; then
    echo "test.sh: the build printed warnings or errors (see above); the project builds without any." >&2
    exit 1
fi
swift test --skip-build "$@"

swift package generate-documentation --target AMIO >"$log" 2>&1 || { cat "$log"; exit 1; }
if grep -E "warning:" "$log"; then
    echo "test.sh: the DocC documentation has warnings (above)." >&2
    exit 1
fi
echo "test.sh: documentation built without warnings."
