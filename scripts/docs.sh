#!/usr/bin/env bash
# Builds the DocC documentation of the AMIO library, the API and the guides
# (Sources/AMIO/AMIO.docc holds each Docs/*.md as a symbolic link), and fails
# if DocC or the build prints a warning or an error. The archive is
# .build/plugins/Swift-DocC/outputs/AMIO.doccarchive. On 2 cores: about 35 s
# from a clean checkout (the plugin builds the AMIO target and its own
# dependencies, nothing else), under 10 s once those are built.
# Tests/AMIOTests/Documentation checks that the catalog holds every guide.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package generate-documentation --target AMIO >"$log" 2>&1 || { cat "$log"; exit 1; }
# Diagnostics only: "Compiling AMIO AMIOError.swift" is no error.
if grep -E "(warning|error):" "$log" | grep -v "^warning: 'swift-" >/dev/null; then
    grep -E -A8 "(warning|error):" "$log" >&2
    echo "docs.sh: the DocC documentation has warnings (above); it builds without any." >&2
    exit 1
fi
echo "docs.sh: documentation built without warnings: $(grep -o '/.*AMIO.doccarchive' "$log" | tail -n 1)"
