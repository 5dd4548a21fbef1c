#!/usr/bin/env bash
# Installs what is missing, starts a private dummy jackd when no JACK server
# runs, and plays and records a scheduled playspec with the AMIODemo example.
# Extra arguments go to the demo, e.g. `scripts/demo.sh --clips 256 --seconds 10`.
#
# `scripts/demo.sh --pipewire` runs the demo on PipeWire's JACK instead: a
# private headless PipeWire (scripts/pipewire-headless.conf, its socket in a
# runtime directory of its own, quantum 256) and the demo under PipeWire's
# libjack, looping its outputs back through the null sink's monitor ports.
set -euo pipefail
cd "$(dirname "$0")/.."

pipewire=false
demo_args=()
for argument in "$@"; do
    if [ "$argument" = --pipewire ]; then pipewire=true; else demo_args+=("$argument"); fi
done

bash scripts/install-dependencies.sh
swift build -c release --product AMIODemo >&2
demo="$(swift build -c release --show-bin-path)/AMIODemo"

server_pid=""
runtime=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; fi
    if [ -n "$runtime" ]; then rm -rf "$runtime"; fi
}
trap cleanup EXIT

if $pipewire; then
    # PipeWire's libjack, from the package's file list, else from pw-jack
    # (whose '/usr/${LIB}/…' the dynamic loader expands).
    library=$(dpkg -L pipewire-jack 2>/dev/null | grep -m1 '/pipewire-0.3/jack/libjack\.so\.0$' || true)
    if [ -n "$library" ]; then
        libjack=$(dirname "$library")
    else
        libjack=$(sed -n "s/^LD_LIBRARY_PATH='\([^']*\)'.*/\1/p" "$(command -v pw-jack)")
    fi
    name="amio-demo-$$"
    runtime=$(mktemp -d)
    chmod 700 "$runtime"
    echo "demo: starting a private headless PipeWire: PIPEWIRE_CORE=$name XDG_RUNTIME_DIR=$runtime pipewire -c scripts/pipewire-headless.conf" >&2
    PIPEWIRE_CORE="$name" XDG_RUNTIME_DIR="$runtime" pipewire -c "$PWD/scripts/pipewire-headless.conf" >/dev/null 2>&1 &
    server_pid=$!
    export XDG_RUNTIME_DIR="$runtime" LD_LIBRARY_PATH="$libjack${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    jack_wait -s "$name" -w -t 20 >/dev/null 2>&1
    # PipeWire ignores jack_set_buffer_size; the quantum follows this setting.
    PIPEWIRE_REMOTE="$name" pw-metadata -n settings 0 clock.force-quantum 256 >/dev/null
    "$demo" --server "$name" --server-pid "$server_pid" "${demo_args[@]}"
    exit
fi

server_args=()
if ! jack_wait -c 2>/dev/null | grep -qx "running"; then
    name="amio-demo-$$"
    echo "demo: no JACK server is running; starting a private one: jackd --no-realtime -n $name -d dummy -r 48000 -p 256" >&2
    jackd --no-realtime -n "$name" -d dummy -r 48000 -p 256 >/dev/null 2>&1 &
    server_pid=$!
    jack_wait -s "$name" -w -t 20 >/dev/null 2>&1
    server_args=(--server "$name" --server-pid "$server_pid")
fi
"$demo" "${server_args[@]}" "${demo_args[@]}"
