#!/usr/bin/env bash
# Builds the package with AddressSanitizer (Swift and C) and UndefinedBehavior-
# Sanitizer (the C core) in a build folder of its own, and runs the tests
# under them: any out-of-bounds access, use after free or C undefined
# behaviour (an overflow, say) aborts the run with the sanitizer's report.
# The realtime allocation test is skipped there: the sanitizer owns malloc.
# Takes about 5 minutes on 2 cores. Arguments go to `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
scratch=.build-sanitize
flags=(--sanitize address --scratch-path "$scratch" -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
swift build --build-tests "${flags[@]}"
# Leak checking is off: the Swift runtime keeps metadata caches for the
# process's lifetime, which LeakSanitizer reports.
# allocator_may_return_null: a malloc too large for the machine returns NULL,
# as without the sanitizer, so the code that turns it into outOfMemory runs
# (by default ASan aborts instead).
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 swift test --skip-build "${flags[@]}" "$@"
