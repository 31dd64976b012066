#!/usr/bin/env bash
# Runs `go test` in every module and prints one summary line at the end.
# Usage: scripts/test.sh TIMEOUT MODULE...
set -euo pipefail
timeout=$1; shift
cd "$(dirname "$0")/.."
status=0
for m in "$@"; do
	if [ -z "$(cd "$m" && go list ./... 2>/dev/null)" ]; then
		echo "=== go test ($m): no packages yet"
		continue
	fi
	echo "=== go test ($m)"
	# -v so the log shows the servers the harness started (testenv: lines)
	# and test logs; the per-test RUN/PASS chatter is filtered out.
	if ! (cd "$m" && go test -v -count=1 -timeout "$timeout" ./... 2>&1 |
		grep --line-buffered -vE '^(=== (RUN|PAUSE|CONT|NAME)|[[:space:]]*--- PASS|PASS$)'); then
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	echo "make test: FAILED" >&2
fi
exit "$status"
