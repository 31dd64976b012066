#!/usr/bin/env bash
# Runs every Go fuzz target of the given modules for a fixed time each.
# Usage: scripts/fuzz.sh FUZZTIME MODULE...
set -euo pipefail
fuzztime=$1; shift
cd "$(dirname "$0")/.."
for m in "$@"; do
	# Fuzz targets are found by name; each runs alone because go test
	# -fuzz accepts one target per package invocation.
	while IFS=: read -r file name; do
		dir=$(dirname "$file")
		echo "=== fuzz $dir $name ($fuzztime)"
		(cd "$dir" && go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" .)
	done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' "$m" | sed 's/func //' | sort -u)
done
