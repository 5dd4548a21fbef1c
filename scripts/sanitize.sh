#!/usr/bin/env bash
# Builds the package with AddressSanitizer (Swift and C) and UndefinedBehavior-
# Sanitizer (the C core) in a build folder of its own, and runs the tests
# under them: any out-of-bounds access, use after free or C undefined
# behaviour (an overflow, say) aborts the run with the sanitizer's report.
# The realtime-safety test is skipped there: the sanitizer owns malloc.
# Takes about 5 minutes on 2 cores. Arguments go to `swift test`.
#
#   scripts/sanitize.sh --undefined-only [swift test arguments]
#
# builds the C core with UndefinedBehaviorSanitizer alone (Swift has none on
# Linux), in a folder of
# its own: glibc's allocator stays, so undefined behaviour that ASan's
# allocator hides (an over-aligned struct from calloc, which promises only
# 16 bytes) shows, and the realtime-safety test's probe runs too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh
# A conversion cache of this run's own, as scripts/test.sh has.
export XDG_CACHE_HOME=$(mktemp -d)
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT
if [[ "${1:-}" == "--undefined-only" ]]; then
    shift
    # The runtime of the toolchain's own clang (gcc's libubsan lacks its handlers).
    runtime=$(ls "$(dirname "$(readlink -f "$(command -v swift)")")"/../lib/clang/*/lib/linux/libclang_rt.ubsan_standalone-x86_64.so | head -1)
    flags=(--scratch-path .build-ubsan -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
           -Xlinker "$runtime" -Xlinker -rpath -Xlinker "$(dirname "$runtime")")
    swift build --build-tests "${flags[@]}"
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 swift test --skip-build "${flags[@]}" "$@"
    exit
fi
scratch=.build-sanitize
flags=(--sanitize address --scratch-path "$scratch" -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
swift build --build-tests "${flags[@]}"
# Leak checking is off: the Swift runtime keeps metadata caches for the
# process's lifetime, which LeakSanitizer reports.
# allocator_may_return_null: a malloc too large for the machine returns NULL,
# as without the sanitizer, so the code that turns it into outOfMemory runs
# (by default ASan aborts instead).
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 swift test --skip-build "${flags[@]}" "$@"
