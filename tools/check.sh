#!/bin/bash
# tools/check.sh NSLAB [SPEC...]
# Runs the busted specs through the nslab host (so specs load the module as
# lab scripts do) inside tools/sandbox.sh (whose namespaces the same nslab
# makes: nslab --sandbox), then prints the plain summary
# line "N passed, N failed, N skipped" that CI reads. Exit 0 only when no
# spec failed or errored and the sandbox was left clean.
set -u
cd "$(dirname "$0")/.." || exit 2
nslab=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
NSLAB_SANDBOX=$nslab tools/sandbox.sh "$nslab" /usr/bin/busted --output=utfTerminal \
	"${@:-spec}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$out" |
	grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' | tail -1)
if [ -z "$summary" ]; then
	echo "check: busted printed no summary (exit $rc)"
	echo "0 passed, 1 failed"
	exit 1
fi
set -- $(echo "$summary" | grep -oE '[0-9]+' | head -4)
passed=$1 failed=$(($2 + $3)) skipped=$4
[ "$rc" = 3 ] && failed=$((failed + 1)) # sandbox found leftovers
echo "$passed passed, $failed failed, $skipped skipped"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
