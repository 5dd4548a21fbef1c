#!/usr/bin/env bash
# Installs what is missing, builds with warnings treated as failures, runs every
# test (the JACK tests start their own private dummy jackd servers), runs the
# JACK suites once more on PipeWire's JACK (private headless PipeWire servers,
# scripts/pipewire-headless.conf), and builds the DocC documentation, which
# must be free of warnings too (scripts/docs.sh). AMIO_TEST_PIPEWIRE=0 skips
# the PipeWire pass.
#
# Each test run has a deadline (AMIO_TEST_TIME_LIMIT seconds, 900 by default;
# the first takes about 130 s on 2 cores, the PipeWire one, the JACK suites
# alone, about 65 s). Should one hang, this script prints the tests still
# running, the processes and every thread's stack, then fails, instead of
# leaving CI waiting. A summary of failures ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh

log=$(mktemp)
# PipeWire's sockets go to a runtime directory of this run's own, so no
# user's PipeWire is touched and every server this run starts is found by it.
pipewire_runtime=$(mktemp -d)
chmod 700 "$pipewire_runtime"
# The tests' conversions (and the amio processes they run) go to a
# conversion cache of this run's own, removed after: the user's stays as it
# was, and no run finds another's entries.
export XDG_CACHE_HOME=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$pipewire_runtime" "$XDG_CACHE_HOME"' EXIT
swift build --build-tests 2>&1 | tee "$log"
if grep -E "(warning|error):" "$log" | grep -v "^warning: 'swift-" >/dev/null; then
    echo "test.sh: the build printed warnings or errors (see above); the project builds without any." >&2
    exit 1
fi

limit=${AMIO_TEST_TIME_LIMIT:-900}
# Runs `swift test --skip-build ARGUMENTS` with the deadline; everything it
# prints also goes to RESULTS, for the summary. Sets `status`.
# stdbuf: line-buffered output, so a killed run loses nothing it printed.
run_tests() {
    local results=$1
    shift
    stdbuf -oL -eL swift test --skip-build "$@" > >(tee "$results") 2>&1 &
    local tests=$!
    local waited=0
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
}

# The directory of PipeWire's libjack (what pw-jack puts first on
# LD_LIBRARY_PATH): from the package's file list, else from pw-jack itself,
# whose '/usr/${LIB}/…' the dynamic loader expands.
pipewire_libjack_directory() {
    local library
    library=$(dpkg -L pipewire-jack 2>/dev/null | grep -m1 '/pipewire-0.3/jack/libjack\.so\.0$' || true)
    if [ -n "$library" ]; then
        dirname "$library"
    elif command -v pw-jack >/dev/null; then
        sed -n "s/^LD_LIBRARY_PATH='\([^']*\)'.*/\1/p" "$(command -v pw-jack)"
    fi
}

results=.build/test-output.txt
run_tests "$results" "$@"
jackd_status=$status
summaries=("$results")

pipewire_status=0
if [ "${AMIO_TEST_PIPEWIRE:-1}" != 0 ]; then
    libjack=$(pipewire_libjack_directory)
    if [ -z "$libjack" ]; then
        echo "test.sh: PipeWire's libjack (package pipewire-jack) was not found; AMIO_TEST_PIPEWIRE=0 skips that pass." >&2
        pipewire_status=1
    else
        echo
        echo "=== the JACK suites once more, on PipeWire's JACK ($libjack) ==="
        # Without arguments, the JACK suites; with some, what they select.
        [ $# -eq 0 ] && set -- --filter JackTests
        results=.build/test-output-pipewire.txt
        AMIO_TEST_SERVER=pipewire LD_LIBRARY_PATH="$libjack${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            XDG_RUNTIME_DIR="$pipewire_runtime" run_tests "$results" "$@"
        pipewire_status=$status
        summaries+=("$results")
    fi
fi

# Servers the tests started stop with them; make sure, whatever happened.
pkill -TERM -f "jackd --no-realtime -n amio-(test|cli-private)-" 2>/dev/null || true
# Every PipeWire of this run reads its config from the run's runtime directory.
pkill -TERM -f "pipewire -c $pipewire_runtime/" 2>/dev/null || true

echo
echo "=== test summary ==="
for results in "${summaries[@]}"; do
    [ "$results" = .build/test-output-pipewire.txt ] && echo "--- on PipeWire's JACK:"
    grep -E "^✘|error:|Fatal error|crashed|Test run with" "$results" | tail -n 60 || true
done
if [ "$jackd_status" -ne 0 ] || [ "$pipewire_status" -ne 0 ]; then
    echo "test.sh: the tests failed (exit status $jackd_status; on PipeWire $pipewire_status); the failures are listed above." >&2
    [ "$jackd_status" -ne 0 ] && exit "$jackd_status"
    exit "$pipewire_status"
fi

bash scripts/docs.sh
