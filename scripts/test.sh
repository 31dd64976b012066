#!/usr/bin/env bash
# Runs `go test` in every module and prints one summary line at the end.
# Usage: scripts/test.sh TIMEOUT MODULE...
set -euo pipefail
timeout=$1; shift
cd "$(dirname "$0")/.."
status=0
for m in "$@"; do
	echo "=== go test ($m)"
	if ! (cd "$m" && go test -count=1 -timeout "$timeout" ./... 2>&1); then
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	echo "make test: FAILED" >&2
fi
exit "$status"
