#!/usr/bin/env bash
# Called by test.sh when the tests outlive their deadline: prints which tests
# had started but not finished, the processes, and every thread's stack of
# the test process (with gdb, installed here if missing), so that a hang on a
# machine nobody can log in to can still be understood from its log.
# Usage: diagnose-hang.sh TEST-OUTPUT LIMIT-SECONDS
set -uo pipefail
results=$1
limit=$2

echo
echo "=== test.sh: the tests still ran after ${limit} s ==="
echo "--- tests started but not finished:"
awk '
    /^◇ Test .* started\.$/ { name = $0; sub(/^◇ Test /, "", name); sub(/ started\.$/, "", name); if (name != "run" && name !~ /^case passing /) open[name] = 1 }
    # Only the last line of a test says it finished; "✘ Test X recorded an issue" does not.
    /^(✔|✘) Test .* (passed|failed) after [0-9.]+ seconds/ { for (n in open) if (index($0, "Test " n " ") > 0) delete open[n] }
    END { for (n in open) print "    " n }
' "$results"
echo "--- processes:"
ps --ppid 2 -p 2 --deselect -o pid,ppid,etimes,stat,args --forest | grep -v -e " ps --ppid" -e " cut -c" | cut -c1-200
if ! command -v gdb >/dev/null; then
    echo "--- installing gdb for the stacks"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    (DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gdb >/dev/null 2>&1 \
        || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gdb; }) >/dev/null 2>&1
fi
for pid in $(pgrep -f "PackageTests.xctest"); do
    echo "--- threads of the test process $pid:"
    if command -v gdb >/dev/null; then
        timeout 120 gdb -p "$pid" -batch -nx -ex "set pagination off" -ex "thread apply all bt 25" 2>/dev/null \
            | grep -E "^Thread|^#" | cut -c1-220
    else
        echo "    (gdb could not be installed)"
    fi
done
