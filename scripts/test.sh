#!/usr/bin/env bash
# Installs what is missing, builds with warnings treated as failures, runs every
# test (the JACK tests start their own private dummy jackd servers), and builds
# the DocC documentation, which must be free of warnings too.
#
# The test run has a deadline (AMIO_TEST_TIME_LIMIT seconds, 900 by default;
# it takes about 80 s on 2 cores). Should it hang, this script prints the
# tests still running, the processes and every thread's stack, then fails,
# instead of leaving CI waiting. A summary of failures ends the output.
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

# Everything the tests print also goes to a file, for the summary at the end.
# stdbuf: line-buffered output, so a killed run loses nothing it printed.
results=.build/test-output.txt
limit=${AMIO_TEST_TIME_LIMIT:-900}
stdbuf -oL -eL swift test --skip-build "$@" > >(tee "$results") 2>&1 &
tests=$!
waited=0
while kill -0 "$tests" 2>/dev/null && [ "$waited" -lt "$limit" ]; do
    sleep 1
    waited=$((waited + 1))
done
if kill -0 "$tests" 2>/dev/null; then
    bash scripts/diagnose-hang.sh "$results" "$limit"
    pkill -KILL -P "$tests" 2>/dev/null || true
    kill -KILL "$tests" 2>/dev/null || true
    wait "$tests" 2>/dev/null || true
    status=124
else
    set +e
    wait "$tests"
    status=$?
    set -e
fi
sleep 1  # lets tee write the last lines
# Servers the tests started stop with them; make sure, whatever happened.
pkill -TERM -f "jackd --no-realtime -n amio-(test|cli-private)-" 2>/dev/null || true

echo
echo "=== test summary ==="
grep -E "^✘|error:|Fatal error|crashed|Test run with" "$results" | tail -n 60 || true
if [ "$status" -ne 0 ]; then
    echo "test.sh: the tests failed (exit status $status); the failures are listed above." >&2
    exit "$status"
fi

swift package generate-documentation --target AMIO >"$log" 2>&1 || { cat "$log"; exit 1; }
if grep -E "warning:" "$log"; then
    echo "test.sh: the DocC documentation has warnings (above)." >&2
    exit 1
fi
echo "test.sh: documentation built without warnings."
