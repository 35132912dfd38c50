#!/usr/bin/env bash
# The test command: set-up, build, every test project; the last line is the totals, "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
.ci/setup.sh || exit 1

log=$(mktemp)
dotnet build Foresight.sln -c Release --nologo --verbosity quiet >"$log" 2>&1
build=$?
if [ $build -ne 0 ]; then
    cat "$log"
    echo "0 passed, 1 failed"
    exit 1
fi
# Throw-away PostgreSQL and Redis servers for the tests that need them (FORESIGHT_TEST_POSTGRES, FORESIGHT_TEST_REDIS).
services=$(mktemp -d /tmp/foresight-services.XXXXXX)
trap '.ci/services.sh stop "$services"' EXIT
if ! started=$(.ci/services.sh start "$services"); then
    echo "services: PostgreSQL or Redis did not start"; tail -n 20 "$services"/*.log 2>/dev/null; echo "0 passed, 1 failed"; exit 1
fi
eval "$started"
# Minimal console logging still prints each failure with its message and stack, so a red CI says why.
dotnet test Foresight.sln -c Release --no-build --nologo --verbosity quiet --logger "console;verbosity=minimal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One summary line per test project: "Passed!  - Failed:     0, Passed:    69, Skipped: ..."
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
projects=$(find tests -name '*.Tests.csproj' | wc -l)
summaries=$(grep -Ec '^(Passed|Failed)! ' "$log")
# A test host that crashed prints no summary: count it as a failure so the run is not green.
if [ "$summaries" -lt "$projects" ]; then failed=$((failed + projects - summaries)); fi
if [ $status -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
