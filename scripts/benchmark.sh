#!/usr/bin/env bash
# Runs the benchmarks (Benchmarks/, ordo-one/package-benchmark) in release mode.
# Extra arguments go to `swift package benchmark`, e.g. `--filter Convert`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
swift package --package-path Benchmarks --allow-writing-to-directory Benchmarks/.benchmarks benchmark --no-progress "$@"
