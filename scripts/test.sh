#!/usr/bin/env bash
# Installs what is missing, builds with warnings treated as failures, and runs
# every test. The JACK tests start their own private dummy jackd servers.
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
