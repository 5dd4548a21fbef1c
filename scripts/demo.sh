#!/usr/bin/env bash
# Installs what is missing, starts a private dummy jackd when no JACK server
# runs, and plays and records a scheduled playspec with the AMIODemo example.
# Extra arguments go to the demo, e.g. `scripts/demo.sh --clips 256 --seconds 10`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift build -c release --product AMIODemo >&2

server_args=()
jackd_pid=""
if ! jack_wait -c 2>/dev/null | grep -qx "running"; then
    name="amio-demo-$$"
    echo "demo: no JACK server is running; starting a private one: jackd --no-realtime -n $name -d dummy -r 48000 -p 256" >&2
    jackd --no-realtime -n "$name" -d dummy -r 48000 -p 256 >/dev/null 2>&1 &
    jackd_pid=$!
    trap '[ -n "$jackd_pid" ] && kill "$jackd_pid" 2>/dev/null && wait "$jackd_pid" 2>/dev/null || true' EXIT
    jack_wait -s "$name" -w -t 20 >/dev/null 2>&1
    server_args=(--server "$name" --jackd-pid "$jackd_pid")
fi
"$(swift build -c release --show-bin-path)/AMIODemo" "${server_args[@]}" "$@"
